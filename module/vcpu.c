// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the vcpu fd and its run page.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lol.h"

static void lol_vcpu_free(struct kref *ref)
{
	struct lol_vcpu *vcpu = container_of(ref, struct lol_vcpu, ref);

	lol_vcpu_unbind(vcpu);
	lol_arch_vcpu_destroy(vcpu);
	free_page((unsigned long)vcpu->run);
	kfree(rcu_dereference_protected(vcpu->ranges, true));
	lol_guest_put(vcpu->guest);
	kfree_rcu(vcpu, rcu);
}

void lol_vcpu_put(struct lol_vcpu *vcpu)
{
	kref_put(&vcpu->ref, lol_vcpu_free);
}

static vm_fault_t lol_run_fault(struct vm_fault *vmf)
{
	struct lol_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vcpu->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct lol_run_vm_ops = {
	.fault = lol_run_fault,
};

static int lol_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct lol_vcpu *vcpu = file->private_data;

	if (!lol_guest_caller_ok(vcpu->guest))
		return -EIO;
	if (lol_in_guest())
		return -EPERM;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start > PAGE_SIZE)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* The run page is data the kernel reads: never executable. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vma->vm_flags &= ~VM_MAYEXEC;
	/*
	 * Only the creating process may map it: not inherited by fork()
	 * (VM_DONTCOPY; VM_IO makes madvise(MADV_DOFORK) refuse to undo
	 * that, and keeps get_user_pages() and /proc/<pid>/mem off it), and
	 * left out of core dumps.
	 */
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTCOPY | VM_IO | VM_DONTDUMP;
	vma->vm_ops = &lol_run_vm_ops;
	return 0;
}

/* LOL_ENABLE_CAP: the per-vcpu capabilities, LOL_CAP_FPTRAP alone today. */
static long lol_vcpu_enable_cap(struct lol_vcpu *vcpu,
				const struct lol_enable_cap __user *uarg)
{
	struct lol_enable_cap ec;
	u32 banks;
	long ret;
	int i;

	if (copy_from_user(&ec, uarg, sizeof(ec)))
		return -EFAULT;
	if (ec.flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(ec.reserved); i++)
		if (ec.reserved[i])
			return -EINVAL;
	if (ec.cap != LOL_CAP_FPTRAP)
		return -EINVAL;
	banks = lol_arch_fptrap_banks();
	if (!banks)
		return -EOPNOTSUPP;
	if (ec.args[0] & ~(u64)banks || ec.args[1] || ec.args[2] || ec.args[3])
		return -EINVAL;
	/* The arming is read at guest entry: not while the guest runs. */
	if (atomic_cmpxchg(&vcpu->running, 0, 1))
		return -EBUSY;
	ret = lol_arch_set_fptrap(vcpu, ec.args[0]);
	lol_vcpu_unbusy(vcpu);
	return ret;
}

static long lol_vcpu_do_ioctl(struct lol_vcpu *vcpu, unsigned int cmd,
			      unsigned long arg)
{
	switch (cmd) {
	case LOL_KICK:
		if (!lol_run_supported())
			return -ENOTTY;
		if (arg)
			return -EINVAL;
		return lol_vcpu_kick(vcpu);
	case LOL_SET_SYSCALL_RANGES:
		if (!lol_run_supported())
			return -ENOTTY;
		return lol_vcpu_set_ranges(vcpu, (void __user *)arg);
	case LOL_GET_FPU:
	case LOL_SET_FPU: {
		struct lol_fpu fpu;
		int ret;

		if (!lol_run_supported())
			return -ENOTTY;
		if (copy_from_user(&fpu, (void __user *)arg, sizeof(fpu)))
			return -EFAULT;
		if (fpu.flags || fpu.reserved[0] || fpu.reserved[1])
			return -EINVAL;
		if (fpu.size < lol_arch_fpu_size())
			return -EINVAL;
		/* The guest FP state is live in the CPU while it runs. */
		if (atomic_cmpxchg(&vcpu->running, 0, 1))
			return -EBUSY;
		if (cmd == LOL_GET_FPU)
			ret = lol_arch_get_fpu(vcpu, u64_to_user_ptr(fpu.addr));
		else
			ret = lol_arch_set_fpu(vcpu, u64_to_user_ptr(fpu.addr));
		lol_vcpu_unbusy(vcpu);
		return ret;
	}
	case LOL_ENABLE_CAP:
		if (!lol_run_supported())
			return -ENOTTY;
		return lol_vcpu_enable_cap(vcpu, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static long lol_vcpu_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct lol_vcpu *vcpu = file->private_data;
	long ret;

	if (lol_in_guest())
		return -EPERM;
	if (!lol_guest_caller_ok(vcpu->guest))
		return -EIO;

	/* These return the guest's rax: no errno to look at here. */
	switch (cmd) {
	case LOL_RUN:
		if (!lol_run_supported())
			return -ENOTTY;
		if (arg)
			return -EINVAL;
		return lol_vcpu_run(vcpu);
	case LOL_RESUME:
		if (!lol_run_supported())
			return -ENOTTY;
		if (arg)
			return -EINVAL;
		return lol_vcpu_resume(vcpu);
	}

	ret = lol_vcpu_do_ioctl(vcpu, cmd, arg);
	if (unlikely(ret < 0))
		lol_nl_bad_input(vcpu->guest, vcpu, cmd, ret);
	return ret;
}

static int lol_vcpu_release(struct inode *inode, struct file *file)
{
	struct lol_vcpu *vcpu = file->private_data;
	struct lol_guest *guest = vcpu->guest;

	lol_monitor_unbind(vcpu);
	mutex_lock(&guest->lock);
	guest->vcpus[vcpu->id] = NULL;
	guest->nr_vcpus--;
	mutex_unlock(&guest->lock);
	lol_vcpu_put(vcpu);
	return 0;
}

static const struct file_operations lol_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= lol_vcpu_release,
	.unlocked_ioctl	= lol_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= lol_vcpu_mmap,
	.llseek		= noop_llseek,
};

int lol_vcpu_create(struct lol_guest *guest, unsigned long id)
{
	struct lol_vcpu *vcpu;
	struct file *file;
	int fd, ret;

	if (id >= lol_max_vcpus)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	kref_init(&vcpu->ref);
	spin_lock_init(&vcpu->kick_lock);
	INIT_HLIST_HEAD(&vcpu->kicks);
	vcpu->id = id;
	vcpu->stats.created_ticks = lol_arch_clock();
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run) {
		ret = -ENOMEM;
		goto err_free_vcpu;
	}
	ret = lol_arch_vcpu_init(vcpu);
	if (ret)
		goto err_free_run;

	mutex_lock(&guest->lock);
	if (guest->vcpus[id]) {
		ret = -EEXIST;
		goto err_unlock;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_unlock;
	}
	file = anon_inode_getfile("lol-vcpu", &lol_vcpu_fops, vcpu,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	kref_get(&guest->ref);
	vcpu->guest = guest;
	vcpu->file = file;
	guest->vcpus[id] = vcpu;
	guest->nr_vcpus++;
	mutex_unlock(&guest->lock);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_unlock:
	mutex_unlock(&guest->lock);
	lol_arch_vcpu_destroy(vcpu);
err_free_run:
	free_page((unsigned long)vcpu->run);
err_free_vcpu:
	kfree(vcpu);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * lol: guest address spaces. Each AS is a host mm that holds nothing but
 * the guest physical memory mapped into it by LOL_AS_OPS. The operations
 * run on the calling thread with the AS made its mm for the duration, so
 * that the host's own mmap code (VMAs, rlimits, memcg, TLB shootdown on
 * every CPU that runs the AS) applies unchanged.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lol.h"

static void lol_as_free(struct kref *ref)
{
	struct lol_as *as = container_of(ref, struct lol_as, ref);

	mmput(as->mm);
	kfree(as);
}

void lol_as_put(struct lol_as *as)
{
	kref_put(&as->ref, lol_as_free);
}

struct lol_as *lol_as_get(struct lol_guest *guest, u32 id)
{
	struct lol_as *as;

	xa_lock(&guest->as_xa);
	as = xa_load(&guest->as_xa, id);
	if (as)
		kref_get(&as->ref);
	xa_unlock(&guest->as_xa);
	return as;
}

int lol_as_create(struct lol_guest *guest, u32 *id)
{
	struct lol_as *as;
	int ret;

	as = kzalloc(sizeof(*as), GFP_KERNEL_ACCOUNT);
	if (!as)
		return -ENOMEM;
	kref_init(&as->ref);
	mutex_init(&as->lock);
	as->guest = guest;
	as->mm = lol_mm_alloc(guest->owner);
	if (!as->mm) {
		ret = -ENOMEM;
		goto err_free_as;
	}

	mutex_lock(&guest->lock);
	if (guest->nr_as >= READ_ONCE(lol_max_as)) {
		ret = -ENOSPC;
		goto err_unlock;
	}
	/* Cyclic: a stale id must not silently name a new AS. */
	ret = xa_alloc_cyclic(&guest->as_xa, &as->id, as, xa_limit_32b,
			      &guest->next_as_id, GFP_KERNEL_ACCOUNT);
	if (ret < 0)
		goto err_unlock;
	ret = 0;
	guest->nr_as++;
	mutex_unlock(&guest->lock);
	*id = as->id;
	return 0;

err_unlock:
	mutex_unlock(&guest->lock);
	mmput(as->mm);
err_free_as:
	kfree(as);
	return ret;
}

/* Drops the guest's reference; a vcpu still running in it keeps it. */
int lol_as_destroy(struct lol_guest *guest, u32 id)
{
	struct lol_as *as;

	mutex_lock(&guest->lock);
	as = xa_erase(&guest->as_xa, id);
	if (as)
		guest->nr_as--;
	mutex_unlock(&guest->lock);
	if (!as)
		return -ENOENT;
	lol_as_put(as);
	return 0;
}

void lol_as_destroy_all(struct lol_guest *guest)
{
	struct lol_as *as;
	unsigned long id;

	xa_for_each(&guest->as_xa, id, as) {
		xa_erase(&guest->as_xa, id);
		lol_as_put(as);
	}
	guest->nr_as = 0;
}

static unsigned long lol_prot(u32 prot)
{
	return (prot & LOL_PROT_READ ? PROT_READ : 0) |
	       (prot & LOL_PROT_WRITE ? PROT_WRITE : 0) |
	       (prot & LOL_PROT_EXEC ? PROT_EXEC : 0);
}

static int lol_as_op_check(const struct lol_as_op *op, u64 limit,
			   u64 phys_size)
{
	if (op->reserved || op->prot & ~(LOL_PROT_READ | LOL_PROT_WRITE |
					 LOL_PROT_EXEC))
		return -EINVAL;
	if (!op->size || !PAGE_ALIGNED(op->size) || !PAGE_ALIGNED(op->addr))
		return -EINVAL;
	if (op->addr >= limit || op->size > limit - op->addr)
		return -EINVAL;

	switch (op->op) {
	case LOL_AS_MAP:
		if (!PAGE_ALIGNED(op->phys))
			return -EINVAL;
		if (!phys_size)
			return -ENXIO;
		if (op->phys >= phys_size || op->size > phys_size - op->phys)
			return -EINVAL;
		return 0;
	case LOL_AS_UNMAP:
		return op->prot || op->phys ? -EINVAL : 0;
	case LOL_AS_PROTECT:
		return op->phys ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/*
 * mprotect's implementation is not exported, so a protection change maps
 * the same file pages again with the new protection (MAP_FIXED replaces
 * the old VMA atomically). Pages stay in the page cache; only their PTEs
 * are rebuilt on the next touch. The range must be fully mapped, as for
 * mprotect(), and is checked before anything changes.
 */
static int lol_as_protect(struct mm_struct *mm, u64 start, u64 end,
			  unsigned long prot)
{
	struct vm_area_struct *vma;
	u64 addr;

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr || !vma->vm_file) {
			mmap_read_unlock(mm);
			return -ENOMEM;
		}
	}
	mmap_read_unlock(mm);

	for (addr = start; addr < end;) {
		unsigned long len, pgoff, ret;
		struct file *file;

		mmap_read_lock(mm);
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr || !vma->vm_file) {
			mmap_read_unlock(mm);
			return -ENOMEM;
		}
		len = min_t(u64, end, vma->vm_end) - addr;
		pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
		file = get_file(vma->vm_file);
		mmap_read_unlock(mm);

		ret = vm_mmap(file, addr, len, prot, MAP_SHARED | MAP_FIXED,
			      pgoff << PAGE_SHIFT);
		fput(file);
		if (IS_ERR_VALUE(ret))
			return ret;
		addr += len;
	}
	return 0;
}

static int lol_as_apply(struct lol_as *as, struct file *phys,
			const struct lol_as_op *op)
{
	unsigned long ret;

	switch (op->op) {
	case LOL_AS_MAP:
		if (as->mm->map_count >= READ_ONCE(lol_max_mappings))
			return -ENOSPC;
		ret = vm_mmap(phys, op->addr, op->size, lol_prot(op->prot),
			      MAP_SHARED | MAP_FIXED, op->phys);
		if (IS_ERR_VALUE(ret))
			return ret;
		return ret == op->addr ? 0 : -EINVAL;
	case LOL_AS_UNMAP:
		return vm_munmap(op->addr, op->size);
	default:
		return lol_as_protect(as->mm, op->addr, op->addr + op->size,
				      lol_prot(op->prot));
	}
}

int lol_as_ops(struct lol_guest *guest, struct lol_as_batch __user *ubatch)
{
	struct mm_struct *host_mm = current->mm;
	struct lol_as_batch batch;
	struct lol_as_op *ops;
	struct file *phys = NULL;
	struct lol_as *as;
	u64 phys_size;
	u32 i = 0;
	int ret;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || batch.nr_done || batch.reserved[0] ||
	    batch.reserved[1])
		return -EINVAL;
	if (!batch.nr_ops || batch.nr_ops > LOL_AS_BATCH_MAX)
		return -EINVAL;

	ops = kvmalloc_array(batch.nr_ops, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(ops, u64_to_user_ptr(batch.ops),
			   array_size(batch.nr_ops, sizeof(*ops))))
		goto out_free;

	as = lol_as_get(guest, batch.as_id);
	ret = -ENOENT;
	if (!as)
		goto out_free;

	mutex_lock(&guest->lock);
	if (guest->phys)
		phys = get_file(guest->phys);
	phys_size = guest->phys_size;
	mutex_unlock(&guest->lock);

	/* Validate everything first: a bad op leaves the AS untouched. */
	for (i = 0; i < batch.nr_ops; i++) {
		ret = lol_as_op_check(&ops[i], LOL_USER_LIMIT, phys_size);
		if (ret)
			goto out_put;
	}

	mutex_lock(&as->lock);
	lol_mm_switch(host_mm, as->mm);
	for (i = 0; i < batch.nr_ops; i++) {
		ret = lol_as_apply(as, phys, &ops[i]);
		if (ret)
			break;
	}
	lol_mm_switch(as->mm, host_mm);
	mutex_unlock(&as->lock);

out_put:
	if (phys)
		fput(phys);
	lol_as_put(as);
out_free:
	kvfree(ops);
	if (put_user(i, &ubatch->nr_done) && !ret)
		ret = -EFAULT;
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the guest fd. A guest owns its physical memory, its address spaces
 * and its vcpus; it is freed when the guest fd and every vcpu fd are closed
 * and no thread runs in it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lol.h"

/* Guests per user: a small table, touched only at guest create/free. */
struct lol_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int nr_guests;
};

static DEFINE_HASHTABLE(lol_users, 5);
static DEFINE_MUTEX(lol_users_lock);

/* Every guest on the host, for netlink.c; touched at create and free. */
static DEFINE_XARRAY_ALLOC1(lol_guests);
static u32 lol_next_guest_id;

static int lol_user_charge(kuid_t uid)
{
	struct lol_user *u;
	int ret = 0;

	mutex_lock(&lol_users_lock);
	hash_for_each_possible(lol_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			goto found;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u) {
		ret = -ENOMEM;
		goto out;
	}
	u->uid = uid;
	hash_add(lol_users, &u->node, __kuid_val(uid));
found:
	if (u->nr_guests >= READ_ONCE(lol_max_guests_per_user))
		ret = -ENOSPC;
	else
		u->nr_guests++;
	if (!u->nr_guests) {
		hash_del(&u->node);
		kfree(u);
	}
out:
	mutex_unlock(&lol_users_lock);
	return ret;
}

static void lol_user_uncharge(kuid_t uid)
{
	struct lol_user *u;

	mutex_lock(&lol_users_lock);
	hash_for_each_possible(lol_users, u, node, __kuid_val(uid)) {
		if (!uid_eq(u->uid, uid))
			continue;
		if (!--u->nr_guests) {
			hash_del(&u->node);
			kfree(u);
		}
		break;
	}
	mutex_unlock(&lol_users_lock);
}

static void lol_guest_free(struct kref *ref)
{
	struct lol_guest *guest = container_of(ref, struct lol_guest, ref);

	/* Not findable from here on (see lol_guest_next). */
	if (guest->id) {
		xa_erase(&lol_guests, guest->id);
		lol_nl_guest_event(guest, LOL_EVENT_GUEST_DESTROY);
	}
	lol_as_destroy_all(guest);
	xa_destroy(&guest->as_xa);
	if (guest->phys)
		fput(guest->phys);
	put_task_struct(guest->owner);
	mmdrop(guest->mm);
	lol_user_uncharge(guest->uid);
	kfree(guest->vcpus);
	kfree(guest);
}

void lol_guest_put(struct lol_guest *guest)
{
	kref_put(&guest->ref, lol_guest_free);
}

/*
 * The guest with the lowest id >= *@id, referenced, and *@id set to its
 * id; NULL when there is none. xa_erase() in lol_guest_free() takes the
 * same lock, so a guest found here is still allocated while its
 * reference is tried.
 */
struct lol_guest *lol_guest_next(unsigned long *id)
{
	struct lol_guest *guest;

	xa_lock(&lol_guests);
	for (;;) {
		guest = xa_find(&lol_guests, id, U32_MAX, XA_PRESENT);
		if (!guest || kref_get_unless_zero(&guest->ref))
			break;
		/* Being freed: skip it. */
		if (*id == U32_MAX) {
			guest = NULL;
			break;
		}
		(*id)++;
	}
	xa_unlock(&lol_guests);
	return guest;
}

/* KVM's rule: only the creating process drives a guest. */
bool lol_guest_caller_ok(struct lol_guest *guest)
{
	return current->mm == guest->mm;
}

static int lol_set_phys_memory(struct lol_guest *guest,
			       struct lol_phys_memory __user *uarg)
{
	struct lol_phys_memory pm;
	struct file *file;
	int ret, i;

	if (copy_from_user(&pm, uarg, sizeof(pm)))
		return -EFAULT;
	if (pm.flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(pm.reserved); i++)
		if (pm.reserved[i])
			return -EINVAL;
	file = fget(pm.fd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (!pm.size || !PAGE_ALIGNED(pm.size))
		goto out_fput;
	/* lol maps its pages itself (pt.c): a shmem file, such as a memfd. */
	if (!S_ISREG(file_inode(file)->i_mode) || !lol_pt_phys_ok(file))
		goto out_fput;
	if (pm.size > i_size_read(file_inode(file)))
		goto out_fput;
	if (!(file->f_mode & FMODE_READ))
		goto out_fput;

	mutex_lock(&guest->lock);
	if (guest->phys) {
		ret = -EBUSY;
	} else {
		guest->phys = file;
		guest->phys_size = pm.size;
		file = NULL;
		ret = 0;
	}
	mutex_unlock(&guest->lock);
out_fput:
	if (file)
		fput(file);
	return ret;
}

static long lol_guest_do_ioctl(struct lol_guest *guest, unsigned int cmd,
			       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LOL_CREATE_VCPU:
		return lol_vcpu_create(guest, arg);
	case LOL_SET_PHYS_MEMORY:
		if (!lol_run_supported())
			return -ENOTTY;
		return lol_set_phys_memory(guest, uarg);
	case LOL_CREATE_AS: {
		struct lol_create_as ca;
		int ret, i;

		if (!lol_run_supported())
			return -ENOTTY;
		if (copy_from_user(&ca, uarg, sizeof(ca)))
			return -EFAULT;
		if (ca.flags || ca.as_id)
			return -EINVAL;
		for (i = 0; i < ARRAY_SIZE(ca.reserved); i++)
			if (ca.reserved[i])
				return -EINVAL;
		ret = lol_as_create(guest, &ca.as_id);
		if (ret)
			return ret;
		if (put_user(ca.as_id, &((struct lol_create_as __user *)uarg)->as_id)) {
			lol_as_destroy(guest, ca.as_id);
			return -EFAULT;
		}
		return 0;
	}
	case LOL_DESTROY_AS:
		if (!lol_run_supported())
			return -ENOTTY;
		if (arg > U32_MAX)
			return -EINVAL;
		return lol_as_destroy(guest, arg);
	case LOL_AS_OPS:
		if (!lol_run_supported())
			return -ENOTTY;
		return lol_as_ops(guest, uarg);
	default:
		return -ENOTTY;
	}
}

static long lol_guest_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct lol_guest *guest = file->private_data;
	long ret;

	if (lol_in_guest())
		return -EPERM;
	if (!lol_guest_caller_ok(guest))
		return -EIO;

	ret = lol_guest_do_ioctl(guest, cmd, arg);
	if (likely(ret >= 0))
		return ret;
	/* Tell the admin (netlink events); only ever on failures. */
	if (ret == -ENOSPC && cmd == LOL_CREATE_AS)
		lol_nl_limit(guest, LOL_LIMIT_MAX_AS);
	else if (ret == -ENOSPC && cmd == LOL_AS_OPS)
		lol_nl_limit(guest, LOL_LIMIT_MAX_MAPPINGS);
	else if (ret == -EINVAL && cmd == LOL_CREATE_VCPU &&
		 arg >= lol_max_vcpus)
		lol_nl_limit(guest, LOL_LIMIT_MAX_VCPUS);
	lol_nl_bad_input(guest, NULL, cmd, ret);
	return ret;
}

static int lol_guest_release(struct inode *inode, struct file *file)
{
	lol_guest_put(file->private_data);
	return 0;
}

static const struct file_operations lol_guest_fops = {
	.owner		= THIS_MODULE,
	.release	= lol_guest_release,
	.unlocked_ioctl	= lol_guest_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

int lol_guest_create(unsigned long type)
{
	struct lol_guest *guest;
	struct file *file;
	int fd, ret;

	if (type)
		return -EINVAL;

	guest = kzalloc(sizeof(*guest), GFP_KERNEL_ACCOUNT);
	if (!guest)
		return -ENOMEM;
	guest->vcpus = kcalloc(lol_max_vcpus, sizeof(*guest->vcpus),
			       GFP_KERNEL_ACCOUNT);
	if (!guest->vcpus) {
		ret = -ENOMEM;
		goto err_free_guest;
	}
	guest->uid = current_uid();
	ret = lol_user_charge(guest->uid);
	if (ret) {
		if (ret == -ENOSPC)
			lol_nl_limit(NULL, LOL_LIMIT_MAX_GUESTS);
		goto err_free_vcpus;
	}

	kref_init(&guest->ref);
	mutex_init(&guest->lock);
	xa_init_flags(&guest->as_xa, XA_FLAGS_ALLOC1);
	guest->mm = current->mm;
	mmgrab(guest->mm);
	guest->owner = get_task_struct(current->group_leader);
	get_task_comm(guest->comm, current->group_leader);
	ret = xa_alloc_cyclic(&lol_guests, &guest->id, guest, xa_limit_32b,
			      &lol_next_guest_id, GFP_KERNEL);
	if (ret < 0) {
		guest->id = 0;
		goto err_put_guest;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_put_guest;
	}
	file = anon_inode_getfile("lol-guest", &lol_guest_fops, guest,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	/* Before fd_install: from then on another thread may close it. */
	lol_nl_guest_event(guest, LOL_EVENT_GUEST_CREATE);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_put_guest:
	lol_guest_put(guest);
	return ret;

err_free_vcpus:
	kfree(guest->vcpus);
err_free_guest:
	kfree(guest);
	return ret;
}

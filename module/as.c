// SPDX-License-Identifier: GPL-2.0
/*
 * lol: guest address spaces. Each AS is a host mm that holds nothing but
 * the guest physical memory mapped into it by LOL_AS_OPS, kept in a table
 * of lol's own (pt.c) and shown through a few lol VMAs, the chunks, that
 * this file makes. An AS's operations are serialised by its lock and
 * applied under its mmap lock, on the calling thread, without loading
 * the AS there (except to make a chunk).
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
	fput(as->pt);
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
	as->pt = lol_pt_create();
	if (IS_ERR(as->pt)) {
		ret = PTR_ERR(as->pt);
		goto err_free_as;
	}
	as->mm = lol_mm_alloc(guest->owner);
	if (!as->mm) {
		ret = -ENOMEM;
		goto err_put_pt;
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
err_put_pt:
	fput(as->pt);
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
 * Guest memory shows through chunks: lol VMAs (pt.c) made on the first
 * MAP into a stretch of the AS, this big where free space allows, so that
 * a guest needs a handful of them. Making one is the only time an AS
 * operation loads the AS on the calling thread.
 */
#define LOL_AS_CHUNK	SZ_1G

static unsigned long lol_as_vm_mmap(struct lol_as *as, u64 start, u64 end,
				    unsigned long flags)
{
	struct mm_struct *host_mm = current->mm;
	unsigned long ret;

	lol_mm_switch(host_mm, as->mm);
	ret = vm_mmap(as->pt, start, end - start,
		      PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | flags,
		      start);
	lol_mm_switch(as->mm, host_mm);
	return ret;
}

/* Under the mmap lock. */
static bool lol_as_covered(struct lol_as *as, u64 start, u64 end)
{
	struct vm_area_struct *vma;
	u64 addr;

	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = lol_pt_chunk(as->pt, as->mm, addr);
		if (!vma)
			return false;
	}
	return true;
}

/*
 * Chunks over all of [start, end). What the guest mapped there natively
 * is replaced where the op maps, as a MAP_FIXED mmap() would; a chunk
 * grows into free space only. Without the mmap lock.
 */
static int lol_as_cover(struct lol_as *as, u64 start, u64 end)
{
	struct mm_struct *mm = as->mm;
	u64 addr = start;

	while (addr < end) {
		struct vm_area_struct *vma, *prev;
		u64 hi, lo = 0, ext = 0;
		unsigned long ret;

		mmap_read_lock(mm);
		vma = find_vma(mm, addr);
		if (vma && vma->vm_start <= addr) {
			hi = min_t(u64, end, vma->vm_end);
			if (lol_pt_vma(vma, as->pt)) {
				mmap_read_unlock(mm);
				addr = hi;
				continue;
			}
		} else {
			hi = vma ? min_t(u64, end, vma->vm_start) : end;
			/* Down to the chunk's start or the last VMA before. */
			lo = round_down(addr, LOL_AS_CHUNK);
			while ((prev = find_vma_intersection(mm, lo, addr)))
				lo = prev->vm_end;
			ext = min_t(u64, round_up(hi, LOL_AS_CHUNK),
				    vma ? vma->vm_start : LOL_USER_LIMIT);
		}
		mmap_read_unlock(mm);

		ret = -EEXIST;
		if (ext)
			ret = lol_as_vm_mmap(as, lo, ext, MAP_FIXED_NOREPLACE);
		/* Raced with the guest, or below mmap_min_addr: the op's part. */
		if (IS_ERR_VALUE(ret))
			ret = lol_as_vm_mmap(as, addr, hi, MAP_FIXED);
		if (IS_ERR_VALUE(ret))
			return ret;
		addr = hi;
	}
	return 0;
}

int lol_as_ops(struct lol_guest *guest, struct lol_as_batch __user *ubatch)
{
	struct lol_as_op ops_small[LOL_AS_OPS_ONSTACK], *ops = ops_small;
	struct lol_as_batch batch;
	struct lol_pt_batch pb;
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

	/* A guest kernel's batches are mostly one or two ops. */
	if (batch.nr_ops > ARRAY_SIZE(ops_small)) {
		ops = kvmalloc_array(batch.nr_ops, sizeof(*ops), GFP_KERNEL);
		if (!ops)
			return -ENOMEM;
	}
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

	lol_pt_batch_init(&pb, as->mm, as->pt, phys);
	for (i = 0; i < batch.nr_ops; i++)
		lol_pt_batch_check(&pb, &ops[i]);
	mutex_lock(&as->lock);
	mmap_write_lock(as->mm);
	for (i = 0; i < batch.nr_ops; i++) {
		const struct lol_as_op *op = &ops[i];

		if (op->op == LOL_AS_MAP &&
		    !lol_as_covered(as, op->addr, op->addr + op->size)) {
			lol_pt_batch_end(&pb);
			mmap_write_unlock(as->mm);
			ret = lol_as_cover(as, op->addr, op->addr + op->size);
			mmap_write_lock(as->mm);
			if (ret)
				break;
		}
		ret = lol_pt_apply(&pb, op);
		if (ret)
			break;
	}
	lol_pt_batch_end(&pb);
	mmap_write_unlock(as->mm);
	mutex_unlock(&as->lock);

out_put:
	if (phys)
		fput(phys);
	lol_as_put(as);
out_free:
	if (ops != ops_small)
		kvfree(ops);
	if (put_user(i, &ubatch->nr_done) && !ret)
		ret = -EFAULT;
	return ret;
}

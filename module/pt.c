// SPDX-License-Identifier: GPL-2.0
/*
 * lol: guest memory as lol-managed page tables.
 *
 * What an AS maps is a table kept by lol (struct lol_pt): guest page ->
 * phys file page and protection. The host sees it through VM_PFNMAP VMAs
 * of lol's own that cover the guest range in large chunks (as.c makes
 * them); their PTEs are filled from the table when a page is mapped and
 * on a fault. LOL_AS_MAP, PROTECT and UNMAP are table updates plus PTE
 * zaps: no host VMA per mapping, no vm_mmap() per op, no mm switch, and
 * vm.max_map_count does not bound a guest. Documentation/design.md,
 * "Guest memory".
 *
 * Page lifetime: every entry that names a page holds a reference on it,
 * taken when it is looked up and dropped only after the PTEs that may
 * point to it are zapped; zap_vma_ptes() has flushed the TLB of every CPU
 * that runs the AS before it returns. Truncating the phys file (or
 * punching a hole in it) therefore never frees a page a guest PTE points
 * to: the AS keeps the page it mapped until it unmaps it.
 *
 * Locking: table changes happen under the AS mm's mmap lock held for
 * writing, faults under it held for reading, so a fault never sees an
 * entry change under it. A fault that looks up a page for an entry
 * (lazily, when MAP could not) publishes it with a cmpxchg against
 * faults on the same page.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "lol.h"

/*
 * An entry is an xarray value: the protection (LOL_PROT_*), whether it
 * holds a page, and the pfn of that page or, until it has one, the phys
 * file's page index.
 */
#define LOL_PT_PROT	(LOL_PROT_READ | LOL_PROT_WRITE | LOL_PROT_EXEC)
#define LOL_PT_PAGE	(1UL << 3)
#define LOL_PT_SHIFT	4

struct lol_pt {
	struct xarray xa;		/* guest page number -> entry */
	unsigned long nr_pages;		/* entries; read locklessly */
	unsigned long nr_writable;	/* entries with LOL_PROT_WRITE */
	struct file *phys;		/* set with the first entry */
	/* The chunk last looked up; see lol_pt_chunk(). */
	struct vm_area_struct *last_vma;
};

static const struct address_space_operations *lol_shmem_aops;

static unsigned long lol_pt_prot(unsigned long e)
{
	return e & LOL_PT_PROT;
}

static unsigned long lol_pt_x(unsigned long e)
{
	return e >> LOL_PT_SHIFT;
}

static unsigned long lol_pt_load(struct lol_pt *pt, unsigned long idx)
{
	void *v = xa_load(&pt->xa, idx);

	return v ? xa_to_value(v) : 0;
}

/* LOL_PROT_* as mmap()'s PROT_*: what the host's checks take. */
static unsigned long lol_pt_mmap_prot(u32 prot)
{
	return (prot & LOL_PROT_READ ? PROT_READ : 0) |
	       (prot & LOL_PROT_WRITE ? PROT_WRITE : 0) |
	       (prot & LOL_PROT_EXEC ? PROT_EXEC : 0);
}

static pgprot_t lol_pt_pgprot(unsigned long e)
{
	return vm_get_page_prot(VM_SHARED |
		calc_vm_prot_bits(lol_pt_mmap_prot(lol_pt_prot(e)), 0));
}

/* What x86 page tables allow: any present page reads. */
static bool lol_pt_allows(unsigned long e, unsigned int fault_flags)
{
	unsigned long prot = lol_pt_prot(e);

	if (fault_flags & FAULT_FLAG_WRITE)
		return prot & LOL_PROT_WRITE;
	if (fault_flags & FAULT_FLAG_INSTRUCTION)
		return prot & LOL_PROT_EXEC;
	return prot;
}

/*
 * A referenced page of the phys file. On a fault (@alloc) as shmem's own
 * fault gets it: allocated for a hole, read back from swap, charged to
 * the faulting thread's mm, the AS, whose memcg owner is the monitor. At
 * MAP only a page that is there and up to date (not one fallocate() left
 * to be zeroed): mapping memory does not commit it, touching it does.
 */
static struct page *lol_pt_lookup(struct lol_pt *pt, pgoff_t index,
				  bool alloc)
{
	struct address_space *mapping = pt->phys->f_mapping;
	struct page *page;

	if (alloc)
		return shmem_read_mapping_page_gfp(mapping, index,
						   mapping_gfp_mask(mapping));
	page = find_get_page(mapping, index);
	if (page && !PageUptodate(page)) {
		put_page(page);
		page = NULL;
	}
	return page ?: ERR_PTR(-ENOENT);
}

/*
 * Guest writes go through PTEs the host does not track: the page is
 * dirtied when lol lets it go, or reclaim could drop what the guest wrote
 * (it may have been written to swap and cleaned meanwhile).
 */
static void lol_pt_release(unsigned long e)
{
	struct page *page;

	if (!(e & LOL_PT_PAGE))
		return;
	page = pfn_to_page(lol_pt_x(e));
	if (lol_pt_prot(e) & LOL_PROT_WRITE)
		set_page_dirty_lock(page);
	put_page(page);
}

/*
 * Writable entries count as a writable shared mapping of the phys file
 * (i_mmap_writable), so that F_SEAL_WRITE fails while a guest can write
 * it, as it does while a process can. Under the mmap write lock.
 */
static int lol_pt_writers(struct lol_pt *pt, long delta)
{
	struct address_space *mapping = pt->phys->f_mapping;

	if (!pt->nr_writable && delta > 0 && mapping_map_writable(mapping))
		return -EPERM;
	pt->nr_writable += delta;
	if (!pt->nr_writable && delta < 0)
		mapping_unmap_writable(mapping);
	return 0;
}

static bool lol_path_noexec(const struct path *path)
{
	return (path->mnt->mnt_flags & MNT_NOEXEC) ||
	       (path->mnt->mnt_sb->s_iflags & SB_I_NOEXEC);
}

/* What mmap(MAP_SHARED) of the phys file with @prot would refuse. */
static int lol_pt_prot_ok(struct file *phys, u32 prot)
{
	int ret;

	ret = lol_mm_may_map(phys, lol_pt_mmap_prot(prot));
	if (ret)
		return ret;
	if (prot & LOL_PROT_WRITE) {
		if (!(phys->f_mode & FMODE_WRITE))
			return -EACCES;
		if (READ_ONCE(SHMEM_I(file_inode(phys))->seals) &
		    (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return -EPERM;
	}
	if (prot & LOL_PROT_EXEC && lol_path_noexec(&phys->f_path))
		return -EPERM;
	return 0;
}

/*
 * The entry for @idx with its page, looked up now if MAP could not (the
 * file was shorter then, or memory short). Under the mmap read lock.
 */
static vm_fault_t lol_pt_resolve(struct lol_pt *pt, unsigned long idx,
				 unsigned long *ep)
{
	unsigned long e = *ep, ne;
	struct page *page;
	void *old;

	if (e & LOL_PT_PAGE)
		return 0;
	page = lol_pt_lookup(pt, lol_pt_x(e), true);
	if (IS_ERR(page))
		return PTR_ERR(page) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	ne = (page_to_pfn(page) << LOL_PT_SHIFT) | LOL_PT_PAGE |
	     lol_pt_prot(e);
	old = xa_cmpxchg(&pt->xa, idx, xa_mk_value(e), xa_mk_value(ne),
			 GFP_KERNEL_ACCOUNT);
	if (old != xa_mk_value(e)) {
		/* Another fault on the same page was first. */
		put_page(page);
		if (xa_is_err(old))
			return VM_FAULT_OOM;
		ne = old ? xa_to_value(old) : 0;
		if (!(ne & LOL_PT_PAGE))
			return VM_FAULT_SIGBUS;
	}
	*ep = ne;
	return 0;
}

struct lol_pt_pte {
	struct mm_struct *mm;
	pte_t entry;
};

static int lol_pt_set_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct lol_pt_pte *p = data;

	if (pte_none(*pte))
		lol_arch_set_special_pte(p->mm, addr, pte, p->entry);
	return 0;
}

/*
 * The PTE of @addr for the entry @e, which holds its page, unless one is
 * there already. It is the one vmf_insert_pfn_prot() would write
 * (special, young, the entry's protection), written under the PTE lock
 * by apply_to_page_range(), without the PAT memory-type lookup (a walk
 * of the host's resource tree per page): a shmem page is ordinary RAM,
 * whose type is write-back, the type vm_get_page_prot() already gives.
 * Under the AS's mmap lock; fails only to allocate a page table.
 */
static int lol_pt_install(struct mm_struct *mm, unsigned long addr,
			  unsigned long e)
{
	struct lol_pt_pte p = {
		.mm = mm,
		.entry = pte_mkyoung(pte_mkspecial(pfn_pte(lol_pt_x(e),
							   lol_pt_pgprot(e)))),
	};

	return apply_to_page_range(mm, addr & PAGE_MASK, PAGE_SIZE,
				   lol_pt_set_pte, &p);
}

/*
 * Not in the table: a fault exit without LOL_FAULT_PRESENT. Mapped but
 * not allowed, or no page: one with LOL_FAULT_PRESENT, as an mprotect()ed
 * VMA's SEGV_ACCERR was. The guest's own accesses leave directly
 * (lol_guest_fault()); for the host's, SIGSEGV and SIGBUS.
 */
static vm_fault_t lol_pt_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct lol_pt *pt = vma->vm_private_data;
	unsigned long idx = vmf->address >> PAGE_SHIFT;
	unsigned long e = lol_pt_load(pt, idx);
	vm_fault_t ret;

	if (!e)
		return lol_guest_fault(vmf, false, VM_FAULT_SIGSEGV);
	if (!lol_pt_allows(e, vmf->flags))
		return lol_guest_fault(vmf, true, VM_FAULT_SIGBUS);
	ret = lol_pt_resolve(pt, idx, &e);
	if (ret == VM_FAULT_SIGBUS)
		return lol_guest_fault(vmf, true, ret);
	if (ret)
		return ret;
	if (lol_pt_install(vma->vm_mm, vmf->address, e))
		return VM_FAULT_OOM;
	return VM_FAULT_NOPAGE;
}

/* A write to a present read-only PTE: only if the entry allows it now. */
static vm_fault_t lol_pt_pfn_mkwrite(struct vm_fault *vmf)
{
	struct lol_pt *pt = vmf->vma->vm_private_data;
	unsigned long e = lol_pt_load(pt, vmf->address >> PAGE_SHIFT);

	return e && lol_pt_prot(e) & LOL_PROT_WRITE ? 0 : VM_FAULT_SIGBUS;
}

/*
 * ptrace and /proc/<pid>/mem of a thread in guest mode: get_user_pages()
 * does not work on VM_PFNMAP, so access_remote_vm() comes here. Writes
 * need the entry to allow them, as for a shared file mapping.
 */
static int lol_pt_access(struct vm_area_struct *vma, unsigned long addr,
			 void *buf, int len, int write)
{
	struct lol_pt *pt = vma->vm_private_data;
	unsigned long idx = addr >> PAGE_SHIFT;
	unsigned long e = lol_pt_load(pt, idx);
	int off = offset_in_page(addr);
	void *kaddr;

	if (!e || (write && !(lol_pt_prot(e) & LOL_PROT_WRITE)))
		return -EFAULT;
	if (lol_pt_resolve(pt, idx, &e))
		return -EFAULT;
	len = min_t(int, len, PAGE_SIZE - off);
	kaddr = kmap_local_page(pfn_to_page(lol_pt_x(e)));
	if (write)
		memcpy(kaddr + off, buf, len);
	else
		memcpy(buf, kaddr + off, len);
	kunmap_local(kaddr);
	return len;
}

/*
 * The guest's own native munmap/mremap/mprotect could split a chunk or
 * rewrite its PTEs behind the table (mprotect would make a read-only
 * phys file's pages writable): only a whole chunk may be unmapped.
 */
static int lol_pt_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int lol_pt_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static int lol_pt_mprotect(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end, unsigned long newflags)
{
	return -EACCES;
}

/* Under the mmap lock held for writing: no lol_pt_chunk() runs. */
static void lol_pt_close(struct vm_area_struct *vma)
{
	struct lol_pt *pt = vma->vm_private_data;

	if (READ_ONCE(pt->last_vma) == vma)
		WRITE_ONCE(pt->last_vma, NULL);
}

static const struct vm_operations_struct lol_pt_vm_ops = {
	.close = lol_pt_close,
	.fault = lol_pt_fault,
	.pfn_mkwrite = lol_pt_pfn_mkwrite,
	.access = lol_pt_access,
	.may_split = lol_pt_may_split,
	.mremap = lol_pt_mremap,
	.mprotect = lol_pt_mprotect,
};

bool lol_pt_vma(struct vm_area_struct *vma, struct file *file)
{
	return vma->vm_ops == &lol_pt_vm_ops && vma->vm_file == file;
}

/*
 * The chunk of the table @file that holds @addr, or NULL; under the AS's
 * mmap lock. A guest's ops mostly land in the chunk of the one before,
 * and the host's lookup is a maple-tree walk: the last chunk found is
 * kept. A chunk goes away only with the lock held for writing, and its
 * .close forgets it then, so the pointer is never stale. Concurrent
 * lookups under the read lock (faults) only ever store a live chunk.
 */
struct vm_area_struct *lol_pt_chunk(struct file *file, struct mm_struct *mm,
				    unsigned long addr)
{
	struct lol_pt *pt = file->private_data;
	struct vm_area_struct *vma = READ_ONCE(pt->last_vma);

	if (vma && addr >= vma->vm_start && addr < vma->vm_end)
		return vma;
	vma = vma_lookup(mm, addr);
	if (!vma || !lol_pt_vma(vma, file))
		return NULL;
	WRITE_ONCE(pt->last_vma, vma);
	return vma;
}

/*
 * The file is never in a file table: only as.c maps it, into its own AS.
 * VM_IO keeps get_user_pages() and madvise(MADV_DOFORK) away, VM_DONTCOPY
 * a fork of the AS (there is none: clone never runs natively in guest
 * mode) from PTEs without page references.
 */
static int lol_pt_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP |
			 VM_DONTCOPY;
	vma->vm_ops = &lol_pt_vm_ops;
	vma->vm_private_data = file->private_data;
	return 0;
}

/* The last reference: the AS's and every chunk's (so every PTE) gone. */
static int lol_pt_file_release(struct inode *inode, struct file *file)
{
	struct lol_pt *pt = file->private_data;
	unsigned long idx;
	void *v;

	xa_for_each(&pt->xa, idx, v)
		lol_pt_release(xa_to_value(v));
	xa_destroy(&pt->xa);
	if (pt->nr_writable)
		mapping_unmap_writable(pt->phys->f_mapping);
	if (pt->phys)
		fput(pt->phys);
	kfree(pt);
	return 0;
}

static const struct file_operations lol_pt_fops = {
	.owner = THIS_MODULE,
	.mmap = lol_pt_mmap,
	.release = lol_pt_file_release,
};

/* The file whose chunks show one AS's table. */
struct file *lol_pt_create(void)
{
	struct lol_pt *pt;
	struct file *file;

	pt = kzalloc(sizeof(*pt), GFP_KERNEL_ACCOUNT);
	if (!pt)
		return ERR_PTR(-ENOMEM);
	xa_init(&pt->xa);
	file = anon_inode_getfile("[lol-as]", &lol_pt_fops, pt, O_RDWR);
	if (IS_ERR(file))
		kfree(pt);
	return file;
}

unsigned long lol_pt_pages(struct file *file)
{
	struct lol_pt *pt = file->private_data;

	return READ_ONCE(pt->nr_pages);
}

/* Pages mapped in [first, last]. */
static unsigned long lol_pt_count(struct lol_pt *pt, unsigned long first,
				  unsigned long last)
{
	unsigned long idx, n = 0;
	void *v;

	xa_for_each_range(&pt->xa, idx, v, first, last)
		n++;
	return n;
}

/*
 * Zap the PTEs of [start, end) in every chunk it crosses. The TLB of every
 * CPU that has the AS loaded is flushed when this returns.
 */
static void lol_pt_zap(struct mm_struct *mm, struct file *file, u64 start,
		       u64 end)
{
	struct vm_area_struct *vma;
	u64 addr = start;

	while (addr < end) {
		vma = lol_pt_chunk(file, mm, addr) ?: find_vma(mm, addr);
		if (!vma || vma->vm_start >= end)
			break;
		if (lol_pt_vma(vma, file)) {
			u64 s = max_t(u64, addr, vma->vm_start);
			u64 e = min_t(u64, end, vma->vm_end);

			zap_vma_ptes(vma, s, e - s);
		}
		addr = vma->vm_end;
	}
}

/*
 * A batch's deferred work. A zap costs the same for one page as for many
 * (a TLB flush, an mmu_gather), so the PTEs of nearby ops are zapped
 * together, and the pages their entries held are let go after that zap:
 * until then a stale PTE may still point to them. PTEs only cache the
 * table, so zapping one that is still mapped costs a refault, nothing
 * else.
 */
#define LOL_PT_ZAP_GAP	SZ_2M

static void lol_pt_flush(struct lol_pt_batch *b)
{
	struct lol_pt *pt = b->file->private_data;
	unsigned int i;

	if (b->zap_end > b->zap_start)
		lol_pt_zap(b->mm, b->file, b->zap_start, b->zap_end);
	b->zap_start = b->zap_end = 0;
	for (i = 0; i < b->nr_put; i++) {
		if (lol_pt_prot(b->put[i]) & LOL_PROT_WRITE)
			lol_pt_writers(pt, -1);
		lol_pt_release(b->put[i]);
	}
	b->nr_put = 0;
}

static void lol_pt_zap_later(struct lol_pt_batch *b, u64 start, u64 end)
{
	if (b->zap_end > b->zap_start &&
	    (start > b->zap_end + LOL_PT_ZAP_GAP ||
	     end + LOL_PT_ZAP_GAP < b->zap_start))
		lol_pt_flush(b);
	if (b->zap_end > b->zap_start) {
		b->zap_start = min(b->zap_start, start);
		b->zap_end = max(b->zap_end, end);
	} else {
		b->zap_start = start;
		b->zap_end = end;
	}
}

/* An entry left the table; its page goes after the zap. */
static void lol_pt_put_later(struct lol_pt_batch *b, unsigned long e)
{
	struct lol_pt *pt = b->file->private_data;

	WRITE_ONCE(pt->nr_pages, pt->nr_pages - 1);
	if (!(e & LOL_PT_PAGE) && !(lol_pt_prot(e) & LOL_PROT_WRITE))
		return;
	if (b->nr_put == ARRAY_SIZE(b->put))
		lol_pt_flush(b);
	b->put[b->nr_put++] = e;
}

/* Entries of [start, end) out; their PTEs and pages go with the flush. */
static void lol_pt_unmap(struct lol_pt_batch *b, u64 start, u64 end)
{
	struct lol_pt *pt = b->file->private_data;
	unsigned long idx, first = start >> PAGE_SHIFT;
	unsigned long last = (end >> PAGE_SHIFT) - 1;
	void *v;

	if (!xa_find(&pt->xa, &first, last, XA_PRESENT))
		return;
	lol_pt_zap_later(b, start, end);
	xa_for_each_range(&pt->xa, idx, v, first, last) {
		xa_erase(&pt->xa, idx);
		lol_pt_put_later(b, xa_to_value(v));
	}
}

/*
 * Fill the PTE now: the monitor maps a page because the guest is about
 * to touch it. Best effort: a fault does the same later (and where a
 * stale PTE waits for the batch's zap, it is left to that).
 */
static void lol_pt_prefault(struct lol_pt_batch *b, u64 addr,
			    unsigned long e)
{
	if (!(e & LOL_PT_PAGE) || !lol_pt_prot(e))
		return;
	if (lol_pt_chunk(b->file, b->mm, addr))
		lol_pt_install(b->mm, addr, e);
}

/*
 * lol_pt_prot_ok() once per protection and batch, before the mmap lock is
 * taken: the LSM and IMA hooks expect to run without it, as they do in
 * mmap(). A seal added after this is still caught by lol_pt_writers().
 */
void lol_pt_batch_check(struct lol_pt_batch *b, const struct lol_as_op *op)
{
	if (!b->phys || op->op == LOL_AS_UNMAP || b->prot_checked & BIT(op->prot))
		return;
	b->prot_checked |= BIT(op->prot);
	b->prot_err[op->prot] = lol_pt_prot_ok(b->phys, op->prot);
}

static int lol_pt_batch_prot_ok(struct lol_pt_batch *b, u32 prot)
{
	if (WARN_ON_ONCE(!(b->prot_checked & BIT(prot))))
		return -EPERM;
	return b->prot_err[prot];
}

static int lol_pt_map(struct lol_pt_batch *b, const struct lol_as_op *op)
{
	struct lol_pt *pt = b->file->private_data;
	unsigned long first = op->addr >> PAGE_SHIFT;
	unsigned long n = op->size >> PAGE_SHIFT, i, old;
	pgoff_t pgoff = op->phys >> PAGE_SHIFT;
	struct page *page;
	int ret;
	void *v;

	ret = lol_pt_batch_prot_ok(b, op->prot);
	if (ret)
		return ret;
	old = lol_pt_count(pt, first, first + n - 1);
	if (pt->nr_pages - old + n > READ_ONCE(lol_max_mappings))
		return -ENOSPC;
	if (!pt->phys)
		pt->phys = get_file(b->phys);

	if (old)
		lol_pt_unmap(b, op->addr, op->addr + op->size);
	if (op->prot & LOL_PROT_WRITE) {
		ret = lol_pt_writers(pt, n);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		unsigned long e = op->prot;

		page = lol_pt_lookup(pt, pgoff + i, false);
		/* Not in memory, or beyond the file: looked up on access. */
		if (IS_ERR(page))
			e |= (pgoff + i) << LOL_PT_SHIFT;
		else
			e |= page_to_pfn(page) << LOL_PT_SHIFT | LOL_PT_PAGE;
		v = xa_store(&pt->xa, first + i, xa_mk_value(e),
			     GFP_KERNEL_ACCOUNT);
		if (xa_is_err(v)) {
			lol_pt_release(e);
			if (op->prot & LOL_PROT_WRITE)
				lol_pt_writers(pt, -(long)(n - i));
			/* All or nothing, as mmap() is. */
			if (i)
				lol_pt_unmap(b, op->addr,
					     op->addr + (i << PAGE_SHIFT));
			return xa_err(v);
		}
		WRITE_ONCE(pt->nr_pages, pt->nr_pages + 1);
		lol_pt_prefault(b, op->addr + (i << PAGE_SHIFT), e);
	}
	return 0;
}

/* As mprotect(): the whole range must be mapped; checked first. */
static int lol_pt_protect(struct lol_pt_batch *b, const struct lol_as_op *op)
{
	struct lol_pt *pt = b->file->private_data;
	unsigned long first = op->addr >> PAGE_SHIFT;
	unsigned long last = first + (op->size >> PAGE_SHIFT) - 1;
	unsigned long idx, n = last - first + 1;
	long up = op->prot & LOL_PROT_WRITE ? n : 0, writers = up;
	bool changed = false;
	int ret;
	void *v;

	if (lol_pt_count(pt, first, last) != n)
		return -ENOMEM;
	ret = lol_pt_batch_prot_ok(b, op->prot);
	if (ret)
		return ret;
	/* The writers count goes up front, and back down below. */
	ret = lol_pt_writers(pt, up);
	if (ret)
		return ret;
	xa_for_each_range(&pt->xa, idx, v, first, last) {
		unsigned long e = xa_to_value(v), ne;

		if (lol_pt_prot(e) & LOL_PROT_WRITE)
			writers--;
		ne = (e & ~LOL_PT_PROT) | op->prot;
		if (ne == e)
			continue;
		/* Replacing a present entry allocates nothing. */
		xa_store(&pt->xa, idx, xa_mk_value(ne), GFP_KERNEL_ACCOUNT);
		changed = true;
	}
	/* New PTEs come from the next faults. */
	if (changed)
		lol_pt_zap_later(b, op->addr, op->addr + op->size);
	/*
	 * Entries no longer writable: their pages are dirtied, and the
	 * writers count drops, only once no PTE can write them.
	 */
	if (!up && writers < 0) {
		lol_pt_flush(b);
		xa_for_each_range(&pt->xa, idx, v, first, last) {
			unsigned long e = xa_to_value(v);

			if (e & LOL_PT_PAGE)
				set_page_dirty_lock(pfn_to_page(lol_pt_x(e)));
		}
	}
	lol_pt_writers(pt, writers - up);
	return 0;
}

void lol_pt_batch_init(struct lol_pt_batch *b, struct mm_struct *mm,
		       struct file *file, struct file *phys)
{
	/* Field by field: put[] and prot_err[] are read only once set. */
	b->mm = mm;
	b->file = file;
	b->phys = phys;
	b->zap_start = 0;
	b->zap_end = 0;
	b->nr_put = 0;
	b->prot_checked = 0;
}

/*
 * Apply one checked op of the batch @b to its table. Called with the AS
 * lock, and its mm's mmap lock for writing; lol_pt_batch_end() before
 * that is dropped.
 */
int lol_pt_apply(struct lol_pt_batch *b, const struct lol_as_op *op)
{
	switch (op->op) {
	case LOL_AS_MAP:
		return lol_pt_map(b, op);
	case LOL_AS_UNMAP:
		lol_pt_unmap(b, op->addr, op->addr + op->size);
		return 0;
	default:
		return lol_pt_protect(b, op);
	}
}

/* The zap and the releases still pending: no CPU can reach them after. */
void lol_pt_batch_end(struct lol_pt_batch *b)
{
	lol_pt_flush(b);
}

/*
 * Guest memory is a shmem file (memfd_create(), tmpfs, /dev/shm): lol
 * looks its pages up with shmem_read_mapping_page_gfp(). A shmem file
 * made here tells which address_space_operations that is.
 */
int lol_pt_init(void)
{
	struct file *probe;

	probe = shmem_file_setup("lol-probe", 0, VM_NORESERVE);
	if (IS_ERR(probe)) {
		pr_warn("cannot create a shmem file: %ld\n", PTR_ERR(probe));
		return PTR_ERR(probe);
	}
	lol_shmem_aops = probe->f_mapping->a_ops;
	fput(probe);
	return 0;
}

bool lol_pt_phys_ok(struct file *file)
{
	return file->f_mapping->a_ops == lol_shmem_aops;
}

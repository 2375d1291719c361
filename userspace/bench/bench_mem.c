// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory rows: what a guest kernel pays to change a guest process's
 * memory, 256 scattered single pages at a time (User-Mode Linux maps guest
 * pages one by one, each from wherever it lives in its physical memory).
 *
 *   lol-map-256     one LOL_AS_OPS batch of 256 single-page MAPs, each
 *                   page two apart from the next and from an unrelated
 *                   phys offset (so that no two could be one host mapping)
 *   lol-unmap-256   one LOL_AS_OPS batch of 256 single-page UNMAPs of them
 *   mmap-256        the host's own way, as a ptrace monitor's stub does
 *                   it: 256 mmap(MAP_SHARED | MAP_FIXED) calls of a memfd
 *   munmap-256      256 munmap() calls of those
 *
 * Each op is one batch; the other half of the pair (the unmap after a
 * map row's batch, the map before an unmap row's) is done in the same
 * run() but left out of the time (bench_untimed()).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "guest.h"

#define BM_PAGES	256
#define BM_PHYS_PAGES	1024
#define BM_BASE		0x10000000ULL

struct bench_mem {
	struct lol_vm vm;
	bool vm_up;
	__u32 as;
	struct lol_as_op map[BM_PAGES], unmap[BM_PAGES];
	int memfd;		/* mmap rows: their phys file */
	char *phys, *host;	/* its monitor view; the region, reserved */
};

static struct bench_mem bm = { .memfd = -1 };

static size_t bm_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Page i's phys page: scattered over the file, never the next one's. */
static __u64 bm_phys(unsigned int i)
{
	return (__u64)((i * 389) % BM_PHYS_PAGES) * bm_page();
}

static int bm_lol_setup(struct bench_state *st)
{
	unsigned int i;

	st->priv = &bm;
	if (lol_vm_create(&bm.vm, BM_PHYS_PAGES * bm_page()))
		return bench_fail(st, errno, "lol guest: %m");
	bm.vm_up = true;
	if (lol_vm_new_as(&bm.vm, &bm.as))
		return bench_fail(st, errno, "LOL_CREATE_AS: %m");
	/* Phys memory in use, as a guest kernel's is. */
	memset(bm.vm.phys, 1, bm.vm.phys_size);
	for (i = 0; i < BM_PAGES; i++) {
		bm.map[i] = (struct lol_as_op){
			.op = LOL_AS_MAP,
			.prot = LOL_PROT_READ | LOL_PROT_WRITE,
			.addr = BM_BASE + 2ULL * i * bm_page(),
			.size = bm_page(),
			.phys = bm_phys(i),
		};
		bm.unmap[i] = (struct lol_as_op){
			.op = LOL_AS_UNMAP,
			.addr = bm.map[i].addr,
			.size = bm_page(),
		};
	}
	return 0;
}

static int bm_lol_map(struct bench_state *st)
{
	if (lol_as_ops(bm.vm.guest, bm.as, bm.map, BM_PAGES, NULL))
		return bench_fail(st, errno, "LOL_AS_OPS: %m");
	return 0;
}

static int bm_lol_unmap(struct bench_state *st)
{
	if (lol_as_ops(bm.vm.guest, bm.as, bm.unmap, BM_PAGES, NULL))
		return bench_fail(st, errno, "LOL_AS_OPS: %m");
	return 0;
}

/* @map then @unmap, @iters times; only one of the two counts. */
static int bm_pair(struct bench_state *st, uint64_t iters,
		   int (*map)(struct bench_state *),
		   int (*unmap)(struct bench_state *), bool map_timed)
{
	uint64_t i;
	double t0;
	int rc;

	for (i = 0; i < iters; i++) {
		t0 = bench_now_ns(st->b->clock);
		rc = map(st);
		if (!map_timed)
			bench_untimed(st, bench_now_ns(st->b->clock) - t0);
		if (rc)
			return rc;
		t0 = bench_now_ns(st->b->clock);
		rc = unmap(st);
		if (map_timed)
			bench_untimed(st, bench_now_ns(st->b->clock) - t0);
		if (rc)
			return rc;
	}
	return 0;
}

static int bm_lol_map_run(struct bench_state *st, uint64_t iters)
{
	return bm_pair(st, iters, bm_lol_map, bm_lol_unmap, true);
}

static int bm_lol_unmap_run(struct bench_state *st, uint64_t iters)
{
	return bm_pair(st, iters, bm_lol_map, bm_lol_unmap, false);
}

static int bm_host_setup(struct bench_state *st)
{
	size_t size = BM_PHYS_PAGES * bm_page();

	st->priv = &bm;
	bm.memfd = memfd_create("bench-mem", MFD_CLOEXEC);
	if (bm.memfd < 0 || ftruncate(bm.memfd, size))
		return bench_fail(st, errno, "memfd: %m");
	bm.phys = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bm.memfd, 0);
	if (bm.phys == MAP_FAILED)
		return bench_fail(st, errno, "mmap memfd: %m");
	memset(bm.phys, 1, size);
	bm.host = mmap(NULL, 2 * BM_PAGES * bm_page(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bm.host == MAP_FAILED)
		return bench_fail(st, errno, "mmap reserve: %m");
	return 0;
}

static int bm_host_map(struct bench_state *st)
{
	unsigned int i;

	for (i = 0; i < BM_PAGES; i++)
		if (mmap(bm.host + 2 * i * bm_page(), bm_page(),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 bm.memfd, bm_phys(i)) == MAP_FAILED)
			return bench_fail(st, errno, "mmap: %m");
	return 0;
}

static int bm_host_unmap(struct bench_state *st)
{
	unsigned int i;

	for (i = 0; i < BM_PAGES; i++)
		if (munmap(bm.host + 2 * i * bm_page(), bm_page()))
			return bench_fail(st, errno, "munmap: %m");
	return 0;
}

static int bm_host_map_run(struct bench_state *st, uint64_t iters)
{
	return bm_pair(st, iters, bm_host_map, bm_host_unmap, true);
}

static int bm_host_unmap_run(struct bench_state *st, uint64_t iters)
{
	return bm_pair(st, iters, bm_host_map, bm_host_unmap, false);
}

static void bm_teardown(struct bench_state *st)
{
	(void)st;
	if (bm.host && bm.host != MAP_FAILED)
		munmap(bm.host, 2 * BM_PAGES * bm_page());
	if (bm.phys && bm.phys != MAP_FAILED)
		munmap(bm.phys, BM_PHYS_PAGES * bm_page());
	if (bm.memfd >= 0)
		close(bm.memfd);
	bm.host = bm.phys = NULL;
	bm.memfd = -1;
	if (bm.vm_up)
		lol_vm_destroy(&bm.vm);
	bm.vm_up = false;
}

const struct bench bench_lol_map256 = {
	.id = "lol-map-256",
	.mech = "lol LOL_AS_OPS",
	.op = "map 256 scattered pages",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = bm_lol_setup,
	.run = bm_lol_map_run,
	.teardown = bm_teardown,
};

const struct bench bench_lol_unmap256 = {
	.id = "lol-unmap-256",
	.mech = "lol LOL_AS_OPS",
	.op = "unmap 256 scattered pages",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = bm_lol_setup,
	.run = bm_lol_unmap_run,
	.teardown = bm_teardown,
};

const struct bench bench_mmap256 = {
	.id = "mmap-256",
	.mech = "host mmap(MAP_FIXED)",
	.op = "map 256 scattered pages",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = bm_host_setup,
	.run = bm_host_map_run,
	.teardown = bm_teardown,
};

const struct bench bench_munmap256 = {
	.id = "munmap-256",
	.mech = "host munmap",
	.op = "unmap 256 scattered pages",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = bm_host_setup,
	.run = bm_host_unmap_run,
	.teardown = bm_teardown,
};

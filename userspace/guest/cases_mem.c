// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: memory. memory (mmap, mprotect, mremap, brk, shared
 * mappings, madvise), cow, big_memory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suite.h"

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Every word of page i of buf gets a value made of i and tag. */
static uint64_t page_word(long i, int tag)
{
	return (uint64_t)i << 16 | (uint64_t)tag << 8 | 0xa5;
}

static void fill_pages(void *buf, long first, long n, long step, int tag)
{
	long psz = page_size(), i;
	size_t w;

	for (i = first; i < n; i += step) {
		uint64_t *p = (uint64_t *)((char *)buf + i * psz);

		for (w = 0; w < psz / sizeof(*p); w++)
			p[w] = page_word(i, tag);
	}
}

/* The first page in first, first+step, ... that is not all tag, or -1. */
static long bad_page(const void *buf, long first, long n, long step, int tag,
		     uint64_t *got)
{
	long psz = page_size(), i;
	size_t w;

	for (i = first; i < n; i += step) {
		const uint64_t *p = (const uint64_t *)((const char *)buf +
						       i * psz);

		for (w = 0; w < psz / sizeof(*p); w++) {
			if (p[w] != page_word(i, tag)) {
				*got = p[w];
				return i;
			}
		}
	}
	return -1;
}

#define CHECK_PAGES(buf, first, n, step, tag, what)			\
	do {								\
		uint64_t got_;						\
		long bad_ = bad_page(buf, first, n, step, tag, &got_);	\
		CHECK(bad_ < 0, "%s: page %ld holds %#llx, expected %#llx", \
		      what, bad_, (unsigned long long)got_,		\
		      (unsigned long long)page_word(bad_, tag));	\
	} while (0)

static bool all_zero(const void *buf, size_t len)
{
	const uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / sizeof(*p); i++)
		if (p[i])
			return false;
	return true;
}

/* --- memory ---------------------------------------------------------------- */

static int anon_mmap(void)
{
	long psz = page_size(), n = 64;
	char *m;

	m = mmap(NULL, n * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap anon: %s", errno_name(errno));
	CHECK(all_zero(m, n * psz), "fresh anonymous memory is not zero");
	fill_pages(m, 0, n, 1, 1);
	CHECK_PAGES(m, 0, n, 1, 1, "anonymous mapping");
	CHECK_SYS(munmap(m + 16 * psz, 16 * psz));
	CHECK(faults_on_read(m + 20 * psz),
	      "reading an unmapped page did not fault");
	CHECK_PAGES(m, 0, 16, 1, 1, "below the hole");
	CHECK_PAGES(m, 32, n, 1, 1, "above the hole");
	CHECK_SYS(munmap(m, n * psz));
	CHECK(faults_on_read(m), "reading after munmap did not fault");
	return CASE_PASS;
}

static int file_mmap(void)
{
	long psz = page_size(), i;
	char *buf, *shared, *priv, c;
	int fd;

	buf = malloc(3 * psz);
	CHECK(buf, "malloc failed");
	for (i = 0; i < 3 * psz; i++)
		buf[i] = (char)(i * 13 + 1);
	fd = open("mapped", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK_SYS(fd);
	CHECK(write_full(fd, buf, 3 * psz) == 3 * psz, "write: %s",
	      errno_name(errno));

	/* Four pages over a three-page file: the fourth is past EOF. */
	shared = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(shared != MAP_FAILED, "mmap MAP_SHARED file: %s",
	      errno_name(errno));
	CHECK(!memcmp(shared, buf, 3 * psz),
	      "the shared file mapping does not show the file's data");
	CHECK(faults_on_read(shared + 3 * psz),
	      "reading a mapped page wholly past EOF did not raise SIGBUS");

	priv = mmap(NULL, 3 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED, "mmap MAP_PRIVATE file: %s",
	      errno_name(errno));
	priv[psz] = 'P';

	shared[psz + 5] = 'S';
	CHECK_SYS(msync(shared, 3 * psz, MS_SYNC));
	CHECK(pread(fd, &c, 1, psz + 5) == 1 && c == 'S',
	      "a store through MAP_SHARED is not in the file (read %#x)", c);
	CHECK(pread(fd, &c, 1, psz) == 1 && c == buf[psz],
	      "a store through MAP_PRIVATE reached the file");
	CHECK(priv[psz] == 'P' && shared[psz] == buf[psz],
	      "a store through MAP_PRIVATE shows in the MAP_SHARED mapping");
	CHECK(pwrite(fd, "W", 1, 2 * psz + 7) == 1, "pwrite: %s",
	      errno_name(errno));
	CHECK(shared[2 * psz + 7] == 'W',
	      "a pwrite() does not show in the shared mapping (%#x)",
	      shared[2 * psz + 7]);

	CHECK_SYS(munmap(priv, 3 * psz));
	CHECK_SYS(munmap(shared, 4 * psz));
	close(fd);
	unlink("mapped");
	free(buf);
	return CASE_PASS;
}

static int mprotect_ro(void)
{
	long psz = page_size();
	volatile char *m;

	m = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", errno_name(errno));
	m[0] = 1;
	m[psz] = 2;
	CHECK_SYS(mprotect((void *)m, psz, PROT_READ));
	CHECK(faults_on_write(m), "a store to a PROT_READ page did not fault");
	CHECK(!faults_on_read(m) && m[0] == 1,
	      "the PROT_READ page lost its data or cannot be read");
	CHECK(!faults_on_write(m + psz),
	      "the next page (still writable) faulted");
	CHECK_SYS(mprotect((void *)m, psz, PROT_NONE));
	CHECK(faults_on_read(m), "a load from a PROT_NONE page did not fault");
	CHECK_SYS(mprotect((void *)m, psz, PROT_READ | PROT_WRITE));
	m[0]++;
	CHECK(m[0] == 2, "back to PROT_READ|PROT_WRITE: expected 2, got %d",
	      m[0]);
	CHECK_SYS(munmap((void *)m, 2 * psz));
	return CASE_PASS;
}

static int mremap_move(void)
{
	long psz = page_size();
	char *m, *n;

	/* Page 4 stays mapped behind pages 0-3, so growing must move. */
	m = mmap(NULL, 5 * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", errno_name(errno));
	fill_pages(m, 0, 5, 1, 2);
	n = mremap(m, 4 * psz, 8 * psz, MREMAP_MAYMOVE);
	CHECK(n != MAP_FAILED, "mremap grow: %s", errno_name(errno));
	CHECK(n != m, "mremap grew in place over a mapped page");
	CHECK_PAGES(n, 0, 4, 1, 2, "moved mapping");
	CHECK(all_zero(n + 4 * psz, 4 * psz), "the grown part is not zero");
	fill_pages(n, 4, 8, 1, 3);
	CHECK(faults_on_read(m), "the old place is still mapped after the move");
	CHECK_PAGES(m, 4, 5, 1, 2, "the page left behind");

	/* Shrinking stays in place and unmaps the tail. */
	CHECK(mremap(n, 8 * psz, 2 * psz, 0) == n, "mremap shrink: %s",
	      errno_name(errno));
	CHECK(faults_on_read(n + 2 * psz), "the shrunk tail is still mapped");
	CHECK_PAGES(n, 0, 2, 1, 2, "shrunk mapping");
	munmap(n, 2 * psz);
	munmap(m + 4 * psz, psz);
	return CASE_PASS;
}

static int brk_sbrk(void)
{
	long psz = page_size(), grow = 1 << 20, i;
	char *start, *old, *top;

	start = sbrk(0);
	old = sbrk(grow);
	CHECK(old != (void *)-1, "sbrk(+1 MiB): %s", errno_name(errno));
	CHECK(old == start, "sbrk returned %p, not the old break %p",
	      (void *)old, (void *)start);
	top = sbrk(0);
	CHECK(top == start + grow, "the break is %p, expected %p", (void *)top,
	      (void *)(start + grow));
	for (i = 0; i < grow; i += psz)
		start[i] = (char)(i / psz + 1);
	start[grow - 1] = 'e';
	for (i = 0; i < grow; i += psz)
		CHECK(start[i] == (char)(i / psz + 1),
		      "the brk area lost its data at +%ld", i);

	CHECK(sbrk(-grow / 2) != (void *)-1, "sbrk(-512 KiB): %s",
	      errno_name(errno));
	CHECK(sbrk(0) == start + grow / 2, "the break did not shrink");
	CHECK(faults_on_read(start + grow - 1),
	      "memory above a shrunk break is still mapped");
	CHECK(start[0] == 1, "memory below the shrunk break lost its data");
	CHECK(sbrk(-grow / 2) != (void *)-1 && sbrk(0) == start,
	      "could not give the rest back");
	return CASE_PASS;
}

static int shared_anon(void)
{
	long psz = page_size(), n = 16;
	char *m;
	pid_t pid;

	m = mmap(NULL, n * psz, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS: %s",
	      errno_name(errno));
	fill_pages(m, 0, n, 1, 4);
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		uint64_t got;
		long bad = bad_page(m, 0, n, 1, 4, &got);

		if (bad >= 0) {
			FAIL("child: shared page %ld holds %#llx", bad,
			     (unsigned long long)got);
			_exit(1);
		}
		fill_pages(m, 0, n, 2, 5);
		_exit(0);
	}
	TRY(wait_exit0(pid, "MAP_SHARED child"));
	CHECK_PAGES(m, 0, n, 2, 5, "the child's stores to MAP_SHARED memory");
	CHECK_PAGES(m, 1, n, 2, 4, "MAP_SHARED pages the child left alone");
	CHECK_SYS(munmap(m, n * psz));
	return CASE_PASS;
}

static int dontneed(void)
{
	long psz = page_size(), n = 16;
	char *m;

	m = mmap(NULL, n * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", errno_name(errno));
	memset(m, 0xab, n * psz);
	CHECK_SYS(madvise(m + psz, 4 * psz, MADV_DONTNEED));
	CHECK(all_zero(m + psz, 4 * psz),
	      "MADV_DONTNEED did not zero private anonymous pages");
	CHECK((unsigned char)m[0] == 0xab && (unsigned char)m[5 * psz] == 0xab,
	      "MADV_DONTNEED touched pages outside its range");
	CHECK_SYS(munmap(m, n * psz));
	return CASE_PASS;
}

int case_memory(void)
{
	TRY(anon_mmap());
	TRY(file_mmap());
	TRY(mprotect_ro());
	TRY(mremap_move());
	TRY(brk_sbrk());
	TRY(shared_anon());
	TRY(dontneed());
	return CASE_PASS;
}

/* --- cow ----------------------------------------------------------------------- */

#define COW_SIZE	(4 << 20)

enum { COW_ORIG = 0x10, COW_CHILD = 0x20, COW_PARENT = 0x30 };

static void cow_child(char *m, long n, int to_parent, int from_parent)
{
	uint64_t got;
	long bad;
	char c;

	bad = bad_page(m, 0, n, 1, COW_ORIG, &got);
	if (bad >= 0) {
		FAIL("child: before any store page %ld holds %#llx", bad,
		     (unsigned long long)got);
		_exit(1);
	}
	fill_pages(m, 0, n, 2, COW_CHILD);
	if (write(to_parent, "1", 1) != 1 || read(from_parent, &c, 1) != 1)
		_exit(1);
	/* The parent has written the odd pages by now: not in our copy. */
	bad = bad_page(m, 0, n, 2, COW_CHILD, &got);
	if (bad < 0)
		bad = bad_page(m, 1, n, 2, COW_ORIG, &got);
	if (bad >= 0) {
		FAIL("child: after both stored, page %ld holds %#llx", bad,
		     (unsigned long long)got);
		_exit(1);
	}
	_exit(0);
}

int case_cow(void)
{
	long n = COW_SIZE / page_size();
	int up[2], down[2];
	char *m, c;
	pid_t pid;

	m = mmap(NULL, COW_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", errno_name(errno));
	fill_pages(m, 0, n, 1, COW_ORIG);
	CHECK_SYS(pipe(up));
	CHECK_SYS(pipe(down));
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0)
		cow_child(m, n, up[1], down[0]);

	CHECK(read(up[0], &c, 1) == 1, "the child died before storing");
	/* The child wrote the even pages: ours must not change. */
	CHECK_PAGES(m, 0, n, 1, COW_ORIG, "parent after the child's stores");
	fill_pages(m, 1, n, 2, COW_PARENT);
	CHECK(write(down[1], "2", 1) == 1, "write: %s", errno_name(errno));
	TRY(wait_exit0(pid, "copy-on-write child"));
	CHECK_PAGES(m, 0, n, 2, COW_ORIG, "parent's even pages at the end");
	CHECK_PAGES(m, 1, n, 2, COW_PARENT, "parent's odd pages at the end");
	/* The pages are ours alone now: a store must not fault or copy back. */
	fill_pages(m, 0, n, 1, COW_PARENT);
	CHECK_PAGES(m, 0, n, 1, COW_PARENT, "parent after the child exited");
	CHECK_SYS(munmap(m, COW_SIZE));
	return CASE_PASS;
}

/* --- big_memory ------------------------------------------------------------------- */

/* MemAvailable from /proc/meminfo in MiB, or sysinfo's free RAM. */
static long available_mb(void)
{
	char line[128];
	long kb = -1;
	struct sysinfo si;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
				break;
		fclose(f);
	}
	if (kb >= 0)
		return kb / 1024;
	if (sysinfo(&si))
		return -1;
	return (long)((unsigned long long)(si.freeram + si.bufferram) *
		      si.mem_unit >> 20);
}

static uint64_t big_tag(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

int case_big_memory(void)
{
	const char *env = getenv("LOL_GUEST_SUITE_BIG_MB");
	long mb = 512, psz = page_size(), npages, avail, i;
	uint64_t rs = 0x5eed5eed, *w;
	double t0, t_touch, t_check;
	uint32_t *order;
	size_t size;
	char *m, *end;

	if (env && *env) {
		mb = strtol(env, &end, 10);
		CHECK(!*end && mb > 0, "bad LOL_GUEST_SUITE_BIG_MB '%s'", env);
	}
	size = (size_t)mb << 20;
	npages = size / psz;
	avail = available_mb();
	if (avail >= 0 && mb + 16 > avail)
		return skip("%ld MiB tried, but only %ld MiB are available (set LOL_GUEST_SUITE_BIG_MB)",
			    mb, avail);

	m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED && errno == ENOMEM)
		return skip("mmap of %ld MiB: ENOMEM (set LOL_GUEST_SUITE_BIG_MB)",
			    mb);
	CHECK(m != MAP_FAILED, "mmap of %ld MiB: %s", mb, errno_name(errno));
	/* One fault per 4 KiB page, as a guest without huge pages has. */
	madvise(m, size, MADV_NOHUGEPAGE);

	order = malloc(npages * sizeof(*order));
	CHECK(order, "malloc of the page order failed");
	for (i = 0; i < npages; i++)
		order[i] = i;
	for (i = npages - 1; i > 0; i--) {
		long j = rng_next(&rs) % (i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	/* A tag at the start of each page and one at a per-page offset. */
	t0 = now_ms();
	for (i = 0; i < npages; i++) {
		uint64_t p = order[i];

		w = (uint64_t *)(m + p * psz);
		w[0] = p;
		w[1 + p % (psz / 8 - 1)] = big_tag(p);
	}
	t_touch = now_ms() - t0;
	t0 = now_ms();
	for (i = 0; i < npages; i++) {
		uint64_t other;

		w = (uint64_t *)(m + i * psz);
		other = w[1 + (i + 1) % (psz / 8 - 1)];
		CHECK(w[0] == (uint64_t)i &&
		      w[1 + i % (psz / 8 - 1)] == big_tag(i),
		      "page %ld of %ld: expected tags %#lx/%#llx, got %#llx/%#llx",
		      i, npages, i, (unsigned long long)big_tag(i),
		      (unsigned long long)w[0],
		      (unsigned long long)w[1 + i % (psz / 8 - 1)]);
		CHECK(other == 0, "page %ld: a word never written holds %#llx", i,
		      (unsigned long long)other);
	}
	t_check = now_ms() - t0;
	info("%ld MiB (%ld pages) touched in random order in %.0f ms, verified in %.0f ms",
	     mb, npages, t_touch, t_check);
	free(order);
	CHECK_SYS(munmap(m, size));
	return CASE_PASS;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * security_test: the points of Documentation/security.md, one test (or a
 * few) each. Most need root, as `make check` runs them: root switches to
 * uid/gid 65534 in children to play the unprivileged monitor, changes the
 * /dev/lol node, the module parameters and vm sysctls and restores them.
 *
 * Fixtures: node (saves and restores /dev/lol's owner and mode), g (one
 * guest, as in run_test), phys (a guest without memory), params (saves and
 * restores the module parameters). Sections, in the order of security.md:
 *
 *   who may use lol       node.*, max_vcpus_read_only
 *   guest AS contents     g.probes, g.no_monitor_registers,
 *                         monitor_ldt_not_in_guest, g.maps_of_guest_thread,
 *                         node.nondumpable_monitor_in_guest
 *   host syscalls         g.every_*syscall_is_an_exit, g.native_*,
 *                         native_obeys_monitor_seccomp,
 *                         native_thread_pointers_stay_guest
 *   other processes       g.passed_fds_are_inert, phys.*, g.phys_file_shrinks
 *   memory                rlimit_as, g.memcg_limits_guest_memory,
 *                         g.memory_freed_after_death
 *   limits                params.*
 *   read once             g.run_page_flips, g.as_ops_flips
 *   bystanders            bystander_*
 *
 * g.native_sud_off_refused and g.nested_run_refused corrupted or oopsed
 * the host kernel before commit b109846: on such a module they end the VM.
 *
 * Guest layout (phys page: gva, prot), as in run_test:
 *   0: CODE_GVA  r-x
 *   1: DATA_GVA  rw-
 *   2: RO_GVA    r--
 *   3: STACK_GVA rw-
 */
#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/ldt.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PAGE		4096UL
#define PHYS_PAGES	8
#define CODE_GVA	0x400000ULL
#define DATA_GVA	0x600000ULL
#define RO_GVA		0x700000ULL
#define STACK_GVA	0x7ff000000ULL
#define OTHER_GVA	0x800000ULL	/* mapped by the other guest only */
#define PHYS_CODE	0
#define PHYS_DATA	1
#define PHYS_RO		2
#define PHYS_STACK	3

#define NOBODY		65534
#define PARAM_DIR	"/sys/module/lol/parameters/"
#define PAT		0x5ec2e75ec2e75ec2ULL

/* ---- guest stubs ----------------------------------------------------------- */

/* rsi = *(rdi); syscall(500) */
LOL_GUEST_ASM(s_read, "mov (%rdi), %rsi\n\tmov $500, %eax\n\tsyscall\n\tud2\n");
/* *(rdi) = 0x5a; syscall(501) */
LOL_GUEST_ASM(s_write, "movq $0x5a, (%rdi)\n\tmov $501, %eax\n\tsyscall\n\tud2\n");
/* syscall with the registers the test set */
LOL_GUEST_ASM(s_syscall, "syscall\n\tud2\n");
LOL_GUEST_ASM(s_int80, "int $0x80\n\tud2\n");
LOL_GUEST_ASM(s_sysenter, "sysenter\n\tud2\n");
/* A syscall (NATIVE in the tests), its result reflected with syscall(500). */
LOL_GUEST_ASM(s_native_call,
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"ud2\n");
/* Writes every page of [rdi, rsi); syscall(500); then spins. */
LOL_GUEST_ASM(s_touch,
	"1: mov %rdi, (%rdi)\n\t"
	"add $4096, %rdi\n\t"
	"cmp %rsi, %rdi\n\t"
	"jb 1b\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"2: jmp 2b\n");
/* Loads LDT selector 7 (index 0, TI, RPL 3) into %fs; syscall(500). */
LOL_GUEST_ASM(s_ldt, "mov $7, %eax\n\tmov %eax, %fs\n\tmov $500, %eax\n\tsyscall\n\tud2\n");

#define PUSH_GPRS							\
	"push %rax\n\tpush %rbx\n\tpush %rcx\n\tpush %rdx\n\t"		\
	"push %rsi\n\tpush %rdi\n\tpush %rbp\n\tpush %r8\n\t"		\
	"push %r9\n\tpush %r10\n\tpush %r11\n\tpush %r12\n\t"		\
	"push %r13\n\tpush %r14\n\tpush %r15\n\t"			\
	"sub $512, %rsp\n\t"						\
	"movdqu %xmm0, 0(%rsp)\n\tmovdqu %xmm1, 16(%rsp)\n\t"		\
	"movdqu %xmm2, 32(%rsp)\n\tmovdqu %xmm3, 48(%rsp)\n\t"		\
	"movdqu %xmm4, 64(%rsp)\n\tmovdqu %xmm5, 80(%rsp)\n\t"		\
	"movdqu %xmm6, 96(%rsp)\n\tmovdqu %xmm7, 112(%rsp)\n\t"		\
	"movdqu %xmm8, 128(%rsp)\n\tmovdqu %xmm9, 144(%rsp)\n\t"	\
	"movdqu %xmm10, 160(%rsp)\n\tmovdqu %xmm11, 176(%rsp)\n\t"	\
	"movdqu %xmm12, 192(%rsp)\n\tmovdqu %xmm13, 208(%rsp)\n\t"	\
	"movdqu %xmm14, 224(%rsp)\n\tmovdqu %xmm15, 240(%rsp)\n\t"

/* Every GPR and xmm register onto the guest stack; syscall(500). */
LOL_GUEST_ASM(s_dump_sse, PUSH_GPRS "mov $500, %eax\n\tsyscall\n\tud2\n");
/* The same plus the upper halves of ymm0-15. */
LOL_GUEST_ASM(s_dump_avx, PUSH_GPRS
	"vextractf128 $1, %ymm0, 256(%rsp)\n\tvextractf128 $1, %ymm1, 272(%rsp)\n\t"
	"vextractf128 $1, %ymm2, 288(%rsp)\n\tvextractf128 $1, %ymm3, 304(%rsp)\n\t"
	"vextractf128 $1, %ymm4, 320(%rsp)\n\tvextractf128 $1, %ymm5, 336(%rsp)\n\t"
	"vextractf128 $1, %ymm6, 352(%rsp)\n\tvextractf128 $1, %ymm7, 368(%rsp)\n\t"
	"vextractf128 $1, %ymm8, 384(%rsp)\n\tvextractf128 $1, %ymm9, 400(%rsp)\n\t"
	"vextractf128 $1, %ymm10, 416(%rsp)\n\tvextractf128 $1, %ymm11, 432(%rsp)\n\t"
	"vextractf128 $1, %ymm12, 448(%rsp)\n\tvextractf128 $1, %ymm13, 464(%rsp)\n\t"
	"vextractf128 $1, %ymm14, 480(%rsp)\n\tvextractf128 $1, %ymm15, 496(%rsp)\n\t"
	"mov $500, %eax\n\tsyscall\n\tud2\n");

/*
 * Nested guest from a NATIVE range (nested_run_refused): with the sys fd in
 * rdi and the ioctl numbers at DATA_GVA + 64.., creates a guest, a vcpu,
 * an AS, maps the run page, runs it; results at DATA_GVA + 128..; then
 * syscall(500), reflected. Everything up to label 9 is NATIVE.
 */
LOL_GUEST_ASM(s_nested,
	"mov %rdi, %r12\n\t"
	"mov $0x600000, %r15\n\t"
	"mov $16, %eax\n\tmov %r12, %rdi\n\tmov 64(%r15), %rsi\n\txor %edx, %edx\n\tsyscall\n\t"
	"mov %rax, 128(%r15)\n\ttest %rax, %rax\n\tjs 9f\n\tmov %rax, %r13\n\t"
	"mov $16, %eax\n\tmov %r13, %rdi\n\tmov 72(%r15), %rsi\n\txor %edx, %edx\n\tsyscall\n\t"
	"mov %rax, 136(%r15)\n\ttest %rax, %rax\n\tjs 9f\n\tmov %rax, %r14\n\t"
	"mov $16, %eax\n\tmov %r13, %rdi\n\tmov 80(%r15), %rsi\n\tmov %r15, %rdx\n\tsyscall\n\t"
	"mov %rax, 144(%r15)\n\ttest %rax, %rax\n\tjnz 9f\n\t"
	"mov $9, %eax\n\txor %edi, %edi\n\tmov $4096, %esi\n\tmov $3, %edx\n\t"
	"mov $1, %r10d\n\tmov %r14, %r8\n\txor %r9d, %r9d\n\tsyscall\n\t"
	"mov %rax, 152(%r15)\n\tcmp $-4096, %rax\n\tja 9f\n\tmov %rax, %rbx\n\t"
	"mov 4(%r15), %ecx\n\tmov %ecx, 4(%rbx)\n\t"
	"mov $16, %eax\n\tmov %r14, %rdi\n\tmov 88(%r15), %rsi\n\txor %edx, %edx\n\tsyscall\n\t"
	"mov %rax, 160(%r15)\n\t"
	"9: nop\n\t"
	"mov $500, %eax\n\tsyscall\n\tud2\n");

/* ---- small helpers ---------------------------------------------------------- */

/* A minimal guest usable outside the harness (children): 0 or -1. */
struct mg {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
};

/*
 * Guest exceptions are host signals to the monitor's thread first: with
 * SIG_DFL the host logs each ("segfault at", "general protection fault",
 * which `make check` takes for a kernel problem). A handler, reset on
 * first use so that a real monitor crash still crashes, keeps the log
 * quiet; lol takes the signal before it would run.
 */
static void quiet_handler(int sig)
{
}

static void quiet_guest_faults(void)
{
	struct sigaction sa = { .sa_handler = quiet_handler,
				.sa_flags = SA_RESETHAND | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

static int mg_create(struct mg *g, size_t phys_pages)
{
	quiet_guest_faults();
	memset(g, 0, sizeof(*g));
	g->vcpu.fd = -1;
	if (lol_vm_create(&g->vm, phys_pages * PAGE))
		return -1;
	if (lol_vm_add_vcpu(&g->vm, 0, &g->vcpu))
		return -1;
	g->run = g->vcpu.run;
	if (lol_vm_new_as(&g->vm, &g->as_id))
		return -1;
	if (lol_vm_map(&g->vm, g->as_id, CODE_GVA, PHYS_CODE * PAGE, PAGE,
		       LOL_PROT_READ | LOL_PROT_EXEC) ||
	    lol_vm_map(&g->vm, g->as_id, DATA_GVA, PHYS_DATA * PAGE, PAGE,
		       LOL_PROT_READ | LOL_PROT_WRITE) ||
	    lol_vm_map(&g->vm, g->as_id, RO_GVA, PHYS_RO * PAGE, PAGE,
		       LOL_PROT_READ) ||
	    lol_vm_map(&g->vm, g->as_id, STACK_GVA, PHYS_STACK * PAGE, PAGE,
		       LOL_PROT_READ | LOL_PROT_WRITE))
		return -1;
	return 0;
}

static void mg_destroy(struct mg *g)
{
	if (g->vcpu.fd > 0)
		lol_vcpu_destroy(&g->vcpu);
	if (g->vm.guest > 0)
		lol_vm_destroy(&g->vm);
	g->vcpu.fd = -1;
	g->vm.guest = -1;
}

/* Copies a stub to CODE_GVA (rest of the page int3) and resets the regs. */
static void mg_load(struct mg *g, const unsigned char *start,
		    const unsigned char *end)
{
	memset(g->vm.phys, 0xcc, PAGE);
	memcpy(g->vm.phys, start, end - start);
	lol_vcpu_set_entry(&g->vcpu, g->as_id, CODE_GVA, STACK_GVA + PAGE);
}
#define MG_LOAD(g, stub)	mg_load(g, stub##_start, stub##_end)

static __u64 *mg_u64(struct mg *g, int page, size_t off)
{
	return (__u64 *)((char *)g->vm.phys + page * PAGE + off);
}

/* NATIVE for [start, end), REFLECT elsewhere; or remove with start == end. */
static int mg_native(struct mg *g, __u64 start, __u64 end)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	if (start != end) {
		t.flags = LOL_RANGES_GUEST;
		t.nr_ranges = 1;
		t.default_action = LOL_RANGE_REFLECT;
		t.ranges[0].start = start;
		t.ranges[0].end = end;
		t.ranges[0].action = LOL_RANGE_NATIVE;
	}
	return lol_set_syscall_ranges(g->vcpu.fd, &t);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	return 0;
}

/* Children report with "# ..." lines (TAP comments) and their exit status. */
#define CHILD_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "# child %d, line %d: ", getpid(), __LINE__); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " (errno %s)\n", lol_errno_name(errno)); \
		_exit(1);						\
	}								\
} while (0)

/* Waits for pid; 0: exited 0, else the status for the log. */
static int wait_child(pid_t pid, int *status)
{
	if (waitpid(pid, status, 0) != pid)
		return -1;
	return WIFEXITED(*status) && WEXITSTATUS(*status) == 0 ? 0 : -1;
}

#define EXPECT_CHILD_OK(pid) do {					\
	int __st;							\
	EXPECT_EQ(0, wait_child(pid, &__st))				\
		TH_LOG("child %s %d", WIFEXITED(__st) ? "exit" : "signal", \
		       WIFEXITED(__st) ? WEXITSTATUS(__st) : WTERMSIG(__st)); \
} while (0)

static long read_long(const char *path)
{
	char buf[64];

	if (lol_read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 0);
}

static long param_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return read_long(path);
}

static bool cmdline_has(const char *word)
{
	char buf[4096] = "";
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strstr(buf, word);
}

static unsigned long kallsyms_addr(const char *sym)
{
	char line[256], name[128], type;
	unsigned long addr, found = 0;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %127s", &addr, &type, name) == 3 &&
		    !strcmp(name, sym))
			found = addr;
	fclose(f);
	return found;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- fixture: one guest, as in run_test ---------------------------------- */

FIXTURE(g) {
	struct mg g;
	struct lol_run *run;
	bool ready;
};

FIXTURE_SETUP(g)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);

	close(sys);
	self->g.vcpu.fd = -1;
	self->g.vm.guest = -1;
	if (!has_run)
		return;
	ASSERT_EQ(0, mg_create(&self->g, PHYS_PAGES))
		TH_LOG("guest setup: %s", strerror(errno));
	self->run = self->g.run;
	self->ready = true;
}

FIXTURE_TEARDOWN(g)
{
	mg_destroy(&self->g);
}

#define REQUIRE_RUN() do {						\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN absent");			\
} while (0)

#define LOAD(stub)	MG_LOAD(&self->g, stub)

#define RUN() ({							\
	int __r = lol_run(self->g.vcpu.fd);				\
	int __e = errno;						\
	ASSERT_EQ(0, __r) {						\
		TH_LOG("LOL_RUN: %s, " LOL_EXIT_FMT,			\
		       lol_errno_name(__e), LOL_EXIT_ARGS(self->run));	\
	}								\
	self->run->exit_reason;						\
})

#define REQUIRE_ROOT() do {						\
	if (geteuid() != 0)						\
		SKIP(return, "needs root");				\
} while (0)

/* ---- device: who may open /dev/lol --------------------------------------- */

FIXTURE(node) {
	struct stat st;
	bool saved;
};

FIXTURE_SETUP(node)
{
	ASSERT_EQ(0, stat(LOL_DEVICE, &self->st))
		TH_LOG("%s: %s", LOL_DEVICE, strerror(errno));
	self->saved = true;
}

FIXTURE_TEARDOWN(node)
{
	if (!self->saved || geteuid() != 0)
		return;
	if (chown(LOL_DEVICE, self->st.st_uid, self->st.st_gid) ||
	    chmod(LOL_DEVICE, self->st.st_mode & 07777))
		TH_LOG("could not restore %s: %s", LOL_DEVICE, strerror(errno));
}

/* The node is a char device, 0660: nothing for "other". */
TEST_F(node, mode)
{
	EXPECT_TRUE(S_ISCHR(self->st.st_mode));
	EXPECT_EQ(0660, self->st.st_mode & 07777)
		TH_LOG("mode %o", self->st.st_mode & 07777);
	EXPECT_EQ(0, self->st.st_mode & 0007);
	TH_LOG("%s: mode %o uid %u gid %u", LOL_DEVICE,
	       self->st.st_mode & 07777, self->st.st_uid, self->st.st_gid);
}

/* A user outside the node's group cannot open it; one inside can. */
TEST_F(node, unprivileged_needs_group)
{
	pid_t pid;

	REQUIRE_ROOT();
	ASSERT_NE(NOBODY, self->st.st_gid) TH_LOG("node already in group %d", NOBODY);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(!become_nobody(), "setuid");
		CHILD_CHECK(open(LOL_DEVICE, O_RDWR) < 0 && errno == EACCES,
			    "O_RDWR open as uid %d", NOBODY);
		CHILD_CHECK(open(LOL_DEVICE, O_RDONLY) < 0 && errno == EACCES,
			    "O_RDONLY open as uid %d", NOBODY);
		CHILD_CHECK(open(LOL_DEVICE, O_WRONLY) < 0 && errno == EACCES,
			    "O_WRONLY open as uid %d", NOBODY);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);

	/* What udev/60-lol.rules does for group "lol", here for 65534. */
	ASSERT_EQ(0, chown(LOL_DEVICE, 0, NOBODY));
	ASSERT_EQ(0, chmod(LOL_DEVICE, 0660));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mg g;

		CHILD_CHECK(!become_nobody(), "setuid");
		CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0,
			    "guest as uid %d in the node's group", NOBODY);
		MG_LOAD(&g, s_syscall);
		lol_ret(g.run) = 39;
		CHILD_CHECK(lol_run(g.vcpu.fd) == 0, "LOL_RUN");
		CHILD_CHECK(g.run->exit_reason == LOL_EXIT_SYSCALL &&
			    g.run->syscall.nr == 39, "exit %u",
			    g.run->exit_reason);
		mg_destroy(&g);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);

	/* Taken back: refused again. */
	ASSERT_EQ(0, chown(LOL_DEVICE, self->st.st_uid, self->st.st_gid));
	ASSERT_EQ(0, chmod(LOL_DEVICE, self->st.st_mode & 07777));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(!become_nobody(), "setuid");
		CHILD_CHECK(open(LOL_DEVICE, O_RDWR) < 0 && errno == EACCES,
			    "open after the grant was removed");
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

/*
 * What the host's mmap rules give an unprivileged monitor: no mapping
 * below vm.mmap_min_addr in a guest AS (a kernel NULL dereference while
 * the thread is in guest mode would read it), and no module parameter.
 */
TEST_F(node, unprivileged_monitor_rules)
{
	long min_addr = read_long("/proc/sys/vm/mmap_min_addr");
	pid_t pid;

	REQUIRE_ROOT();
	if (min_addr <= 0)
		SKIP(return, "vm.mmap_min_addr is %ld", min_addr);
	ASSERT_EQ(0, chown(LOL_DEVICE, 0, NOBODY));
	ASSERT_EQ(0, chmod(LOL_DEVICE, 0660));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		static const char * const params[] = {
			"max_vcpus", "max_guests_per_user", "max_as",
			"max_mappings",
		};
		unsigned long a;
		struct mg g;
		size_t i;
		int r;

		CHILD_CHECK(!become_nobody(), "setuid");
		CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0, "guest");
		for (a = 0; a < (unsigned long)min_addr; a += PAGE) {
			r = lol_vm_map(&g.vm, g.as_id, a, PHYS_DATA * PAGE,
				       PAGE, LOL_PROT_READ | LOL_PROT_WRITE);
			CHILD_CHECK(r == -1 && errno == EPERM,
				    "map at 0x%lx below mmap_min_addr", a);
		}
		CHILD_CHECK(lol_vm_map(&g.vm, g.as_id, min_addr & ~(PAGE - 1),
				       PHYS_DATA * PAGE, PAGE,
				       LOL_PROT_READ) == 0,
			    "map at mmap_min_addr");
		mg_destroy(&g);
		for (i = 0; i < ARRAY_SIZE(params); i++) {
			char path[128];

			snprintf(path, sizeof(path), PARAM_DIR "%s", params[i]);
			CHILD_CHECK(open(path, O_WRONLY) < 0 && errno == EACCES,
				    "%s writable by uid %d", params[i], NOBODY);
		}
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

/* max_vcpus is fixed at load time, even for root. */
TEST(max_vcpus_read_only)
{
	int fd = open(PARAM_DIR "max_vcpus", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		EXPECT_NE(2, write(fd, "1\n", 2));
		close(fd);
	}
	EXPECT_GT(0, fd);
}

/* ---- guest: what a guest AS holds ----------------------------------------- */

static unsigned long monitor_static = PAT;

static void __attribute__((noinline)) monitor_function(void)
{
	__asm__ volatile("" ::: "memory");
}

/*
 * Every address of the monitor, the kernel and another guest, read,
 * written and jumped to from a guest: each ends in a fault or trap exit,
 * never in the syscall that follows the access.
 */
TEST_F(g, probes)
{
	struct mg other;
	volatile __u64 stack_var = PAT;
	__u64 *heap = malloc(64);
	struct {
		const char *what;
		__u64 addr;
	} probes[32];
	int n = 0, i, kind;
	unsigned long a;

	REQUIRE_RUN();
	ASSERT_NE(NULL, heap);
	*heap = PAT;

	/* Another guest of this monitor, its data at OTHER_GVA. */
	ASSERT_EQ(0, mg_create(&other, PHYS_PAGES));
	ASSERT_EQ(0, lol_vm_map(&other.vm, other.as_id, OTHER_GVA,
				PHYS_DATA * PAGE, PAGE,
				LOL_PROT_READ | LOL_PROT_WRITE));
	*mg_u64(&other, PHYS_DATA, 0) = PAT;

#define PROBE(w, a) do { probes[n].what = (w); probes[n].addr = (__u64)(a); n++; } while (0)
	PROBE("monitor code", (unsigned long)&monitor_function);
	PROBE("monitor data", (unsigned long)&monitor_static);
	PROBE("monitor stack", (unsigned long)&stack_var);
	PROBE("monitor heap", (unsigned long)heap);
	PROBE("monitor view of phys memory", (unsigned long)self->g.vm.phys);
	PROBE("run page", (unsigned long)self->run);
	PROBE("other guest's gva", OTHER_GVA);
	PROBE("monitor view of the other guest's phys", (unsigned long)other.vm.phys);
	a = getauxval(AT_SYSINFO_EHDR);
	if (a)
		PROBE("vDSO", a);
	if (cmdline_has("vsyscall=emulate") || cmdline_has("vsyscall=xonly"))
		TH_LOG("vsyscall page emulated on this host: not probed");
	else
		PROBE("vsyscall page", 0xffffffffff600000ULL);
	a = kallsyms_addr("_text");
	PROBE("kernel text", a ? a : 0xffffffff81000000UL);
	a = kallsyms_addr("init_task");
	if (a)
		PROBE("kernel data (init_task)", a);
	PROBE("cpu_entry_area", 0xfffffe0000000000ULL);
	PROBE("direct map base", 0xffff888000000000ULL);
	PROBE("non-canonical", 0x8000000000000000ULL);
	PROBE("top of user space", LOL_TEST_USER_LIMIT);
#undef PROBE

	for (i = 0; i < n; i++) {
		for (kind = 0; kind < 3; kind++) {
			static const char * const kinds[] = { "read", "write", "exec" };
			__u32 x;

			if (kind == 0)
				LOAD(s_read);
			else if (kind == 1)
				LOAD(s_write);
			else
				LOAD(lol_stub_jump);
			lol_arg0(self->run) = probes[i].addr;
			x = RUN();
			EXPECT_TRUE(x == LOL_EXIT_FAULT || x == LOL_EXIT_TRAP)
				TH_LOG("%s %s 0x%llx: " LOL_EXIT_FMT ", rsi 0x%llx",
				       kinds[kind], probes[i].what,
				       (unsigned long long)probes[i].addr,
				       LOL_EXIT_ARGS(self->run),
				       (unsigned long long)lol_arg1(self->run));
			if (x == LOL_EXIT_FAULT)
				EXPECT_EQ(probes[i].addr, self->run->fault.addr)
					TH_LOG("%s %s", kinds[kind], probes[i].what);
		}
	}
	/* The write probes changed nothing. */
	EXPECT_EQ(PAT, monitor_static);
	EXPECT_EQ(PAT, stack_var);
	EXPECT_EQ(PAT, *heap);
	EXPECT_EQ(PAT, *mg_u64(&other, PHYS_DATA, 0));
	mg_destroy(&other);
	free(heap);
}

/* A guest gets none of the monitor's registers: GPRs, xmm, ymm. */
#define MON_GPRS							\
	"movabs $0x1111111111111111, %%rbx\n\t"				\
	"movabs $0x8888888888888888, %%r8\n\t"				\
	"movabs $0x9999999999999999, %%r9\n\t"				\
	"movabs $0xaaaaaaaaaaaaaaaa, %%r10\n\t"				\
	"movabs $0xcccccccccccccccc, %%r12\n\t"				\
	"movabs $0xdddddddddddddddd, %%r13\n\t"				\
	"movabs $0xeeeeeeeeeeeeeeee, %%r14\n\t"				\
	"movabs $0xffffffffffffffff, %%r15\n\t"				\
	"xor %%edx, %%edx\n\t"						\
	"syscall\n\t"

#define MON_CLOBBERS "rcx", "r11", "rbx", "r8", "r9", "r10", "r12", "r13", \
	"r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",	\
	"xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",	\
	"xmm13", "xmm14", "xmm15", "memory"

static long run_dirty_sse(int fd, const void *pat)
{
	register long rax __asm__("rax") = SYS_ioctl;
	register long rdi __asm__("rdi") = fd;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = (long)pat;

	__asm__ volatile(
		"movdqu (%%rdx), %%xmm0\n\tmovdqu (%%rdx), %%xmm1\n\t"
		"movdqu (%%rdx), %%xmm2\n\tmovdqu (%%rdx), %%xmm3\n\t"
		"movdqu (%%rdx), %%xmm4\n\tmovdqu (%%rdx), %%xmm5\n\t"
		"movdqu (%%rdx), %%xmm6\n\tmovdqu (%%rdx), %%xmm7\n\t"
		"movdqu (%%rdx), %%xmm8\n\tmovdqu (%%rdx), %%xmm9\n\t"
		"movdqu (%%rdx), %%xmm10\n\tmovdqu (%%rdx), %%xmm11\n\t"
		"movdqu (%%rdx), %%xmm12\n\tmovdqu (%%rdx), %%xmm13\n\t"
		"movdqu (%%rdx), %%xmm14\n\tmovdqu (%%rdx), %%xmm15\n\t"
		MON_GPRS
		: "+r"(rax), "+r"(rdx) : "r"(rdi), "r"(rsi) : MON_CLOBBERS);
	return rax;
}

static long run_dirty_avx(int fd, const void *pat)
{
	register long rax __asm__("rax") = SYS_ioctl;
	register long rdi __asm__("rdi") = fd;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = (long)pat;

	__asm__ volatile(
		"vmovdqu (%%rdx), %%ymm0\n\tvmovdqu (%%rdx), %%ymm1\n\t"
		"vmovdqu (%%rdx), %%ymm2\n\tvmovdqu (%%rdx), %%ymm3\n\t"
		"vmovdqu (%%rdx), %%ymm4\n\tvmovdqu (%%rdx), %%ymm5\n\t"
		"vmovdqu (%%rdx), %%ymm6\n\tvmovdqu (%%rdx), %%ymm7\n\t"
		"vmovdqu (%%rdx), %%ymm8\n\tvmovdqu (%%rdx), %%ymm9\n\t"
		"vmovdqu (%%rdx), %%ymm10\n\tvmovdqu (%%rdx), %%ymm11\n\t"
		"vmovdqu (%%rdx), %%ymm12\n\tvmovdqu (%%rdx), %%ymm13\n\t"
		"vmovdqu (%%rdx), %%ymm14\n\tvmovdqu (%%rdx), %%ymm15\n\t"
		MON_GPRS
		"vzeroupper\n\t"
		: "+r"(rax), "+r"(rdx) : "r"(rdi), "r"(rsi) : MON_CLOBBERS);
	return rax;
}

TEST_F(g, no_monitor_registers)
{
	static const char * const gpr[] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
		"r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	unsigned char pat[32] __attribute__((aligned(32)));
	bool avx = lol_x86_has_avx();
	unsigned char *top;
	long ret;
	int i;

	REQUIRE_RUN();
	memset(pat, 0xa5, sizeof(pat));
	if (avx)
		LOAD(s_dump_avx);
	else
		LOAD(s_dump_sse);
	memset(mg_u64(&self->g, PHYS_STACK, 0), 0x77, PAGE);
	ret = avx ? run_dirty_avx(self->g.vcpu.fd, pat) :
		    run_dirty_sse(self->g.vcpu.fd, pat);
	ASSERT_EQ(0, ret) TH_LOG("LOL_RUN: %s", lol_errno_name(-ret));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));

	top = (unsigned char *)mg_u64(&self->g, PHYS_STACK, 0) + PAGE;
	for (i = 0; i < 15; i++) {
		__u64 v;

		memcpy(&v, top - 8 * (i + 1), 8);
		EXPECT_EQ(0, v) TH_LOG("guest %s = 0x%llx", gpr[i],
				       (unsigned long long)v);
	}
	for (i = 0; i < (avx ? 32 : 16); i++) {
		unsigned char *x = top - 15 * 8 - 512 + 16 * i;
		static const unsigned char zero[16];

		EXPECT_EQ(0, memcmp(x, zero, 16))
			TH_LOG("guest %s%d %s not zero", i < 16 ? "xmm" : "ymm",
			       i % 16, i < 16 ? "" : "upper half");
	}
	TH_LOG("checked 15 GPRs and %s", avx ? "ymm0-15" : "xmm0-15");
}

/* A monitor's LDT is not in the guest AS: the selector faults there. */
TEST(monitor_ldt_not_in_guest)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct user_desc d;
		unsigned short sel = 7;
		struct mg g;

		memset(&d, 0, sizeof(d));
		d.entry_number = 0;
		d.base_addr = 0;
		d.limit = 0xfffff;
		d.seg_32bit = 1;
		d.limit_in_pages = 1;
		d.useable = 1;
		if (syscall(SYS_modify_ldt, 1, &d, sizeof(d))) {
			fprintf(stderr, "# modify_ldt: %s: not tested\n",
				strerror(errno));
			_exit(0);
		}
		/* The monitor itself can load it. */
		__asm__ volatile("mov %0, %%gs" :: "r"(sel));
		CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0, "guest");
		MG_LOAD(&g, s_ldt);
		CHILD_CHECK(lol_run(g.vcpu.fd) == 0, "LOL_RUN");
		CHILD_CHECK(g.run->exit_reason == LOL_EXIT_TRAP &&
			    g.run->trap.vector == 13,
			    "loading the monitor's LDT selector in the guest: exit %s vector %u",
			    lol_exit_name(g.run->exit_reason), g.run->trap.vector);
		mg_destroy(&g);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

struct spinner {
	int fd;
	pid_t tid;
	volatile int started;
	int ret, err;
};

static void *spin_thread(void *p)
{
	struct spinner *s = p;

	s->tid = gettid();
	s->started = 1;
	/* EBUSY: wait_in_guest()'s LOL_GET_FPU held the vcpu a moment. */
	do {
		s->ret = lol_run(s->fd);
		s->err = errno;
	} while (s->ret && s->err == EBUSY);
	return NULL;
}

/* Waits until vcpu fd is in LOL_RUN (LOL_GET_FPU says EBUSY). */
static bool wait_in_guest(int fd, long fpu_size)
{
	void *buf = calloc(1, fpu_size);
	int i;

	for (i = 0; i < 1000; i++) {
		if (lol_get_fpu(fd, buf, fpu_size) && errno == EBUSY)
			break;
		usleep(5000);
	}
	free(buf);
	return i < 1000;
}

/*
 * /proc/<tid>/maps of a thread in guest mode shows the guest AS: only
 * lol's chunks, which cover what the monitor mapped there (and the
 * vsyscall gate where the host emulates it).
 */
TEST_F_TIMEOUT(g, maps_of_guest_thread, 60)
{
	static const unsigned long want[] = {
		CODE_GVA, DATA_GVA, RO_GVA, STACK_GVA,
	};
	struct spinner s = { .fd = self->g.vcpu.fd };
	char path[64], line[512];
	int lines = 0, bad = 0, covered = 0;
	long fpu;
	pthread_t t;
	size_t i;
	FILE *f;

	REQUIRE_RUN();
	fpu = LOL_REQUIRE_CAP(self->g.vm.sys, LOL_CAP_FPU);
	LOL_REQUIRE_CAP(self->g.vm.sys, LOL_CAP_KICK);
	LOAD(lol_stub_spin);
	ASSERT_EQ(0, pthread_create(&t, NULL, spin_thread, &s));
	ASSERT_TRUE(wait_in_guest(self->g.vcpu.fd, fpu));

	snprintf(path, sizeof(path), "/proc/self/task/%d/maps", s.tid);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		lines++;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (strstr(line, "[vsyscall]"))
			continue;
		if (!strstr(line, "[lol-as]")) {
			bad++;
			TH_LOG("guest AS holds: %s", line);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(want); i++)
			covered += want[i] >= lo && want[i] < hi;
	}
	fclose(f);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(ARRAY_SIZE(want), covered);
	EXPECT_LE(1, lines) TH_LOG("%d lines in %s", lines, path);

	ASSERT_EQ(0, lol_kick(self->g.vcpu.fd));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, s.ret) TH_LOG("LOL_RUN: %s", lol_errno_name(s.err));
	EXPECT_EQ(LOL_EXIT_KICK, self->run->exit_reason);
}

/*
 * ptrace's dumpability check looks at the thread's mm, which in guest
 * mode is the guest AS. A monitor that made itself non-dumpable (to keep
 * same-uid processes out) must stay non-ptraceable while a thread runs a
 * guest. The AS is created before PR_SET_DUMPABLE(0), as a monitor that
 * drops dumpability after setup would.
 */
static unsigned long monitor_secret = PAT;

TEST_F_TIMEOUT(node, nondumpable_monitor_in_guest, 60)
{
	int scope = read_long("/proc/sys/kernel/yama/ptrace_scope");
	pid_t pid;

	REQUIRE_ROOT();
	if (scope >= 2)
		SKIP(return, "yama ptrace_scope %d: no ptrace for users", scope);
	ASSERT_EQ(0, chown(LOL_DEVICE, 0, NOBODY));
	ASSERT_EQ(0, chmod(LOL_DEVICE, 0660));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The attacker: same uid, no capabilities, ancestor (yama 1). */
		int p[2], st, i, attached = 0;
		pid_t mon;
		char c;

		CHILD_CHECK(!become_nobody(), "setuid");
		/* Sanity: a dumpable same-uid process can be attached. */
		mon = fork();
		CHILD_CHECK(mon >= 0, "fork");
		if (mon == 0) {
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			for (;;)
				pause();
		}
		usleep(100 * 1000);
		if (ptrace(PTRACE_SEIZE, mon, 0, 0)) {
			fprintf(stderr, "# ptrace of a dumpable same-uid child: %s: not tested\n",
				strerror(errno));
			kill(mon, SIGKILL);
			_exit(0);
		}
		kill(mon, SIGKILL);
		waitpid(mon, &st, __WALL);

		CHILD_CHECK(!pipe(p), "pipe");
		mon = fork();
		CHILD_CHECK(mon >= 0, "fork");
		if (mon == 0) {
			struct mg g;

			close(p[0]);
			/* Dumpable during setup (setuid made it not), then not. */
			CHILD_CHECK(!prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable");
			CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0, "guest");
			MG_LOAD(&g, lol_stub_spin);
			CHILD_CHECK(!prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable");
			monitor_secret = ~PAT;
			CHILD_CHECK(write(p[1], "x", 1) == 1, "pipe");
			/* Spins in the guest until killed. */
			lol_run(g.vcpu.fd);
			_exit(0);
		}
		close(p[1]);
		CHILD_CHECK(read(p[0], &c, 1) == 1, "monitor setup");
		/* The monitor is non-dumpable: refused before it enters... */
		for (i = 0; i < 200 && !attached; i++) {
			if (ptrace(PTRACE_SEIZE, mon, 0, 0) == 0) {
				struct user_regs_struct regs;
				long v, r;

				attached = 1;
				ptrace(PTRACE_INTERRUPT, mon, 0, 0);
				waitpid(mon, &st, __WALL);
				errno = 0;
				v = ptrace(PTRACE_PEEKDATA, mon, &monitor_secret, 0);
				fprintf(stderr, "# attached to the non-dumpable monitor %d after %d tries;"
					" PEEKDATA of its memory: 0x%lx (%s)\n", mon, i, v,
					errno ? strerror(errno) : "read");
				r = ptrace(PTRACE_GETREGS, mon, 0, &regs);
				fprintf(stderr, "# PTRACE_GETREGS of the stopped monitor: %s, rip 0x%llx"
					" (SETREGS would redirect it)\n", r ? strerror(errno) : "ok",
					(unsigned long long)regs.rip);
				break;
			}
			CHILD_CHECK(errno == EPERM, "PTRACE_SEIZE");
			usleep(5000);
		}
		kill(mon, SIGKILL);
		waitpid(mon, &st, __WALL);
		CHILD_CHECK(!attached, "same-uid ptrace of a non-dumpable monitor in guest mode");
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

/* ---- syscall: no host syscall outside a NATIVE range --------------------- */

struct canary {
	char path[128], moved[128], created[128];
	int fd;
	int pipe[2];
	pid_t victim;
	int victim_pidfd;
	struct utsname uts;
	long cad;
	uid_t uid;
};

static int canary_setup(struct canary *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "/tmp/lol-sec-canary-%d", getpid());
	snprintf(c->moved, sizeof(c->moved), "/tmp/lol-sec-moved-%d", getpid());
	snprintf(c->created, sizeof(c->created), "/tmp/lol-sec-new-%d", getpid());
	unlink(c->moved);
	unlink(c->created);
	rmdir(c->created);
	c->fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (c->fd < 0 || write(c->fd, "canary\n", 7) != 7)
		return -1;
	if (pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC))
		return -1;
	c->victim = fork();
	if (c->victim < 0)
		return -1;
	if (c->victim == 0) {
		for (;;)
			pause();
	}
	c->victim_pidfd = syscall(SYS_pidfd_open, c->victim, 0);
	uname(&c->uts);
	c->cad = read_long("/proc/sys/kernel/ctrl-alt-del");
	c->uid = syscall(SYS_getuid);
	return 0;
}

/* Whether anything a guest syscall could have done happened. */
static int canary_check(struct canary *c, char *why, size_t len)
{
	struct utsname uts;
	struct stat st;
	char buf[16];
	int status;

	if (stat(c->path, &st) || st.st_size != 7 || (st.st_mode & 07777) != 0640)
		return snprintf(why, len, "canary file changed or gone");
	if (!access(c->moved, F_OK) || !access(c->created, F_OK))
		return snprintf(why, len, "a file was created");
	if (fcntl(c->fd, F_GETFD) < 0)
		return snprintf(why, len, "an fd was closed");
	if (read(c->pipe[0], buf, sizeof(buf)) >= 0)
		return snprintf(why, len, "the pipe was written");
	if (kill(c->victim, 0) || waitpid(c->victim, &status, WNOHANG) != 0)
		return snprintf(why, len, "the victim process was killed");
	uname(&uts);
	if (strcmp(uts.nodename, c->uts.nodename))
		return snprintf(why, len, "the hostname changed");
	if (read_long("/proc/sys/kernel/ctrl-alt-del") != c->cad)
		return snprintf(why, len, "ctrl-alt-del changed");
	if ((uid_t)syscall(SYS_getuid) != c->uid)
		return snprintf(why, len, "the thread's uid changed");
	return 0;
}

static void canary_teardown(struct canary *c)
{
	if (c->victim > 0) {
		kill(c->victim, SIGKILL);
		waitpid(c->victim, NULL, 0);
	}
	close(c->victim_pidfd);
	close(c->pipe[0]);
	close(c->pipe[1]);
	close(c->fd);
	unlink(c->path);
	unlink(c->moved);
	unlink(c->created);
	rmdir(c->created);
}

/*
 * Arguments for nr that would have a visible effect if it ran on the
 * host; strings live in guest memory (a NATIVE syscall reads the guest
 * AS), at DATA_GVA: path, + 128 moved, + 256 created, + 384 "pwned".
 */
static void effect_args(struct canary *c, bool compat, __u64 nr, __u64 a[6])
{
	const __u64 path = DATA_GVA, moved = DATA_GVA + 128,
		    created = DATA_GVA + 256, name = DATA_GVA + 384;

	a[0] = c->pipe[1];
	a[1] = DATA_GVA;
	a[2] = 8;
	a[3] = a[4] = a[5] = 0;
#define A(x0, x1, x2, x3) do { a[0] = (x0); a[1] = (x1); a[2] = (x2); a[3] = (x3); } while (0)
	if (!compat) {
		switch (nr) {
		case SYS_kill: case SYS_tkill: A(c->victim, SIGKILL, 0, 0); break;
		case SYS_tgkill: A(c->victim, c->victim, SIGKILL, 0); break;
		case SYS_pidfd_send_signal: A(c->victim_pidfd, SIGKILL, 0, 0); break;
		case SYS_unlink: case SYS_rmdir: A(path, 0, 0, 0); break;
		case SYS_truncate: case SYS_chmod: A(path, 0, 0, 0); break;
		case SYS_unlinkat: A(AT_FDCWD, path, 0, 0); break;
		case SYS_fchmodat: A(AT_FDCWD, path, 0, 0); break;
		case SYS_rename: case SYS_link: case SYS_symlink: A(path, moved, 0, 0); break;
		case SYS_renameat: case SYS_renameat2: case SYS_linkat:
			A(AT_FDCWD, path, AT_FDCWD, moved); break;
		case SYS_open: A(created, O_CREAT | O_WRONLY, 0600, 0); break;
		case SYS_creat: case SYS_mkdir: A(created, 0700, 0, 0); break;
		case SYS_openat: case SYS_mkdirat:
			A(AT_FDCWD, created, O_CREAT | O_WRONLY, 0600); break;
		case SYS_mknod: A(created, S_IFREG | 0600, 0, 0); break;
		case SYS_close: case SYS_fchmod: case SYS_ftruncate: A(c->fd, 0, 0, 0); break;
		case SYS_sethostname: A(name, 5, 0, 0); break;
		case SYS_reboot: A(0xfee1dead, 672274793, 0 /* CAD_OFF */, 0); break;
		case SYS_setuid: case SYS_setgid: A(NOBODY, 0, 0, 0); break;
		case SYS_setresuid: case SYS_setreuid: A(NOBODY, NOBODY, NOBODY, 0); break;
		case SYS_exit: case SYS_exit_group: A(0, 0, 0, 0); break;
		}
	} else {
		/* i386 numbers */
		switch (nr) {
		case 37: case 238: A(c->victim, SIGKILL, 0, 0); break;		/* kill, tkill */
		case 270: A(c->victim, c->victim, SIGKILL, 0); break;		/* tgkill */
		case 10: case 40: case 92: case 15: A(path, 0, 0, 0); break;	/* unlink rmdir truncate chmod */
		case 38: case 9: case 83: A(path, moved, 0, 0); break;		/* rename link symlink */
		case 5: A(created, O_CREAT | O_WRONLY, 0600, 0); break;		/* open */
		case 8: case 39: A(created, 0700, 0, 0); break;			/* creat mkdir */
		case 6: case 94: case 93: A(c->fd, 0, 0, 0); break;		/* close fchmod ftruncate */
		case 74: A(name, 5, 0, 0); break;				/* sethostname */
		case 88: A(0xfee1dead, 672274793, 0, 0); break;		/* reboot */
		case 23: case 213: case 46: case 214: A(NOBODY, 0, 0, 0); break; /* set[ug]id(32) */
		case 164: case 208: A(NOBODY, NOBODY, NOBODY, 0); break;	/* setresuid(32) */
		case 1: case 252: A(0, 0, 0, 0); break;				/* exit, exit_group */
		}
	}
#undef A
}

static void guest_strings(struct mg *g, struct canary *c)
{
	char *d = (char *)g->vm.phys + PHYS_DATA * PAGE;

	strcpy(d, c->path);
	strcpy(d + 128, c->moved);
	strcpy(d + 256, c->created);
	strcpy(d + 384, "pwned");
}

/*
 * Every syscall number, with arguments that would show if it ran, from a
 * guest without a syscall table: each is an exit, rax still holds the
 * number (it did not run), and nothing happened on the host.
 */
TEST_F_TIMEOUT(g, every_syscall_is_an_exit, 120)
{
	static const __u64 extra[] = {
		512, 547, 1000, 0x40000000ULL | SYS_getpid,
		0x40000000ULL | SYS_kill, (1ULL << 32) | SYS_kill,
		0xffffffffULL, 0x7fffffffffffffffULL, ~0ULL,
	};
	struct canary c;
	char why[128];
	__u64 nr, a[6];
	size_t n = 0;
	size_t i;

	REQUIRE_RUN();
	ASSERT_EQ(0, canary_setup(&c));
	guest_strings(&self->g, &c);
	for (i = 0; i < 600 + ARRAY_SIZE(extra); i++) {
		nr = i < 600 ? i : extra[i - 600];
		LOAD(s_syscall);
		effect_args(&c, false, nr, a);
		lol_ret(self->run) = nr;
		lol_arg0(self->run) = a[0];
		lol_arg1(self->run) = a[1];
		lol_arg2(self->run) = a[2];
		self->run->regs.r10 = a[3];
		self->run->regs.r8 = a[4];
		self->run->regs.r9 = a[5];
		ASSERT_EQ(LOL_EXIT_SYSCALL, RUN()) TH_LOG("nr %llu", (unsigned long long)nr);
		EXPECT_EQ(nr, self->run->syscall.nr);
		EXPECT_EQ(nr, lol_ret(self->run)) TH_LOG("nr %llu ran: rax %lld",
			  (unsigned long long)nr, (long long)lol_ret(self->run));
		EXPECT_EQ(CODE_GVA, self->run->syscall.ip);
		EXPECT_EQ(0, self->run->syscall.flags);
		EXPECT_EQ(a[0], self->run->syscall.args[0]);
		if (canary_check(&c, why, sizeof(why))) {
			EXPECT_TRUE(false) TH_LOG("after nr %llu: %s",
						  (unsigned long long)nr, why);
			break;
		}
		n++;
	}
	TH_LOG("%zu syscall numbers, all exits, none ran", n);
	canary_teardown(&c);
}

/* The same through int $0x80 (the i386 ABI) and sysenter. */
TEST_F_TIMEOUT(g, every_compat_syscall_is_an_exit, 120)
{
	struct canary c;
	char why[128];
	__u64 nr, a[6];
	__u32 x;

	REQUIRE_RUN();
	ASSERT_EQ(0, canary_setup(&c));
	guest_strings(&self->g, &c);
	for (nr = 0; nr < 600; nr++) {
		LOAD(s_int80);
		effect_args(&c, true, nr, a);
		lol_ret(self->run) = nr;
		self->run->regs.rbx = a[0];
		self->run->regs.rcx = a[1];
		lol_arg2(self->run) = a[2];
		lol_arg1(self->run) = a[3];
		lol_arg0(self->run) = a[4];
		self->run->regs.rbp = a[5];
		ASSERT_EQ(LOL_EXIT_SYSCALL, RUN()) TH_LOG("nr %llu", (unsigned long long)nr);
		EXPECT_EQ(nr, self->run->syscall.nr);
		EXPECT_EQ(nr, lol_ret(self->run));
		EXPECT_EQ(LOL_SYSCALL_COMPAT, self->run->syscall.flags);
		EXPECT_EQ((__u32)a[0], self->run->syscall.args[0]);
		if (canary_check(&c, why, sizeof(why))) {
			EXPECT_TRUE(false) TH_LOG("after int80 nr %llu: %s",
						  (unsigned long long)nr, why);
			break;
		}
	}

	/* sysenter: #UD on AMD, a compat syscall on Intel; never run. */
	LOAD(s_sysenter);
	effect_args(&c, true, 37, a);
	lol_ret(self->run) = 37;
	self->run->regs.rbx = a[0];
	self->run->regs.rcx = a[1];
	x = RUN();
	EXPECT_TRUE(x == LOL_EXIT_TRAP || x == LOL_EXIT_FAULT ||
		    (x == LOL_EXIT_SYSCALL &&
		     self->run->syscall.flags == LOL_SYSCALL_COMPAT))
		TH_LOG("sysenter: " LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	TH_LOG("sysenter: %s", lol_exit_name(x));
	EXPECT_EQ(0, canary_check(&c, why, sizeof(why))) TH_LOG("%s", why);
	canary_teardown(&c);
}

/* A NATIVE range is exactly its bytes; the never-NATIVE syscalls exit. */
TEST_F(g, native_range_bounds)
{
	static const __u64 never[] = {
		SYS_clone, SYS_clone3, SYS_fork, SYS_vfork, SYS_execve,
		SYS_execveat,
	};
	size_t i;

	REQUIRE_RUN();
	/* The range covers the first syscall instruction only. */
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA, CODE_GVA + 2));
	LOAD(s_native_call);
	lol_ret(self->run) = SYS_getpid;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	EXPECT_EQ(500, self->run->syscall.nr);
	EXPECT_EQ(getpid(), (pid_t)self->run->syscall.args[0]);

	/* A range starting one byte later does not cover it. */
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA + 1, CODE_GVA + 2));
	LOAD(s_native_call);
	lol_ret(self->run) = SYS_getpid;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	EXPECT_EQ(SYS_getpid, self->run->syscall.nr);
	EXPECT_EQ(CODE_GVA, self->run->syscall.ip);
	/* ... nor one ending at it. */
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA - PAGE, CODE_GVA));
	LOAD(s_native_call);
	lol_ret(self->run) = SYS_getpid;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	EXPECT_EQ(SYS_getpid, self->run->syscall.nr);

	/* In a NATIVE range: the mm-copying syscalls and int $0x80 exit. */
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA, CODE_GVA + PAGE));
	for (i = 0; i < ARRAY_SIZE(never); i++) {
		LOAD(s_native_call);
		lol_ret(self->run) = never[i];
		lol_arg0(self->run) = SIGCHLD;
		ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
		EXPECT_EQ(never[i], self->run->syscall.nr);
		EXPECT_EQ(CODE_GVA, self->run->syscall.ip);
	}
	LOAD(s_int80);
	lol_ret(self->run) = 20;	/* i386 getpid */
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	EXPECT_EQ(20, self->run->syscall.nr);
	EXPECT_EQ(LOL_SYSCALL_COMPAT, self->run->syscall.flags);
}

/*
 * From guest mode, even NATIVE, a thread cannot drive lol: not its own
 * guest, and not a new one through the monitor's /dev/lol fd (a nested
 * LOL_RUN would save the outer guest's state as the monitor's).
 */
TEST_F(g, native_cannot_drive_lol)
{
	struct {
		const char *what;
		__u64 nr, a0, a1, a2, a3, a4;
	} calls[] = {
		{ "LOL_CREATE_GUEST", SYS_ioctl, self->g.vm.sys, LOL_CREATE_GUEST, 0 },
		{ "LOL_CHECK_EXTENSION", SYS_ioctl, self->g.vm.sys,
		  LOL_CHECK_EXTENSION, LOL_CAP_RUN },
		{ "LOL_RUN", SYS_ioctl, self->g.vcpu.fd, LOL_RUN, 0 },
		{ "LOL_KICK", SYS_ioctl, self->g.vcpu.fd, LOL_KICK, 0 },
		{ "LOL_CREATE_VCPU", SYS_ioctl, self->g.vm.guest, LOL_CREATE_VCPU, 7 },
		{ "LOL_CREATE_AS", SYS_ioctl, self->g.vm.guest, LOL_CREATE_AS, DATA_GVA },
		{ "LOL_AS_OPS", SYS_ioctl, self->g.vm.guest, LOL_AS_OPS, DATA_GVA },
		{ "LOL_SET_SYSCALL_RANGES", SYS_ioctl, self->g.vcpu.fd,
		  LOL_SET_SYSCALL_RANGES, DATA_GVA },
		{ "mmap of the run page", SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE,
		  MAP_SHARED, self->g.vcpu.fd },
	};
	size_t i;

	REQUIRE_RUN();
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA, CODE_GVA + 2));
	for (i = 0; i < ARRAY_SIZE(calls); i++) {
		long r;

		LOAD(s_native_call);
		memset(mg_u64(&self->g, PHYS_DATA, 0), 0, PAGE);
		lol_ret(self->run) = calls[i].nr;
		lol_arg0(self->run) = calls[i].a0;
		lol_arg1(self->run) = calls[i].a1;
		lol_arg2(self->run) = calls[i].a2;
		self->run->regs.r10 = calls[i].a3;
		self->run->regs.r8 = calls[i].a4;
		ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
		ASSERT_EQ(500, self->run->syscall.nr);
		r = self->run->syscall.args[0];
		EXPECT_TRUE(r == -EPERM || r == -EIO)
			TH_LOG("%s from guest mode: %ld", calls[i].what, r);
	}
}

/* The monitor's seccomp filter applies to its guest's NATIVE syscalls. */
TEST(native_obeys_monitor_seccomp)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };
		struct mg g;

		CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0, "guest");
		CHILD_CHECK(mg_native(&g, CODE_GVA, CODE_GVA + 2) == 0, "ranges");
		CHILD_CHECK(!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "nnp");
		CHILD_CHECK(!prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog),
			    "seccomp");
		MG_LOAD(&g, s_native_call);
		lol_ret(g.run) = SYS_getppid;
		CHILD_CHECK(lol_run(g.vcpu.fd) == 0, "LOL_RUN");
		CHILD_CHECK(g.run->exit_reason == LOL_EXIT_SYSCALL &&
			    g.run->syscall.nr == 500, "exit");
		CHILD_CHECK((long)g.run->syscall.args[0] == -EPERM,
			    "NATIVE getppid under the monitor's filter returned %lld",
			    (long long)g.run->syscall.args[0]);
		MG_LOAD(&g, s_native_call);
		lol_ret(g.run) = SYS_getpid;
		CHILD_CHECK(lol_run(g.vcpu.fd) == 0 &&
			    (pid_t)g.run->syscall.args[0] == getpid(),
			    "NATIVE getpid");
		mg_destroy(&g);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

/*
 * A NATIVE set_tid_address() from the guest must not become the monitor
 * thread's clear_child_tid: the kernel would write 0 there (in the
 * monitor's AS) when the thread exits. (lol reflects it since b109846.)
 */
static volatile __u32 tid_target = 0xffffffff;

struct tid_runner {
	struct mg *g;
	volatile int done;
	int ok;
};

static void *tid_thread(void *p)
{
	struct tid_runner *r = p;

	MG_LOAD(r->g, s_native_call);
	lol_ret(r->g->run) = SYS_set_tid_address;
	lol_arg0(r->g->run) = (unsigned long)&tid_target;
	/* Reflected (it exits as itself), or run: then syscall(500). */
	r->ok = lol_run(r->g->vcpu.fd) == 0 &&
		r->g->run->exit_reason == LOL_EXIT_SYSCALL &&
		(r->g->run->syscall.nr == 500 ||
		 r->g->run->syscall.nr == SYS_set_tid_address);
	r->done = 1;
	/* The thread exits here: the kernel clears its clear_child_tid. */
	return NULL;
}

TEST(native_thread_pointers_stay_guest)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct tid_runner r;
		struct mg g;
		pthread_t t;
		int i;

		CHILD_CHECK(mg_create(&g, PHYS_PAGES) == 0, "guest");
		CHILD_CHECK(mg_native(&g, CODE_GVA, CODE_GVA + 2) == 0, "ranges");
		memset(&r, 0, sizeof(r));
		r.g = &g;
		CHILD_CHECK(!pthread_create(&t, NULL, tid_thread, &r), "thread");
		pthread_detach(t);
		for (i = 0; i < 200 && !r.done; i++)
			usleep(5000);
		CHILD_CHECK(r.done && r.ok, "guest run");
		usleep(200 * 1000);	/* the thread has exited by now */
		CHILD_CHECK(tid_target == 0xffffffff,
			    "monitor memory at %p written at thread exit (0x%x): "
			    "the guest's set_tid_address() stayed", &tid_target,
			    tid_target);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	return 0;
}

/*
 * Guest and vcpu fds handed to another process (SCM_RIGHTS; its inherited
 * copies closed first) drive nothing there: a guest belongs to the
 * process that created it.
 */
TEST_F(g, passed_fds_are_inert)
{
	int sv[2], fds[2] = { self->g.vm.guest, self->g.vcpu.fd };
	pid_t pid;

	REQUIRE_RUN();
	ASSERT_SYSCALL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct lol_create_as ca;
		int got[2];
		void *p;

		close(sv[0]);
		/* Drop the inherited copies: only the received ones count. */
		close(fds[0]);
		close(fds[1]);
		CHILD_CHECK(!recv_fds(sv[1], got, 2), "recvmsg");
		memset(&ca, 0, sizeof(ca));
		CHILD_CHECK(ioctl(got[0], LOL_CREATE_AS, &ca) == -1 && errno == EIO,
			    "LOL_CREATE_AS in another process");
		CHILD_CHECK(ioctl(got[0], LOL_CREATE_VCPU, 9) == -1 && errno == EIO,
			    "LOL_CREATE_VCPU in another process");
		CHILD_CHECK(ioctl(got[1], LOL_RUN, 0) == -1 && errno == EIO,
			    "LOL_RUN in another process");
		CHILD_CHECK(ioctl(got[1], LOL_KICK, 0) == -1 && errno == EIO,
			    "LOL_KICK in another process");
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, got[1], 0);
		CHILD_CHECK(p == MAP_FAILED && errno == EIO,
			    "run page mapped in another process");
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fds(sv[0], fds, 2));
	EXPECT_CHILD_OK(pid);
	close(sv[0]);
	/* Still the creator's. */
	LOAD(s_syscall);
	lol_ret(self->run) = 39;
	EXPECT_EQ(LOL_EXIT_SYSCALL, RUN());
}

/* ---- phys: what a monitor may hand lol as guest memory ------------------- */

FIXTURE(phys) {
	int sys, guest;
	bool ready;
};

FIXTURE_SETUP(phys)
{
	self->sys = lol_open_sys();
	self->guest = -1;
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		return;
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->ready = true;
}

FIXTURE_TEARDOWN(phys)
{
	if (self->guest >= 0)
		close(self->guest);
	close(self->sys);
}

static int set_phys(int guest, int fd, __u64 size)
{
	return lol_set_phys_memory(guest, fd, size);
}

/* Only regular, mmap-able files opened for reading. */
TEST_F(phys, file_types)
{
	int sv[2], p[2], fd, memfd, opath, wronly, child_mem;
	char path[64];
	pid_t child;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");
	memfd = ASSERT_SYSCALL(memfd_create("lol-sec", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(memfd, 4 * PAGE));

	fd = ASSERT_SYSCALL(open("/proc/self/mem", O_RDWR | O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, fd, PAGE));
	close(fd);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		for (;;)
			pause();
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", child);
	child_mem = ASSERT_SYSCALL(open(path, O_RDWR | O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, child_mem, PAGE));
	close(child_mem);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	fd = ASSERT_SYSCALL(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, fd, PAGE));
	close(fd);
	ASSERT_SYSCALL(pipe2(p, O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, p[0], PAGE));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, p[1], PAGE));
	close(p[0]);
	close(p[1]);
	ASSERT_SYSCALL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, sv[0], PAGE));
	close(sv[0]);
	close(sv[1]);
	fd = ASSERT_SYSCALL(eventfd(0, EFD_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, fd, PAGE));
	close(fd);
	fd = ASSERT_SYSCALL(open("/dev/zero", O_RDWR | O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, fd, PAGE));
	close(fd);
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, self->sys, PAGE));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, self->guest, PAGE));
	fd = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, fd, PAGE));
	close(fd);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	opath = ASSERT_SYSCALL(open(path, O_PATH | O_CLOEXEC));
	EXPECT_ERRNO(EBADF, set_phys(self->guest, opath, PAGE));
	close(opath);
	wronly = ASSERT_SYSCALL(open(path, O_WRONLY | O_CLOEXEC));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, wronly, PAGE));
	close(wronly);
	EXPECT_ERRNO(EBADF, set_phys(self->guest, -1, PAGE));
	EXPECT_ERRNO(EBADF, set_phys(self->guest, 1000000, PAGE));
	EXPECT_ERRNO(EINVAL, set_phys(self->guest, memfd, 5 * PAGE));

	EXPECT_EQ(0, set_phys(self->guest, memfd, 4 * PAGE));
	close(memfd);
}

/*
 * A file the monitor may only read stays read-only: no writable
 * mapping (EACCES), also not by PROTECT, and guest writes fault.
 */
TEST_F(phys, read_only_file)
{
	struct lol_vm vm = { .sys = -1, .memfd = -1 };
	struct lol_vcpu vcpu;
	char path[64], buf[8];
	int memfd, ro;
	__u32 as;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");
	memfd = ASSERT_SYSCALL(memfd_create("lol-sec", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(memfd, 4 * PAGE));
	ASSERT_EQ(8, pwrite(memfd, "original", 8, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	ro = ASSERT_SYSCALL(open(path, O_RDONLY | O_CLOEXEC));
	ASSERT_EQ(0, set_phys(self->guest, ro, 4 * PAGE));
	ASSERT_EQ(0, lol_create_as(self->guest, &as));

	EXPECT_ERRNO(EACCES, lol_as_map(self->guest, as, DATA_GVA, PAGE, 0,
					LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_ERRNO(EACCES, lol_as_map(self->guest, as, DATA_GVA, PAGE, 0,
					LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_as_map(self->guest, as, DATA_GVA, PAGE, 0, LOL_PROT_READ));
	EXPECT_ERRNO(EACCES, lol_as_protect(self->guest, as, DATA_GVA, PAGE,
					    LOL_PROT_READ | LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_as_map(self->guest, as, CODE_GVA, PAGE, PAGE,
				LOL_PROT_READ | LOL_PROT_EXEC));

	/* The guest reads it, and cannot write it. */
	vm.guest = self->guest;
	vm.run_size = lol_get_vcpu_mmap_size(self->sys);
	ASSERT_EQ(0, lol_vm_add_vcpu(&vm, 0, &vcpu));
	ASSERT_EQ((ssize_t)LOL_GUEST_SIZE(s_write),
		  pwrite(memfd, s_write_start, LOL_GUEST_SIZE(s_write), PAGE));
	lol_vcpu_set_entry(&vcpu, as, CODE_GVA, 0);
	lol_arg0(vcpu.run) = DATA_GVA;
	ASSERT_EQ(0, lol_run(vcpu.fd));
	EXPECT_EQ(LOL_EXIT_FAULT, vcpu.run->exit_reason);
	EXPECT_EQ(LOL_FAULT_WRITE, vcpu.run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT, vcpu.run->fault.flags & LOL_FAULT_PRESENT);
	ASSERT_EQ(8, pread(memfd, buf, 8, 0));
	EXPECT_EQ(0, memcmp(buf, "original", 8));
	lol_vcpu_destroy(&vcpu);
	close(ro);
	close(memfd);
}

/* Seals are the host's: no writable mapping of a write-sealed memfd. */
TEST_F(phys, sealed_memfd)
{
	int memfd;
	__u32 as;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");
	memfd = ASSERT_SYSCALL(memfd_create("lol-sec", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	ASSERT_SYSCALL(ftruncate(memfd, 4 * PAGE));
	ASSERT_SYSCALL(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
			     F_SEAL_GROW | F_SEAL_SEAL));
	ASSERT_EQ(0, set_phys(self->guest, memfd, 4 * PAGE));
	ASSERT_EQ(0, lol_create_as(self->guest, &as));
	EXPECT_ERRNO(EPERM, lol_as_map(self->guest, as, DATA_GVA, PAGE, 0,
				       LOL_PROT_READ | LOL_PROT_WRITE));
	/* Read-only shared maps of it: the host kernel's call. */
	if (lol_as_map(self->guest, as, DATA_GVA, PAGE, 0, LOL_PROT_READ))
		TH_LOG("read-only map of the sealed memfd: %s (as mmap() here)",
		       lol_errno_name(errno));
	else
		EXPECT_ERRNO(EPERM, lol_as_protect(self->guest, as, DATA_GVA,
						   PAGE, LOL_PROT_READ |
						   LOL_PROT_WRITE));
	close(memfd);
}

/* A file on a noexec mount is never executable in a guest. */
TEST_F(phys, noexec_mount)
{
	char dir[64], path[96];
	int fd;
	__u32 as;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");
	REQUIRE_ROOT();
	snprintf(dir, sizeof(dir), "/tmp/lol-sec-noexec-%d", getpid());
	ASSERT_SYSCALL(mkdir(dir, 0700));
	if (mount("lol-sec", dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV,
		  "size=1m")) {
		rmdir(dir);
		SKIP(return, "mount tmpfs: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/phys", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		EXPECT_EQ(0, ftruncate(fd, 4 * PAGE));
		EXPECT_EQ(0, set_phys(self->guest, fd, 4 * PAGE));
		EXPECT_EQ(0, lol_create_as(self->guest, &as));
		EXPECT_ERRNO(EPERM, lol_as_map(self->guest, as, CODE_GVA, PAGE, 0,
					       LOL_PROT_READ | LOL_PROT_EXEC));
		EXPECT_EQ(0, lol_as_map(self->guest, as, CODE_GVA, PAGE, 0,
					LOL_PROT_READ | LOL_PROT_WRITE));
		EXPECT_ERRNO(EPERM, lol_as_protect(self->guest, as, CODE_GVA,
						   PAGE, LOL_PROT_READ |
						   LOL_PROT_EXEC));
		close(fd);
	}
	/* The guest fd holds the file: close it before unmounting. */
	close(self->guest);
	self->guest = -1;
	EXPECT_EQ(0, umount2(dir, MNT_DETACH));
	rmdir(dir);
}

/*
 * The file shrinks under a guest: what the AS mapped stays its own until
 * it is unmapped (lol holds the pages), what is mapped beyond the end
 * faults, nothing breaks.
 */
TEST_F(g, phys_file_shrinks)
{
	REQUIRE_RUN();
	ASSERT_EQ(0, lol_vm_map(&self->g.vm, self->g.as_id, OTHER_GVA,
				6 * PAGE, PAGE, LOL_PROT_READ));
	LOAD(s_read);
	lol_arg0(self->run) = OTHER_GVA;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	/* The monitor's own view covers the lost pages too: drop it. */
	ASSERT_EQ(0, munmap((char *)self->g.vm.phys + 4 * PAGE, 4 * PAGE));
	ASSERT_EQ(0, ftruncate(self->g.vm.memfd, 4 * PAGE));
	self->g.vm.phys_size = 4 * PAGE;
	LOAD(s_read);
	self->run->regs.rdi = OTHER_GVA;
	EXPECT_EQ(LOL_EXIT_SYSCALL, RUN());
	/* Mapped again, it is beyond the end. */
	ASSERT_EQ(0, lol_as_unmap(self->g.vm.guest, self->g.as_id, OTHER_GVA,
				  PAGE));
	ASSERT_EQ(0, lol_vm_map(&self->g.vm, self->g.as_id, OTHER_GVA,
				6 * PAGE, PAGE, LOL_PROT_READ));
	LOAD(s_read);
	lol_arg0(self->run) = OTHER_GVA;
	ASSERT_EQ(LOL_EXIT_FAULT, RUN());
	EXPECT_EQ(OTHER_GVA, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_PRESENT, self->run->fault.flags & LOL_FAULT_PRESENT);
	/* Still fine below the new end. */
	LOAD(s_read);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EQ(LOL_EXIT_SYSCALL, RUN());
}

/* ---- limits ------------------------------------------------------------------ */

/* RLIMIT_AS bounds each AS (ENOMEM); memory comes from the phys file. */
TEST(rlimit_as)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		const unsigned long M = 1UL << 20;
		struct rlimit rl = { 256 * M, 256 * M };
		int sys, guest, memfd;
		__u32 as1, as2;

		sys = lol_open();
		CHILD_CHECK(sys >= 0, "open");
		guest = lol_create_guest(sys, 0);
		memfd = memfd_create("lol-sec", MFD_CLOEXEC);
		CHILD_CHECK(guest >= 0 && memfd >= 0 &&
			    !ftruncate(memfd, 1024 * M), "setup");
		CHILD_CHECK(!lol_set_phys_memory(guest, memfd, 1024 * M), "phys");
		CHILD_CHECK(!lol_create_as(guest, &as1) &&
			    !lol_create_as(guest, &as2), "as");
		CHILD_CHECK(!setrlimit(RLIMIT_AS, &rl), "setrlimit");
		CHILD_CHECK(lol_as_map(guest, as1, 1UL << 32, 512 * M, 0,
				       LOL_PROT_READ) == -1 && errno == ENOMEM,
			    "512 MiB in one AS under RLIMIT_AS 256 MiB");
		CHILD_CHECK(!lol_as_map(guest, as1, 1UL << 32, 128 * M, 0,
					LOL_PROT_READ), "128 MiB");
		CHILD_CHECK(!lol_as_map(guest, as1, 2UL << 32, 128 * M, 0,
					LOL_PROT_READ), "256 MiB");
		CHILD_CHECK(lol_as_map(guest, as1, 3UL << 32, PAGE, 0,
				       LOL_PROT_READ) == -1 && errno == ENOMEM,
			    "one page over the limit");
		/* Per AS: the second has its own budget. */
		CHILD_CHECK(!lol_as_map(guest, as2, 1UL << 32, 128 * M, 0,
					LOL_PROT_READ), "second AS");
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);
}

static const char *cgroup_root(bool *mounted)
{
	static const char *root = "/sys/fs/cgroup";
	char buf[256] = "";
	int fd;

	*mounted = false;
	fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (mount("none", root, "cgroup2", 0, NULL))
			return NULL;
		*mounted = true;
		fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0 || !strstr(buf, "memory")) {
		close(fd);
		return NULL;
	}
	close(fd);
	return root;
}

static long cg_event(const char *dir, const char *key)
{
	char path[256], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ')
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

/* Guest memory is charged to the monitor's memory cgroup. */
TEST_F_TIMEOUT(g, memcg_limits_guest_memory, 120)
{
	const unsigned long M = 1UL << 20;
	char dir[128], path[160], buf[32];
	const char *root;
	bool mounted;
	pid_t pid;
	int status;

	REQUIRE_RUN();
	REQUIRE_ROOT();
	root = cgroup_root(&mounted);
	if (!root)
		SKIP(return, "no cgroup2 memory controller");
	lol_write_text("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	snprintf(dir, sizeof(dir), "%s/lol-sec-%d", root, getpid());
	ASSERT_SYSCALL(mkdir(dir, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	EXPECT_EQ(0, lol_write_text(path, "32M"));
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	lol_write_text(path, "0");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mg g;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		snprintf(buf, sizeof(buf), "%d\n", getpid());
		CHILD_CHECK(!lol_write_text(path, buf), "join cgroup");
		/* Phys pages 0-7 are the usual layout, the rest is touched. */
		CHILD_CHECK(!mg_create(&g, PHYS_PAGES + 128 * M / PAGE), "guest");
		CHILD_CHECK(!lol_vm_map(&g.vm, g.as_id, 1UL << 32,
					PHYS_PAGES * PAGE, 128 * M,
					LOL_PROT_READ | LOL_PROT_WRITE), "map");
		MG_LOAD(&g, s_touch);
		lol_arg0(g.run) = 1UL << 32;
		lol_arg1(g.run) = (1UL << 32) + 128 * M;
		lol_run(g.vcpu.fd);
		fprintf(stderr, "# child: guest touched 128 MiB in a 32 MiB cgroup: exit %s"
			" addr 0x%llx access %u flags %u\n",
			lol_exit_name(g.run->exit_reason),
			(unsigned long long)g.run->fault.addr,
			g.run->fault.access, g.run->fault.flags);
		_exit(1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child %s %d", WIFEXITED(status) ? "exit" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	EXPECT_LE(1, cg_event(dir, "oom_kill"));
	TH_LOG("memory.events: max %ld oom %ld oom_kill %ld",
	       cg_event(dir, "max"), cg_event(dir, "oom"), cg_event(dir, "oom_kill"));
	usleep(200 * 1000);
	EXPECT_EQ(0, rmdir(dir)) TH_LOG("rmdir %s: %s", dir, strerror(errno));
	if (mounted)
		umount2(root, MNT_DETACH);
}

static long mem_available_settled(void)
{
	lol_write_text("/proc/sys/vm/drop_caches", "3\n");
	usleep(300 * 1000);
	return lol_meminfo_kb("MemAvailable");
}

/* A monitor killed in guest mode leaves nothing behind. */
TEST_F_TIMEOUT(g, memory_freed_after_death, 120)
{
	const unsigned long M = 1UL << 20;
	unsigned long size = 128 * M;
	long before, during, after, refcnt0;
	int p[2], i;
	pid_t pid;
	char c;

	REQUIRE_RUN();
	if (lol_meminfo_kb("MemAvailable") < 3 * (long)(size >> 10))
		size = 32 * M;
	refcnt0 = read_long("/sys/module/lol/refcnt");
	before = mem_available_settled();
	ASSERT_SYSCALL(pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mg g;

		close(p[0]);
		CHILD_CHECK(!mg_create(&g, PHYS_PAGES + size / PAGE), "guest");
		CHILD_CHECK(!lol_vm_map(&g.vm, g.as_id, 1UL << 32,
					PHYS_PAGES * PAGE, size,
					LOL_PROT_READ | LOL_PROT_WRITE), "map");
		MG_LOAD(&g, s_touch);
		lol_arg0(g.run) = 1UL << 32;
		lol_arg1(g.run) = (1UL << 32) + size;
		CHILD_CHECK(!lol_run(g.vcpu.fd) &&
			    g.run->exit_reason == LOL_EXIT_SYSCALL,
			    "touch: exit %s addr 0x%llx access %u flags %u",
			    lol_exit_name(g.run->exit_reason),
			    (unsigned long long)g.run->fault.addr,
			    g.run->fault.access, g.run->fault.flags);
		CHILD_CHECK(write(p[1], "x", 1) == 1, "pipe");
		/* Spins in guest mode until killed. */
		lol_run(g.vcpu.fd);
		_exit(1);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	usleep(100 * 1000);
	during = lol_meminfo_kb("MemAvailable");
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	/* Part of the freeing is deferred (fput, RCU, KASAN's quarantine). */
	for (i = 0; i < 10; i++) {
		after = mem_available_settled();
		if (before - after <= 16 * 1024)
			break;
	}
	TH_LOG("MemAvailable: before %ld, guest alive %ld, after %ld KiB (%lu MiB touched)",
	       before, during, after, size >> 20);
	EXPECT_LE((long)(size >> 10) * 3 / 4, before - during)
		TH_LOG("the guest's memory did not show");
	EXPECT_GE(16 * 1024, before - after) TH_LOG("not given back");
	EXPECT_EQ(refcnt0, read_long("/sys/module/lol/refcnt"));
}

/* Module limits, lowered at run time; the teardown restores them. */
FIXTURE(params) {
	long guests, as, mappings;
	int sys;
};

FIXTURE_SETUP(params)
{
	self->sys = lol_open_sys();
	self->guests = param_get("max_guests_per_user");
	self->as = param_get("max_as");
	self->mappings = param_get("max_mappings");
	ASSERT_LT(0, self->guests);
	ASSERT_LT(0, self->as);
	ASSERT_LT(0, self->mappings);
}

FIXTURE_TEARDOWN(params)
{
	if (self->guests > 0)
		lol_param_write("max_guests_per_user", self->guests);
	if (self->as > 0)
		lol_param_write("max_as", self->as);
	if (self->mappings > 0)
		lol_param_write("max_mappings", self->mappings);
	close(self->sys);
}

TEST_F(params, guests_per_user)
{
	int fds[4], i;
	pid_t pid;

	REQUIRE_ROOT();
	ASSERT_EQ(0, lol_param_write("max_guests_per_user", 3));
	EXPECT_EQ(3, lol_cap(self->sys, LOL_CAP_MAX_GUESTS));
	for (i = 0; i < 3; i++)
		fds[i] = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);

	/* Another user has its own count. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		CHILD_CHECK(!become_nobody(), "setuid");
		a = lol_create_guest(self->sys, 0);
		b = lol_create_guest(self->sys, 0);
		CHILD_CHECK(a >= 0 && b >= 0, "uid %d guests", NOBODY);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);

	/* Lowering below what is open keeps those, refuses new ones. */
	ASSERT_EQ(0, lol_param_write("max_guests_per_user", 1));
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);
	close(fds[0]);
	close(fds[1]);
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);
	close(fds[2]);
	fds[3] = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);
	close(fds[3]);
	/* Zero: nobody gets a guest. */
	ASSERT_EQ(0, lol_param_write("max_guests_per_user", 0));
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);
}

TEST_F(params, as_per_guest)
{
	int guest;
	__u32 ids[4];
	int i;

	REQUIRE_ROOT();
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent");
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	ASSERT_EQ(0, lol_param_write("max_as", 3));
	EXPECT_EQ(3, lol_cap(self->sys, LOL_CAP_MAX_AS));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, lol_create_as(guest, &ids[i]));
	EXPECT_ERRNO(ENOSPC, lol_create_as(guest, &ids[3]));
	ASSERT_EQ(0, lol_destroy_as(guest, ids[1]));
	EXPECT_EQ(0, lol_create_as(guest, &ids[1]));
	EXPECT_ERRNO(ENOSPC, lol_create_as(guest, &ids[3]));
	/* Per guest: another guest has its own. */
	{
		int g2 = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);

		EXPECT_EQ(0, lol_create_as(g2, &ids[3]));
		close(g2);
	}
	close(guest);
}

TEST_F(params, mappings_per_as)
{
	int guest, memfd;
	__u32 as;
	int i;

	REQUIRE_ROOT();
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent");
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	memfd = ASSERT_SYSCALL(memfd_create("lol-sec", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(memfd, 64 * PAGE));
	ASSERT_EQ(0, lol_set_phys_memory(guest, memfd, 64 * PAGE));
	ASSERT_EQ(0, lol_create_as(guest, &as));
	ASSERT_EQ(0, lol_param_write("max_mappings", 4));
	EXPECT_EQ(4, lol_cap(self->sys, LOL_CAP_MAX_MAPPINGS));
	/* Pages count, wherever they are. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, lol_as_map(guest, as, CODE_GVA + 2 * i * PAGE, PAGE,
					i * PAGE, LOL_PROT_READ))
			TH_LOG("map %d: %s", i, strerror(errno));
	EXPECT_ERRNO(ENOSPC, lol_as_map(guest, as, CODE_GVA + 8 * PAGE, PAGE,
					8 * PAGE, LOL_PROT_READ));
	ASSERT_EQ(0, lol_as_unmap(guest, as, CODE_GVA, PAGE));
	EXPECT_EQ(0, lol_as_map(guest, as, CODE_GVA + 8 * PAGE, PAGE, 8 * PAGE,
				LOL_PROT_READ));
	/* A 16-page map is 16 pages; PROTECT changes no count. */
	ASSERT_EQ(0, lol_as_unmap(guest, as, CODE_GVA, 16 * PAGE));
	EXPECT_ERRNO(ENOSPC, lol_as_map(guest, as, DATA_GVA, 16 * PAGE, 0,
					LOL_PROT_READ));
	ASSERT_EQ(0, lol_as_map(guest, as, DATA_GVA, 4 * PAGE, 0, LOL_PROT_READ));
	for (i = 0; i < 4; i += 2)
		EXPECT_EQ(0, lol_as_protect(guest, as, DATA_GVA + i * PAGE, PAGE,
					    LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_ERRNO(ENOSPC, lol_as_map(guest, as, CODE_GVA, PAGE, 0,
					LOL_PROT_READ));
	/* Mapping over mapped pages replaces them: no more pages. */
	EXPECT_EQ(0, lol_as_map(guest, as, DATA_GVA, 4 * PAGE, 4 * PAGE,
				LOL_PROT_READ));
	close(memfd);
	close(guest);
}

/*
 * The host's vm.max_map_count does not bound a guest: its memory is one
 * lol table, not a host VMA per mapping, and protections split nothing.
 */
TEST_F(params, host_max_map_count)
{
	long saved = read_long("/proc/sys/vm/max_map_count");
	int guest, memfd, i, r = 0, err = 0;
	__u32 as;

	REQUIRE_ROOT();
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent");
	ASSERT_LT(0, saved);
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	memfd = ASSERT_SYSCALL(memfd_create("lol-sec", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(memfd, 512 * PAGE));
	ASSERT_EQ(0, lol_set_phys_memory(guest, memfd, 512 * PAGE));
	ASSERT_EQ(0, lol_create_as(guest, &as));
	ASSERT_EQ(0, lol_as_map(guest, as, DATA_GVA, 512 * PAGE, 0, LOL_PROT_READ));
	ASSERT_EQ(0, lol_write_text("/proc/sys/vm/max_map_count", "100"));
	for (i = 0; i < 512 && !r; i += 2) {
		r = lol_as_protect(guest, as, DATA_GVA + i * PAGE, PAGE,
				   LOL_PROT_READ | LOL_PROT_WRITE);
		err = errno;
	}
	/* Single pages of alternating phys offsets, far from the rest. */
	for (i = 0; i < 512 && !r; i++) {
		r = lol_as_map(guest, as, 0x40000000 + i * PAGE, PAGE,
			       (i % 2 ? 511 - i : i) * PAGE, LOL_PROT_READ);
		err = errno;
	}
	{
		char buf[32];

		snprintf(buf, sizeof(buf), "%ld", saved);
		EXPECT_EQ(0, lol_write_text("/proc/sys/vm/max_map_count", buf));
	}
	EXPECT_EQ(0, r) TH_LOG("stopped at %d: %s", i, lol_errno_name(err));
	close(memfd);
	close(guest);
}

/* Limits on ids and caps are consistent. */
TEST_F(params, vcpu_id_limit)
{
	long max = lol_cap(self->sys, LOL_CAP_MAX_VCPUS);
	int guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);

	EXPECT_EQ(param_get("max_vcpus"), max);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, max, EINVAL);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, ~0UL, EINVAL);
	close(guest);
}

/* ---- runpage: inputs are read once ------------------------------------------ */

struct flipper {
	struct lol_run *run;
	__u32 good_as;
	volatile int stop;
	unsigned long flips;
	struct lol_as_op *op;
};

static void *flip_run(void *p)
{
	static const __u64 bad_rip[] = {
		0xffffffff81000000ULL, 0x800000000000ULL,
		LOL_TEST_USER_LIMIT, 0x8000000000000000ULL,
	};
	struct flipper *f = p;
	unsigned long i;

	/* Each field is bad a quarter of the time, independently. */
	for (i = 0; !f->stop; i++) {
		volatile struct lol_run *run = f->run;
		unsigned long r = i * 0x9e3779b97f4a7c15UL;

		lol_pc(run) = !(r >> 54 & 3) ? bad_rip[i & 3] : CODE_GVA;
		run->as_id = !(r >> 56 & 3) ? 0x7fff : f->good_as;
		run->flags = !(r >> 58 & 3) ? 0x80000000U : 0;
		lol_flags(run) = !(r >> 60 & 3) ? 0x3202 : 0x202;	/* IOPL 3 */
		run->regs.fs_base = !(r >> 62 & 3) ? 0xffff800000000000ULL : 0;
	}
	f->flips = i;
	return NULL;
}

/*
 * A thread rewrites the run page's inputs (rip, as_id, flags, rflags,
 * fs_base) between valid and invalid values while LOL_RUN loops: every
 * call runs the guest at a valid rip or fails EINVAL/ENOENT.
 */
TEST_F_TIMEOUT(g, run_page_flips, 120)
{
	unsigned long ok = 0, einval = 0, enoent = 0, iters = 100000, i;
	struct flipper f = { .run = self->run, .good_as = self->g.as_id };
	double deadline = lol_now() + 40;
	pthread_t t;

	REQUIRE_RUN();
	/*
	 * A page of syscall instructions: any even offset is one. The run
	 * page's rip after an exit is the next one (when the flipper does
	 * not overwrite it first): the last two bytes jump back 128.
	 */
	for (i = 0; i < PAGE - 2; i += 2)
		memcpy((char *)self->g.vm.phys + i, "\x0f\x05", 2);
	memcpy((char *)self->g.vm.phys + PAGE - 2, "\xeb\x80", 2);
	lol_vcpu_set_entry(&self->g.vcpu, self->g.as_id, CODE_GVA, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_run, &f));
	for (i = 0; i < iters && lol_now() < deadline; i++) {
		int r = lol_run(self->g.vcpu.fd);
		int e = errno;

		if (r == 0) {
			__u64 ip = self->run->syscall.ip;

			ok++;
			if (self->run->exit_reason != LOL_EXIT_SYSCALL ||
			    ip < CODE_GVA || ip >= CODE_GVA + PAGE - 2 || (ip & 1)) {
				EXPECT_TRUE(false) TH_LOG("run %lu: " LOL_EXIT_FMT
					", syscall ip / fault addr 0x%llx", i,
					LOL_EXIT_ARGS(self->run),
					(unsigned long long)ip);
				break;
			}
		} else if (e == EINVAL) {
			einval++;
		} else if (e == ENOENT) {
			enoent++;
		} else {
			EXPECT_TRUE(false) TH_LOG("run %lu: %s", i, lol_errno_name(e));
			break;
		}
	}
	f.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%lu LOL_RUN: %lu ran at a valid rip, %lu EINVAL, %lu ENOENT (%lu flips)",
	       i, ok, einval, enoent, f.flips);
	EXPECT_EQ(i, ok + einval + enoent);
	/* Only a diagnostic: the flipper may be starved of CPU under TCG. */
	if (!ok || !einval)
		TH_LOG("the flipper hardly ran: the race was barely exercised");
}

static void *flip_op(void *p)
{
	struct flipper *f = p;
	unsigned long i;

	for (i = 0; !f->stop; i++) {
		volatile struct lol_as_op *op = f->op;

		op->addr = i & 1 ? 0x800000000000ULL : OTHER_GVA;
		op->phys = i & 2 ? 0x100000000ULL : PHYS_DATA * PAGE;
		op->size = i & 4 ? (1ULL << 47) : PAGE;
	}
	f->flips = i;
	return NULL;
}

/*
 * The same for an AS batch: the ops are copied once, then validated; a
 * mapping at a rejected address never appears.
 */
TEST_F_TIMEOUT(g, as_ops_flips, 120)
{
	struct lol_as_op *op = calloc(1, sizeof(*op));
	struct flipper f = { .op = op };
	unsigned long ok = 0, einval = 0, i;
	double deadline = lol_now() + 20;
	pthread_t t;
	__u32 x;

	REQUIRE_RUN();
	op->op = LOL_AS_MAP;
	op->prot = LOL_PROT_READ;
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_op, &f));
	for (i = 0; i < 20000 && lol_now() < deadline; i++) {
		int r = lol_as_ops(self->g.vm.guest, self->g.as_id, op, 1, NULL);

		if (!r)
			ok++;
		else if (errno == EINVAL)
			einval++;
		else {
			EXPECT_TRUE(false) TH_LOG("LOL_AS_OPS: %s", lol_errno_name(errno));
			break;
		}
	}
	f.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%lu LOL_AS_OPS: %lu mapped, %lu EINVAL", i, ok, einval);
	/* Nothing at the rejected address. */
	LOAD(s_read);
	lol_arg0(self->run) = 0x800000000000ULL;
	x = RUN();
	EXPECT_TRUE(x == LOL_EXIT_FAULT || x == LOL_EXIT_TRAP)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	free(op);
}

/* ---- bystander: processes that never use lol ------------------------------- */

/* A process running guests in a syscall loop until killed. */
static pid_t start_busy_guest(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct mg g;

		if (mg_create(&g, PHYS_PAGES))
			_exit(1);
		for (;;) {
			MG_LOAD(&g, s_syscall);
			lol_ret(g.run) = 500;
			if (lol_run(g.vcpu.fd))
				_exit(1);
		}
	}
	return pid;
}

/* The control: the same amount of syscalls, without lol. */
static pid_t start_busy_plain(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			syscall(SYS_getppid);
	}
	return pid;
}

static double getpid_cost_ns(int n)
{
	double best = 1e9, t0;
	int round, i;

	for (round = 0; round < 3; round++) {
		t0 = cpu_now();
		for (i = 0; i < n; i++)
			syscall(SYS_getpid);
		t0 = (cpu_now() - t0) * 1e9 / n;
		if (t0 < best)
			best = t0;
	}
	return best;
}

/*
 * A getpid loop in a process that never opened /dev/lol: alone, next to
 * a busy non-lol process, next to a busy guest. Informational (TCG CPU
 * time is noisy, the other process competes for the host's CPUs); `make
 * bench` has the real host-tax number.
 */
TEST(bystander_syscall_cost)
{
	double alone, plain, busy;
	pid_t other;
	int n = 100000;

	/* This process never opens /dev/lol; the busy one does. */
	alone = getpid_cost_ns(n);
	other = start_busy_plain();
	ASSERT_LT(0, other);
	usleep(300 * 1000);
	plain = getpid_cost_ns(n);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);

	other = start_busy_guest();
	ASSERT_LT(0, other);
	usleep(300 * 1000);
	if (waitpid(other, NULL, WNOHANG) == other)
		SKIP(return, "no guest could run");
	busy = getpid_cost_ns(n);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	TH_LOG("getpid CPU time: %.0f ns alone, %.0f ns next to a busy process, "
	       "%.0f ns next to a busy guest (x%.2f of the control; informational)",
	       alone, plain, busy, busy / plain);
	EXPECT_EQ(getpid(), (pid_t)syscall(SYS_getpid));
}

static volatile sig_atomic_t usr1s, segv_ok;
static sigjmp_buf segv_jmp;
static void *segv_addr;

static void usr1_handler(int sig)
{
	usr1s++;
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	segv_ok = si->si_addr == segv_addr && si->si_code == SEGV_MAPERR;
	siglongjmp(segv_jmp, 1);
}

/* Signals and faults of a bystander are its own, also with busy guests. */
TEST(bystander_signals_and_faults)
{
	struct sigaction sa = { .sa_handler = usr1_handler };
	struct sigaction sv = { .sa_sigaction = segv_handler, .sa_flags = SA_SIGINFO };
	pid_t busy_pid;
	int i, faults = 0;

	busy_pid = start_busy_guest();
	ASSERT_LT(0, busy_pid);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sv, NULL));
	for (i = 0; i < 1000; i++)
		kill(getpid(), SIGUSR1);
	for (i = 0; i < 100; i++) {
		segv_addr = (void *)(0x10000UL + i * PAGE);
		segv_ok = 0;
		if (!sigsetjmp(segv_jmp, 1))
			*(volatile int *)segv_addr = 1;
		faults += segv_ok;
	}
	kill(busy_pid, SIGKILL);
	waitpid(busy_pid, NULL, 0);
	EXPECT_EQ(1000, usr1s);
	EXPECT_EQ(100, faults);
}

static volatile char sud_selector;
static volatile sig_atomic_t sud_nr = -1;

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sud_nr = si->si_syscall;
}

/*
 * A program's own Syscall User Dispatch (which lol's syscall hook sits
 * on) keeps working: with a selector, and in the plain "trap everything"
 * setup (no selector, no allowed range), where the first syscall must be
 * fatal.
 */
TEST(bystander_syscall_user_dispatch)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_sigaction = sigsys_handler,
					.sa_flags = SA_SIGINFO };

		CHILD_CHECK(!sigaction(SIGSYS, &sa, NULL), "sigaction");
		sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
		CHILD_CHECK(!prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
				   0, 0, &sud_selector), "prctl");
		sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
		syscall(SYS_getppid);
		CHILD_CHECK(sud_nr == SYS_getppid, "SIGSYS for getppid: %d", sud_nr);
		prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
		_exit(0);
	}
	EXPECT_CHILD_OK(pid);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long r = prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			       0, 0, 0);

		if (r)
			_exit(3);
		/* Every syscall is dispatched now: SIGSYS, fatal. */
		syscall(SYS_getppid);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		TH_LOG("a process with Syscall User Dispatch on for every syscall "
		       "(no selector, no range): %s %d", WIFEXITED(status) ?
		       "exit" : "signal", WIFEXITED(status) ?
		       WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---- regressions: these corrupted or crashed the host kernel --------------- */

/*
 * NATIVE prctl(PR_SET_SYSCALL_USER_DISPATCH, OFF) from the guest cleared
 * the work bit lol's hooks key on: the guest's later syscalls ran on the
 * host, its faults became monitor signals, and the thread died with the
 * guest AS as its mm (leaking the vcpu, the module reference and a stale
 * lol_running entry). Now: prctl is never NATIVE, and the guest stays
 * under lol (the syscall after it and the ud2 after that are exits).
 */
TEST_F_TIMEOUT(g, native_sud_off_refused, 60)
{
	REQUIRE_RUN();
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA, CODE_GVA + 2));
	LOAD(s_native_call);
	lol_ret(self->run) = SYS_prctl;
	lol_arg0(self->run) = PR_SET_SYSCALL_USER_DISPATCH;
	lol_arg1(self->run) = PR_SYS_DISPATCH_OFF;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	if (self->run->syscall.nr == SYS_prctl) {
		/* Reflected: answer it, go on. */
		EXPECT_EQ(CODE_GVA, self->run->syscall.ip);
		lol_ret(self->run) = 0;
		ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	}
	EXPECT_EQ(500, self->run->syscall.nr);
	ASSERT_EQ(LOL_EXIT_TRAP, RUN());
	EXPECT_EQ(6, self->run->trap.vector);
}

/*
 * From a NATIVE range a guest created a guest of its own on the
 * monitor's /dev/lol fd and ran it: the outer exit then oopsed in
 * fpu_swap_kvm_fpstate() (NULL fpstate). Now every step fails EPERM; in
 * any case the nested LOL_RUN must not succeed.
 */
TEST_F_TIMEOUT(g, nested_run_refused, 60)
{
	const __u64 unset = 0x5a5a5a5a5a5a5a5aULL;
	__u64 *d;
	int i;

	REQUIRE_RUN();
	d = mg_u64(&self->g, PHYS_DATA, 0);
	memset(d, 0, PAGE);
	d[8] = LOL_CREATE_GUEST;
	d[9] = LOL_CREATE_VCPU;
	d[10] = LOL_CREATE_AS;
	d[11] = LOL_RUN;
	for (i = 16; i <= 20; i++)
		d[i] = unset;
	LOAD(s_nested);
	/* All but the final syscall(500) and ud2 (9 bytes) is NATIVE. */
	ASSERT_EQ(0, mg_native(&self->g, CODE_GVA,
			       CODE_GVA + LOL_GUEST_SIZE(s_nested) - 9));
	lol_arg0(self->run) = self->g.vm.sys;
	ASSERT_EQ(LOL_EXIT_SYSCALL, RUN());
	TH_LOG("from guest mode: CREATE_GUEST %llx, CREATE_VCPU %llx, CREATE_AS %llx, "
	       "mmap %llx, nested LOL_RUN %llx (5a5a...: not reached)",
	       (unsigned long long)d[16], (unsigned long long)d[17],
	       (unsigned long long)d[18], (unsigned long long)d[19],
	       (unsigned long long)d[20]);
	EXPECT_EQ(500, self->run->syscall.nr);
	EXPECT_TRUE(d[20] == unset || (long long)d[20] < 0);
	/* The first step already: a guest-mode thread gets no guest. */
	EXPECT_GT(0, (long long)d[16]);
	/* The guest it might have made is not left open in the monitor. */
	if ((long long)d[16] >= 0)
		close(d[16]);
}

TEST_HARNESS_MAIN

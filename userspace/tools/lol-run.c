// SPDX-License-Identifier: GPL-2.0
/*
 * lol-run: start a User-Mode Linux guest on lol.
 *
 * The thin runner between a user and the patched UML binary. It checks
 * that this host can run UML on /dev/lol and says exactly what is missing,
 * opens /dev/lol and hands the fd to UML ("lol=MODE,fd=3"), builds the
 * rest of UML's command line (memory, root file system, console on
 * stdin/stdout, a private uml_dir for the management console), runs UML,
 * turns SIGINT/SIGTERM/SIGHUP into a clean guest shutdown over UML's
 * mconsole, and exits with UML's status.
 *
 * lol-run never creates a guest: a guest belongs to the process that
 * created it (Documentation/uapi.md section 2), so UML creates its own
 * from the /dev/lol fd it inherits. That fd is fd 3, not close-on-exec;
 * no other fd above 2 reaches UML.
 *
 * Processes, terminal and signals (the UML patch relies on this):
 *
 * - UML 6.1 calls setsid() first thing in main(). lol-run's child calls
 *   setsid() itself before exec, so UML's own call fails harmlessly and
 *   UML leads a new session and process group (pgid == pid) from the
 *   moment lol-run learns its pid: the final SIGKILL can target the whole
 *   group, and nothing the terminal sends to lol-run's process group
 *   reaches UML directly.
 * - The console is fd 0/1. When stdin is a terminal UML puts it in raw
 *   mode (cfmakeraw clears ISIG), so Ctrl-C, Ctrl-Z and Ctrl-\ are bytes
 *   for the guest, as on a serial line; the terminal is not UML's
 *   controlling terminal, so job control never stops it. lol-run saves
 *   the terminal settings and puts them back if UML did not (UML killed).
 * - lol-run takes SIGINT, SIGTERM and SIGHUP (kill, a service manager, a
 *   hangup, Ctrl-C when stdin is not a terminal) through a signalfd and
 *   steps through: mconsole "cad" (the guest's init shuts down); after
 *   --grace seconds mconsole "halt"; after 5 more seconds SIGKILL to UML's
 *   process group. Each further signal takes the next step at once. When
 *   the mconsole socket cannot be reached (UML still booting, or built
 *   without CONFIG_MCONSOLE) "cad" is skipped and "halt" becomes SIGTERM,
 *   which UML 6.1 handles with its last-ditch exit.
 * - The child sets PR_SET_PDEATHSIG(SIGKILL) before exec, so UML dies
 *   with lol-run even when lol-run gets SIGKILL. When UML exits, lol-run
 *   SIGKILLs whatever is left in its process group (helpers) before
 *   reaping it (the zombie keeps the group id from being reused), restores
 *   the terminal and removes the private uml_dir.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "liblol.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __noreturn		__attribute__((noreturn))
#define fallthrough		__attribute__((__fallthrough__))

#define LR_EXIT_FAIL		1
#define LR_EXIT_USAGE		LOL_EXIT_USAGE

#define LR_LOL_FD		3	/* where UML finds /dev/lol */
#define LR_DEFAULT_MEM		(256ULL << 20)
#define LR_MIN_MEM		(1ULL << 20)
#define LR_DEFAULT_GRACE	10	/* seconds from "cad" to "halt" */
#define LR_HALT_WAIT		5	/* seconds from "halt" to SIGKILL */
#define LR_MAX_PROBLEMS		16

/* UML's management console protocol, version 2 (arch/um/drivers/mconsole.h). */
#define LR_MC_MAGIC		0xcafebabeU
#define LR_MC_VERSION		2
#define LR_MC_MAX_DATA		512

struct lr_mc_request {
	uint32_t magic;
	uint32_t version;
	uint32_t len;		/* bytes of data, no NUL */
	char data[LR_MC_MAX_DATA];
};

struct lr_mc_reply {
	uint32_t err;		/* non-zero: data says why */
	uint32_t more;		/* another packet follows */
	uint32_t len;		/* bytes of data, NUL included */
	char data[LR_MC_MAX_DATA];
};

enum lr_lol_mode { LR_LOL_AUTO, LR_LOL_ON, LR_LOL_OFF };
static const char *const lr_lol_names[] = { "auto", "on", "off" };

static struct {
	const char *kernel;	/* -k, or NULL: $LOL_UML, next to us, $PATH */
	unsigned long long mem;
	unsigned int grace;
	enum lr_lol_mode lol;
	const char *rootfs;
	const char *device;
	bool dry_run;
	bool verbose;
	char **kargs;		/* the user's KERNEL ARGS, appended last */
	int nr_kargs;
} lr_opt = {
	.mem = LR_DEFAULT_MEM,
	.grace = LR_DEFAULT_GRACE,
	.lol = LR_LOL_AUTO,
	.device = LOL_DEVICE,
};

static const char lr_usage_text[] =
"NAME\n"
"	lol-run - start a User-Mode Linux guest on lol\n"
"\n"
"SYNOPSIS\n"
"	lol-run [OPTIONS] [--] [KERNEL ARGS...]\n"
"	lol-run -h | --help\n"
"\n"
"DESCRIPTION\n"
"	lol-run checks that this host can run User-Mode Linux (UML) on the\n"
"	lol module, opens " LOL_DEVICE " and starts the UML kernel binary with\n"
"	the device as fd 3 (UML creates its guest, vcpus and address spaces\n"
"	itself), the console on stdin/stdout, and a private directory for\n"
"	UML's management console (mconsole). It stays until UML exits and\n"
"	exits with UML's status; a guest sets it by writing a number to\n"
"	/proc/exitcode.\n"
"\n"
"	UML gets these words, then KERNEL ARGS (last, so they can override\n"
"	any of them, e.g. init=/bin/sh):\n"
"\n"
"		mem=SIZE  lol=MODE[,fd=3]\n"
"		ubd0=IMAGE root=/dev/ubda             (--rootfs IMAGE)\n"
"		root=/dev/root rootfstype=hostfs rootflags=DIR  (--rootfs DIR)\n"
"		con0=fd:0,fd:1 con=null  umid=lolrun-PID  uml_dir=TMPDIR/\n"
"\n"
"	lol=MODE is lol=on,fd=3 or lol=auto,fd=3 after a good host check,\n"
"	lol=off with --lol off, and lol=off when --lol auto found a problem\n"
"	(lol-run has said why; UML does not try again). TMPDIR is a fresh\n"
"	$TMPDIR/lol-run.XXXXXX (or /tmp/...), removed when UML exits.\n"
"\n"
"OPTIONS\n"
"	-k, --kernel PATH\n"
"		The UML binary. A name without '/' is looked up in $PATH.\n"
"		Default: $LOL_UML, else 'linux' in the directory of lol-run,\n"
"		else 'linux' in $PATH.\n"
"\n"
"	-m, --mem SIZE\n"
"		Guest memory, bytes or with a K, M or G suffix (default 256M,\n"
"		at least 1M).\n"
"\n"
"	-c, --cpus N\n"
"		Virtual CPUs. UML 6.1 is uniprocessor: only 1 (the default)\n"
"		is accepted.\n"
"\n"
"	-l, --lol auto|on|off\n"
"		auto (default): run the host check; when it fails, print one\n"
"		line saying why and run UML in ptrace mode (lol=off).\n"
"		on: a failed host check stops lol-run before UML starts.\n"
"		off: never open the device; UML runs in ptrace mode.\n"
"\n"
"	-r, --rootfs IMAGE|DIR\n"
"		Root file system: a disk image (or block device) becomes\n"
"		UML's ubd0, a directory is mounted with hostfs. Without it,\n"
"		no root= is passed. The path must not hold ',', '\"' or white\n"
"		space (UML's command line cannot carry them).\n"
"\n"
"	-d, --device PATH\n"
"		Use PATH instead of " LOL_DEVICE ".\n"
"\n"
"	-g, --grace SECS\n"
"		Seconds the guest gets to shut down after a signal before\n"
"		lol-run halts it (default 10; 0 halts at once).\n"
"\n"
"	-n, --dry-run\n"
"		Run the host check, print the result and the command line\n"
"		lol-run would execute (lines starting with '#' are comments,\n"
"		then one word per line, shell-quoted when needed; the\n"
"		XXXXXX of uml_dir differs in a real run) and exit.\n"
"\n"
"	-v, --verbose\n"
"		Say more: every host-check problem, the command line, each\n"
"		shutdown step and mconsole reply, UML's exit status.\n"
"\n"
"	-h, --help\n"
"		Print this help and exit.\n"
"\n"
"HOST CHECKS\n"
"	With --lol auto or on, lol-run opens the device and checks, one\n"
"	problem per line with its fix: that the module is loaded and the\n"
"	node exists (sudo modprobe lol), that you may open it (group 'lol':\n"
"	sudo usermod -aG lol $USER, then log in again), the API version\n"
"	(LOL_GET_API_VERSION), and the capabilities UML needs: LOL_CAP_RUN,\n"
"	LOL_CAP_FPU, LOL_CAP_KICK, LOL_CAP_IMMEDIATE_EXIT, LOL_CAP_AS_BATCH,\n"
"	LOL_CAP_MAX_AS, LOL_CAP_MAX_MAPPINGS, LOL_CAP_MAX_VCPUS.\n"
"\n"
"	It warns, without failing, when the module's max_mappings or the\n"
"	host's vm.max_map_count lets a guest process map less scattered\n"
"	memory than --mem, and says how to raise it.\n"
"\n"
"SIGNALS\n"
"	UML runs in its own session and process group. With the console on\n"
"	a terminal UML puts it in raw mode: Ctrl-C, Ctrl-Z and Ctrl-\\ go to\n"
"	the guest, like on a serial console. To stop the guest, shut it down\n"
"	from inside (poweroff, halt) or signal lol-run.\n"
"\n"
"	SIGINT, SIGTERM or SIGHUP to lol-run: it sends ctrl-alt-del over\n"
"	the mconsole; if UML still runs after --grace seconds, mconsole\n"
"	halt; 5 seconds later, SIGKILL to UML's process group. Each further\n"
"	signal takes the next step at once. Without a reachable mconsole\n"
"	the first step is skipped and halt is replaced by SIGTERM to UML.\n"
"\n"
"	What ctrl-alt-del does is up to the guest: its init's ctrlaltdel\n"
"	action, or with no init handling it (init=/bin/sh) an immediate\n"
"	reboot. Most inits reboot by default, and a UML reboot restarts the\n"
"	same process with the same command line, which the halt then stops.\n"
"	For a clean stop, map it to poweroff in the guest (busybox inittab:\n"
"	::ctrlaltdel:/sbin/poweroff).\n"
"\n"
"	A signal ignored when lol-run starts stays ignored (nohup's\n"
"	SIGHUP, SIGINT of a background job in a script).\n"
"\n"
"	UML dies with lol-run, also when lol-run is killed with SIGKILL.\n"
"	When UML exits, lol-run kills what is left in its process group,\n"
"	restores the terminal settings if UML left them changed, and\n"
"	removes its private uml_dir.\n"
"\n"
"EXIT STATUS\n"
"	N	UML's exit status (what the guest wrote to /proc/exitcode)\n"
"	128+S	UML died of signal S (137: killed by the last shutdown step)\n"
"	0	--dry-run or --help: the real run would start UML\n"
"	1	the host check failed with --lol on, or UML could not be\n"
"		started: kernel or root file system not found, exec failed\n"
"	2	usage error\n"
"\n"
"EXAMPLES\n"
"	Boot a disk image with 512 MiB, shell as init:\n"
"\n"
"		$ lol-run -k ./linux -m 512M -r rootfs.img -- init=/bin/sh\n"
"\n"
"	Insist on lol, and see what would run:\n"
"\n"
"		$ lol-run --lol on --dry-run -r /srv/guest-root\n"
"\n"
"	Stop a guest started in the background, giving it 30 s:\n"
"\n"
"		$ lol-run -g 30 -r rootfs.img </dev/null >guest.log &\n"
"		$ kill -TERM $!\n"
"\n"
"SEE ALSO\n"
"	lolctl(1) (lolctl info: what the module offers),\n"
"	Documentation/uapi.md and guest-patch/README.md in the lol source\n"
"	tree.\n";

/* ---- messages and small helpers ----------------------------------------- */

/*
 * While UML runs, the terminal may be in raw mode (no output processing):
 * end lines with "\r\n" then so they do not stair-step.
 */
static bool lr_crlf;

static void lr_vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%slol-run: %s", lr_crlf ? "\r" : "", prefix);
	vfprintf(stderr, fmt, ap);
	fputs(lr_crlf ? "\r\n" : "\n", stderr);
}

static __printf(1, 2) void lr_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lr_vmsg("", fmt, ap);
	va_end(ap);
}

static __printf(1, 2) void lr_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!lr_opt.verbose)
		return;
	va_start(ap, fmt);
	lr_vmsg("", fmt, ap);
	va_end(ap);
}

static __printf(1, 2) void lr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lr_vmsg("warning: ", fmt, ap);
	va_end(ap);
}

static int lr_usage_error(const char *fmt, const char *arg)
{
	return lol_usage_error("lol-run", fmt, arg);
}

static void lr_oom(void)
{
	lr_msg("out of memory");
	exit(LR_EXIT_FAIL);
}

static __printf(1, 2) char *lr_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		lr_oom();
	return s;
}

/* "SIGTERM"; a static buffer. */
static const char *lr_sig_name(int sig)
{
	static char buf[24];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

static long long lr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The character of p that UML's space-separated command line cannot carry. */
static int lr_bad_char(const char *p)
{
	for (; *p; p++)
		if (*p == ',' || *p == '"' || *p == ' ' || *p == '\t' ||
		    *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
			return (unsigned char)*p;
	return 0;
}

/* ---- argument parsing ---------------------------------------------------- */

/* Decimal, optional K/M/G suffix; 0 on success. */
static int lr_parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	}
	if (*end || v > ULLONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* "512M" rather than "536870912": the largest exact unit. */
static char *lr_size_word(unsigned long long bytes)
{
	static const char units[] = "GMK";
	int shift = 30;

	for (const char *u = units; *u; u++, shift -= 10)
		if (!(bytes & ((1ULL << shift) - 1)))
			return lr_fmt("%llu%c", bytes >> shift, *u);
	return lr_fmt("%llu", bytes);
}

static int lr_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}


/* Returns -1 to go on, else the exit status. */
static int lr_parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "lol", required_argument, NULL, 'l' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'd' },
		{ "grace", required_argument, NULL, 'g' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int cpus;
	int c, i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:k:m:c:l:r:d:g:nvh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			if (!*optarg)
				return lr_usage_error("%s", "--kernel needs a path");
			lr_opt.kernel = optarg;
			break;
		case 'm':
			if (lr_parse_size(optarg, &lr_opt.mem))
				return lr_usage_error("--mem '%s': want a size such as 256M or 1G",
						      optarg);
			if (lr_opt.mem < LR_MIN_MEM)
				return lr_usage_error("--mem '%s': at least 1M", optarg);
			break;
		case 'c':
			if (lr_parse_uint(optarg, UINT_MAX, &cpus) || !cpus)
				return lr_usage_error("--cpus '%s': want a number from 1",
						      optarg);
			if (cpus > 1) {
				lr_msg("UML 6.1 is uniprocessor; --cpus above 1 needs an SMP guest");
				return LR_EXIT_USAGE;
			}
			break;
		case 'l':
			for (i = 0; i < 3; i++)
				if (!strcmp(optarg, lr_lol_names[i]))
					break;
			if (i == 3)
				return lr_usage_error("--lol '%s': want auto, on or off",
						      optarg);
			lr_opt.lol = i;
			break;
		case 'r':
			if (!*optarg)
				return lr_usage_error("%s", "--rootfs needs a path");
			lr_opt.rootfs = optarg;
			break;
		case 'd':
			if (!*optarg)
				return lr_usage_error("%s", "--device needs a path");
			lr_opt.device = optarg;
			break;
		case 'g':
			if (lr_parse_uint(optarg, 86400, &lr_opt.grace))
				return lr_usage_error("--grace '%s': want seconds, 0 to 86400",
						      optarg);
			break;
		case 'n':
			lr_opt.dry_run = true;
			break;
		case 'v':
			lr_opt.verbose = true;
			break;
		case 'h':
			fputs(lr_usage_text, stdout);
			return fflush(stdout) ? LR_EXIT_FAIL : 0;
		default:	/* ':' or '?' */
			return lol_getopt_error("lol-run", c, argv);
		}
	}
	lr_opt.kargs = argv + optind;
	lr_opt.nr_kargs = argc - optind;
	return -1;
}

/* ---- host check ---------------------------------------------------------- */

struct lr_check {
	int fd;				/* the device, open, or -1 */
	int nr;				/* problems found */
	char problem[LR_MAX_PROBLEMS][320];
};

static __printf(2, 3) void
lr_problem(struct lr_check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->nr == LR_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(c->problem[c->nr++], sizeof(c->problem[0]), fmt, ap);
	va_end(ap);
}

/* 1: a "lol" line in /proc/modules, 0: none, -1: cannot tell. */
static int lr_module_loaded(void)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen("/proc/modules", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "lol ", 4))
			found = 1;
	fclose(f);
	return found;
}

/*
 * 1: this process has group "lol", 0: it does not, -1: no such group.
 * /etc/group by hand: getgrnam() warns when linked statically.
 */
static int lr_in_lol_group(void)
{
	char line[1024], *p;
	long gid = -1;
	gid_t *groups;
	int n, i, in = 0;
	FILE *f;

	f = fopen("/etc/group", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "lol:", 4))
			continue;
		p = strchr(line + 4, ':');
		if (p)
			gid = strtol(p + 1, NULL, 10);
		break;
	}
	fclose(f);
	if (gid < 0)
		return -1;
	if ((gid_t)gid == getegid())
		return 1;
	n = getgroups(0, NULL);
	groups = n > 0 ? calloc(n, sizeof(*groups)) : NULL;
	if (groups) {
		n = getgroups(n, groups);
		for (i = 0; i < n; i++)
			if (groups[i] == (gid_t)gid)
				in = 1;
		free(groups);
	}
	return in;
}

static void lr_check_open(struct lr_check *c, const char *dev)
{
	int err, in_group;

	c->fd = lol_open_path(dev);
	if (c->fd >= 0)
		return;
	err = errno;
	switch (err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		if (err == ENOENT && lr_module_loaded() == 1)
			lr_problem(c, "%s: no such file, although the lol module is loaded; create the node: sudo udevadm trigger --subsystem-match=misc --action=add",
				   dev);
		else
			lr_problem(c, "%s: no such device; load the module: sudo modprobe lol",
				   dev);
		break;
	case EACCES:
	case EPERM:
		in_group = lr_in_lol_group();
		if (in_group < 0)
			lr_problem(c, "%s: permission denied; create group 'lol' and join it (sudo groupadd -r lol && sudo usermod -aG lol $USER), then log in again",
				   dev);
		else if (in_group)
			lr_problem(c, "%s: permission denied although you are in group 'lol'; the node should be crw-rw---- root lol (udev/60-lol.rules): ls -l %s",
				   dev, dev);
		else
			lr_problem(c, "%s: permission denied; add yourself to group 'lol' (sudo usermod -aG lol $USER) and log in again",
				   dev);
		break;
	default:
		lr_problem(c, "%s: %s", dev, strerror(err));
	}
}

/* The capabilities UML's lol mode uses; RUN first (see lr_check_caps). */
static const unsigned long lr_needed_caps[] = {
	LOL_CAP_RUN, LOL_CAP_FPU, LOL_CAP_KICK, LOL_CAP_IMMEDIATE_EXIT,
	LOL_CAP_AS_BATCH, LOL_CAP_MAX_AS, LOL_CAP_MAX_MAPPINGS,
	LOL_CAP_MAX_VCPUS,
};

static void lr_check_caps(struct lr_check *c, const char *dev)
{
	bool no_run_loop = false;
	unsigned long cap;
	unsigned int i;
	int v;

	for (i = 0; i < ARRAY_SIZE(lr_needed_caps); i++) {
		cap = lr_needed_caps[i];
		v = lol_check_extension(c->fd, cap);
		if (v < 0) {
			lr_problem(c, "%s: LOL_CHECK_EXTENSION(%s): %s", dev,
				   lol_cap_name(cap), strerror(errno));
		} else if (!v && cap == LOL_CAP_RUN) {
			/* The run-loop capabilities come and go together. */
			no_run_loop = true;
			lr_problem(c, "%s: the module lacks LOL_CAP_RUN: it could not hook this kernel's run loop (see dmesg)",
				   dev);
		} else if (!v && !(no_run_loop && cap != LOL_CAP_MAX_VCPUS)) {
			lr_problem(c, "%s: the module lacks %s; install a newer one ('lolctl info' lists what it offers)",
				   dev, lol_cap_name(cap));
		}
	}
}

static unsigned long long lr_read_ull(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Not failures: a guest runs, but its processes may not map all of --mem. */
static void lr_check_limits(int fd)
{
	unsigned long long page = sysconf(_SC_PAGESIZE);
	unsigned long long need = (lr_opt.mem + page - 1) / page;
	unsigned long long have;
	char *mem = lr_size_word(lr_opt.mem);

	have = lol_check_extension(fd, LOL_CAP_MAX_MAPPINGS);
	if (have < need)
		lr_warn("guest processes can map at most %llu MiB of scattered memory (max_mappings %llu), less than --mem %s; raise it: echo %llu | sudo tee /sys/module/lol/parameters/max_mappings",
			have * page >> 20, have, mem, need);
	have = lr_read_ull("/proc/sys/vm/max_map_count");
	if (have && have < need)
		lr_warn("vm.max_map_count %llu lets a guest process map at most %llu MiB of scattered memory, less than --mem %s; raise it: sudo sysctl -w vm.max_map_count=%llu",
			have, have * page >> 20, mem, need);
	free(mem);
}

/* Leaves c->fd open (close-on-exec) when c->nr == 0. */
static void lr_check_host(struct lr_check *c)
{
	const char *dev = lr_opt.device;
	int version;

	c->nr = 0;
	lr_check_open(c, dev);
	if (c->fd < 0)
		return;

	version = lol_get_api_version(c->fd);
	if (version < 0)
		lr_problem(c, "%s: LOL_GET_API_VERSION: %s%s", dev, strerror(errno),
			   errno == ENOTTY ? " (not a lol device?)" : "");
	else if (version != LOL_API_VERSION)
		lr_problem(c, "%s: the module speaks lol API version %d, this lol-run version %d; install a matching module and lol-run",
			   dev, version, LOL_API_VERSION);
	else
		lr_check_caps(c, dev);

	if (c->nr) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	lr_check_limits(c->fd);
}

/* ---- the UML command line ------------------------------------------------ */

struct lr_words {
	char **v;
	int n, cap;
};

static void lr_add(struct lr_words *w, char *word)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? 2 * w->cap : 32;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		if (!w->v)
			lr_oom();
	}
	w->v[w->n++] = word;
	w->v[w->n] = NULL;
}

static bool lr_is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/* A malloc'd path of name in $PATH, or NULL. */
static char *lr_path_search(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char *cand;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		cand = lr_fmt("%.*s%s%s", (int)(end - p), p, end > p ? "/" : "",
			      name);
		if (lr_is_exec(cand))
			return cand;
		free(cand);
		if (!*end)
			return NULL;
	}
}

/* A malloc'd path to the UML binary, or NULL after a message. */
static char *lr_find_kernel(void)
{
	const char *k = lr_opt.kernel;
	char self[PATH_MAX], *slash, *cand;
	ssize_t n;

	if (!k) {
		k = getenv("LOL_UML");
		if (k && !*k)
			k = NULL;
	}
	if (k && strchr(k, '/')) {
		if (lr_is_exec(k))
			return lr_fmt("%s", k);
		lr_msg("%s: %s", k, access(k, F_OK) ? strerror(errno) :
		       "not an executable file");
		return NULL;
	}
	if (k) {
		cand = lr_path_search(k);
		if (!cand)
			lr_msg("%s: not found in $PATH", k);
		return cand;
	}

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			cand = lr_fmt("%s/linux", self);
			if (lr_is_exec(cand))
				return cand;
			free(cand);
		}
	}
	cand = lr_path_search("linux");
	if (!cand)
		lr_msg("no UML kernel found: not in $LOL_UML, no 'linux' next to lol-run (%s) or in $PATH; give one with --kernel PATH",
		       n > 0 ? self : "?");
	return cand;
}

/* Appends the root file system words; -1 after a message. */
static int lr_add_rootfs(struct lr_words *w)
{
	char *abs;
	struct stat st;
	int bad;

	abs = realpath(lr_opt.rootfs, NULL);
	if (!abs || stat(abs, &st)) {
		lr_msg("%s: %s", lr_opt.rootfs, strerror(errno));
		free(abs);
		return -1;
	}
	bad = lr_bad_char(abs);
	if (bad) {
		lr_msg("%s: UML's command line cannot carry '%c' in a path; use a symlink without it",
		       abs, bad);
		free(abs);
		return -1;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		lr_add(w, lr_fmt("ubd0=%s", abs));
		lr_add(w, lr_fmt("root=/dev/ubda"));
	} else if (S_ISDIR(st.st_mode)) {
		lr_add(w, lr_fmt("root=/dev/root"));
		lr_add(w, lr_fmt("rootfstype=hostfs"));
		lr_add(w, lr_fmt("rootflags=%s", abs));
	} else {
		lr_msg("%s: neither a disk image nor a directory", abs);
		free(abs);
		return -1;
	}
	free(abs);
	return 0;
}

/*
 * The parent of the private uml_dir: $TMPDIR when the mconsole socket path
 * below it fits in sun_path and UML can carry it, else /tmp.
 */
static char *lr_tmp_base(void)
{
	const char *t = getenv("TMPDIR");
	size_t len;

	if (!t || t[0] != '/' || lr_bad_char(t))
		return lr_fmt("/tmp");
	len = strlen(t);
	while (len > 1 && t[len - 1] == '/')
		len--;
	/* + "/lol-run.XXXXXX/" + "lolrun-4294967295" + "/mconsole" < 108 */
	if (len + 16 + 17 + 9 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return lr_fmt("/tmp");
	return lr_fmt("%.*s", (int)len, t);
}

/* ---- the private uml_dir ------------------------------------------------- */

/* rm -r of what UML puts there (umid/pid, umid/mconsole); no symlinks followed. */
static void lr_remove_tree(int at, const char *name, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(at, name, 0);
		return;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && depth < 8) {
		d = fdopendir(fd);
		if (d) {
			while ((de = readdir(d)))
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					lr_remove_tree(dirfd(d), de->d_name, depth + 1);
			closedir(d);
		} else {
			close(fd);
		}
	} else if (fd >= 0) {
		close(fd);
	}
	if (unlinkat(at, name, AT_REMOVEDIR) && errno != ENOENT)
		lr_warn("cannot remove %s: %s", name, strerror(errno));
}

/* ---- mconsole ------------------------------------------------------------ */

struct lr_mconsole {
	int fd;				/* our datagram socket, or -1 */
	struct sockaddr_un addr;	/* UML's socket */
	socklen_t addrlen;		/* 0: no usable path */
};

/*
 * UML's socket is <uml_dir><umid>/mconsole; the user's own umid= or
 * uml_dir= (last one wins, as in UML) override ours.
 */
static void lr_mconsole_init(struct lr_mconsole *mc, const char *uml_dir,
			     const char *umid)
{
	const char *home = getenv("HOME"), *tilde = "";
	char *path, *dir = NULL;
	int i;

	for (i = 0; i < lr_opt.nr_kargs; i++) {
		if (!strncmp(lr_opt.kargs[i], "umid=", 5))
			umid = lr_opt.kargs[i] + 5;
		else if (!strncmp(lr_opt.kargs[i], "uml_dir=", 8))
			uml_dir = lr_opt.kargs[i] + 8;
	}
	/* UML expands a leading '~' to $HOME. */
	if (uml_dir[0] == '~') {
		tilde = home ? home : "";
		uml_dir++;
	}
	dir = lr_fmt("%s%s%s", tilde, uml_dir,
		     uml_dir[0] && uml_dir[strlen(uml_dir) - 1] == '/' ? "" : "/");
	path = lr_fmt("%s%s/mconsole", dir, umid);

	memset(mc, 0, sizeof(*mc));
	mc->addr.sun_family = AF_UNIX;
	if (strlen(path) < sizeof(mc->addr.sun_path)) {
		strcpy(mc->addr.sun_path, path);
		mc->addrlen = sizeof(mc->addr);
	} else {
		lr_verbose("mconsole socket path too long, signals stop UML without it: %s",
			   path);
	}
	free(path);
	free(dir);

	/* Autobind: an abstract address UML can reply to, nothing to clean. */
	mc->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (mc->fd >= 0 &&
	    bind(mc->fd, (struct sockaddr *)&mc->addr, sizeof(sa_family_t))) {
		close(mc->fd);
		mc->fd = -1;
	}
}

/* 0 when UML's socket took the request. */
static int lr_mconsole_send(struct lr_mconsole *mc, const char *cmd)
{
	struct lr_mc_request req = {
		.magic = LR_MC_MAGIC,
		.version = LR_MC_VERSION,
		.len = strlen(cmd),
	};
	ssize_t n;

	if (mc->fd < 0 || !mc->addrlen) {
		errno = ENOTCONN;
		return -1;
	}
	memcpy(req.data, cmd, req.len);
	n = sendto(mc->fd, &req, offsetof(struct lr_mc_request, data) + req.len,
		   MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&mc->addr,
		   mc->addrlen);
	if (n < 0) {
		lr_verbose("mconsole %s: %s: %s", cmd, mc->addr.sun_path,
			   strerror(errno));
		return -1;
	}
	return 0;
}

static void lr_mconsole_read(struct lr_mconsole *mc)
{
	struct lr_mc_reply rep;
	ssize_t n;

	while ((n = recv(mc->fd, &rep, sizeof(rep), MSG_DONTWAIT)) >= 0) {
		if (n < (ssize_t)offsetof(struct lr_mc_reply, data))
			continue;
		n -= offsetof(struct lr_mc_reply, data);
		if (n >= LR_MC_MAX_DATA)
			n = LR_MC_MAX_DATA - 1;
		rep.data[n] = '\0';
		if (rep.err)
			lr_msg("mconsole: UML refused: %s", rep.data);
		else
			lr_verbose("mconsole: ok%s%s", rep.data[0] ? ": " : "",
				   rep.data);
	}
}

/* ---- running UML --------------------------------------------------------- */

/* close_range(lo, hi) with a fallback for kernels before 5.9. */
static void lr_close_range(unsigned int lo, unsigned int hi)
{
	long max;

	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (!syscall(SYS_close_range, lo, hi, 0))
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (; lo <= hi && lo < (unsigned long)max; lo++)
		close(lo);
}

/*
 * The child's side of lr_spawn(): own session, die with lol-run, only fds
 * 0-2 and /dev/lol as LR_LOL_FD, the signal mask of a fresh process.
 * Reports a failed exec's errno on status_fd; never returns.
 */
static __noreturn void
lr_child(char **argv, int lol_fd, int status_fd, pid_t parent)
{
	sigset_t none;
	int w, err;

	setsid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);

	/* Above every fd we keep, so the closing below spares it. */
	w = fcntl(status_fd, F_DUPFD_CLOEXEC, LR_LOL_FD + 1);
	if (w < 0)
		_exit(127);
	if (lol_fd >= 0) {
		if (lol_fd != LR_LOL_FD) {
			/* dup2() leaves the new fd without FD_CLOEXEC. */
			if (dup2(lol_fd, LR_LOL_FD) < 0)
				goto fail;
		} else if (fcntl(LR_LOL_FD, F_SETFD, 0)) {
			goto fail;
		}
	}
	lr_close_range(lol_fd >= 0 ? LR_LOL_FD + 1 : LR_LOL_FD, w - 1);
	lr_close_range(w + 1, ~0U);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
fail:
	err = errno;
	if (write(w, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Starts UML; its pid, or -1 after a message (child reaped). */
static pid_t lr_spawn(char **argv, int lol_fd)
{
	pid_t parent = getpid(), pid;
	int p[2], err;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC)) {
		lr_msg("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		lr_msg("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid)
		lr_child(argv, lol_fd, p[1], parent);

	/* EOF: the exec happened (the pipe is close-on-exec). */
	close(p[1]);
	do
		n = read(p[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == sizeof(err)) {
		lr_msg("cannot run %s: %s", argv[0], strerror(err));
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	return pid;
}

struct lr_run {
	pid_t pid;
	int stage;			/* 0 running, 1 cad, 2 halt, 3 SIGKILL */
	long long deadline;		/* ms for the next step, or -1 */
	struct lr_mconsole mc;
};

/* The next shutdown step; why: the signal's name, or "still running". */
static void lr_escalate(struct lr_run *r, const char *why)
{
	long long now = lr_now_ms();

	switch (r->stage) {
	case 0:
		r->stage = 1;
		if (lr_opt.grace && !lr_mconsole_send(&r->mc, "cad")) {
			lr_msg("%s: asking the guest to shut down (ctrl-alt-del); halting it in %u s",
			       why, lr_opt.grace);
			r->deadline = now + lr_opt.grace * 1000LL;
			return;
		}
		/* no grace, or no mconsole to ask: halt now */
		fallthrough;
	case 1:
		r->stage = 2;
		r->deadline = now + LR_HALT_WAIT * 1000LL;
		if (!lr_mconsole_send(&r->mc, "halt")) {
			lr_msg("%s: halting the guest; killing it in %d s",
			       why, LR_HALT_WAIT);
			return;
		}
		lr_msg("%s: no mconsole, sending SIGTERM to UML; killing it in %d s",
		       why, LR_HALT_WAIT);
		kill(r->pid, SIGTERM);
		return;
	case 2:
		r->stage = 3;
		r->deadline = -1;
		lr_msg("%s: killing UML", why);
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		return;
	}
}

/* Waits for UML to exit, shutting it down on signals; its wait status. */
static int lr_supervise(struct lr_run *r, int sfd)
{
	struct signalfd_siginfo ssi;
	struct pollfd pfd[2];
	siginfo_t si;
	int status, timeout;
	long long now;

	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = r->mc.fd, .events = POLLIN };
	for (;;) {
		/* WNOWAIT: the zombie keeps the pid and group id ours. */
		memset(&si, 0, sizeof(si));
		if (!waitid(P_PID, r->pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == r->pid)
			break;

		timeout = -1;
		if (r->deadline >= 0) {
			now = lr_now_ms();
			if (now >= r->deadline) {
				lr_escalate(r, "still running");
				continue;
			}
			timeout = r->deadline - now;
		}
		if (poll(pfd, r->mc.fd >= 0 ? 2 : 1, timeout) < 0 &&
		    errno != EINTR) {
			lr_msg("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			lr_mconsole_read(&r->mc);
		while (read(sfd, &ssi, sizeof(ssi)) == sizeof(ssi))
			if (ssi.ssi_signo != SIGCHLD)
				lr_escalate(r, lr_sig_name(ssi.ssi_signo));
	}

	/* Helpers UML left behind share its process group. */
	kill(-r->pid, SIGKILL);
	while (waitpid(r->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			lr_msg("waitpid: %s", strerror(errno));
			return W_EXITCODE(LR_EXIT_FAIL, 0);
		}
	}
	return status;
}

/* A word as the shell would need it, then end. */
static void lr_print_word(FILE *f, const char *w, const char *end)
{
	static const char safe[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
	const char *p;

	if (*w && strspn(w, safe) == strlen(w)) {
		fprintf(f, "%s%s", w, end);
		return;
	}
	fputc('\'', f);
	for (p = w; *p; p++)
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	fprintf(f, "'%s", end);
}

/* UML makes a terminal on fd 0 or fd 1 raw (its console's fd channels). */
struct lr_tty {
	bool saved;
	struct termios t;
};

static void lr_tty_save(struct lr_tty *tty)
{
	int fd;

	for (fd = 0; fd < 2; fd++)
		tty[fd].saved = isatty(fd) && !tcgetattr(fd, &tty[fd].t);
}

/* UML restores its terminals on a clean exit, not when it is killed. */
static void lr_tty_restore(struct lr_tty *tty)
{
	struct termios now;
	int fd;

	for (fd = 0; fd < 2; fd++) {
		struct termios *t = &tty[fd].t;

		if (tty[fd].saved && !tcgetattr(fd, &now) &&
		    (now.c_iflag != t->c_iflag || now.c_oflag != t->c_oflag ||
		     now.c_cflag != t->c_cflag || now.c_lflag != t->c_lflag))
			tcsetattr(fd, TCSADRAIN, t);
	}
}

/*
 * From here on SIGINT, SIGTERM, SIGHUP and SIGCHLD wait in the returned
 * signalfd: no signal may kill lol-run between creating the uml_dir and
 * UML's exit. The child unblocks them. A shutdown signal ignored when
 * lol-run started stays ignored (nohup's SIGHUP, SIGINT in a script's
 * background job); an ignored SIGCHLD would reap UML behind our back.
 */
static int lr_signals_setup(void)
{
	static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction old;
	sigset_t mask;
	unsigned int i;
	int sfd;

	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < ARRAY_SIZE(stop_sigs); i++)
		if (sigaction(stop_sigs[i], NULL, &old) || old.sa_handler != SIG_IGN)
			sigaddset(&mask, stop_sigs[i]);
	/* Restoring the terminal from a background job must not stop us. */
	sigaddset(&mask, SIGTTOU);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGTTOU);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		lr_msg("signalfd: %s", strerror(errno));
	return sfd;
}

/* fds 0-2 open, so nothing we open lands there and becomes UML's console. */
static void lr_fix_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", O_RDWR) < 0)
			exit(LR_EXIT_FAIL);
}

int main(int argc, char **argv)
{
	struct lr_words w = { 0 };
	struct lr_check check = { .fd = -1 };
	struct lr_run run = { .deadline = -1 };
	struct lr_tty tty[2];
	char *kernel, *base, *dir = NULL, *umid, *lol_word, *mem;
	const char *lol_mode = "off";
	int rc, sfd, status, i;

	lr_fix_std_fds();
	rc = lr_parse_args(argc, argv);
	if (rc >= 0)
		return rc;

	kernel = lr_find_kernel();
	if (!kernel)
		return LR_EXIT_FAIL;

	/* The host check; lol=off unless it passes. */
	if (lr_opt.lol != LR_LOL_OFF) {
		lr_check_host(&check);
		if (check.nr && lr_opt.lol == LR_LOL_ON) {
			for (i = 0; i < check.nr; i++)
				lr_msg("%s", check.problem[i]);
			return LR_EXIT_FAIL;
		}
		if (check.nr) {
			lr_msg("%s. Running UML in ptrace mode (lol=off)",
			       check.problem[0]);
			for (i = 1; i < check.nr; i++)
				lr_verbose("%s", check.problem[i]);
		} else {
			lol_mode = lr_lol_names[lr_opt.lol];
		}
	}
	lol_word = check.fd >= 0 ? lr_fmt("lol=%s,fd=%d", lol_mode, LR_LOL_FD)
				 : lr_fmt("lol=off");

	sfd = lr_signals_setup();
	if (sfd < 0)
		return LR_EXIT_FAIL;

	base = lr_tmp_base();
	umid = lr_fmt("lolrun-%d", (int)getpid());
	dir = lr_fmt("%s/lol-run.XXXXXX", base);
	if (!lr_opt.dry_run) {
		if (!mkdtemp(dir)) {
			lr_msg("cannot create a directory in %s: %s", base,
			       strerror(errno));
			return LR_EXIT_FAIL;
		}
	}

	lr_add(&w, kernel);
	mem = lr_size_word(lr_opt.mem);
	lr_add(&w, lr_fmt("mem=%s", mem));
	free(mem);
	lr_add(&w, lol_word);
	if (lr_opt.rootfs && lr_add_rootfs(&w)) {
		rc = LR_EXIT_FAIL;
		goto out;
	}
	lr_add(&w, lr_fmt("con0=fd:0,fd:1"));
	lr_add(&w, lr_fmt("con=null"));
	lr_add(&w, lr_fmt("umid=%s", umid));
	lr_add(&w, lr_fmt("uml_dir=%s/", dir));
	for (i = 0; i < lr_opt.nr_kargs; i++)
		lr_add(&w, lr_opt.kargs[i]);

	if (lr_opt.dry_run) {
		printf("# host check: %s\n", lr_opt.lol == LR_LOL_OFF ?
		       "skipped (--lol off)" : check.nr ? "failed" : "ok");
		for (i = 0; i < w.n; i++)
			lr_print_word(stdout, w.v[i], "\n");
		rc = fflush(stdout) ? LR_EXIT_FAIL : 0;
		goto out;
	}
	if (lr_opt.verbose) {
		fputs("lol-run: running: ", stderr);
		for (i = 0; i < w.n; i++)
			lr_print_word(stderr, w.v[i], i + 1 < w.n ? " " : "\n");
	}

	lr_mconsole_init(&run.mc, dir, umid);
	lr_tty_save(tty);

	run.pid = lr_spawn(w.v, check.fd);
	if (check.fd >= 0)
		close(check.fd);	/* UML holds the only reference now */
	if (run.pid < 0) {
		rc = LR_EXIT_FAIL;
		goto out;
	}
	lr_crlf = isatty(STDERR_FILENO);
	status = lr_supervise(&run, sfd);

	lr_tty_restore(tty);
	lr_crlf = false;

	if (WIFSIGNALED(status)) {
		rc = 128 + WTERMSIG(status);
		if (run.stage < 3 || lr_opt.verbose)
			lr_msg("UML died of %s", lr_sig_name(WTERMSIG(status)));
	} else {
		rc = WEXITSTATUS(status);
		lr_verbose("UML exited with status %d", rc);
	}
out:
	if (!lr_opt.dry_run)
		lr_remove_tree(AT_FDCWD, dir, 0);
	return rc;
}

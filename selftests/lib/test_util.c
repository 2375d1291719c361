// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests: helpers that need no harness. See test_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

const char *lol_errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
#define E(x)	{ x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN),
		E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST),
		E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL),
		E(ENFILE), E(EMFILE), E(ENOTTY), E(EFBIG), E(ENOSPC),
		E(ESPIPE), E(EROFS), E(EPIPE), E(ERANGE), E(EDEADLK),
		E(ENOSYS), E(ELOOP), E(EOVERFLOW), E(EOPNOTSUPP),
		E(ETIMEDOUT), E(ECANCELED), E(EKEYREJECTED),
#undef E
	};
	static char buf[4][16];
	static unsigned int next;
	char *b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			return names[i].name;
	b = buf[next++ % ARRAY_SIZE(buf)];
	snprintf(b, sizeof(buf[0]), "E%d", err);
	return b;
}

double lol_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

ssize_t lol_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		return -1;
	}
	buf[n] = 0;
	return n;
}

int lol_write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	err = errno;
	close(fd);
	return n == (ssize_t)len ? 0 : -(n < 0 ? err : EIO);
}

int lol_param_write(const char *name, long val)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/lol/parameters/%s", name);
	snprintf(buf, sizeof(buf), "%ld\n", val);
	return lol_write_text(path, buf);
}

int lol_thread_timer(int signo, long period_ns, timer_t *timer)
{
	struct itimerspec its = {
		.it_interval = { period_ns / 1000000000, period_ns % 1000000000 },
	};
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = signo;
	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, timer))
		return -errno;
	its.it_value = its.it_interval;
	if (period_ns > 0 && timer_settime(*timer, 0, &its, NULL)) {
		int err = errno;

		timer_delete(*timer);
		return -err;
	}
	return 0;
}

long lol_refcnt(void)
{
	char buf[32];

	if (lol_read_text("/sys/module/lol/refcnt", buf, sizeof(buf)) <= 0)
		return -1;
	return atol(buf);
}

long lol_meminfo_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			if (sscanf(line + len + 1, "%ld", &val) != 1)
				val = -1;
			break;
		}
	}
	fclose(f);
	return val;
}

long long lol_slabinfo_bytes(void)
{
	unsigned long active, num, objsize;
	long long total = 0;
	char line[512], name[128];
	FILE *f;

	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* name <active_objs> <num_objs> <objsize> ... */
		if (sscanf(line, "%127s %lu %lu %lu", name, &active, &num,
			   &objsize) != 4)
			continue;
		total += (long long)num * objsize;
	}
	fclose(f);
	return total;
}

int lol_raise_nofile(unsigned long nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= nr)
		return 0;
	rl.rlim_cur = nr;
	if (rl.rlim_max < nr)
		rl.rlim_max = nr;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

int lol_fd_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -1;
	return !!(flags & FD_CLOEXEC);
}

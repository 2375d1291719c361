/* SPDX-License-Identifier: GPL-2.0 */
/*
 * I/O helpers shared by lol-guest-suite and lol-guest-bench.
 */
#ifndef _LOL_GUEST_IO_H
#define _LOL_GUEST_IO_H

#include <sys/types.h>

/* read()/write() all of len bytes, across EINTR and short transfers;
 * read_full() stops early at end of file. The count, or -1 with errno. */
ssize_t read_full(int fd, void *buf, size_t len);
ssize_t write_full(int fd, const void *buf, size_t len);

/* Removes dir and everything below it, as far as it can. */
void rm_tree(const char *dir);

#endif /* _LOL_GUEST_IO_H */

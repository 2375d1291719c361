// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: file_io. A tree of files in the case's directory under
 * $TMPDIR: create, write, fsync, read back, stat, readdir, pread/pwrite,
 * ftruncate, O_APPEND, rename, links, unlink.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suite.h"

#define NDIRS	3
#define NFILES	50
#define MAXLEN	(100 + NFILES * 517)

static uint8_t file_byte(int i, size_t j)
{
	return (uint8_t)(i * 31 + j * 7 + (j >> 8));
}

static size_t file_len(int i)
{
	return 100 + i * 517;
}

static void file_path(char *buf, size_t len, int i)
{
	snprintf(buf, len, "d%d/f%02d", i % NDIRS, i);
}

static int count_entries(const char *dir, int *n)
{
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	CHECK(d, "opendir %s: %s", dir, errno_name(errno));
	*n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(*n)++;
	closedir(d);
	return CASE_PASS;
}

/* The file holds exactly len bytes of file i's pattern. */
static int check_file(const char *path, int i, size_t len)
{
	static uint8_t buf[MAXLEN + 1];
	struct stat st;
	ssize_t n;
	size_t j;
	int fd;

	CHECK(stat(path, &st) == 0, "stat %s: %s", path, errno_name(errno));
	CHECK(S_ISREG(st.st_mode) && (size_t)st.st_size == len,
	      "stat %s: expected a %zu-byte file, got mode %#o size %lld",
	      path, len, st.st_mode, (long long)st.st_size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_SYS(fd);
	n = read_full(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n == (ssize_t)len, "read %s: expected %zu bytes, got %zd", path,
	      len, n);
	for (j = 0; j < len; j++)
		CHECK(buf[j] == file_byte(i, j),
		      "%s byte %zu: expected %#x, got %#x", path, j,
		      file_byte(i, j), buf[j]);
	return CASE_PASS;
}

static int create_tree(void)
{
	static uint8_t buf[MAXLEN];
	char path[64];
	int i, fd, n, want;
	size_t j;

	for (i = 0; i < NDIRS; i++) {
		snprintf(path, sizeof(path), "d%d", i);
		CHECK_SYS(mkdir(path, 0755));
	}
	for (i = 0; i < NFILES; i++) {
		file_path(path, sizeof(path), i);
		for (j = 0; j < file_len(i); j++)
			buf[j] = file_byte(i, j);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		CHECK(fd >= 0, "create %s: %s", path, errno_name(errno));
		CHECK(write_full(fd, buf, file_len(i)) == (ssize_t)file_len(i),
		      "write %s: %s", path, errno_name(errno));
		if (i % 2)
			CHECK_SYS(fsync(fd));
		else
			CHECK_SYS(fdatasync(fd));
		CHECK_SYS(close(fd));
	}
	file_path(path, sizeof(path), 7);
	CHECK(open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) == -1 &&
	      errno == EEXIST, "O_EXCL on an existing file: expected EEXIST, got %s",
	      errno_name(errno));
	for (i = 0; i < NFILES; i++) {
		file_path(path, sizeof(path), i);
		TRY(check_file(path, i, file_len(i)));
	}
	for (i = 0; i < NDIRS; i++) {
		snprintf(path, sizeof(path), "d%d", i);
		TRY(count_entries(path, &n));
		want = NFILES / NDIRS + (i < NFILES % NDIRS);
		CHECK(n == want, "readdir %s: expected %d entries, got %d",
		      path, want, n);
	}
	return CASE_PASS;
}

static int rw_at_offsets(void)
{
	char path[64], buf[256];
	size_t len = file_len(20), j;
	struct stat st;
	off_t pos;
	int fd;

	file_path(path, sizeof(path), 20);
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK_SYS(fd);

	/* pwrite in the middle, pread it back and around it. */
	memset(buf, 'p', 100);
	CHECK(pwrite(fd, buf, 100, 1000) == 100, "pwrite: %s",
	      errno_name(errno));
	CHECK(pread(fd, buf, 200, 950) == 200, "pread: %s", errno_name(errno));
	for (j = 0; j < 200; j++) {
		uint8_t want = j >= 50 && j < 150 ? 'p' : file_byte(20, 950 + j);

		CHECK((uint8_t)buf[j] == want,
		      "pread after pwrite, byte %zu: expected %#x, got %#x",
		      950 + j, want, (uint8_t)buf[j]);
	}
	pos = lseek(fd, 0, SEEK_CUR);
	CHECK(pos == 0, "pread/pwrite moved the file offset to %lld",
	      (long long)pos);

	/* Shrink, then grow: the new tail reads as zeros. */
	CHECK_SYS(ftruncate(fd, len / 2));
	CHECK_SYS(fstat(fd, &st));
	CHECK((size_t)st.st_size == len / 2,
	      "ftruncate to %zu: fstat says %lld", len / 2,
	      (long long)st.st_size);
	CHECK_SYS(ftruncate(fd, len + 4096));
	CHECK(pread(fd, buf, 256, len / 2) == 256, "pread: %s",
	      errno_name(errno));
	for (j = 0; j < 256; j++)
		CHECK(buf[j] == 0,
		      "after shrinking and growing, byte %zu is %#x, not 0",
		      len / 2 + j, (uint8_t)buf[j]);
	CHECK(lseek(fd, 0, SEEK_END) == (off_t)(len + 4096),
	      "SEEK_END: %s", errno_name(errno));
	close(fd);

	/* O_APPEND writes at the end whatever the offset. */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK_SYS(fd);
	CHECK_SYS(lseek(fd, 0, SEEK_SET));
	CHECK(write(fd, "tail", 4) == 4, "append: %s", errno_name(errno));
	close(fd);
	CHECK(stat(path, &st) == 0 && (size_t)st.st_size == len + 4100,
	      "after O_APPEND the size is %lld, expected %zu",
	      (long long)st.st_size, len + 4100);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_SYS(fd);
	CHECK(pread(fd, buf, 4, len + 4096) == 4 && !memcmp(buf, "tail", 4),
	      "the appended bytes are not at the end");
	close(fd);
	return CASE_PASS;
}

static int rename_link(void)
{
	char from[64], to[64], target[64];
	struct stat st;
	ssize_t n;
	int i;

	/* Move the files of d0 into d1 under new names. */
	for (i = 0; i < NFILES; i += NDIRS) {
		file_path(from, sizeof(from), i);
		snprintf(to, sizeof(to), "d1/moved%02d", i);
		CHECK(rename(from, to) == 0, "rename %s %s: %s", from, to,
		      errno_name(errno));
		CHECK(access(from, F_OK) == -1 && errno == ENOENT,
		      "%s still there after rename: %s", from,
		      errno_name(errno));
		TRY(check_file(to, i, file_len(i)));
	}
	/* Rename over an existing file replaces it. */
	file_path(from, sizeof(from), 1);
	file_path(to, sizeof(to), 4);
	CHECK_SYS(rename(from, to));
	TRY(check_file(to, 1, file_len(1)));

	/* A hard link and a symlink to it. */
	CHECK_SYS(link(to, "d2/hard"));
	CHECK(stat(to, &st) == 0 && st.st_nlink == 2,
	      "after link() st_nlink is %lu, expected 2",
	      (unsigned long)st.st_nlink);
	CHECK_SYS(symlink("../d1/f04", "d2/soft"));
	n = readlink("d2/soft", target, sizeof(target) - 1);
	CHECK(n == 9 && !memcmp(target, "../d1/f04", 9),
	      "readlink: expected ../d1/f04, got %zd bytes", n);
	TRY(check_file("d2/soft", 1, file_len(1)));
	CHECK(lstat("d2/soft", &st) == 0 && S_ISLNK(st.st_mode),
	      "lstat of a symlink: not S_IFLNK (%#o)", st.st_mode);
	return CASE_PASS;
}

static int unlink_all(void)
{
	char path[300], names[NFILES + 8][32];
	struct dirent *de;
	int i, j, n;
	DIR *d;

	CHECK(rmdir("d1") == -1 && errno == ENOTEMPTY,
	      "rmdir of a full directory: expected ENOTEMPTY, got %s",
	      errno_name(errno));
	for (i = 0; i < NDIRS; i++) {
		/* Names first: unlinking while reading may skip entries. */
		snprintf(path, sizeof(path), "d%d", i);
		d = opendir(path);
		CHECK(d, "opendir %s: %s", path, errno_name(errno));
		n = 0;
		while ((de = readdir(d)) && n < NFILES + 8) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(names[n++], sizeof(names[0]), "%.31s",
				 de->d_name);
		}
		closedir(d);
		for (j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "d%d/%.31s", i,
				 names[j]);
			CHECK(unlink(path) == 0, "unlink %s: %s", path,
			      errno_name(errno));
		}
		snprintf(path, sizeof(path), "d%d", i);
		TRY(count_entries(path, &n));
		CHECK(n == 0, "%s: %d entries left after unlinking all", path,
		      n);
		CHECK(rmdir(path) == 0, "rmdir %s: %s", path,
		      errno_name(errno));
	}
	return CASE_PASS;
}

int case_file_io(void)
{
	info("in %s", case_tmpdir);
	TRY(create_tree());
	TRY(rw_at_offsets());
	TRY(rename_link());
	TRY(unlink_all());
	return CASE_PASS;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * lolctl: inspect the lol hypervisor-assist module from the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liblol.h"
#include "cli.h"

#define EXIT_USAGE	LOL_EXIT_USAGE

static const char *progname = "lolctl";

static const char usage_text[] =
"NAME\n"
"	lolctl - inspect the lol (Linux-on-Linux) hypervisor-assist module\n"
"\n"
"SYNOPSIS\n"
"	lolctl [-d DEVICE] COMMAND\n"
"	lolctl -h | --help\n"
"\n"
"DESCRIPTION\n"
"	lolctl talks to the lol kernel module through its device node\n"
"	(default " LOL_DEVICE ") with the ioctls of <linux/lol.h>.\n"
"\n"
"	The device node belongs to group \"lol\" with mode 0660 (udev rule\n"
"	60-lol.rules): members of that group and root may use it.\n"
"\n"
"OPTIONS\n"
"	-d, --device DEVICE\n"
"		Use DEVICE instead of " LOL_DEVICE ".\n"
"\n"
"	-h, --help\n"
"		Print this help and exit.\n"
"\n"
"COMMANDS\n"
"	info	Print the API version, the size of a vcpu's run page\n"
"		(LOL_GET_VCPU_MMAP_SIZE) and the value of every capability\n"
"		this lolctl knows (LOL_CHECK_EXTENSION): a limit or 1 when\n"
"		present, \"absent\" when the module does not offer it.\n"
"\n"
"	help	Same as --help.\n"
"\n"
"EXIT STATUS\n"
"	0	success\n"
"	1	an error: the device could not be opened, an ioctl failed,\n"
"		or the module speaks another API version\n"
"	2	usage error\n"
"\n"
"EXAMPLES\n"
"	Check that the module is loaded and what it supports:\n"
"\n"
"		$ lolctl info\n"
"		api version:     1\n"
"		vcpu mmap size:  4096\n"
"		capabilities:\n"
"		  LOL_CAP_RUN              1\n"
"		  LOL_CAP_MAX_VCPUS        64\n"
"		  ...\n"
"\n"
"	Use a device node in a container:\n"
"\n"
"		$ lolctl -d /run/lol/dev info\n"
"\n"
"SEE ALSO\n"
"	Documentation/uapi.md in the lol source tree.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int usage_error(const char *fmt, const char *arg)
{
	return lol_usage_error(progname, fmt, arg);
}


static const char *open_hint(int err)
{
	switch (err) {
	case ENOENT:
		return " (is the module loaded? try: sudo modprobe lol)";
	case EACCES:
	case EPERM:
		return " (the device is mode 0660, group \"lol\": add yourself with 'sudo usermod -aG lol $USER' and log in again)";
	case ENXIO:
	case ENODEV:
		return " (a device node without its driver: is the module loaded? try: sudo modprobe lol)";
	default:
		return "";
	}
}

static int cmd_info(const char *device)
{
	int fd, version, size, cap, err = 0;
	long val;

	fd = lol_open_path(device);
	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "%s: cannot open %s: %s%s\n", progname, device,
			strerror(e), open_hint(e));
		return EXIT_FAILURE;
	}

	version = lol_get_api_version(fd);
	if (version < 0) {
		fprintf(stderr, "%s: %s on %s failed: %s%s\n", progname,
			lol_ioctl_name(LOL_GET_API_VERSION), device,
			strerror(errno),
			errno == ENOTTY ? " (is this a lol device?)" : "");
		close(fd);
		return EXIT_FAILURE;
	}
	printf("api version:     %d\n", version);
	if (version != LOL_API_VERSION) {
		fprintf(stderr, "%s: the module speaks API version %d, this lolctl version %d\n",
			progname, version, LOL_API_VERSION);
		close(fd);
		return EXIT_FAILURE;
	}

	size = lol_get_vcpu_mmap_size(fd);
	if (size < 0) {
		fprintf(stderr, "%s: %s failed: %s\n", progname,
			lol_ioctl_name(LOL_GET_VCPU_MMAP_SIZE),
			strerror(errno));
		err = 1;
	} else {
		printf("vcpu mmap size:  %d\n", size);
	}

	printf("capabilities:\n");
	for (cap = 1; cap <= LOL_CAP_LAST_KNOWN; cap++) {
		val = lol_check_extension(fd, cap);
		if (val < 0) {
			printf("  %-24s error: %s\n", lol_cap_name(cap),
			       strerror(errno));
			err = 1;
		} else if (val == 0) {
			printf("  %-24s absent\n", lol_cap_name(cap));
		} else {
			printf("  %-24s %ld\n", lol_cap_name(cap), val);
		}
	}

	if (fflush(stdout) == EOF) {
		fprintf(stderr, "%s: write error: %s\n", progname,
			strerror(errno));
		err = 1;
	}
	close(fd);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *device = LOL_DEVICE;
	const char *cmd;
	int c;

	if (argc > 0 && argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
	}

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:	/* ':' or '?' */
			return lol_getopt_error(progname, c, argv);
		}
	}

	if (optind >= argc)
		return usage_error("%s", "missing command");
	cmd = argv[optind++];

	if (!strcmp(cmd, "help")) {
		if (optind < argc)
			return usage_error("unexpected argument '%s'",
					   argv[optind]);
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "info")) {
		if (optind < argc)
			return usage_error("unexpected argument '%s'",
					   argv[optind]);
		return cmd_info(device);
	}
	return usage_error("unknown command '%s'", cmd);
}

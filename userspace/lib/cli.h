/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * Command-line helpers shared by lol's programs (lolctl, lolstat, lol-run
 * and the guest programs), so that they all report usage errors the same
 * way.
 * Header-only: the guest programs do not link liblol.
 */
#ifndef _LOL_CLI_H
#define _LOL_CLI_H

#include <stdio.h>
#include <unistd.h>

#define LOL_EXIT_USAGE	2

/*
 * "PROG: <fmt with arg>" and a pointer to --help on stderr; returns the
 * exit status for usage errors.
 */
static inline int lol_usage_error(const char *prog, const char *fmt,
				  const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	return LOL_EXIT_USAGE;
}

/* The option getopt stumbled on: the short one if it was one, else argv. */
static inline const char *lol_option_name(const char *arg)
{
	static char buf[3];

	if (optopt) {
		buf[0] = '-';
		buf[1] = optopt;
		buf[2] = '\0';
		return buf;
	}
	return arg;
}

/*
 * The usage error for an option getopt_long() refused: ':' for a missing
 * argument (the optstring starts with ':'), anything else for an unknown
 * option. @argv and optind as getopt_long() left them.
 */
static inline int lol_getopt_error(const char *prog, int c, char *const argv[])
{
	return lol_usage_error(prog, c == ':' ?
			       "option '%s' needs an argument" :
			       "unknown option '%s'",
			       lol_option_name(argv[optind - 1]));
}

#endif /* _LOL_CLI_H */

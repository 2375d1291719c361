# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh disable=SC2034 # n and failed are the caller's
#
# TAP helpers for the selftest scripts (busybox sh). Source it, print the
# plan, then call result once per check; exit with $failed.
#
#   result NAME STATUS [DIAGNOSTIC]
#	"ok N NAME" when STATUS is 0, else "not ok N NAME" followed by the
#	diagnostic as "# " comments: the lines of DIAGNOSTIC if it names a
#	file, else DIAGNOSTIC itself.

n=0
failed=0

result() {
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n $1"
		return
	fi
	echo "not ok $n $1"
	if [ -n "${3:-}" ] && [ -f "$3" ]; then
		sed 's/^/# /' "$3"
	elif [ -n "${3:-}" ]; then
		echo "# $3"
	fi
	failed=1
}

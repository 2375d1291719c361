#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make fuzz` and of the fuzz step of `make check-debug`
# (busybox sh). scripts/fuzz.sh and scripts/check-debug.sh copy it into
# the payload as the "test" /lol/tests/fuzz, with lol-fuzz's arguments in
# /lol/tests/fuzz.args. It runs lol-fuzz; then, on kernels with kmemleak,
# with lol still loaded (so that lol's frames have names), it scans for
# leaks, prints any report as "# kmemleak: ..." lines and fails when a
# leaked object was allocated through lol's code. The harness's own scan
# after rmmod (scripts/qemu/guest-check.sh) still follows.

here=$(dirname "$0")
args=$(cat "$here/fuzz.args" 2>/dev/null)
# shellcheck disable=SC2086 # a word list on purpose
lol-fuzz $args
rc=$?

kl=/sys/kernel/debug/kmemleak
if [ -w "$kl" ]; then
	# kmemleak reports only objects older than 5 s, after two scans.
	sleep 6
	echo scan >"$kl"
	echo scan >"$kl"
	n=$(grep -c 'unreferenced object' "$kl")
	if [ "$n" -gt 0 ]; then
		sed 's/^/# kmemleak: /' "$kl"
		if grep -q '\[lol\]' "$kl"; then
			echo "# kmemleak: $n leak(s), allocated through lol"
			rc=1
		else
			echo "# kmemleak: $n leak(s), none allocated through lol"
		fi
	else
		echo "# kmemleak: no leaks with lol loaded"
	fi
fi
exit "$rc"

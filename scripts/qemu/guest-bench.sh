#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, guest side (busybox sh; run by /init): load lol, run
# lol-bench with LOL_BENCH_ARGS, print its JSON between markers for the
# host, unload.

# shellcheck source=guest-lib.sh source-path=SCRIPTDIR
. /lol/guest-lib.sh

if ! lol_guest_insmod; then
	echo "LOL-BENCH: insmod /lol.ko failed"
	exit 1
fi
export LOL_ACCEL
# scripts/profile.sh: the text symbols, with lol's, to name its addresses.
if [ "${LOL_BENCH_KSYMS:-0}" = 1 ]; then
	echo "LOL-KSYMS-BEGIN"
	grep -i ' t ' /proc/kallsyms | gzip -c | base64
	echo "LOL-KSYMS-END"
fi
rc=0
# shellcheck disable=SC2086 # LOL_BENCH_ARGS is a word list on purpose
lol-bench ${LOL_BENCH_ARGS:-} --json /tmp/results.json || rc=$?
echo "LOL-BENCH-JSON-BEGIN"
cat /tmp/results.json 2>/dev/null
echo "LOL-BENCH-JSON-END"
if ! rmmod lol; then
	echo "LOL-BENCH: rmmod lol failed"
	rc=1
fi
lol_guest_tail
exit "$rc"

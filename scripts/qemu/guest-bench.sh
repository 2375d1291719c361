#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, guest side (busybox sh; run by /init): load lol, run
# lol-bench with LOL_BENCH_ARGS, print its JSON between markers for the
# host, unload.

# shellcheck disable=SC2086 # word lists on purpose
if ! insmod /lol.ko ${LOL_MODULE_PARAMS:-}; then
	echo "LOL-BENCH: insmod /lol.ko failed"
	exit 1
fi
export LOL_ACCEL
rc=0
lol-bench ${LOL_BENCH_ARGS:-} --json /tmp/results.json || rc=$?
echo "LOL-BENCH-JSON-BEGIN"
cat /tmp/results.json 2>/dev/null
echo "LOL-BENCH-JSON-END"
if ! rmmod lol; then
	echo "LOL-BENCH: rmmod lol failed"
	rc=1
fi
echo "LOL-TAINT: $(cat /proc/sys/kernel/tainted)"
echo "LOL-DMESG-BEGIN"
dmesg
echo "LOL-DMESG-END"
exit "$rc"

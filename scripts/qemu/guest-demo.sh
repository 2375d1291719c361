#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, guest side (busybox sh; run by /init): load lol, show
# `lolctl info`, run `lol-demo` when it was built, unload. The host prints
# what lies between LOL-DEMO-BEGIN and LOL-DEMO-END and judges the rest.

# shellcheck disable=SC2086 # LOL_MODULE_PARAMS is a word list on purpose
if ! insmod /lol.ko ${LOL_MODULE_PARAMS:-}; then
	echo "LOL-DEMO: insmod /lol.ko failed"
	exit 1
fi
LOL_KO=/lol.ko
export LOL_KO

echo "LOL-DEMO-BEGIN"
rc=0
echo "\$ lolctl info"
lolctl info || rc=$?
if [ "$rc" -eq 0 ] && [ -x /lol/bin/lol-demo ]; then
	echo "\$ lol-demo"
	lol-demo || rc=$?
fi
echo "LOL-DEMO-END: rc=$rc"

if ! rmmod lol; then
	echo "LOL-DEMO: rmmod lol failed"
	rc=1
fi
echo "LOL-TAINT: $(cat /proc/sys/kernel/tainted)"
echo "LOL-DMESG-BEGIN"
dmesg
echo "LOL-DMESG-END"
exit "$rc"

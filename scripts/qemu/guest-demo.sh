#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`, guest side (busybox sh; run by /init). Loads lol, shows
# `lolctl info` and lol-demo (a tiny guest), boots User-Mode Linux on lol
# with lol-run and types a few commands at its shell prompt, then runs
# lol-guest-bench three ways -- natively, in UML on lol, in UML with
# ptrace (lol=off) -- and unloads. What the host shows lies between
# LOL-DEMO-BEGIN and LOL-DEMO-END; benchmark results are "LOL-GB MODE
# {json}" lines, lol's unit costs "LOL-UNIT {json}" (lol-bench), phases
# "LOL-GB-PHASE: ...". From /lol/env: LOL_GB_ARGS
# (lol-guest-bench arguments, commas for spaces), LOL_MODULE_PARAMS.

G=/lol/guest
ROOT=/tmp/lol-guest-root
args=$(echo "${LOL_GB_ARGS:-}" | tr , ' ')

# shellcheck source=guest-lib.sh source-path=SCRIPTDIR
. /lol/guest-lib.sh

if ! lol_guest_insmod; then
	echo "LOL-DEMO: insmod /lol.ko failed"
	exit 1
fi
LOL_KO=/lol.ko
export LOL_KO
sysctl -qw vm.max_map_count=1048576

echo "LOL-DEMO-BEGIN"
rc=0
echo "\$ lolctl info"
lolctl info || rc=1
if [ -x /lol/bin/lol-demo ]; then
	echo "\$ lol-demo"
	lol-demo || rc=1
fi

/lol/tests/guest_test.sh --make-root "$ROOT" >/dev/null || rc=1
# UML keeps its ptrace-mode memory in TMPDIR: a tmpfs not limited to half
# of the VM's memory.
mkdir -p /tmp/uml && mount -t tmpfs -o size=4g tmpfs /tmp/uml
export TMPDIR=/tmp/uml

echo
echo "\$ lol-run -k linux -r rootfs     # User-Mode Linux on lol, typed at"
(
	sleep 2
	for c in 'uname -a' 'cat /proc/cmdline' 'ls /' 'poweroff'; do
		printf '%s\n' "$c"
		sleep 1
	done
) | lol-run --lol on -k "$G/linux" -m 256M -r "$ROOT" -- init=/init quiet ||
	rc=1
echo "LOL-DEMO-END"

# lol's own costs in this VM, to split UML on lol's times: a guest syscall
# round trip through LOL_RUN, a fault round trip (exit, map, retry, unmap)
# and the FP state out and back in.
echo "LOL-GB-PHASE: lol-bench"
for id in lol-runloop lol-fault lol-fpu; do
	lol-bench --quick --filter "$id" --json /tmp/unit.json >/dev/null 2>&1
	grep "\"id\": \"$id\"" /tmp/unit.json | sed 's/^ */LOL-UNIT /; s/,$//'
done

for mode in native lol ptrace; do
	echo "LOL-GB-PHASE: $mode"
	case $mode in
	native)
		# shellcheck disable=SC2086 # a word list on purpose
		(cd /tmp && "$G/lol-guest-bench" --json $args)
		;;
	*)
		m=on
		[ $mode = ptrace ] && m=off
		"$G/linux" lol=$m mem=256M rw root=/dev/root rootfstype=hostfs \
			rootflags="$ROOT" con0=fd:0,fd:1 con=null init=/init \
			lol.run=/bin/lol-guest-bench \
			lol.args=--json,"${LOL_GB_ARGS:-}" </dev/null
		;;
	esac 2>&1 | sed -n "s/^{/LOL-GB $mode {/p; /rror\|anic/s/^/LOL-GB-NOTE $mode: /p"
done
echo "LOL-GB-PHASE: done"

if ! rmmod lol; then
	echo "LOL-DEMO: rmmod lol failed"
	rc=1
fi
echo "LOL-DEMO-RC: $rc"
lol_guest_tail
exit "$rc"

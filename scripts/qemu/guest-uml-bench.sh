#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# scripts/guest-bench.sh, VM side (busybox sh; run by /init): load lol, run
# lol-guest-bench natively, in User-Mode Linux on lol and in UML with
# ptrace, and print each run's JSON lines as "LOL-GB MODE {json}" for the
# host. From /lol/env: LOL_GB_ARGS (lol-guest-bench arguments, commas for
# spaces), LOL_GB_MEM (UML's mem=).

G=/lol/guest
ROOT=/tmp/lol-guest-root
args=$(echo "${LOL_GB_ARGS:-}" | tr , ' ')

if ! insmod /lol.ko; then
	echo "LOL-GB: insmod /lol.ko failed"
	exit 1
fi
/lol/tests/guest_test.sh --make-root "$ROOT" >/dev/null || exit 1
mkdir -p /tmp/uml && mount -t tmpfs -o size=4g tmpfs /tmp/uml

rc=0
for mode in native lol ptrace; do
	echo "LOL-GB-PHASE: $mode ($(cut -d' ' -f1 /proc/uptime) s)"
	case $mode in
	native)
		# shellcheck disable=SC2086 # a word list on purpose
		(cd /tmp && "$G/lol-guest-bench" --json $args) >/tmp/gb.out 2>&1
		;;
	*)
		m=on
		[ $mode = ptrace ] && m=off
		TMPDIR=/tmp/uml "$G/linux" lol=$m mem="${LOL_GB_MEM:-256M}" rw \
			root=/dev/root rootfstype=hostfs rootflags="$ROOT" \
			con0=fd:0,fd:1 con=null init=/init \
			lol.run=/bin/lol-guest-bench \
			lol.args=--json,"${LOL_GB_ARGS:-}" </dev/null >/tmp/gb.out 2>&1
		;;
	esac
	[ $? = 0 ] || rc=1
	grep '^{' /tmp/gb.out | sed "s/^/LOL-GB $mode /"
	grep -v '^{' /tmp/gb.out | grep -iE 'error|fail|panic|lol:' | sed "s/^/LOL-GB-NOTE $mode: /"
done
rmmod lol || rc=1
echo "LOL-TAINT: $(cat /proc/sys/kernel/tainted)"
echo "LOL-DMESG-BEGIN"
dmesg
echo "LOL-DMESG-END"
exit $rc

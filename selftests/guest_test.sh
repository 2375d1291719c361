#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest_test.sh: a real guest. The guest suite (userspace/guest) runs three
# ways with the same pass set -- natively on this kernel, inside User-Mode
# Linux on lol, inside User-Mode Linux with ptrace (lol=off) -- then lol-run
# starts UML on lol and its exit status must be the guest's, and a UML
# under load is SIGKILLed: no process, no memory and no lol object may be
# left behind. `make guest` builds what it needs; the harness carries it
# to /lol/guest (scripts/check.sh). busybox sh; TAP output.
#
# Environment: LOL_GUEST_BIG_MB (the suite's big_memory size, default 512),
# LOL_GUEST_MEM (UML's mem=, default 640M), LOL_GUEST_CASE_TIMEOUT (per
# case, default 600 s).

G=${LOL_GUEST_DIR:-/lol/guest}
BIN=${LOL_BIN_DIR:-/lol/bin}
ROOT=/tmp/lol-guest-root
BIG=${LOL_GUEST_BIG_MB:-512}
# Per-case timeout: big_memory is 131072 guest page faults, minutes under TCG.
CASE_T=${LOL_GUEST_CASE_TIMEOUT:-600}
MEM=${LOL_GUEST_MEM:-640M}
LOG=/tmp/lol-guest-log
n=0
fails=0

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $*"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 4
}

[ -x "$G/linux" ] || skip_all "no $G/linux (make guest)"
[ -x "$G/lol-guest-suite" ] || skip_all "no $G/lol-guest-suite (make guest)"

# make_root DIR: the guest's root, as scripts/guest-rootfs.sh makes it: the
# harness's static busybox, the two programs, init. (guest_console_test
# calls `guest_test.sh --make-root DIR` for its own.)
make_root() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin" "$1/etc" \
		"$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/root" || return 1
	cp /bin/busybox "$1/bin/busybox" || return 1
	for a in $(busybox --list-full); do
		[ -e "$1/$a" ] || ln -s /bin/busybox "$1/$a"
	done
	cp "$G/lol-guest-suite" "$G/lol-guest-bench" "$1/bin/" &&
		cp "$G/init" "$1/init" && cp "$G/inittab" "$1/etc/inittab" &&
		chmod 0755 "$1/init"
}

if [ "${1:-}" = --make-root ]; then
	make_root "$2"
	exit
fi
make_root "$ROOT" || skip_all "cannot assemble the guest root in $ROOT"

# A 512 MiB process of scattered pages is one host mapping per page.
sysctl -qw vm.max_map_count=1048576
[ -w /sys/module/lol/parameters/max_mappings ] &&
	echo 262144 >/sys/module/lol/parameters/max_mappings

# UML in ptrace mode keeps its memory in a file in TMPDIR: a tmpfs of its
# own, not limited to half of the VM's memory like /tmp.
UMLTMP=/tmp/lol-uml-tmp
mkdir -p "$UMLTMP"
mount -t tmpfs -o size=4g,mode=1777 tmpfs "$UMLTMP" 2>/dev/null
export TMPDIR=/tmp

# suite_counts LOG: "P F S" from the suite's summary line, or nothing.
suite_counts() {
	sed -n 's/.*# guest-suite: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/p' "$1" | tail -n1
}

# The names of the cases that passed, one line.
suite_passed() {
	sed -n 's/^ok [0-9]* \([a-z_]*\).*/\1/p' "$1" | grep -v SKIP | tr '\n' ' '
}

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# uml MODE ARGS...: UML with the guest root, console on stdin/stdout.
uml() {
	mode=$1
	shift
	TMPDIR=$UMLTMP "$G/linux" "lol=$mode" mem="$MEM" rw root=/dev/root \
		rootfstype=hostfs rootflags="$ROOT" con0=fd:0,fd:1 con=null "$@" \
		</dev/null
}

echo "TAP version 13"
echo "1..8"

# 1-3: the suite three ways.
passed_native=''
for how in native lol ptrace; do
	t0=$(uptime_s)
	case $how in
	native)
		(cd /tmp && LOL_GUEST_SUITE_BIG_MB=$BIG "$G/lol-guest-suite" -T "$CASE_T") >"$LOG.$how" 2>&1
		rc=$?
		;;
	lol | ptrace)
		m=on
		[ "$how" = ptrace ] && m=off
		uml "$m" init=/init lol.run=/bin/lol-guest-suite \
			lol.args=-T,"$CASE_T" LOL_GUEST_SUITE_BIG_MB="$BIG" \
			>"$LOG.$how" 2>&1
		rc=$?
		;;
	esac
	t1=$(uptime_s)
	sed 's/^/# '"$how"': /' "$LOG.$how" | grep -E ': (not ok|#|Kernel panic|lol)' | tail -n 40
	counts=$(suite_counts "$LOG.$how")
	passed=$(suite_passed "$LOG.$how")
	[ "$how" = native ] && passed_native=$passed
	what="guest suite $how: ${counts:-no summary} (passed failed skipped), exit $rc, $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
	if [ -z "$counts" ] || [ "$rc" != 0 ]; then
		# Each failed case with what it printed before, then the end.
		grep -B8 'not ok' "$LOG.$how" | sed 's/^/#   /'
		tail -n 20 "$LOG.$how" | sed 's/^/#   /'
		not_ok "$what"
	elif [ "$passed" != "$passed_native" ]; then
		echo "# native passed: $passed_native"
		echo "# $how passed:   $passed"
		not_ok "$what: not the native pass set"
	else
		ok "$what"
	fi
done

# 4: lol=on boots on lol, and says so.
if grep -q 'lol: guest processes run on /dev/lol' "$LOG.lol"; then
	ok "UML lol=on runs its processes on /dev/lol"
else
	not_ok "UML lol=on did not say it runs on /dev/lol"
fi

# 5: lol-run: host check, fd passing, the guest's exit status.
if [ -x "$BIN/lol-run" ]; then
	printf '#!/bin/sh\ncat /proc/lol\nexit 42\n' >"$ROOT/bin/exit42"
	chmod 0755 "$ROOT/bin/exit42"
	"$BIN/lol-run" --lol on -k "$G/linux" -m 128M -r "$ROOT" -- \
		init=/init lol.run=/bin/exit42 >"$LOG.run" 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 42 ] && grep -q 'lol: guest processes run on /dev/lol' "$LOG.run"; then
		ok "lol-run --lol on: UML on lol, exit status 42 from the guest"
	else
		tail -n 20 "$LOG.run" | sed 's/^/#   /'
		not_ok "lol-run --lol on: exit status $rc, want 42"
	fi
	# 6: the backend's counters (lol-guest-bench and make demo read them).
	runs=$(sed -n 's/^runs \([0-9]*\)\r*$/\1/p' "$LOG.run")
	sysc=$(sed -n 's/^exit_syscall \([0-9]*\)\r*$/\1/p' "$LOG.run")
	if [ "${runs:-0}" -gt 0 ] && [ "${sysc:-0}" -gt 0 ] && [ "$sysc" -le "$runs" ]; then
		ok "/proc/lol in the guest: $runs LOL_RUN calls, $sysc syscall exits"
	else
		grep -A12 '^runs' "$LOG.run" | sed 's/^/#   /'
		not_ok "/proc/lol in the guest: runs '${runs:-}', syscall exits '${sysc:-}'"
	fi
else
	not_ok "no $BIN/lol-run"
	not_ok "/proc/lol not checked: no lol-run"
fi

# 7-8: UML on lol SIGKILLed under load leaves nothing behind.
shmem() {
	sed -n 's/^Shmem: *\([0-9]*\) kB/\1/p' /proc/meminfo
}
refcnt() {
	cat /sys/module/lol/refcnt 2>/dev/null || echo '?'
}
before_shmem=$(shmem)
before_ref=$(refcnt)
uml on init=/init lol.run=/bin/lol-guest-suite lol.args=-t,fork_exec_wait,-t,cow,-t,threads,-t,pipes \
	>"$LOG.kill" 2>&1 &
pid=$!
sleep 8
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# UML's other processes die after it; under TCG on a busy host that can
# take seconds. Left after 20 s, they are stuck.
i=0
while :; do
	left=$(ps -o pid,comm | awk '$2 == "linux" { print $1 }' | tr '\n' ' ')
	after_ref=$(refcnt)
	[ -z "$left" ] && [ "$after_ref" = "$before_ref" ] && break
	i=$((i + 1))
	[ $i -ge 40 ] && break
	sleep 0.5
done
if [ -z "$left" ] && [ "$after_ref" = "$before_ref" ]; then
	ok "UML SIGKILLed under load: no process left, lol refcount $after_ref"
else
	for p in $left; do
		echo "# $p: $(grep -E '^(State|Threads)' "/proc/$p/status" 2>/dev/null | tr '\n\t' '  ')wchan $(cat "/proc/$p/wchan" 2>/dev/null)"
		sed 's/^/#   /' "/proc/$p/stack" 2>/dev/null
	done
	not_ok "UML SIGKILLed under load: processes left: '$left', lol refcount $before_ref -> $after_ref"
fi
after_shmem=$(shmem)
# UML's memfd (mem=) is gone: Shmem back where it was, give or take 8 MiB.
if [ $((after_shmem - before_shmem)) -lt 8192 ]; then
	ok "UML's memory returned (Shmem $before_shmem -> $after_shmem kB)"
else
	not_ok "UML's memory not returned (Shmem $before_shmem -> $after_shmem kB)"
fi

rm -rf "$ROOT" "$LOG".*
umount "$UMLTMP" 2>/dev/null
echo "# guest_test: $((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]

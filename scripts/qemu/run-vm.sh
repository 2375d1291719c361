#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel + initramfs in qemu-system-x86_64 and stream its serial
# console to stdout (carriage returns stripped) and to a log file.
# Exit status: QEMU's (0 after the guest's `reboot -f` with -no-reboot),
# 124 when the VM ran past --timeout and was killed.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<EOF
usage: $0 --kernel BZIMAGE --initrd INITRAMFS [options]

  --kernel FILE     kernel image to boot (bzImage)
  --initrd FILE     initramfs (see mkinitramfs.sh)
  --append STR      extra kernel command line, after the harness defaults
  --timeout SECS    kill the VM after SECS seconds, exit 124 (default 1500)
  --smp N           virtual CPUs (default 2)
  --mem SIZE        guest memory (default 1G)
  --icount          instruction-counted clock for benchmarks:
                    -icount shift=0,align=off,sleep=off, TCG only
  --accel A         tcg, kvm or auto (default: \$LOL_ACCEL, else auto:
                    probe KVM once, fall back to TCG)
  --log FILE        also write the console to FILE (default: none)
  --quiet           do not stream the console to stdout
  -h, --help        this text

The command line always has: console=ttyS0 panic_on_warn=1 oops=panic
panic=-1 panic_print=0x20 loglevel=4 (errors reach the console live;
everything else is in dmesg, and the whole log is replayed on a panic).
EOF
}

kernel='' initrd='' append='' timeout=1500 smp=2 mem=1G icount=0
accel=${LOL_ACCEL:-auto} log='' quiet=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--accel) accel=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
	usage >&2
	exit 2
fi
[ -f "$kernel" ] || lol_die "no kernel at $kernel"
[ -f "$initrd" ] || lol_die "no initramfs at $initrd"
command -v qemu-system-x86_64 >/dev/null || lol_die "qemu-system-x86_64 missing (make deps)"

cmdline="console=ttyS0 panic_on_warn=1 oops=panic panic=-1 panic_print=0x20"
cmdline="$cmdline loglevel=4 edd=off rdinit=/init${append:+ $append}"

# A second UART (ttyS1) that goes nowhere: tests write to it to make
# device interrupts (fpu_stress_test), without touching the console.
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot
	-serial mon:stdio -serial null -m "$mem" -kernel "$kernel"
	-initrd "$initrd" -append "$cmdline")

if [ "$icount" = 1 ]; then
	# Instruction counting exists only under TCG, and only single-threaded.
	[ "$accel" = kvm ] && lol_die "--icount needs TCG"
	qemu+=(-accel tcg -cpu max -smp 1 -icount "shift=0,align=off,sleep=off")
else
	if [ "$accel" = auto ]; then
		LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
		accel=$(lol_pick_accel "$kernel")
	fi
	case $accel in
	kvm) qemu+=(-accel kvm -cpu "host,-arch-capabilities" -smp "$smp") ;;
	# One host thread per vCPU (QEMU's default for x86 on x86; said
	# here because the scaling benchmark depends on it).
	tcg) qemu+=(-accel tcg,thread=multi -cpu max -smp "$smp") ;;
	*) lol_die "unknown accelerator '$accel'" ;;
	esac
fi

[ -n "$log" ] || log=/dev/null
[ "$log" = /dev/null ] || mkdir -p "$(dirname "$log")"

out=/dev/stdout
[ "$quiet" = 1 ] && out=/dev/null

# -k: QEMU normally quits on SIGTERM; SIGKILL it if it does not.
# --foreground: stay in the caller's process group, so ^C reaches QEMU.
set +e
timeout --foreground -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 |
	sed -u 's/\r//g' | tee "$log" >"$out"
rcs=("${PIPESTATUS[@]}")
set -e
rc=${rcs[0]}
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	printf 'lol: VM killed after %s s (timeout)\n' "$timeout" | tee -a "$log" >"$out"
	exit 124
fi
exit "$rc"

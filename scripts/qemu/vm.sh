#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's one VM driver: boot a kernel + initramfs in the QEMU of the
# guest's architecture (scripts/qemu/arch.table: emulator, machine, CPU,
# console, arch-only kernel and QEMU arguments) and stream its serial
# console to stdout (carriage returns stripped) and to a log file.
# Exit status: QEMU's (0 after the guest's `reboot -f` with -no-reboot),
# 124 when the VM ran past --timeout and was killed.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<EOF
usage: $0 --kernel BZIMAGE --initrd INITRAMFS [options]

  --arch A          guest architecture, a row of arch.table (default:
                    \$LOL_ARCH, else x86_64)
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
  --plugin SPEC     load a TCG plugin (-plugin SPEC: FILE[,ARG=VALUE...]),
                    e.g. scripts/profile.sh's instruction profiler
  --log FILE        also write the console to FILE (default: none)
  --quiet           do not stream the console to stdout
  -h, --help        this text

The command line always has: console=<the arch's UART> panic_on_warn=1
oops=panic panic=-1 panic_print=0x20 loglevel=4 (errors reach the console
live; everything else is in dmesg, and the whole log is replayed on a
panic), then the arch's own arguments (x86_64: edd=off).
EOF
}

arch='' kernel='' initrd='' append='' timeout=1500 smp=2 mem=1G icount=0
accel=${LOL_ACCEL:-auto} log='' quiet=0 plugin=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arch=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--accel) accel=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--plugin) plugin=$2; shift 2 ;;
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
# The accelerator probe (lol_pick_accel, and the vm.sh it runs) must
# boot the same arch.
if [ -n "$arch" ]; then
	LOL_ARCH=$arch
	export LOL_ARCH
fi
lol_vm_arch
command -v "$LOL_VM_QEMU" >/dev/null || lol_die "$LOL_VM_QEMU missing (make deps)"

cmdline="console=$LOL_VM_CONSOLE panic_on_warn=1 oops=panic panic=-1"
cmdline="$cmdline panic_print=0x20 loglevel=4${LOL_VM_CMDLINE:+ $LOL_VM_CMDLINE}"
cmdline="$cmdline rdinit=/init${append:+ $append}"

qemu=("$LOL_VM_QEMU" -nodefaults -no-user-config -nographic -no-reboot)
[ -n "$LOL_VM_MACHINE" ] && qemu+=(-M "$LOL_VM_MACHINE")
qemu+=(-serial mon:stdio)
# shellcheck disable=SC2206 # the table's extra arguments are a word list
[ -n "$LOL_VM_EXTRA" ] && qemu+=($LOL_VM_EXTRA)
qemu+=(-m "$mem" -kernel "$kernel" -initrd "$initrd" -append "$cmdline")

if [ "$icount" = 1 ]; then
	# Instruction counting exists only under TCG, and only single-threaded.
	[ "$accel" = kvm ] && lol_die "--icount needs TCG"
	qemu+=(-accel tcg -cpu "$LOL_VM_CPU_TCG" -smp 1 -icount "shift=0,align=off,sleep=off")
else
	if [ "$accel" = auto ]; then
		LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
		accel=$(lol_pick_accel "$kernel")
	fi
	case $accel in
	kvm) qemu+=(-accel kvm -cpu "$LOL_VM_CPU_KVM" -smp "$smp") ;;
	# One host thread per vCPU (QEMU's default for x86 on x86; said
	# here because the scaling benchmark depends on it).
	tcg) qemu+=(-accel tcg,thread=multi -cpu "$LOL_VM_CPU_TCG" -smp "$smp") ;;
	*) lol_die "unknown accelerator '$accel'" ;;
	esac
fi

if [ -n "$plugin" ]; then
	[ "$accel" = kvm ] && lol_die "--plugin needs TCG"
	qemu+=(-plugin "$plugin")
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

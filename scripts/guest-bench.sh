#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest's costs side by side: lol-guest-bench natively in the VM, in
# User-Mode Linux on lol and in UML with ptrace, in one VM run, with each
# figure's ratio to native. The seed of `make demo` (issue 12).
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
NAME
	guest-bench.sh - lol-guest-bench natively, in UML on lol, in UML on ptrace

SYNOPSIS
	scripts/guest-bench.sh [--clock icount|tcg] [--args ARGS] [BENCH...]

DESCRIPTION
	Boots the make check VM once (-icount shift=0,align=off,sleep=off
	and one vCPU by default: guest time is instructions executed,
	repeatable across boots), loads lol and runs lol-guest-bench three
	ways in it. Prints one row per benchmark: the median of each mode,
	and lol's and ptrace's ratio to native. Needs make module userspace
	guest.

OPTIONS
	--clock C   icount (default) or tcg (wall clock, 1 vCPU)
	--args A    lol-guest-bench options, e.g. "-r 3 -n 0.2" (default)
	BENCH...    which benchmarks (default: all; lol-guest-bench -l)

FILES
	\$BUILD/guest-bench/console.log, \$BUILD/guest-bench/results.txt
EOF
}

clock=icount gbargs="-r 3 -n 0.2"
benches=()
while [ $# -gt 0 ]; do
	case $1 in
	--clock) clock=$2; shift 2 ;;
	--args) gbargs=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) benches+=("$1"); shift ;;
	esac
done

lol_env
kernel=$(lol_kernel)
module=${LOL_MODULE:-$LOL_ROOT/lol.ko}
g=$BUILD/guest
[ -f "$module" ] || lol_die "no module at $module (make module)"
[ -x "$g/linux" ] || lol_die "no $g/linux (make guest)"
lol_check_module_matches "$module" "$kernel"

out=$BUILD/guest-bench
rm -rf "$out"
mkdir -p "$out/payload/lol/guest" "$out/payload/lol/tests" "$out/payload/lol/bin"
cp "$module" "$out/payload/lol.ko"
cp "$g/linux" "$g/lol-guest-suite" "$g/lol-guest-bench" \
	"$LOL_ROOT/guest-patch/rootfs/init" "$LOL_ROOT/guest-patch/rootfs/inittab" \
	"$out/payload/lol/guest/"
install -m 0755 "$LOL_ROOT/selftests/guest_test.sh" "$out/payload/lol/tests/"
args=$(echo "$gbargs ${benches[*]}" | tr -s ' ' ',' | sed 's/^,//; s/,$//')
printf 'LOL_GB_ARGS=%q\n' "$args" >"$out/payload/lol/env"
"$LOL_QEMU_DIR/mkinitramfs.sh" -o "$out/initramfs.cpio" \
	-s "$LOL_QEMU_DIR/guest-uml-bench.sh" -p "$out/payload"

case $clock in
icount) vmargs=(--icount); label="TCG -icount shift=0,align=off,sleep=off, 1 vCPU (time = instructions)" ;;
tcg) vmargs=(--accel tcg --smp 1); label="TCG wall clock, 1 vCPU" ;;
*) lol_die "unknown clock '$clock' (icount or tcg)" ;;
esac
log=$out/console.log
lol_msg "guest-bench: $label; lol-guest-bench $gbargs ${benches[*]}; log $log"
set +e
"$LOL_QEMU_DIR/run-vm.sh" --kernel "$kernel" --initrd "$out/initramfs.cpio" \
	"${vmargs[@]}" --timeout "${LOL_TIMEOUT:-3000}" --log "$log" --quiet &
vm=$!
# Progress: each phase as the VM reaches it.
seen=0
while kill -0 "$vm" 2>/dev/null; do
	sleep 5
	n=$(grep -c '^LOL-GB-PHASE' "$log" 2>/dev/null || true)
	if [ "${n:-0}" -gt "$seen" ]; then
		grep '^LOL-GB-PHASE' "$log" | sed -n "$((seen + 1)),${n}p" |
			sed 's/^LOL-GB-PHASE: /lol: guest-bench: running /' >&2
		seen=$n
	fi
done
wait "$vm"
vm_rc=$?
set -e
[ "$vm_rc" = 0 ] || lol_warn "VM exit status $vm_rc (see $log)"
grep '^LOL-GB-NOTE' "$log" >&2 || true
awk -v mode=kernel -f "$LOL_QEMU_DIR/check.awk" "$log" ||
	lol_warn "the kernel logged problems (see $log)"

# LOL-GB MODE {"bench": "x", "unit": "us", "median": m, "min": a, "max": b, ...}
tr -d '\r' <"$log" | awk -v label="$label" '
	/^LOL-GB (native|lol|ptrace) \{/ {
		mode = $2
		b = $0; sub(/.*"bench": "/, "", b); sub(/".*/, "", b)
		u = $0; sub(/.*"unit": "/, "", u); sub(/".*/, "", u)
		m = $0; sub(/.*"median": /, "", m); sub(/[,}].*/, "", m)
		if (!(b in unit)) order[n++] = b
		unit[b] = u; med[b, mode] = m
	}
	function cell(b, mode) {
		return ((b, mode) in med) ? sprintf("%12.2f", med[b, mode]) : sprintf("%12s", "-")
	}
	function ratio(b, mode,   r) {
		if (!((b, mode) in med) || !((b, "native") in med) || med[b, "native"] == 0)
			return sprintf("%8s", "-")
		r = med[b, mode] / med[b, "native"]
		# Throughputs: higher is better, so the ratio is native / mode.
		if (unit[b] ~ /\/s$/ && med[b, mode] != 0)
			r = med[b, "native"] / med[b, mode]
		return sprintf("%7.2fx", r)
	}
	END {
		printf "# %s; medians; ratio = cost relative to native\n", label
		printf "%-16s %-6s %12s %12s %12s %8s %8s\n", "benchmark", "unit",
		       "native", "UML+lol", "UML+ptrace", "lol", "ptrace"
		for (i = 0; i < n; i++) {
			b = order[i]
			printf "%-16s %-6s %s %s %s %s %s\n", b, unit[b],
			       cell(b, "native"), cell(b, "lol"), cell(b, "ptrace"),
			       ratio(b, "lol"), ratio(b, "ptrace")
		}
	}' | tee "$out/results.txt"
[ "$vm_rc" = 0 ]

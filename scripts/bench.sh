#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: boot Debian's kernel in QEMU, load lol and run lol-bench,
# once per clock: instruction counting (-icount, one vCPU: the column the
# goals are judged on), TCG wall clock (LOL_SMP vCPUs, default one), and
# KVM when the probe finds it working. Tables go to stdout, JSON to bench/results.json.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
NAME
	bench.sh - lol-bench in the QEMU VM, side by side with every mechanism

SYNOPSIS
	scripts/bench.sh [-h|--help]
	make bench [LOL_BENCH_ARGS="--quick"] [LOL_BENCH_CLOCKS="icount tcg"]

DESCRIPTION
	Boots the same VM as make check once per clock and runs lol-bench
	in it: native getpid, lol run-loop exits, lol in-place reflection,
	ptrace SYSEMU, seccomp RET_TRAP, Syscall User Dispatch, seccomp user
	notification, pipe ping-pong, fault, address-space switch, host tax
	and the seed's host table. Under TCG every page-table switch flushes
	QEMU's software TLB, so wall-clock ratios overstate address-space
	switches; the icount run (guest time = instructions executed, one
	vCPU) is the one the PASS/MISS goals are judged on.

ENVIRONMENT
	LOL_BENCH_ARGS    arguments for lol-bench (default: --quick)
	LOL_BENCH_CLOCKS  which runs: icount, tcg, kvm (default: "icount tcg",
	                  plus kvm when the KVM probe succeeds)
	LOL_SMP           vCPUs of the tcg and kvm runs (default 1; icount is
	                  always 1). The lol-exits-2cpu row needs 2: it runs
	                  two guests at once, one per vCPU, on multi-threaded
	                  TCG (one host thread per vCPU), e.g.
	                  LOL_BENCH_CLOCKS=tcg LOL_SMP=2
	                  LOL_BENCH_ARGS="--quick --filter lol-exits"
	LOL_TIMEOUT       per VM run, seconds (default 1200)
	KVER, LOL_CACHE, BUILD, LOL_KERNEL, LOL_MODULE as for scripts/check.sh

FILES
	bench/results.json  {"runs": [lol-bench JSON per clock]}
	\$BUILD/bench/<clock>/console.log
EOF
}

lol_no_args "$@"

lol_env
kernel=$(lol_kernel)
module=$(lol_module "$kernel")
[ -x "$BUILD/bin/lol-bench" ] || lol_die "no $BUILD/bin/lol-bench (make userspace)"

clocks=${LOL_BENCH_CLOCKS:-}
if [ -z "$clocks" ]; then
	clocks="icount tcg"
	[ "$(lol_pick_accel "$kernel")" = kvm ] && clocks="$clocks kvm"
fi

smp=${LOL_SMP:-1}
case $smp in
'' | *[!0-9]* | 0) lol_die "LOL_SMP=$smp: a number of vCPUs" ;;
esac
plural=
[ "$smp" -gt 1 ] && plural=s

results_dir=$LOL_ROOT/bench
mkdir -p "$results_dir"
jsons=()
fail=0
trap 'echo "lol: interrupted" >&2; exit 130' INT TERM

for clock in $clocks; do
	out=$BUILD/bench/$clock
	log=$out/console.log
	rm -rf "$out"
	lol_payload "$out/payload" "$module"
	case $clock in
	icount) vmargs=(--icount); label="TCG -icount shift=0 (1 vCPU; ns = instructions)" ;;
	tcg) vmargs=(--accel tcg --smp "$smp"); label="TCG wall clock ($smp vCPU$plural)" ;;
	kvm) vmargs=(--accel kvm --smp "$smp"); label="KVM ($smp vCPU$plural)" ;;
	*) lol_die "unknown clock '$clock' (icount, tcg, kvm)" ;;
	esac
	lol_env_file "$out/payload/lol/env" \
		"LOL_MODULE_PARAMS=${LOL_MODULE_PARAMS:-}" "LOL_ACCEL=$label" \
		"LOL_BENCH_ARGS=${LOL_BENCH_ARGS:---quick}"
	lol_initramfs "$out/initramfs.cpio" guest-bench.sh "$out/payload"

	lol_msg "bench: $label, log $log"
	filter='
		/^LOL-BENCH-JSON-BEGIN/ { skip = 1; next }
		/^LOL-BENCH-JSON-END/ { skip = 0; next }
		/^LOL-DMESG-BEGIN/ { skip = 1; next }
		!skip && !/\[ *[0-9]+\.[0-9]+\]/ && !/^LOL-/ { print; fflush() }'
	lol_vm "$filter" -- --kernel "$kernel" --initrd "$out/initramfs.cpio" \
		"${vmargs[@]}" --timeout "${LOL_TIMEOUT:-1200}" --log "$log"

	if [ "$vm_rc" -ne 0 ] || ! grep -q '^LOL-GUEST-EXIT: rc=0$' "$log"; then
		lol_warn "$clock run failed (VM status $vm_rc, see $log)"
		fail=1
	fi
	if ! lol_kernel_ok "$log"; then
		lol_warn "the kernel logged problems during the $clock run (see $log)"
		fail=1
	fi
	sed -n '/^LOL-BENCH-JSON-BEGIN/,/^LOL-BENCH-JSON-END/p' "$log" |
		sed '1d;$d' | tr -d '\r' >"$out/results.json"
	if [ -s "$out/results.json" ]; then
		jsons+=("$out/results.json")
	else
		lol_warn "no results from the $clock run"
		fail=1
	fi
done

{
	printf '{"runs": ['
	sep=
	for j in "${jsons[@]}"; do
		printf '%s\n' "$sep"
		cat "$j"
		sep=,
	done
	printf ']}\n'
} >"$results_dir/results.json"
lol_msg "results: $results_dir/results.json"
exit "$fail"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz: boot the debug kernel (when scripts/debug-kernel.sh has built
# it; else Debian's) with lol.ko in QEMU and run lol-fuzz in it for a
# bounded time. The verdict is the harness's (scripts/check.sh): lol-fuzz's
# exit status, insmod/rmmod, and the kernel log (KASAN, lockdep, WARN,
# kmemleak on debug kernels...). Prints the seed; replay a failing case
# with the reproduce line lol-fuzz printed, e.g.
#   scripts/fuzz.sh --seed 0x1234 -- --case 17
# See Documentation/hardening.md.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
usage: $0 [--seconds N] [--seed N] [--threads N] [--debug | --debian]
          [-- LOL-FUZZ-ARGS...]

  --seconds N   how long lol-fuzz runs (default 300)
  --seed N      run seed (default: lol-fuzz picks one and prints it)
  --threads N   worker threads per case (default 3)
  --debug       boot the debug kernel, building it first if needed
  --debian      boot Debian's kernel (\$LOL_CACHE/kernel) with ./lol.ko
                (default: the debug kernel if it is built and current)
  -- ARGS       passed to lol-fuzz (e.g. --case 17, --verbose, --no-nested)

Needs \$BUILD/bin/lol-fuzz (make userspace). LOL_KERNEL/LOL_MODULE, LOL_ACCEL,
LOL_SMP, LOL_VERBOSE work as for scripts/check.sh. Console log:
\$BUILD/fuzz/check/console.log.
EOF
}

seconds=300 seed='' threads=3 which=auto
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--debug) which=debug; shift ;;
	--debian) which=debian; shift ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $seconds in '' | *[!0-9]*) lol_die "--seconds wants a number, not '$seconds'" ;; esac

lol_env
fuzz=$BUILD/bin/lol-fuzz
[ -x "$fuzz" ] || lol_die "no $fuzz (make userspace)"

# The kernel: LOL_KERNEL/LOL_MODULE from outside win.
if [ -z "${LOL_KERNEL:-}" ]; then
	if [ "$which" = auto ] && "$LOL_ROOT/scripts/debug-kernel.sh" --print --kernel-only >/dev/null 2>&1; then
		which=debug
	fi
	if [ "$which" = debug ]; then
		# Cached kernel: this only (re)builds lol.ko against it.
		eval "$("$LOL_ROOT/scripts/debug-kernel.sh")"
	else
		LOL_MODULE=${LOL_MODULE:-$LOL_ROOT/lol.ko}
	fi
fi
export LOL_KERNEL LOL_MODULE

# A payload of one "test": a wrapper that runs lol-fuzz.
out=$BUILD/fuzz
rm -rf "${out:?}/selftests" "${out:?}/bin"
mkdir -p "$out/selftests" "$out/bin"
cp "$fuzz" "$out/bin/"
args=(--seconds "$seconds" --threads "$threads")
[ -n "$seed" ] && args+=(--seed "$seed")
args+=("${extra[@]}")
lol_fuzz_test "$out/selftests" "${args[@]}"
echo fuzz >"$out/selftests/tests.list"

kname=${LOL_KERNEL:-the Debian kernel}
lol_msg "fuzz: lol-fuzz ${args[*]} on $kname"
set +e
BUILD=$out LOL_TESTS=fuzz \
	LOL_TEST_TIMEOUT=${LOL_TEST_TIMEOUT:-$((seconds + 300))} \
	LOL_TIMEOUT=${LOL_TIMEOUT:-$((seconds + 900))} \
	"$LOL_ROOT/scripts/check.sh"
rc=$?
set -e

# lol-fuzz's own summary (check.sh shows its output only when it fails).
log=$out/check/console.log
if [ -f "$log" ]; then
	lol_fuzz_summary "$log"
	s=$(sed -n 's/^lol-fuzz: seed=\([^ ]*\).*/\1/p' "$log" | head -n1)
	[ -n "$s" ] && lol_msg "fuzz: seed $s (replay: scripts/fuzz.sh --seed $s --seconds $seconds)"
	lol_msg "fuzz: console log $log"
fi
exit "$rc"

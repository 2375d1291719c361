#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the `make check` suite on the debug kernel (KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, DEBUG_VM, kmemleak, UBSAN; see
# scripts/debug-kernel.config), then a short lol-fuzz run in the same VM
# (before module_test, which unloads the module), then the harness's
# rmmod, kmemleak scan and kernel-log verdict. The kernel is built once
# and cached outside git (scripts/debug-kernel.sh); lol.ko is built
# against it in the cache, so the repository's own lol.ko is untouched.
# See Documentation/hardening.md.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
usage: $0 [--fuzz-seconds N] [--fuzz-seed N] [-h|--help]

Builds (when needed) the debug kernel and lol.ko for it, then runs
scripts/check.sh on it with the selftests and a lol-fuzz run of
--fuzz-seconds (default 60; 0 leaves it out). Ends with the harness's
"N passed, N failed, N skipped"; exit 0 only when nothing failed.

Environment: LOL_FUZZ_SECONDS, LOL_FUZZ_SEED (as the options), LOL_TESTS
(a subset; the fuzz step is added, dkms_test.sh left out), LOL_TEST_TIMEOUT
(default: the selftests' settings, at least fuzz seconds + 300),
LOL_TIMEOUT (VM, default 3000), LOL_ACCEL, LOL_SMP, LOL_VERBOSE, KVER,
LOL_CACHE, BUILD.
Needs make userspace selftests (\$BUILD/bin/lol-fuzz, \$BUILD/selftests).
Console log: \$BUILD/check-debug/check/console.log.
EOF
}

fuzz_seconds=${LOL_FUZZ_SECONDS:-60}
fuzz_seed=${LOL_FUZZ_SEED:-}
while [ $# -gt 0 ]; do
	case $1 in
	--fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
	--fuzz-seed) fuzz_seed=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $fuzz_seconds in '' | *[!0-9]*) lol_die "fuzz seconds must be a number, not '$fuzz_seconds'" ;; esac

lol_env
start=$SECONDS
tdir=$BUILD/selftests
[ -f "$tdir/tests.list" ] || lol_die "no $tdir/tests.list (make selftests)"
if [ "$fuzz_seconds" -gt 0 ] && ! [ -x "$BUILD/bin/lol-fuzz" ]; then
	lol_die "no $BUILD/bin/lol-fuzz (make userspace)"
fi

# The debug kernel and lol.ko against it: LOL_KERNEL=..., LOL_MODULE=...
t0=$SECONDS
eval "$("$LOL_ROOT/scripts/debug-kernel.sh")"
export LOL_KERNEL LOL_MODULE
lol_msg "check-debug: kernel and module ready after $((SECONDS - t0)) s"

# The payload: the selftests as they are, plus the fuzz step.
out=$BUILD/check-debug
rm -rf "${out:?}/selftests" "${out:?}/bin" "${out:?}/lib"
mkdir -p "$out/bin"
lol_copy_tests "$tdir" "$out/selftests"
[ -d "$BUILD/bin" ] && cp -a "$BUILD/bin/." "$out/bin/"
if [ -d "$BUILD/lib" ]; then
	mkdir -p "$out/lib"
	cp -a "$BUILD/lib/." "$out/lib/"
fi

mapfile -t tests < <(lol_test_names "$tdir")
# dkms_test.sh loads lol.ko as DKMS builds it for Debian's kernel (make
# check); there is no DKMS build for the debug kernel.
for i in "${!tests[@]}"; do
	if [ "${tests[$i]}" = dkms_test.sh ]; then
		unset 'tests[i]'
	fi
done
tests=("${tests[@]}")
if [ "$fuzz_seconds" -gt 0 ]; then
	args=(--seconds "$fuzz_seconds")
	[ -n "$fuzz_seed" ] && args+=(--seed "$fuzz_seed")
	lol_fuzz_test "$out/selftests" "${args[@]}"
	# Before module_test: it unloads and reloads lol.ko and stays last.
	with=()
	for t in "${tests[@]}"; do
		[ "$t" = module_test ] && with+=(fuzz)
		with+=("$t")
	done
	[[ " ${with[*]} " == *" fuzz "* ]] || with+=(fuzz)
	tests=("${with[@]}")
fi
printf '%s\n' "${tests[@]}" >"$out/selftests/tests.list"

# Per-test timeout: the selftests' own, but long enough for the fuzz step.
tt=$(lol_settings_timeout "$tdir")
[ "$tt" -lt $((fuzz_seconds + 300)) ] && tt=$((fuzz_seconds + 300))

lol_msg "check-debug: ${#tests[@]} test(s): ${tests[*]}"
set +e
BUILD=$out LOL_TESTS="${tests[*]}" \
	LOL_TEST_TIMEOUT=${LOL_TEST_TIMEOUT:-$tt} \
	LOL_TIMEOUT=${LOL_TIMEOUT:-3000} \
	"$LOL_ROOT/scripts/check.sh"
rc=$?
set -e

log=$out/check/console.log
if [ -f "$log" ]; then
	lol_fuzz_summary "$log"
fi
lol_msg "check-debug: $((SECONDS - start)) s in all (console log $log)"
exit "$rc"

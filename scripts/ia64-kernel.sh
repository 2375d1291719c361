#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the directory of an ia64 kernel build (out of tree, from Debian's
# linux-source-6.1, the last series with arch/ia64) ready for external
# modules: ARCH=ia64 defconfig with what lol needs (KPROBES; AUDIT, so
# that the ia64 syscall entry's audit-context test compiles against the
# real thing), then modules_prepare. Built once per linux-source and
# toolchain version into
#
#   $LOL_CACHE/ia64-kernel/<linux-source-6.1 ver>_<toolchain>
#
# The cross gcc comes from scripts/ia64-toolchain.sh. Progress goes to
# stderr, the directory alone to stdout:  KDIR=$(scripts/ia64-kernel.sh)
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	sed -n '4,16s/^# \{0,1\}//p' "$0"
	echo "Environment: LOL_CACHE (default ~/.cache/lol), LOL_JOBS (default 2)."
}
lol_no_args "$@"

LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
jobs=${LOL_JOBS:-2}
bin=$("$LOL_ROOT/scripts/ia64-toolchain.sh")
export PATH="$bin:$PATH"
kmake=(make ARCH=ia64 CROSS_COMPILE=ia64-linux-gnu-)
# The options lol needs on top of defconfig, part of the cache key.
opts=(KPROBES MODULES AUDIT AUDITSYSCALL)

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null) ||
	lol_die "linux-source-6.1 is not installed (make deps)"
key="${srcver}_$(basename "$(dirname "$bin")")_$(echo "${opts[*]}" | md5sum | cut -c1-8)"
out=$LOL_CACHE/ia64-kernel/$key
if [ -f "$out/.done" ]; then
	printf '%s\n' "$out"
	exit 0
fi

src=$("$LOL_ROOT/scripts/ksrc.sh" --full)
[ -d "$src/arch/ia64" ] || lol_die "$src has no arch/ia64"
rm -rf "$out"
mkdir -p "$out"

lol_msg "ia64 kernel: defconfig in $out" >&2
nice -n 10 "${kmake[@]}" -C "$src" O="$out" defconfig >"$out/.log" 2>&1 ||
	{ tail -20 "$out/.log" >&2; lol_die "ia64 kernel: defconfig failed"; }
for o in "${opts[@]}"; do
	"$src/scripts/config" --file "$out/.config" --enable "$o"
done
nice -n 10 "${kmake[@]}" -C "$src" O="$out" olddefconfig >>"$out/.log" 2>&1 ||
	{ tail -20 "$out/.log" >&2; lol_die "ia64 kernel: olddefconfig failed"; }
for o in "${opts[@]}"; do
	grep -q "^CONFIG_$o=y" "$out/.config" ||
		lol_die "ia64 kernel: CONFIG_$o did not stay on"
done

lol_msg "ia64 kernel: make -j$jobs modules_prepare" >&2
start=$SECONDS
nice -n 10 "${kmake[@]}" -C "$src" O="$out" -j"$jobs" modules_prepare \
	>>"$out/.log" 2>&1 ||
	{ tail -30 "$out/.log" >&2; lol_die "ia64 kernel: modules_prepare failed"; }
touch "$out/.done"
lol_msg "ia64 kernel: prepared in $((SECONDS - start)) s" >&2
printf '%s\n' "$out"

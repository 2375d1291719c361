#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the root of a (partial) linux-source-6.1 tree under
# $LOL_CACHE/ksrc/, extracting from /usr/src/linux-source-6.1.tar.xz what
# is missing: by default only the kselftest headers and checkpatch.pl with
# its data files (one pass over the xz tarball, ~10 s, once); with --full,
# the whole tree (for building a debug kernel). Progress goes to stderr,
# the root directory alone to stdout:  KSRC=$(scripts/ksrc.sh)
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

full=0
case ${1:-} in
-h | --help)
	sed -n '4,10s/^# \{0,1\}//p' "$0"
	echo "Environment: LOL_CACHE (default ~/.cache/lol), LOL_KSRC_TARBALL."
	exit 0
	;;
--full) full=1 ;;
'') ;;
*) echo "usage: $0 [--full]" >&2; exit 2 ;;
esac

LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
tarball=${LOL_KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
top=linux-source-6.1
base=$LOL_CACHE/ksrc
root=$base/$top
members=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

have_all() {
	local m

	[ "$full" = 0 ] || [ -f "$root/.full" ] || return 1
	for m in "${members[@]}"; do
		[ -f "$root/$m" ] || return 1
	done
}

if have_all; then
	printf '%s\n' "$root"
	exit 0
fi

[ -f "$tarball" ] || lol_die "no $tarball (install linux-source-6.1: make deps)"
mkdir -p "$base"
tmp=$(mktemp -d "$base/.x.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ "$full" = 1 ]; then
	lol_msg "extracting all of $tarball (a few minutes)" >&2
	tar -xJf "$tarball" -C "$tmp"
	touch "$tmp/$top/.full"
	rm -rf "$root"
	mv "$tmp/$top" "$root"
else
	lol_msg "extracting ${#members[@]} files from $tarball (~10 s, once)" >&2
	tar -xJf "$tarball" -C "$tmp" "${members[@]/#/$top/}"
	for m in "${members[@]}"; do
		mkdir -p "$(dirname "$root/$m")"
		mv -f "$tmp/$top/$m" "$root/$m"
	done
fi
printf '%s\n' "$root"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make guest: build User-Mode Linux with lol's guest patch, once, cached
# outside git in $LOL_CACHE/guest/:
#
#   src/    a hard-linked copy of linux-source-6.1 (scripts/ksrc.sh --full)
#           with guest-patch/series applied (patch(1) replaces a file it
#           changes, so the shared extraction is never written)
#   obj/    the O= build: .config (defconfig + guest-patch/uml.config),
#           vmlinux, linux
#   linux   the UML binary, stripped (static: it runs in the VM's
#           initramfs with no shared libraries)
#
# Rebuilt only when the series, the patches, the config fragment, lol's
# uapi headers, the kernel source or the compiler change (a hash of them is
# kept in obj/.lol-key). Prints, on stdout, a line for eval:
# LOL_UML=<path of the binary>.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

# Bump when the recipe below changes in a way the key cannot see.
recipe=1

usage() {
	cat <<EOF
usage: $0 [--print] [--force] [-h|--help]

Builds (when its inputs changed) User-Mode Linux from Debian's
linux-source-6.1 with guest-patch/series applied and prints
LOL_UML=<binary> for eval.

  --print   build nothing: print the binary when it is built and current,
            exit 1 otherwise
  --force   rebuild even when the key matches

Environment: LOL_CACHE (default ~/.cache/lol), LOL_JOBS (default nproc).
Progress goes to stderr, the build log to \$LOL_CACHE/guest/build.log.
EOF
}

print=0 force=0
while [ $# -gt 0 ]; do
	case $1 in
	--print) print=1 ;;
	--force) force=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
jobs=${LOL_JOBS:-$(nproc)}
tarball=${LOL_KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
gp=$LOL_ROOT/guest-patch
frag=$gp/uml.config
base=$LOL_CACHE/guest
src=$base/src
obj=$base/obj
out=$base/linux
blog=$base/build.log
umake=(make ARCH=um KBUILD_BUILD_USER=lol KBUILD_BUILD_HOST=lol
	"CFLAGS=-I$LOL_ROOT/uapi -I$LOL_ROOT/uapi/arch/x86")

msg() {
	lol_msg "guest: $*" >&2
}

[ -f "$gp/series" ] || lol_die "no $gp/series"
[ -f "$frag" ] || lol_die "no $frag"
[ -f "$tarball" ] || lol_die "no $tarball (make deps installs linux-source-6.1)"
mapfile -t patches < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$gp/series")
for p in "${patches[@]}"; do
	[ -f "$gp/$p" ] || lol_die "series names $p, which is not in $gp"
done

key=$({
	echo "recipe $recipe"
	stat -Lc 'tarball %s %Y' "$tarball"
	gcc --version | head -n1
	cat "$frag" "$gp/series" "$LOL_ROOT/uapi/linux/lol.h" \
		"$LOL_ROOT/uapi/arch/x86/asm/lol.h"
	for p in "${patches[@]}"; do cat "$gp/$p"; done
} | sha256sum | cut -c1-16)

current() {
	[ -f "$obj/.lol-key" ] && [ "$(cat "$obj/.lol-key")" = "$key" ] &&
		[ -x "$out" ]
}

if [ "$print" = 1 ]; then
	current || exit 1
	printf 'LOL_UML=%s\n' "$out"
	exit 0
fi

mkdir -p "$base"
exec 9>"$base/.lock"
if ! flock -n 9; then
	msg "waiting for another build (lock $base/.lock)"
	flock 9
fi

if [ "$force" = 0 ] && current; then
	msg "UML up to date: $out"
	printf 'LOL_UML=%s\n' "$out"
	exit 0
fi

t0=$SECONDS
ksrc=$(LOL_CACHE=$LOL_CACHE "$LOL_ROOT/scripts/ksrc.sh" --full)
: >"$blog"
rm -f "$obj/.lol-key"

# The patched tree: the series changed, or the source did. A fresh
# hard-linked copy costs a few seconds; patch(1) writes each file it
# changes anew (breaking the link), so the extraction stays pristine.
srckey=$({ stat -Lc '%s %Y' "$tarball"; cat "$gp/series"; for p in "${patches[@]}"; do cat "$gp/$p"; done; } | sha256sum | cut -c1-16)
if ! [ -f "$src/.lol-srckey" ] || [ "$(cat "$src/.lol-srckey")" != "$srckey" ]; then
	msg "applying ${#patches[@]} patch(es) to a copy of $(make -s -C "$ksrc" kernelversion)"
	rm -rf "$src"
	cp -al "$ksrc" "$src"
	for p in "${patches[@]}"; do
		patch -d "$src" -p1 -s --no-backup-if-mismatch <"$gp/$p" >>"$blog" 2>&1 ||
			lol_die "$p does not apply (see $blog)"
	done
	printf '%s\n' "$srckey" >"$src/.lol-srckey"
	# A new tree: object files of the old one must not be reused.
	rm -rf "$obj"
fi

mkdir -p "$obj"
msg "configuring (defconfig + $(basename "$frag"))"
"${umake[@]}" -C "$src" O="$obj" defconfig >>"$blog" 2>&1 ||
	lol_die "make defconfig failed (see $blog)"
(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "$frag") >>"$blog" 2>&1 ||
	lol_die "merge_config.sh failed (see $blog)"
"${umake[@]}" -C "$src" O="$obj" olddefconfig >>"$blog" 2>&1 ||
	lol_die "make olddefconfig failed (see $blog)"
lol_check_config "$obj/.config" "$frag"

msg "building UML with -j$jobs (first build: ~4 min on 2 cores; log $blog)"
(while sleep 30 && kill -0 $$ 2>/dev/null; do
	msg "... $(grep -c '^  CC ' "$blog") files compiled after $((SECONDS - t0)) s"
done) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
if ! "${umake[@]}" -C "$src" O="$obj" -j"$jobs" linux >>"$blog" 2>&1; then
	grep -E 'error|Error' "$blog" | head -n 20 >&2
	lol_die "UML build failed (see $blog)"
fi
kill $ticker 2>/dev/null || true
trap - EXIT

strip -o "$out.tmp" "$obj/linux"
mv "$out.tmp" "$out"
printf '%s\n' "$key" >"$obj/.lol-key"
msg "UML built in $((SECONDS - t0)) s: $out ($(lol_size "$out"))"
printf 'LOL_UML=%s\n' "$out"

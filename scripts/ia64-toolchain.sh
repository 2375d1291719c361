#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the bin/ directory of a C-only ia64-linux-gnu cross gcc, building
# it first if the cache lacks it. Debian 12 packages binutils for ia64 but
# no cross gcc, so gcc is built from Debian's own gcc-12-source with
# binutils-ia64-linux-gnu as its assembler and linker: `all-gcc` only, no
# libgcc (an ia64 kernel links no libgcc: arch/ia64/lib has its own
# division helpers, and a module is never linked against a libgcc).
# Extraction, configure and all-gcc take 25-35 minutes on 2 cores, once
# per package versions:
#
#   $LOL_CACHE/ia64-toolchain/<gcc-12-source ver>_<binutils ver>/bin
#
# Progress goes to stderr, the bin/ directory alone to stdout:
#   PATH=$(scripts/ia64-toolchain.sh):$PATH
# With --cached: print it and exit 0 if it is built, exit 1 if not
# (.ci/run asks before it commits to a cold build).
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	sed -n '4,18s/^# \{0,1\}//p' "$0"
	echo "Environment: LOL_CACHE (default ~/.cache/lol), LOL_JOBS (default 2)."
}
cached_only=
case ${1:-} in
--cached) cached_only=1 ;;
*) lol_no_args "$@" ;;
esac

target=ia64-linux-gnu
LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
jobs=${LOL_JOBS:-2}
pkgs=(gcc-12-source "binutils-$target" g++ libgmp-dev libmpfr-dev libmpc-dev
      flex bison xz-utils patch)

pkgver() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null
}

key_of() {
	printf '%s_%s' "$(pkgver gcc-12-source)" "$(pkgver "binutils-$target")"
}
if [ -n "$cached_only" ]; then
	# --cached: exit 0 if the compiler for the installed packages is
	# built (and print its bin/), 1 otherwise; installs and builds nothing.
	prefix=$LOL_CACHE/ia64-toolchain/$(key_of)
	[ -x "$prefix/bin/$target-gcc" ] && [ -f "$prefix/.done" ] || exit 1
	printf '%s\n' "$prefix/bin"
	exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
	[ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" = \
		"install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	lol_msg "installing ${missing[*]}" >&2
	lol_sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		{ lol_sudo apt-get update >&2 &&
		  lol_sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
fi

key=$(key_of)
prefix=$LOL_CACHE/ia64-toolchain/$key
if [ -x "$prefix/bin/$target-gcc" ] && [ -f "$prefix/.done" ]; then
	printf '%s\n' "$prefix/bin"
	exit 0
fi

src=/usr/src/gcc-12
tarball=$(ls "$src"/gcc-12*.tar.xz)
work=$LOL_CACHE/ia64-toolchain/.build-$key
rm -rf "$work" "$prefix"
mkdir -p "$work"
# The object tree is large (~1 GiB) and only the installed compiler is
# kept: the work tree goes on any exit, success or not.
trap 'rm -rf "$work"' EXIT

lol_msg "ia64 gcc: extracting $(basename "$tarball")" >&2
tar -xJf "$tarball" -C "$work"
srcdir=$(echo "$work"/gcc-*)
# Debian's tarball has the GFDL manuals removed; without this the build
# wants to regenerate tm.texi from them. Its paths are a/src/gcc/...
lol_msg "ia64 gcc: applying Debian's gcc-gfdl-build.diff" >&2
patch -d "$srcdir" -p2 -s <"$src/patches/gcc-gfdl-build.diff"

mkdir -p "$work/obj" "$prefix/bin"
# binutils come from Debian (/usr/bin/ia64-linux-gnu-*); links in the
# prefix let gcc's driver and CROSS_COMPILE find them side by side.
for t in as ld ar nm objcopy objdump readelf strip ranlib size; do
	ln -s "/usr/bin/$target-$t" "$prefix/bin/$target-$t"
done

lol_msg "ia64 gcc: configuring" >&2
(cd "$work/obj" &&
	"$srcdir/configure" --target="$target" --prefix="$prefix" \
		--with-as="/usr/bin/$target-as" --with-ld="/usr/bin/$target-ld" \
		--enable-languages=c --without-headers --with-newlib \
		--disable-shared --disable-threads --disable-multilib \
		--disable-nls --disable-bootstrap --disable-libssp \
		--disable-libquadmath --disable-libgomp --disable-libatomic \
		--disable-libsanitizer --disable-libvtv --disable-libitm \
		--disable-plugin --disable-lto --disable-werror) \
	>"$work/configure.log" 2>&1 ||
	{ tail -30 "$work/configure.log" >&2; lol_die "ia64 gcc: configure failed"; }

lol_msg "ia64 gcc: make -j$jobs all-gcc (20-30 minutes on 2 cores)" >&2
start=$SECONDS
(cd "$work/obj" && nice -n 10 make -j"$jobs" all-gcc) >"$work/make.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 30
	kill -0 "$pid" 2>/dev/null || break
	lol_msg "ia64 gcc: building, $((SECONDS - start)) s," \
		"$(find "$work/obj/gcc" -name '*.o' 2>/dev/null | wc -l) objects" >&2
done
wait "$pid" || { tail -30 "$work/make.log" >&2; lol_die "ia64 gcc: make all-gcc failed"; }

lol_msg "ia64 gcc: make install-gcc" >&2
(cd "$work/obj" && make install-gcc) >"$work/install.log" 2>&1 ||
	{ tail -30 "$work/install.log" >&2; lol_die "ia64 gcc: make install-gcc failed"; }
"$prefix/bin/$target-gcc" --version | head -1 >&2
touch "$prefix/.done"
lol_msg "ia64 gcc: built in $((SECONDS - start)) s into $prefix" >&2
printf '%s\n' "$prefix/bin"

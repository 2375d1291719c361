#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-ia64: the IA-64 port, compile-checked. Builds (once, cached)
# a C cross gcc from Debian's gcc-12-source (scripts/ia64-toolchain.sh)
# and an ia64 kernel tree from linux-source-6.1 up to modules_prepare
# (scripts/ia64-kernel.sh), then lol.ko for ia64 with -Werror from a copy
# of the module sources in $BUILD/ia64 (so that the x86 objects in the
# tree are left alone), and lists the symbols lol.ko needs that 6.1 does
# not export (the kernel tree has no Module.symvers to check against).
#
# Userspace is not built: Debian 12 has no C library for ia64 (it is a
# debian-ports architecture), so nothing can be compiled against libc.
# What userspace sees of lol, the uapi layout, is checked at compile time
# against the kernel's uapi headers (selftests/ia64/abi_check.c).
# No ia64 machine or simulator is packaged either: nothing is run.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	sed -n '4,17s/^# \{0,1\}//p' "$0"
	echo "Environment: LOL_CACHE, BUILD (default ./build), LOL_JOBS."
}
lol_no_args "$@"

BUILD=${BUILD:-$LOL_ROOT/build}
LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
start=$SECONDS
bin=$("$LOL_ROOT/scripts/ia64-toolchain.sh")
kdir=$("$LOL_ROOT/scripts/ia64-kernel.sh")
export PATH="$bin:$PATH"
lol_msg "ia64: toolchain and kernel ready after $((SECONDS - start)) s"

obj=$BUILD/ia64
rm -rf "$obj"
mkdir -p "$obj"
(cd "$LOL_ROOT" && cp -r Kbuild VERSION module uapi "$obj/")
find "$obj" \( -name '*.o' -o -name '*.cmd' -o -name '*.mod*' \) -delete

lol_msg "ia64: lol.ko (LOL_WERROR=1)"
nice -n 10 make -C "$kdir" ARCH=ia64 CROSS_COMPILE=ia64-linux-gnu- \
	M="$obj" LOL_WERROR=1 -j"${LOL_JOBS:-2}" modules
file "$obj/lol.ko" | grep -q 'IA-64' || lol_die "ia64: $obj/lol.ko is not an IA-64 object"

# The uapi layout for ia64 userspace (the run page, the registers): the
# compiler and the kernel's uapi headers are enough, without a libc.
lol_msg "ia64: uapi layout (selftests/ia64/abi_check.c)"
if [ ! -f "$kdir/usr/include/linux/types.h" ]; then
	# The sanitized uapi headers, as a libc would ship them (once).
	nice -n 10 make -C "$kdir" ARCH=ia64 CROSS_COMPILE=ia64-linux-gnu- \
		headers >/dev/null
fi
ia64-linux-gnu-gcc -std=gnu11 -Wall -Wextra -Werror -c -o "$obj/abi_check.o" \
	-nostdinc -isystem "$(ia64-linux-gnu-gcc -print-file-name=include)" \
	-I"$LOL_ROOT/uapi" -I"$LOL_ROOT/uapi/arch/ia64" -I"$kdir/usr/include" \
	"$LOL_ROOT/selftests/ia64/abi_check.c"

# What lol.ko needs from the kernel that 6.1 does not export. The kernel
# resolves what lol looks up by kprobe at run time; these are link-time.
exports=$LOL_CACHE/ia64-kernel/exports.txt
if [ ! -s "$exports" ]; then
	src=$("$LOL_ROOT/scripts/ksrc.sh" --full)
	grep -rhoE --include='*.[chS]' \
		'EXPORT_SYMBOL(_GPL)?(_NS(_GPL)?)? *\( *[A-Za-z0-9_]+' "$src" |
		sed 's/.*( *//' | sort -u >"$exports.tmp"
	mv "$exports.tmp" "$exports"
fi
# (param_ops_* are exported through a macro, EXPORT_SYMBOL(param_ops_##name).)
missing=$(ia64-linux-gnu-nm -u "$obj/lol.ko" | awk '{ print $2 }' | sort -u |
	  comm -23 - "$exports" | grep -v '^param_ops_' || true)
# A symbol of lol's own that is not defined is a port missing a piece of
# an interface (lol.h): an error, not a warning.
own=$(grep -E '^lol_' <<<"$missing" || true)
if [ -n "$own" ]; then
	lol_die "ia64: lol.ko leaves lol's own symbols undefined (a port interface not implemented): $(echo $own)"
fi
if [ -n "$missing" ]; then
	lol_warn "ia64: lol.ko needs symbols 6.1 does not export (loading needs them exported, Documentation/arch.md):"
	while read -r sym; do
		printf '  %s\n' "$sym" >&2
	done <<<"$missing"
fi
lol_msg "ia64: $obj/lol.ko built, $(stat -c %s "$obj/lol.ko") bytes, in $((SECONDS - start)) s"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once, cached) the debug kernel of `make check-debug` and `make fuzz`
# and lol.ko against it, outside git, in $LOL_CACHE/debug-kernel/:
#
#   src:    scripts/ksrc.sh --full (linux-source-6.1 from Debian's tarball)
#   config: make ARCH=x86_64 tinyconfig + scripts/debug-kernel.config,
#           merged with scripts/kconfig/merge_config.sh, then checked: every
#           option of the fragment must be in the merged .config
#   obj/    O= build directory: bzImage, vmlinux, Module.symvers
#   lolmod/ a copy of Kbuild, module/ and uapi/ built with M= against obj/
#           (the repository's own lol.ko, the one `make check` loads, is
#           never touched)
#
# The kernel is rebuilt only when the fragment, the kernel source, the
# compiler or this script's recipe changes (a hash of them is kept in
# obj/.lol-key); the module is rebuilt by Kbuild when its sources change.
# Prints, on stdout, lines for eval:  LOL_KERNEL=...  LOL_MODULE=...
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

# Bump when the build recipe below changes in a way the key cannot see.
recipe=1

usage() {
	cat <<EOF
usage: $0 [--kernel-only] [--print] [--force] [-h|--help]

Builds the debug kernel (when its inputs changed) and lol.ko against it;
prints LOL_KERNEL=<bzImage> and LOL_MODULE=<lol.ko> for eval.

  --kernel-only  build (if needed) and print only LOL_KERNEL
  --print        build nothing: print what is already built and current,
                 exit 1 when the kernel is missing or stale
  --force        rebuild the kernel even when the key matches

Environment: LOL_CACHE (default ~/.cache/lol), LOL_JOBS (default nproc),
LOL_DEBUG_CONFIG (fragment, default scripts/debug-kernel.config).
Progress goes to stderr; the build log to \$LOL_CACHE/debug-kernel/build.log.
EOF
}

kernel_only=0 print=0 force=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-only) kernel_only=1 ;;
	--print) print=1 ;;
	--force) force=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
frag=${LOL_DEBUG_CONFIG:-$LOL_ROOT/scripts/debug-kernel.config}
jobs=${LOL_JOBS:-$(nproc)}
tarball=${LOL_KSRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
base=$LOL_CACHE/debug-kernel
obj=$base/obj
mod=$base/lolmod
blog=$base/build.log
kmake=(make ARCH=x86_64 KBUILD_BUILD_USER=lol KBUILD_BUILD_HOST=lol)

msg() {
	lol_msg "debug-kernel: $*" >&2
}

[ -f "$frag" ] || lol_die "no config fragment $frag"
[ -f "$tarball" ] || lol_die "no $tarball (make deps installs linux-source-6.1)"

# The key: everything that changes the kernel binary.
key=$({
	echo "recipe $recipe"
	stat -Lc 'tarball %s %Y' "$tarball"
	dpkg-query -W -f='${Version}\n' linux-source-6.1 2>/dev/null || true
	gcc --version | head -n1
	cat "$frag"
} | sha256sum | cut -c1-16)

bzimage=$obj/arch/x86/boot/bzImage
current() {
	[ -f "$obj/.lol-key" ] && [ "$(cat "$obj/.lol-key")" = "$key" ] &&
		[ -f "$bzimage" ] && [ -f "$obj/Module.symvers" ]
}

if [ "$print" = 1 ]; then
	current || exit 1
	printf 'LOL_KERNEL=%s\n' "$bzimage"
	if [ "$kernel_only" = 0 ]; then
		[ -f "$mod/lol.ko" ] || exit 1
		printf 'LOL_MODULE=%s\n' "$mod/lol.ko"
	fi
	exit 0
fi

mkdir -p "$base"
# One builder at a time (sessions share the cache).
exec 9>"$base/.lock"
if ! flock -n 9; then
	msg "waiting for another build (lock $base/.lock)"
	flock 9
fi

check_config() {
	lol_check_config "$1" "$frag"
}

if [ "$force" = 1 ] || ! current; then
	t0=$SECONDS
	src=$(LOL_CACHE=$LOL_CACHE "$LOL_ROOT/scripts/ksrc.sh" --full)
	kver=$(make -s -C "$src" kernelversion)
	# A new source tree (or a half-done build of an old one): start over.
	if [ -f "$obj/.lol-src" ] && [ "$(cat "$obj/.lol-src")" != "$kver $(stat -Lc '%s %Y' "$tarball")" ]; then
		msg "kernel source changed: removing $obj"
		rm -rf "$obj"
	fi
	mkdir -p "$obj"
	printf '%s %s\n' "$kver" "$(stat -Lc '%s %Y' "$tarball")" >"$obj/.lol-src"
	rm -f "$obj/.lol-key"

	msg "configuring $kver in $obj (tinyconfig + $(basename "$frag"))"
	: >"$blog"
	"${kmake[@]}" -C "$src" O="$obj" tinyconfig >>"$blog" 2>&1 ||
		lol_die "make tinyconfig failed (see $blog)"
	(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "$frag") >>"$blog" 2>&1 ||
		lol_die "merge_config.sh failed (see $blog)"
	"${kmake[@]}" -C "$src" O="$obj" olddefconfig >>"$blog" 2>&1 ||
		lol_die "make olddefconfig failed (see $blog)"
	check_config "$obj/.config"
	msg "config ok: all $(grep -c '^CONFIG_' "$frag") options set ($(grep -c '^CONFIG_' "$obj/.config") in .config)"

	msg "building bzImage with -j$jobs (first build: ~12 min on 2 cores, ~1,000 files; log $blog)"
	# modules_prepare builds what M= builds need; Module.symvers is made
	# from vmlinux's exports (no in-tree module, kvm.ko included, is built).
	# A line a minute, so that a long build does not look hung; the
	# ticker stops with this script (the build stays in the foreground,
	# where Ctrl-C reaches it).
	(while sleep 60 && kill -0 $$ 2>/dev/null; do
		msg "... $(grep -c '^  CC ' "$blog") files compiled after $((SECONDS - t0)) s"
	done) &
	ticker=$!
	trap 'kill $ticker 2>/dev/null || true' EXIT
	if ! "${kmake[@]}" -C "$src" O="$obj" -j"$jobs" bzImage modules_prepare >>"$blog" 2>&1; then
		tail -n 40 "$blog" >&2
		lol_die "kernel build failed (see $blog)"
	fi
	kill $ticker 2>/dev/null || true
	trap - EXIT
	cp "$obj/vmlinux.symvers" "$obj/Module.symvers"
	# The build may have dropped nothing, but check the final config too.
	check_config "$obj/.config"
	grep -q ' refcount_warn_saturate$' "$obj/System.map" ||
		lol_die "no refcount_warn_saturate in System.map: refcount checking missing?"
	printf '%s\n' "$key" >"$obj/.lol-key"
	msg "kernel $(lol_bzimage_version "$bzimage") built in $((SECONDS - t0)) s: $bzimage ($(lol_size "$bzimage"))"
else
	msg "kernel up to date: $bzimage ($(lol_bzimage_version "$bzimage"))"
fi
printf 'LOL_KERNEL=%s\n' "$bzimage"
[ "$kernel_only" = 1 ] && exit 0

# The module: a copy of its sources (mtimes kept, so Kbuild rebuilds only
# what changed), built against obj/.
t0=$SECONDS
mkdir -p "$mod"
(cd "$LOL_ROOT" && { echo Kbuild; echo VERSION; find module uapi -type f \( -name '*.[ch]' -o -name Makefile -o -name Kbuild \); } |
	sort | tar -cf - --no-recursion -T -) | tar -xpf - -C "$mod"
# Sources removed from the repository disappear from the copy too.
(cd "$mod" && find module uapi -type f -name '*.[ch]') | while read -r f; do
	[ -e "$LOL_ROOT/$f" ] || rm -f "$mod/$f"
done
if ! "${kmake[@]}" -C "$obj" M="$mod" LOL_WERROR=1 -j"$jobs" modules >"$base/module.log" 2>&1; then
	cat "$base/module.log" >&2
	lol_die "lol.ko failed to build against the debug kernel"
fi
if grep -q 'WARNING: modpost' "$base/module.log"; then
	grep 'WARNING: modpost' "$base/module.log" >&2
	lol_die "modpost warnings building lol.ko against the debug kernel"
fi
msg "module $mod/lol.ko ($(lol_module_release "$mod/lol.ko"), $((SECONDS - t0)) s)"
printf 'LOL_MODULE=%s\n' "$mod/lol.ko"

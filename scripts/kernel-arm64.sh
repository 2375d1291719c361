#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deps for ARCH=arm64: Debian's arm64 kernel of the same release as
# the amd64 one (scripts/kver.sh with LOL_ARCH=arm64), ready to build
# lol.ko against and to boot in QEMU, in $LOL_CACHE/kernel/$KVER/:
#   boot/vmlinuz-$KVER  the image (and config, System.map)
#   build/              linux-headers-$KVER: the kbuild tree (its scripts
#                       are this machine's linux-kbuild-6.1), Module.symvers
#   busybox             busybox-static for the VM's initramfs
# Idempotent: a no-op when it is all there.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '4,11s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
KVER=${KVER:-$(LOL_ARCH=arm64 "$LOL_ROOT/scripts/kver.sh")}
case $KVER in
*-arm64) ;;
*) lol_die "KVER=$KVER is not an arm64 release" ;;
esac
dir=$LOL_CACHE/kernel/$KVER
if [ -f "$dir/.ready" ]; then
	lol_msg "kernel: $dir/boot/vmlinuz-$KVER"
	exit 0
fi

# The headers package's Makefile includes the arch-independent -common
# tree, and its scripts are the host's linux-kbuild-6.1.
common=/usr/src/linux-headers-${KVER%-arm64}-common
need=()
[ -d "$common" ] || need+=("linux-headers-${KVER%-arm64}-common")
[ -d /usr/lib/linux-kbuild-6.1 ] || need+=(linux-kbuild-6.1)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	lol_msg "dpkg --add-architecture arm64"
	lol_sudo dpkg --add-architecture arm64
	lol_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
	lol_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}"
fi

mkdir -p "$LOL_CACHE/kernel"
tmp=$(mktemp -d "$LOL_CACHE/kernel/.dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pkgs=("linux-image-$KVER-unsigned:arm64" "linux-headers-$KVER:arm64"
	busybox-static:arm64)
lol_msg "downloading ${pkgs[*]}"
# apt-get download as root warns that _apt cannot write here: harmless.
get() {
	(cd "$tmp" && apt-get download -qq "${pkgs[@]}" 2>&1 |
		grep -v 'unsandboxed as root' >&2; exit "${PIPESTATUS[0]}")
}
if ! get; then
	lol_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	get || lol_die "cannot download ${pkgs[*]} (is $KVER still in the archive?)"
fi

mkdir -p "$tmp/img" "$tmp/hdr" "$tmp/bb"
dpkg-deb --fsys-tarfile "$tmp"/linux-image-"$KVER"-unsigned_*.deb |
	tar -x -C "$tmp/img" ./boot
[ -s "$tmp/img/boot/vmlinuz-$KVER" ] || lol_die "no boot/vmlinuz-$KVER in the image package"
dpkg-deb -x "$tmp"/linux-headers-"$KVER"_*.deb "$tmp/hdr"
h=$tmp/hdr/usr/src/linux-headers-$KVER
[ -f "$h/Module.symvers" ] || lol_die "no Module.symvers in linux-headers-$KVER"
# Relative links into /usr/lib in the package: absolute ones here.
for l in scripts tools; do
	rm -f "$h/$l"
	ln -s "/usr/lib/linux-kbuild-6.1/$l" "$h/$l"
done
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/bb"
[ -x "$tmp/bb/bin/busybox" ] || lol_die "no bin/busybox in busybox-static:arm64"

rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp/img/boot" "$dir/boot"
mv "$h" "$dir/build"
mv "$tmp/bb/bin/busybox" "$dir/busybox"
touch "$dir/.ready"
lol_msg "kernel: $dir/boot/vmlinuz-$KVER, build tree $dir/build"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deps: install the Debian 12 packages lol needs (only the missing ones;
# `apt-get update` first when something must be installed), then put the
# Debian kernel image matching the headers into the cache:
#   $LOL_CACHE/kernel/$KVER/boot/vmlinuz-$KVER  (also config, System.map)
# With LOL_ARCH=arm64 (make ... ARCH=arm64) the kernel is Debian's arm64
# one instead, with its headers and busybox (scripts/kernel-arm64.sh).
# Idempotent: a no-op when everything is there.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '4,10s/^# \{0,1\}//p' "$0"
	echo "Environment: KVER (default: scripts/kver.sh), LOL_CACHE (default ~/.cache/lol)."
	exit 0
	;;
esac

export DEBIAN_FRONTEND=noninteractive
LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}

pkgs=(gcc libc6-dev make linux-headers-amd64 linux-source-6.1 qemu-system-x86
	busybox-static cpio kmod xz-utils sparse flex bison bc libelf-dev
	libssl-dev libnl-genl-3-dev pkg-config perl patch gnuplot-nox dkms
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm)
arm64=0
case ${LOL_ARCH:-} in
arm64 | aarch64) arm64=1 ;;
esac
# A KVER given from outside (make KVER=...) needs its own headers.
if [ "$arm64" = 0 ] && [ -n "${KVER:-}" ] && ! [ -d "/usr/src/linux-headers-$KVER" ]; then
	pkgs+=("linux-headers-$KVER")
fi

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

updated=0
apt_update() {
	if [ "$updated" = 0 ]; then
		lol_msg "apt-get update"
		lol_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		updated=1
	fi
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	lol_msg "installing ${missing[*]}"
	lol_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
else
	lol_msg "packages: all ${#pkgs[@]} installed"
fi

if [ "$arm64" = 1 ]; then
	exec "$LOL_ROOT/scripts/kernel-arm64.sh"
fi

# Only now is the release certain (the headers metapackage may be new).
KVER=${KVER:-$("$LOL_ROOT/scripts/kver.sh")}
[ -d "/usr/src/linux-headers-$KVER" ] ||
	lol_die "no /usr/src/linux-headers-$KVER after install"

dir=$LOL_CACHE/kernel/$KVER
img=$dir/boot/vmlinuz-$KVER
if [ -s "$img" ]; then
	lol_msg "kernel: $img"
	exit 0
fi

pkg=linux-image-$KVER-unsigned
mkdir -p "$LOL_CACHE/kernel"
tmp=$(mktemp -d "$LOL_CACHE/kernel/.dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
lol_msg "downloading $pkg"
# apt-get download as root warns that _apt cannot write here: harmless.
if ! (cd "$tmp" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2; exit "${PIPESTATUS[0]}"); then
	apt_update
	(cd "$tmp" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2; exit "${PIPESTATUS[0]}") ||
		lol_die "cannot download $pkg (is $KVER still in the archive? 'apt-get install --only-upgrade linux-headers-amd64' moves to the current release)"
fi
deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
[ -n "$deb" ] || lol_die "apt-get download left no .deb for $pkg"

# Only ./boot is needed (vmlinuz, config, System.map); the ~400 MB of
# modules stay in the .deb, which is kept next to the tree.
lol_msg "extracting $(basename "$deb") boot/ into $dir"
mkdir -p "$tmp/x"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" ./boot
[ -s "$tmp/x/boot/vmlinuz-$KVER" ] || lol_die "$deb has no boot/vmlinuz-$KVER"
rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp/x/boot" "$dir/boot"
mv "$deb" "$dir/"
lol_msg "kernel: $img"

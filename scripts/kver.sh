#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel release lol is built and tested against, e.g.
# 6.1.0-56-amd64 (with LOL_ARCH=arm64: 6.1.0-56-arm64, the same release
# of Debian's arm64 flavour): the one the installed linux-headers-amd64 metapackage
# depends on (`uname -r` says nothing useful: tests boot Debian's kernel in
# QEMU). When the metapackage is not installed yet, print the release its
# apt candidate would pull in, so `make deps` can run first.
set -euo pipefail

# The arm64 flavour of the same release (scripts/kernel-arm64.sh).
case ${LOL_ARCH:-} in
arm64 | aarch64)
	v=$(LOL_ARCH='' "$0" "$@")
	printf '%s\n' "${v%-amd64}-arm64"
	exit 0
	;;
esac

case ${1:-} in
-h | --help)
	sed -n '4,8s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56-amd64"
release_of() {
	sed -n 's/^\(.*[, ]\)\{0,1\}linux-headers-\([0-9][^ ,|]*\).*/\2/p' | head -n1
}

status=$(dpkg-query -W -f='${db:Status-Status}' linux-headers-amd64 2>/dev/null || true)
if [ "$status" = installed ]; then
	v=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | release_of)
	if [ -n "$v" ]; then
		printf '%s\n' "$v"
		exit 0
	fi
fi

candidate() {
	apt-cache show --no-all-versions linux-headers-amd64 2>/dev/null |
		sed -n 's/^Depends: //p' | release_of
}

v=$(candidate)
if [ -z "$v" ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -n1)" ]; then
	# A fresh machine whose package lists were never fetched.
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >&2 || true
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n apt-get update -qq >&2 || true
	fi
	v=$(candidate)
fi
if [ -z "$v" ]; then
	# Last resort: the newest Debian amd64 headers tree on disk.
	v=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' 2>/dev/null |
		sed 's/^linux-headers-//' | sort -V | tail -n1)
fi
if [ -z "$v" ]; then
	echo "kver.sh: cannot find linux-headers-amd64 (installed or in apt); run scripts/deps.sh" >&2
	exit 1
fi
printf '%s\n' "$v"

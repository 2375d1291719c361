#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Pack a tiny initramfs: static busybox with its applet links, the harness
# init (scripts/qemu/init), a guest script that init runs, and payload
# directories copied over the root. Shared libraries of dynamically linked
# payload executables are found with ldd and copied to the same paths, so
# test binaries and tools may be static or dynamic.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<EOF
usage: $0 -o OUT -s GUEST_SCRIPT [-p PAYLOAD_DIR]... [-z]

  -o OUT           initramfs to write (newc cpio)
  -s SCRIPT        shell script the guest init runs, as /lol/guest.sh
  -p DIR           copy DIR's contents over the initramfs root (repeatable);
                   e.g. a DIR holding lol.ko and lol/tests/... gives /lol.ko
                   and /lol/tests/...
  -z               gzip the archive (default: uncompressed, which boots
                   faster under TCG)
  -h, --help       this text

Guest layout: /init, /bin/busybox + links, /lol/guest.sh, /lol/guest-lib.sh
(helpers the guest scripts source), /lol/env (from a payload, optional:
sourced by init), /lol/bin (on PATH), /lol/lib (on LD_LIBRARY_PATH), /tmp
(tmpfs).
EOF
}

out='' script='' gz=0
payloads=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-s) script=$2; shift 2 ;;
	-p) payloads+=("$2"); shift 2 ;;
	-z) gz=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "$out" ] || [ -z "$script" ]; then
	usage >&2
	exit 2
fi
[ -f "$script" ] || lol_die "no guest script $script"

# The guest's busybox: LOL_BUSYBOX for another arch's (arm64: the one
# scripts/kernel-arm64.sh keeps), else this machine's. The applet list
# comes from this machine's, which runs here (Debian builds both alike).
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || lol_die "no static busybox (install busybox-static: make deps)"
host_busybox=$busybox
if [ -n "${LOL_BUSYBOX:-}" ]; then
	[ -f "$LOL_BUSYBOX" ] || lol_die "no busybox at LOL_BUSYBOX=$LOL_BUSYBOX (make deps)"
	busybox=$LOL_BUSYBOX
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/lol-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,lol/bin}
install -m 0755 "$busybox" "$stage/bin/busybox"
"$host_busybox" --list-full | while read -r applet; do
	[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
install -m 0755 "$LOL_QEMU_DIR/init" "$stage/init"
install -m 0755 "$script" "$stage/lol/guest.sh"
install -m 0644 "$LOL_QEMU_DIR/guest-lib.sh" "$stage/lol/guest-lib.sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"

for p in "${payloads[@]}"; do
	[ -d "$p" ] || lol_die "payload $p is not a directory"
	cp -a "$p/." "$stage/"
done

# Libraries (and the ELF interpreter) of dynamic executables in the payload.
is_elf() {
	[ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]
}
libs=$(mktemp "${TMPDIR:-/tmp}/lol-libs.XXXXXX")
trap 'rm -rf "$stage" "$libs"' EXIT
find "$stage" -type f ! -name '*.ko' ! -path "$stage/bin/busybox" -perm -u+x |
	while read -r f; do
		is_elf "$f" || continue
		# ldd fails on static binaries; ignore that.
		LD_LIBRARY_PATH="$stage/lol/lib" ldd "$f" 2>/dev/null | awk '
			/=> not found/ { print "missing " $1; next }
			/=> \// { print $3; next }
			/^[ \t]*\// { print $1 }' || true
	done | sort -u >"$libs"
while read -r lib; do
	case $lib in
	'' | "$stage"/*) continue ;;
	missing\ *) lol_die "no library ${lib#missing } for a payload binary" ;;
	esac
	[ -e "$stage$lib" ] && continue
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done <"$libs"

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --reproducible --quiet) >"$tmp"
if [ "$gz" = 1 ]; then
	gzip -1 -n -c "$tmp" >"$tmp.gz"
	mv -f "$tmp.gz" "$tmp"
fi
mv -f "$tmp" "$out"

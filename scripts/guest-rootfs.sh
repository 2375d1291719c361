#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Assemble the guest root file system of `make guest` in $BUILD/guest/:
#
#   linux                the UML binary (scripts/guest-build.sh)
#   lol-guest-suite,     the guest suite and benchmarks (userspace/guest)
#   lol-guest-bench
#   rootfs/              a directory UML mounts as its root with hostfs
#                        (root=/dev/root rootfstype=hostfs rootflags=DIR):
#                        busybox (static) and its applet links, the two
#                        programs in /bin, guest-patch/rootfs/init and
#                        /etc/inittab
#
# A directory rather than an ext4 image: nothing to build or resize, the
# programs can be replaced in place, and the VM's harness assembles the
# same tree from the files in its initramfs. See Documentation/guest.md.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

lol_no_args "$@"
lol_env
g=$BUILD/guest
busybox=/bin/busybox

[ -x "$busybox" ] || lol_die "no $busybox (make deps installs busybox-static)"
uml=$(LOL_CACHE=$LOL_CACHE "$LOL_ROOT/scripts/guest-build.sh" --print) ||
	lol_die "UML is not built or not current (scripts/guest-build.sh)"
uml=${uml#LOL_UML=}
for p in lol-guest-suite lol-guest-bench; do
	[ -x "$g/$p" ] || lol_die "no $g/$p (make -C userspace/guest)"
done

cp "$uml" "$g/linux"
root=$g/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cp "$g/lol-guest-suite" "$g/lol-guest-bench" "$root/bin/"
install -m 0755 "$LOL_ROOT/guest-patch/rootfs/init" "$root/init"
install -m 0644 "$LOL_ROOT/guest-patch/rootfs/inittab" "$root/etc/inittab"
lol_msg "guest: $g/linux ($(lol_size "$g/linux")), root $root ($(du -sh "$root" | cut -f1))"

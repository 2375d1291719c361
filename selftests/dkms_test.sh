#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms_test.sh: lol.ko as DKMS built and installed it loads with modprobe
# and works (TAP output). The host side of `make check` (scripts/check.sh,
# scripts/dkms.sh --root) runs dkms add, build and install for this kernel
# in private trees and puts the install tree in the payload:
#
#   $LOL_DKMS_DIR/lib/modules/$(uname -r)/   updates/dkms/lol.ko, modules.dep...
#   $LOL_DKMS_DIR/build-id                   that lol.ko's GNU build id (hex)
#
# (LOL_DKMS_DIR: default /lol/dkms). The test makes that tree the kernel's
# /lib/modules/$(uname -r) (a symlink, removed at the end), unloads the
# harness's module, runs `modprobe lol`, checks that the loaded module is
# DKMS's lol.ko (the build id in /sys/module/lol/notes; srcversion too,
# when the module has one), its vermagic and taint, /dev/lol and lolctl,
# then `modprobe -r lol` and loads the harness's module again ($LOL_KO with
# $LOL_MODULE_PARAMS), whatever happened before. Without the tree (no dkms
# on the host, a failed DKMS build) it FAILs: LOL_DKMS_STATUS, which the
# harness always sets for it, says why; where that is unset (not run by
# scripts/check.sh) it SKIPs. Needs root (module loading); busybox sh.

# The TAP helpers: in lib/ beside this script, or beside it (kselftest install).
here=$(dirname "$0")
for tap in "$here/lib/tap.sh" "$here/tap.sh"; do
	[ -f "$tap" ] && break
done
# shellcheck source=lib/tap.sh source-path=SCRIPTDIR
. "$tap"

D=${LOL_DKMS_DIR:-/lol/dkms}
KO=${LOL_KO:-/lol.ko}
rel=$(uname -r)
tree=$D/lib/modules/$rel
dko=$tree/updates/dkms/lol.ko
mdir=/lib/modules/$rel
linked=0	# we made $mdir
ours=0		# DKMS's lol may be loaded
orig_id=''

echo "TAP version 13"


# The GNU build id of the loaded lol (hex; empty when not loaded): the
# note is namesz, descsz, type (4 bytes each), "GNU\0", then the id.
loaded_id() {
	f=/sys/module/lol/notes/.note.gnu.build-id
	[ -r "$f" ] && od -An -v -tx1 -j16 "$f" | tr -d ' \n'
}

loaded() {
	[ -e /sys/module/lol/initstate ]
}

# Leave things as the harness had them: its module loaded, no
# /lib/modules link.
restore() {
	if [ "$ours" = 1 ] && loaded; then
		rmmod lol
	fi
	if ! loaded; then
		# shellcheck disable=SC2086 # a word list on purpose
		insmod "$KO" ${LOL_MODULE_PARAMS:-}
	fi
	if [ "$linked" = 1 ]; then
		rm -f "$mdir"
	fi
}

if ! [ -f "$dko" ] || ! [ -f "$tree/modules.dep" ]; then
	# Not under the harness (a kselftest run on a host): nothing to test.
	if [ -z "${LOL_DKMS_STATUS:-}" ]; then
		echo "1..0 # SKIP no $tree: scripts/check.sh builds it"
		exit 4
	fi
	echo "1..1"
	result "DKMS install tree in the payload" 1 \
		"no $dko or modules.dep: ${LOL_DKMS_STATUS:-the host side did not run (scripts/check.sh runs scripts/dkms.sh --root when dkms_test.sh is in the list)}"
	exit 1
fi
echo "1..9"
want_id=$(cat "$D/build-id" 2>/dev/null)

# 1: depmod listed DKMS's lol.ko (modprobe finds modules through it)
grep -q '^updates/dkms/lol\.ko:' "$tree/modules.dep"
result "modules.dep lists updates/dkms/lol.ko" $? "$(cat "$tree/modules.dep")"

# The tree becomes the kernel's module directory (the initramfs has none).
if [ -e "$mdir" ]; then
	echo "# $mdir exists: using it as it is"
else
	mkdir -p /lib/modules && ln -s "$tree" "$mdir" && linked=1
fi

# 2: vermagic: built for this kernel
vm=$(modinfo -F vermagic lol 2>&1)
[ "${vm%% *}" = "$rel" ]
result "vermagic of DKMS's lol.ko is $rel" $? "modinfo -F vermagic lol: $vm"

# 3: the harness's module goes
orig_id=$(loaded_id)
loaded && rmmod lol && ! loaded
result "rmmod the harness's lol" $? "$(grep '^lol ' /proc/modules)"

# 4: modprobe loads DKMS's, /dev/lol appears
ours=1
out=$(modprobe lol 2>&1)
rc=$?
i=0
while [ $i -lt 20 ] && ! [ -c /dev/lol ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $rc = 0 ] && loaded && [ -c /dev/lol ]
result "modprobe lol: loaded, /dev/lol there" $? \
	"rc=$rc $out; initstate: $(cat /sys/module/lol/initstate 2>&1); /dev/lol: $(ls -l /dev/lol 2>&1)"

# 5: it is DKMS's lol.ko, not the harness's: the build id says so (and the
# srcversion, when lol.ko carries one: only with a MODULE_VERSION)
id=$(loaded_id)
ok=1
if [ -n "$id" ] && [ "$id" = "$want_id" ] && [ "$id" != "$orig_id" ]; then
	ok=0
fi
if [ -r /sys/module/lol/srcversion ]; then
	sv=$(cat /sys/module/lol/srcversion)
	[ "$sv" = "$(modinfo -F srcversion lol 2>/dev/null)" ] || ok=1
	echo "# srcversion $sv"
fi
result "the loaded lol is DKMS's lol.ko" $ok \
	"build id loaded $id, DKMS's $want_id, the harness's $orig_id"

# 6: taint: out-of-tree (O) and unsigned or unknown key (E) only
t=$(cat /sys/module/lol/taint 2>/dev/null)
k=$(cat /proc/sys/kernel/tainted)
case $t in *[!OE]*) ok=1 ;; *) ok=0 ;; esac
[ $((k & ~12288)) = 0 ] || ok=1
result "taint: module '$t', kernel $k (O and E only)" $ok

# 7: it works: lolctl talks to it
if command -v lolctl >/dev/null 2>&1; then
	out=$(lolctl info 2>&1)
	rc=$?
	[ $rc = 0 ] && echo "$out" | grep -q '^api version: *2$'
	result "lolctl info against DKMS's lol" $? "rc=$rc: $out"
else
	n=$((n + 1))
	echo "ok $n lolctl info against DKMS's lol # SKIP no lolctl in PATH"
fi

# 8: modprobe -r unloads it
out=$(modprobe -r lol 2>&1)
rc=$?
[ $rc = 0 ] && ! loaded && ! [ -e /dev/lol ]
ok=$?
loaded || ours=0
result "modprobe -r lol" $ok "rc=$rc $out"

# 9: the harness's module is back
restore
loaded && [ "$(loaded_id)" = "$orig_id" ] && [ -c /dev/lol ] &&
	{ [ "$linked" = 0 ] || ! [ -e "$mdir" ]; }
result "the harness's lol.ko loaded again" $? "build id $(loaded_id), want $orig_id"

exit $failed

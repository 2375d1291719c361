#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lol through DKMS: `make dkms-install`, `make dkms-remove`, and the host
# side of the DKMS test in `make check` (the same install, in private
# trees). See README.md ("Installing on a real host") and
# Documentation/testing.md.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
usage: $0 [--root DIR] install
       $0 [--root DIR] remove
       $0 src DIR
       $0 version

  install   copy the module sources to /usr/src/lol-VERSION (replacing any
            lol already registered with DKMS: every version is removed
            first), dkms add, then dkms build and install for \$KVER
            (default: the running kernel, \`uname -r\`) with the headers in
            \$KDIR (default /lib/modules/\$KVER/build), then for every other
            kernel that has headers in /lib/modules/*/build (a failure there
            is a warning). AUTOINSTALL=yes in dkms.conf: DKMS builds lol for
            kernels installed later. A lol.ko that \`make install\` put in
            /lib/modules/*/extra is removed, or DKMS would keep it.
  remove    dkms remove every lol version from all kernels, and delete
            their /usr/src/lol-* trees
  src DIR   copy what DKMS builds into DIR: Kbuild, VERSION, dkms.conf
            (PACKAGE_VERSION filled in), module/ and uapi/ sources
  version   print the version (the VERSION file)

  --root DIR  private trees instead of the system's: DIR/usr/src (dkms
            --sourcetree), DIR/var/lib/dkms (--dkmstree, and the module
            signing key dkms makes, mok.key and mok.pub), DIR/lib/modules
            (--installtree); depmod -b DIR instead of dkms's depmod. Only
            \$KVER. Nothing outside DIR is written (make check uses this:
            \$BUILD/dkms/root, for the kernel the VM boots). The dkms output
            goes to DIR.log; progress lines only.

Environment: KVER, KDIR (as above), DKMS (the dkms program, default dkms).
EOF
}

root=''
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1
shift

DKMS=${DKMS:-dkms}
name=lol

version() {
	local v

	[ -f "$LOL_ROOT/VERSION" ] || lol_die "no $LOL_ROOT/VERSION"
	v=$(tr -d '[:space:]' <"$LOL_ROOT/VERSION")
	[[ $v =~ ^[0-9A-Za-z][0-9A-Za-z.+~_-]*$ ]] || lol_die "bad version '$v' in VERSION"
	printf '%s\n' "$v"
}

# src DIR: the module sources and dkms.conf, nothing else (no build output).
copy_src() {
	local dest=$1 v

	v=$(version)
	rm -rf "$dest"
	mkdir -p "$dest"
	(cd "$LOL_ROOT" && {
		echo Kbuild
		echo VERSION
		find module uapi -type f \( -name '*.[ch]' -o -name Makefile -o -name Kbuild \)
	} | LC_ALL=C sort | tar -cf - --no-recursion -T -) | tar -xf - -C "$dest"
	sed "s/@PACKAGE_VERSION@/$v/" "$LOL_ROOT/dkms.conf" >"$dest/dkms.conf"
	grep -q "^PACKAGE_VERSION=\"$v\"$" "$dest/dkms.conf" ||
		lol_die "dkms.conf: no PACKAGE_VERSION=\"@PACKAGE_VERSION@\" line to fill in"
}

case $cmd in
version) version; exit 0 ;;
src)
	[ $# -eq 1 ] || { usage >&2; exit 2; }
	copy_src "$1"
	exit 0
	;;
install | remove) [ $# -eq 0 ] || { usage >&2; exit 2; } ;;
*) usage >&2; exit 2 ;;
esac

command -v "$DKMS" >/dev/null 2>&1 ||
	lol_die "no dkms (apt-get install dkms; make deps installs it)"

ver=$(version)
KVER=${KVER:-$(uname -r)}
KDIR=${KDIR:-/lib/modules/$KVER/build}

if [ -n "$root" ]; then
	mkdir -p "$root"
	root=$(cd "$root" && pwd)
	srctree=$root/usr/src
	dkmstree=$root/var/lib/dkms
	modtree=$root/lib/modules
	log=$root.log
	: >"$log"
	# The key dkms signs with (made on first use): here, not /var/lib/dkms.
	dkms=(env "mok_signing_key=$dkmstree/mok.key" "mok_certificate=$dkmstree/mok.pub"
		"$DKMS" --sourcetree "$srctree" --dkmstree "$dkmstree"
		--installtree "$modtree" --no-depmod)
else
	[ "$(id -u)" -eq 0 ] || lol_die "$cmd needs root: sudo make dkms-$cmd"
	srctree=/usr/src
	dkmstree=/var/lib/dkms
	modtree=/lib/modules
	log=''
	dkms=("$DKMS")
fi

# run CMD...: as root (sudo for a private tree as a user); output to the
# log for a private tree, else to the terminal.
run() {
	if [ -n "$log" ]; then
		printf '+ %s\n' "$*" >>"$log"
		lol_sudo "$@" >>"$log" 2>&1
	else
		printf '+ %s\n' "$*"
		"$@"
	fi
}

# Versions of lol registered with DKMS in this tree.
registered() {
	local d

	for d in "$dkmstree/$name"/*/; do
		d=${d%/}
		if ! [ -d "$d" ] || [ -L "$d" ]; then
			continue
		fi
		case ${d##*/} in original_module | kernel-*) continue ;; esac
		printf '%s\n' "${d##*/}"
	done
}

remove_all() {
	local v

	for v in $(registered); do
		lol_msg "dkms: remove $name/$v --all (what an earlier install left)"
		run "${dkms[@]}" remove "$name/$v" --all || true
		# dkms leaves the source tree; ours (it has our dkms.conf) goes.
		if grep -qs "^PACKAGE_NAME=\"$name\"$" "$srctree/$name-$v/dkms.conf"; then
			run rm -rf "$srctree/$name-$v"
		fi
	done
}

depmod_root() {
	# dkms runs depmod -a KVER on the host tree; here the same for DIR.
	run depmod -b "$root" "$KVER"
}

# install_for K KDIR: dkms build and install for kernel K; returns non-zero
# on failure (the dkms output says why).
install_for() {
	local k=$1 kdir=$2 old

	# make install's copy: DKMS would find it, see the same (absent)
	# module version and refuse to replace it.
	old=$modtree/$k/extra/$name.ko
	if [ -f "$old" ]; then
		lol_msg "removing $old (make install's; DKMS's goes to updates/dkms)"
		run rm -f "$old"
		run rmdir --ignore-fail-on-non-empty "${old%/*}"
	fi
	if [ -n "$root" ]; then
		run mkdir -p "$modtree/$k"
	fi
	run "${dkms[@]}" build "$name/$ver" -k "$k" --kernelsourcedir "$kdir" &&
		run "${dkms[@]}" install "$name/$ver" -k "$k" --kernelsourcedir "$kdir"
}

# failed WHAT: the end of the dkms output (and of the build's make.log) for a
# private tree, whose output went to the log, then die.
failed() {
	local make_log

	if [ -n "$log" ]; then
		tail -n 40 "$log" >&2
		make_log=$(find "$dkmstree/$name" -name make.log 2>/dev/null | head -n1 || true)
		[ -z "$make_log" ] || tail -n 40 "$make_log" >&2
	fi
	lol_die "$1 failed${log:+ (log: $log)}"
}

t0=$SECONDS
case $cmd in
remove)
	if [ -z "$(registered)" ]; then
		lol_msg "dkms: $name is not registered in $dkmstree: nothing to remove"
		exit 0
	fi
	remove_all
	lol_msg "dkms: $name removed"
	;;
install)
	[ -f "$KDIR/Makefile" ] ||
		lol_die "no kernel headers for $KVER at $KDIR (apt-get install linux-headers-$KVER, or set KVER/KDIR)"
	where=${root:+ in $root (private trees)}
	lol_msg "dkms: $name/$ver for $KVER$where"
	remove_all
	if [ -n "$root" ]; then
		# What a previous run installed must be gone now (dkms remove
		# works); then start from empty trees.
		left=$(find "$modtree" -name "$name.ko*" 2>/dev/null || true)
		[ -z "$left" ] || lol_warn "dkms remove left $left"
		lol_sudo rm -rf "$srctree" "$dkmstree" "$modtree"
	fi
	copy=$(mktemp -d "${TMPDIR:-/tmp}/lol-dkms.XXXXXX")
	trap 'rm -rf "$copy"' EXIT
	copy_src "$copy/$name-$ver"
	run mkdir -p "$srctree" "$dkmstree"
	run cp -r "$copy/$name-$ver" "$srctree/"
	run "${dkms[@]}" add "$name/$ver" || failed "dkms add $name/$ver"
	install_for "$KVER" "$KDIR" || failed "dkms build/install of $name/$ver for $KVER"
	if [ -n "$root" ]; then
		depmod_root || failed "depmod -b $root $KVER"
	else
		# Every other kernel with headers, as DKMS's own kernel hooks
		# would do when that kernel was installed.
		for b in /lib/modules/*/build; do
			k=${b%/build}
			k=${k##*/}
			if [ "$k" = "$KVER" ] || ! [ -f "$b/Makefile" ]; then
				continue
			fi
			install_for "$k" "$b" ||
				lol_warn "dkms build/install of $name/$ver for $k failed (see above)"
		done
		"${dkms[@]}" status "$name"
	fi
	# A user's private tree: theirs again (dkms ran as root).
	[ -z "$root" ] || [ "$(id -u)" -eq 0 ] || lol_sudo chown -R "$(id -u):$(id -g)" "$root"
	ko=$modtree/$KVER/updates/dkms/$name.ko
	[ -f "$ko" ] || lol_die "dkms said it installed $name/$ver but there is no $ko"
	lol_msg "dkms: installed $ko ($(lol_module_release "$ko"), $((SECONDS - t0)) s)"
	;;
esac

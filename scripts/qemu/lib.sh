# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers for the lol QEMU harness. Sourced, never executed:
#
#   . "$(dirname "$0")/qemu/lib.sh"
#
# Sets LOL_ROOT (the repository), and after lol_env: KVER, KDIR, LOL_CACHE,
# BUILD with the same defaults as the top-level Makefile, so every script
# also works when run by hand outside make.

LOL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOL_QEMU_DIR="$LOL_ROOT/scripts/qemu"

lol_msg() {
	printf 'lol: %s\n' "$*"
}

lol_warn() {
	printf 'lol: warning: %s\n' "$*" >&2
}

lol_die() {
	printf 'lol: error: %s\n' "$*" >&2
	exit 1
}

# Run a command as root: directly when we are root, else through sudo.
lol_sudo() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		lol_die "need root (or sudo) to run: $*"
	fi
}

# For scripts that take no arguments: --help prints the caller's usage().
lol_no_args() {
	case ${1:-} in
	-h | --help) usage; exit 0 ;;
	'') ;;
	*) usage >&2; exit 2 ;;
	esac
}

# lol-fuzz's summary and the fuzz step's kmemleak verdict from console log
# $1, indented (check.sh shows a test's output only when it fails).
lol_fuzz_summary() {
	grep -E '^lol-fuzz: (seed=|FAIL|reproduce|STUCK|[0-9]+ case|ok:|case setup)|^# kmemleak: [0-9n]' "$1" |
		sed 's/^/  /' || true
}

# Fill in KVER, KDIR, LOL_CACHE and BUILD like the Makefile does, and load
# the guest arch's row of the QEMU table (lol_vm_arch).
lol_env() {
	if [ -z "${KVER:-}" ]; then
		KVER=$("$LOL_ROOT/scripts/kver.sh") ||
			lol_die "cannot tell the kernel version (run scripts/deps.sh)"
	fi
	KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
	LOL_CACHE=${LOL_CACHE:-${HOME:-/root}/.cache/lol}
	BUILD=${BUILD:-$LOL_ROOT/build}
	export KVER KDIR LOL_CACHE BUILD
	lol_vm_arch
	# Another arch's VM boots that arch's busybox (mkinitramfs.sh).
	if [ "$LOL_VM_ARCH" != "$(uname -m)" ] && [ -z "${LOL_BUSYBOX:-}" ]; then
		LOL_BUSYBOX=$LOL_CACHE/kernel/$KVER/busybox
		export LOL_BUSYBOX
	fi
}

# lol_vm_arch: load the guest arch's row of scripts/qemu/arch.table
# ($LOL_ARCH, else x86_64; the kernel's names arm64 and x86 work too) into
# LOL_VM_ARCH, LOL_VM_QEMU, LOL_VM_MACHINE, LOL_VM_CPU_TCG, LOL_VM_CPU_KVM,
# LOL_VM_CONSOLE, LOL_VM_KIMAGE, LOL_VM_CMDLINE and LOL_VM_EXTRA ("-" as
# "", commas in the last two as spaces). Loaded once: a later call for the
# same arch is free.
lol_vm_arch() {
	local a=${LOL_ARCH:-x86_64} row f

	case $a in
	x86 | amd64) a=x86_64 ;;
	arm64) a=aarch64 ;;
	esac
	[ "${LOL_VM_ARCH:-}" = "$a" ] && return 0
	row=$(awk -v a="$a" '!/^#/ && $1 == a' "$LOL_QEMU_DIR/arch.table")
	[ -n "$row" ] || lol_die "no QEMU row for arch '$a' in $LOL_QEMU_DIR/arch.table"
	# shellcheck disable=SC2034 # for the scripts that source this file
	read -r LOL_VM_ARCH LOL_VM_QEMU LOL_VM_MACHINE LOL_VM_CPU_TCG \
		LOL_VM_CPU_KVM LOL_VM_CONSOLE LOL_VM_KIMAGE LOL_VM_CMDLINE \
		LOL_VM_EXTRA <<<"$row"
	for f in LOL_VM_MACHINE LOL_VM_CPU_KVM LOL_VM_CMDLINE LOL_VM_EXTRA; do
		if [ "${!f}" = - ]; then
			printf -v "$f" ''
		fi
	done
	LOL_VM_CMDLINE=${LOL_VM_CMDLINE//,/ }
	LOL_VM_EXTRA=${LOL_VM_EXTRA//,/ }
}

# Path of the cached Debian kernel image for $KVER (see scripts/deps.sh).
lol_cached_kernel() {
	lol_vm_arch
	# shellcheck disable=SC2059 # the table's image path is the format
	printf "$LOL_CACHE/kernel/$KVER/$LOL_VM_KIMAGE\n" "$KVER"
}

# The kernel to boot: $LOL_KERNEL, else the cached Debian image.
lol_kernel() {
	local k=${LOL_KERNEL:-$(lol_cached_kernel)}

	[ -f "$k" ] || lol_die "no kernel image at $k (run 'make deps', or set LOL_KERNEL=/path/to/bzImage)"
	printf '%s\n' "$k"
}

# Print the version string embedded in a bzImage's setup header (the same
# text `file` shows), or nothing when the file is not a bzImage.
lol_bzimage_version() {
	local img=$1 magic off

	magic=$(dd if="$img" bs=1 skip=514 count=4 2>/dev/null) || return 0
	[ "$magic" = HdrS ] || return 0
	off=$(od -An -tu2 -j526 -N2 "$img" | tr -d ' ')
	[ -n "$off" ] || return 0
	dd if="$img" bs=1 skip=$((off + 512)) count=256 2>/dev/null |
		tr '\0' '\n' | head -n1 | cut -d' ' -f1
}

# vermagic of a .ko: its first word is the kernel release it was built for.
lol_module_release() {
	modinfo -F vermagic "$1" 2>/dev/null | cut -d' ' -f1
}

# lol_module KERNEL: the module to load ($LOL_MODULE, else ./lol.ko),
# checked to be there and built for KERNEL.
lol_module() {
	local m=${LOL_MODULE:-$LOL_ROOT/lol.ko}

	[ -f "$m" ] || lol_die "no module at $m (make module)"
	lol_check_module_matches "$m" "$1"
	printf '%s\n' "$m"
}

# Fail early and clearly when a module was not built for the kernel we boot.
lol_check_module_matches() {
	local ko=$1 kernel=$2 kv mv

	kv=$(lol_bzimage_version "$kernel")
	# Not a bzImage (arm64's Image): the release it is cached under.
	if [ -z "$kv" ] && [ "$kernel" = "$(lol_cached_kernel)" ]; then
		kv=$KVER
	fi
	mv=$(lol_module_release "$ko")
	if [ -n "$kv" ] && [ -n "$mv" ] && [ "$kv" != "$mv" ]; then
		lol_die "$ko is built for $mv but $kernel is $kv (set KDIR/LOL_KERNEL consistently)"
	fi
}

# awk reading a pipe line by line as lines arrive (mawk otherwise waits for
# a full buffer before it looks at the first line).
lol_awk_stream() {
	if awk -W version 2>&1 | grep -q mawk; then
		awk -W interactive "$@"
	else
		awk "$@"
	fi
}

# Human-readable size of a file.
lol_size() {
	local b

	b=$(stat -c %s "$1")
	awk -v b="$b" 'BEGIN { printf "%.1f MiB", b / 1048576 }'
}

# The accelerator for `vm.sh --accel auto`: $LOL_ACCEL if set, else KVM if
# the guest's arch is the host's, /dev/kvm is usable and a probe boot of
# the same kernel reaches userspace within LOL_KVM_PROBE_TIMEOUT (30 s),
# else TCG. The verdict is cached per host kernel, QEMU binary and guest
# kernel in $LOL_CACHE/accel/ because a failing probe costs the whole
# timeout (nested KVM on the CI machines hangs after "Probing EDD").
lol_pick_accel() {
	local kernel=$1 key cache dir rc

	case ${LOL_ACCEL:-} in
	tcg | kvm)
		printf '%s\n' "$LOL_ACCEL"
		return 0
		;;
	'' | auto) ;;
	*) lol_die "LOL_ACCEL must be tcg, kvm or auto, not '$LOL_ACCEL'" ;;
	esac

	lol_vm_arch
	if [ "$(uname -m)" != "$LOL_VM_ARCH" ] ||
		! [ -r "${LOL_KVM_DEV:-/dev/kvm}" ] || ! [ -w "${LOL_KVM_DEV:-/dev/kvm}" ]; then
		printf 'tcg\n'
		return 0
	fi

	key=$(printf '%s|%s|%s|%s' "$(uname -r)" \
		"$(stat -Lc '%s %Y' "$(command -v "$LOL_VM_QEMU")")" \
		"$kernel" "$(stat -Lc '%s %Y' "$kernel")" | cksum | cut -d' ' -f1)
	cache="$LOL_CACHE/accel/$key"
	if [ -f "$cache" ]; then
		cat "$cache"
		return 0
	fi

	dir=$(mktemp -d "${TMPDIR:-/tmp}/lol-kvm-probe.XXXXXX")
	printf 'echo LOL-KVM-PROBE-OK\n' >"$dir/guest.sh"
	"$LOL_QEMU_DIR/mkinitramfs.sh" -o "$dir/initrd" -s "$dir/guest.sh" >&2
	rc=0
	"$LOL_QEMU_DIR/vm.sh" --kernel "$kernel" --initrd "$dir/initrd" \
		--accel kvm --smp 1 --timeout "${LOL_KVM_PROBE_TIMEOUT:-30}" \
		--log "$dir/console.log" >/dev/null 2>&1 || rc=$?
	mkdir -p "$LOL_CACHE/accel"
	if [ "$rc" -eq 0 ] && grep -q '^LOL-KVM-PROBE-OK' "$dir/console.log"; then
		printf 'kvm\n' >"$cache"
	else
		lol_warn "KVM probe did not reach userspace (rc $rc); using TCG (cached in $cache)"
		printf 'tcg\n' >"$cache"
	fi
	rm -rf "$dir"
	cat "$cache"
}

# lol_check_config CONFIG FRAGMENT: every option FRAGMENT sets (CONFIG_X=v
# or "# CONFIG_X is not set") must be so in the merged CONFIG; Kconfig
# drops an option with a missing dependency without a word.
lol_check_config() {
	local cfg=$1 frag=$2 line opt bad=()

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$cfg" || bad+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo unset))")
			;;
		'# CONFIG_'*' is not set')
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$cfg"; then
				bad+=("$line (have: $(grep "^$opt=" "$cfg"))")
			fi
			;;
		esac
	done <"$frag"
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'lol: error: option dropped from the merged .config: %s\n' "${bad[@]}" >&2
		lol_die "fix $frag (a dependency is missing) or the kernel source"
	fi
}

# lol_guest_payload DIR: what a VM needs of `make guest` (UML, the guest
# programs, the root's init files) copied into DIR.
lol_guest_payload() {
	mkdir -p "$1"
	cp "$BUILD/guest/linux" "$BUILD/guest/lol-guest-suite" \
		"$BUILD/guest/lol-guest-bench" "$LOL_ROOT/guest-patch/rootfs/init" \
		"$LOL_ROOT/guest-patch/rootfs/inittab" "$1/"
}

# The pieces every front-end's VM run is made of: a payload directory, its
# /lol/env, an initramfs, the boot itself and the kernel-log verdict.

# lol_payload DIR MODULE: a fresh payload directory: MODULE as /lol.ko and
# the userspace programs ($BUILD/bin) in /lol/bin.
lol_payload() {
	rm -rf "$1"
	mkdir -p "$1/lol/bin"
	cp "$2" "$1/lol.ko"
	if [ -d "$BUILD/bin" ]; then
		cp -a "$BUILD/bin/." "$1/lol/bin/"
	fi
}

# lol_copy_tests SRC DST: a selftests output directory (the binaries,
# tests.list, settings and helper files) without build intermediates.
lol_copy_tests() {
	mkdir -p "$2"
	(cd "$1" && find . -type f ! -name '*.o' ! -name '*.d' ! -name '*.a' -print0 |
		cpio --null -pdm --quiet "$2")
}

# lol_test_names DIR: the tests to run, one a line: $LOL_TESTS, else
# DIR/tests.list (one name a line; # comments).
lol_test_names() {
	local names

	if [ -n "${LOL_TESTS:-}" ]; then
		read -r -a names <<<"$LOL_TESTS"
		printf '%s\n' "${names[@]}"
	else
		sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1/tests.list"
	fi
}

# lol_settings_timeout DIR: the per-test timeout in kselftest's `settings`
# file (timeout=N) of DIR, else of the source tree, else 300.
lol_settings_timeout() {
	local t=300 s v

	for s in "$1/settings" "$LOL_ROOT/selftests/settings"; do
		if [ -f "$s" ]; then
			v=$(sed -n 's/^[[:space:]]*timeout[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$s" | tail -n1)
			[ -n "$v" ] && t=$v
			break
		fi
	done
	printf '%s\n' "$t"
}

# lol_env_file FILE NAME=VALUE...: the payload's /lol/env, which the
# guest's init sources: each value quoted for sh.
lol_env_file() {
	local f=$1 kv

	shift
	for kv in "$@"; do
		printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"
	done >"$f"
}

# lol_fuzz_test DIR ARGS...: the fuzz "test" in the selftests directory
# DIR: scripts/fuzz-guest.sh as DIR/fuzz, lol-fuzz's ARGS in DIR/fuzz.args.
lol_fuzz_test() {
	cp "$LOL_ROOT/scripts/fuzz-guest.sh" "$1/fuzz"
	printf '%s\n' "${*:2}" >"$1/fuzz.args"
}

# lol_initramfs OUT GUEST PAYLOAD: the initramfs OUT that runs
# scripts/qemu/GUEST with PAYLOAD's files over its root.
lol_initramfs() {
	"$LOL_QEMU_DIR/mkinitramfs.sh" -o "$1" -s "$LOL_QEMU_DIR/$2" -p "$3"
}

# lol_vm [AWK-ARG...] -- VM-ARG...: boot through vm.sh with VM-ARGs, the
# console streamed through awk with AWK-ARGs (none: raw), and set vm_rc to
# the VM's status (124: timeout). Never fails itself: callers judge vm_rc.
# shellcheck disable=SC2034 # vm_rc is the caller's
lol_vm() {
	local awkargs=()

	while [ "$1" != -- ]; do
		awkargs+=("$1")
		shift
	done
	shift
	set +e
	if [ ${#awkargs[@]} -eq 0 ]; then
		"$LOL_QEMU_DIR/vm.sh" "$@"
		vm_rc=$?
	else
		"$LOL_QEMU_DIR/vm.sh" "$@" | lol_awk_stream "${awkargs[@]}"
		vm_rc=${PIPESTATUS[0]}
	fi
	set -e
}

# lol_kernel_ok LOG: the harness's kernel-log verdict on a console log
# (WARNING:, BUG:, Oops, lockdep and refcount splats, taint; check.awk).
lol_kernel_ok() {
	awk -v mode=kernel -f "$LOL_QEMU_DIR/check.awk" "$1"
}

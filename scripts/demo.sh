#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot Debian's kernel in QEMU, insmod lol.ko, run
# `lolctl info` and then `lol-demo` (if built), show their output here.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
usage: $0 [-h|--help]

Boots the VM, loads lol, runs \$BUILD/bin/lolctl info and \$BUILD/bin/lol-demo
(when it exists) and prints their output. Exits non-zero when either fails,
the module does not load or unload, or the kernel logs a warning.

Environment: LOL_KERNEL, LOL_MODULE, LOL_MODULE_PARAMS, LOL_ACCEL, LOL_SMP,
LOL_TIMEOUT (default 600), LOL_VERBOSE=1 (raw console), KVER, LOL_CACHE,
BUILD, as for scripts/check.sh. Log: \$BUILD/demo/console.log.
EOF
}

lol_no_args "$@"

lol_env
kernel=$(lol_kernel)
module=${LOL_MODULE:-$LOL_ROOT/lol.ko}
out=$BUILD/demo
log=$out/console.log

[ -f "$module" ] || lol_die "no module at $module (make module)"
[ -x "$BUILD/bin/lolctl" ] || lol_die "no $BUILD/bin/lolctl (make userspace)"
lol_check_module_matches "$module" "$kernel"

rm -rf "$out/payload"
mkdir -p "$out/payload/lol/bin"
cp "$module" "$out/payload/lol.ko"
cp -a "$BUILD/bin/." "$out/payload/lol/bin/"
if [ -d "$BUILD/lib" ] && compgen -G "$BUILD/lib/*.so*" >/dev/null; then
	mkdir -p "$out/payload/lol/lib"
	cp -a "$BUILD/lib/"*.so* "$out/payload/lol/lib/"
fi
printf 'LOL_MODULE_PARAMS=%q\n' "${LOL_MODULE_PARAMS:-}" >"$out/payload/lol/env"
"$LOL_QEMU_DIR/mkinitramfs.sh" -o "$out/initramfs.cpio" \
	-s "$LOL_QEMU_DIR/guest-demo.sh" -p "$out/payload"

accel=$(lol_pick_accel "$kernel")
lol_msg "booting $(lol_bzimage_version "$kernel") ($accel), log $log"

filter='
	/^LOL-DEMO-BEGIN/ { on = 1; next }
	/^LOL-DEMO-END/ { on = 0; next }
	/^LOL-DEMO: / { print; fflush(); next }
	on && !/\[ *[0-9]+\.[0-9]+\]/ { print; fflush() }'
trap 'echo "lol: interrupted" >&2; exit 130' INT TERM
set +e
if [ "${LOL_VERBOSE:-0}" = 1 ]; then
	"$LOL_QEMU_DIR/run-vm.sh" --kernel "$kernel" --initrd "$out/initramfs.cpio" \
		--accel "$accel" --smp "${LOL_SMP:-2}" --timeout "${LOL_TIMEOUT:-600}" \
		--log "$log"
	vm_rc=$?
else
	"$LOL_QEMU_DIR/run-vm.sh" --kernel "$kernel" --initrd "$out/initramfs.cpio" \
		--accel "$accel" --smp "${LOL_SMP:-2}" --timeout "${LOL_TIMEOUT:-600}" \
		--log "$log" | lol_awk_stream "$filter"
	vm_rc=${PIPESTATUS[0]}
fi
set -e

fail=0
if [ "$vm_rc" -ne 0 ]; then
	lol_warn "VM exited with status $vm_rc"
	fail=1
fi
if ! grep -q '^LOL-GUEST-EXIT: rc=0$' "$log"; then
	lol_warn "demo failed: $(grep -m1 '^LOL-GUEST-EXIT' "$log" || echo 'guest did not finish')"
	fail=1
fi
if ! awk -v mode=kernel -f "$LOL_QEMU_DIR/check.awk" "$log"; then
	lol_warn "the kernel logged problems (see $log)"
	fail=1
fi
if ! grep -Eq '^LOL-TAINT: (0|4096|8192|12288)$' "$log"; then
	lol_warn "unexpected taint: $(grep -m1 '^LOL-TAINT' "$log" || echo 'not reached')"
	fail=1
fi
[ "$fail" = 0 ] && lol_msg "demo ok"
exit "$fail"

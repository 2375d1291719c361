#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: boot Debian's kernel in QEMU, insmod lol.ko, run the selftests,
# rmmod, judge the console log. See Documentation/testing.md.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
usage: $0 [-h|--help]

Runs the lol selftests in a QEMU VM. Expects built: lol.ko (make module),
\$BUILD/selftests/tests.list and the binaries it names (make selftests),
\$BUILD/bin/* (make userspace). Ends with "N passed, N failed, N skipped";
exit 0 only when nothing failed.

Environment:
  LOL_TESTS="a b"     run only these tests (names from tests.list)
  LOL_KERNEL=FILE     boot this bzImage instead of the cached Debian kernel
  LOL_MODULE=FILE     module to load (default: ./lol.ko)
  LOL_MODULE_PARAMS   insmod arguments
  LOL_ACCEL=tcg|kvm   skip the KVM probe
  LOL_SMP=N           vCPUs (default 2)
  LOL_TIMEOUT=SECS    cap for the whole VM (default 2700)
  LOL_TEST_TIMEOUT=S  per-test timeout (default: selftests 'settings'
                      timeout=N, else 300)
  LOL_VERBOSE=1       stream the raw console instead of progress lines
  KVER, KDIR, LOL_CACHE, BUILD as in the Makefile.

With dkms_test.sh in the list, lol.ko is first built and installed through
DKMS for the kernel the VM boots (scripts/dkms.sh --root \$BUILD/dkms/root:
private trees, nothing else on the host is written; about 20 s) and that
install tree goes into the payload.

Output: \$BUILD/check/console.log (the full serial console, kept).
EOF
}

lol_no_args "$@"

lol_env
kernel=$(lol_kernel)
module=$(lol_module "$kernel")
tdir=$BUILD/selftests
out=$BUILD/check
smp=${LOL_SMP:-2}
vm_timeout=${LOL_TIMEOUT:-2700}

# Tests: LOL_TESTS, else tests.list (one basename a line; # comments).
if [ -z "${LOL_TESTS:-}" ] && ! [ -f "$tdir/tests.list" ]; then
	lol_die "no $tdir/tests.list (make selftests)"
fi
mapfile -t tests < <(lol_test_names "$tdir")
for t in "${tests[@]}"; do
	case $t in
	*/* | .*) lol_die "bad test name '$t'" ;;
	esac
	[ -x "$tdir/$t" ] || lol_die "test $t: no executable $tdir/$t"
done

# dkms_test.sh: lol.ko through DKMS (add, build, install) for the kernel the
# VM boots, in private trees under $BUILD/dkms; the guest gets the install
# tree. A failure here is the test's failure in the VM (LOL_DKMS_STATUS).
dkms_status=''
if [[ " ${tests[*]} " == *" dkms_test.sh "* ]]; then
	kv=$(lol_bzimage_version "$kernel")
	if [ -n "$kv" ] && [ "$kv" != "$KVER" ]; then
		dkms_status="the VM boots $kv but DKMS would build for KVER=$KVER"
	elif ! command -v dkms >/dev/null 2>&1; then
		dkms_status="no dkms on the host (make deps installs it)"
	elif "$LOL_ROOT/scripts/dkms.sh" --root "$BUILD/dkms/root" install; then
		dkms_status=ok
	else
		dkms_status="the host-side dkms install failed (log: $BUILD/dkms/root.log)"
	fi
	[ "$dkms_status" = ok ] || lol_warn "dkms_test.sh will fail: $dkms_status"
fi

# Per-test timeout: kselftest's `settings` file (timeout=N).
test_timeout=${LOL_TEST_TIMEOUT:-$(lol_settings_timeout "$tdir")}

# Payload: /lol.ko, /lol/tests (the whole selftests output dir, so helper
# files are there too), /lol/bin, /lol/lib, /lol/env, /lol/dkms (the DKMS
# install tree, lib/modules/$KVER, and its lol.ko's build id).
lol_payload "$out/payload" "$module"
lol_copy_tests "$tdir" "$out/payload/lol/tests"
# The guest (make guest): UML, the guest programs, the root's init files.
if [ -x "$BUILD/guest/linux" ]; then
	lol_guest_payload "$out/payload/lol/guest"
fi
if [ "$dkms_status" = ok ]; then
	mkdir -p "$out/payload/lol/dkms/lib/modules"
	cp -a "$BUILD/dkms/root/lib/modules/$KVER" "$out/payload/lol/dkms/lib/modules/"
	readelf -n "$BUILD/dkms/root/lib/modules/$KVER/updates/dkms/lol.ko" |
		sed -n 's/^ *Build ID: *//p' >"$out/payload/lol/dkms/build-id"
fi
if [ -d "$BUILD/lib" ] && compgen -G "$BUILD/lib/*.so*" >/dev/null; then
	mkdir -p "$out/payload/lol/lib"
	cp -a "$BUILD/lib/"*.so* "$out/payload/lol/lib/"
fi
lol_env_file "$out/payload/lol/env" "LOL_TEST_LIST=${tests[*]}" \
	"LOL_TEST_TIMEOUT=$test_timeout" \
	"LOL_MODULE_PARAMS=${LOL_MODULE_PARAMS:-}" \
	"LOL_DKMS_STATUS=$dkms_status"

lol_initramfs "$out/initramfs.cpio" guest-check.sh "$out/payload"

accel=$(lol_pick_accel "$kernel")
case $accel in
kvm) cpu=$LOL_VM_CPU_KVM ;;
*) cpu=$LOL_VM_CPU_TCG ;;
esac
log=$out/console.log
lol_msg "kernel $kernel ($(lol_bzimage_version "$kernel"))"
lol_msg "module $module, ${#tests[@]} test(s), per-test timeout ${test_timeout} s"
lol_msg "accel $accel (-cpu $cpu), smp $smp, 1G, initramfs $(lol_size "$out/initramfs.cpio"), VM timeout ${vm_timeout} s"
lol_msg "console log: $log"

trap 'echo "lol: interrupted" >&2; exit 130' INT TERM
start=$SECONDS
filter=(-v mode=stream -f "$LOL_QEMU_DIR/check.awk")
if [ "${LOL_VERBOSE:-0}" = 1 ]; then
	filter=()
fi
lol_vm "${filter[@]}" -- --kernel "$kernel" --initrd "$out/initramfs.cpio" \
	--accel "$accel" --smp "$smp" --timeout "$vm_timeout" --log "$log"
lol_msg "VM ran $((SECONDS - start)) s (exit $vm_rc)"

awk -v mode=final -v expected="${tests[*]}" -v vm_rc="$vm_rc" \
	-v vm_timeout="$vm_timeout" -f "$LOL_QEMU_DIR/check.awk" "$log"

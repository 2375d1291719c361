#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: where one benchmark's instructions go, by kernel, module
# and user function, counted exactly by a QEMU plugin under -icount.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
NAME
	profile.sh - instructions per operation of one lol-bench row, by function

SYNOPSIS
	scripts/profile.sh [-h|--help] BENCH-ID [TOP]
	make profile LOL_PROFILE=BENCH-ID

DESCRIPTION
	Boots the bench VM under -icount with the TCG plugin
	scripts/qemu/insnprof.c (built into \$BUILD/profile), runs
	"lol-bench --quick --filter BENCH-ID --profile BENCH-ID" and counts
	every instruction executed during that benchmark's measured runs, by
	address. The guest's /proc/kallsyms (printed by the guest, so lol's
	own functions are named too) turns addresses into functions. Prints
	the total per operation (which is the icount row's ns figure) and the
	TOP (default 40) functions, instructions per operation each, then the
	same total by part of the round trip (the parts of the table in
	Documentation/performance.md, "Where the time goes").

	BENCH-ID is a row id of lol-bench --list, e.g. lol-runloop,
	lol-fault, lol-reflect.

ENVIRONMENT
	KVER, LOL_CACHE, BUILD, LOL_KERNEL, LOL_MODULE as for scripts/check.sh
	LOL_TIMEOUT   VM timeout, seconds (default 900)

FILES
	\$BUILD/profile/<id>/counts.txt    ADDRESS COUNT, from the plugin
	\$BUILD/profile/<id>/kallsyms.txt  the guest's text symbols
	\$BUILD/profile/<id>/functions.txt all functions, instructions per op
	\$BUILD/profile/<id>/console.log
EOF
}

case ${1:-} in
-h | --help) usage; exit 0 ;;
'' | -*) usage >&2; exit 2 ;;
esac
id=$1
top=${2:-40}
case $top in '' | *[!0-9]*) lol_die "TOP: a number" ;; esac

lol_env
kernel=$(lol_kernel)
module=$(lol_module "$kernel")
[ -x "$BUILD/bin/lol-bench" ] || lol_die "no $BUILD/bin/lol-bench (make userspace)"
"$BUILD/bin/lol-bench" --list | awk -v id="$id" '$1 == id { f = 1 } END { exit !f }' ||
	lol_die "no benchmark '$id' (lol-bench --list)"

out=$BUILD/profile/$id
rm -rf "$out"
mkdir -p "$out"
so=$BUILD/profile/insnprof.so
cc -shared -fPIC -O2 -Wall -Wextra -Wno-unused-parameter -Werror \
	-o "$so" "$LOL_QEMU_DIR/insnprof.c" -lpthread

lol_payload "$out/payload" "$module"
lol_env_file "$out/payload/lol/env" \
	"LOL_MODULE_PARAMS=${LOL_MODULE_PARAMS:-}" \
	"LOL_ACCEL=TCG -icount shift=0 (1 vCPU; ns = instructions), profiled" \
	"LOL_BENCH_ARGS=--quick --filter $id --profile $id" "LOL_BENCH_KSYMS=1"
lol_initramfs "$out/initramfs.cpio" guest-bench.sh "$out/payload"

log=$out/console.log
lol_msg "profile: $id, log $log"
filter='
	/^LOL-KSYMS-BEGIN/ { skip = 1; next }
	/^LOL-KSYMS-END/ { skip = 0; next }
	/^LOL-BENCH-JSON-BEGIN/ { skip = 1; next }
	/^LOL-BENCH-JSON-END/ { skip = 0; next }
	/^LOL-DMESG-BEGIN/ { skip = 1; next }
	!skip && !/\[ *[0-9]+\.[0-9]+\]/ && !/^LOL-/ { print; fflush() }'
lol_vm "$filter" -- --kernel "$kernel" --initrd "$out/initramfs.cpio" \
	--icount --plugin "$so,out=$out/counts.txt" \
	--timeout "${LOL_TIMEOUT:-900}" --log "$log"
if [ "$vm_rc" -ne 0 ] || ! grep -q '^LOL-GUEST-EXIT: rc=0$' "$log"; then
	lol_die "the VM run failed (status $vm_rc, see $log)"
fi
lol_kernel_ok "$log" || lol_die "the kernel logged problems (see $log)"

ops=$(sed -n 's/^LOL-PROF-OPS \([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$ops" ] || [ "$ops" -eq 0 ]; then
	lol_die "$id was not measured (no LOL-PROF-OPS in $log)"
fi
[ -s "$out/counts.txt" ] || lol_die "the plugin counted nothing ($out/counts.txt)"
sed -n '/^LOL-KSYMS-BEGIN/,/^LOL-KSYMS-END/p' "$log" | sed '1d;$d' |
	tr -d '\r' | base64 -d | gunzip >"$out/kallsyms.txt"

# Symbols (key 0) and counts (key 1) in one address order: each count
# belongs to the last symbol at or below its address. Both have 16 hex
# digits, so a plain sort orders them; user addresses come before every
# kernel symbol.
{
	awk '{ n = $3; if ($4 != "") n = n " " $4; print $1, 0, n }' "$out/kallsyms.txt"
	awk '!/^#/ { print $1, 1, $2 }' "$out/counts.txt"
} | LC_ALL=C sort -k1,1 -k2,2n |
	awk -v ops="$ops" '
	$2 == 0 { cur = $3; if (NF > 3) cur = cur " " $4; next }
	{
		f = $1 < "ffff800000000000" ? "[user]" : (cur == "" ? "?" : cur)
		sum[f] += $3; total += $3
	}
	END {
		for (f in sum) printf "%10.1f  %s\n", sum[f] / ops, f
		printf "%10.1f  TOTAL\n", total / ops > "/dev/stderr"
	}' 2>"$out/total.txt" | sort -rn >"$out/functions.txt"

printf '%s: %s instructions per operation (%s operations profiled)\n\n' \
	"$id" "$(awk '{ print $1 }' "$out/total.txt")" "$ops"
head -n "$top" "$out/functions.txt"

# The round trip's parts (performance.md); the first matching rule wins.
printf '\nby part:\n'
awk '
	BEGIN {
		n = split("crossings hook ioctl mm fpu regs notify user", order)
		rx["crossings"] = "^(entry_SYSCALL_64.*|do_syscall_64|syscall_enter_from_user_mode|syscall_trace_enter.*|syscall_exit_to_user_mode.*|exit_to_user_mode_prepare|syscall_return_via_sysret|x64_sys_call|amd_clear_divider|swapgs_restore_regs_and_return_to_usermode|entry_SYSRETQ.*|syscall_user_dispatch|__x86_indirect_thunk_.*)$"
		rx["hook"] = "^(kprobe_ftrace_handler|ftrace_trampoline|get_kprobe|lol_entry_kprobe|lol_entry_hook|lol_syscall_wanted)( .*)?$"
		rx["ioctl"] = "^(__x64_sys_ioctl|do_vfs_ioctl|__fget_light|__fdget|security_file_ioctl|tomoyo_.*|apparmor_file_ioctl|selinux_file_ioctl|bpf_lsm_file_ioctl|lol_vcpu_ioctl|fput|lol_in_guest)( .*)?$"
		rx["mm"] = "^(lol_mm_switch|switch_mm_irqs_off|load_new_mm_cr3|switch_ldt|membarrier_update_current_mm|cr4_update_irqsoff|invalidate_user_asid|_raw_spin_lock|_raw_spin_unlock|lol_mm_sync_dumpable)( .*)?$"
		rx["fpu"] = "^(fpu_swap_kvm_fpstate|save_fpregs_to_fpstate|restore_fpregs_from_fpstate|fpregs_assert_state_consistent|xfd_validate_state|fpregs_mark_activate|__local_bh_enable_ip)$"
		rx["regs"] = "^(lol_arch_[a-z_]*|lol_read_regs|native_read_msr|native_write_msr|lol_has_pkru)( .*)?$"
		rx["notify"] = "^(__rseq_handle_notify_resume|mem_cgroup_handle_over_high|blkcg_maybe_throttle_current)$"
		rx["user"] = "^\\[user\\]$"
		name["crossings"] = "the two kernel crossings (entry/exit code, SUD slow-path work)"
		name["hook"] = "the syscall hook (ftrace trampoline, kprobe, pre-handler)"
		name["ioctl"] = "the ioctl way in (fd lookup, LSM ioctl hook, VFS)"
		name["mm"] = "mm switches (lol_mm_switch, switch_mm_irqs_off, CR3)"
		name["fpu"] = "FPU swaps (fpu_swap_kvm_fpstate)"
		name["regs"] = "registers (run page, pt_regs, FS/GS, PKRU)"
		name["notify"] = "notify-resume work (rseq, memcg, blkcg)"
		name["user"] = "user space"
	}
	{
		v = $1; $1 = ""; f = substr($0, 2)
		for (i = 1; i <= n; i++)
			if (f ~ rx[order[i]]) { part[order[i]] += v; next }
		other += v
	}
	END {
		for (i = 1; i <= n; i++)
			printf "%10.1f  %s\n", part[order[i]], name[order[i]]
		printf "%10.1f  everything else (lol bookkeeping, RCU, lookups, ...)\n", other
	}' "$out/functions.txt"

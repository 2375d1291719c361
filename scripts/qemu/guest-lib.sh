#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side helpers (busybox sh) for the scripts the harness's init runs
# (guest-check.sh, guest-bench.sh, guest-demo.sh): mkinitramfs.sh puts
# this file at /lol/guest-lib.sh and each of them sources it, so that the
# module load and the kernel-log tail the host judges are spelled once.

# Load /lol.ko with the host's LOL_MODULE_PARAMS (from /lol/env); the
# status is insmod's.
lol_guest_insmod() {
	# shellcheck disable=SC2086 # LOL_MODULE_PARAMS is a word list on purpose
	insmod /lol.ko ${LOL_MODULE_PARAMS:-}
}

# The end of every VM run: the taint flags and the whole kernel log
# between markers, for the host's verdict (scripts/qemu/check.awk).
lol_guest_tail() {
	echo "LOL-TAINT: $(cat /proc/sys/kernel/tainted)"
	echo "LOL-DMESG-BEGIN"
	dmesg
	echo "LOL-DMESG-END"
}

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make check`, guest side (busybox sh; run by /init). Loads /lol.ko, runs
# the test binaries in /lol/tests in order, unloads the module, dumps dmesg.
# Everything the host judges is a line starting with "LOL-" (see
# scripts/qemu/check.awk and Documentation/testing.md):
#
#   LOL-INSMOD: ok | fail rc=N
#   LOL-TEST-BEGIN: NAME timeout=SECS
#   ...the binary's own output (TAP)...
#   LOL-TEST-END: NAME rc=N secs=S timedout=0|1
#   LOL-RMMOD: ok | fail rc=N
#   LOL-KMEMLEAK: ... (debug kernels: each line of a leak allocated
#                     through lol; LOL-KMEMLEAK-OTHER: other leaks)
#   LOL-TAINT: N
#   LOL-DMESG-BEGIN / LOL-DMESG-END
#   LOL-RESULT: done
#
# From /lol/env: LOL_TEST_LIST (names, in order), LOL_TEST_TIMEOUT (seconds
# per binary), LOL_MODULE_PARAMS (insmod arguments).

# shellcheck source=guest-lib.sh source-path=SCRIPTDIR
. /lol/guest-lib.sh

LOL_KO=/lol.ko
export LOL_KO
timeout=${LOL_TEST_TIMEOUT:-300}

uptime_cs() {
	# /proc/uptime in centiseconds ("1" prefix: no octal for "05")
	read -r up _ </proc/uptime
	echo $((${up%.*} * 100 + 1${up#*.} - 100))
}

# Debug kernels: forget leaks from before the module came. "clear" only
# forgets what a scan has reported, so scan first (boot-time objects, e.g.
# ACPI's caches, are reported otherwise).
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
fi

if lol_guest_insmod; then
	echo "LOL-INSMOD: ok"
	loaded=1
else
	echo "LOL-INSMOD: fail rc=$?"
	loaded=0
fi

if [ "$loaded" = 1 ]; then
	for t in ${LOL_TEST_LIST:-}; do
		echo "LOL-TEST-BEGIN: $t timeout=$timeout"
		start=$(uptime_cs)
		# The binary writes straight to the console (a tty: line
		# buffered), so its output survives a crash or a timeout.
		(cd /lol/tests && exec timeout -s TERM -k 10 "$timeout" "/lol/tests/$t")
		rc=$?
		end=$(uptime_cs)
		cs=$((end - start))
		timedout=0
		if [ "$cs" -ge $((timeout * 100)) ] &&
			{ [ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]; }; then
			timedout=1
		fi
		echo
		echo "LOL-TEST-END: $t rc=$rc secs=$((cs / 100)).$(printf '%02d' $((cs % 100))) timedout=$timedout"
	done
fi

# A test may unload and reload the module; it must leave it loaded.
if grep -q '^lol ' /proc/modules; then
	if rmmod lol; then
		echo "LOL-RMMOD: ok"
	else
		echo "LOL-RMMOD: fail rc=$?"
	fi
else
	echo "LOL-RMMOD: fail module-not-loaded"
fi

# Debug kernels: let kmemleak look once more before dmesg is taken.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 1
	echo scan >/sys/kernel/debug/kmemleak
	# A leak is lol's when a frame of its allocation backtrace is in lol
	# ("[lol]") or, lol being unloaded now, in module text that no
	# longer has a symbol (printed as a bare 0xffffffff... address).
	# Other leaks (boot-time ACPI caches...) are shown, not judged.
	awk '
		function flush(   i, tag) {
			tag = ours ? "LOL-KMEMLEAK: " : "LOL-KMEMLEAK-OTHER: "
			for (i = 1; i <= n; i++)
				print tag rec[i]
			n = 0
			ours = 0
		}
		/^unreferenced object/ { flush() }
		{ rec[++n] = $0 }
		/\[lol\]|\] 0xffffffff[0-9a-f]+$/ { ours = 1 }
		END { flush() }' /sys/kernel/debug/kmemleak
fi

lol_guest_tail
echo "LOL-RESULT: done"

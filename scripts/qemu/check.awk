# SPDX-License-Identifier: GPL-2.0
#
# Reads a `make check` console log (see scripts/qemu/guest-check.sh for the
# LOL-* markers) and judges it. Plain POSIX awk (mawk, gawk, busybox).
#
#   awk -v mode=stream -f check.awk          progress lines while the VM runs
#   awk -v mode=final -v expected="t1 t2" -v vm_rc=N -v vm_timeout=S \
#       -f check.awk console.log             verdict; exit 0 only if clean
#   awk -v mode=kernel -f check.awk LOG      bad kernel lines only (demo,
#                                            bench); exit 1 if any
#
# Counting (one scheme, documented in Documentation/testing.md):
#  - each column-0 TAP result line `ok N ...` / `not ok N ...` printed by a
#    test binary between its LOL-TEST-BEGIN and LOL-TEST-END markers is one
#    test: `# SKIP` -> skipped, `# XFAIL`/`# TODO` -> passed, `not ok` ->
#    failed. Indented (nested) TAP lines are never counted, and the harness
#    prints no per-binary TAP line of its own, so nothing counts twice;
#  - a binary with no TAP result lines counts as one test (exit 0 passed,
#    exit 4 = KSFT_SKIP skipped, anything else failed);
#  - a binary that timed out, exited non-zero (other than 4), stopped short
#    of its `1..N` plan or never finished adds one failure, unless one of its
#    own results already failed;
#  - a binary that never started (VM died, insmod failed) is one failure;
#  - plus "insmod", "rmmod" and "dmesg clean" (no kernel warning/BUG/...
#    line, no kmemleak report, taint only O and E), one test each;
#  - plus one failure "vm" when the VM timed out, QEMU failed or the result
#    marker is missing.

function progress(s) {
	if (mode == "stream") {
		print s
		fflush()
	}
}

function failure(s) {
	nfailures++
	failures[nfailures] = s
}

function tap_result(line,    ok, desc, dir, p) {
	ok = (line !~ /^not /)
	desc = line
	sub(/^(not )?ok [0-9]+ *(- )?/, "", desc)
	dir = ""
	if (desc ~ /^#/) {
		dir = desc
		desc = ""
	} else if ((p = index(desc, " # ")) > 0) {
		dir = substr(desc, p + 3)
		desc = substr(desc, 1, p - 1)
	}
	sub(/^# */, "", dir)
	# kselftest_harness prints a skipped test as "ok N # SKIP reason":
	# name it from the harness's preceding "#  RUN  name ..." line.
	if (desc == "" && last_run != "")
		desc = last_run
	t_tap++
	if (toupper(dir) ~ /^SKIP/) {
		t_skip++
		sub(/^[Ss][Kk][Ii][Pp] */, "", dir)
		progress("  SKIP  " desc (dir != "" ? " (" dir ")" : ""))
	} else if (ok || toupper(dir) ~ /^(TODO|XFAIL)/) {
		t_pass++
		progress("  ok    " desc)
	} else {
		t_fail++
		progress("  FAIL  " desc)
		failure(cur ": " desc)
	}
}

# Print output lines from..t_nout of the current binary, at most max.
function show_output(from, max,    i) {
	if (mode != "stream" || t_nout < from)
		return
	if (t_nout - from + 1 > max)
		from = t_nout - max + 1
	print "  --- " cur " output ---"
	for (i = from; i <= t_nout; i++)
		print "  | " t_out[i]
	print "  ---"
	fflush()
}

function begin_test(name, line) {
	cur = name
	in_test = 1
	started[name] = 1
	t_pass = t_fail = t_skip = t_tap = 0
	t_plan = -1
	t_nout = 0
	run_from = 0
	last_run = ""
	t_timeout = line
	sub(/.*timeout=/, "", t_timeout)
	progress("RUN   " name)
}

# rc: exit status, or "" when the binary never finished.
function end_test(rc, secs, timedout,    extra, status, own_fail) {
	extra = ""
	if (rc == "")
		extra = "did not finish (VM died?)"
	else if (timedout == 1)
		extra = "timed out after " t_timeout " s"
	else if (rc != 0 && rc != 4)
		extra = "exit status " rc
	else if (t_plan >= 0 && t_tap < t_plan)
		extra = "only " t_tap " of " t_plan " planned results"

	own_fail = t_fail
	if (t_tap == 0) {
		if (extra == "" && rc == 0)
			t_pass = 1
		else if (extra == "" && rc == 4)
			t_skip = 1
		else
			t_fail = 1
	} else if (extra != "" && t_fail == 0) {
		t_fail = 1
	}
	if (extra != "" && (own_fail == 0 || rc == "" || timedout == 1))
		failure(cur ": " extra)
	npass += t_pass
	nfail += t_fail
	nskip += t_skip

	if (t_fail > 0)
		status = "FAIL"
	else if (t_pass == 0 && t_skip > 0)
		status = "SKIP"
	else
		status = "PASS"
	# A crash, timeout or bad exit: show how the output ended.
	if (extra != "" && (own_fail == 0 || rc == "" || timedout == 1))
		show_output(1, 50)
	progress(sprintf("%-5s %s (%d passed, %d failed, %d skipped%s%s)",
		status, cur, t_pass, t_fail, t_skip,
		secs != "" ? ", " secs " s" : "", extra != "" ? "; " extra : ""))
	in_test = 0
}

function field(line, key,    v) {
	v = line
	if (index(v, key "=") == 0)
		return ""
	sub(".*" key "=", "", v)
	sub(/ .*/, "", v)
	return v
}

BEGIN {
	taint_ok = 4096 + 8192	# O (out-of-tree) and E (unsigned): expected
	nexp = split(expected, exp_list, " ")
	if (mode == "")
		mode = "final"
}

{ sub(/\r+$/, "") }

# Kernel output: a printk timestamp anywhere on the line (a kernel message
# can land in the middle of a line a test is printing).
/\[ *[0-9]+\.[0-9]+\]/ {
	kline = $0
	sub(/^.*\[ *[0-9]+\.[0-9]+\] */, "", kline)
	if (kline ~ /WARNING:|BUG:|Oops|general protection|lockdep|possible recursive locking|refcount_t:|KASAN|UBSAN|Kernel panic|kmemleak|soft lockup|hard LOCKUP|blocked for more than|rcu.*detected stall/ &&
	    kline !~ /kmemleak: (Kernel memory leak detector|Automatic memory scanning|[0-9]+ new suspected memory leaks)/ &&
	    kline !~ /RCU lockdep checking is enabled/) {
		if (!(kline in bad_seen)) {
			bad_seen[kline] = 1
			bad_list[++nbad] = kline
		}
		kctx = 60	# show the splat that follows
	}
	if (kctx > 0) {
		kctx--
		if (mode == "stream" && nkshow < 500 && !(kline in kshown)) {
			kshown[kline] = 1
			nkshow++
			print "KERNEL " kline
			fflush()
		}
	}
}

/^LOL-INIT: uptime=/ {
	booted = 1
	progress("boot  guest reached init after " field($0, "uptime") " s (" field($0, "kernel") ", " field($0, "cpus") " CPUs)")
	next
}

/^LOL-INSMOD: / {
	insmod = ($2 == "ok")
	insmod_seen = 1
	progress(insmod ? "PASS  insmod" : "FAIL  insmod (" $0 ")")
	next
}

/^LOL-TEST-BEGIN: / {
	if (in_test)
		end_test("", "", 0)
	begin_test($2, $0)
	next
}

/^LOL-TEST-END: / {
	if (in_test && $2 == cur)
		end_test(field($0, "rc"), field($0, "secs"), field($0, "timedout"))
	next
}

# A test binary's output: keep the last 500..1000 lines, count TAP results,
# and show the lines of each failing subtest (from its "#  RUN" line on).
in_test {
	if (t_nout >= 1000) {
		for (i = 1; i <= 500; i++)
			t_out[i] = t_out[i + 500]
		t_nout = 500
		run_from = run_from > 500 ? run_from - 500 : 1
	}
	t_out[++t_nout] = $0
	if (/^#  RUN /) {
		last_run = $3
		run_from = t_nout
	} else if (/^(not )?ok [0-9]+/) {
		before = t_fail
		tap_result($0)
		if (t_fail > before)
			show_output(run_from > 0 ? run_from : 1, 100)
		run_from = 0
	} else if (/^1\.\.[0-9]+/) {
		t_plan = substr($0, 4) + 0
	}
	next
}

/^LOL-DMESG-BEGIN/ {
	in_dmesg = 1
	next
}

# Anything else the guest prints outside a test (e.g. insmod's complaint).
booted && !in_dmesg && !/^LOL-/ && !/\[ *[0-9]+\.[0-9]+\]/ && NF > 0 {
	progress("guest " $0)
}

/^LOL-RMMOD: / {
	rmmod = ($2 == "ok")
	rmmod_seen = 1
	progress(rmmod ? "PASS  rmmod" : "FAIL  rmmod (" $0 ")")
	next
}

/^LOL-KMEMLEAK: / {
	nleak++
	if (mode == "stream" && nleak <= 50)
		print $0
	next
}

/^LOL-TAINT: / {
	taint = $2 + 0
	taint_seen = 1
	next
}

/^LOL-DMESG-END/ {
	dmesg_seen = 1
	in_dmesg = 0
	next
}

/^LOL-RESULT: done/ {
	marker = 1
	next
}

END {
	if (mode == "kernel") {
		# Only the kernel's health: bad lines, kmemleak, exit 1 if any.
		for (i = 1; i <= nbad; i++)
			print "kernel: " bad_list[i]
		if (nleak > 0)
			print "kmemleak: " nleak " report line(s)"
		exit (nbad > 0 || nleak > 0) ? 1 : 0
	}
	if (in_test)
		end_test("", "", 0)

	for (i = 1; i <= nexp; i++) {
		if (!(exp_list[i] in started)) {
			nfail++
			failure(exp_list[i] ": not run" (insmod_seen && !insmod ? " (insmod failed)" : ""))
			progress("FAIL  " exp_list[i] " (not run)")
		}
	}

	if (insmod)
		npass++
	else {
		nfail++
		failure("insmod: " (insmod_seen ? "failed" : "not reached"))
	}
	if (rmmod)
		npass++
	else {
		nfail++
		failure("rmmod: " (rmmod_seen ? "failed" : "not reached"))
	}

	dirty = ""
	if (nbad > 0)
		dirty = nbad " bad kernel line(s)"
	else if (nleak > 0)
		dirty = "kmemleak report"
	else if (!taint_seen || !dmesg_seen)
		dirty = "dmesg not reached"
	else if (taint % 4096 != 0 || taint >= 16384)
		dirty = "kernel tainted " taint " (expected 0 or bits of " taint_ok ")"
	if (dirty == "")
		npass++
	else {
		nfail++
		failure("dmesg clean: " dirty)
		for (i = 1; i <= nbad && i <= 10; i++)
			failure("  kernel: " bad_list[i])
	}
	progress((dirty == "" ? "PASS" : "FAIL") "  dmesg clean" (dirty != "" ? " (" dirty ")" : ""))

	if (mode != "final")
		exit 0

	vm = ""
	if (vm_rc == 124)
		vm = "VM timed out after " vm_timeout " s"
	else if (vm_rc != "" && vm_rc != 0)
		vm = "QEMU exited with status " vm_rc
	else if (!booted)
		vm = "guest never reached init"
	else if (!marker)
		vm = "no result marker (guest crashed or panicked?)"
	if (vm != "") {
		nfail++
		failure("vm: " vm)
	}

	if (nfailures > 0) {
		print "failures:"
		for (i = 1; i <= nfailures; i++)
			print "  " failures[i]
	}
	printf "%d passed, %d failed, %d skipped\n", npass, nfail, nskip
	exit (nfail > 0 || nfailures > 0) ? 1 : 0
}

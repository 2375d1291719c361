#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: what lol is for, in numbers. Boots Debian's kernel in QEMU,
# loads lol, shows `lolctl info`, boots User-Mode Linux on lol with lol-run
# to a shell prompt, then runs lol-guest-bench natively, in UML on lol and
# in UML with ptrace in the same VM run, and prints the seed's lmbench
# table (LinuxOnLinux, UNSW 2007) with today's rows beside its own, the
# other benchmarks, each figure's ratio to native, and writes
# bench/demo.json and the chart bench/demo.svg.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

usage() {
	cat <<EOF
NAME
	demo.sh - UML on lol vs UML on ptrace vs native, the seed's table

SYNOPSIS
	make demo [CLOCK=icount|tcg] [QUICK=1]
	scripts/demo.sh [--clock icount|tcg] [--quick]

DESCRIPTION
	One VM run: lol loaded, lolctl info, a tiny lol guest, User-Mode
	Linux on lol booted with lol-run and a few commands typed at its
	prompt, then lol-guest-bench (median, min and max of several runs
	per figure) natively, in UML on lol and in UML with ptrace.

	The default clock is -icount shift=0,align=off,sleep=off with one
	vCPU: guest time counts instructions, repeatable across boots. TCG's
	wall clock (--clock tcg) exaggerates every page-table switch about
	tenfold (QEMU flushes its software TLB); KVM does not boot Linux in
	nested VMs here.

OPTIONS
	--clock C   icount (default) or tcg
	--quick     fewer iterations and runs, same rows (a few minutes)

FILES
	bench/demo.json   the figures (medians, min, max per mode), the clock,
	                  and the seed's 2007 rows
	bench/demo.svg    ratio to native per benchmark and mode (gnuplot)
	\$BUILD/demo/console.log, \$BUILD/demo/table.txt

ENVIRONMENT
	LOL_KERNEL, LOL_MODULE, LOL_MODULE_PARAMS, LOL_TIMEOUT (default
	3600), KVER, LOL_CACHE, BUILD as for scripts/check.sh.
EOF
}

clock=${CLOCK:-icount}
quick=${QUICK:-0}
while [ $# -gt 0 ]; do
	case $1 in
	--clock) clock=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

lol_env
kernel=$(lol_kernel)
module=$(lol_module "$kernel")
g=$BUILD/guest
out=$BUILD/demo
log=$out/console.log
[ -x "$BUILD/bin/lol-run" ] || lol_die "no $BUILD/bin/lol-run (make userspace)"
[ -x "$g/linux" ] && [ -x "$g/lol-guest-bench" ] || lol_die "no guest in $g (make guest)"
command -v gnuplot >/dev/null || lol_die "no gnuplot (make deps installs gnuplot-nox)"

case $quick in
1) gbargs="-r 3 -n 0.2" estimate="about 2 minutes" ;;
*) gbargs="-r 5 -n 1" estimate="about 8 minutes (QUICK=1: about 2)" ;;
esac
case $clock in
icount) vmargs=(--icount); label="QEMU TCG -icount shift=0,align=off,sleep=off, 1 vCPU: time = instructions executed" ;;
tcg) vmargs=(--accel tcg --smp 1); label="QEMU TCG wall clock, 1 vCPU (page-table switches cost ~10x what they do on hardware)" ;;
*) lol_die "unknown clock '$clock' (icount or tcg)" ;;
esac

rm -rf "$out"
lol_payload "$out/payload" "$module"
lol_guest_payload "$out/payload/lol/guest"
mkdir -p "$out/payload/lol/tests"
install -m 0755 "$LOL_ROOT/selftests/guest_test.sh" "$out/payload/lol/tests/"
lol_env_file "$out/payload/lol/env" "LOL_MODULE_PARAMS=${LOL_MODULE_PARAMS:-}" \
	"LOL_GB_ARGS=$(echo "$gbargs" | tr ' ' ',')"
lol_initramfs "$out/initramfs.cpio" guest-demo.sh "$out/payload"

lol_msg "demo: $label"
lol_msg "demo: lol-guest-bench $gbargs, three ways; this takes $estimate"
start=$SECONDS
# Shown: the LOL-DEMO part of the console; each phase and each benchmark
# as it completes, with the elapsed time.
filter='
	# The time of day in seconds in any awk: srand() returns the seed it
	# replaces, and a seedless srand() seeds with the time.
	function now() { srand(); return srand() }
	function el() { return sprintf("[%4d s]", now() - t0) }
	BEGIN { t0 = now() }
	/^LOL-DEMO-BEGIN/ { on = 1; next }
	/^LOL-DEMO-END/ { on = 0; next }
	/^LOL-DEMO: / { print; fflush(); next }
	on && !/\[ *[0-9]+\.[0-9]+\]/ { print; fflush(); next }
	/^LOL-GB-PHASE: done/ { next }
	/^LOL-GB-PHASE: lol-bench/ { printf "lol: demo: %s lol-bench: lol'"'"'s own round trips\n", el(); fflush(); next }
	/^LOL-GB-PHASE: / { printf "lol: demo: %s lol-guest-bench %s\n", el(), $2; fflush(); next }
	/^LOL-UNIT \{/ {
		b = $0; sub(/.*"id": "/, "", b); sub(/".*/, "", b)
		m = $0; sub(/.*"median": /, "", m); sub(/[,}].*/, "", m)
		printf "lol: demo: %s   %-15s %s ns\n", el(), b, m; fflush()
	}
	/^LOL-GB-NOTE/ { print; fflush(); next }
	/^LOL-GB [a-z]+ \{/ {
		b = $0; sub(/.*"bench": "/, "", b); sub(/".*/, "", b)
		m = $0; sub(/.*"median": /, "", m); sub(/[,}].*/, "", m)
		u = $0; sub(/.*"unit": "/, "", u); sub(/".*/, "", u)
		if ($0 ~ /"skipped"/) m = "skipped"
		if ($0 ~ /"error"/) { m = $0; sub(/.*"error": "/, "", m); sub(/".*/, "", m); m = "ERROR: " m; u = "" }
		printf "lol: demo: %s   %-7s %-15s %s %s\n", el(), $2, b, m, u; fflush()
	}'
lol_vm "$filter" -- --kernel "$kernel" --initrd "$out/initramfs.cpio" \
	"${vmargs[@]}" --timeout "${LOL_TIMEOUT:-3600}" --log "$log"
wall=$((SECONDS - start))

fail=0
[ "$vm_rc" = 0 ] || { lol_warn "VM exited with status $vm_rc (see $log)"; fail=1; }
grep -q '^LOL-DEMO-RC: 0$' "$log" ||
	{ lol_warn "demo failed in the VM: $(grep -m1 '^LOL-DEMO' "$log" || echo 'did not finish') (see $log)"; fail=1; }
lol_kernel_ok "$log" ||
	{ lol_warn "the kernel logged problems (see $log)"; fail=1; }

# The results: table, JSON, chart data.
mkdir -p "$LOL_ROOT/bench"
json=$LOL_ROOT/bench/demo.json
svg=$LOL_ROOT/bench/demo.svg
dat=$out/ratios.dat
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
awk -v label="$label" -v clock="$clock" -v args="$gbargs" -v date="$date" \
	-v json="$json" -v dat="$dat" -v wall="$wall" '
	/^LOL-GB (native|lol|ptrace) \{/ && /"error"/ { nerr++ }
	/^LOL-GB (native|lol|ptrace) \{/ && !/"skipped"/ && !/"error"/ {
		mode = $2
		b = $0; sub(/.*"bench": "/, "", b); sub(/".*/, "", b)
		u = $0; sub(/.*"unit": "/, "", u); sub(/".*/, "", u)
		w = $0; sub(/.*"what": "/, "", w); sub(/".*/, "", w)
		f["median"] = f["min"] = f["max"] = ""
		for (k in f) {
			v = $0; sub(".*\"" k "\": ", "", v); sub(/[,}].*/, "", v)
			val[b, mode, k] = v
		}
		if (!(b in unit)) order[n++] = b
		unit[b] = u; what[b] = w; have[b, mode] = 1
		it = $0; sub(/.*"iters": /, "", it); sub(/[,}].*/, "", it)
		iters[b] = it
		if (mode == "lol" && $0 ~ /"lol_per_op": \{/) {
			p = $0; sub(/.*"lol_per_op": \{/, "", p); sub(/\}.*/, "", p)
			k = split(p, P, ", ")
			for (i = 1; i <= k; i++) {
				split(P[i], kv, ": "); gsub(/"/, "", kv[1])
				per[b, kv[1]] = kv[2] + 0
			}
			hasper[b] = 1
			perjson[b] = p
		}
	}
	/^LOL-UNIT \{/ {
		id = $0; sub(/.*"id": "/, "", id); sub(/".*/, "", id)
		v = $0; sub(/.*"median": /, "", v); sub(/[,}].*/, "", v)
		if (v != "null") unitcost[id] = v / 1000
	}
	# gnuplot reads "_" as a subscript.
	function gensub_(b) { gsub(/_/, "-", b); return b }
	function med(b, m) { return ((b, m) in have) ? val[b, m, "median"] + 0 : -1 }
	# Cost relative to native: time ratio, or native/mode for throughput.
	function ratio(b, m,   x, nat) {
		x = med(b, m); nat = med(b, "native")
		if (x <= 0 || nat <= 0) return -1
		return unit[b] ~ /\/s$/ ? nat / x : x / nat
	}
	function cell(b, m,   x, r) {
		x = med(b, m)
		if (x < 0) return sprintf("%-17s", "-")
		r = ratio(b, m)
		if (m == "native" || r < 0) return sprintf("%-17s", fmt(x))
		return sprintf("%-17s", fmt(x) sprintf(" (%.1fx)", r))
	}
	function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
	function row(name, m, list,   i, k, s) {
		s = sprintf("%-24s", name)
		k = split(list, L, " ")
		for (i = 1; i <= k; i++) s = s " " cell(L[i], m)
		print s
	}
	function head(list, titles) {
		printf "%-24s", ""
		k = split(titles, T, "|")
		for (i = 1; i <= k; i++) printf " %-17s", T[i]
		printf "\n"
	}
	END {
		rt = ("lol-runloop" in unitcost) ? unitcost["lol-runloop"] : 0
		ft = ("lol-fault" in unitcost) ? unitcost["lol-fault"] : 0
		fpt = ("lol-fpu" in unitcost) ? unitcost["lol-fpu"] / 2 : 0
		seedcols = "ctxsw_2p pipe_lat unix_lat tcp_lat file_reread mmap_reread"
		printf "Some Linux-on-Linux results, again (%s)\n", label
		printf "lol-guest-bench %s; medians; (Nx) = cost relative to native in the same run\n\n", args
		head(seedcols, "2p/0k ctxsw (us)|Pipe (us)|AF UNIX (us)|TCP (us)|File reread (MB/s)|Mmap reread (MB/s)")
		row("UML on lol", "lol", seedcols)
		row("UML on ptrace", "ptrace", seedcols)
		row("Native (VM)", "native", seedcols)
		printf "quoted from the seed (LinuxOnLinux, UNSW 2007, IA-64; not measured here):\n"
		printf "%-24s %-17s %-17s %-17s %-17s %-17s %-17s\n", "  L-o-L", "252", "490", "859", "540", "1684", "886"
		printf "%-24s %-17s %-17s %-17s %-17s %-17s %-17s\n", "  virt (ptrace UML)", "1550", "3071", "5100", "4060", "185", "887"
		printf "%-24s %-17s %-17s %-17s %-17s %-17s %-17s\n", "  Native", "1.270", "4.197", "7.89", "13.7", "2273.5", "889"
		printf "%-24s %-17s %-17s %-17s %-17s %-17s %-17s\n", "  Manual/Xen", "2.720", "6.68", "11.6", "18.8", "2200", "879"
		printf "%-24s %-17s %-17s %-17s %-17s %-17s %-17s\n", "  Auto/Xen", "2.530", "6.84", "11.9", "17.3", "2200", "879"
		printf "\n"
		other = ""
		for (i = 0; i < n; i++)
			if (index(" " seedcols " ", " " order[i] " ") == 0)
				other = other " " order[i]
		printf "%-24s %-8s %-17s %-17s %-17s\n", "benchmark", "unit", "UML on lol", "UML on ptrace", "Native (VM)"
		k = split(other, O, " ")
		for (i = 1; i <= k; i++) {
			b = O[i]
			printf "%-24s %-8s %s %s %s\n", b, unit[b], cell(b, "lol"), cell(b, "ptrace"), cell(b, "native")
		}

		# JSON: every figure with min and max, and the seed rows.
		printf "{\n  \"date\": \"%s\",\n  \"clock\": \"%s\",\n  \"clock_label\": \"%s\",\n", date, clock, label > json
		printf "  \"lol_guest_bench_args\": \"%s\",\n  \"demo_wall_s\": %d,\n  \"results\": {\n", args, wall > json
		for (i = 0; i < n; i++) {
			b = order[i]
			printf "    \"%s\": {\"unit\": \"%s\", \"what\": \"%s\"", b, unit[b], what[b] > json
			for (mi = 1; mi <= 3; mi++) {
				m = mi == 1 ? "native" : mi == 2 ? "lol" : "ptrace"
				if (!((b, m) in have)) continue
				printf ", \"%s\": {\"median\": %s, \"min\": %s, \"max\": %s, \"ratio_to_native\": %.3f}", m,
				       val[b, m, "median"], val[b, m, "min"], val[b, m, "max"], ratio(b, m) > json
			}
			if (b in hasper)
				printf ", \"lol_per_op\": {%s}", perjson[b] > json
			printf "}%s\n", i < n - 1 ? "," : "" > json
		}
		printf "  },\n" > json
		if (rt > 0)
			printf "  \"lol_bench_us\": {\"lol-runloop\": %s, \"lol-fault\": %s, \"lol-fpu\": %s},\n", rt, (ft > 0 ? ft : "null"), (fpt > 0 ? 2 * fpt : "null") > json
		printf "  \"seed_2007_ia64\": {\"columns\": [\"ctxsw_2p_us\", \"pipe_us\", \"unix_us\", \"tcp_us\", \"file_reread_MBps\", \"mmap_reread_MBps\"],\n" > json
		printf "    \"L-o-L\": [252, 490, 859, 540, 1684, 886], \"virt\": [1550, 3071, 5100, 4060, 185, 887],\n" > json
		printf "    \"Native\": [1.270, 4.197, 7.89, 13.7, 2273.5, 889], \"Manual/Xen\": [2.720, 6.68, 11.6, 18.8, 2200, 879],\n" > json
		printf "    \"Auto/Xen\": [2.530, 6.84, 11.9, 17.3, 2200, 879]}\n}\n" > json

		# Where UML on lol spends an operation: the counts from the
		# guest'"'"'s /proc/lol, times lol'"'"'s own round trips from lol-bench.
		nper = 0
		for (i = 0; i < n; i++) if (order[i] in hasper) nper++
		if (nper) {
			printf "\nUML on lol, per operation: what its backend asked of lol (the guest'"'"'s /proc/lol):\n"
			printf "LOL_RUN calls and their exits, LOL_AS_OPS batches and ops, LOL_GET/SET_FPU calls;\n"
			printf "in lol = those calls times lol'"'"'s own costs (lol-bench, same VM), as a share of the operation\n"
			if (rt > 0)
				printf "lol-bench: syscall exit round trip %s us, fault round trip (exit, map, retry, unmap) %s us, one FPU call %s us\n", fmt(rt), (ft > 0 ? fmt(ft) : "-"), (fpt > 0 ? fmt(fpt) : "-")
			printf "%-16s %-10s %8s %8s %8s %8s %8s %8s %8s  %s\n", "benchmark", "us/op", "LOL_RUN", "syscall", "fault", "other", "batches", "AS ops", "FPU", "in lol"
			for (i = 0; i < n; i++) {
				b = order[i]
				if (!(b in hasper)) continue
				t = -1
				if (unit[b] == "us") t = med(b, "lol")
				else if (unit[b] == "s" && iters[b] > 0) t = med(b, "lol") * 1e6 / iters[b]
				oth = per[b, "exit_trap"] + per[b, "exit_kick"] + per[b, "exit_intr"]
				share = "-"
				if (t > 0 && rt > 0) {
					x = 100 * (per[b, "exit_syscall"] * rt + per[b, "exit_fault"] * (ft > 0 ? ft : rt) + oth * rt + (per[b, "fpu_get"] + per[b, "fpu_set"]) * fpt) / t
					share = x > 100 ? "~100%*" : sprintf("%.0f%%", x)
					if (x > 100) capped = 1
				}
				printf "%-16s %-10s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f  %s\n", b, (t > 0 ? fmt(t) : "-"), per[b, "runs"], per[b, "exit_syscall"], per[b, "exit_fault"], oth, per[b, "as_batches"], per[b, "as_ops"], per[b, "fpu_get"] + per[b, "fpu_set"], share
			}
			if (capped)
				printf "*: lol-bench'"'"'s fault round trip also unmaps the page, so it overestimates a guest fault: read as \"nearly all\"\n"
		}

		for (i = 0; i < n; i++) {
			b = order[i]
			if (ratio(b, "lol") > 0 && ratio(b, "ptrace") > 0)
				printf "%s %.3f %.3f\n", gensub_(b), ratio(b, "lol"), ratio(b, "ptrace") > dat
		}
		if (nerr) printf "\n%d benchmark run(s) failed (\"-\" above); see the console log\n", nerr
	}' "$log" | tee "$out/table.txt"
# A failed benchmark is shown ("-" and the count above) and warned about,
# but the other figures stand: the guest suite (make check) is the
# correctness gate. See Documentation/performance.md for the known one.
if grep -q '^LOL-GB [a-z]* {.*"error"' "$log"; then
	lol_warn "some benchmarks failed in the VM: $(grep '^LOL-GB [a-z]* {.*"error"' "$log" | grep -o '^LOL-GB [a-z]* {"bench": "[a-z_0-9]*"' | sed 's/LOL-GB \([a-z]*\) {"bench": "\(.*\)"/\2 (\1)/' | tr '\n' ' ')(see $log)"
fi

if [ -s "$dat" ]; then
	gnuplot <<EOF || { lol_warn "gnuplot failed"; fail=1; }
set terminal svg size 1000,520 dynamic font "sans,11"
set output "$svg"
set title "UML on lol vs UML on ptrace: cost relative to native (1 = native; lower is better)\n{/*0.8 $label}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.25:512]
set ytics ("0.25x" 0.25, "0.5x" 0.5, "1x" 1, "2x" 2, "4x" 4, "8x" 8, "16x" 16, "32x" 32, "64x" 64, "128x" 128, "256x" 256)
set grid ytics
set xtics rotate by -35
set key top right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot "$dat" using 2:xtic(1) title "UML on lol" lc rgb "#2a7ab0", \
     "" using 3 title "UML on ptrace" lc rgb "#c0504d"
EOF
	lol_msg "demo: chart $svg"
else
	lol_warn "no results to chart"
	fail=1
fi
lol_msg "demo: $json; wall time ${wall} s"
[ "$fail" = 0 ] && lol_msg "demo ok"
exit "$fail"

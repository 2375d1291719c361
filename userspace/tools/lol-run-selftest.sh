#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lol-run-selftest.sh: host-side checks of lol-run that need neither the
# module nor a UML kernel: argument errors, --help, --dry-run command lines,
# the host check failing cleanly without /dev/lol, and the process paths
# (exit status, signals, fd hygiene, cleanup) against fake kernels this
# script writes to a temp dir. With /dev/lol usable it also checks the fd
# UML inherits; the mconsole checks need python3 (else they are skipped).
#
# Usage: lol-run-selftest.sh [PATH/TO/lol-run]   (default: lol-run in $PATH)
# Prints "ok N - ..." / "not ok N - ..." lines; exits 1 if any failed.
set -euo pipefail

case ${1:-} in
-h | --help)
	sed -n '4,12s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

LR=${1:-$(command -v lol-run || true)}
if [ -z "$LR" ] || [ ! -x "$LR" ]; then
	echo "usage: $0 PATH/TO/lol-run" >&2
	exit 2
fi
LR=$(cd "$(dirname "$LR")" && pwd)/$(basename "$LR")

# Short: lol-run puts its uml_dir (and the mconsole socket) below $TMPDIR.
T=$(mktemp -d /tmp/lrst.XXXXXX)
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
BGPIDS=()
cleanup() {
	local p
	for p in "${BGPIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

NR=0
FAILED=0
RC=0
ok() {
	NR=$((NR + 1))
	echo "ok $NR - $1"
}
not_ok() {
	NR=$((NR + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $NR - $1"
	shift
	local line
	for line in "$@"; do
		echo "#   $line"
	done
}
skip() {
	NR=$((NR + 1))
	echo "ok $NR - $1 # SKIP $2"
}
# check DESC COND...: ok when the command COND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc" "failed: $*" "rc=$RC" "stdout: $(head -c 600 "$T/out")" \
			"stderr: $(head -c 600 "$T/err")"
	fi
}

# run ARGS...: lol-run with stdin from /dev/null; RC, $T/out, $T/err.
run() {
	RC=0
	"$LR" "$@" </dev/null >"$T/out" 2>"$T/err" || RC=$?
}
has_line() { grep -qxF -- "$1" "$2"; }
not() { ! "$@"; }
# took LO HI: $start was set LO to HI seconds ago.
took() { local d=$((SECONDS - start)); [ "$d" -ge "$1" ] && [ "$d" -le "$2" ]; }
rc_is() { [ "$RC" -eq "$1" ]; }
nr_lines() { [ "$(wc -l <"$2")" -eq "$1" ]; }
no_uml_dirs() { [ -z "$(ls -A "$TMPDIR")" ]; }
# gone PID: no such process, or a zombie nobody reaped yet.
gone() {
	local state
	[ -n "$1" ] || return 1
	[ -r "/proc/$1/stat" ] || return 0
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}
gone_within() { # SECS PID
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		gone "$2" && return 0
		sleep 0.1
	done
	return 1
}
wait_file() { # SECS FILE
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ -s "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- fake kernels ------------------------------------------------------------

FK=$T/fake-linux
F=$T/fake
cat >"$FK" <<'EOF'
#!/usr/bin/env bash
# A fake UML kernel: records argv, pid and open fds in $FAKE_OUT, then
# acts out $FAKE_MODE.
out=$FAKE_OUT
printf '%s\n' "$@" >"$out/argv.tmp"
find "/proc/$$/fd" -mindepth 1 -printf '%f %l\n' >"$out/fds" 2>/dev/null
readlink "/proc/$$/fd/3" >"$out/fd3" 2>/dev/null || true
ps -o sid=,pgid= -p $$ >"$out/ids" 2>/dev/null || true
mv "$out/argv.tmp" "$out/argv"
case $FAKE_MODE in
exit)
	echo $$ >"$out/pid"
	exit "${FAKE_CODE:-0}"
	;;
sleep) # SIGTERM: log it and exit with FAKE_CODE; a background sleep stays
	trap 'echo TERM >>"$out/log"; exit "${FAKE_CODE:-0}"' TERM
	sleep 300 &
	echo $! >"$out/child"
	echo $$ >"$out/pid"
	while :; do wait || sleep 0.1; done
	;;
ignore) # ignores SIGTERM: only SIGKILL stops it
	trap 'echo TERM >>"$out/log"' TERM
	sleep 300 &
	echo $! >"$out/child"
	echo $$ >"$out/pid"
	while :; do wait || sleep 0.1; done
	;;
spawn) # leaves a process in its group behind and exits
	sleep 300 &
	echo $! >"$out/child"
	echo $$ >"$out/pid"
	exit "${FAKE_CODE:-0}"
	;;
signal) # dies of SIGUSR1
	echo $$ >"$out/pid"
	kill -USR1 $$
	sleep 5
	;;
execsleep) # one process, for PR_SET_PDEATHSIG
	echo $$ >"$out/pid"
	exec sleep 300
	;;
esac
EOF
chmod +x "$FK"

# A fake kernel with a UML-style mconsole (protocol version 2).
FM=$T/fake-mconsole
cat >"$FM" <<'EOF'
#!/usr/bin/env python3
import os, socket, struct, sys
args = sys.argv[1:]
umid = [a[5:] for a in args if a.startswith("umid=")][-1]
umldir = [a[8:] for a in args if a.startswith("uml_dir=")][-1]
out = os.environ["FAKE_OUT"]
os.makedirs(os.path.join(umldir, umid), exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(os.path.join(umldir, umid, "mconsole"))
with open(out + "/pid", "w") as f:
    f.write("%d\n" % os.getpid())
log = open(out + "/log", "a", buffering=1)
cad = os.environ.get("FAKE_CAD", "exit")
while True:
    data, addr = s.recvfrom(4096)
    magic, version, length = struct.unpack("=III", data[:12])
    cmd = data[12:12 + length].decode()
    good = magic == 0xcafebabe and version == 2 and len(data) == 12 + length
    log.write("%s %s\n" % (cmd, "good" if good else "bad"))
    s.sendto(struct.pack("=III", 0, 0, 1) + b"\0", addr)
    if cmd == "cad" and cad == "exit":
        sys.exit(7)
    if cmd == "halt":
        sys.exit(8)
EOF
chmod +x "$FM"
HAVE_PY=0
command -v python3 >/dev/null 2>&1 && HAVE_PY=1

# fake_start KERNEL MODE [LOL-RUN ARGS...]: lol-run in the background.
fake_start() {
	local kernel=$1 mode=$2
	shift 2
	rm -rf "$F"
	mkdir -p "$F"
	FAKE_OUT=$F FAKE_MODE=$mode "$LR" -k "$kernel" --lol off "$@" \
		</dev/null >"$T/out" 2>"$T/err" &
	LRPID=$!
	BGPIDS+=("$LRPID")
}
fake_wait() {
	RC=0
	wait "$LRPID" || RC=$?
}
# The fd numbers the fake saw, without the one bash reads the script from.
fake_fds() { awk -v s="$1" '$2 != s { print $1 }' "$F/fds" | sort -n | tr '\n' ' '; }
uml_dir_of_run() { sed -n 's/^uml_dir=//p' "$F/argv"; }

# ---- usage ---------------------------------------------------------------------

run --help
check "--help exits 0" rc_is 0
for s in NAME SYNOPSIS DESCRIPTION OPTIONS "HOST CHECKS" SIGNALS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	check "--help has $s" has_line "$s" "$T/out"
done

while read -r desc args; do
	# shellcheck disable=SC2086 # word splitting wanted
	run $args
	check "usage error: $desc -> 2" rc_is 2
	check "usage error: $desc: message" grep -q '^lol-run: ' "$T/err"
done <<'EOF'
unknown-option --frobnicate
missing-argument --mem
bad-mem -m 12X
zero-mem -m 0
tiny-mem -m 4K
huge-mem -m 99999999999999999999G
bad-lol --lol maybe
zero-cpus -c 0
bad-cpus -c two
bad-grace -g soon
EOF

run -k /bin/true --cpus 2
check "--cpus 2 -> 2" rc_is 2
check "--cpus 2: uniprocessor message" \
	has_line "lol-run: UML 6.1 is uniprocessor; --cpus above 1 needs an SMP guest" "$T/err"

# ---- dry runs ------------------------------------------------------------------

run -k "$FK" --lol off -n
check "dry run -> 0" rc_is 0
check "dry run: host check skipped" has_line "# host check: skipped (--lol off)" "$T/out"
check "dry run: kernel first" [ "$(sed -n 2p "$T/out")" = "$FK" ]
for w in mem=256M lol=off con0=fd:0,fd:1 con=null; do
	check "dry run: $w" has_line "$w" "$T/out"
done
check "dry run: umid" grep -qx 'umid=lolrun-[0-9]*' "$T/out"
check "dry run: uml_dir in TMPDIR" has_line "uml_dir=$TMPDIR/lol-run.XXXXXX/" "$T/out"
check "dry run: no root=" not grep -q '^root=' "$T/out"
check "dry run: nothing created" no_uml_dirs

run -k "$FK" --lol off -n -m 1536M -- init=/bin/sh 'a b' "it's"
check "dry run: mem=1536M" has_line "mem=1536M" "$T/out"
check "dry run: KERNEL ARGS last, quoted" \
	[ "$(tail -n 3 "$T/out" | tr '\n' '|')" = "init=/bin/sh|'a b'|'it'\\''s'|" ]
run -k "$FK" --lol off -n -m 1g
check "dry run: mem=1G" has_line "mem=1G" "$T/out"
run -k "$FK" --lol off -n -m 1048577
check "dry run: mem in bytes" has_line "mem=1048577" "$T/out"

touch "$T/root.img"
mkdir -p "$T/rootdir"
run -k "$FK" --lol off -n -r "$T/root.img"
check "rootfs image: ubd0" has_line "ubd0=$T/root.img" "$T/out"
check "rootfs image: root=/dev/ubda" has_line "root=/dev/ubda" "$T/out"
(cd "$T" && "$LR" -k "$FK" --lol off -n -r rootdir >"$T/out" 2>"$T/err") && RC=0 || RC=$?
check "rootfs dir: relative path made absolute" has_line "rootflags=$T/rootdir" "$T/out"
check "rootfs dir: hostfs" has_line "rootfstype=hostfs" "$T/out"
check "rootfs dir: root=/dev/root" has_line "root=/dev/root" "$T/out"
run -k "$FK" --lol off -n -r "$T/missing.img"
check "rootfs missing -> 1" rc_is 1
mkdir -p "$T/a,b"
run -k "$FK" --lol off -n -r "$T/a,b"
check "rootfs with a comma -> 1" rc_is 1
check "rootfs with a comma: says why" grep -q "cannot carry ','" "$T/err"

LOL_UML=$FK "$LR" --lol off -n >"$T/out" 2>"$T/err" && RC=0 || RC=$?
check "LOL_UML picks the kernel" [ "$(sed -n 2p "$T/out")" = "$FK" ]
mkdir -p "$T/bin"
cp "$FK" "$T/bin/my-uml"
PATH=$T/bin:$PATH "$LR" -k my-uml --lol off -n >"$T/out" 2>"$T/err" && RC=0 || RC=$?
check "-k NAME is looked up in PATH" [ "$(sed -n 2p "$T/out")" = "$T/bin/my-uml" ]
mkdir -p "$T/inst"
cp "$LR" "$T/inst/lol-run"
cp "$FK" "$T/inst/linux"
env -u LOL_UML "$T/inst/lol-run" --lol off -n >"$T/out" 2>"$T/err" && RC=0 || RC=$?
check "default kernel: linux next to lol-run" [ "$(sed -n 2p "$T/out")" = "$T/inst/linux" ]
env -u LOL_UML PATH=/nonexistent "$LR" --lol off -n >"$T/out" 2>"$T/err" && RC=0 || RC=$?
check "no kernel found -> 1" rc_is 1
check "no kernel found: says how to give one" grep -q -- "--kernel PATH" "$T/err"
run -k "$T/missing-kernel" --lol off
check "missing kernel -> 1" rc_is 1

# ---- host check without the module ---------------------------------------------

if [ -e /dev/lol ]; then
	skip "host check without /dev/lol" "/dev/lol exists here"
else
	run -k "$FK" --lol on
	check "no /dev/lol, --lol on -> 1" rc_is 1
	check "no /dev/lol: load the module" \
		has_line "lol-run: /dev/lol: no such device; load the module: sudo modprobe lol" "$T/err"
fi
run -k "$FK" --lol on -d /nonexistent -n
check "--device /nonexistent --lol on -> 1" rc_is 1
check "--device /nonexistent: load the module" \
	has_line "lol-run: /nonexistent: no such device; load the module: sudo modprobe lol" "$T/err"
check "--device /nonexistent: one line" nr_lines 1 "$T/err"
check "--lol on failed: no command line" nr_lines 0 "$T/out"

run -k "$FK" -d /nonexistent -n
check "--lol auto, no device -> 0" rc_is 0
check "--lol auto: one line" nr_lines 1 "$T/err"
check "--lol auto: falls back to ptrace mode" grep -q "ptrace mode (lol=off)" "$T/err"
check "--lol auto: host check failed" has_line "# host check: failed" "$T/out"
check "--lol auto: lol=off" has_line "lol=off" "$T/out"

touch "$T/notlol"
run -k "$FK" --lol on -d "$T/notlol"
if [ "$(id -u)" -eq 0 ]; then
	check "a regular file as device -> 1" rc_is 1
	check "a regular file as device: not a lol device" grep -q "not a lol device" "$T/err"
else
	chmod 000 "$T/notlol"
	run -k "$FK" --lol on -d "$T/notlol"
	check "unreadable device -> 1" rc_is 1
	check "unreadable device: group lol" grep -q "permission denied.*group 'lol'" "$T/err"
fi

# ---- running a fake kernel -------------------------------------------------------

for code in 0 3 255; do
	rm -rf "$F"
	mkdir -p "$F"
	RC=0
	FAKE_OUT=$F FAKE_MODE=exit FAKE_CODE=$code "$LR" -k "$FK" --lol off \
		</dev/null >"$T/out" 2>"$T/err" 7</dev/null || RC=$?
	check "exit status $code propagated" rc_is "$code"
done
check "UML got its command line" has_line "con0=fd:0,fd:1" "$F/argv"
check "no fds leak into UML (only 0 1 2)" [ "$(fake_fds "$FK")" = "0 1 2 " ]
leads_session() {
	local sid pgid
	read -r sid pgid <"$F/ids"
	[ "$sid" = "$(cat "$F/pid")" ] && [ "$pgid" = "$sid" ]
}
if [ -s "$F/ids" ]; then
	check "UML leads its own session and group" leads_session
else
	skip "UML leads its own session and group" "no ps"
fi
check "uml_dir removed after exit" no_uml_dirs

fake_start "$FK" signal
fake_wait
check "UML killed by SIGUSR1 -> 138" rc_is 138
check "UML killed: says so" grep -q "UML died of SIGUSR1" "$T/err"

fake_start "$FK" spawn
fake_wait
check "spawn: exit 0" rc_is 0
check "leftovers in UML's group are killed" gone_within 2 "$(cat "$F/child")"
check "uml_dir removed" no_uml_dirs

printf 'not an executable\n' >"$T/badexec"
chmod +x "$T/badexec"
run -k "$T/badexec" --lol off
check "exec failure -> 1" rc_is 1
check "exec failure: says so" grep -q "cannot run $T/badexec" "$T/err"
check "exec failure: uml_dir removed" no_uml_dirs

# SIGTERM without mconsole: SIGTERM to UML at once, its status back.
FAKE_CODE=41 fake_start "$FK" sleep -g 30
wait_file 5 "$F/pid"
start=$SECONDS
kill -TERM "$LRPID"
fake_wait
check "SIGTERM, no mconsole: fake got SIGTERM" has_line TERM "$F/log"
check "SIGTERM, no mconsole: its exit status 41" rc_is 41
check "SIGTERM, no mconsole: well within the grace time" took 0 4
check "SIGTERM: says what it does" grep -q "SIGTERM: no mconsole, sending SIGTERM to UML" "$T/err"
check "SIGTERM: fake gone" gone "$(cat "$F/pid")"
check "SIGTERM: its child gone" gone_within 2 "$(cat "$F/child")"
check "SIGTERM: uml_dir removed" no_uml_dirs

FAKE_CODE=42 fake_start "$FK" sleep
wait_file 5 "$F/pid"
kill -HUP "$LRPID"
fake_wait
check "SIGHUP -> the fake's exit status 42" rc_is 42

if env --default-signal=INT true 2>/dev/null; then
	rm -rf "$F"
	mkdir -p "$F"
	FAKE_OUT=$F FAKE_MODE=sleep FAKE_CODE=43 env --default-signal=INT \
		"$LR" -k "$FK" --lol off </dev/null >"$T/out" 2>"$T/err" &
	LRPID=$!
	BGPIDS+=("$LRPID")
	wait_file 5 "$F/pid"
	kill -INT "$LRPID"
	fake_wait
	check "SIGINT -> the fake's exit status 43" rc_is 43
else
	skip "SIGINT" "env --default-signal missing"
fi

# A kernel that ignores SIGTERM is killed 5 s later, with its group.
fake_start "$FK" ignore
wait_file 5 "$F/pid"
start=$SECONDS
kill -TERM "$LRPID"
fake_wait
check "ignoring SIGTERM: SIGKILL -> 137" rc_is 137
check "ignoring SIGTERM: after about 5 s" took 4 8
check "ignoring SIGTERM: fake gone" gone "$(cat "$F/pid")"
check "ignoring SIGTERM: its child gone" gone_within 2 "$(cat "$F/child")"
check "ignoring SIGTERM: uml_dir removed" no_uml_dirs

# lol-run killed: PR_SET_PDEATHSIG takes UML along.
fake_start "$FK" execsleep
wait_file 5 "$F/pid"
# (braces: bash's "Killed" notice for the job goes to /dev/null)
{
	kill -KILL "$LRPID"
	wait "$LRPID" || true
} 2>/dev/null
check "lol-run SIGKILLed: UML dies too" gone_within 3 "$(cat "$F/pid")"
rm -rf "${TMPDIR:?}"/lol-run.*	# nobody was left to remove it

# ---- mconsole --------------------------------------------------------------------

if [ "$HAVE_PY" = 1 ]; then
	fake_start "$FM" x -g 30
	wait_file 5 "$F/pid"
	start=$SECONDS
	kill -TERM "$LRPID"
	fake_wait
	check "mconsole: SIGTERM sends a good cad" has_line "cad good" "$F/log"
	check "mconsole: the guest shut down (status 7)" rc_is 7
	check "mconsole: at once" took 0 4
	check "mconsole: uml_dir and socket removed" no_uml_dirs

	FAKE_CAD=ignore fake_start "$FM" x -g 1 -v
	wait_file 5 "$F/pid"
	start=$SECONDS
	kill -TERM "$LRPID"
	fake_wait
	check "mconsole: halt after the grace time" [ "$(tr '\n' '|' <"$F/log")" = "cad good|halt good|" ]
	check "mconsole: halted (status 8)" rc_is 8
	check "mconsole: after about 1 s" took 1 4
	check "mconsole: -v shows the replies" grep -q "mconsole: ok" "$T/err"

	FAKE_CAD=ignore fake_start "$FM" x -g 60
	wait_file 5 "$F/pid"
	start=$SECONDS
	kill -TERM "$LRPID"
	sleep 0.5
	kill -TERM "$LRPID"
	fake_wait
	check "mconsole: a second signal halts at once" [ "$(tr '\n' '|' <"$F/log")" = "cad good|halt good|" ]
	check "mconsole: second signal: status 8" rc_is 8
check "mconsole: second signal: quickly" took 0 4
	check "mconsole: uml_dir removed" no_uml_dirs

	# A kernel that makes the terminal raw and dies: lol-run restores it.
	cat >"$T/fake-raw" <<'EOF'
#!/usr/bin/env bash
stty raw
kill -KILL $$
EOF
	chmod +x "$T/fake-raw"
	RC=0
	python3 - "$LR" "$T/fake-raw" >"$T/out" 2>"$T/err" <<'EOF' || RC=$?
import os, pty, subprocess, sys, termios
m, s = pty.openpty()
before = termios.tcgetattr(s)
p = subprocess.run([sys.argv[1], "-k", sys.argv[2], "--lol", "off"],
                   stdin=s, stdout=s, stderr=subprocess.DEVNULL)
print(p.returncode, "same" if termios.tcgetattr(s) == before else "changed")
EOF
	check "terminal settings restored after UML is killed" has_line "137 same" "$T/out"
else
	skip "mconsole shutdown and terminal" "no python3"
fi

# ---- with the module -------------------------------------------------------------

if "$LR" -k "$FK" --lol on -n >/dev/null 2>&1; then
	rm -rf "$F"
	mkdir -p "$F"
	RC=0
	FAKE_OUT=$F FAKE_MODE=exit "$LR" -k "$FK" --lol on </dev/null >"$T/out" 2>"$T/err" || RC=$?
	check "--lol on: runs" rc_is 0
	check "--lol on: lol=on,fd=3" has_line "lol=on,fd=3" "$F/argv"
	check "--lol on: fd 3 is /dev/lol" [ "$(cat "$F/fd3")" = "$(readlink -f /dev/lol)" ]
	check "--lol on: fds 0 1 2 3 only" [ "$(fake_fds "$FK")" = "0 1 2 3 " ]
else
	skip "the lol fd reaches UML" "no usable /dev/lol"
fi

echo "# $((NR - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lolstat_test.sh: lolstat against the loaded module with a busy guest
# (lol-demo --repeat 0 in the background), TAP output. The
# counters themselves are checked exactly by netlink_test; this checks
# what the admin reads: the table, the live rates, the events, --help,
# errors. Runs lolstat and lol-demo from PATH; fails without them.

# The TAP helpers: in lib/ beside this script, or beside it (kselftest install).
here=$(dirname "$0")
for tap in "$here/lib/tap.sh" "$here/tap.sh"; do
	[ -f "$tap" ] && break
done
# shellcheck source=lib/tap.sh source-path=SCRIPTDIR
. "$tap"

tmp=${TMPDIR:-/tmp}/lolstat_test.$$
busy=

cleanup() {
	[ -n "$busy" ] && kill "$busy" 2>/dev/null && wait "$busy" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp"

echo "TAP version 13"
for t in lolstat lol-demo; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "1..0 # no $t in PATH"
		exit 1
	fi
done
echo "1..8"


# A guest that exits to its monitor for as long as the test needs.
lol-demo --repeat 0 >"$tmp/busy" 2>&1 &
busy=$!
i=0
until lolstat --once 2>/dev/null | grep -q ' lol-demo '; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done

# 1: --once shows the busy guest, its vCPU with -v, and a total line
lolstat --once -v >"$tmp/once" 2>&1
rc=$?
sed "s/^/# /" "$tmp/once" "$tmp/busy"
line=$(grep ' lol-demo ' "$tmp/once" | head -n1)
[ $rc = 0 ] && [ -n "$line" ] && grep -q '^ID ' "$tmp/once" &&
	grep -qi '^total' "$tmp/once" && grep -qE "^ *[0-9]+/0 " "$tmp/once"
result "--once -v lists the busy guest, its vCPU and a total" $? "$tmp/once"

# 2: the busy guest's syscall exits grow between two snapshots
id=$(echo "$line" | awk '{ print $1 }')
a=$(lolstat --once --json --guest "$id" | sed -n 's/.*"total":{[^}]*"exit_syscall":\([0-9]*\).*/\1/p')
sleep 0.5
b=$(lolstat --once --json --guest "$id" | sed -n 's/.*"total":{[^}]*"exit_syscall":\([0-9]*\).*/\1/p')
echo "# exit_syscall of guest $id: $a, then $b"
[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]
result "--once --json counters of a running guest grow" $?

# 3: the live view, not on a terminal: views one after the other, with a
# non-zero syscall rate for the busy guest and no escape codes
lolstat -i 0.3 --guest "$id" >"$tmp/live" 2>&1 &
live=$!
sleep 1.5
kill -TERM $live
wait $live
rc=$?
rate=$(grep " lol-demo " "$tmp/live" | tail -n1 | awk '{ print $5 }')
echo "# live: exit status $rc, last EXITS/s $rate"
[ $rc = 0 ] && [ "$(grep -c '^ID ' "$tmp/live")" -ge 2 ] &&
	! grep -q "$(printf '\033')" "$tmp/live" &&
	[ "${rate:-0}" != 0 ] && [ "${rate:-0}" != 0.0 ]
result "live view: successive views, a non-zero exit rate, exit 0 on SIGTERM" $? "$tmp/live"

# 4: events: a guest created and destroyed by lol-demo, as JSON lines
lolstat --events --json -n 2 >"$tmp/ev" 2>&1 &
ev=$!
sleep 0.5
lol-demo >/dev/null 2>&1
i=0
while kill -0 $ev 2>/dev/null && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill $ev 2>/dev/null
wait $ev
rc=$?
sed 's/^/# /' "$tmp/ev"
[ $rc = 0 ] && grep -q '"event":"guest_create".*"comm":"lol-demo"' "$tmp/ev" &&
	grep -q '"event":"guest_destroy"' "$tmp/ev"
result "--events --json -n 2: lol-demo's create and destroy" $?

# 5: --guest with a guest that does not exist
lolstat --once --guest 4000000000 >"$tmp/err" 2>&1
rc=$?
[ $rc = 1 ] && grep -q 'no guest' "$tmp/err"
result "--guest of a missing guest: exit 1 and a message" $? "$tmp/err"

# 6: an unprivileged user sees no root guest and may not follow events
ls=$(command -v lolstat)
su -s /bin/sh nobody -c "$ls --once" >"$tmp/nobody" 2>&1
rc1=$?
su -s /bin/sh nobody -c "$ls --events -n 1" >"$tmp/nobody-ev" 2>&1
rc2=$?
cat "$tmp/nobody-ev" >>"$tmp/nobody"
echo "# as nobody: --once exit $rc1, --events exit $rc2"
[ $rc1 = 0 ] && grep -q '^ID ' "$tmp/nobody" &&
	! grep -q ' lol-demo ' "$tmp/nobody" && [ $rc2 = 1 ] &&
	grep -q CAP_SYS_ADMIN "$tmp/nobody-ev"
result "uid 65534: no root guest listed, events refused" $? "$tmp/nobody"

# 7: --help is a man page
lolstat --help >"$tmp/help" 2>&1
rc=$?
for s in NAME SYNOPSIS DESCRIPTION OPTIONS OUTPUT "EXIT STATUS" EXAMPLES; do
	grep -q "^$s\$" "$tmp/help" || rc=1
done
result "--help has the man page sections" $rc

# 8: usage errors exit 2
lolstat --bogus >/dev/null 2>&1
rc1=$?
lolstat --json >/dev/null 2>&1
rc2=$?
lolstat -i 0 >/dev/null 2>&1
rc3=$?
[ $rc1 = 2 ] && [ $rc2 = 2 ] && [ $rc3 = 2 ]
result "usage errors exit 2" $? 

exit $failed

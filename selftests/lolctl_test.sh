#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lolctl_test.sh: the lolctl tool against the loaded module (TAP output).
# Runs lolctl from $LOLCTL, else from PATH; SKIPs (exit 4) without one.

# The TAP helpers: in lib/ beside this script, or beside it (kselftest install).
here=$(dirname "$0")
for tap in "$here/lib/tap.sh" "$here/tap.sh"; do
	[ -f "$tap" ] && break
done
# shellcheck source=lib/tap.sh source-path=SCRIPTDIR
. "$tap"

LOLCTL=${LOLCTL:-lolctl}
ksft_skip=4
out=${TMPDIR:-/tmp}/lolctl_test.$$

cleanup() {
	rm -f "$out"
}
trap cleanup EXIT

echo "TAP version 13"
if ! command -v "$LOLCTL" >/dev/null 2>&1; then
	echo "1..0 # SKIP no lolctl in PATH (set LOLCTL)"
	exit $ksft_skip
fi
echo "1..6"


# 1: info works and shows API version 2 (LOL_API_VERSION) and the run page
# size
"$LOLCTL" info >"$out" 2>&1
rc=$?
sed 's/^/# /' "$out"
grep -q '^api version: *2$' "$out" &&
	grep -q '^vcpu mmap size: *[1-9][0-9]*$' "$out"
ok=$?
[ $rc = 0 ] && [ $ok = 0 ]
result "info exits 0 with api version and mmap size" $? "rc=$rc"

# 2: every capability this lolctl knows has a line: a number or "absent"
caps=$(grep -cE '^  LOL_CAP_[A-Z_]+ +([0-9]+|absent)$' "$out")
[ "$caps" = 13 ]
result "info lists 13 capabilities" $? "found $caps"

# 3: --help is a man page on stdout
"$LOLCTL" --help >"$out" 2>&1
rc=$?
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" EXAMPLES; do
	grep -q "^$s\$" "$out" || rc=1
done
result "--help has the man page sections" $rc

# 4: usage errors exit 2
"$LOLCTL" >/dev/null 2>&1
a=$?
"$LOLCTL" frobnicate >/dev/null 2>&1
b=$?
"$LOLCTL" --no-such-option info >/dev/null 2>&1
c=$?
[ $a = 2 ] && [ $b = 2 ] && [ $c = 2 ]
result "usage errors exit 2" $? "no command: $a, unknown command: $b, bad option: $c"

# 5: a missing device exits 1 with the modprobe hint
"$LOLCTL" -d /nonexistent/lol info >"$out" 2>&1
rc=$?
grep -q 'cannot open /nonexistent/lol: No such file or directory (is the module loaded? try: sudo modprobe lol)' "$out"
ok=$?
[ $rc = 1 ] && [ $ok = 0 ]
result "missing device: exit 1 and a hint" $? "rc=$rc: $(cat "$out")"

# 6: a device that is not lol exits 1
"$LOLCTL" -d /dev/null info >"$out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q 'LOL_GET_API_VERSION' "$out"
result "not a lol device: exit 1" $? "rc=$rc: $(cat "$out")"

exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make style: checkpatch.pl --no-tree -f --terse over module/**/*.[ch] and
# uapi/**/*.h (checkpatch.pl comes from linux-source-6.1 via ksrc.sh).
# Exit non-zero on any error or warning.
set -euo pipefail

# shellcheck source=qemu/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/qemu/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '4,6s/^# \{0,1\}//p' "$0"
	echo "Usage: $0 [FILE...]   (default: all module and uapi sources)"
	exit 0
	;;
esac

ksrc=$("$LOL_ROOT/scripts/ksrc.sh")
cd "$LOL_ROOT"
if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <({
		[ -d module ] && find module -name '*.[ch]'
		[ -d uapi ] && find uapi -name '*.h'
	} | LC_ALL=C sort)
fi
if [ ${#files[@]} -eq 0 ]; then
	lol_msg "style: no sources to check"
	exit 0
fi

# FILE_PATH_CHANGES: meaningless with -f. Everything else counts, SPDX
# lines included.
rc=0
perl "$ksrc/scripts/checkpatch.pl" --no-tree -f --terse --show-types \
	--ignore FILE_PATH_CHANGES "${files[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
	lol_msg "style: checkpatch found problems in ${#files[@]} file(s)"
	exit 1
fi
lol_msg "style: ${#files[@]} file(s) clean"

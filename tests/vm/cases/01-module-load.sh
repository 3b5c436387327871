#!/bin/bash
# The module loads, creates /dev/bootseal 0600 root-only, registers the
# generic netlink family "bootseal" with the group "progress" (resolved by
# name), and unloads cleanly.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
[ "$(stat -c '%a %U %G %F' /dev/bootseal)" = "600 root root character special file" ] ||
	die "/dev/bootseal: $(stat -c '%a %U %G %F' /dev/bootseal)"
genl ctrl get name bootseal > /tmp/genl.txt 2>&1 || { cat /tmp/genl.txt; die "family bootseal does not resolve"; }
cat /tmp/genl.txt
grep -q 'progress' /tmp/genl.txt || die "multicast group 'progress' missing"
unload_bootseal
[ ! -e /dev/bootseal ] || die "/dev/bootseal still present after unload"
expect_fail genl ctrl get name bootseal 2>/dev/null
check_dmesg

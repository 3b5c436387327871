#!/bin/bash
# Closing a session with data bios in flight and unloading the module at
# once (bioset_exit) must not race a completion still returning its bio:
# 20 rounds of flash, close (release drains), rmmod, on a dm-delay device
# (every write completes 30 ms late, from dm-delay's worker), alternating
# copied and zero-copy writes. No WARN or oops; the module reloads every
# time.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
trap 'rc=$?; set +e; dmsetup remove slow 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
ram0_dm slow "0 32768 delay /dev/ram0 0 0 /dev/ram0 0 30"
img=/tmp/img
mkimg $img $((8 * 1024 * 1024))
for round in $(seq 20); do
	load_bootseal
	pin=$((round % 2))
	"$TOOLS/bsctl" attach /dev/mapper/slow head=4K flash $img chunk=256K pin=$pin \
		status state=WRITING close > /tmp/out || { cat /tmp/out; die "round $round: flash"; }
	rmmod bootseal || die "round $round: rmmod after close failed"
done
dmsetup remove slow
rmmod brd
check_dmesg

#!/bin/bash
# Page-cache coherence: a buffered read of sector 0 before the flash caches
# the old bytes; after the session ends (SEALED) a buffered read shows the
# new ones, because detaching invalidates the device's page cache. Same for
# an aborted session (the zeroed head becomes visible).
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=8192 max_part=0
printf 'OLDHEAD!%.0s' $(seq 64) > /tmp/old
dd if=/tmp/old of=/dev/ram0 bs=512 count=1 conv=fsync status=none
buffered0() { dd if=/dev/ram0 bs=512 count=1 status=none | head -c 8; }
[ "$(buffered0)" = "OLDHEAD!" ] || die "set-up"
head -c $((2 * 1024 * 1024)) /dev/urandom > /tmp/img
printf 'NEWHEAD!' | dd of=/tmp/img conv=notrunc status=none
"$TOOLS/bsctl" attach /dev/ram0 head=4K flash /tmp/img commit || die "flash"
[ "$(buffered0)" = "NEWHEAD!" ] || die "buffered read still sees '$(buffered0)'"

[ "$(buffered0)" = "NEWHEAD!" ] || die "set-up 2"
"$TOOLS/bsctl" attach /dev/ram0 head=4K flash /tmp/img abort || die "abort"
[ "$(dd if=/dev/ram0 bs=512 count=1 status=none | tr -d '\0' | wc -c)" = 0 ] ||
	die "buffered read does not show the zeroed head after ABORT"
unload_bootseal
rmmod brd
check_dmesg

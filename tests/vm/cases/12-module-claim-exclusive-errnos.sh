#!/bin/bash
# Exclusive claim: a disk with a mounted partition -> EBUSY; a disk another
# session holds -> EBUSY; a read-only disk -> EROFS; a partition -> EMEDIUMTYPE;
# not a block device -> ENOTBLK; missing path -> ENOENT; a second ATTACH in
# one session -> EBADFD. The claim is released when the session ends.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=2 rd_size=8192 max_part=4
B="$TOOLS/bsctl"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q /dev/ram0
settle
[ -b /dev/ram0p1 ] || die "no partition device"
mkfs.ext2 -q /dev/ram0p1
mkdir -p /tmp/mnt
mount /dev/ram0p1 /tmp/mnt
"$B" attach /dev/ram0 head=4K expect=EBUSY || die "mounted partition not refused"
umount /tmp/mnt
"$B" attach /dev/ram0p1 head=4K expect=EMEDIUMTYPE || die "partition not refused"
"$B" attach /dev/ram0 head=4K status state=INVALIDATED || die "unmounted disk refused"

"$B" attach /dev/ram1 head=4K sleep 60000 > /tmp/holder &
holder=$!
for i in $(seq 100); do grep -q '^attach: OK' /tmp/holder 2>/dev/null && break; sleep 0.1; done
grep -q '^attach: OK' /tmp/holder || die "first session did not attach"
"$B" attach /dev/ram1 head=4K expect=EBUSY || die "second session on the same disk not refused"
kill $holder; wait $holder || true
"$B" attach /dev/ram1 head=4K || die "claim not released after the holder died"

blockdev --setro /dev/ram1
"$B" attach /dev/ram1 head=4K expect=EROFS || die "read-only disk not refused"
blockdev --setrw /dev/ram1

"$B" attach /dev/null head=4K expect=ENOTBLK || die "/dev/null not refused"
: > /tmp/regular
"$B" attach /tmp/regular head=4K expect=ENOTBLK || die "regular file not refused"
"$B" attach /nonexistent head=4K expect=ENOENT || die "missing path not refused"
"$B" attach /dev/ram1 head=4K attach /dev/ram1 head=4K expect=EBADFD ||
	die "second attach in one session not refused"
unload_bootseal
rmmod brd
check_dmesg

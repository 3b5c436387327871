#!/bin/bash
# A target with a mounted partition is refused (exit 4) naming the
# partition and where it is mounted, and nothing is written; with
# --unmount it is unmounted first and the flash succeeds.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
case_cleanup() { umount /tmp/mnt 2>/dev/null || true; }
brd_disks 1 16
img=/tmp/img
mkimg $img $((8 * 1024 * 1024))
printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q $img
"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img $dev >/dev/null || die "first flash failed"
[ -b /dev/ram0p1 ] || { settle; [ -b /dev/ram0p1 ] || mknod /dev/ram0p1 b $(tr : ' ' < /sys/block/ram0/ram0p1/dev); }
mkfs.vfat /dev/ram0p1 >/dev/null || die "mkfs.vfat failed"
mkdir -p /tmp/mnt
mount /dev/ram0p1 /tmp/mnt || die "mount failed"
echo hello > /tmp/mnt/file
sync
before=$(md5sum < $dev)

rc=0; "$BOOTSEAL" flash --yes --allow-fixed $img $dev >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 4 ] || die "mounted target: exit $rc, not 4"
grep -q "/dev/ram0p1" /tmp/err && grep -q "/tmp/mnt" /tmp/err || die "mount not named"
grep -q -- "--unmount" /tmp/err || die "no hint about --unmount"
findmnt /tmp/mnt >/dev/null || die "mount vanished without --unmount"
[ "$(md5sum < $dev)" = "$before" ] || die "the refused target was written"

rc=0; "$BOOTSEAL" flash --yes --allow-fixed --unmount $img $dev >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 0 ] || die "--unmount: exit $rc"
if findmnt /tmp/mnt >/dev/null; then die "--unmount left /tmp/mnt mounted"; fi
cmp -n $(stat -c %s $img) $img $dev || die "device differs from the image after --unmount"

unload_bootseal
rmmod brd
check_dmesg

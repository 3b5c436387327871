#!/bin/bash
# Partition nodes have page caches of their own. A buffered writer that
# dirtied /dev/ram0p1 before the flash (and keeps the node open, so close
# does not write it back) must not have its pages written back over the
# sealed image afterwards: ATTACH writes the partitions' dirty pages back
# before it invalidates. And a reader of /dev/ram0p1 whose cache held the
# old contents must see the image after the seal (detach drops the
# partitions' clean pages too).
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe brd rd_nr=1 rd_size=16384 max_part=4
trap 'rc=$?; set +e; exec 4>&-; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
table='label: dos\nstart=2048, size=8192, type=83\n'
printf "$table" | sfdisk -q /dev/ram0
settle
blockdev --rereadpt /dev/ram0 2>/dev/null || true
settle
[ -b /dev/ram0p1 ] || die "no /dev/ram0p1"
img=/tmp/img
head -c $((8 * 1024 * 1024)) /dev/urandom > $img
printf "$table" | sfdisk -q $img

exec 4<>/dev/ram0p1			# the writer keeps the partition open
cat /dev/ram0p1 > /dev/null		# its cache holds the old contents
dd if=/dev/urandom of=/dev/ram0p1 bs=1M seek=1 count=1 conv=notrunc status=none	# dirty, not synced
settle
grep -q '^Dirty:' /proc/meminfo && grep '^Dirty:' /proc/meminfo

"$TOOLS/bsctl" attach /dev/ram0 head=1M flash $img chunk=1M commit status state=SEALED > /tmp/out ||
	{ cat /tmp/out; die "flash failed"; }
sync					# anything still dirty in ram0p1's cache lands now
dd if=/dev/ram0 bs=1M count=8 iflag=direct status=none > /tmp/dev
cmp /tmp/dev $img ||
	die "the device differs from the image after sync: partition pages dirtied before the flash were written over it"
dd if=/dev/ram0p1 bs=1M count=4 status=none > /tmp/p1
dd if=$img bs=1M skip=1 count=4 status=none > /tmp/want
cmp /tmp/p1 /tmp/want ||
	die "a buffered read of /dev/ram0p1 after the seal does not show the image (stale partition cache)"
exec 4>&-
unload_bootseal
rmmod brd
check_dmesg

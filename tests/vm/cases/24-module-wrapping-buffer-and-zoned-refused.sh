#!/bin/bash
# A WRITE whose buffer range wraps around the address space or leaves user
# space fails with EFAULT, as the UAPI promises (not GUP's EOVERFLOW), for
# zero-copy and copied writes, in the data and the head region, and the
# session goes on; a zoned disk (null_blk zoned=1, host-managed) is refused
# at ATTACH with EOPNOTSUPP before anything is written, and the helper says
# why (exit 4).
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; rmmod bootseal brd null_blk 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=16384 max_part=0
B="$TOOLS/bsctl"
wrap=0xfffffffffffff000		# + 8K wraps to 0x1000
top=0x7ffffffff000		# + 8K leaves 4-level user space (unmapped with 5 levels)
"$B" attach /dev/ram0 head=4K \
	write 1M 8K flags=1 buf=$wrap expect=EFAULT \
	write 1M 8K buf=$wrap expect=EFAULT \
	write 0 8K buf=$wrap expect=EFAULT \
	write 1M 8K flags=1 buf=$top expect=EFAULT \
	write 1M 8K buf=$top expect=EFAULT \
	write 1M 8M flags=1 buf=$wrap expect=EFAULT \
	write 0 8M buf=$wrap expect=EFAULT \
	write 0 8K write 1M 8K flags=1 commit status state=SEALED > /tmp/out ||
	{ cat /tmp/out; die "a wrapping buffer was not EFAULT"; }
cat /tmp/out

note "zoned disk"
modprobe null_blk nr_devices=1 zoned=1 gb=1 zone_size=64 ||
	skip "null_blk without zoned support"
settle
[ "$(cat /sys/block/nullb0/queue/zoned)" = host-managed ] || die "nullb0 is not zoned"
dd if=/dev/zero bs=4K count=1 of=/dev/nullb0 oflag=direct status=none   # write pointer of zone 0 moves
before=$(cat /sys/block/nullb0/stat | awk '{print $5}')
"$B" attach /dev/nullb0 head=4K expect=EOPNOTSUPP status state=NONE > /tmp/out ||
	{ cat /tmp/out; die "a zoned disk was not refused with EOPNOTSUPP"; }
cat /tmp/out
[ "$(cat /sys/block/nullb0/stat | awk '{print $5}')" = "$before" ] || die "the refused ATTACH wrote"
head -c 1M /dev/urandom > /tmp/img
rc=0
"$BOOTSEAL" flash --yes --allow-fixed --force-raw /tmp/img /dev/nullb0 > /tmp/hout 2>/tmp/herr || rc=$?
cat /tmp/hout /tmp/herr
[ $rc = 4 ] || die "helper exit $rc on a zoned disk, expected 4"
grep -q 'zoned device' /tmp/herr || die "the helper does not say the disk is zoned"
unload_bootseal
rmmod brd null_blk
check_dmesg

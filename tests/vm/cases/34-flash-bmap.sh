#!/bin/bash
# With a bmap (found next to the image, also for IMAGE.xz -> IMAGE.bmap),
# only mapped ranges are written: an unmapped range keeps the device's old
# bytes; the mapped ones equal the image; verify passes and compares only
# mapped ranges. A GPT image gets a head covering its entry array and
# the kernel sees its partitions.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
brd_disks 1 32
img=/tmp/sparse.img
sparse_gpt_image $img
bmaptool create -o /tmp/sparse.img.bmap $img
# fill the device with a pattern: unmapped ranges must keep it
{ yes bootseal || true; } | head -c 32M > /tmp/pattern
dd if=/tmp/pattern of=$dev bs=1M status=none

xz -T2 -1 -k -f $img
rc=0; "$BOOTSEAL" flash --yes --allow-fixed $img.xz $dev >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 0 ] || die "bmap flash: exit $rc"
grep -q "using bmap /tmp/sparse.img.bmap" /tmp/err || die "bmap not found next to the image"
cmp -n 1M -i 2M $img $dev || die "mapped range 2M differs"
cmp -n 3M -i 5M $img $dev || die "mapped range 5M differs"
cmp -n 1M -i 12M /tmp/pattern $dev || die "unmapped range at 12M was written"
[ "$(cat /sys/block/ram0/ram0p2/start)" = 8192 ] || die "the kernel does not see the GPT partitions"
"$BOOTSEAL" verify $img.xz $dev || die "bmap-aware verify failed"
rc=0; "$BOOTSEAL" verify --no-bmap $img $dev 2>/tmp/err || rc=$?
[ $rc -eq 6 ] || die "full verify of a bmap flash should differ in unmapped ranges (exit $rc)"

unload_bootseal
rmmod brd
check_dmesg

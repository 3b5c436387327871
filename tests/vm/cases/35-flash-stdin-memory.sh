#!/bin/bash
# An xz image from standard input ("-") is written and sealed (not verified:
# it cannot be read twice, and the helper says so); eight targets at once
# keep the helper's peak RSS within 64 MiB; usb: targets that do not exist
# are refused with exit 4.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
brd_disks 8 12
img=/tmp/img
mkimg $img $((10 * 1024 * 1024 + 4321))
printf 'label: dos\nstart=2048, size=8192, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
xz -T2 -0 -k -f $img

note "standard input"
rc=0; xz -dc $img.xz | "$BOOTSEAL" flash --yes --allow-fixed - /dev/ram0 >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 0 ] || die "stdin: exit $rc"
cmp -n $size $img /dev/ram0 || die "stdin: device differs"
grep -q "standard input cannot be read again" /tmp/err || die "stdin: no note about verification"

note "eight targets, peak RSS"
targets=$(for i in 0 1 2 3 4 5 6 7; do echo /dev/ram$i; done)
/usr/bin/time -f '%M' -o /tmp/rss "$BOOTSEAL" flash --yes --allow-fixed $img.xz $targets >/tmp/out 2>/tmp/err ||
	{ cat /tmp/out /tmp/err; die "eight targets failed"; }
cat /tmp/out
for t in $targets; do cmp -n $size $img $t || die "$t differs"; done
rss=$(tail -n 1 /tmp/rss)
echo "peak RSS: $rss KiB"
[ "$rss" -le 65536 ] || die "peak RSS $rss KiB is above 64 MiB"

note "usb: target that does not exist"
rc=0; "$BOOTSEAL" flash --yes $img usb:9-9.9 2>/tmp/err || rc=$?
cat /tmp/err
[ $rc -eq 4 ] || die "usb:9-9.9: exit $rc, not 4"
grep -q "usb:9-9.9" /tmp/err || die "usb:9-9.9 not named"

unload_bootseal
rmmod brd
check_dmesg

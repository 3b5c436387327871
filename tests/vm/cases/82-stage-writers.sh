#!/bin/bash
# Writers of their own through a staged disk, and the helper's refusals.
# dd and bmaptool copy of an image into /dev/mapper/bootseal-ramN, then
# bootseal seal: the disk equals the image byte for byte and the kernel sees
# its partitions. Two disks staged at once (status lists both). While
# staged the disk's old partition cannot be mounted nor the disk opened
# exclusively, flash and a second stage are refused. Bad head sizes, names
# that are not staged devices, partition tables past the end of the device
# or overlapping, and a seal while a partition mapping is mounted get clear
# errors and change nothing. The module unloads at the end.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe brd rd_nr=2 rd_size=32768 max_part=8
trap 'rc=$?; set +e; umount /tmp/m 2>/dev/null; for d in $(dmsetup ls | awk "/^bootseal-/ {print \$1}" | sort -r); do dmsetup remove $d; done; dmsetup remove plain 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
mkdir -p /tmp/m

# expect_msg TEXT WANT_RC CMD...: CMD exits WANT_RC and says TEXT on stderr
expect_msg() {
	local text=$1 want=$2 rc=0; shift 2
	"$@" > /tmp/eo 2> /tmp/ee || rc=$?
	cat /tmp/ee
	[ $rc = $want ] || die "'$*' exited $rc, want $want"
	grep -q -- "$text" /tmp/ee || die "'$*' did not say '$text'"
}

img=/tmp/img
truncate -s 24M $img
printf 'label: gpt\nstart=2048, size=8192\nstart=10240, size=20480\n' | sfdisk -q $img
mkimg /tmp/data $((20 * 1024 * 1024))
dd if=/tmp/data of=$img bs=1M seek=1 count=2 conv=notrunc status=none
dd if=/tmp/data of=$img bs=1M skip=4 seek=6 count=6 conv=notrunc status=none
bmaptool create -o $img.bmap $img

old_card() {
	{ yes old || true; } | head -c 32M | dd of=$1 bs=1M iflag=fullblock oflag=direct status=none
	printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q $1
	mkfs.vfat -n OLD ${1}p1 > /dev/null
}

note "dd into the staged disk, then seal"
old_card /dev/ram0
dev=$("$BOOTSEAL" stage --yes --allow-fixed /dev/ram0)
[ "$dev" = /dev/mapper/bootseal-ram0 ] || die "stage printed '$dev'"
dd if=$img of=$dev bs=1M status=none          # buffered, no fsync: seal writes it back
"$BOOTSEAL" seal bootseal-ram0 | tee /tmp/out
grep -q "^/dev/ram0 sealed" /tmp/out || die "no seal line"
cmp -n 24M $img /dev/ram0 || die "dd: the disk differs from the image"
[ "$(cat /sys/block/ram0/ram0p2/start 2>/dev/null)" = 10240 ] || die "dd: the kernel does not see the new partitions"
[ ! -e $dev ] || die "$dev is left after the seal"

note "bmaptool copy into the staged disk, then seal (--json)"
old_card /dev/ram0
dd if=/dev/zero of=/dev/ram0 bs=1M count=32 oflag=direct status=none   # unmapped ranges: zero
"$BOOTSEAL" stage --yes --allow-fixed --json /dev/ram0 | tee /tmp/js
grep -q '"name":"bootseal-ram0","path":"/dev/mapper/bootseal-ram0","disk":"/dev/ram0","head":1048576,"session":[1-9]' /tmp/js ||
	die "stage --json: unexpected output"
bmaptool copy --bmap $img.bmap $img /dev/mapper/bootseal-ram0 || die "bmaptool copy failed"
"$BOOTSEAL" seal /dev/mapper/bootseal-ram0 || die "seal after bmaptool failed"
cmp -n 24M $img /dev/ram0 || die "bmaptool: the disk differs from the image"
[ "$(cat /sys/block/ram0/ram0p1/start 2>/dev/null)" = 2048 ] || die "bmaptool: the kernel does not see the new partitions"

note "two disks staged at once; the staged disks cannot be used otherwise"
old_card /dev/ram0
old_card /dev/ram1
"$BOOTSEAL" monitor --json > /tmp/mon &
mon=$!
sleep 2
d0=$("$BOOTSEAL" stage --yes --allow-fixed --head 64K /dev/ram0)
d1=$("$BOOTSEAL" stage --yes --allow-fixed /dev/ram1)
"$BOOTSEAL" status | tee /tmp/st
[ "$(grep -c '^staged ' /tmp/st)" = 2 ] || die "status does not list both staged disks"
"$BOOTSEAL" list --all 2>&1 | tee /tmp/ls
grep -q "staged as /dev/mapper/bootseal-ram1" /tmp/ls || die "list does not say ram1 is staged"
if mount /dev/ram0p1 /tmp/m 2>/tmp/me; then umount /tmp/m; die "the staged disk's old partition mounted"; fi
cat /tmp/me
if python3 -c 'import os; os.open("/dev/ram1", os.O_RDWR | os.O_EXCL)' 2>/tmp/pe; then
	die "the staged disk was opened exclusively"
fi
grep -q "Device or resource busy" /tmp/pe || die "exclusive open: $(cat /tmp/pe)"
expect_msg "staged as /dev/mapper/bootseal-ram0" 4 "$BOOTSEAL" flash --yes --allow-fixed $img /dev/ram0
expect_msg "staged already" 4 "$BOOTSEAL" stage --yes --allow-fixed /dev/ram0
dd if=$img of=$d0 bs=1M oflag=direct status=none
dd if=$img of=$d1 bs=1M conv=fsync status=none
"$BOOTSEAL" seal $d1
"$BOOTSEAL" seal $d0
cmp -n 24M $img /dev/ram0 || die "two disks: ram0 differs"
cmp -n 24M $img /dev/ram1 || die "two disks: ram1 differs"
sleep 1
kill -TERM $mon; wait $mon || true
for n in ram0 ram1; do
	grep "\"kind\":\"staged\",\"staged_name\":\"bootseal-$n\"" /tmp/mon | grep -q '"state":"sealed"' ||
		{ cat /tmp/mon; die "monitor did not show bootseal-$n sealed"; }
done

note "partitions: mapped, replaced, refused when the table is bad; seal refused while mounted"
old_card /dev/ram0
dev=$("$BOOTSEAL" stage --yes --allow-fixed /dev/ram0)
expect_msg "no partition table" 1 "$BOOTSEAL" partitions $dev
printf 'label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\n' |
	sfdisk -q --no-reread --no-tell-kernel $dev
"$BOOTSEAL" partitions $dev | tee /tmp/p
[ "$(cat /tmp/p)" = "$(printf '%s\n' ${dev}p1 ${dev}p2)" ] || die "partitions printed: $(cat /tmp/p)"
[ "$(blockdev --getsz ${dev}p2)" = 8192 ] || die "p2 has the wrong size"
# written through p2 lands at sector 10240 of the staged device
head -c 4096 /dev/urandom > /tmp/blk
dd if=/tmp/blk of=${dev}p2 bs=4096 oflag=direct status=none
cmp -n 4096 -i 0:$((10240 * 512)) /tmp/blk $dev || die "p2 does not map to sector 10240"
# again, with three partitions: replaced
printf 'label: dos\nstart=2048, size=4096\nstart=6144, size=4096\nstart=10240, size=8192\n' |
	sfdisk -q --no-reread --no-tell-kernel $dev
[ "$("$BOOTSEAL" partitions bootseal-ram0 | wc -l)" = 3 ] || die "re-running partitions did not replace the mappings"
[ "$(blockdev --getsz ${dev}p1)" = 4096 ] || die "p1 was not replaced"
# a partition past the end of the device (MBR entry 1 edited by hand)
python3 - $dev <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(446 + 8); f.write(struct.pack('<II', 2048, 10 * 1024 * 1024))
PY
expect_msg "past the end" 1 "$BOOTSEAL" partitions $dev
[ "$(blockdev --getsz ${dev}p1)" = 4096 ] || die "a refused table changed the mappings"
# overlapping partitions
python3 - $dev <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(446 + 8); f.write(struct.pack('<II', 2048, 8192))
PY
expect_msg "overlap" 1 "$BOOTSEAL" partitions $dev
printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q --no-reread --no-tell-kernel $dev
"$BOOTSEAL" partitions $dev > /dev/null
[ ! -e ${dev}p2 ] || die "mapping p2 left over after re-mapping a one-partition table"
mkfs.vfat -n NEW ${dev}p1 > /dev/null
mount ${dev}p1 /tmp/m
echo hello > /tmp/m/hello.txt
expect_msg "mounted on /tmp/m" 4 "$BOOTSEAL" seal $dev
[ -b $dev ] || die "a refused seal removed the staged device"
umount /tmp/m
"$BOOTSEAL" seal $dev
[ ! -e ${dev}p1 ] || die "the partition mapping is left after the seal"
mount -o ro /dev/ram0p1 /tmp/m || die "the sealed card's partition does not mount"
[ "$(cat /tmp/m/hello.txt)" = hello ] || die "the sealed card does not hold the file"
umount /tmp/m

note "bad head sizes and names"
expect_msg "not a multiple of its logical block size" 2 "$BOOTSEAL" stage --yes --allow-fixed --head 1000 /dev/ram0
expect_msg "at least one block" 2 "$BOOTSEAL" stage --yes --allow-fixed --head 0 /dev/ram0
expect_msg "max_head_len" 2 "$BOOTSEAL" stage --yes --allow-fixed --head 8M /dev/ram0
echo $((64 * 1024 * 1024)) > /sys/module/bootseal/parameters/max_head_len
expect_msg "larger than the disk" 2 "$BOOTSEAL" stage --yes --allow-fixed --head 48M /dev/ram0
echo $((4 * 1024 * 1024)) > /sys/module/bootseal/parameters/max_head_len
expect_msg "not removable" 4 "$BOOTSEAL" stage --yes /dev/ram0
expect_msg "a partition, not a whole disk" 4 "$BOOTSEAL" stage --yes --allow-fixed /dev/ram0p1
expect_msg "refusing to erase it without confirmation" 2 "$BOOTSEAL" stage --allow-fixed /dev/ram0 < /dev/null
expect_msg "no such staged device" 4 "$BOOTSEAL" seal bootseal-nothere
expect_msg "not a staged device" 2 "$BOOTSEAL" seal /dev/ram0
dmsetup create plain --table "0 2048 linear /dev/ram1 0"
expect_msg "not a staged device (its target is linear" 4 "$BOOTSEAL" unstage plain
dmsetup remove plain
expect_msg "give the command after --" 2 "$BOOTSEAL" run --yes --allow-fixed /dev/ram0
dmsetup ls | grep -q bootseal && die "device-mapper devices left: $(dmsetup ls)"
[ "$(cat /sys/block/ram0/ram0p1/start)" = 2048 ] || die "a refused command touched ram0"

unload_bootseal
rmmod brd
check_dmesg

#!/bin/bash
# bootseal inspect reads a real block device the way the kernel and sfdisk
# do: a NOOBS card (p1 FAT16 0x0e, p2 extended 0x85 holding logical p5, p6
# FAT32 0x0c and p7, p3 Linux) written with dd onto brd shows the same
# partitions, numbered 5, 6, 7 as the kernel numbers them, as `sfdisk --json`
# and /sys/block; the NOOBS recovery layout and its boot partition are linted;
# a GPT image on a larger device has its backup header found where the image
# put it; a device whose first 1 KiB was lost has no partition table (exit 3);
# a GPT on a 4096-byte-sector disk is read with 4096-byte sectors.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
export MTOOLS_SKIP_CHECK=1
modprobe brd rd_nr=1 rd_size=98304 max_part=16
dev=/dev/ram0
img=/tmp/noobs.img
w=/tmp/inspect
mkdir -p $w

# every field sfdisk --json gives must be in ours, with the same value
# ("grain" is sfdisk's alignment for new partitions, not part of the table)
same_as_sfdisk() {
	sfdisk --json "$1" > $w/sfdisk.json
	jq -e -n --slurpfile s $w/sfdisk.json --slurpfile m "$2" '
		($s[0].partitiontable) as $a | ($m[0].partitiontable) as $b |
		([($a | keys[] | select(. != "partitions" and . != "grain")) as $k | select($a[$k] != $b[$k]) | $k] +
		 [range($a.partitions | length) as $i | ($a.partitions[$i] | keys[]) as $k |
		  select($a.partitions[$i][$k] != $b.partitions[$i][$k]) | "partition \($i) \($k)"] +
		 (if ($a.partitions | length) != ($b.partitions | length) then ["count"] else [] end)) as $d |
		if $d == [] then true else ($d | debug | false) end' > /dev/null
}

note "NOOBS layout on $dev ($SECONDS s)"
truncate -s 96M $img
sfdisk -q $img <<EOF
label: dos
label-id: 0x4e4f4f42
${img}1 : start=2048, size=32768, type=e
${img}2 : start=34816, size=143360, type=85
${img}3 : start=178176, size=18432, type=83
${img}5 : start=36864, size=4096, type=83
${img}6 : start=43008, size=73728, type=c, bootable
${img}7 : start=118784, size=59392, type=83
EOF
mkfs.vfat -F 16 -n RECOVERY --offset 2048 $img 16384 > /dev/null 2>&1
mkfs.vfat -F 32 -s 1 -n BOOT --offset 43008 $img 36864 > /dev/null 2>&1
(cd $w && for f in bootcode.bin recovery.elf recovery.img recovery7.img recovery.cmdline \
	start.elf fixup.dat config.txt cmdline.txt kernel.img kernel7.img bcm2710-rpi-3-b.dtb; do
	echo "$f" > $f; done
 mcopy -i $img@@$((2048 * 512)) bootcode.bin recovery.elf recovery.img recovery7.img recovery.cmdline ::
 mcopy -i $img@@$((43008 * 512)) bootcode.bin start.elf fixup.dat config.txt cmdline.txt \
	kernel.img kernel7.img bcm2710-rpi-3-b.dtb ::)
dd if=$img of=$dev bs=1M conv=sparse,fsync status=none	# brd starts out zero
blockdev --rereadpt $dev
settle

"$BOOTSEAL" inspect --json $dev > $w/dev.json || { cat $w/dev.json; die "inspect --json $dev failed"; }
same_as_sfdisk $dev $w/dev.json || die "inspect --json differs from sfdisk --json on $dev"
jq -e '.kind == "block device" and .ok and .partitiontable.valid' $w/dev.json > /dev/null ||
	die "device not recognised as a valid block device table"

# the kernel's own numbering and geometry
kernel=$(for p in /sys/block/ram0/ram0p*; do
	n=${p##*ram0p}; echo "$n $(cat $p/start) $(cat $p/size)"; done | sort -n |
	awk '$1 != 2')	# the kernel shows the extended container as 2 sectors
ours=$(jq -r '.partitiontable.partitions[] | select(.number != 2) | "\(.number) \(.start) \(.size)"' \
	$w/dev.json | sort -n)
[ "$kernel" = "$ours" ] || die "kernel sees '$kernel', inspect says '$ours'"

jq -e '.bootlint | length == 2 and .[0].recovery and .[1].partition == 6 and
	.[1].families[1].ready' $w/dev.json > /dev/null || die "boot lint of the NOOBS card is wrong"
"$BOOTSEAL" inspect $dev > $w/dev.txt || die "inspect $dev failed"
cat $w/dev.txt
grep -q "^${dev}p5 " $w/dev.txt || die "logical partition 5 not listed as ${dev}p5"
grep -q "recovery layout" $w/dev.txt || die "recovery layout not recognised"

note "the image and the device agree ($SECONDS s)"
"$BOOTSEAL" inspect --json $img > $w/img.json || die "inspect of the image failed"
strip='.partitiontable | del(.device) | .partitions[] |= del(.node)'
jq -S "$strip" $w/img.json > $w/img.cmp
jq -S "$strip" $w/dev.json > $w/dev.cmp
diff $w/img.cmp $w/dev.cmp || die "image and device tables differ"

note "GPT image on a larger device ($SECONDS s)"
gpt=/tmp/gpt.img
truncate -s 16M $gpt
sfdisk -q $gpt <<EOF
label: gpt
start=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
EOF
dd if=$gpt of=$dev bs=4M conv=fsync status=none
blockdev --rereadpt $dev
settle
"$BOOTSEAL" inspect --json $dev > $w/gpt.json || true
same_as_sfdisk $dev $w/gpt.json || die "inspect --json differs from sfdisk --json (GPT)"
jq -e '.partitiontable.gpt | .header_crc_ok and .array_crc_ok and .backup_checked and .backup_ok' \
	$w/gpt.json > /dev/null || die "GPT checks wrong: $(cat $w/gpt.json)"
jq -e '.partitiontable.findings | any(.message | test("not at the last sector"))' $w/gpt.json \
	> /dev/null || die "backup header away from the end not reported"

note "first 1 KiB lost ($SECONDS s)"
dd if=/dev/zero of=$dev bs=1024 count=1 conv=fsync status=none
blockdev --flushbufs $dev
rc=0
"$BOOTSEAL" inspect --json $dev > $w/zero.json || rc=$?
[ $rc = 3 ] || die "inspect of a zeroed head exited $rc, not 3"
jq -e '.partitiontable.label == "none" and (.partitiontable.valid | not)' $w/zero.json > /dev/null ||
	die "zeroed head not reported as missing partition table"

rmmod brd

note "GPT on a 4096-byte-sector disk, scsi_debug ($SECONDS s)"
modprobe scsi_debug dev_size_mb=16 sector_size=4096
settle
sd=
for i in $(seq 50); do
	for b in /sys/block/sd*; do
		[ -e "$b/device/model" ] && grep -q scsi_debug "$b/device/model" && sd=/dev/${b##*/}
	done
	[ -n "$sd" ] && break
	sleep 0.2
done
[ -n "$sd" ] || die "scsi_debug disk did not appear"
sfdisk -q $sd <<EOF
label: gpt
start=256, size=1024, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
EOF
"$BOOTSEAL" inspect --json $sd > $w/sd.json || { cat $w/sd.json; die "inspect of $sd failed"; }
same_as_sfdisk $sd $w/sd.json || die "inspect --json differs from sfdisk --json (4K sectors)"
jq -e '.partitiontable.sectorsize == 4096 and .partitiontable.gpt.backup_ok' $w/sd.json > /dev/null ||
	die "4K GPT not read with 4096-byte sectors"
rmmod scsi_debug
note "done ($SECONDS s)"
check_dmesg

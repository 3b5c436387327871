#!/bin/bash
# 512e: on a disk with 4 KiB physical and 512-byte logical blocks
# (scsi_debug physblk_exp=3, write cache on, FUA) the head's first
# physical block [0, 4096) -- protective MBR and GPT header -- is written
# last and in one FUA write, after the rest of the head, so the disk never
# read-modify-writes a physical block 0 whose GPT header was just written.
# Proved on the dm-log-writes log by logcheck with PBS=4096 (which also
# checks the whole ordering contract); the session reports pbs=4096.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe dm-log-writes
modprobe brd rd_nr=1 rd_size=65536 max_part=0
trap 'rc=$?; set +e; dmsetup remove lw 2>/dev/null; rmmod bootseal brd scsi_debug 2>/dev/null; exit $rc' EXIT
modprobe scsi_debug dev_size_mb=16 num_tgts=1 max_luns=1 sector_size=512 physblk_exp=3 dpofua=1
settle
disk=$(scsi_debug_disk)
[ "$(cat /sys/block/$disk/queue/physical_block_size)" = 4096 ] || die "$disk is not 4K-physical"
[ "$(cat /sys/block/$disk/queue/logical_block_size)" = 512 ] || die "$disk is not 512-logical"
[ "$(cat /sys/block/$disk/queue/write_cache)" = "write back" ] ||
	die "$disk has no volatile write cache: flushes would not be logged"
dev=/dev/$disk
devsize=$(blockdev --getsize64 $dev)
dd if=/dev/zero of=$dev bs=1M count=16 oflag=direct status=none
dmsetup create lw --table "0 $(blockdev --getsz $dev) log-writes $dev /dev/ram0"
settle

img=/tmp/img
head -c $((6 * 1024 * 1024)) /dev/urandom > $img
printf 'label: gpt\nstart=2048, size=8000\n' | sfdisk -q $img
head_len=$((64 * 1024))
"$TOOLS/bsctl" attach /dev/mapper/lw head=$head_len flash $img chunk=512K commit \
	status state=SEALED > /tmp/out || { cat /tmp/out; die "flash failed"; }
cat /tmp/out
grep -q '^attach: .* lbs=512 pbs=4096 ' /tmp/out || die "the session does not see 512e"
dmsetup message lw 0 mark end
dmsetup remove lw
"$TOOLS/logcheck" -v /dev/ram0 $img $head_len $devsize 512 4096 > /tmp/log ||
	{ grep -v '^ *[0-9]* sector=' /tmp/log; tail -5 /tmp/log; die "first physical block not written last, whole"; }
tail -4 /tmp/log
sfdisk -d $dev | grep -q "^$dev" || die "no partition table after the seal"
unload_bootseal
rmmod brd scsi_debug
check_dmesg

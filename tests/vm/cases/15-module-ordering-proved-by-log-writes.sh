#!/bin/bash
# Ordering proof: a flash through dm-log-writes (over a null_blk disk with a
# volatile write cache, so flushes and FUA reach the log) is checked by
# tests/tools/logcheck: invalidation (zeroed head + tail, flush) before any
# data, no head write until a flush after the last data write, head written
# with FUA last, and replaying the log to every prefix shows a zero head or
# the complete image. Control: the same check rejects a plain dd conv=fsync.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe dm-log-writes
modprobe brd rd_nr=1 rd_size=65536 max_part=0
nb=/sys/kernel/config/nullb/lwdata
trap 'rc=$?; set +e; dmsetup remove lw 2>/dev/null; echo 0 > $nb/power 2>/dev/null; rmdir $nb 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
nullb_on size=16 blocksize=512 memory_backed=1 cache_size=8
nullb_logs_flushes
devsize=$(blockdev --getsize64 $dev)

mklog() {
	dd if=/dev/zero of=$dev bs=1M count=16 oflag=direct status=none
	blkdiscard -f /dev/ram0 2>/dev/null || dd if=/dev/zero of=/dev/ram0 bs=1M count=64 status=none
	dmsetup create lw --table "0 $(blockdev --getsz $dev) log-writes $dev /dev/ram0"
	settle
}
endlog() {
	dmsetup message lw 0 mark end
	dmsetup remove lw
}

img=/tmp/img
head -c $((6 * 1024 * 1024 + 1234)) /dev/urandom > $img
printf 'label: gpt\nstart=2048, size=8000\n' | sfdisk -q $img
head_len=$((64 * 1024))

note "bootseal through dm-log-writes"
mklog
"$TOOLS/bsctl" attach /dev/mapper/lw head=$head_len flash $img chunk=512K commit status state=SEALED ||
	die "flash failed"
endlog
"$TOOLS/logcheck" /dev/ram0 $img $head_len $devsize 512 || die "ordering contract violated"

note "control: dd conv=fsync must be rejected by the checker"
mklog
dd if=$img of=/dev/mapper/lw bs=512K oflag=direct conv=fsync status=none
endlog
if "$TOOLS/logcheck" /dev/ram0 $img $head_len $devsize 512 2>/tmp/ctl; then
	die "logcheck accepted a plain dd"
fi
cat /tmp/ctl
grep -q "before the invalidation" /tmp/ctl || die "control: invalidation violation not found"

note "control: head written before a flush (data still unflushed) must be rejected"
mklog
exec 3<>/dev/mapper/lw
dd if=/dev/zero of=/dev/mapper/lw bs=64K count=1 oflag=direct conv=notrunc status=none
dd if=/dev/zero of=/dev/mapper/lw bs=1M seek=15 count=1 oflag=direct conv=notrunc status=none
sync /dev/mapper/lw
dd if=$img of=/dev/mapper/lw bs=64K skip=1 seek=1 oflag=direct conv=notrunc,fsync status=none
dd if=$img of=/dev/mapper/lw bs=64K count=1 oflag=direct,dsync conv=notrunc status=none
dd if=$img of=/dev/mapper/lw bs=64K skip=90 seek=90 count=1 oflag=direct conv=notrunc,fsync status=none
exec 3>&-
endlog
if "$TOOLS/logcheck" /dev/ram0 $img $head_len $devsize 512 2>/tmp/ctl2; then
	die "logcheck accepted a data write after the head"
fi
cat /tmp/ctl2
grep -q "after the head write began" /tmp/ctl2 || die "control: late data write not found"

unload_bootseal
echo 0 > $nb/power; rmdir $nb
rmmod brd
check_dmesg

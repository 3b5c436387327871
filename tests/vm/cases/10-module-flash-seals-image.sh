#!/bin/bash
# Core path: ATTACH, WRITE in chunks, COMMIT on a RAM disk ends SEALED with
# the device byte-identical to the image (head included), exact counters,
# and the module unloads afterwards (no leaked references). Twice: with
# copied WRITEs, and with zero-copy WRITEs (BOOTSEAL_WRITE_F_PIN) straight
# from a mapping of the image file.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=16384 max_part=0
img=/tmp/img
# 12 MiB + 1234 bytes: an MBR-partitioned image with random content.
head -c $((12 * 1024 * 1024 + 1234)) /dev/urandom > $img
printf 'label: dos\nstart=2048, size=20000, type=83\n' | sfdisk -q $img
padded=$(( ( $(stat -c %s $img) + 511 ) / 512 * 512 ))

for mode in copy pin; do
	pin=; [ $mode = pin ] && pin=pin=1
	note "WRITEs: $mode"
	dd if=/dev/urandom of=/dev/ram0 bs=1M count=16 oflag=direct status=none
	"$TOOLS/bsctl" attach /dev/ram0 head=1M total=$padded status state=INVALIDATED \
		flash $img chunk=1M $pin status state=WRITING commit status state=SEALED > /tmp/out ||
		{ cat /tmp/out; die "flash failed ($mode)"; }
	cat /tmp/out
	grep -q "status: .*state=SEALED error=0 error_sector=-1 expected=$padded submitted=$padded completed=$padded " /tmp/out ||
		die "final counters are not exact ($mode)"
	cmp -n "$(stat -c %s $img)" $img /dev/ram0 || die "device differs from the image ($mode)"
	size=$(stat -c %s $img)
	dd if=/dev/ram0 bs=1 skip=$size count=$((padded - size)) status=none | tr -d '\0' | wc -c | grep -qx 0 ||
		die "padding of the last block is not zero"
	# The last MiB was invalidated (zeroed) and is beyond the image.
	tail -c 1048576 /dev/ram0 | tr -d '\0' | wc -c | grep -qx 0 || die "tail not zeroed"
	sfdisk -d /dev/ram0 | grep -q 'start=        2048' || die "partition table not readable"
done
unload_bootseal
rmmod brd
check_dmesg

#!/bin/bash
# Block sizes and head sizes the common cases do not reach:
#  - 4Kn devices (4096-byte logical blocks) from null_blk and scsi_debug: an
#    odd-sized image is SEALED byte-exact, the tail zeroed; a head or a write
#    that is not a multiple of 4096 is refused with EINVAL;
#  - heads larger than 1 MiB (several bios, a vmalloc'ed buffer): 3 MiB and the
#    4 MiB maximum are SEALED byte-exact, with copied and zero-copy writes, and
#    one byte more than max_head_len is refused.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; rmmod bootseal null_blk scsi_debug brd 2>/dev/null; exit $rc' EXIT

# flash_check DEV IMAGE HEAD [pin=1]: flash through the ioctls, require SEALED,
# exact counters, the image's bytes on the device, zero padding, zero tail.
flash_check() {
	local dev=$1 img=$2 head=$3 pin=${4:-} lbs size padded
	lbs=$(blockdev --getss "$dev")
	size=$(stat -c %s "$img")
	padded=$(( (size + lbs - 1) / lbs * lbs ))
	"$TOOLS/bsctl" attach "$dev" head=$head total=$padded flash "$img" chunk=1M $pin \
		commit status state=SEALED > /tmp/out || { cat /tmp/out; die "flash of $dev (head $head $pin) failed"; }
	grep -q "state=SEALED error=0 error_sector=-1 expected=$padded submitted=$padded completed=$padded " /tmp/out ||
		{ cat /tmp/out; die "counters not exact on $dev (head $head)"; }
	cmp -n "$size" "$img" "$dev" || die "$dev differs from the image (head $head $pin)"
	dd if="$dev" bs=1 skip="$size" count=$((padded - size)) status=none | tr -d '\0' | wc -c | grep -qx 0 ||
		die "padding of the last $lbs-byte block is not zero on $dev"
	tail -c 1048576 "$dev" | tr -d '\0' | wc -c | grep -qx 0 || die "tail of $dev not zeroed"
	note "$dev (logical block $lbs): head $head ${pin:-copy}: SEALED, byte-exact"
}

img=/tmp/img
head -c $((10 * 1024 * 1024 + 1234)) /dev/urandom > $img
printf 'label: dos\nstart=8192, size=8192, type=83\n' | sfdisk -q $img

note "4Kn: null_blk bs=4096"
modprobe null_blk nr_devices=1 gb=1 bs=4096 memory_backed=1 queue_mode=2
settle
[ "$(blockdev --getss /dev/nullb0)" = 4096 ] || die "null_blk did not give 4096-byte logical blocks"
flash_check /dev/nullb0 $img 64K
flash_check /dev/nullb0 $img 1M pin=1
"$TOOLS/bsctl" attach /dev/nullb0 head=512 total=1M expect=EINVAL || die "a 512-byte head on a 4Kn disk was accepted"
"$TOOLS/bsctl" attach /dev/nullb0 head=64K total=1M write 4096 512 expect=EINVAL write 0 2048 expect=EINVAL \
	write 6144 4096 expect=EINVAL abort > /tmp/out || { cat /tmp/out; die "unaligned 4Kn writes were not refused"; }
rmmod null_blk

note "4Kn: scsi_debug sector_size=4096"
modprobe scsi_debug dev_size_mb=48 sector_size=4096
settle
sd=/dev/$(scsi_debug_disk)
[ "$(blockdev --getss "$sd")" = 4096 ] || die "scsi_debug did not give 4096-byte logical blocks"
flash_check "$sd" $img 1M
rmmod scsi_debug

note "heads larger than 1 MiB: brd"
modprobe brd rd_nr=1 rd_size=32768 max_part=0
settle
max=$(cat /sys/module/bootseal/parameters/max_head_len)
[ "$max" = $((4 << 20)) ] || die "max_head_len is $max, this case expects the 4 MiB default"
flash_check /dev/ram0 $img 3M
flash_check /dev/ram0 $img 3M pin=1
flash_check /dev/ram0 $img 4M
flash_check /dev/ram0 $img 4M pin=1
"$TOOLS/bsctl" attach /dev/ram0 head=$((max + 512)) total=1M expect=EINVAL || die "a head above max_head_len was accepted"
rmmod brd
unload_bootseal
check_dmesg

#!/bin/bash
# A USB disk (dummy_hcd + a configfs mass-storage gadget backed by a file):
#  * bootseal list shows it as removable, transport usb:PORT, "ok";
#  * usb:PORT resolves to exactly that block device (bs_drive_from_usb_port),
#    an unknown port is a clear error;
#  * an image larger than the disk is refused naming both sizes;
#  * a mounted disk is refused naming the mount point, and --unmount
#    (umount2) unmounts it.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"

W=/tmp/lsu
G=/sys/kernel/config/usb_gadget/bootseal-lsu
mkdir -p $W
gadget_down() {
	[ -d $G ] || return 0
	echo "" > $G/UDC 2>/dev/null || true
	rm -f $G/configs/c.1/mass_storage.0
	rmdir $G/configs/c.1/strings/0x409 $G/configs/c.1 $G/functions/mass_storage.0 \
		$G/strings/0x409 $G 2>/dev/null || true
}
cleanup() {
	set +e
	umount $W/mnt 2>/dev/null
	gadget_down
	rmmod usb_f_mass_storage libcomposite usb-storage dummy_hcd 2>/dev/null
	return 0
}
trap cleanup EXIT

modprobe dummy_hcd || skip "dummy_hcd is not available"
modprobe libcomposite && modprobe usb_f_mass_storage || skip "usb_f_mass_storage is not available"
modprobe usb-storage || skip "usb-storage is not available"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config

truncate -s 16M $W/usb.img
mkdir -p $G/strings/0x409 $G/configs/c.1/strings/0x409 $G/functions/mass_storage.0
echo 0x1d6b > $G/idVendor
echo 0x0104 > $G/idProduct
echo bootseal > $G/strings/0x409/manufacturer
echo "test disk" > $G/strings/0x409/product
echo 1 > $G/functions/mass_storage.0/lun.0/removable
echo $W/usb.img > $G/functions/mass_storage.0/lun.0/file
ln -s $G/functions/mass_storage.0 $G/configs/c.1/
udc=$(ls /sys/class/udc | head -n 1)
[ -n "$udc" ] || die "no UDC"
echo "$udc" > $G/UDC

usd=
for i in $(seq 600); do
	for d in /sys/block/sd*; do
		[ -e "$d" ] || continue
		readlink -f "$d" | grep -q /usb && [ "$(cat "$d/size")" -gt 0 ] && usd=${d##*/}
	done
	[ -n "$usd" ] && break
	sleep 0.1
done
[ -n "$usd" ] || die "the USB mass-storage disk did not appear"
port=$(readlink -f /sys/block/$usd | grep -oE '/[0-9]+-[0-9.]+/' | tail -n 1 | tr -d /)
echo "USB disk: $usd at port $port"

[ "$("$TOOLS/bsdev" usb "usb:$port")" = /dev/$usd ] || die "usb:$port does not resolve to /dev/$usd"
out=$("$TOOLS/bsdev" usb usb:9-9.9 2>&1) && die "usb:9-9.9 resolved: $out"
grep -q "no block device behind USB port 9-9.9" <<<"$out" || die "unclear error: $out"

"$BOOTSEAL" list > $W/list.txt
cat $W/list.txt
grep -qE "^/dev/$usd +16\.8 MB .* usb:$port +yes +ok$" $W/list.txt ||
	die "USB disk not listed with its port as removable and ok"

"$TOOLS/bsdev" check /dev/$usd image=$((32 << 20)) > $W/chk.txt && die "too large an image accepted"
grep -qx "/dev/$usd is too small: device is 16.8 MB, image is 33.6 MB" $W/chk.txt ||
	die "too-small reason: $(cat $W/chk.txt)"

mkfs.vfat /dev/$usd > /dev/null
mkdir -p $W/mnt
mount /dev/$usd $W/mnt
"$TOOLS/bsdev" check /dev/$usd > $W/chk.txt && die "mounted disk accepted"
grep -qx "/dev/$usd is mounted on $W/mnt (use --unmount)" $W/chk.txt ||
	die "mounted reason: $(cat $W/chk.txt)"
"$TOOLS/bsdev" check /dev/$usd unmount > $W/chk.txt || die "--unmount failed: $(cat $W/chk.txt)"
grep -qx ok $W/chk.txt || die "--unmount: $(cat $W/chk.txt)"
mountpoint -q $W/mnt && die "--unmount left $W/mnt mounted"

gadget_down
settle
rmmod usb_f_mass_storage libcomposite usb-storage dummy_hcd 2>/dev/null || true
check_dmesg

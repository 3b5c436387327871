#!/bin/bash
# bootseal list names every drive with the reason it would be refused, from
# the real system state (runs without the module):
#  * an idle removable scsi_debug disk is "ok"; brd is "not removable (use
#    --allow-fixed)" and only listed with --all;
#  * a mounted partition is named with its mount point; active swap is named;
#  * the disk holding / is refused (seen from a chroot whose / is a RAM disk);
#  * --json: one valid object per drive with the same facts.
# USB disks (port, usb:PORT, --unmount) are in 42-list-usb-port.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"

W=/tmp/lsr
mkdir -p $W
step() { note "$* (at ${SECONDS}s)"; }
cleanup() {
	set +e
	umount $W/mnt 2>/dev/null
	swapoff /dev/ram1 2>/dev/null
	rmmod scsi_debug brd 2>/dev/null
	return 0
}
trap cleanup EXIT

cat > $W/check.py <<'PY'
import json, sys

path, sd, mnt = sys.argv[1:4]
objs = [json.loads(line) for line in open(path)]
assert all(isinstance(o, dict) for o in objs)
by = {o["name"]: o for o in objs}
d = by[sd]
assert d["device"] == "/dev/" + sd and d["size"] == 32 * 1024 * 1024, d
assert d["removable"] is True and d["usable"] is False and d["transport"] == "scsi", d
assert d["model"] == "Linux scsi_debug" and d["size_human"] == "33.6 MB", d
assert d["mounts"] == [{"source": "/dev/" + sd + "1", "target": mnt}], d
assert d["reason"] == "/dev/%s1 is mounted on %s (use --unmount)" % (sd, mnt), d
r1 = by["ram1"]
assert r1["holds_swap"] is True and r1["reason"] == "/dev/ram1 holds active swap", r1
r0 = by["ram0"]
assert r0["removable"] is False and r0["usable"] is False and r0["holds_root"] is False, r0
assert r0["reason"] == "/dev/ram0 is not removable (use --allow-fixed)", r0
assert r0["logical_block_size"] == 512 and r0["usb_port"] is None and r0["mounts"] == [], r0
print("JSON checks passed")
PY

step "devices"
rmmod scsi_debug brd 2>/dev/null || true
modprobe brd rd_nr=3 rd_size=16384 max_part=0
modprobe scsi_debug dev_size_mb=32 removable=1
settle
sd=
for i in $(seq 100); do
	for d in /sys/block/sd*; do
		[ -e "$d/device/model" ] && grep -q scsi_debug "$d/device/model" && sd=${d##*/}
	done
	[ -n "$sd" ] && break
	sleep 0.1
done
[ -n "$sd" ] || die "no scsi_debug disk appeared"
echo "scsi_debug disk: $sd"

step "idle drives"
"$BOOTSEAL" list > $W/list1.txt
cat $W/list1.txt
head -n 1 $W/list1.txt | grep -qE '^DEVICE +SIZE +MODEL +TRANSPORT +REMOVABLE +STATUS$' ||
	die "list has no header"
grep -qE "^/dev/$sd +33\.6 MB +Linux scsi_debug +scsi +yes +ok$" $W/list1.txt ||
	die "idle removable scsi_debug disk not listed as ok"
grep -q '^/dev/ram' $W/list1.txt && die "RAM disks listed without --all"
"$BOOTSEAL" list --all > $W/list2.txt
cat $W/list2.txt
grep -qE '^/dev/ram0 +16\.8 MB +- +ram +no +not removable \(use --allow-fixed\)$' $W/list2.txt ||
	die "brd not refused as not removable"

step "mounted partition, active swap"
printf 'label: dos\nstart=2048, size=16384, type=c\n' | sfdisk -q /dev/$sd
settle
[ -b /dev/${sd}1 ] || die "/dev/${sd}1 did not appear"
mkfs.vfat /dev/${sd}1 > /dev/null
mkdir -p "$W/mnt"
mount /dev/${sd}1 "$W/mnt"
mkswap /dev/ram1 > /dev/null
swapon /dev/ram1
"$BOOTSEAL" list --all > $W/list3.txt
cat $W/list3.txt
grep -qE "^/dev/$sd .* yes +/dev/${sd}1 is mounted on $W/mnt \(use --unmount\)$" $W/list3.txt ||
	die "mounted partition not reported"
grep -qE '^/dev/ram1 .* holds active swap$' $W/list3.txt || die "active swap not reported"
"$BOOTSEAL" list --all --json > $W/list3.json
python3 $W/check.py $W/list3.json "$sd" "$W/mnt" || die "list --json is not as expected"
umount "$W/mnt"
swapoff /dev/ram1

step "root filesystem (a chroot whose / is /dev/ram2)"
mkfs.ext2 -q /dev/ram2
unshare -m bash -ec '
	mount --make-rprivate /
	r=$1/root
	mkdir -p $r
	mount /dev/ram2 $r
	mkdir -p $r/usr $r/proc $r/sys $r/dev $r/src
	ln -s usr/lib $r/lib; ln -s usr/lib64 $r/lib64; ln -s usr/bin $r/bin
	mount --bind /usr $r/usr
	mount -t proc proc $r/proc
	mount --rbind /sys $r/sys
	mount --rbind /dev $r/dev
	mount --bind "$BOOTSEAL_SRC" $r/src
	chroot $r /src/build/bootseal list --all
' _ "$W" > $W/list4.txt
cat $W/list4.txt
grep -qE '^/dev/ram2 .* holds the root filesystem$' $W/list4.txt || die "root disk not refused"

rmmod scsi_debug brd
check_dmesg

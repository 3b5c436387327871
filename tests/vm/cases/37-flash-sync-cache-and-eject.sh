#!/bin/bash
# Durable on readers that hide their cache: after the seal the helper sends
# SYNCHRONIZE CACHE to a SCSI target even when the target reports no write
# cache (scsi_debug with cache_type "write through", where the kernel's
# flush and FUA send nothing to the device; SCSI command logging shows
# what was sent), after every write; with --eject the medium is then
# ejected (PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT LoEj) and the
# helper says it is safe to remove; without it a non-USB target stays
# readable. --json reports both. (The fake Compute Module's fixed LUN,
# which refuses the eject as ILLEGAL REQUEST, is covered by 60-usbboot-flash.)
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; echo 0 > /proc/sys/dev/scsi/logging_level; rmmod bootseal scsi_debug 2>/dev/null; exit $rc' EXIT

img=/tmp/img
head -c $((4 * 1024 * 1024 + 1234)) /dev/urandom > $img
printf 'label: dos\nstart=2048, size=4096, type=83\n' | sfdisk -q $img

# scsi_up: a removable scsi_debug disk with its write cache reported off.
scsi_up() {
	modprobe scsi_debug removable=1 dev_size_mb=32
	settle
	sd=
	for d in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do sd=/dev/$(basename "$d"); done
	[ -b "$sd" ] || die "no scsi_debug disk"
	ct=$(ls -d /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/scsi_disk/*/cache_type)
	echo "write through" > "$ct"
	grep -qx "write through" "$ct" || die "could not turn the write cache off: $(cat "$ct")"
}

note "write cache off, --eject"
scsi_up
dmesg -C
echo $((2 << 9)) > /proc/sys/dev/scsi/logging_level	# mid-layer queue: log every CDB sent
"$BOOTSEAL" flash --yes --eject $img "$sd" > /tmp/out 2> /tmp/err || { cat /tmp/out /tmp/err; die "flash failed"; }
echo 0 > /proc/sys/dev/scsi/logging_level
cat /tmp/out
dmesg | grep -E 'CDB: (Write|Synchronize Cache|Prevent/Allow|Start/Stop)' > /tmp/cdbs || true
last_write=$(grep -n 'CDB: Write' /tmp/cdbs | tail -n 1 | cut -d: -f1)
sync_line=$(grep -n 'CDB: Synchronize Cache' /tmp/cdbs | tail -n 1 | cut -d: -f1)
[ -n "$last_write" ] || die "the SCSI log shows no write at all"
[ -n "$sync_line" ] || die "no SYNCHRONIZE CACHE reached a device that reports no write cache"
[ "$sync_line" -gt "$last_write" ] || die "SYNCHRONIZE CACHE came before the last write"
grep -q 'CDB: Start/Stop Unit' /tmp/cdbs || die "no START STOP UNIT was sent for --eject"
grep -q "$sd: medium ejected; it is safe to remove" /tmp/out || die "the helper did not say the medium was ejected"
if dd if="$sd" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	die "$sd is still readable after the eject"
fi
rmmod scsi_debug

note "write cache off, default on a non-USB disk: synchronized, not ejected"
scsi_up
dmesg -C
echo $((2 << 9)) > /proc/sys/dev/scsi/logging_level
"$BOOTSEAL" flash --yes --json $img "$sd" > /tmp/out 2> /tmp/err || { cat /tmp/out /tmp/err; die "flash failed"; }
echo 0 > /proc/sys/dev/scsi/logging_level
dmesg | grep -q 'CDB: Synchronize Cache' || die "no SYNCHRONIZE CACHE without --eject"
dmesg | grep -q 'CDB: Start/Stop Unit' && die "a non-USB disk was ejected without --eject"
summary=$(grep '"type":"summary"' /tmp/out) || { cat /tmp/out; die "no JSON summary"; }
jq -e '.targets[0].cache_synchronized == true and .targets[0].eject == "not ejected"' <<<"$summary" > /dev/null ||
	die "JSON summary: $summary"
cmp -n "$(stat -c %s $img)" $img "$sd" || die "$sd is not readable or differs after a flash without eject"
rmmod scsi_debug
unload_bootseal
check_dmesg

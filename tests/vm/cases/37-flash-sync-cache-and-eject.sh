#!/bin/bash
# Durable, and in order, on readers that hide their cache: the helper sends
# SYNCHRONIZE CACHE to a SCSI target even when the target reports no write
# cache (scsi_debug with cache_type "write through", where the kernel's
# flush and FUA send nothing to the device; SCSI command logging shows
# what was sent): once between the last data write and the first write of
# the head, so data is durable before the partition table, and once after
# the last write; with --eject the medium is then
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
	sd=/dev/$(scsi_debug_disk)
	ct=$(ls -d /sys/block/"${sd#/dev/}"/device/scsi_disk/*/cache_type)
	echo "write through" > "$ct"
	grep -qx "write through" "$ct" || die "could not turn the write cache off: $(cat "$ct")"
}

note "write cache off, --eject"
scsi_up
dmesg -C
echo $((2 << 9)) > /proc/sys/dev/scsi/logging_level	# mid-layer queue: log every CDB sent
"$BOOTSEAL" flash --yes --eject --head 1M $img "$sd" > /tmp/out 2> /tmp/err || { cat /tmp/out /tmp/err; die "flash failed"; }
echo 0 > /proc/sys/dev/scsi/logging_level
cat /tmp/out
dmesg | grep -E 'CDB: (Write|Synchronize Cache|Prevent/Allow|Start/Stop)' > /tmp/cdbs || true
last_write=$(grep -n 'CDB: Write' /tmp/cdbs | tail -n 1 | cut -d: -f1)
sync_line=$(grep -n 'CDB: Synchronize Cache' /tmp/cdbs | tail -n 1 | cut -d: -f1)
[ -n "$last_write" ] || die "the SCSI log shows no write at all"
[ -n "$sync_line" ] || die "no SYNCHRONIZE CACHE reached a device that reports no write cache"
[ "$sync_line" -gt "$last_write" ] || die "SYNCHRONIZE CACHE came before the last write"
# The order: the last write beyond the 1 MiB head (2048 sectors), then a
# SYNCHRONIZE CACHE, then the first write into the head.
awk '
	function hex(s,   v, k) { v = 0; s = tolower(s); for (k = 1; k <= length(s); k++) v = v * 16 + index("0123456789abcdef", substr(s, k, 1)) - 1; return v }
	/CDB: Write\(10\)/ {
		for (i = 1; i <= NF; i++) if ($i == "Write(10)") break
		lba = hex($(i + 3) $(i + 4) $(i + 5) $(i + 6))
		n++; if (lba >= 2048) { last_data = n; sync_after = 0 } else if (last_data && !first_head) first_head = n
		if (lba < 2048 && last_data && first_head == n) head_synced = sync_after
		next }
	/CDB: Synchronize Cache/ { n++; if (last_data) sync_after = 1; next }
	{ n++ }
	END {
		if (!last_data) { print "no data write beyond the head"; exit 1 }
		if (!first_head) { print "no head write after the data"; exit 1 }
		if (!head_synced) { print "no SYNCHRONIZE CACHE between the last data write and the head"; exit 1 }
	}' /tmp/cdbs || die "the data was not synchronized before the head was written"
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
dmesg > /tmp/dmesg2
grep -q 'CDB: Synchronize Cache' /tmp/dmesg2 || die "no SYNCHRONIZE CACHE without --eject"
grep -q 'CDB: Start/Stop Unit' /tmp/dmesg2 && die "a non-USB disk was ejected without --eject"
summary=$(grep '"type":"summary"' /tmp/out) || { cat /tmp/out; die "no JSON summary"; }
jq -e '.targets[0].cache_synchronized == true and .targets[0].eject == "not ejected"' <<<"$summary" > /dev/null ||
	die "JSON summary: $summary"
cmp -n "$(stat -c %s $img)" $img "$sd" || die "$sd is not readable or differs after a flash without eject"
rmmod scsi_debug
unload_bootseal
check_dmesg

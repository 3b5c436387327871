#!/bin/bash
# Invariant: `bootseal flash --usbboot IMAGE.xz` boots a fake Compute Module 3
# over USB (ROM, two file-server sessions) and flashes the disk it becomes
# through the module: the session is sealed and verified, and the fake's
# backing file (its "eMMC") then equals the image byte for byte.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
bpid=
cleanup() {
	{ [ -z "$bpid" ] || kill "$bpid" 2>/dev/null || true; }
	usb_teardown
	unload_bootseal 2>/dev/null || true
}
trap cleanup EXIT

load_bootseal
usb_setup 1
usb_firmware

img=/tmp/img
# Mostly zeros with random stretches: xz of 6 MiB of random data takes
# minutes under TCG.
truncate -s $((6 * 1024 * 1024 + 777)) $img
for off in 1 3 5; do
	head -c 262144 /dev/urandom | dd of=$img bs=1M seek=$off conv=notrunc status=none
done
head -c 777 /dev/urandom | dd of=$img bs=1 seek=$((6 * 1024 * 1024)) conv=notrunc status=none
printf 'label: dos\nstart=2048, size=4096, type=c\nstart=6144, size=4000, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
xz -T2 -0 -k -f $img

note "one device: flash --usbboot --json"
truncate -s 16M /tmp/cm.img
fake_start /tmp/fake.log --firmware "$FW/raspberrypi" --backing /tmp/cm.img --sessions 2
fake=$FAKE_PID
rc=0
"$BOOTSEAL" flash --usbboot --json --firmware "$FW" $img.xz > /tmp/json 2>/tmp/err || rc=$?
cat /tmp/err /tmp/json
[ $rc -eq 0 ] || die "flash --usbboot exited $rc"
jq -e . /tmp/json > /dev/null || die "--json output is not JSON lines"
grep '"type":"summary"' /tmp/json | tail -n 1 | jq -e \
	'.exit == 0 and (.targets | length) == 1 and .targets[0].result == "ok" and .targets[0].verified' ||
	die "flash summary is not ok/verified"
# The fake's fixed LUN, like the CM firmware's: SYNCHRONIZE CACHE reached it;
# the default eject of a USB target was refused and the flash still succeeded.
grep '"type":"summary"' /tmp/json | tail -n 1 | jq -e \
	'.targets[0].cache_synchronized and .targets[0].eject == "not ejected (refused)"' > /dev/null ||
	die "flash summary: the cache was not synchronized, or the fixed LUN was not asked to eject"
grep '"type":"usbboot"' /tmp/json | jq -e 'select(.status == "ready") | .port == "1-1"' >/dev/null ||
	die "no usbboot ready record for port 1-1"
grep -q '"phase":"sealed"\|"phase":"verifying"\|"phase":"done"' /tmp/json || die "no seal/verify phase events"
cmp -n "$size" $img /tmp/cm.img || die "the fake's eMMC differs from the image"
fake_stop "$fake" || { cat /tmp/fake.log; die "fake failed its checks"; }
grep -q 'session 2: kernel7.img 15155200 bytes sha256 ok' /tmp/fake.log || die "fake not booted through both sessions"

grep -q 'FAIL' /tmp/fake*.log && die "a fake reported a failed check"
usb_teardown
unload_bootseal
check_dmesg

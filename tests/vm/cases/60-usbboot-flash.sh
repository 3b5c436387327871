#!/bin/bash
# Invariant: `bootseal flash --usbboot IMAGE.xz` boots a fake Compute Module 3
# over USB (ROM, two file-server sessions) and flashes the disk it becomes
# through the module: the session is sealed and verified, and the fake's
# backing file (its "eMMC") then equals the image byte for byte.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 1 --module

usb_image 6 "1 3 5" 4096 4000

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
usb_end

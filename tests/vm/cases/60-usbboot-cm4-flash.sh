#!/bin/bash
# Invariant: `bootseal flash --usbboot IMAGE.xz` boots a fake Compute Module 4
# (BCM2711 ROM, cm4/ set, mass storage 0a5c:0001) and flashes the disk it
# becomes through the module, sealed and verified, the fake's eMMC then equal
# to the image; and `flash --usbboot --loop` does the same for two more CM4s
# one after another (one with the two-interface layout), each on its own
# port, one summary line each, SIGINT ending the line with status 0.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 3 --module

usb_image 2 "0 1" 1024 1000

note "one CM4: flash --usbboot --json"
truncate -s 4M /tmp/cm-1.img
fake_start /tmp/fake-1.log --firmware "$FW/cm4" --backing /tmp/cm-1.img --pid 2711
fake=$FAKE_PID
rc=0
"$BOOTSEAL" flash --usbboot --json --firmware "$FW" $img.xz > /tmp/json 2>/tmp/err || rc=$?
cat /tmp/err /tmp/json
[ $rc -eq 0 ] || die "flash --usbboot exited $rc"
grep '"type":"summary"' /tmp/json | tail -n 1 | jq -e \
	'.exit == 0 and (.targets | length) == 1 and .targets[0].result == "ok" and .targets[0].verified' ||
	die "flash summary is not ok/verified"
grep '"type":"usbboot"' /tmp/json | jq -e 'select(.status == "ready") | .port == "1-1" and
	.chip == "BCM2711" and .serial == "5e4d3c2b" and .metadata.MAC_ADDR == "d8:3a:dd:5e:4d:3c"' >/dev/null ||
	die "no BCM2711 usbboot ready record for port 1-1"
cmp -n "$size" $img /tmp/cm-1.img || die "the CM4's eMMC differs from the image"
fake_stop "$fake" || { cat /tmp/fake-1.log; die "fake failed its checks"; }

note "production line: flash --usbboot --loop, two CM4s one after another"
bs_start /tmp/loop.out /tmp/loop.err flash --usbboot --loop --firmware "$FW" $img.xz
for n in 2 3; do
	truncate -s 4M "/tmp/cm-$n.img"
	extra=()
	[ $n = 3 ] && extra=(--interfaces 2 --stage2-index 4 --serial 0000c0de)
	fake_start "/tmp/fake-$n.log" --firmware "$FW/cm4" --backing "/tmp/cm-$n.img" --pid 2711 \
		--delay-ms 300 --msd-delay-ms 500 "${extra[@]}"
	fake_wait_log "/tmp/fake-$n.log" "stage C:" 90
	wait_flashed $((n - 1)) "/tmp/cm-$n.img"
done
bs_interrupt
cat /tmp/loop.err /tmp/loop.out
[ $rc -eq 0 ] || die "flash --usbboot --loop exited $rc after SIGINT"
# Fake 1 stopped and released UDC 1: the loop's boards land on ports 1 and 2.
flashed_once 1-1 2-1
grep -q 'serial 0000c0de' /tmp/loop.err || die "the second board's serial was not logged"
usb_end

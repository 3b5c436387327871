#!/bin/bash
# Invariant: `bootseal flash --usbboot --loop IMAGE.xz` is a production line:
# three fake Compute Modules that appear one after another (each on its own
# port, the earlier ones staying attached) are each booted and flashed through
# the module, one summary line per device, each fake's eMMC equals the image,
# and SIGINT ends the line with status 0.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 3 --module

# Small: three devices must fit in one case under TCG.
usb_image 2 "0 1" 1024 1000

note "production line: flash --usbboot --loop, three devices one after another"
bs_start /tmp/loop.out /tmp/loop.err flash --usbboot --loop --firmware "$FW" $img.xz
for n in 1 2 3; do
	truncate -s 4M "/tmp/cm-$n.img"
	fake_start "/tmp/fake-$n.log" --firmware "$FW/raspberrypi" --backing "/tmp/cm-$n.img" --sessions 1 \
		--delay-ms 300 --msd-delay-ms 500
	fake_wait_log "/tmp/fake-$n.log" "stage C:" 90
	wait_flashed $n "/tmp/cm-$n.img"
	note "device $n: $(grep 'flashed' /tmp/loop.out | sed -n "${n}p")"
done
bs_interrupt
cat /tmp/loop.err /tmp/loop.out
[ $rc -eq 0 ] || die "flash --usbboot --loop exited $rc after SIGINT"
flashed_once 1-1 2-1 3-1
usb_end

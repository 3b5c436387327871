#!/bin/bash
# Invariant: every device fault ends in a clear error that names the port and
# the step, and never stops the others: in ONE `bootseal boot --count 7` run,
# four broken fake Compute Modules (ROM status 5, disconnect mid-upload, a
# request reply held past the timeout, an unknown command) each fail with
# their own message, a BCM2712 ROM is told plainly that the firmware set has
# nothing for it (and is left alone), two more that ask for a missing file and for traversal
# names ('..', absolute) get size 0 for those and still reach mass storage,
# on two different ports. gadgetfs drives one gadget at a time, so the
# devices appear one after another; the last two stay attached as disks.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 2
bs_start /tmp/boot.out /tmp/boot.err boot --firmware "$FW" --count 7 --timeout 8
usb_faults --firmware "$FW/raspberrypi" --sessions 1
note "fault bcm2712"
fake_start /tmp/fake-bcm2712.log --firmware "$FW/raspberrypi" --backing /tmp/cm-a.img --pid 2712
wait "$FAKE_PID" || { cat /tmp/fake-bcm2712.log; die "fake (bcm2712) failed its own checks"; }
grep -q "FAULT bcm2712" /tmp/fake-bcm2712.log || die "bcm2712 device not left alone"
sleep 1
usb_faults_good --firmware "$FW/raspberrypi" --sessions 1 --msd-delay-ms 1500

usb_faults_check
log_has /tmp/boot.err \
	"usb 1-1: Unable to boot BCM2712 (0a5c:2712): the firmware set in $FW has no files for BCM2712"
usb_end

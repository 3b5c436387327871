#!/bin/bash
# Invariant: the device faults of a Compute Module 3 end the same way on a
# Compute Module 4 (BCM2711 ROM, cm4/ firmware set): in ONE
# `bootseal boot --count 6` run, four broken fake CM4s (ROM status 5,
# disconnect mid-upload, a request reply held past the timeout, an unknown
# command) each fail with their own message naming the port and the step,
# and two more that ask for a missing file and for traversal names get size
# 0 for those and still reach mass storage (0a5c:0001) on two ports.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 2
bs_start /tmp/boot.out /tmp/boot.err boot --firmware "$FW" --count 6 --timeout 8
usb_faults --firmware "$FW/cm4" --pid 2711
# the board on port 2 with the two-interface layout
usb_faults_good --firmware "$FW/cm4" --pid 2711 --msd-delay-ms 1000 -- --interfaces 2

usb_faults_check
log_has /tmp/boot.err "usb 1-1: BCM2711 ROM (0a5c:2711, serial 5e4d3c2b)"
usb_end

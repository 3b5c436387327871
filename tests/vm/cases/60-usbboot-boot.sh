#!/bin/bash
# Invariant: `bootseal boot` drives a fake Compute Module 3 through all three
# USB lives — ROM (0a5c:2764, iSerialNumber 0) gets the 24-byte boot message
# and bootcode.bin byte for byte; the second stage (iSerialNumber 1) runs two
# file-server sessions and every file it asks for arrives with the size and
# SHA-256 of the firmware set (missing ones as size 0); then the mass-storage
# gadget at the same port becomes a block device, which is printed as
# "usb PORT -> /dev/sdX (SIZE)" and really is the fake's backing file.
# The fake runs with its default (hardware-like) delays: ~1 s between stages,
# 5 s of "Linux boot" before the mass-storage device; the zero-length write
# the host sends after each Done is acknowledged. A fake that no host talks
# to gives up with "fakecm: FAIL ..." and exit status 1.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 1

backing=/tmp/cm3-emmc.img
truncate -s 16M "$backing"

note "a fake with no host gives up with a FAIL line and status 1"
frc=0
"$FAKECM" --firmware "$FW/raspberrypi" --backing "$backing" --host-timeout 3 \
	>/tmp/fake-alone.log 2>&1 || frc=$?
cat /tmp/fake-alone.log
[ $frc -eq 1 ] || die "a fake without a host exited $frc, expected 1"
grep -q '^fakecm: FAIL gave up waiting for the host: no size announcement' /tmp/fake-alone.log ||
	die "a fake without a host did not say FAIL"
sleep 1
fake_start /tmp/fake.log --firmware "$FW/raspberrypi" --backing "$backing"
fake=$FAKE_PID

rc=0
out=$("$BOOTSEAL" boot --firmware "$FW" --timeout 60 --verbose 2>/tmp/boot.err) || rc=$?
cat /tmp/boot.err
echo "stdout: $out"
cat /tmp/fake.log
[ $rc -eq 0 ] || die "bootseal boot exited $rc"
grep -E '^usb [0-9]+-1 -> /dev/sd[a-z]+ \(16\.8 MB\)$' <<<"$out" || die "unexpected output: $out"
dev=$(sed -E 's/^usb [^ ]+ -> ([^ ]+) .*/\1/' <<<"$out")
[ -b "$dev" ] || die "$dev is not a block device"
[ "$(blockdev --getsize64 "$dev")" = 16777216 ] || die "$dev has the wrong size"

grep -q 'stage A: received bootcode.bin 52116 bytes sha256' /tmp/fake.log || die "ROM upload not checked"
grep -q 'session 2: kernel7.img 15155200 bytes sha256 ok' /tmp/fake.log || die "kernel7.img not served intact"
grep -q 'session 1: GetFileSize autoboot.txt -> 0' /tmp/fake.log || die "missing file not answered 0"
grep -q 'autoboot.txt: not in the firmware set, answered size 0' /tmp/boot.err || die "host did not log the missing file"
grep -q 'FAIL' /tmp/fake.log && die "the fake reported a failure"
for n in 1 2; do
	grep -q "session $n: zero-length write after Done acknowledged" /tmp/fake.log ||
		die "session $n: the zero-length write after Done was not seen and acknowledged"
done
grep -q 'starting the mass-storage device in 5000 ms' /tmp/fake.log ||
	die "the fake did not use its default stage C delay"

# The block device is the fake's backing file: write through it, read the file.
head -c 1048576 /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of="$dev" bs=1M count=1 oflag=direct status=none
cmp -n 1048576 /tmp/pattern "$backing" || die "data written to $dev did not reach the backing file"

fake_stop "$fake" || die "fake exited with an error"
grep -q 'fakecm: done' /tmp/fake.log || die "fake did not finish cleanly"
check_dmesg

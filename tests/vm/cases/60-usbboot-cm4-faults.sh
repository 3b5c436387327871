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
trap '{ [ -z "$bpid" ] || kill "$bpid" 2>/dev/null || true; }; usb_teardown' EXIT
bpid=

usb_setup 2
usb_firmware
truncate -s 8M /tmp/cm-a.img /tmp/cm-b.img

"$BOOTSEAL" boot --firmware "$FW" --count 6 --timeout 8 >/tmp/boot.out 2>/tmp/boot.err &
bpid=$!

fault() {
	local name=$1; shift
	note "fault $name"
	fake_start "/tmp/fake-$name.log" --firmware "$FW/cm4" --backing /tmp/cm-a.img \
		--pid 2711 --fault "$name" "$@"
	wait "$FAKE_PID" || { cat "/tmp/fake-$name.log"; die "fake ($name) failed its own checks"; }
	grep -q "FAULT $name" "/tmp/fake-$name.log" || { cat "/tmp/fake-$name.log"; die "fault $name not delivered"; }
	sleep 1
}
fault rom-status
fault disconnect-upload
fault hold-reply --hold 12
fault bad-command

note "good CM4 with a missing-file request (port 1)"
fake_start /tmp/fake-missing.log --firmware "$FW/cm4" --backing /tmp/cm-a.img --pid 2711 \
	--fault missing-file --msd-delay-ms 1000
fake_wait_log /tmp/fake-missing.log "stage C:" 60
note "good CM4, two interfaces, with traversal names (port 2)"
fake_start /tmp/fake-dotdot.log --firmware "$FW/cm4" --backing /tmp/cm-b.img --pid 2711 \
	--interfaces 2 --fault dotdot --msd-delay-ms 1000
fake_wait_log /tmp/fake-dotdot.log "stage C:" 60

rc=0
for i in $(seq 600); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
wait "$bpid" || rc=$?
bpid=
cat /tmp/boot.err; echo "--- stdout"; cat /tmp/boot.out; cat /tmp/fake-*.log
[ $rc -eq 7 ] || die "bootseal boot exited $rc, expected 7 (some devices failed)"

err() { grep -qF -- "$1" /tmp/boot.err || die "missing error: $1"; }
err "usb 1-1: Unable to boot (ROM stage): the ROM refused bootcode.bin with status 0x00000005"
err "usb 1-1: Unable to send bootcode.bin (ROM stage, "
err "usb 1-1: Unable to read file request"
err "no request within the step timeout"
err "usb 1-1: Unable to serve request"
err "unknown command 7"
err "usb 1-1: bootseal-missing.bin: not in the firmware set, answered size 0"
err "usb 2-1: refused file name '../../../etc/passwd' ('..' in name (path traversal)), answered size 0"
err "usb 2-1: refused file name '/etc/passwd' (absolute path), answered size 0"
err "usb 1-1: BCM2711 ROM (0a5c:2711, serial 5e4d3c2b)"

grep -Eq '^usb 1-1 -> /dev/sd[a-z]+ \(8\.4 MB\)$' /tmp/boot.out || die "port 1-1 not reported ready"
grep -Eq '^usb 2-1 -> /dev/sd[a-z]+ \(8\.4 MB\)$' /tmp/boot.out || die "port 2-1 not reported ready"
[ "$(wc -l < /tmp/boot.out)" -eq 2 ] || die "expected exactly two ready lines"
grep -q 'FAIL' /tmp/fake-*.log && die "a fake reported a failed check"
check_dmesg

#!/bin/bash
# Invariant: `bootseal boot` drives a fake Compute Module 4 (BCM2711) with the
# cm4/ firmware set through all its USB lives: the ROM (0a5c:2711,
# iSerialNumber index 3 naming the board serial) gets the 24-byte boot message
# and cm4/bootcode.bin byte for byte; the second stage (index 1 on one board,
# 4 on the other) asks for the BCM2711 names (only start4.elf exists, the rest
# are answered size 0) and sends metadata records, each acknowledged; then the
# VPU mass-storage device 0a5c:0001 at the same port becomes a block device.
# Two boards: one with the one-interface layout (OUT 0x01), one with the
# two-interface layout (vendor interface 1, OUT 0x03). `--json` reports each
# board's chip, serial and metadata records.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 2
truncate -s 16M /tmp/cm4-a.img /tmp/cm4-b.img

bs_start /tmp/boot.out /tmp/boot.err boot --firmware "$FW" --count 2 --json --verbose --timeout 60

note "CM4 on port 1: one interface, second stage index 1, default delays"
fake_start /tmp/fake-a.log --firmware "$FW/cm4" --backing /tmp/cm4-a.img --pid 2711
fake_wait_log /tmp/fake-a.log "stage C:" 90
note "CM4 on port 2: two interfaces, second stage index 4"
fake_start /tmp/fake-b.log --firmware "$FW/cm4" --backing /tmp/cm4-b.img --pid 2711 \
	--interfaces 2 --stage2-index 4 --serial 0badc0de --msd-delay-ms 1000
fake_wait_log /tmp/fake-b.log "stage C:" 90

bs_wait
cat /tmp/boot.err; echo "--- stdout"; cat /tmp/boot.out; cat /tmp/fake-a.log /tmp/fake-b.log
[ $rc -eq 0 ] || die "bootseal boot exited $rc"
grep -q 'FAIL' /tmp/fake-a.log /tmp/fake-b.log && die "a fake reported a failed check"

for f in a b; do
	log=/tmp/fake-$f.log
	grep -q 'stage A: received bootcode.bin 106008 bytes sha256' $log || die "board $f: ROM upload not checked"
	grep -q 'session 1: start4.elf 301628 bytes sha256 ok' $log || die "board $f: start4.elf not served intact"
	grep -q 'session 1: GetFileSize config.txt -> 0' $log || die "board $f: missing config.txt not answered 0"
	grep -q 'metadata: 6 records sent, each acknowledged' $log || die "board $f: metadata not acknowledged"
	grep -q 'session 1: zero-length write after Done acknowledged' $log || die "board $f: no write after Done"
	grep -q 'stage C: mass storage 0a5c:0001' $log || die "board $f: no 0a5c:0001 mass storage"
done
grep -q 'stage A: ROM 0a5c:2711 iSerialNumber 3 serial 5e4d3c2b, 1 interface,' /tmp/fake-a.log ||
	die "board a: not a one-interface BCM2711 ROM"
grep -q 'stage A: ROM 0a5c:2711 iSerialNumber 3 serial 0badc0de, 2 interfaces,' /tmp/fake-b.log ||
	die "board b: not a two-interface BCM2711 ROM"
grep -q 'starting the mass-storage device in 2000 ms' /tmp/fake-a.log ||
	die "board a: not the default BCM2711 stage C delay"
grep -q 'stage B: second stage 0a5c:2711 iSerialNumber 4, session 1' /tmp/fake-b.log ||
	die "board b: second stage not at index 4"

log_has /tmp/boot.err \
	"usb 1-1: BCM2711 ROM (0a5c:2711, serial 5e4d3c2b): sending bootcode.bin (106008 bytes)" \
	"usb 2-1: BCM2711 ROM (0a5c:2711, serial 0badc0de): sending bootcode.bin (106008 bytes)" \
	"usb 1-1: metadata MAC_ADDR=d8:3a:dd:5e:4d:3c (acknowledged)" \
	"usb 1-1: vl805.sig: not in the firmware set, answered size 0"

jq -e . /tmp/boot.out >/dev/null || die "--json output is not JSON lines"
for pair in 1-1:5e4d3c2b 2-1:0badc0de; do
	p=${pair%%:*} sn=${pair#*:}
	jq -e -s --arg p "$p" --arg sn "$sn" 'map(select(.port == $p)) | length == 1 and (.[0] | .type == "usbboot" and
		.status == "ready" and .chip == "BCM2711" and .serial == $sn and .sessions == 1 and
		.size == 16777216 and (.device | startswith("/dev/sd")) and
		.metadata.MAC_ADDR == "d8:3a:dd:5e:4d:3c" and .metadata.USER_BOARDREV == "0xd03141" and
		.metadata.JTAG_LOCKED == "0" and (.metadata | length) == 6)' /tmp/boot.out >/dev/null ||
		die "port $p: JSON record wrong"
	[ "$(cat /sys/bus/usb/devices/$p/idVendor):$(cat /sys/bus/usb/devices/$p/idProduct)" = 0a5c:0001 ] ||
		die "port $p is not 0a5c:0001"
done

# The block device is the fake's backing file.
dev=$(jq -r 'select(.port == "2-1") | .device' /tmp/boot.out)
head -c 1048576 /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of="$dev" bs=1M count=1 oflag=direct status=none
cmp -n 1048576 /tmp/pattern /tmp/cm4-b.img || die "data written to $dev did not reach the backing file"
check_dmesg

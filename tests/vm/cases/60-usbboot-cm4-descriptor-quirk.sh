#!/bin/bash
# Invariant: the BCM2711 ROM's configuration-descriptor quirk does not get in
# the way. Its ROM answers the host's first, 9-byte read of the configuration
# descriptor with wTotalLength 55 / bNumInterfaces 2 and the full read with
# 32 bytes / 1 interface; Linux logs "config index 0 descriptor too short
# (expected 55, got 32)" and sees one interface with bulk OUT 0x01. The fake
# Compute Module runs its ROM stage on the kernel's raw_gadget driver
# (fakecm --raw-gadget; gadgetfs answers descriptors in the kernel, so it
# cannot present the quirk), built out of tree by `make raw-gadget` for each
# installed kernel. Then `bootseal boot` gets such a board to its mass-storage
# device 0a5c:0001, and `flash --usbboot` boots another and flashes it,
# sealed and verified. A missing raw_gadget.ko for the running kernel fails
# the case.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 2 --module

rg=$BOOTSEAL_SRC/build/raw_gadget/$(uname -r)/raw_gadget.ko
[ -f "$rg" ] || die "no raw_gadget.ko for $(uname -r) at $rg (run 'make raw-gadget')"
insmod "$rg" || die "insmod $rg failed"
[ -c /dev/raw-gadget ] || die "raw_gadget.ko loaded but there is no /dev/raw-gadget"
quirk="config index 0 descriptor too short (expected 55, got 32)"
base=$(dmesg | grep -cF "$quirk" || true)

note "bootseal boot: a CM4 whose ROM presents the descriptor quirk"
truncate -s 16M /tmp/cm4-q.img
bs_start /tmp/boot.out /tmp/boot.err boot --firmware "$FW" --count 1 --json --verbose --timeout 60
fake_start /tmp/fake-q.log --firmware "$FW/cm4" --backing /tmp/cm4-q.img --pid 2711 --raw-gadget \
	--delay-ms 300 --msd-delay-ms 500
fake=$FAKE_PID
fake_wait_log /tmp/fake-q.log "stage C:" 90
bs_wait
cat /tmp/boot.err; echo "--- stdout"; cat /tmp/boot.out; cat /tmp/fake-q.log
[ $rc -eq 0 ] || die "bootseal boot exited $rc"
grep -q 'FAIL' /tmp/fake-q.log && die "the fake reported a failed check"
log_has /tmp/fake-q.log \
	"stage A: ROM 0a5c:2711 iSerialNumber 3 serial 5e4d3c2b, 1 interface, on dummy_udc.0 (raw_gadget" \
	"stage A: configuration descriptor read of 9 bytes: answered the header saying wTotalLength 55, bNumInterfaces 2" \
	"stage A: configuration descriptor read of 55 bytes: answered 32 bytes, wTotalLength 32, bNumInterfaces 1" \
	"stage A: configured; bulk OUT 0x01 on raw_gadget endpoint" \
	"stage A: received bootcode.bin 106008 bytes sha256" \
	"session 1: start4.elf 301628 bytes sha256 ok" \
	"metadata: 6 records sent, each acknowledged" \
	"stage C: mass storage 0a5c:0001"
dmesg | grep -F "$quirk" || true
[ "$(dmesg | grep -cF "$quirk")" -gt "$base" ] || die "the kernel did not log '$quirk'"
log_has /tmp/boot.err "usb 1-1: BCM2711 ROM (0a5c:2711, serial 5e4d3c2b): sending bootcode.bin (106008 bytes)"
jq -e -s 'length == 1 and (.[0] | .port == "1-1" and .type == "usbboot" and .status == "ready" and
	.chip == "BCM2711" and .serial == "5e4d3c2b" and .size == 16777216 and
	(.device | startswith("/dev/sd")))' /tmp/boot.out >/dev/null || die "JSON record wrong"
[ "$(cat /sys/bus/usb/devices/1-1/idVendor):$(cat /sys/bus/usb/devices/1-1/idProduct)" = 0a5c:0001 ] ||
	die "port 1-1 is not 0a5c:0001"
fake_stop "$fake" || die "the fake failed its checks"

note "flash --usbboot: another such CM4, flashed through the module"
base=$(dmesg | grep -cF "$quirk" || true)
usb_image 2 "0 1" 1024 1000
truncate -s 4M /tmp/cm4-f.img
fake_start /tmp/fake-f.log --firmware "$FW/cm4" --backing /tmp/cm4-f.img --pid 2711 --raw-gadget \
	--serial 0badc0de --delay-ms 300 --msd-delay-ms 500
fake=$FAKE_PID
rc=0
"$BOOTSEAL" flash --usbboot --json --firmware "$FW" $img.xz > /tmp/json 2>/tmp/err || rc=$?
cat /tmp/err /tmp/json /tmp/fake-f.log
[ $rc -eq 0 ] || die "flash --usbboot exited $rc"
grep '"type":"summary"' /tmp/json | tail -n 1 | jq -e \
	'.exit == 0 and (.targets | length) == 1 and .targets[0].result == "ok" and .targets[0].verified' ||
	die "flash summary is not ok/verified"
grep '"type":"usbboot"' /tmp/json | jq -e 'select(.status == "ready") | .chip == "BCM2711" and
	.serial == "0badc0de"' >/dev/null || die "no BCM2711 usbboot ready record"
cmp -n "$size" $img /tmp/cm4-f.img || die "the CM4's eMMC differs from the image"
grep -q 'stage A: descriptor quirk presented' /tmp/fake-f.log || die "second board: no quirk presented"
[ "$(dmesg | grep -cF "$quirk")" -gt "$base" ] || die "second board: the kernel did not log '$quirk'"
fake_stop "$fake" || die "the second fake failed its checks"
usb_end
! grep -q '^raw_gadget ' /proc/modules || die "raw_gadget did not unload"

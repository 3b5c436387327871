#!/bin/bash
# Invariant: `bootseal flash --usbboot --loop IMAGE.xz` is a production line:
# three fake Compute Modules that appear one after another (each on its own
# port, the earlier ones staying attached) are each booted and flashed through
# the module, one summary line per device, each fake's eMMC equals the image,
# and SIGINT ends the line with status 0.
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
usb_setup 3
usb_firmware

img=/tmp/img
# Small and mostly zeros: three devices must fit in one case under TCG.
truncate -s $((2 * 1024 * 1024 + 777)) $img
for off in 0 1; do
	head -c 262144 /dev/urandom | dd of=$img bs=1M seek=$off conv=notrunc status=none
done
head -c 777 /dev/urandom | dd of=$img bs=1 seek=$((2 * 1024 * 1024)) conv=notrunc status=none
printf 'label: dos\nstart=2048, size=1024, type=c\nstart=3072, size=1000, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
xz -T2 -0 -k -f $img

note "production line: flash --usbboot --loop, three devices one after another"
"$BOOTSEAL" flash --usbboot --loop --firmware "$FW" $img.xz > /tmp/loop.out 2>/tmp/loop.err &
bpid=$!
for n in 1 2 3; do
	truncate -s 4M "/tmp/cm-$n.img"
	fake_start "/tmp/fake-$n.log" --firmware "$FW/raspberrypi" --backing "/tmp/cm-$n.img" --sessions 1 \
		--delay-ms 300 --msd-delay-ms 500
	fake_wait_log "/tmp/fake-$n.log" "stage C:" 90
	for i in $(seq 900); do
		[ "$(grep -c 'flashed, sealed and verified\|FAILED' /tmp/loop.out)" -ge $n ] && break
		sleep 0.1
	done
	[ "$(grep -c 'flashed, sealed and verified' /tmp/loop.out)" -ge $n ] ||
		{ cat /tmp/loop.err /tmp/loop.out; die "device $n not flashed"; }
	cmp -n "$size" $img "/tmp/cm-$n.img" || die "device $n: eMMC differs from the image"
	note "device $n: $(grep 'flashed' /tmp/loop.out | sed -n "${n}p")"
done
kill -INT "$bpid"
rc=0
wait "$bpid" || rc=$?
bpid=
cat /tmp/loop.err /tmp/loop.out
[ $rc -eq 0 ] || die "flash --usbboot --loop exited $rc after SIGINT"
for p in 1-1 2-1 3-1; do
	[ "$(grep -Ec "^usb $p -> /dev/sd[a-z]+: flashed, sealed and verified$" /tmp/loop.out)" -eq 1 ] ||
		die "port $p: not exactly one summary line"
done
grep -q 'FAIL' /tmp/fake*.log && die "a fake reported a failed check"
usb_teardown
unload_bootseal
check_dmesg

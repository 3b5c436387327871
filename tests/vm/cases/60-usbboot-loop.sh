#!/bin/bash
# Invariant: `bootseal boot --loop` is a production line: three fake Compute
# Modules that appear one after another (each on its own port) are each booted
# to mass storage and reported once, the earlier ones staying attached while
# the next boots; SIGINT then ends the loop with status 0.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
usb_case 3

bs_start /tmp/loop.out /tmp/loop.err boot --loop --firmware "$FW" --timeout 30
for n in 1 2 3; do
	truncate -s 4M "/tmp/cm-$n.img"
	fake_start "/tmp/fake-$n.log" --firmware "$FW/raspberrypi" --backing "/tmp/cm-$n.img" --sessions 1 \
		--msd-delay-ms 1000
	fake_wait_log "/tmp/fake-$n.log" "stage C:" 90
	for i in $(seq 300); do [ "$(wc -l < /tmp/loop.out)" -ge $n ] && break; sleep 0.1; done
	[ "$(wc -l < /tmp/loop.out)" -ge $n ] || { cat /tmp/loop.err; die "device $n not reported"; }
	note "device $n: $(sed -n "${n}p" /tmp/loop.out)"
done
kill -0 "$bpid" || die "bootseal boot --loop stopped by itself"
bs_interrupt
cat /tmp/loop.err
[ $rc -eq 0 ] || die "bootseal boot --loop exited $rc after SIGINT"
for p in 1-1 2-1 3-1; do
	[ "$(grep -Ec "^usb $p -> /dev/sd[a-z]+ \(4\.2 MB\)$" /tmp/loop.out)" -eq 1 ] ||
		die "port $p not reported exactly once: $(cat /tmp/loop.out)"
done
[ "$(wc -l < /tmp/loop.out)" -eq 3 ] || die "unexpected output: $(cat /tmp/loop.out)"
usb_end

#!/bin/bash
# A process that holds the disk or one of its partitions open for writing
# does not claim it, so the module's exclusive claim would let it write on
# during the flash, over the image (a buffered writer on a partition node
# racing the flash). The helper refuses such a target (exit 4), naming the
# node, the command and its pid, and writes nothing; a reader does not
# count; once the writer is gone the flash goes through.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
case_cleanup() { for j in $(jobs -p); do kill $j; done; wait; }
brd_disks 1 16
img=/tmp/img
mkimg $img $((8 * 1024 * 1024))
printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q $img
"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img $dev >/dev/null || die "first flash failed"
settle
[ -b /dev/ram0p1 ] || mknod /dev/ram0p1 b $(tr : ' ' < /sys/block/ram0/ram0p1/dev)

refused_by() {	# NODE: a writer holds NODE open; the flash must be refused
	local node=$1 rc=0 before
	# a buffered writer that keeps writing through the node
	bash -c 'exec 4<>"$1"; while :; do dd of="$1" if=/dev/urandom bs=4k count=1 seek=3 conv=notrunc status=none; echo x >&4; sleep 0.2; done' writer "$node" &
	local w=$!
	sleep 0.5
	before=$(dd if=$dev bs=1M count=1 skip=4 status=none | md5sum)
	"$BOOTSEAL" flash --yes --allow-fixed $img $dev >/tmp/out 2>/tmp/err || rc=$?
	cat /tmp/out /tmp/err
	[ $rc -eq 4 ] || die "a writer on $node: exit $rc, not 4"
	grep -q "$node is open for writing by .* (pid [0-9]*)" /tmp/err || die "the writer on $node is not named"
	kill $w; wait $w 2>/dev/null || true
	[ "$(dd if=$dev bs=1M count=1 skip=4 status=none | md5sum)" = "$before" ] ||
		die "the refused target was written"
}
refused_by /dev/ram0p1
refused_by /dev/ram0

note "a reader does not count"
exec 5</dev/ram0p1
"$BOOTSEAL" flash --yes --allow-fixed $img $dev > /tmp/out 2>&1 || { cat /tmp/out; die "a reader blocked the flash"; }
exec 5<&-
cmp -n $(stat -c %s $img) $img $dev || die "device differs from the image"

unload_bootseal
rmmod brd
check_dmesg

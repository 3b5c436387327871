#!/bin/bash
# Hot-unplug: deleting the scsi_debug disk in the middle of a flash ends the
# session FAILED (netlink), without oops or WARN; the writer's fd closes,
# and both scsi_debug and bootseal unload afterwards.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; rmmod bootseal scsi_debug 2>/dev/null; exit $rc' EXIT
modprobe scsi_debug dev_size_mb=16 num_tgts=1 max_luns=1 delay=1
settle
disk=$(scsi_debug_disk)
img=/tmp/img
head -c $((8 * 1024 * 1024)) /dev/urandom > $img

"$TOOLS/nlwatch" listen --finals 1 --timeout 600 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
# 32 chunks, 1 s apart: the disk goes away while the flash is writing, however
# slow the guest is (a debug kernel under load takes minutes to get here).
"$TOOLS/bsctl" attach /dev/$disk head=64K flash $img chunk=256K pause=1000 commit status > /tmp/out 2>&1 &
writer=$!
end=$((SECONDS + 300))
until grep -q '^STATE .*state=WRITING' /tmp/events; do
	[ $SECONDS -lt $end ] || die "no WRITING event within 300 s"
	sleep 0.2
done
sleep 1
kill -0 $writer 2>/dev/null || die "the flash ended before the disk could be deleted"
echo 1 > /sys/block/$disk/device/delete
wait $writer && die "the flash succeeded although the disk was deleted"
cat /tmp/out
wait $watcher || { cat /tmp/events; die "no final state"; }
cat /tmp/events
grep '^STATE ' /tmp/events | tail -1 | grep -q 'state=FAILED' || die "final state is not FAILED"
unload_bootseal
rmmod scsi_debug || die "scsi_debug still referenced"
check_dmesg

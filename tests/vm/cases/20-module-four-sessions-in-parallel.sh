#!/bin/bash
# Concurrency: four sessions flash four RAM disks at once; each ends SEALED
# with its own image and exact counters, and every event carries the id of
# its own session (events of one id always name the same disk).
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=4 rd_size=16384 max_part=0
"$TOOLS/nlwatch" listen --finals 4 --timeout 200 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
pids=()
for n in 0 1 2 3; do
	head -c $(( (4 + n) * 1024 * 1024 + 512 * n )) /dev/urandom > /tmp/img$n
	"$TOOLS/bsctl" attach /dev/ram$n head=128K flash /tmp/img$n chunk=256K commit \
		status state=SEALED > /tmp/out$n 2>&1 &
	pids+=($!)
done
for n in 0 1 2 3; do wait ${pids[$n]} || { cat /tmp/out$n; die "session on ram$n failed"; }; done
wait $watcher || { cat /tmp/events; die "not four final states"; }
for n in 0 1 2 3; do
	size=$(stat -c %s /tmp/img$n)
	cmp -n $size /tmp/img$n /dev/ram$n || die "ram$n differs from its image"
	id=$(sed -n 's/^attach: session_id=\([0-9]*\).*/\1/p' /tmp/out$n)
	[ "$(grep -c " id=$id " /tmp/events)" -ge 6 ] || die "too few events for session $id"
	grep " id=$id " /tmp/events | grep -vq " dev_name=ram$n " && die "session $id: event names another disk"
	grep "^STATE id=$id state=SEALED" /tmp/events | grep -q "submitted=$size completed=$size " ||
		die "session $id: final counters not exact"
	states=$(awk -v id="id=$id" '$1 == "STATE" && $2 == id { sub("state=", "", $3); printf "%s ", $3 }' /tmp/events)
	[ "$states" = "ATTACHED INVALIDATED WRITING FLUSHING SEALING SEALED " ] ||
		die "session $id: states $states"
done
[ "$(grep -c '^STATE .*state=SEALED' /tmp/events)" = 4 ] || die "not four SEALED events"
unload_bootseal
rmmod brd
check_dmesg

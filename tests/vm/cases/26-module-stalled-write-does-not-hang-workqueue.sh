#!/bin/bash
# A data write that fails (dm-error on [2, 3) MiB) while an earlier one is
# held by the device for longer than the hung-task timeout (dm-delay, 8 s,
# on [1, 2) MiB; hung_task_timeout_secs lowered to 2, hung_task_panic=1)
# must not block a system-workqueue worker until the stalled write
# completes: no "blocked for more than" report, no panic. The session is
# FAILED with the dm-error sector at once; the FAILED event goes out only
# after the stalled write completed, with final counters.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
old_timeout=$(cat /proc/sys/kernel/hung_task_timeout_secs)
load_bootseal
trap 'rc=$?; set +e; exec 3>&-; sysctl -qw kernel.hung_task_timeout_secs=$old_timeout; for j in $(jobs -p); do kill $j; done; wait; dmsetup remove stall 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
ram0_dm stall "0 32768 linear /dev/ram0 0"
img=/tmp/img
mkimg $img $((4 * 1024 * 1024))
B="$TOOLS/bsctl"
exec 3<>/dev/bootseal
"$B" --fd 3 attach /dev/mapper/stall head=4K > /tmp/out || { cat /tmp/out; die "attach"; }
# Only now (the attach flush is done): writes to [1, 2) MiB wait 8 s, [2, 3) MiB fail.
dmsetup reload stall <<TABLE
0 2048 linear /dev/ram0 0
2048 2048 delay /dev/ram0 2048 0 /dev/ram0 2048 8000
4096 2048 error
6144 26624 linear /dev/ram0 6144
TABLE
dmsetup resume stall
sysctl -qw kernel.hung_task_timeout_secs=2
"$TOOLS/nlwatch" listen --finals 1 --timeout 120 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
start=$(date +%s)
"$B" --fd 3 flash $img chunk=1M expect=EIO status state=FAILED >> /tmp/out ||
	{ cat /tmp/out; die "the failed write did not fail the session"; }
grep -q '^status: .* state=FAILED error=5 error_sector=4096 ' /tmp/out ||
	{ cat /tmp/out; die "FAILED without the dm-error sector"; }
wait $watcher || die "no FAILED event"
took=$(( $(date +%s) - start ))
cat /tmp/out /tmp/events
# The stalled write outlived several hung-task periods while the session was FAILED.
[ $took -ge 6 ] || die "the FAILED event came after ${took}s, before the stalled write completed"
grep '^STATE ' /tmp/events | tail -1 |
	grep -q "state=FAILED .* completed=$((2 * 1048576 - 4096)) .* errno=5 sector=4096\$" ||
	die "the FAILED event's counters are not final"
sleep 3	# one more hung-task period after the stall
exec 3>&-
sysctl -qw kernel.hung_task_timeout_secs=$old_timeout
dmsetup remove stall
unload_bootseal
rmmod brd
check_dmesg

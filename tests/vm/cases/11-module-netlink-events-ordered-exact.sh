#!/bin/bash
# Netlink: a listener on "progress" sees the state events of a flash in
# order (ATTACHED, INVALIDATED, WRITING, FLUSHING, SEALING, SEALED), every
# event carries the session's id, progress is rate-limited to about 10/s,
# and the final event's counters are exact. GET (dump and by id) lists the
# live session, and stops listing it once its fd is closed.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=16384 max_part=0
img=/tmp/img
head -c $((8 * 1024 * 1024)) /dev/urandom > $img
size=$(stat -c %s $img)

"$TOOLS/nlwatch" listen --finals 1 --timeout 120 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
start=$(date +%s.%N)
"$TOOLS/bsctl" attach /dev/ram0 head=64K total=$size flash $img chunk=256K pause=40 commit > /tmp/out ||
	{ cat /tmp/out; die "flash failed"; }
end=$(date +%s.%N)
wait $watcher || { cat /tmp/events; die "listener did not see a final state"; }
cat /tmp/events
id=$(sed -n 's/^attach: session_id=\([0-9]*\).*/\1/p' /tmp/out)
states=$(awk '$1 == "STATE" { sub("state=", "", $3); printf "%s ", $3 }' /tmp/events)
[ "$states" = "ATTACHED INVALIDATED WRITING FLUSHING SEALING SEALED " ] ||
	die "state events out of order: $states"
grep -v '^listening' /tmp/events | grep -vq " id=$id " && die "an event carries another session id"
grep '^STATE .*state=SEALED' /tmp/events |
	grep -q "expected=$size submitted=$size completed=$size pid=" || die "final counters not exact"
grep -q "^STATE .*dev_name=ram0 dev=256 dev_size=16777216 head_len=65536 " /tmp/events ||
	die "device identity missing from events"
nprog=$(grep -c '^PROGRESS' /tmp/events || true)
limit=$(echo "($end - $start) * 10 + 3" | bc | cut -d. -f1)
echo "progress events: $nprog in $(echo "$end - $start" | bc) s (limit $limit)"
[ "$nprog" -ge 1 ] || die "no progress events"
[ "$nprog" -le "$limit" ] || die "progress not rate-limited: $nprog events"

note "GET lists live sessions only"
"$TOOLS/nlwatch" dump > /tmp/dump0
[ ! -s /tmp/dump0 ] || { cat /tmp/dump0; die "closed session still listed"; }
"$TOOLS/bsctl" attach /dev/ram0 head=4K total=123 write 0 4K sleep 60000 > /tmp/live &
holder=$!
for i in $(seq 100); do grep -q '^write: OK' /tmp/live 2>/dev/null && break; sleep 0.1; done
id2=$(sed -n 's/^attach: session_id=\([0-9]*\).*/\1/p' /tmp/live)
"$TOOLS/nlwatch" dump > /tmp/dump1
cat /tmp/dump1
[ "$(wc -l < /tmp/dump1)" = 1 ] || die "dump should list exactly one session"
grep -q "^DUMP id=$id2 state=WRITING dev_name=ram0 .* expected=123 submitted=4096 " /tmp/dump1 ||
	die "dump content wrong"
"$TOOLS/nlwatch" get "$id2" | grep -q "^DUMP id=$id2 state=WRITING" || die "GET by id failed"
kill $holder; wait $holder || true
"$TOOLS/nlwatch" dump > /tmp/dump2
[ ! -s /tmp/dump2 ] || die "session listed after close"
unload_bootseal
rmmod brd
check_dmesg

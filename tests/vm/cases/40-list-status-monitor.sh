#!/bin/bash
# bootseal status / monitor around a live session (list's refusal reasons are
# in 41-list-refusals):
#  * without the module, status and monitor fail (exit 1) with "bootseal
#    module is not loaded"; bad options are usage errors (exit 2); every
#    command has --help with a Usage line;
#  * status (netlink GET dump) lists a session opened by another process
#    (plain and --json), --session ID gets one (GET by id) and shows the
#    kernel's extended-ACK text for a missing one, CAP_NET_ADMIN is named when
#    run as nobody, and "no live sessions" before and after;
#  * monitor --json streams that session's events, each line valid JSON, in
#    state order through SEALED with monotonic, exact final counters; plain
#    monitor prints the same as lines; both stop cleanly (exit 0) on SIGTERM.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"

W=/tmp/lsm
mkdir -p $W
step() { note "$* (at ${SECONDS}s)"; }
mon= mon2= fl=
cleanup() {
	set +e
	for p in $mon $mon2 $fl; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	grep -q '^bootseal ' /proc/modules && rmmod bootseal
	rmmod brd 2>/dev/null
	return 0
}
trap cleanup EXIT

# The --json outputs are checked at the end in one python3 run (slow to start
# under TCG); every line must be one JSON object.
cat > $W/check.py <<'PY'
import json, sys

def load(path):
    objs = []
    for n, line in enumerate(open(path), 1):
        o = json.loads(line)
        assert isinstance(o, dict), "%s:%d is not an object" % (path, n)
        objs.append(o)
    return objs

def check_status(path, sid):
    s = [o for o in load(path) if o["session"] == int(sid)]
    assert len(s) == 1, s
    s = s[0]
    assert s["type"] == "session" and s["event"] == "dump", s
    assert s["device"] == "ram0" and s["dev"] == "1:0", s
    assert s["state"] in ("attached", "invalidated", "writing", "flushing", "sealing"), s
    assert s["bytes_expected"] == 8 << 20 and s["head_len"] == 1 << 20, s
    assert s["dev_size"] == 16 << 20 and s["pid"] > 0, s

def check_monitor(path, sid):
    ev = [o for o in load(path) if o["session"] == int(sid)]
    assert all(o["type"] == "event" and o["device"] == "ram0" for o in ev), ev
    assert all(o["event"] in ("state", "progress") for o in ev), ev
    states = [o["state"] for o in ev if o["event"] == "state"]
    order = ["attached", "invalidated", "writing", "flushing", "sealing", "sealed"]
    assert states == [s for s in order if s in states], "state events out of order: %r" % states
    for s in ("invalidated", "writing", "sealed"):
        assert s in states, "no %s event: %r" % (s, states)
    assert ev[-1]["state"] == "sealed" and ev[-1]["event"] == "state", ev[-1]
    done = [o["bytes_completed"] for o in ev]
    assert done == sorted(done), "bytes_completed went backwards: %r" % done
    sub = [o["bytes_submitted"] for o in ev]
    assert sub == sorted(sub), "bytes_submitted went backwards: %r" % sub
    last = ev[-1]
    assert last["bytes_expected"] == last["bytes_submitted"] == last["bytes_completed"] == 8 << 20, last
    assert last["percent"] == 100.0 and "errno" not in last, last
    assert any(o["event"] == "progress" for o in ev), "no progress events"
    assert all(0 <= o["percent"] <= 100 for o in ev), ev
    times = [o["time"] for o in ev]
    assert times == sorted(times), "time went backwards"

check_status(sys.argv[1], sys.argv[3])
check_monitor(sys.argv[2], sys.argv[3])
check_status(sys.argv[4], sys.argv[3])
assert len(load(sys.argv[4])) == 1
print("JSON checks passed")
PY

step "without the module"
rmmod bootseal 2>/dev/null || true
rc=0; out=$("$BOOTSEAL" status 2>&1) || rc=$?
echo "$out"
[ $rc -eq 1 ] || die "status without the module: exit $rc, expected 1"
grep -q "^bootseal: Unable to query the sessions: bootseal module is not loaded" <<<"$out" ||
	die "status without the module: unclear error"
rc=0; out=$("$BOOTSEAL" monitor --json 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "bootseal module is not loaded" <<<"$out" ||
	die "monitor without the module: exit $rc: $out"
for args in "list --bogus" "status extra" "monitor --session 0"; do
	rc=0; $BOOTSEAL $args 2>/dev/null || rc=$?
	[ $rc -eq 2 ] || die "'$args': exit $rc, expected 2 (usage)"
done
for c in list status monitor; do
	"$BOOTSEAL" $c --help | grep -q "^Usage: bootseal $c" || die "$c --help has no Usage line"
done

step "status and monitor with a live session"
rmmod brd 2>/dev/null || true
modprobe brd rd_nr=1 rd_size=16384 max_part=0
load_bootseal
"$BOOTSEAL" status > $W/st0.txt
grep -qx 'no live sessions' $W/st0.txt || die "status with no session: $(cat $W/st0.txt)"
"$BOOTSEAL" status --json > $W/st0.json
[ ! -s $W/st0.json ] || die "status --json printed something with no session"
rc=0; out=$("$BOOTSEAL" status --session 999 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -qx "bootseal: Unable to query session 999: No such file or directory; kernel reports: no such session" <<<"$out" ||
	die "status --session 999: exit $rc: $out (the kernel's extended ACK text must be shown)"
rc=0; out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BOOTSEAL" status 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "CAP_NET_ADMIN" <<<"$out" || die "status as nobody: exit $rc: $out"

"$BOOTSEAL" monitor --json > $W/mon.json 2> $W/mon.err & mon=$!
"$BOOTSEAL" monitor > $W/mon.txt 2>&1 & mon2=$!
sleep 2	# both subscribed (TCG is slow)
kill -0 $mon || die "monitor --json exited early: $(cat $W/mon.err)"
head -c $((8 << 20)) /dev/urandom > $W/img
# Everything is submitted after a few seconds; the 20 s pause before COMMIT
# keeps the session live long enough for status even on a loaded TCG host.
"$TOOLS/bsctl" attach /dev/ram0 head=1M total=8M flash $W/img chunk=512K pause=300 \
	sleep 20000 commit status state=SEALED > $W/bsctl.out 2>&1 & fl=$!
okj= okp=
for i in $(seq 400); do
	if [ -z "$okj" ]; then
		"$BOOTSEAL" status --json > $W/st1.json
		grep -q '"device":"ram0"' $W/st1.json && okj=1
	fi
	if [ -z "$okp" ]; then
		"$BOOTSEAL" status > $W/st1.txt
		grep -qE '^session [0-9]+ ram0 ' $W/st1.txt && okp=1
	fi
	[ -n "$okj" ] && [ -n "$okp" ] && break
	kill -0 $fl 2>/dev/null || break
	sleep 0.05
done
cat $W/st1.txt $W/st1.json
[ -n "$okp" ] || die "status never showed the session on ram0"
[ -n "$okj" ] || die "status --json never showed the session on ram0"
sid=$(sed -n 's/^session \([0-9]*\) ram0 .*/\1/p' $W/st1.txt)
"$BOOTSEAL" status --json --session "$sid" > $W/st3.json || die "status --session $sid failed"
wait $fl || { cat $W/bsctl.out; die "bsctl flash failed"; }
fl=
cat $W/bsctl.out
[ "$sid" = "$(sed -n 's/^attach: session_id=\([0-9]*\) .*/\1/p' $W/bsctl.out)" ] ||
	die "status showed session $sid, bsctl attached another"
grep -qE "^session $sid ram0 [a-z]+( [0-9]+%)? [0-9.]+ [kMG]?B of 8\.4 MB \(pid [0-9]+\)$" $W/st1.txt ||
	die "status line for session $sid is not as expected"

sleep 1	# let the monitors drain the last events
kill -TERM $mon $mon2
rc=0; wait $mon || rc=$?
[ $rc -eq 0 ] || die "monitor --json exited $rc on SIGTERM: $(cat $W/mon.err)"
rc=0; wait $mon2 || rc=$?
mon= mon2=
[ $rc -eq 0 ] || die "monitor exited $rc on SIGTERM"
[ ! -s $W/mon.err ] || { cat $W/mon.err; die "monitor --json wrote diagnostics"; }
cat $W/mon.txt
grep -qx "session $sid ram0 attached 0% 0 B of 8.4 MB" $W/mon.txt ||
	die "plain monitor did not print the attached line"
grep -qx "session $sid ram0 sealed 100% 8.4 MB of 8.4 MB" $W/mon.txt ||
	die "plain monitor did not print the sealed line"
python3 $W/check.py $W/st1.json $W/mon.json "$sid" $W/st3.json || die "JSON output is not as expected"

"$BOOTSEAL" status > $W/st2.txt
grep -qx 'no live sessions' $W/st2.txt || die "session still listed after close: $(cat $W/st2.txt)"

unload_bootseal
rmmod brd
check_dmesg

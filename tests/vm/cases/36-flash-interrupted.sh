#!/bin/bash
# Interrupted flashes: SIGINT, SIGTERM and SIGHUP while writing abort every
# session, wait for it, say per target "interrupted: DEV has no partition
# table now; flash it again" and exit 128 + the signal (130, 143, 129); the
# device's head is zero. A second SIGINT while aborting says what it waits
# for. SIGTERM while verifying says the device is sealed but not verified.
# With stderr in a file, progress lines come every 5 seconds. While a drive
# is being flashed, list says so and a second flash of it names the session
# and the pid that holds it.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
nb=/sys/kernel/config/nullb/bsint
cleanup() {
	{ echo 0 > $nb/power; rmdir $nb; rmmod null_blk; rmmod bootseal; } 2>/dev/null || true
}
trap cleanup EXIT
# a slow device and a small in-flight budget: aborting takes a moment
load_bootseal max_inflight_mb=16
modprobe null_blk nr_devices=0
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
mkdir $nb && echo 96 > $nb/size && echo 1 > $nb/memory_backed && echo 8 > $nb/mbps && echo 1 > $nb/power ||
	die "null_blk set-up"
settle
dev=/dev/bsint; [ -b $dev ] || dev=/dev/nullb$(cat $nb/index)
[ -b $dev ] || die "no null_blk device"
img=/tmp/img
mkimg $img $((48 * 1024 * 1024))
printf 'label: dos\nstart=2048, size=8192, type=83\n' | sfdisk -q $img

# A background job of a script starts with SIGINT ignored (and bootseal
# leaves an ignored signal ignored): start it with the default disposition.
# (an array, not a function: $! must be bootseal's pid, not a subshell's)
bs_bg=(env --default-signal=INT,TERM,HUP "$BOOTSEAL")

# flash in the background; wait until the log shows @1, then send @2 (and @3)
interrupt() {
	local want=$1 sig=$2 again=${3:-} i
	"${bs_bg[@]}" flash --yes --allow-fixed --no-bmap "${extra[@]}" $img $dev >/tmp/out 2>/tmp/err &
	pid=$!
	for i in $(seq 600); do grep -q "$dev: $want" /tmp/err && break; sleep 0.1; done
	grep -q "$dev: $want" /tmp/err || { cat /tmp/err; die "never reached $want"; }
	sleep 1
	kill -$sig $pid
	if [ -n "$again" ]; then
		# the second signal once the first is being handled (two pending
		# SIGINTs would be one); the abort then still waits for up to 16 MiB
		# in flight at 8 MB/s
		for i in $(seq 200); do grep -q "aborting every session" /tmp/err && break; sleep 0.05; done
		kill -$again $pid 2>/dev/null || true
	fi
	rc=0; wait $pid || rc=$?
	cat /tmp/out /tmp/err
}

for s in INT:130 TERM:143 HUP:129; do
	note "SIG${s%:*} while writing: exit ${s#*:}, every session aborted, the device has no table"
	extra=(--no-verify)
	interrupt writing ${s%:*}
	[ $rc -eq ${s#*:} ] || die "SIG${s%:*}: exit $rc, not ${s#*:}"
	grep -q "interrupted by SIG${s%:*}: aborting every session" /tmp/err || die "SIG${s%:*}: not announced"
	grep -q "interrupted: $dev has no partition table now; flash it again" /tmp/err ||
		die "SIG${s%:*}: the target's state is not said"
	grep -q "^$dev *interrupted" /tmp/out || die "SIG${s%:*}: the summary does not say interrupted"
	cmp -s -n 512 /dev/zero $dev || die "SIG${s%:*}: the head of $dev is not zero"
	if sfdisk --dump $dev >/dev/null 2>&1; then die "SIG${s%:*}: $dev has a partition table"; fi
done

note "a second SIGINT while aborting says what it waits for"
extra=(--no-verify)
interrupt writing INT INT
[ $rc -eq 130 ] || die "double SIGINT: exit $rc, not 130"
grep -q "still stopping: waiting for the writes already in flight" /tmp/err || die "no word on the second SIGINT"
cmp -s -n 512 /dev/zero $dev || die "double SIGINT: the head of $dev is not zero"

note "SIGTERM while verifying: sealed, not verified, exit 143"
extra=()
interrupt verifying TERM
[ $rc -eq 143 ] || die "SIGTERM while verifying: exit $rc, not 143"
grep -q "interrupted: $dev is written and sealed, but was not verified" /tmp/err ||
	die "SIGTERM while verifying: the target's state is not said"
sfdisk --dump $dev >/dev/null 2>&1 || die "SIGTERM while verifying: the sealed table is gone"
# no terminal: steady progress lines with time of day, percent, rate and ETA
grep -Eq "^[0-9]{2}:[0-9]{2}:[0-9]{2} $dev: writing [0-9]+% .* of .*, [0-9.]+ MB/s, ETA [0-9]+:[0-9]{2}" /tmp/err ||
	die "no progress line while writing to a file"

note "a drive being flashed: list says so, a second flash names the session and its pid"
"${bs_bg[@]}" flash --yes --allow-fixed --no-bmap --no-verify $img $dev >/tmp/out 2>/tmp/err &
pid=$!
for i in $(seq 600); do grep -q "$dev: writing" /tmp/err && break; sleep 0.1; done
"$BOOTSEAL" list --all > /tmp/list || die "list failed while flashing"
cat /tmp/list
grep -q "^$dev .*being flashed (bootseal session [0-9]*, writing, pid $pid)" /tmp/list ||
	die "list does not show $dev as being flashed"
"$BOOTSEAL" list --all --json | grep "\"device\":\"$dev\"" | grep -q '"usable":false,"reason":".*being flashed' ||
	die "list --json does not show $dev as being flashed"
rc=0; "$BOOTSEAL" flash --yes --allow-fixed --no-bmap $img $dev >/tmp/out2 2>/tmp/err2 || rc=$?
cat /tmp/out2 /tmp/err2
[ $rc -eq 4 ] || die "second flash of a busy drive: exit $rc, not 4"
grep -q "it is busy: another bootseal flash is writing it: session [0-9]*, started by pid $pid (bootseal)" /tmp/err2 ||
	die "the busy message does not name the other session and its pid"
kill -INT $pid
wait $pid || true

note "--json: the summary says interrupted"
"${bs_bg[@]}" flash --yes --allow-fixed --no-bmap --json $img $dev >/tmp/out 2>/tmp/err &
pid=$!
for i in $(seq 600); do grep -q '"phase":"writing"' /tmp/out && break; sleep 0.1; done
sleep 1
kill -INT $pid
rc=0; wait $pid || rc=$?
grep '"type":"summary"' /tmp/out
[ $rc -eq 130 ] || die "--json SIGINT: exit $rc, not 130"
grep '"type":"summary"' /tmp/out | grep -q '"result":"interrupted","exit":130' ||
	die "--json: the summary does not say interrupted"

echo 0 > $nb/power; rmdir $nb; rmmod null_blk
unload_bootseal
check_dmesg

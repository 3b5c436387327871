#!/bin/bash
# Concurrency on the module's entry points (no WARN, lockdep splat, hang or
# leak may result; the harness fails the case on any):
#  1. one session, several processes issuing ioctls on the same open file
#     description at once: a writer, STATUS pollers, and a process sending
#     invalid WRITEs and unknown ioctls; the flash still SEALs byte-exact;
#  2. COMMIT racing ABORT on one session, repeatedly: exactly one wins; SEALED
#     means the image is on the device, ABORTED means the head is zero;
#  3. netlink GET dumps in a loop while sessions on four disks are started,
#     sealed, aborted and closed: every dump succeeds and is valid JSON.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; exec 7>&- 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=4 rd_size=16384 max_part=0
settle
img=/tmp/img
head -c $((6 * 1024 * 1024 + 1234)) /dev/urandom > $img
printf 'label: dos\nstart=2048, size=4096, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
padded=$(( (size + 511) / 512 * 512 ))
B=$TOOLS/bsctl

note "1. concurrent ioctls on one file description"
exec 7<>/dev/bootseal
$B --fd 7 attach /dev/ram0 head=1M total=$padded > /tmp/attach || { cat /tmp/attach; die "attach"; }
$B --fd 7 flash $img chunk=64K pause=2 > /tmp/writer 2>&1 &
writer=$!
pollers=()
for i in 1 2 3; do
	( for n in $(seq 25); do $B --fd 7 status > /dev/null || exit 1; done ) &
	pollers+=($!)
done
( for n in $(seq 30); do
	$B --fd 7 write 0 4K flags=0x80 expect=EINVAL write 513 512 expect=EINVAL ioctl 0xb5ff expect=ENOTTY \
		> /dev/null || exit 1
  done ) &
bad=$!
wait $writer || { cat /tmp/writer; die "the writer failed while other ioctls ran on its file description"; }
for p in "${pollers[@]}"; do wait "$p" || die "a STATUS poller failed"; done
wait $bad || die "invalid ioctls were not refused as expected while a flash ran"
$B --fd 7 commit status state=SEALED > /tmp/commit || { cat /tmp/commit; die "commit after concurrent ioctls"; }
exec 7>&-
cmp -n "$size" $img /dev/ram0 || die "device differs from the image after concurrent ioctls"

note "2. COMMIT racing ABORT"
sealed=0 aborted=0
for round in $(seq 6); do
	dd if=/dev/zero of=/dev/ram1 bs=1M count=16 oflag=direct status=none
	exec 7<>/dev/bootseal
	$B --fd 7 attach /dev/ram1 head=1M total=$padded flash $img chunk=1M > /tmp/r || { cat /tmp/r; die "round $round: flash"; }
	$B --fd 7 commit > /tmp/c 2>&1 &
	c=$!
	$B --fd 7 abort > /tmp/a 2>&1 &
	a=$!
	wait $c && crc=0 || crc=$?
	wait $a && arc=0 || arc=$?
	$B --fd 7 status > /tmp/s || { cat /tmp/s; die "round $round: status"; }
	exec 7>&-
	if grep -q 'state=SEALED' /tmp/s; then
		sealed=$((sealed + 1))
		[ $crc -eq 0 ] || { cat /tmp/c; die "round $round: SEALED but COMMIT failed"; }
		cmp -n "$size" $img /dev/ram1 || die "round $round: SEALED but the device differs"
	elif grep -q 'state=ABORTED' /tmp/s; then
		aborted=$((aborted + 1))
		[ $arc -eq 0 ] || { cat /tmp/a; die "round $round: ABORTED but ABORT failed"; }
		head -c 1048576 /dev/ram1 | tr -d '\0' | wc -c | grep -qx 0 || die "round $round: ABORTED with a non-zero head"
	else
		cat /tmp/s /tmp/c /tmp/a; die "round $round: neither SEALED nor ABORTED"
	fi
done
note "commit won $sealed times, abort $aborted times"

note "3. GET dumps while sessions come and go"
# Each disk runs sessions in a loop of its own until the dumps are done:
# ram0 and ram1 come and go quickly (creation and teardown race the dumps),
# ram2 and ram3 live longer (so that dumps walk a list that is not empty).
# The dumps go on past 25 until they have seen 10 live sessions, because
# on a debug kernel a dump can take as long as a session.
rm -f /tmp/dumps.done
: > /tmp/seen
session_loop() {
	local d=$1 pause=$2 round=0
	while [ ! -e /tmp/dumps.done ]; do
		round=$((round + 1))
		f="flash $img chunk=256K pause=$pause"
		case $(( (round + d) % 3 )) in
		0) $B attach /dev/ram$d head=1M total=$padded $f commit status state=SEALED ;;
		1) $B attach /dev/ram$d head=1M total=$padded $f abort status state=ABORTED ;;
		2) $B attach /dev/ram$d head=1M total=$padded $f stop-after=2M close ;;
		esac > /tmp/sess.$d 2>&1 || { echo "ram$d, session $round:"; cat /tmp/sess.$d; return 1; }
	done
	echo $round > /tmp/rounds.$d
}
loops=()
for d in 0 1 2 3; do
	session_loop $d $([ $d -lt 2 ] && echo 10 || echo 100) > /tmp/loop.$d 2>&1 &
	loops+=($!)
done
n=0
while [ $n -lt 25 ] || [ "$(wc -l < /tmp/seen)" -lt 10 ]; do
	[ $n -lt 300 ] || break
	n=$((n + 1))
	"$BOOTSEAL" status --json > /tmp/dump 2>&1 || { cat /tmp/dump; die "GET dump $n failed while sessions came and went"; }
	while read -r line; do
		[ -n "$line" ] || continue
		jq -e . <<<"$line" > /dev/null || die "GET dump $n: not JSON: $line"
		echo "$line" >> /tmp/seen
	done < /tmp/dump
done
touch /tmp/dumps.done
for d in 0 1 2 3; do
	wait "${loops[$d]}" || { cat /tmp/loop.$d; die "a session on ram$d failed while dumps ran"; }
done
note "sessions per disk: $(cat /tmp/rounds.0) $(cat /tmp/rounds.1) $(cat /tmp/rounds.2) $(cat /tmp/rounds.3)"
[ "$(wc -l < /tmp/seen)" -ge 10 ] || die "$n dumps saw $(wc -l < /tmp/seen) live sessions: too few to prove anything"
note "$(wc -l < /tmp/seen) sessions seen in $n dumps"
rmmod brd
unload_bootseal
check_dmesg

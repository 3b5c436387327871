#!/bin/bash
# Abort: closing the fd without COMMIT, SIGKILL of the writer while bios are
# in flight (throttled null_blk), and the ABORT ioctl each leave the head
# zeroed (no partition table visible), end in ABORTED on netlink, and leave
# no reference behind: the module unloads afterwards.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
nb=/sys/kernel/config/nullb/abortdisk
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; echo 0 > $nb/power 2>/dev/null; rmdir $nb 2>/dev/null; rmmod bootseal 2>/dev/null; exit $rc' EXIT
nullb_on size=16 memory_backed=1 mbps=8

img=/tmp/img
head -c $((8 * 1024 * 1024)) /dev/urandom > $img
printf 'label: dos\nstart=2048, size=8000, type=83\n' | sfdisk -q $img
head_is_zero() { [ "$(dd if=$dev bs=1M count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ]; }
old_table() { dd if=$img of=$dev bs=1M count=1 oflag=direct status=none; ! head_is_zero; }

"$TOOLS/nlwatch" listen --finals 3 --timeout 200 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done

note "close without COMMIT"
old_table || die "set-up"
"$TOOLS/bsctl" attach $dev head=1M flash $img chunk=512K stop-after=3M || die "flash"
head_is_zero || die "head not zero after close"
cmp -i 1048576 -n 2097152 $img $dev || die "data written before the close is missing"
sfdisk -d $dev 2>/dev/null | grep -q start= && die "a partition table is visible"

# killed_writer WHAT ARGS...: a writer (bsctl with ARGS) SIGKILLed after 6 MiB
# of bios in flight dies of it and leaves the head zero.
killed_writer() {
	local what=$1 rc; shift
	old_table || die "set-up"
	set +e
	"$TOOLS/bsctl" attach $dev head=1M flash $img chunk=1M kill-after=6M "$@" > /tmp/kill
	rc=$?
	set -e
	cat /tmp/kill
	[ $rc = 137 ] || die "$what was not killed (rc $rc)"
	head_is_zero || die "head not zero after SIGKILL of a $what"
}
note "SIGKILL with bios in flight"
killed_writer writer

note "SIGKILL with zero-copy bios in flight (pinned pages of the dead process)"
killed_writer "pinning writer" pin=1

note "ABORT ioctl"
old_table || die "set-up"
"$TOOLS/bsctl" attach $dev head=1M flash $img chunk=1M stop-after=2M abort status state=ABORTED ||
	die "abort"
head_is_zero || die "head not zero after ABORT"

wait $watcher || { cat /tmp/events; die "listener did not see three final states"; }
cat /tmp/events
[ "$(grep -c '^STATE .*state=ABORTED' /tmp/events)" = 3 ] || die "expected three ABORTED events"
grep -q 'state=SEALED\|state=FAILED' /tmp/events && die "unexpected final state"
unload_bootseal
echo 0 > $nb/power; rmdir $nb
check_dmesg

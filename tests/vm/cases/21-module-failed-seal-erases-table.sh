#!/bin/bash
# A seal that fails once the head is on its way must not leave a partition
# table on the medium.
#  1. A disk that acknowledges writes and loses them (dm-flakey drop_writes
#     on sectors [1000, 1008) inside the 1 MiB head) of a device-sized GPT
#     image: the head read-back differs at sector 1000, COMMIT fails EIO,
#     the module rewrites the head and the last MiB (the image's backup GPT
#     went there as data) with zeros and reads them back: the session is
#     FAILED with cleanup=ran,head,tail, STATUS and netlink agree, LBA 0,
#     LBA 1 and the last MiB are zero, sfdisk finds no table, the kernel log
#     says so. The helper reports the same failure and that the table was
#     erased again (exit 5).
#  2. A head write that fails where the erase must write too (the table is
#     switched to dm-error on sector 0 after the data was written): the erase
#     cannot clear LBA 0, so the session ends UNCLEAN (not FAILED) with the
#     erase's errno and sector, the tail is erased, and a kernel log line
#     names the device.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe brd rd_nr=1 rd_size=16384 max_part=0
modprobe dm-flakey 2>/dev/null || true
trap 'rc=$?; set +e; exec 3>&-; for j in $(jobs -p); do kill $j; done; wait; dmsetup remove lossy 2>/dev/null; dmsetup remove bad 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
B="$TOOLS/bsctl"
sectors=32768	# 16 MiB

img=/tmp/img
head -c $((16 * 1024 * 1024)) /dev/urandom > $img
printf 'label: gpt\nstart=2048, size=20000, type=L\nstart=22528, size=8192, type=L\n' |
	sfdisk -q $img
sfdisk -d $img | grep -q '^/tmp/img2 ' || die "test image has no table"

no_table() {	# DEV: no partition table visible, LBA 0/1 and the last MiB zero
	local dev=$1
	if sfdisk -d "$dev" 2>/dev/null | grep -q 'start='; then
		sfdisk -d "$dev"; die "$dev shows a partition table after a failed seal"
	fi
	[ "$(dd if="$dev" bs=512 count=2 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
		die "LBA 0/1 of $dev are not zero"
	[ "$(dd if="$dev" bs=1M skip=15 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
		die "the last MiB of $dev is not zero (backup GPT)"
}

# watch_final: nlwatch in the background (watcher), listening for the
# session's final event, into /tmp/events.
watch_final() {
	"$TOOLS/nlwatch" listen --finals 1 --timeout 300 > /tmp/events &
	watcher=$!
	for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
}

# seal_failure_reported STATE ERRNO SECTOR CLEANUP BITS CLEANUP_ERRNO
# CLEANUP_SECTOR: the final event came; STATUS (in /tmp/out) and the last
# netlink STATE event both report the failed seal (STATE, ERRNO at SECTOR)
# and the erase after it (CLEANUP is STATUS's list, BITS the event's mask,
# CLEANUP_ERRNO at CLEANUP_SECTOR).
seal_failure_reported() {
	cat /tmp/out
	wait $watcher || die "no final event"
	cat /tmp/events
	grep -q "^status: session_id=.* state=$1 error=$2 error_sector=$3 " /tmp/out ||
		die "STATUS does not report state $1, errno $2 at sector $3"
	grep -q "^status: cleanup=$4 error=$6 sector=$7\$" /tmp/out ||
		die "STATUS does not report the erase: cleanup=$4 error=$6 sector=$7"
	grep '^STATE ' /tmp/events | tail -1 |
		grep -q "state=$1 .* errno=$2 sector=$3 cleanup=$5 cleanup_errno=$6 cleanup_sector=$7\$" ||
		die "the netlink $1 event does not carry errno $2 at sector $3 and the erase"
}

note "1. writes to sectors [1000, 1008) are acknowledged and dropped"
dmsetup create lossy <<TABLE
0 1000 linear /dev/ram0 0
1000 8 flakey /dev/ram0 1000 0 1 1 drop_writes
1008 $((sectors - 1008)) linear /dev/ram0 1008
TABLE
settle
watch_final
"$B" attach /dev/mapper/lossy head=1M flash $img chunk=1M commit expect=EIO \
	status state=FAILED > /tmp/out || { cat /tmp/out; die "a lost head write was not FAILED"; }
seal_failure_reported FAILED 5 1000 ran,head,tail 7 0 -1
no_table /dev/mapper/lossy
grep -q 'state=SEALED' /tmp/events && die "SEALED after a lost head write"
dmesg | grep -q 'bootseal: dm-[0-9]*: seal failed (errno 5, sector 1000); head and tail rewritten with zeros' ||
	{ dmesg | tail; die "no kernel log line for the erased seal"; }

note "1b. the helper reports the erase"
rc=0
"$BOOTSEAL" flash --yes --allow-fixed --head 1M $img /dev/mapper/lossy > /tmp/hout 2> /tmp/herr || rc=$?
cat /tmp/hout /tmp/herr
[ $rc = 5 ] || die "helper exit $rc, expected 5 (seal)"
grep -q 'partition table it had written was erased again' /tmp/herr ||
	die "helper does not say that the table was erased"
no_table /dev/mapper/lossy
dmsetup remove lossy

note "2. LBA 0 fails for the head write and for the erase"
dmsetup create bad <<TABLE
0 $sectors linear /dev/ram0 0
TABLE
settle
exec 3<>/dev/bootseal
"$B" --fd 3 attach /dev/mapper/bad head=1M flash $img chunk=1M > /tmp/out ||
	{ cat /tmp/out; die "flash onto a good device failed"; }
dmsetup reload bad <<TABLE
0 1 error
1 $((sectors - 1)) linear /dev/ram0 1
TABLE
dmsetup resume bad
watch_final
"$B" --fd 3 commit expect=EIO status state=UNCLEAN >> /tmp/out ||
	{ cat /tmp/out; die "an erase that failed did not end UNCLEAN"; }
exec 3>&-
seal_failure_reported UNCLEAN 5 0 ran,tail 5 5 0
dmesg | grep -q 'bootseal: dm-[0-9]*: seal failed (errno 5, sector 0) and erasing its partition table failed too (errno 5, sector 0; head NOT erased, tail erased)' ||
	{ dmesg | tail; die "no kernel log line for the failed erase"; }
[ "$(dd if=/dev/ram0 bs=1M skip=15 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
	die "the last MiB is not zero after the erase"
dmsetup remove bad

unload_bootseal
rmmod brd
check_dmesg

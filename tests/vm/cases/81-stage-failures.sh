#!/bin/bash
# bootseal run when the imaging script does not succeed: it exits 1 after
# building the whole card; it is killed with SIGKILL halfway (its FAT still
# mounted); bootseal itself gets SIGTERM (passed on to the script); the disk
# fails under the script (dm-error swapped in after the FAT was written),
# once with a script that stops at the error and once with one that ignores
# it and exits 0 (the seal must then fail). Every time: bootseal run exits
# with the script's status (128 + signal, or 1 for the failed seal) and says
# the disk is unflashed, the disk has no partition table (head and last MiB
# zero), the staged device, the partition mappings, their nodes and mounts
# are gone, and the module unloads at the end.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe brd rd_nr=1 rd_size=65536 max_part=8
trap 'rc=$?; set +e; [ -f /tmp/card.sleep ] && kill $(cat /tmp/card.sleep) 2>/dev/null; umount /tmp/card-mnt 2>/dev/null; for d in $(dmsetup ls | awk "/^bootseal-/ {print \$1}" | sort -r); do dmsetup remove $d; done; dmsetup remove flaky 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
disk=/dev/ram0
export CARD_FILES=/tmp/card-files
mkdir -p $CARD_FILES
head -c 2000000 /dev/urandom > $CARD_FILES/kernel.img
echo "root=LABEL=root" > $CARD_FILES/cmdline.txt

# An old card on the disk: a table and a FAT the kernel sees as ram0p1.
old_card() {
	dd if=/dev/zero of=$1 bs=1M count=64 oflag=direct status=none 2>/dev/null || true
	printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q $1 2>/dev/null ||
		printf 'label: dos\nstart=2048, size=8192, type=c\n' | sfdisk -q --no-reread --no-tell-kernel $1
}

# unflashed DISK: no table, head (1 MiB) and last MiB zero, nothing left over
unflashed() {
	local d=$1 size
	size=$(blockdev --getsize64 $d)
	[ "$(dd if=$d bs=1M count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
		die "the head of $d is not zero"
	[ "$(dd if=$d bs=1M skip=$((size / 1048576 - 1)) count=1 iflag=direct status=none |
		tr -d '\0' | wc -c)" = 0 ] || die "the last MiB of $d is not zero"
	if sfdisk -d $d > /dev/null 2>&1; then die "$d has a partition table"; fi
	dmsetup ls | grep -q bootseal && die "device-mapper devices left: $(dmsetup ls)"
	ls /dev/mapper | grep -q bootseal && die "nodes left: $(ls /dev/mapper)"
	grep -q card-mnt /proc/mounts && die "the script's mount is left"
	return 0
}

# run_card MODE WANT_RC [DISK]: bootseal run make-card.sh dos MODE
run_card() {
	local mode=$1 want=$2 d=${3:-$disk} rc=0
	"$BOOTSEAL" run --yes --allow-fixed $d -- "$BOOTSEAL_SRC/tests/vm/make-card.sh" dos $mode \
		> /tmp/out 2>&1 || rc=$?
	cat /tmp/out
	[ $rc = $want ] || die "$mode: bootseal run exited $rc, want $want"
	grep -q "UNFLASHED" /tmp/out || die "$mode: the disk is not reported unflashed"
}

note "the script exits 1 after building the whole card"
old_card $disk
run_card fail 1
grep -q "exited with status 1" /tmp/out || die "the script's status is not reported"
unflashed $disk
[ ! -e /sys/block/ram0/ram0p1 ] || die "the kernel still shows the old partition after the re-read"

# run_hanging: `bootseal run` in the background (runner) on an old card, with
# a script that stops halfway (its pid in /tmp/card.pid, its FAT mounted).
run_hanging() {
	old_card $disk
	rm -f /tmp/card.pid /tmp/card.sleep
	"$BOOTSEAL" run --yes --allow-fixed $disk -- "$BOOTSEAL_SRC/tests/vm/make-card.sh" dos hang \
		> /tmp/out 2>&1 &
	runner=$!
	for i in $(seq 600); do [ -s /tmp/card.pid ] && break; sleep 0.1; done
	[ -s /tmp/card.pid ] || { cat /tmp/out; die "the script did not get halfway"; }
}

note "the script is killed with SIGKILL halfway, its FAT mounted"
run_hanging
grep -q card-mnt /proc/mounts || die "the FAT is not mounted halfway"
kill -KILL "$(cat /tmp/card.pid)"
rc=0; wait $runner || rc=$?
kill "$(cat /tmp/card.sleep)" 2>/dev/null || true
cat /tmp/out
[ $rc = 137 ] || die "SIGKILL: bootseal run exited $rc, want 137"
grep -q "killed by signal 9" /tmp/out || die "the kill is not reported"
grep -q "UNFLASHED" /tmp/out || die "SIGKILL: the disk is not reported unflashed"
unflashed $disk

note "bootseal run gets SIGTERM: passed on to the script, then unflashed"
run_hanging
kill -TERM $runner
rc=0; wait $runner || rc=$?
kill "$(cat /tmp/card.sleep)" 2>/dev/null || true
cat /tmp/out
[ $rc = 143 ] || die "SIGTERM: bootseal run exited $rc, want 143"
kill -0 "$(cat /tmp/card.pid)" 2>/dev/null && die "the script outlived bootseal run"
unflashed $disk

note "the disk fails under the script (dm-error); the script stops at the error"
dmsetup create flaky --table "0 $(blockdev --getsz $disk) linear $disk 0"
settle
old_card /dev/mapper/flaky
export CARD_BAD_DM=flaky CARD_BAD_RANGE="100000 2048"
rc=0
"$BOOTSEAL" run --yes --allow-fixed /dev/mapper/flaky -- \
	"$BOOTSEAL_SRC/tests/vm/make-card.sh" dos baddisk > /tmp/out 2>&1 || rc=$?
cat /tmp/out
[ $rc != 0 ] || die "baddisk: bootseal run succeeded"
grep -q "UNFLASHED" /tmp/out || die "baddisk: the disk is not reported unflashed"
dmsetup load flaky --table "0 $(blockdev --getsz $disk) linear $disk 0"; dmsetup resume flaky
unflashed /dev/mapper/flaky

note "the disk fails under a script that ignores errors and exits 0: the seal fails"
old_card /dev/mapper/flaky
rc=0
"$BOOTSEAL" run --yes --allow-fixed /dev/mapper/flaky -- \
	"$BOOTSEAL_SRC/tests/vm/make-card.sh" dos baddisk0 > /tmp/out 2>&1 || rc=$?
cat /tmp/out
[ $rc = 1 ] || die "baddisk0: bootseal run exited $rc, want 1 (seal failed)"
grep -q "Unable to seal" /tmp/out || die "baddisk0: the failed seal is not reported"
grep -q "Input/output error" /tmp/out || die "baddisk0: the errno is not reported"
grep -q "UNFLASHED" /tmp/out || die "baddisk0: the disk is not reported unflashed"
dmsetup load flaky --table "0 $(blockdev --getsz $disk) linear $disk 0"; dmsetup resume flaky
unflashed /dev/mapper/flaky
dmsetup remove flaky

unload_bootseal
rmmod brd
check_dmesg

#!/bin/bash
# The device-mapper target "bootseal" driven with dmsetup alone: bad table
# lines and messages are refused with a reason in the kernel log; a staged
# disk keeps its head and tail zero while any writer (dd here) writes
# through the staged device, which reads back what was written; "seal"
# makes the disk byte-exact; removal without a seal leaves head and tail
# zero; two disks staged at once; the disk cannot be claimed while staged;
# a seal is refused while the staged device is open;
# a write error fails the stage with no table; a lost head write is erased;
# dm-log-writes proves the order (logcheck -s); netlink names the stage.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe dm-log-writes
modprobe dm-flakey 2>/dev/null || true
modprobe brd rd_nr=3 rd_size=65536 max_part=4
nb=/sys/kernel/config/nullb/stlw
cleanup() {
	for d in st0 st1 st2 lin lw bad lossy; do dmsetup remove $d 2>/dev/null || true; done
	[ -d $nb ] && { echo 0 > $nb/power; rmdir $nb; }
	rmmod bootseal brd 2>/dev/null
}
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; cleanup; exit $rc' EXIT
sectors=$(blockdev --getsz /dev/ram0)
H=2048	# head: 1 MiB

img=/tmp/img
head -c $((64 * 1024 * 1024)) /dev/urandom > $img
printf 'label: gpt\nstart=2048, size=60000, type=L\nstart=63488, size=8192, type=L\n' |
	sfdisk -q $img
sfdisk -d $img | grep -q '^/tmp/img2 ' || die "test image has no table"

zero() {	# DEV OFFSET_MIB COUNT_MIB: that range of DEV (read direct) is zero
	[ "$(dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ]
}
no_table() {	# DEV: head (1 MiB) and last MiB zero, sfdisk sees nothing
	if sfdisk -d "$1" 2>/dev/null | grep -q 'start='; then
		sfdisk -d "$1"; die "$1 shows a partition table"
	fi
	zero "$1" 0 1 || die "the head of $1 is not zero"
	zero "$1" 63 1 || die "the tail of $1 is not zero"
}
status_state() { dmsetup status "$1" | awk '{ print $4 }'; }
wait_closed() {	# NAME: nobody has the staged device open (a seal needs that)
	local i
	for i in $(seq 100); do
		[ "$(dmsetup info -c --noheadings -o open "$1" | tr -d ' ')" = 0 ] && return 0
		sleep 0.1
	done
	fuser -v "/dev/mapper/$1" 2>&1 || true
	die "$1 stays open: $(dmsetup info -c --noheadings -o open "$1") openers"
}
refused() {	# WHY TABLE: dmsetup create must fail and the kernel log say WHY
	dmesg -C
	if dmsetup create bad --table "$2" 2>/tmp/err; then
		dmsetup remove bad; die "table accepted: $2"
	fi
	dmesg | grep -q "bootseal: $1" || { dmesg | tail -n 5; die "no '$1' in the kernel log for: $2"; }
	dmsetup remove bad 2>/dev/null || true
}

note "bad table lines"
refused "expected two arguments" "0 $sectors bootseal /dev/ram0"
refused "expected two arguments" "0 $sectors bootseal /dev/ram0 $H extra"
refused "head sectors: not a positive number" "0 $sectors bootseal /dev/ram0 12x"
refused "head sectors: not a positive number" "0 $sectors bootseal /dev/ram0 0"
refused "head sectors: not a positive number" "0 $sectors bootseal /dev/ram0 -8"
refused "the target's length must be" "0 $((sectors - 8)) bootseal /dev/ram0 $H"
refused "the head is larger than the module's max_head_len" "0 $sectors bootseal /dev/ram0 16384"
refused "cannot open the disk" "0 $sectors bootseal /dev/nosuchdisk $H"
printf 'label: dos\nstart=2048, size=4096\n' | sfdisk -q /dev/ram2
blockdev --rereadpt /dev/ram2; settle
[ -b /dev/ram2p1 ] || die "no /dev/ram2p1"
refused "not a whole disk" "0 $(blockdev --getsz /dev/ram2p1) bootseal /dev/ram2p1 8"
dmesg -C
if dmsetup create --readonly bad --table "0 $sectors bootseal /dev/ram0 $H" 2>/dev/null; then
	die "a read-only table was accepted"
fi
dmesg | grep -q "a staged disk needs a writable table" || die "read-only table: no reason logged"
dmsetup create lin --table "0 $sectors linear /dev/ram1 0"
refused "the disk is held by another device-mapper device" "0 $sectors bootseal /dev/ram1 $H"
dmsetup remove lin
if printf '0 %s bootseal /dev/ram0 %s\n%s 8 zero\n' $sectors $H $sectors | dmsetup create bad 2>/dev/null; then
	die "a table with a second target was accepted"
fi
dmsetup remove bad 2>/dev/null || true

note "stage, write with dd, held regions, claim refused"
"$TOOLS/nlwatch" listen --finals 3 --timeout 1200 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
dd if=/dev/urandom of=/dev/ram0 bs=1M count=64 status=none	# an old card
dmsetup create st0 --table "0 $sectors bootseal /dev/ram0 $H"
settle
[ -b /dev/mapper/st0 ] || die "no /dev/mapper/st0"
[ "$(status_state st0)" = staged ] || die "state after create: $(dmsetup status st0)"
zero /dev/ram0 0 1 || die "creating the stage did not zero the head"
zero /dev/ram0 63 1 || die "creating the stage did not zero the tail"
zero /dev/mapper/st0 0 1 || die "the staged device's head does not read as zero"
dmsetup table st0 | grep -q "bootseal $(cat /sys/block/ram0/dev) $H\$" || die "table: $(dmsetup table st0)"
dd if=$img of=/dev/mapper/st0 bs=1M oflag=direct status=none
[ "$(status_state st0)" = writing ] || die "state after writing: $(dmsetup status st0)"
cmp $img /dev/mapper/st0 || die "the staged device does not read back what was written"
sfdisk -d /dev/mapper/st0 | grep -q 'start=' || die "sfdisk does not see the staged table"
no_table /dev/ram0
cmp -i 1M:1M -n $((62 * 1024 * 1024)) $img /dev/ram0 || die "the data region did not reach the disk"
expect_fail mkfs.ext4 -q -F /dev/ram0 2>/dev/null
"$TOOLS/bsctl" attach /dev/ram0 head=1M expect=EBUSY || die "a session could claim the staged disk"
expect_fail rmmod bootseal 2>/dev/null

note "messages"
expect_fail dmsetup message st0 0 hello 2>/dev/null
expect_fail dmsetup message st0 0 seal now 2>/dev/null
[ "$(status_state st0)" = writing ] || die "a bad message changed the state"
exec 5</dev/mapper/st0	# an opener could hold writes above the target
dmesg -C
expect_fail dmsetup message st0 0 seal 2>/dev/null
exec 5<&-
dmesg | grep -q "st0: not sealed: the staged device is open" || die "a seal of an open stage was not refused"
[ "$(status_state st0)" = writing ] || die "a refused seal changed the state"
wait_closed st0
dmsetup message st0 0 seal
[ "$(status_state st0)" = sealed ] || die "state after seal: $(dmsetup status st0)"
cmp $img /dev/ram0 || die "the sealed disk is not byte-exact"
wait_closed st0
expect_fail dmsetup message st0 0 seal 2>/dev/null
dd if=/dev/zero of=/dev/mapper/st0 bs=512 count=1 seek=100 oflag=direct status=none
zero /dev/ram0 0 1 && die "after the seal the head did not pass through"
[ "$(dd if=/dev/ram0 bs=512 skip=100 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
	die "a write after the seal did not reach the disk"
dmsetup remove st0

note "removal without seal; two stages at once"
dd if=$img of=/dev/ram1 bs=1M status=none	# a card with a table
dmsetup create st0 --table "0 $sectors bootseal /dev/ram0 $H"
dmsetup create st1 --table "0 $sectors bootseal /dev/ram1 $H"
refused "the disk is staged already\|held by another device-mapper device" "0 $sectors bootseal /dev/ram0 $H"
settle
dd if=$img of=/dev/mapper/st0 bs=4M oflag=direct status=none &
dd if=$img of=/dev/mapper/st1 bs=4M oflag=direct status=none
wait %%
wait_closed st1
dmsetup message st1 0 seal
dmsetup remove st0
dmsetup remove st1
wait $watcher || die "no final events"
cat /tmp/events
no_table /dev/ram0
cmp $img /dev/ram1 || die "the second staged disk is not byte-exact"
grep -q '^STATE id=.* state=ABORTED dev_name=ram0 .* staged=st0$' /tmp/events ||
	die "no ABORTED event naming the stage st0"
grep -q '^STATE id=.* state=SEALED dev_name=ram1 .* staged=st1$' /tmp/events ||
	die "no SEALED event naming the stage st1"
grep -q '^STATE id=.* state=WRITING .* staged=st1$' /tmp/events || die "no WRITING event"
dmesg | grep -q "ram0: staged device st0 removed without a seal" || die "no log line for the abort"

note "a write error fails the stage: no table"
dmsetup create bad <<TABLE
0 40000 linear /dev/ram2 0
40000 8 error
40008 $((sectors - 40008)) linear /dev/ram2 40008
TABLE
dd if=$img of=/dev/ram2 bs=1M oflag=direct status=none	# under "bad": no page cache of ram2 may be written back later
dmsetup create st2 --table "0 $sectors bootseal /dev/mapper/bad $H"
expect_fail dd if=$img of=/dev/mapper/st2 bs=1M oflag=direct status=none 2>/dev/null
read -r _ _ _ state _ _ _ err sector _ <<<"$(dmsetup status st2)"
# the sector is the first of the failed request, which holds sector 40000
[ "$state $err" = "failed 5" ] && [ "$sector" -le 40000 ] && [ "$sector" -gt $((40000 - 2048)) ] ||
	die "after a write error: $(dmsetup status st2)"
expect_fail dd if=/dev/mapper/st2 of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null
wait_closed st2
expect_fail dmsetup message st2 0 seal 2>/dev/null
dmsetup remove st2
no_table /dev/mapper/bad
dmsetup remove bad

note "a lost head write is erased"
dd if=/dev/zero of=/dev/ram2 bs=1M count=1 oflag=direct status=none
dmsetup create lossy <<TABLE
0 1000 linear /dev/ram2 0
1000 8 flakey /dev/ram2 1000 0 1 1 drop_writes
1008 $((sectors - 1008)) linear /dev/ram2 1008
TABLE
dmsetup create st2 --table "0 $sectors bootseal /dev/mapper/lossy $H"
dd if=$img of=/dev/mapper/st2 bs=1M oflag=direct status=none
wait_closed st2
expect_fail dmsetup message st2 0 seal 2>/dev/null
read -r _ _ _ state _ _ _ err sector cleanup cerr _ <<<"$(dmsetup status st2)"
[ "$state $err $sector $cleanup $cerr" = "failed 5 1000 7 0" ] ||
	die "after a lost head write: $(dmsetup status st2)"
dmsetup remove st2
no_table /dev/mapper/lossy
dmsetup remove lossy

note "the order, proved by dm-log-writes"
# 32 MiB: the log of a flash of it fits the 64 MiB log device
img2=/tmp/img2
head -c $((32 * 1024 * 1024)) /dev/urandom > $img2
printf 'label: gpt\nstart=2048, size=40000, type=L\n' | sfdisk -q $img2
nullb_on size=32 blocksize=512 memory_backed=1 cache_size=8
blkdiscard -f /dev/ram1 2>/dev/null || dd if=/dev/zero of=/dev/ram1 bs=1M count=64 status=none
dmsetup create lw --table "0 $(blockdev --getsz $dev) log-writes $dev /dev/ram1"
lwsectors=$(blockdev --getsz /dev/mapper/lw)
dmsetup create st0 --table "0 $lwsectors bootseal /dev/mapper/lw $H"
# the head and the tail first, the data after, as a script writing a card would
dd if=$img2 of=/dev/mapper/st0 bs=1M count=1 oflag=direct status=none
dd if=$img2 of=/dev/mapper/st0 bs=1M skip=31 seek=31 oflag=direct status=none
dd if=$img2 of=/dev/mapper/st0 bs=1M skip=1 seek=1 count=30 oflag=direct conv=fsync status=none
wait_closed st0
dmsetup message st0 0 seal
dmsetup remove st0
cmp $img2 /dev/mapper/lw || die "the logged disk is not byte-exact"
dmsetup message lw 0 mark end
dmsetup remove lw
"$TOOLS/logcheck" -s /dev/ram1 $img2 $((H * 512)) $((lwsectors * 512)) 512 ||
	die "ordering contract violated by the staged disk"
note "control: the same log checked as if the tail were data is rejected"
if "$TOOLS/logcheck" /dev/ram1 $img2 $((H * 512)) $((lwsectors * 512)) 512 > /dev/null 2>&1; then
	die "logcheck without -s accepted a tail written after the flush"
fi

echo 0 > $nb/power; rmdir $nb
unload_bootseal
rmmod brd
check_dmesg

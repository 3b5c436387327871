#!/bin/bash
# One image to three targets at once, one of which fails in the middle
# (dm-error in the middle of a linear map): the failing target is dropped,
# reported and left unsealed (zero head), the others finish sealed and
# verified, and the exit status is the write failure's (5). The --json
# summary has one entry per target with its own result.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
case_cleanup() { dmsetup remove bsbad 2>/dev/null || true; }
brd_disks 3 16
modprobe dm-mod 2>/dev/null || true
img=/tmp/img
mkimg $img $((9 * 1024 * 1024 + 1234))
printf 'label: dos\nstart=2048, size=8192, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
# 32768 sectors: the head and the tail work, sectors 8192-12287 fail
dmsetup create bsbad <<TABLE || die "dmsetup failed"
0 8192 linear /dev/ram1 0
8192 4096 error
12288 20480 linear /dev/ram1 12288
TABLE
bad=$(readlink -f /dev/mapper/bsbad)
bad_name=$(basename $bad)

rc=0
"$BOOTSEAL" flash --yes --allow-fixed --json $img /dev/ram0 $bad /dev/ram2 >/tmp/json 2>/tmp/err || rc=$?
cat /tmp/json /tmp/err
[ $rc -eq 5 ] || die "exit $rc, not 5"
cmp -n $size $img /dev/ram0 || die "ram0 differs from the image"
cmp -n $size $img /dev/ram2 || die "ram2 differs from the image"
cmp -s -n 512 /dev/zero $bad || die "the failing target's head is not zero"
tail -n 1 /tmp/json | jq -e --arg bad $bad '
	.type == "summary" and .exit == 5 and (.targets | length) == 3 and
	([.targets[] | select(.target == "/dev/ram0" or .target == "/dev/ram2") | .result] == ["ok", "ok"]) and
	([.targets[] | select(.target == $bad) | .result] == ["write"]) and
	([.targets[] | select(.target == $bad) | .error | test("Input/output error")] == [true])' ||
	die "summary is wrong"
grep -q '"type":"error".*"exit":5' /tmp/json || die "no error event for the failing target"

note "plain output: summary table"
rc=0
"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img /dev/ram0 $bad >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 5 ] || die "plain: exit $rc, not 5"
grep -q "^/dev/ram0 .* ok " /tmp/out || die "plain: ram0 not ok in the table"
grep -q "^$bad .* write " /tmp/out || die "plain: $bad not reported as a write failure"

dmsetup remove bsbad
unload_bootseal
rmmod brd
check_dmesg

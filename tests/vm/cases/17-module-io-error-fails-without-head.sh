#!/bin/bash
# I/O errors: a disk whose sectors [8192, 10240) fail (dm-error inside a
# dm-linear table) makes the session FAILED with errno EIO and the failed
# sector, reported identically by STATUS and netlink; later WRITEs and
# COMMIT return EIO, the head is never written (stays zero), and the module
# unloads afterwards.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe brd rd_nr=1 rd_size=16384 max_part=0
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; dmsetup remove bad 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
dmsetup create bad <<TABLE
0 8192 linear /dev/ram0 0
8192 2048 error
10240 22528 linear /dev/ram0 10240
TABLE
settle
img=/tmp/img
head -c $((8 * 1024 * 1024)) /dev/urandom > $img
printf 'label: dos\nstart=2048, size=8000, type=83\n' | sfdisk -q $img
dd if=$img of=/dev/ram0 bs=1M count=1 oflag=direct status=none   # an old, visible table

"$TOOLS/nlwatch" listen --finals 1 --timeout 120 > /tmp/events &
watcher=$!
for i in $(seq 100); do grep -q listening /tmp/events 2>/dev/null && break; sleep 0.1; done
"$TOOLS/bsctl" attach /dev/mapper/bad head=1M flash $img chunk=1M expect=EIO \
	write 0 4K expect=EIO commit expect=EIO status state=FAILED > /tmp/out ||
	{ cat /tmp/out; die "the error was not reported as EIO/FAILED"; }
cat /tmp/out
wait $watcher || die "no final event"
cat /tmp/events
st=$(grep "^status: session_id" /tmp/out | tail -1)
sector=$(sed -n 's/.* error_sector=\([0-9-]*\) .*/\1/p' <<<"$st")
grep -q ' error=5 ' <<<"$st" || die "STATUS errno is not EIO"
[ "$sector" -ge 6144 ] && [ "$sector" -lt 10240 ] || die "error sector $sector not at the failing range"
grep '^STATE ' /tmp/events | tail -1 | grep -q "state=FAILED .* errno=5 sector=$sector\$" ||
	die "netlink FAILED event does not match STATUS"
grep -q 'state=FLUSHING\|state=SEALING\|state=SEALED' /tmp/events && die "commit went on after the error"
[ "$(dd if=/dev/ram0 bs=1M count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] || die "head is not zero"
dmsetup remove bad
unload_bootseal
rmmod brd
check_dmesg

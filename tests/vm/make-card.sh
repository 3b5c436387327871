#!/bin/bash
# An imaging script of the kind 'bootseal run' is for, used by the VM cases
# 8x-stage-*: on the staged device $BOOTSEAL_DEV it writes a partition table
# (LABEL dos or gpt), maps the partitions with 'bootseal partitions', makes
# FAT32 on the first and ext4 on the second, mounts each, copies files and
# unmounts. The files come from $CARD_FILES (a directory). MODE:
#   ok        exit 0 when done
#   fail      do everything, then exit 1
#   hang      after the FAT files are copied, with the FAT still mounted,
#             write our pid to /tmp/card.pid and wait (to be killed)
#   baddisk   after the FAT, make $CARD_BAD_DM (the dm device under the
#             disk) fail the range $CARD_BAD_RANGE ("START LEN", sectors)
#             with dm-error, then carry on; exits as the writes make it
#   baddisk0  the same, but ignore write errors and exit 0
# Usage: make-card.sh LABEL MODE
set -euo pipefail
label=$1 mode=$2
: "${BOOTSEAL_DEV:?not run by bootseal run}" "${CARD_FILES:?}"
bs=${BOOTSEAL:-bootseal}
echo "make-card: $label $mode on $BOOTSEAL_DEV (disk $BOOTSEAL_DISK)"

# 64 MiB disk: a 40 MiB FAT32 partition from 1 MiB, ext4 on the rest
if [ "$label" = dos ]; then
	printf 'label: dos\nstart=2048, size=81920, type=c\nstart=83968, type=83\n'
else
	printf 'label: gpt\nstart=2048, size=81920, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=83968, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n'
fi | sfdisk -q --no-reread --no-tell-kernel "$BOOTSEAL_DEV"
# (no process substitution: the test VM has no /dev/fd)
out=$("$bs" partitions "$BOOTSEAL_DEV")
read -r -d '' -a parts <<<"$out" || true
[ ${#parts[@]} = 2 ] || { echo "make-card: expected 2 partitions, got: ${parts[*]}" >&2; exit 1; }
mkfs.vfat -F 32 -s 1 -n BOOT "${parts[0]}" > /dev/null
mkdir -p /tmp/card-mnt
mount "${parts[0]}" /tmp/card-mnt
cp -r "$CARD_FILES"/. /tmp/card-mnt/
if [ "$mode" = hang ]; then
	sleep 100000 &
	echo $! > /tmp/card.sleep
	echo $$ > /tmp/card.pid
	wait
fi
umount /tmp/card-mnt
if [ "$mode" = baddisk ] || [ "$mode" = baddisk0 ]; then
	read -r bstart blen <<<"$CARD_BAD_RANGE"
	total=$(blockdev --getsz "/dev/mapper/$CARD_BAD_DM")
	lower=$(dmsetup table "$CARD_BAD_DM" | awk 'NR == 1 { print $4 }')
	dmsetup load "$CARD_BAD_DM" <<TABLE
0 $bstart linear $lower 0
$bstart $blen error
$((bstart + blen)) $((total - bstart - blen)) linear $lower $((bstart + blen))
TABLE
	dmsetup resume "$CARD_BAD_DM"
	echo "make-card: sectors $bstart +$blen of $CARD_BAD_DM fail from now on"
fi
if [ "$mode" = baddisk0 ]; then
	# a writer that does not look at errors: the staged device must
	dd if=/dev/urandom of="${parts[1]}" bs=1M count=20 oflag=direct status=none || true
	exit 0
fi
mkfs.ext4 -q -F -L root "${parts[1]}"
mount "${parts[1]}" /tmp/card-mnt
cp -r "$CARD_FILES"/. /tmp/card-mnt/
umount /tmp/card-mnt
[ "$mode" = fail ] && { echo "make-card: failing on purpose"; exit 1; }
echo "make-card: done"

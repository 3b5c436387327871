#!/bin/bash
# bootseal run over dm-log-writes: an imaging script (tests/vm/make-card.sh)
# partitions the staged disk (MBR, then GPT), maps the partitions with
# 'bootseal partitions', makes FAT32 and ext4, mounts, copies files,
# unmounts and exits 0; bootseal seals. The log checker (logcheck -s: the
# tail is held back too) proves that nothing reached the head or the tail
# before the seal's flush, that the head came last, and that every replayed
# prefix of the write log shows a zero head (no table) or the finished card.
# The finished card's partitions mount and hold the files. The staged device
# and the partition mappings are gone afterwards (their nodes too: made and
# removed by libdevmapper, there is no udevd here), and the module unloads.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
modprobe dm-log-writes
modprobe brd rd_nr=1 rd_size=196608 max_part=0
modprobe loop 2>/dev/null || true
nb=/sys/kernel/config/nullb/stagecard
trap 'rc=$?; set +e; umount /tmp/card-mnt /tmp/chk 2>/dev/null; for d in $(dmsetup ls | awk "/^bootseal-/ {print \$1}" | sort -r); do dmsetup remove $d; done; dmsetup remove lw 2>/dev/null; losetup -D; { echo 0 > $nb/power; rmdir $nb; } 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
nullb_on size=64 blocksize=512 memory_backed=1 cache_size=16
nullb_logs_flushes
devsize=$(blockdev --getsize64 $dev)

# the files the card gets
export CARD_FILES=/tmp/card-files
mkdir -p $CARD_FILES/sub
head -c 3000000 /dev/urandom > $CARD_FILES/kernel.img
head -c 70000 /dev/urandom > $CARD_FILES/sub/overlay.dtbo
echo "console=serial0 root=LABEL=root" > $CARD_FILES/cmdline.txt

for label in dos gpt; do
	note "$label: bootseal run over dm-log-writes"
	dd if=/dev/zero of=$dev bs=1M count=64 oflag=direct status=none
	# an old, visible table on the disk: the staged disk must not show it
	printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q --no-reread --no-tell-kernel $dev
	blkdiscard -f /dev/ram0 2>/dev/null || dd if=/dev/zero of=/dev/ram0 bs=1M count=192 status=none
	dmsetup create lw --table "0 $(blockdev --getsz $dev) log-writes $dev /dev/ram0"
	settle
	name=bootseal-dm-$(dmsetup info -c --noheadings -o minor lw | tr -d " ")
	rc=0
	"$BOOTSEAL" run --yes --allow-fixed /dev/mapper/lw -- \
		"$BOOTSEAL_SRC/tests/vm/make-card.sh" $label ok > /tmp/out 2>&1 || rc=$?
	cat /tmp/out
	[ $rc = 0 ] || die "bootseal run exited $rc"
	grep -q "make-card: done" /tmp/out || die "the script did not run to its end"
	grep -q "sealed" /tmp/out || die "no seal reported"
	[ ! -e /dev/mapper/$name ] || die "/dev/mapper/$name is still there"
	ls /dev/mapper | grep -q "^$name" && die "a partition mapping node is left: $(ls /dev/mapper)"
	dmsetup ls | grep -q bootseal && die "device-mapper devices left: $(dmsetup ls)"
	dmsetup message lw 0 mark end
	dmsetup remove lw

	dd if=$dev of=/tmp/card.img bs=1M iflag=direct status=none
	"$TOOLS/logcheck" -s /dev/ram0 /tmp/card.img $((1024 * 1024)) $devsize 512 ||
		die "$label: ordering contract violated"
	sfdisk -d /tmp/card.img | grep -q "label: $label" || die "$label: the card has no $label table"

	note "$label: the finished card mounts and holds the files"
	loop=$(losetup -P -f --show /tmp/card.img)
	settle
	mkdir -p /tmp/chk
	for p in 1 2; do
		[ -b ${loop}p$p ] || die "no ${loop}p$p"
		mount -o ro ${loop}p$p /tmp/chk
		diff -r $CARD_FILES /tmp/chk -x lost+found || die "$label: partition $p does not hold the files"
		umount /tmp/chk
	done
	[ "$(blkid -o value -s TYPE ${loop}p1)" = vfat ] || die "p1 is not FAT"
	[ "$(blkid -o value -s TYPE ${loop}p2)" = ext4 ] || die "p2 is not ext4"
	fsck.vfat -n ${loop}p1 > /dev/null || die "$label: FAT is not clean"
	fsck.ext4 -fn ${loop}p2 > /dev/null 2>&1 || die "$label: ext4 is not clean"
	losetup -d $loop
done

note "status shows a staged disk while it is staged"
dev_name=$(basename $dev)
path=$("$BOOTSEAL" stage --yes --allow-fixed $dev)
[ "$path" = /dev/mapper/bootseal-$dev_name ] || die "stage printed '$path'"
[ -b "$path" ] || die "$path does not exist"
"$BOOTSEAL" status | tee /tmp/st
grep -q "^staged [0-9]* $dev_name $path " /tmp/st || die "status does not show the staged disk"
"$BOOTSEAL" status --json | grep '"kind":"staged"' | grep -q "\"staged_name\":\"bootseal-$dev_name\"" ||
	die "status --json does not show the staged disk"
"$BOOTSEAL" unstage bootseal-$dev_name | tee /tmp/out
grep -q "left unflashed" /tmp/out || die "unstage did not say the disk is unflashed"
[ ! -e "$path" ] || die "$path is left after unstage"

unload_bootseal
echo 0 > $nb/power; rmdir $nb
rmmod brd
check_dmesg

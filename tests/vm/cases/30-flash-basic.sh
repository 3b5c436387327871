#!/bin/bash
# bootseal flash writes raw and xz images exactly (odd size: 12 MiB + 1234
# bytes, the last block zero-padded), seals and verifies them, prints the
# partitions the kernel now sees, and those match `sfdisk --dump` of the
# image. --json prints one object per line ending with a summary.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
brd_disks 1 32
img=/tmp/img
mkimg $img $((12 * 1024 * 1024 + 1234))
printf 'label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8000, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)
padded=$(( (size + 511) / 512 * 512 ))

# the partitions the kernel sees on $dev, as "start size" lines
kernel_parts() {
	local p
	for p in /sys/block/ram0/ram0p*; do
		[ -e "$p/start" ] && echo "$(cat $p/start) $(cat $p/size)"
	done | sort -n
}
image_parts() {
	sfdisk --dump "$1" | sed -nE 's/.*start= *([0-9]+), size= *([0-9]+).*/\1 \2/p' | sort -n
}

check_device() {
	cmp -n "$size" $img $dev || die "$1: device differs from the image"
	dd if=$dev bs=1 skip=$size count=$((padded - size)) status=none | tr -d '\0' | wc -c |
		grep -qx 0 || die "$1: padding of the last block is not zero"
	[ "$(kernel_parts)" = "$(image_parts $img)" ] ||
		die "$1: kernel sees '$(kernel_parts)', image has '$(image_parts $img)'"
}

note "raw image"
dd if=/dev/urandom of=$dev bs=1M count=32 status=none
"$BOOTSEAL" flash --yes --allow-fixed $img $dev > /tmp/out 2>/tmp/err ||
	{ cat /tmp/out /tmp/err; die "flash of a raw image failed"; }
cat /tmp/out /tmp/err
check_device raw
grep -q "^$dev .* ok " /tmp/out || die "summary does not say ok"
grep -q "sealed and verified" /tmp/out || die "summary does not say verified"
grep -q "ram0p2 .*start *10240 .*sectors *8000" /tmp/out || die "partitions not printed"

note "xz image, --json"
xz -T2 -1 -k -f $img
dd if=/dev/urandom of=$dev bs=1M count=32 status=none
"$BOOTSEAL" flash --yes --allow-fixed --json $img.xz $dev > /tmp/json 2>/tmp/err ||
	{ cat /tmp/json /tmp/err; die "flash of an xz image failed"; }
cat /tmp/json
check_device xz
jq -e . /tmp/json > /dev/null || die "--json output is not JSON lines"
tail -n 1 /tmp/json | jq -e --arg d $dev --argjson w $padded \
	'.type == "summary" and .exit == 0 and (.targets | length) == 1 and
	 .targets[0].target == $d and .targets[0].result == "ok" and .targets[0].verified and
	 .targets[0].written == $w and (.targets[0].partitions | length) == 2 and
	 .targets[0].partitions[1].start == 10240 and .targets[0].partitions[1].sectors == 8000' ||
	die "summary line is wrong"
grep -q '"phase":"sealed"\|"phase":"verifying"\|"phase":"done"' /tmp/json || die "no phase events"

note "standalone verify, then one flipped byte is named"
"$BOOTSEAL" verify $img.xz $dev || die "verify of a good device failed"
printf '\x5a' | dd of=$dev bs=1 seek=$((5 * 1024 * 1024 + 7)) conv=notrunc status=none
rc=0; "$BOOTSEAL" verify $img $dev 2>/tmp/err || rc=$?
cat /tmp/err
[ $rc -eq 6 ] || die "verify of a changed device returned $rc, not 6"
grep -q "byte $((5 * 1024 * 1024 + 7)) differs" /tmp/err || die "mismatch offset not named"

note "on a terminal: live bars per target, ending at 100%"
if command -v script >/dev/null; then
	script -qec "$BOOTSEAL flash --yes --allow-fixed --no-verify $img $dev" /dev/null > /tmp/tty ||
		{ cat -v /tmp/tty; die "flash on a terminal failed"; }
	grep -q $'\033\[K/dev/ram0 .*100% \[#' /tmp/tty || { cat -v /tmp/tty; die "no progress bar on a terminal"; }
fi

note "the prompt names the image and the target; y goes on, anything else is not confirmed"
if command -v script >/dev/null; then
	dd if=/dev/zero of=$dev bs=1M count=1 conv=notrunc status=none
	rc=0
	printf 'n\n' | script -qec "$BOOTSEAL flash --allow-fixed --no-verify $img $dev" /dev/null > /tmp/tty ||
		rc=$?
	cat -v /tmp/tty
	[ $rc -eq 2 ] || die "answering n: exit $rc, not 2"
	grep -q "about to write $img (raw, " /tmp/tty || die "the prompt does not name the image"
	grep -q "/dev/ram0 .*MB" /tmp/tty || die "the prompt does not name the target and its size"
	grep -q "Continue? \[y/N\]" /tmp/tty || die "no [y/N] question"
	grep -q "not confirmed" /tmp/tty || die "a declined prompt is not called not confirmed"
	grep -q "waiting" /tmp/tty && die "a progress bar is drawn above the prompt"
	if sfdisk --dump $dev >/dev/null 2>&1; then die "declined, yet the device was written"; fi
	rc=0
	printf 'y\n' | script -qec "$BOOTSEAL flash --allow-fixed --no-verify $img $dev" /dev/null > /tmp/tty ||
		rc=$?
	[ $rc -eq 0 ] || { cat -v /tmp/tty; die "answering y: exit $rc, not 0"; }
	sfdisk --dump $dev >/dev/null 2>&1 || die "answering y did not flash"
fi

note "no --yes without a terminal"
rc=0; "$BOOTSEAL" flash --allow-fixed $img $dev < /dev/null 2>/tmp/err || rc=$?
[ $rc -eq 2 ] || die "flash without --yes returned $rc, not 2"
grep -q -- "--yes" /tmp/err || die "no hint about --yes"

note "an MBR extended partition is called a container in the summary, not sized"
mkimg /tmp/ext.img $((12 * 1024 * 1024))
printf 'label: dos\nstart=2048, size=4096, type=c\nstart=6144, size=16384, type=5\nstart=8192, size=4096, type=83\n' |
	sfdisk -q /tmp/ext.img
rc=0; "$BOOTSEAL" flash --yes --allow-fixed --no-verify /tmp/ext.img $dev >/tmp/out 2>/tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 0 ] || die "flash of an image with an extended partition: exit $rc"
grep -q "^  ram0p2 .* extended (holds the logical partitions)" /tmp/out || die "the extended partition is not named as such"
grep -q "^  ram0p5 .* MB$" /tmp/out || die "the logical partition is not listed with its size"
"$BOOTSEAL" flash --yes --allow-fixed --no-verify --json /tmp/ext.img $dev > /tmp/json || die "--json flash failed"
grep '"type":"summary"' /tmp/json | grep -q '"name":"ram0p2","number":2,"start":6144,"sectors":2,"extended":true' ||
	die "--json: the extended partition is not marked"

unload_bootseal
rmmod brd
check_dmesg

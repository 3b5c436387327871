#!/bin/bash
# A bad image never gets sealed: xz corrupted mid-stream, a bmap whose
# checksum does not match, a wrong --sha256 all exit 3 and leave the device
# with a zero head and no partition table (a raw image's wrong --sha256 is
# refused before the device is touched; the hash of a download or of the
# image inside it is accepted, also from SHA256SUMS next to it); an image
# larger than the device exits 4 naming both sizes (known size: refused before writing; size
# unknown (stdin): stopped when the data passes the end, device left unsealed);
# an image file open for writing is refused (exit 3, nothing written); an
# image file cut short while it is written (truncate's open breaks the read
# lease the image is read under) stops the flash: exit 3, device unsealed.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
brd_disks 1 16
img=/tmp/img
mkimg $img $((8 * 1024 * 1024 + 1234))
printf 'label: dos\nstart=2048, size=8192, type=83\n' | sfdisk -q $img
size=$(stat -c %s $img)

# unsealed: the head (first block) is zero and no partition table is found
expect_unsealed() {
	cmp -s -n 512 /dev/zero $dev || die "$1: the head of $dev is not zero"
	if sfdisk --dump $dev >/dev/null 2>&1; then die "$1: $dev still has a partition table"; fi
	blockdev --rereadpt $dev 2>/dev/null || true
	[ ! -e /sys/block/ram0/ram0p1 ] || die "$1: the kernel still sees ram0p1"
}
# a previous good flash, so that "unsealed" is a change
good_flash() {
	"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img $dev >/dev/null 2>&1 || die "good flash failed"
	sfdisk --dump $dev >/dev/null 2>&1 || die "good flash left no partition table"
}
run_rc() { rc=0; "$BOOTSEAL" "$@" >/tmp/out 2>/tmp/err || rc=$?; cat /tmp/out /tmp/err; }

note "xz corrupted in the middle (one xz block, so the error comes late)"
xz -T1 -1 -c $img > /tmp/bad.img.xz
at=$(( $(stat -c %s /tmp/bad.img.xz) * 4 / 5 ))
printf '\x00\xff\x00\xff' | dd of=/tmp/bad.img.xz bs=1 seek=$at conv=notrunc status=none
good_flash
run_rc flash --yes --allow-fixed /tmp/bad.img.xz $dev
[ $rc -eq 3 ] || die "corrupt xz: exit $rc, not 3"
grep -qi "corrupt" /tmp/err || die "corrupt xz: no reason given"
grep -q "left unsealed" /tmp/err || die "corrupt xz: the device is not said to be left unsealed"
expect_unsealed "corrupt xz"

note "multi-block xz corrupted: found early by the parallel decoder"
# An error found before anything was written leaves the device untouched;
# found later, the device is left unsealed. Never sealed either way.
xz -T2 -1 -k -f $img
cp $img.xz /tmp/bad2.img.xz
at=$(( $(stat -c %s /tmp/bad2.img.xz) / 2 ))
printf '\x00\xff\x00\xff' | dd of=/tmp/bad2.img.xz bs=1 seek=$at conv=notrunc status=none
dd if=/dev/urandom of=$dev bs=1M count=16 status=none
before=$(md5sum < $dev)
run_rc flash --yes --allow-fixed /tmp/bad2.img.xz $dev
[ $rc -eq 3 ] || die "corrupt multi-block xz: exit $rc, not 3"
if [ "$(md5sum < $dev)" != "$before" ]; then expect_unsealed "corrupt multi-block xz"; fi

note "truncated xz"
# A truncated xz has no index: refused when opened, before the device is
# touched (it keeps its old content); a later error would leave it unsealed.
half=$(( $(stat -c %s $img.xz) / 2 ))
head -c $half $img.xz > /tmp/trunc.img.xz
dd if=/dev/urandom of=$dev bs=1M count=16 status=none
before=$(md5sum < $dev)
run_rc flash --yes --allow-fixed /tmp/trunc.img.xz $dev
[ $rc -eq 3 ] || die "truncated xz: exit $rc, not 3"
grep -q "trunc.img.xz.*truncated" /tmp/err || die "truncated xz: the image and the reason are not named"
if [ "$(md5sum < $dev)" != "$before" ]; then expect_unsealed "truncated xz"; fi
note "bmap checksum mismatch"
bmaptool create -o /tmp/img.bmap $img
# change one byte inside the first mapped range, after the bmap was made
cp $img /tmp/changed.img
cp /tmp/img.bmap /tmp/changed.img.bmap
printf '\x42' | dd of=/tmp/changed.img bs=1 seek=$((3 * 1024 * 1024 + 5)) conv=notrunc status=none
good_flash
run_rc flash --yes --allow-fixed /tmp/changed.img $dev
[ $rc -eq 3 ] || die "bmap mismatch: exit $rc, not 3"
grep -q "bmap checksum mismatch" /tmp/err || die "bmap mismatch: not named"
expect_unsealed "bmap mismatch"

note "--sha256 mismatch of a raw image: refused before the device is touched, both hashes named"
good_flash
before=$(md5sum < $dev)
wrong=$(echo x | sha256sum | cut -c1-64)
run_rc flash --yes --allow-fixed --sha256 $wrong $img $dev
[ $rc -eq 3 ] || die "sha256 mismatch: exit $rc, not 3"
grep -q "SHA-256 is $(sha256sum $img | cut -c1-64), expected $wrong" /tmp/err ||
	die "sha256 mismatch: expected and actual not named"
[ "$(md5sum < $dev)" = "$before" ] || die "sha256 mismatch of a raw image: the device was written"
note "--sha256 match"
run_rc flash --yes --allow-fixed --sha256 $(sha256sum $img | cut -c1-64) $img $dev
[ $rc -eq 0 ] || die "sha256 match: exit $rc"

note "--sha256 of the download (.xz), or of the image inside it"
run_rc flash --yes --allow-fixed --no-verify --sha256 $(sha256sum $img.xz | cut -c1-64) $img.xz $dev
[ $rc -eq 0 ] || die "sha256 of the download: exit $rc"
grep -q "SHA-256 of $img.xz matches" /tmp/err || die "sha256 of the download: no match reported"
run_rc flash --yes --allow-fixed --no-verify --sha256 $(sha256sum $img | cut -c1-64) $img.xz $dev
[ $rc -eq 0 ] || die "sha256 of the image in the download: exit $rc"
good_flash
run_rc flash --yes --allow-fixed --no-verify --sha256 $wrong $img.xz $dev
[ $rc -eq 3 ] || die "sha256 matching neither: exit $rc, not 3"
grep -q "SHA-256 of the image is $(sha256sum $img | cut -c1-64), expected $wrong" /tmp/err ||
	die "sha256 matching neither: the image's hash is not named"
grep -q "the SHA-256 of the file $img.xz is $(sha256sum $img.xz | cut -c1-64)" /tmp/err ||
	die "sha256 matching neither: the file's hash is not named"
expect_unsealed "sha256 matching neither"

note "SHA256SUMS next to the image is used"
(cd /tmp && sha256sum img.xz > SHA256SUMS)
run_rc flash --yes --allow-fixed --no-verify $img.xz $dev
[ $rc -eq 0 ] || die "SHA256SUMS: exit $rc"
grep -q "from /tmp/SHA256SUMS" /tmp/err && grep -q "matches" /tmp/err || die "SHA256SUMS not used"
good_flash
echo "$wrong  img.xz" > /tmp/SHA256SUMS
run_rc flash --yes --allow-fixed --no-verify $img.xz $dev
[ $rc -eq 3 ] || die "wrong SHA256SUMS: exit $rc, not 3"
expect_unsealed "wrong SHA256SUMS"
run_rc flash --yes --allow-fixed --no-verify --no-sha256 $img.xz $dev
[ $rc -eq 0 ] || die "--no-sha256: exit $rc"
rm -f /tmp/SHA256SUMS

note "image larger than the device"
mkimg /tmp/big.img $((20 * 1024 * 1024))
run_rc flash --yes --allow-fixed --force-raw /tmp/big.img $dev
[ $rc -eq 4 ] || die "big raw image: exit $rc, not 4"
grep -q "16.8 MB" /tmp/err && grep -q "21.0 MB" /tmp/err || die "big raw image: both sizes not named"
# xz: the size comes from the xz index when it is there (refused before
# writing); a single-stream size found only while writing stops the write
xz -T2 -0 -f /tmp/big.img
dd if=/dev/urandom of=$dev bs=1M count=16 status=none
before=$(md5sum < $dev)
run_rc flash --yes --allow-fixed --force-raw /tmp/big.img.xz $dev
[ $rc -eq 4 ] || die "big xz image: exit $rc, not 4"
grep -q "too small" /tmp/err || die "big xz image: not called too small"
grep -q "16.8 MB\|16777216 bytes" /tmp/err || die "big xz image: the device size is not named"
if [ "$(md5sum < $dev)" != "$before" ]; then expect_unsealed "big xz image"; fi
note "big image from standard input: found while writing"
good_flash
run_rc flash --yes --allow-fixed --force-raw - $dev < /tmp/big.img.xz
[ $rc -eq 4 ] || die "big stdin image: exit $rc, not 4"
grep -q "too small" /tmp/err && grep -q "16777216 bytes" /tmp/err || die "big stdin image: sizes not named"
expect_unsealed "big stdin image"

note "an image without a partition table: a warning, refused with --strict"
head -c $((2 * 1024 * 1024)) /dev/urandom > /tmp/notable.img
dd if=/dev/zero of=/tmp/notable.img bs=512 count=1 conv=notrunc status=none
good_flash
before=$(md5sum < $dev)
run_rc flash --yes --allow-fixed --strict /tmp/notable.img $dev
[ $rc -eq 3 ] || die "--strict without a partition table: exit $rc, not 3"
grep -q "no valid partition table" /tmp/err || die "--strict: the reason is not named"
[ "$(md5sum < $dev)" = "$before" ] || die "--strict: the device was written"
run_rc flash --yes --allow-fixed --no-verify /tmp/notable.img $dev
[ $rc -eq 3 ] || die "neither a partition table nor a file system: exit $rc, not 3"
grep -q "neither a partition table nor a file system signature" /tmp/err ||
	die "an image without a table or file system: the reason is not named"
[ "$(md5sum < $dev)" = "$before" ] || die "not an image: the device was written"
run_rc flash --yes --allow-fixed --no-verify --force-raw /tmp/notable.img $dev
[ $rc -eq 0 ] || die "no partition table with --force-raw: exit $rc, not 0"
grep -q "warning: the image /tmp/notable.img has no valid partition table" /tmp/err ||
	die "no warning for an image without a partition table"

note "not an image: an HTML page and random bytes named .img.gz are refused, the device untouched"
printf '<html><body>404 Not Found</body></html>\n' > /tmp/page.img.gz
head -c 3072 /dev/urandom > /tmp/random.img.gz
good_flash
before=$(md5sum < $dev)
for f in /tmp/page.img.gz /tmp/random.img.gz; do
	run_rc flash --yes --allow-fixed $f $dev
	[ $rc -eq 3 ] || die "$f: exit $rc, not 3"
	grep -q "named like a gzip file but its content is not gzip data" /tmp/err ||
		die "$f: the reason is not named"
	[ "$(md5sum < $dev)" = "$before" ] || die "$f: the device was written"
done
grep -q "HTML" /tmp/err && die "random bytes called HTML"
run_rc flash --yes --allow-fixed /tmp/page.img.gz $dev
grep -q "HTML page" /tmp/err || die "an HTML page is not called one"
run_rc flash --yes --allow-fixed --no-verify --force-raw /tmp/page.img.gz $dev
[ $rc -eq 0 ] || die "--force-raw HTML page: exit $rc, not 0"

note "the image file is open for writing: refused, exit 3, nothing written"
exec 7>>$img
rc=0; "$BOOTSEAL" flash --yes --allow-fixed $img $dev >/tmp/out 2>/tmp/err || rc=$?
exec 7>&-
cat /tmp/out /tmp/err
[ $rc -eq 3 ] || die "image open for writing: exit $rc, not 3"
grep -q "is open for writing by another process" /tmp/err || die "image open for writing: no reason"

note "the image file shrinks while it is written (zero-copy from its mapping): exit 3, unsealed"
# A slow device and the smallest in-flight budget, so that most of the image
# is not yet pinned when the file is cut short.
unload_bootseal
load_bootseal max_inflight_mb=16
modprobe null_blk nr_devices=0
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
nb=/sys/kernel/config/nullb/bsshrink
mkdir $nb && echo 96 > $nb/size && echo 1 > $nb/memory_backed && echo 8 > $nb/mbps && echo 1 > $nb/power ||
	die "null_blk set-up"
settle
ndev=/dev/bsshrink; [ -b $ndev ] || ndev=/dev/nullb$(cat $nb/index)
[ -b $ndev ] || die "no null_blk device"
mkimg /tmp/shrink.img $((64 * 1024 * 1024))
printf 'label: dos\nstart=2048, size=8192, type=83\n' | sfdisk -q /tmp/shrink.img
rc=0
"$BOOTSEAL" flash --yes --allow-fixed --no-verify --no-bmap /tmp/shrink.img $ndev >/tmp/out 2>/tmp/err &
pid=$!
sleep 2
# truncate opens with O_NONBLOCK: the lease makes it fail (EAGAIN) and still
# starts the lease break, which stops the flash
truncate -s $((4 * 1024 * 1024)) /tmp/shrink.img 2>/tmp/terr || cat /tmp/terr
wait $pid || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 3 ] || die "image shrank mid-flash: exit $rc, not 3"
# the image is read under a lease: truncate's open waits, the flash stops
grep -q "image /tmp/shrink.img: another process opened it for writing while it was read" /tmp/err ||
	die "shrinking image: not named"
cmp -s -n 512 /dev/zero $ndev || die "shrinking image: the head of $ndev is not zero"
echo 0 > $nb/power; rmdir $nb; rmmod null_blk

unload_bootseal
rmmod brd
check_dmesg

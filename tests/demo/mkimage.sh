#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/demo/mkimage.sh OUT.img.xz [FIRMWARE_DIR]
#
# Build a small Raspberry Pi OS style image, the way Raspberry Pi images are
# laid out: an MBR (disk identifier used by PARTUUID=), partition 1 a FAT32
# boot partition (type 0x0c, from sector 8192) holding config.txt,
# cmdline.txt, the BCM2837 boot files and the Compute Module 3 device tree,
# partition 2 an ext4 root file system (type 0x83) with an /etc and a home
# directory; then xz-compressed in several blocks (multi-threaded decoding),
# with a bmaptool block map next to it.
# The boot files come from FIRMWARE_DIR (default: blobs/raspberrypi, the
# fetched usbboot set) when present, else small stand-ins with the same names.
# No root needed: sfdisk, mkfs.vfat + mcopy, mkfs.ext4 -d.
set -euo pipefail

out=${1:?usage: mkimage.sh OUT.img.xz [FIRMWARE_DIR]}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fw=${2:-$src/blobs/raspberrypi}
for t in sfdisk mkfs.vfat mcopy mmd mkfs.ext4 xz; do
	command -v "$t" > /dev/null || { echo "mkimage: $t not found (make deps)" >&2; exit 1; }
done

MiB=$((1024 * 1024))
boot_mib=40	# FAT32 needs >= 65525 clusters: 40 MiB of 512-byte clusters
root_mib=20
label_id=0xb0075ea1
work=$(mktemp -d "${TMPDIR:-/tmp}/bootseal-mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/disk.img

# ---- boot partition: FAT32 ----------------------------------------------------
mkdir -p "$work/boot/overlays"
cat > "$work/boot/config.txt" <<'CFG'
# For more options and information see
# http://rpf.io/configtxt
# Some settings may impact device functionality. See link above for details

dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
arm_64bit=0
disable_overscan=1

[cm3]
# Compute Module 3: eMMC on SDHOST, USB OTG in host mode
dtoverlay=dwc2,dr_mode=host

[all]
enable_uart=1
CFG
printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n' \
	"${label_id#0x}" > "$work/boot/cmdline.txt"
echo "Raspberry Pi reference 2026-11-21 (bootseal demo image)" > "$work/boot/issue.txt"
have_fw=0
for f in bootcode.bin start_cd.elf fixup_cd.dat kernel7.img bcm2710-rpi-cm3.dtb bcm2710-rpi-3-b.dtb \
	bcm2710-rpi-3-b-plus.dtb; do
	if [ -f "$fw/$f" ]; then cp "$fw/$f" "$work/boot/"; have_fw=1; fi
done
if [ $have_fw = 0 ]; then
	echo "mkimage: no firmware in $fw: boot files are stand-ins with the real names" >&2
	for f in bootcode.bin start_cd.elf fixup_cd.dat kernel7.img bcm2710-rpi-cm3.dtb; do
		head -c 65536 /dev/urandom > "$work/boot/$f"
	done
fi
# The full-featured firmware names a real image carries next to the cut-down set.
cp "$work/boot/start_cd.elf" "$work/boot/start.elf"
cp "$work/boot/fixup_cd.dat" "$work/boot/fixup.dat"
if [ -d "$fw/overlays" ] && ls "$fw/overlays/"*.dtbo > /dev/null 2>&1; then
	cp "$fw/overlays/"*.dtbo "$work/boot/overlays/"
else
	head -c 1024 /dev/urandom > "$work/boot/overlays/dwc2.dtbo"
fi
echo "Device tree overlays: see /boot/overlays/README on Raspberry Pi OS" > "$work/boot/overlays/README"

fat=$work/boot.vfat
truncate -s $((boot_mib * MiB)) "$fat"
mkfs.vfat -F 32 -s 1 -n bootfs -i "${label_id#0x}" "$fat" > /dev/null 2>&1
MTOOLS_SKIP_CHECK=1 mcopy -s -i "$fat" "$work/boot/"* ::/

# ---- root partition: ext4 ----------------------------------------------------
r=$work/rootfs
mkdir -p "$r"/{etc,home/pi,boot/firmware,root,tmp,var/log,usr/bin,dev,proc,sys,run}
chmod 1777 "$r/tmp"
echo cm3-demo > "$r/etc/hostname"
cat > "$r/etc/os-release" <<'OS'
PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
NAME="Raspbian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=raspbian
ID_LIKE=debian
OS
printf 'proc            /proc           proc    defaults          0       0\n' > "$r/etc/fstab"
printf 'PARTUUID=%s-01  /boot/firmware  vfat    defaults          0       2\n' "${label_id#0x}" >> "$r/etc/fstab"
printf 'PARTUUID=%s-02  /               ext4    defaults,noatime  0       1\n' "${label_id#0x}" >> "$r/etc/fstab"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tcm3-demo\n' > "$r/etc/hosts"
printf 'Flashed with bootseal: if you can read this, the image arrived whole.\n' > "$r/home/pi/README"
rootfs=$work/root.ext4
truncate -s $((root_mib * MiB)) "$rootfs"
mkfs.ext4 -q -F -L rootfs -U 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 -E root_owner=0:0 -d "$r" "$rootfs"

# ---- the disk: MBR, 4 MiB aligned like Raspberry Pi images -------------------
start1=8192
size1=$((boot_mib * MiB / 512))
start2=$((start1 + size1))
size2=$((root_mib * MiB / 512))
truncate -s $(((start2 + size2) * 512)) "$img"
sfdisk -q "$img" <<SF
label: dos
label-id: $label_id
unit: sectors

start=$start1, size=$size1, type=c
start=$start2, size=$size2, type=83
SF
dd if="$fat" of="$img" bs=1M seek=$((start1 * 512 / MiB)) conv=notrunc,sparse status=none
dd if="$rootfs" of="$img" bs=1M seek=$((start2 * 512 / MiB)) conv=notrunc,sparse status=none

mkdir -p "$(dirname "$out")"
# The block map (what bmaptool and bootseal use to skip the unused blocks) goes
# next to the image as OUT without .xz plus .bmap, where the helper looks.
bmap=${out%.xz}.bmap
rm -f "$bmap"
if command -v bmaptool > /dev/null; then
	bmaptool -q create -o "$bmap" "$img"
else
	echo "mkimage: bmaptool not found: no .bmap, the whole image will be written" >&2
fi
xz -T2 -3 --block-size=$((8 * MiB)) -c "$img" > "$out.tmp"
mv "$out.tmp" "$out"
sha=$(sha256sum "$img" | cut -d' ' -f1)
echo "$sha" > "$out.sha256"
mapped=$( [ -f "$bmap" ] && sed -n 's,.*<MappedBlocksCount> *\([0-9]*\).*,\1,p' "$bmap")
echo "mkimage: $out: $(( (start2 + size2) * 512 / MiB )) MiB image (MBR, FAT32 boot + ext4 root)," \
	"$(du -k "$out" | cut -f1) KiB xz${mapped:+, $((mapped * 4 / 1024)) MiB mapped in $(basename "$bmap")}, sha256 $sha"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: the whole flow without hardware, on Debian 12 (root, or sudo for
# `make deps`). Installs what is missing, builds, fetches the usbboot
# firmware, makes a Raspberry Pi style image, then boots Debian's kernel in
# QEMU with a fake Compute Module 3 plugged in and runs
# `bootseal flash --usbboot` and `bootseal inspect` there, streaming the
# guest's terminal here (tests/demo/vm-demo.sh). Nothing is loaded into the
# running kernel.
#
#   DEMO_KERNEL=6.1|6.12   the guest kernel (default 6.12)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$src"
kernel=${DEMO_KERNEL:-6.12}
img=build/demo/cm3-demo.img.xz
t0=$(date +%s)
if [ -t 1 ]; then bold=$'\033[1m' red=$'\033[1;31m' green=$'\033[1;32m' off=$'\033[0m'
else bold= red= green= off=; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
fail() { printf '\n%sbootseal demo: FAILED: %s%s\n' "$red" "$*" "$off"; exit 1; }

step "Dependencies (make deps)"
make --no-print-directory deps || fail "make deps"

step "Build: the helper, bootseal.ko for every installed kernel, the fake Compute Module"
mkdir -p build
make --no-print-directory -j"$(nproc)" helper tools > build/demo-build.log 2>&1 &&
	make --no-print-directory modules-all >> build/demo-build.log 2>&1 ||
	{ tail -n 30 build/demo-build.log; fail "build (log: build/demo-build.log)"; }
./build/bootseal --version 2>/dev/null | sed -n 1p
ls build/kmod/*/bootseal.ko

step "Firmware: node-raspberrypi-usbboot, checked against blobs/SHA256SUMS (make blobs)"
make --no-print-directory blobs || fail "make blobs (the fake Compute Module needs the firmware set)"

step "A Raspberry Pi style image: MBR, FAT32 boot (config.txt, cmdline.txt, firmware), ext4 root, xz"
if [ ! -s "$img" ] || [ tests/demo/mkimage.sh -nt "$img" ]; then
	tests/demo/mkimage.sh "$img" || fail "making the demo image"
else
	echo "$img (up to date)"
fi
echo "\$ bootseal inspect $img"
./build/bootseal inspect "$img" || fail "bootseal inspect $img"

step "QEMU: Debian's $kernel kernel, a fake Compute Module 3 on dummy_hcd (guest output follows)"
rc=0
tests/vm/run --kernel "$kernel" --verbose --case-timeout 600 tests/demo/vm-demo.sh || rc=$?
secs=$(( $(date +%s) - t0 ))
[ $rc -eq 0 ] || fail "the VM part failed (its log: build/vm/run-*/vm-demo.log), after $secs s"
printf '\n%sbootseal demo: OK: a fake Compute Module 3 was booted over USB, flashed with a Raspberry Pi image, sealed, verified and inspected (%d s in all)%s\n' \
	"$green" "$secs" "$off"

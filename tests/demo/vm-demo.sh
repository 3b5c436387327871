#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo, inside the VM (run by tests/demo/demo.sh through
# `tests/vm/run --verbose`): a fake Compute Module 3 (tests/tools/fakecm) is
# plugged into dummy_hcd in USB boot mode; `bootseal flash --usbboot` boots it
# over USB into a mass-storage device and flashes the demo image onto it
# through /dev/bootseal, with live progress bars; `bootseal inspect` then reads
# the partition table and boot files back from the flashed device, and the
# fake's eMMC (a file) is compared byte for byte with the image.
#
# Everything is also written to the guest console (/dev/ttyS0), which
# `tests/vm/run --verbose` streams to the terminal as it happens.
if [ -z "${DEMO_TEE:-}" ] && [ -w /dev/ttyS0 ]; then
	DEMO_TEE=1 bash "$0" "$@" 2>&1 | tee -a /dev/ttyS0
	exit "${PIPESTATUS[0]}"
fi
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
trap 'usb_teardown; unload_bootseal' EXIT

img=$BOOTSEAL_SRC/build/demo/cm3-demo.img.xz
[ -f "$img" ] || die "no demo image at $img (tests/demo/mkimage.sh makes it)"
emmc_mib=128
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '\n\033[1;34m[%5ss] %s\033[0m\n' "$(elapsed)" "$*"; }

say "VM up: Debian kernel $(uname -r), $(nproc) CPUs (TCG); loading bootseal.ko"
load_bootseal
"$BOOTSEAL" --version

say "Plugging in a fake Compute Module 3 (0a5c:2764, USB boot mode) with a ${emmc_mib} MiB eMMC"
usb_setup 1
# `make demo` has just checked the fetched firmware against SHA256SUMS on the
# host (make blobs); hashing it again under emulation would only cost time.
if [ -f "$BOOTSEAL_SRC/blobs/raspberrypi/bootcode.bin" ]; then
	FW=$BOOTSEAL_SRC/blobs
	echo "firmware: $FW (node-raspberrypi-usbboot, checked by make blobs)"
else
	usb_firmware
fi
emmc=/tmp/cm3-emmc.img
truncate -s ${emmc_mib}M "$emmc"
fake_start /tmp/fake.log --firmware "$FW/raspberrypi" --backing "$emmc"
fake=$FAKE_PID

# A pseudo-terminal, so the helper draws its progress bars as on a desktop.
on_tty() { TERM=xterm-256color script -qfec "stty cols 100 rows 30; exec $*" /dev/null; }
rc=0
# (grep without -q: with pipefail, nm must not die of SIGPIPE.)
if nm "$BOOTSEAL" 2>/dev/null | grep ' T bs_flash_usbboot$' > /dev/null; then
	say "bootseal flash --usbboot $(basename "$img")"
	on_tty "'$BOOTSEAL' flash --usbboot --firmware '$FW' '$img'" || rc=$?
else
	say "NOTE: this helper has no 'flash --usbboot' yet; running its two halves instead"
	say "bootseal boot"
	out=$("$BOOTSEAL" boot --firmware "$FW") || rc=$?
	echo "$out"
	[ $rc -eq 0 ] || { tail -n 20 /tmp/fake.log; die "bootseal boot exited $rc"; }
	dev=$(sed -nE 's/^usb [^ ]+ -> (\/dev\/[a-z]+) .*/\1/p' <<<"$out" | head -n 1)
	[ -b "$dev" ] || die "bootseal boot printed no block device: $out"
	say "bootseal flash --yes $(basename "$img") $dev"
	on_tty "'$BOOTSEAL' flash --yes '$img' '$dev'" || rc=$?
fi
[ $rc -eq 0 ] || { tail -n 20 /tmp/fake.log; die "bootseal flash exited $rc"; }

dev=
for d in /sys/block/sd*; do
	[ -e "$d" ] && [ "$(cat "$d/size")" = $((emmc_mib * 2048)) ] && dev=/dev/${d##*/}
done
[ -n "$dev" ] || die "no block device of ${emmc_mib} MiB behind the fake Compute Module"

say "bootseal inspect $dev"
"$BOOTSEAL" inspect "$dev" || die "bootseal inspect $dev exited $?"

say "Checking the fake's eMMC byte for byte against the image"
size=$(xz --robot -l "$img" | awk '/^totals/ { print $5 }')
want=$(cat "$img.sha256")
have=$(head -c "$size" "$emmc" | sha256sum | cut -d' ' -f1)
[ "$want" = "$have" ] || die "the eMMC differs from the image (sha256 $have, want $want)"
echo "eMMC bytes 0..$size: sha256 $have, the image's"
! grep FAIL /tmp/fake.log || die "the fake Compute Module reported a failure"
unload_bootseal
check_dmesg
say "DEMO OK: CM3 booted over USB, flashed, sealed, verified and inspected in $(elapsed) s"
# The VM is thrown away: the fake and its gadget go down with it (unbinding
# the mass-storage gadget cleanly takes tens of seconds under emulation).
trap - EXIT

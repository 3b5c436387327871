#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make raw-gadget: the kernel's raw_gadget driver (drivers/usb/gadget/legacy/
# raw_gadget.c), built out of tree for each kernel in KERNELS, into
# BUILD/raw_gadget/<release>/raw_gadget.ko. The VM case
# 60-usbboot-cm4-descriptor-quirk runs the fake Compute Module's ROM stage on
# it (tests/tools/fakecm.c --raw-gadget). Debian's 6.1 and 6.12 kernels do
# not enable CONFIG_USB_RAW_GADGET, so the source file is taken unchanged
# from the kernel source package of the same series (linux-source-6.1,
# linux-source-6.12: dependencies of `make check`) and built against the
# installed headers.
#
#   tests/raw-gadget.sh BUILD RELEASE...
set -euo pipefail
b=$1
shift
for k in "$@"; do
	series=$(echo "$k" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	tarball=/usr/src/linux-source-$series.tar.xz
	d=$b/raw_gadget/$k
	if [ ! -f "$tarball" ]; then
		echo "raw-gadget: $tarball is missing (apt-get install linux-source-$series)" >&2
		exit 2
	fi
	mkdir -p "$d"
	if [ ! -f "$d/raw_gadget.c" ] || [ "$tarball" -nt "$d/raw_gadget.c" ]; then
		echo "  EXTRACT raw_gadget.c from $tarball"
		rm -rf "$d/src.tmp" && mkdir -p "$d/src.tmp"
		tar -xJf "$tarball" -C "$d/src.tmp" --strip-components=1 \
			"linux-source-$series/drivers/usb/gadget/legacy/raw_gadget.c"
		mv "$d/src.tmp/drivers/usb/gadget/legacy/raw_gadget.c" "$d/raw_gadget.c"
		touch "$d/raw_gadget.c"
		rm -rf "$d/src.tmp"
	fi
	echo 'obj-m := raw_gadget.o' > "$d/Kbuild"
	echo "  KMOD    raw_gadget $k"
	make -s -C "/usr/src/linux-headers-$k" M="$(cd "$d" && pwd)" modules 2>&1 | tee "$d/build.log"
	if grep -q 'warning:\|error:' "$d/build.log"; then
		echo "raw-gadget: warnings building for $k" >&2
		exit 1
	fi
	test -f "$d/raw_gadget.ko"
done

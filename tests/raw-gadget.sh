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
	# Only the guest kernels need it; any other kernel without the source
	# package or without gadget support is left out, and the VM case says
	# so if it runs on one.
	if [ ! -f "$tarball" ]; then
		echo "  SKIP    raw_gadget $k: no $tarball (apt-get install linux-source-$series)"
		continue
	fi
	if ! grep -qE '^CONFIG_USB_GADGET=(y|m)' "/usr/src/linux-headers-$k/.config" 2>/dev/null; then
		echo "  SKIP    raw_gadget $k: built without CONFIG_USB_GADGET"
		continue
	fi
	mkdir -p "$d"
	# Extracted again when the source package changes (its version in a stamp).
	ver=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null || echo unknown)
	if [ ! -f "$d/raw_gadget.c" ] || [ "$(cat "$d/source.version" 2>/dev/null)" != "$ver" ]; then
		echo "  EXTRACT raw_gadget.c from $tarball"
		rm -rf "$d/src.tmp" && mkdir -p "$d/src.tmp"
		tar -xJf "$tarball" -C "$d/src.tmp" --strip-components=1 \
			"linux-source-$series/drivers/usb/gadget/legacy/raw_gadget.c"
		mv "$d/src.tmp/drivers/usb/gadget/legacy/raw_gadget.c" "$d/raw_gadget.c"
		touch "$d/raw_gadget.c"
		echo "$ver" > "$d/source.version"
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

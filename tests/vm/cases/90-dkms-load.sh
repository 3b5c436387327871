#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module that DKMS builds (tests/install.sh, `make dkms-check`, leaves it
# in build/dkms/<release>/) loads and unloads cleanly on this kernel, carries
# the version dkms.conf was stamped with, registers /dev/bootseal and the
# netlink family; the installed udev rule makes /dev/bootseal root-only 0600;
# `bootseal --version` shows the loaded module's version and warns when it
# differs from the helper's.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"

k=$(uname -r)
dir=$BOOTSEAL_SRC/build/dkms/$k
[ -f "$dir/bootseal.ko" ] || skip "no DKMS-built module at build/dkms/$k/bootseal.ko (run 'make dkms-check' on the host first)"
KO=$dir/bootseal.ko
want=$(cat "$dir/version")

# The udev rule as installed by `make install` (udev reads /run/udev/rules.d).
rules_applied=0
if pgrep -x systemd-udevd > /dev/null; then
	mkdir -p /run/udev/rules.d
	cp "$BOOTSEAL_SRC/userspace/udev/99-bootseal.rules" /run/udev/rules.d/
	udevadm control --reload
	rules_applied=1
fi

note "insmod $KO"
load_bootseal
[ "$(cat /sys/module/bootseal/version)" = "$want" ] ||
	die "loaded module reports version '$(cat /sys/module/bootseal/version)', dkms.conf said '$want'"
[ -c /dev/bootseal ] || die "/dev/bootseal is not a character device"
perm=$(stat -c '%a %U %G' /dev/bootseal)
[ "$perm" = "600 root root" ] || die "/dev/bootseal is '$perm', want '600 root root'"
note "/dev/bootseal: $perm"
if [ $rules_applied = 1 ]; then
	udevadm test --action=add /devices/virtual/misc/bootseal > /tmp/udevtest.log 2>&1 || true
	grep -E '99-bootseal\.rules:[0-9]+ MODE 0600' /tmp/udevtest.log ||
		{ tail -n 30 /tmp/udevtest.log; die "udev did not apply MODE 0600 from 99-bootseal.rules"; }
else
	note "systemd-udevd not running: the udev rule is not exercised (the kernel default is checked above)"
fi

# The netlink family answers (a dump of no sessions).
"$BOOTSEAL" status > /tmp/status.out || die "bootseal status failed with the DKMS module loaded"

# bootseal --version: both versions; a warning only when they differ.
helper=$("$BOOTSEAL" --version 2> /tmp/version.err | sed -n 's/^bootseal //p')
"$BOOTSEAL" --version 2> /tmp/version.err | tee /tmp/version.out
grep -qx "module   $want" /tmp/version.out || die "bootseal --version does not show the module's version $want"
if [ "$helper" = "$want" ]; then
	[ ! -s /tmp/version.err ] || die "bootseal --version warned although the versions match: $(cat /tmp/version.err)"
else
	grep -q 'differ' /tmp/version.err || die "bootseal --version did not warn: helper $helper, module $want"
fi
# Force a mismatch by covering the sysfs attribute with another version.
echo "0.0.0-other" > /tmp/fakever
mount --bind /tmp/fakever /sys/module/bootseal/version
"$BOOTSEAL" --version > /tmp/version.out 2> /tmp/version.err || true
umount /sys/module/bootseal/version
cat /tmp/version.out /tmp/version.err
grep -qx 'module   0.0.0-other' /tmp/version.out || die "bootseal --version did not read /sys/module/bootseal/version"
grep -q "warning: the helper ($helper) and the loaded module (0.0.0-other) differ" /tmp/version.err ||
	die "bootseal --version did not warn about differing versions"

unload_bootseal
"$BOOTSEAL" --version | grep -qx 'module   not loaded' || die "bootseal --version does not say 'not loaded' after rmmod"
check_dmesg
note "DKMS-built module $want loaded and unloaded on $k"

#!/bin/bash
# The guest is usable: the host's tools, writable scratch, the built helper.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
touch /tmp/x && rm /tmp/x
[ -x "$BOOTSEAL" ] || die "helper not built: $BOOTSEAL"
"$BOOTSEAL" --version | grep -q '^bootseal ' || die "bootseal --version"
modprobe brd rd_nr=1 rd_size=4096 || die "modprobe brd"
[ -b /dev/ram0 ] || die "/dev/ram0 missing"
settle
rmmod brd

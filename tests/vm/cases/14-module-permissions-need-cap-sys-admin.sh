#!/bin/bash
# Permissions: without CAP_SYS_ADMIN /dev/bootseal cannot be opened (EPERM),
# a descriptor opened by root is useless after dropping it (EPERM on every
# ioctl), an unprivileged user cannot open it (EACCES, mode 0600), and the
# netlink GET needs CAP_NET_ADMIN.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=8192 max_part=0
B="$TOOLS/bsctl"
nocap() { setpriv --inh-caps=-all --bounding-set=-sys_admin "$@"; }
nocap "$B" status expect=EPERM || die "open without CAP_SYS_ADMIN"
setpriv --reuid=65534 --regid=65534 --clear-groups "$B" status expect=EACCES ||
	die "open as nobody"
exec 3<>/dev/bootseal
nocap "$B" --fd 3 status expect=EPERM attach /dev/ram0 head=4K expect=EPERM ||
	die "ioctl on an inherited fd without CAP_SYS_ADMIN"
"$B" --fd 3 status state=NONE || die "the same fd with the capability"
exec 3>&-
if setpriv --inh-caps=-all --bounding-set=-net_admin "$TOOLS/nlwatch" dump 2>/tmp/err; then
	die "GET without CAP_NET_ADMIN succeeded"
fi
grep -q "Operation not permitted" /tmp/err || { cat /tmp/err; die "GET: wrong error"; }
unload_bootseal
rmmod brd
check_dmesg

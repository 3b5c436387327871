#!/bin/bash
# Bad input: unknown ioctl -> ENOTTY; reserved fields / unknown flags /
# unterminated path / bad head length / misaligned or out-of-range writes
# -> EINVAL; bad pointers -> EFAULT; WRITE/COMMIT/ABORT before ATTACH or
# after COMMIT -> EBADFD; malformed netlink GET -> error with extack text.
# None of it WARNs or logs anything.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; umount /tmp/mnt 2>/dev/null; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=2 rd_size=16384 max_part=0
B="$TOOLS/bsctl"
before=$(dmesg | grep -c bootseal || true)

"$B" ioctl 0xb5ff expect=ENOTTY ioctl 0x5401 expect=ENOTTY || die "unknown ioctl"
"$B" status state=NONE write 0 4K expect=EBADFD commit expect=EBADFD abort expect=EBADFD ||
	die "ioctls before ATTACH"
"$B" status ptr=bad expect=EFAULT || die "STATUS with a bad pointer"
"$B" attach /dev/ram0 ptr=bad expect=EFAULT || die "ATTACH with a bad pointer"
"$B" attach /dev/ram0 flags=1 expect=EINVAL || die "unknown attach flag"
"$B" attach /dev/ram0 reserved0=1 expect=EINVAL || die "reserved0"
"$B" attach /dev/ram0 reserved=1 expect=EINVAL || die "reserved[]"
"$B" attach /dev/ram0 path=unterminated expect=EINVAL || die "unterminated path"
"$B" attach /dev/ram0 head=0 expect=EINVAL || die "zero head"
"$B" attach /dev/ram0 head=1000 expect=EINVAL || die "head not a multiple of the block size"
"$B" attach /dev/ram0 head=8M expect=EINVAL || die "head above max_head_len"
unload_bootseal
load_bootseal max_head_len=$((64 << 20))
"$B" attach /dev/ram0 head=32M expect=EINVAL || die "head larger than the device"

"$B" attach /dev/ram0 head=64K \
	write 512 4K \
	write 100 512 expect=EINVAL \
	write 0 100 expect=EINVAL \
	write 0 0 expect=EINVAL \
	write 0 $((16 * 1024 * 1024 + 512)) expect=EINVAL \
	write $((16 * 1024 * 1024 - 512)) 1024 expect=EINVAL \
	write $((16 * 1024 * 1024)) 512 expect=EINVAL \
	write 0x7ffffffffffffe00 512 expect=EINVAL \
	write 0 4K flags=2 expect=EINVAL \
	write 0 4K flags=0x80000000 expect=EINVAL \
	write 1M 4K flags=1 misalign=100 expect=EINVAL \
	write 1M 4K flags=1 buf=bad expect=EFAULT \
	write 1M 4K flags=1 misalign=512 \
	write 0 4K flags=1 \
	write 0 4K reserved=1 expect=EINVAL \
	write 1M 4K buf=bad expect=EFAULT \
	write 0 4K buf=bad expect=EFAULT \
	write 0 4K ptr=bad expect=EFAULT \
	status state=WRITING \
	commit status state=SEALED \
	write 0 4K expect=EBADFD commit expect=EBADFD abort expect=EBADFD || die "bad WRITEs"
"$B" attach /dev/ram0 head=64K abort status state=ABORTED write 0 4K expect=EBADFD \
	commit expect=EBADFD || die "ioctls after ABORT"

N="$TOOLS/nlwatch"
"$N" bad noid EINVAL "missing session id" || die "GET without id"
"$N" bad bad-id ENOENT "no such session" || die "GET with an unknown id"
"$N" bad unknown-attr EINVAL || die "GET with an unknown attribute"
"$N" bad unspec-attr EINVAL || die "GET with an attribute that has no policy"
"$N" bad short-id EINVAL || die "GET with a 4-byte session id"
"$N" bad dump-unknown-attr EINVAL || die "dump with an unknown attribute"

after=$(dmesg | grep -c bootseal || true)
[ "$after" -le $((before + 1)) ] || { dmesg | tail -20; die "user mistakes were logged"; }
unload_bootseal
rmmod brd
check_dmesg

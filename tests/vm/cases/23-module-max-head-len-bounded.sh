#!/bin/bash
# max_head_len is bounded and checked: writes to the parameter and load
# options that are not a multiple of 512 in [512, 64 MiB] (0, 100, 513,
# 2^31, 2^32-1, 64 MiB + 512, -1, text) are refused with EINVAL and leave
# the value alone, so no head allocation can reach kvmalloc's INT_MAX
# warning; the bounds themselves are accepted. The head buffer is charged
# to the memory cgroup of the process that attaches (memory.current of a
# cgroup holding a session with a 32 MiB head drops by at least 32 MiB
# when the session ends).
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
P=/sys/module/bootseal/parameters/max_head_len
cg=
mounted=0
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; [ -n "$cg" ] && rmdir $cg; [ $mounted = 1 ] && umount /sys/fs/cgroup; rmmod bootseal null_blk 2>/dev/null; exit $rc' EXIT

modprobe dm-mod
for v in 0 4294967295 100; do
	if insmod "$KO" max_head_len=$v 2>/tmp/err; then
		rmmod bootseal
		die "the module loaded with max_head_len=$v"
	fi
done
load_bootseal
[ "$(cat $P)" = 4194304 ] || die "default max_head_len is $(cat $P)"
for v in 0 100 513 2147483648 4294967295 67109376 -1 abc 4M ""; do
	if echo "$v" > $P 2>/tmp/err; then die "max_head_len=$v was accepted (now $(cat $P))"; fi
	grep -q 'Invalid argument\|Numerical result out of range' /tmp/err || { cat /tmp/err; die "max_head_len=$v: wrong error"; }
	[ "$(cat $P)" = 4194304 ] || die "max_head_len=$v changed the value to $(cat $P)"
done
for v in 512 67108864 4194304; do
	echo $v > $P || die "max_head_len=$v was refused"
	[ "$(cat $P)" = $v ] || die "max_head_len=$v reads back as $(cat $P)"
done

note "the head buffer is charged to the caller's memory cgroup"
modprobe null_blk nr_devices=1 gb=1
settle
echo $((32 << 20)) > $P
if ! grep -q cgroup2 /proc/mounts; then
	mount -t cgroup2 none /sys/fs/cgroup || die "cannot mount cgroup2"
	mounted=1
fi
grep -qw memory /sys/fs/cgroup/cgroup.controllers || skip "no memory controller"
echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
cg=/sys/fs/cgroup/bootseal-test
mkdir $cg
sh -c 'echo $$ > '$cg'/cgroup.procs && exec "$0" attach /dev/nullb0 head=32M sleep 5000' \
	"$TOOLS/bsctl" > /tmp/out 2>&1 &
holder=$!
for i in $(seq 100); do grep -q '^attach: OK' /tmp/out && break; sleep 0.1; done
grep -q '^attach: OK' /tmp/out || { cat /tmp/out; die "attach with a 32 MiB head failed"; }
cur=$(cat $cg/memory.current)
echo "memory.current while the session holds a 32 MiB head: $cur"
wait $holder || { cat /tmp/out; die "holder failed"; }
after=$(cat $cg/memory.current)
echo "after the session: $after"
[ $((cur - after)) -ge $((32 << 20)) ] ||
	die "the 32 MiB head buffer was not charged to the cgroup (only $((cur - after)) bytes went with the session)"
rmdir $cg; cg=
unload_bootseal
rmmod null_blk
check_dmesg

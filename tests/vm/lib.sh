# shellcheck shell=bash
# Sourced by every VM case. Provides the environment and small helpers;
# each case is a script whose exit status is its result (77 = skipped).
set -euo pipefail

: "${BOOTSEAL_SRC:?run cases through tests/vm/run}"
: "${KO:=$BOOTSEAL_SRC/build/kmod/$(uname -r)/bootseal.ko}"
: "${BOOTSEAL:=$BOOTSEAL_SRC/build/bootseal}"
: "${TOOLS:=$BOOTSEAL_SRC/build/tools}"
export BOOTSEAL_SRC KO BOOTSEAL TOOLS

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "--- $*"; }

# expect_fail CMD...: CMD must exit non-zero.
expect_fail() {
	if "$@"; then die "expected failure: $*"; fi
	return 0
}

# expect_errno ERRNAME CMD...: CMD must fail and print ERRNAME (e.g. EBUSY).
expect_errno() {
	local want=$1 out; shift
	if out=$("$@" 2>&1); then die "expected $want, succeeded: $*"; fi
	grep -q "$want" <<<"$out" || die "expected $want from '$*', got: $out"
}

load_bootseal() {
	[ -f "$KO" ] || die "no module at $KO (run make modules-all)"
	# the module registers a device-mapper target: dm-mod first (insmod
	# resolves no dependencies)
	modprobe dm-mod
	insmod "$KO" "$@"
	udevadm settle 2>/dev/null || true
	local i
	for i in $(seq 50); do [ -c /dev/bootseal ] && return 0; sleep 0.1; done
	die "/dev/bootseal did not appear"
}

unload_bootseal() {
	grep -q '^bootseal ' /proc/modules || return 0
	rmmod bootseal || die "bootseal module could not be unloaded (leaked reference?)"
}

# Fails the case on any kernel complaint since the case started.
check_dmesg() {
	if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|INFO: task .* blocked'; then
		die "kernel complained (see above)"
	fi
}

# mkimg FILE BYTES: compressible test data (xz is slow under TCG) with some
# random blocks, so that misplaced data cannot compare equal by accident
mkimg() {
	{ yes "bootseal test image $RANDOM" || true; } | head -c "$2" > "$1"
	local i
	for i in $(seq 0 $(( $2 / 1048576 ))); do
		head -c 4096 /dev/urandom | dd of="$1" bs=4096 seek=$(( i * 256 + 17 )) conv=notrunc status=none
	done
	truncate -s "$2" "$1"
}

settle() { udevadm settle 2>/dev/null || sleep 0.5; }

# brd_disks N MIB: bootseal.ko, then N RAM disks /dev/ram0... of MIB MiB
# each, with partitions (dev=/dev/ram0). On exit the case's own
# case_cleanup runs first when it defines one, then both modules go.
brd_disks() {
	trap brd_cleanup EXIT
	load_bootseal
	modprobe brd rd_nr="$1" rd_size=$(($2 * 1024)) max_part=8
	dev=/dev/ram0
}

brd_cleanup() {
	if declare -F case_cleanup >/dev/null; then case_cleanup; fi
	{ rmmod bootseal; rmmod brd; } 2>/dev/null || true
}

# ram0_dm NAME TABLE: a 16 MiB RAM disk /dev/ram0 (no partitions) under the
# device-mapper device NAME of TABLE (dm-delay is loaded for it).
ram0_dm() {
	modprobe brd rd_nr=1 rd_size=16384 max_part=0
	modprobe dm-delay 2>/dev/null || true
	echo "$2" | dmsetup create "$1"
	settle
}

# nullb_on ATTR=VALUE...: a null_blk disk made through configfs in the
# folder $nb (set by the case, whose EXIT trap removes it), with each ATTR
# written before it is powered on; dev is its block device.
nullb_on() {
	local a
	modprobe null_blk nr_devices=0
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	mkdir "$nb"
	for a in "$@"; do echo "${a#*=}" > "$nb/${a%%=*}"; done
	echo 1 > "$nb/power"
	settle
	dev=/dev/${nb##*/}; [ -b "$dev" ] || dev=/dev/nullb$(cat "$nb/index")
	[ -b "$dev" ] || die "no null_blk device"
}

# nullb_logs_flushes: $dev has a volatile write cache, so that dm-log-writes
# over it logs the flushes.
nullb_logs_flushes() {
	[ "$(cat "/sys/block/$(basename "$dev")/queue/write_cache")" = "write back" ] ||
		die "null_blk has no volatile write cache: flushes would not be logged"
}

# sparse_gpt_image FILE: a 24 MiB GPT image with two partitions whose data
# is 1 MiB at 2 MiB and 3 MiB at 5 MiB (from mkimg); the rest is holes, for
# bmaptool create.
sparse_gpt_image() {
	truncate -s 24M "$1"
	printf 'label: gpt\nstart=2048, size=4096\nstart=8192, size=8192\n' | sfdisk -q "$1"
	mkimg /tmp/data $((4 * 1024 * 1024))
	dd if=/tmp/data of="$1" bs=1M count=1 seek=2 conv=notrunc status=none
	dd if=/tmp/data of="$1" bs=1M skip=1 count=3 seek=5 conv=notrunc status=none
}

# scsi_debug_disk: prints the name (sdX) of the scsi_debug disk once it has
# appeared (at most 5 s after modprobe scsi_debug); fails the case otherwise.
scsi_debug_disk() {
	local i m
	for i in $(seq 50); do
		for m in /sys/block/sd*/device/model; do
			if [ -e "$m" ] && grep -q scsi_debug "$m"; then
				basename "$(dirname "$(dirname "$m")")"
				return 0
			fi
		done
		sleep 0.1
	done
	die "no scsi_debug disk"
}

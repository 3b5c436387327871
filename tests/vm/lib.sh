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

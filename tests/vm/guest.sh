#!/bin/bash
# Runs as PID 1 inside the test VM, on the host's root (read-only 9p).
# Runs every case named in $OUT/cases and reports each result on the
# dedicated results channel, /dev/ttyS1. Case output goes to $OUT/<case>.log
# on the writable share; the console gets only the kernel's messages.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
res=/dev/ttyS1
report() { echo "$*" > "$res"; }
finish() { sync; echo o > /proc/sysrq-trigger; sleep 10; }

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t configfs configfs /sys/kernel/config 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# The initramfs mounted the run's output share here, and the shares it lists.
OUT=/run/bootseal-out
if ! mountpoint -q "$OUT"; then
	report "ERROR the output share is not mounted"
	finish
fi
shares=()
while read -r _ path; do shares+=("$path"); done < "$OUT/shares"
# in_share PATH: PATH is a share or lies inside one.
in_share() {
	local s
	for s in "${shares[@]}"; do
		case "$1/" in "$s"/*) return 0 ;; esac
	done
	return 1
}
# holds_share PATH: a share lies below the folder PATH.
holds_share() {
	local s
	for s in "${shares[@]}"; do
		case "$s/" in "$1"/?*) return 0 ;; esac
	done
	return 1
}
# clean_tmp DIR: removes everything in DIR but the shares and the folders on
# the way to them.
clean_tmp() {
	local f
	for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		if in_share "$f"; then
			continue
		elif [ -d "$f" ] && [ ! -L "$f" ] && holds_share "$f"; then
			clean_tmp "$f"
		else
			rm -rf "$f" 2>/dev/null
		fi
	done
}
# shellcheck disable=SC1091
. "$OUT/env"
export BOOTSEAL_SRC OUT
export KO=${BOOTSEAL_KO:-$BOOTSEAL_SRC/build/kmod/$(uname -r)/bootseal.ko}
export BOOTSEAL=$BOOTSEAL_SRC/build/bootseal
export TOOLS=$BOOTSEAL_SRC/build/tools

hostname bootseal-vm
ip link set lo up 2>/dev/null
sysctl -qw kernel.hung_task_timeout_secs=60 kernel.hung_task_panic=1 \
	kernel.softlockup_panic=1 kernel.panic_on_oops=1 kernel.printk="4 4 1 7" 2>/dev/null
if [ "${BOOTSEAL_UDEV:-1}" = 1 ] && [ -x /lib/systemd/systemd-udevd ]; then
	mkdir -p /run/udev
	/lib/systemd/systemd-udevd --daemon --resolve-names=never 2>/dev/null
fi

report "BOOTED $(uname -r)"
while read -r case; do
	[ -n "$case" ] || continue
	name=$(basename "$case" .sh)
	log="$OUT/$name.log"
	report "START $name"
	# Every case starts with an empty /tmp: nothing one case leaves behind
	# (images, bmaps, mounts) may change what the next one sees.
	# A share (a checkout or a script's folder under /tmp) stays.
	awk '$2 ~ "^/tmp/" { print $2 }' /proc/mounts | sort -r | while read -r m; do
		in_share "$m" || umount -l "$m" 2>/dev/null
	done
	clean_tmp /tmp
	dmesg -C
	[ "${KMEMLEAK:-0}" = 1 ] && echo clear > /sys/kernel/debug/kmemleak 2>/dev/null
	start=$(date +%s)
	(cd /tmp && exec timeout -k 10 "$CASE_TIMEOUT" bash "$case") > "$log" 2>&1 < /dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	dmesg > "$OUT/$name.dmesg"
	verdict=pass
	if grep -qE 'WARNING:|BUG:|Oops|general protection|memory leak|INFO: task .* blocked|bootseal.*(still|leak)' "$OUT/$name.dmesg"; then
		verdict=fail rc="kernel-complaint"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		verdict=timeout
	elif [ $rc -eq 77 ]; then
		verdict=skip
	elif [ $rc -ne 0 ]; then
		verdict=fail
	fi
	# A case must not leave the module behind; unloading proves no leaked references.
	if grep -q '^bootseal ' /proc/modules && ! rmmod bootseal 2>> "$log"; then
		[ "$verdict" = pass ] && verdict=fail rc="module-left-busy"
	fi
	# Test block drivers a case left loaded would keep their sizes and
	# devices into the next case; unload them (udev may still hold them).
	udevadm settle 2>/dev/null
	for m in brd null_blk scsi_debug; do
		grep -q "^$m " /proc/modules && { rmmod "$m" 2>/dev/null || { sleep 1; rmmod "$m"; }; } 2>/dev/null
	done
	# With --kmemleak: after the case and the unloads, anything unreferenced
	# that was allocated during the case is a leak (objects younger than
	# 5 s are not reported yet, hence the wait; two scans, as the kernel's
	# documentation advises against transient false positives).
	if [ "${KMEMLEAK:-0}" = 1 ]; then
		if [ -w /sys/kernel/debug/kmemleak ]; then
			sleep 6
			echo scan > /sys/kernel/debug/kmemleak; echo scan > /sys/kernel/debug/kmemleak
			cat /sys/kernel/debug/kmemleak > "$OUT/$name.kmemleak"
			if [ -s "$OUT/$name.kmemleak" ]; then
				echo "kmemleak: $(grep -c '^unreferenced object' "$OUT/$name.kmemleak") leaks:" >> "$log"
				head -n 40 "$OUT/$name.kmemleak" >> "$log"
				[ "$verdict" = pass ] && verdict=fail rc=kmemleak
			fi
		else
			echo "kmemleak: not available in this kernel" >> "$log"
			[ "$verdict" = pass ] && verdict=fail rc=no-kmemleak
		fi
	fi
	report "RESULT $name $verdict $rc $secs"
done < "$OUT/cases"
report "DONE"
finish

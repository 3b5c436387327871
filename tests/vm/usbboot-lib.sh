# shellcheck shell=bash
# Sourced by the 60-usbboot-* VM cases (after lib.sh): USB gadget set-up for
# the fake Compute Module (tests/tools/fakecm.c) and the firmware directory.
#
#   usb_case N [--module]   the start of every case: the EXIT trap, the
#                      module (--module), usb_setup N and usb_firmware
#   usb_setup N        load dummy_hcd with N UDCs/ports, gadgetfs, configfs
#   usb_firmware       sets FW: the fetched blobs/ if intact, else a stand-in
#                      with the same names and sizes (and says so)
#   usb_image MIB OFFSETS P1 P2   a partitioned test image: img, size, $img.xz
#   fake_start LOG ARGS...   start a fake in the background (FAKE_PID)
#   fake_wait_log LOG PATTERN SECS
#   fake_fault NAME ARGS...  a fake with --fault NAME, run to its end
#   usb_faults, usb_faults_good, usb_faults_check   the faults every chip's
#                      boot must survive, in one `bootseal boot` run
#   bs_start OUT ERR ARGS... bootseal in the background (bpid); bs_wait and
#                      bs_interrupt end it and set rc to its exit status
#   wait_flashed N BACKING, flashed_once PORT...   flash --usbboot --loop output
#   log_has FILE LINE...     FILE holds each LINE
#   usb_end            no fake failed a check; teardown, module unloads, dmesg
#   usb_teardown       stop fakes, unload the modules (raw_gadget too, if loaded)

: "${FAKECM:=$TOOLS/fakecm}"
FAKE_PIDS=()
USB_MODULE=0
bpid=

# usb_case N [--module]: an EXIT trap that stops the background bootseal
# ($bpid), the fakes and the gadget modules, and unloads bootseal.ko when
# --module loaded it; then N UDCs and the firmware (FW).
usb_case() {
	trap usb_cleanup EXIT
	if [ "${2:-}" = --module ]; then
		USB_MODULE=1
		load_bootseal
	fi
	usb_setup "$1"
	usb_firmware
}

usb_cleanup() {
	{ [ -z "$bpid" ] || kill "$bpid" 2>/dev/null || true; }
	usb_teardown
	[ "$USB_MODULE" = 0 ] || unload_bootseal 2>/dev/null || true
}

# usb_end: the common end of a case: no fake reported a failed check, the
# gadgets are gone, bootseal.ko (when usb_case loaded it) unloads, and the
# kernel did not complain.
usb_end() {
	grep -q 'FAIL' /tmp/fake*.log && die "a fake reported a failed check"
	usb_teardown
	[ "$USB_MODULE" = 0 ] || unload_bootseal
	check_dmesg
}

usb_setup() {
	local n=${1:-2}
	[ -x "$FAKECM" ] || die "no fake Compute Module at $FAKECM (run make tools)"
	modprobe dummy_hcd num="$n" || skip "dummy_hcd not available in this kernel"
	modprobe gadgetfs || skip "gadgetfs not available in this kernel"
	modprobe libcomposite || die "libcomposite missing"
	modprobe usb_f_mass_storage || die "usb_f_mass_storage missing"
	mkdir -p /dev/gadget
	mountpoint -q /dev/gadget || mount -t gadgetfs gadgetfs /dev/gadget
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	[ -e /dev/gadget/dummy_udc ] || die "gadgetfs has no dummy_udc ep0 file"
}

usb_firmware() {
	if (cd "$BOOTSEAL_SRC/blobs" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1; then
		FW=$BOOTSEAL_SRC/blobs
		note "using the real firmware from $FW (all files match SHA256SUMS)"
		return 0
	fi
	FW=/tmp/fw-standin
	echo "NOTE: the real usbboot firmware is not fetched (run 'make blobs')." \
		"Using a STAND-IN firmware directory with the same names and sizes: $FW"
	rm -rf "$FW"
	mkdir -p "$FW/raspberrypi/overlays" "$FW/cm4"
	local f size
	while read -r f size; do
		head -c "$size" /dev/urandom > "$FW/$f"
	done <<'LIST'
raspberrypi/bootcode.bin 52116
raspberrypi/config.txt 104
raspberrypi/start_cd.elf 523192
raspberrypi/fixup_cd.dat 2621
raspberrypi/bcm2710-rpi-cm3.dtb 24087
raspberrypi/overlays/dwc2.dtbo 852
raspberrypi/kernel.img 11696408
raspberrypi/kernel7.img 15155200
cm4/bootcode.bin 106008
cm4/start4.elf 301628
LIST
}

# fake_start LOG ARGS...: one fake in the background; FAKE_PID is its pid.
fake_start() {
	local log=$1; shift
	"$FAKECM" "$@" > "$log" 2>&1 &
	FAKE_PID=$!
	FAKE_PIDS+=("$FAKE_PID")
}

# fake_wait_log LOG PATTERN SECS: wait until the fake's log shows PATTERN.
fake_wait_log() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$1" >&2
	die "fake did not reach '$2' within $3 s"
}

# fake_fault NAME ARGS...: a fake with ARGS and --fault NAME, a fault that
# ends the fake by itself: run it to the end; it must pass its own checks and
# say it delivered the fault.
fake_fault() {
	local name=$1; shift
	note "fault $name"
	fake_start "/tmp/fake-$name.log" "$@" --fault "$name"
	wait "$FAKE_PID" || { cat "/tmp/fake-$name.log"; die "fake ($name) failed its own checks"; }
	grep -q "FAULT $name" "/tmp/fake-$name.log" || { cat "/tmp/fake-$name.log"; die "fault $name not delivered"; }
	sleep 1
}

# usb_faults ARGS...: the four faults that end a board (ROM status 5,
# disconnect mid-upload, a request reply held past the host's step timeout,
# an unknown command), one after another, each a fake with ARGS and the eMMC
# /tmp/cm-a.img (8 MiB; /tmp/cm-b.img too, for usb_faults_good).
usb_faults() {
	truncate -s 8M /tmp/cm-a.img /tmp/cm-b.img
	fake_fault rom-status "$@" --backing /tmp/cm-a.img
	fake_fault disconnect-upload "$@" --backing /tmp/cm-a.img
	fake_fault hold-reply "$@" --backing /tmp/cm-a.img --hold 12
	fake_fault bad-command "$@" --backing /tmp/cm-a.img
}

# usb_faults_good ARGS... [-- PORT2ARGS...]: two good boards, fakes with ARGS,
# that reach mass storage: on port 1 (/tmp/cm-a.img) one that asks for a
# missing file, on port 2 (/tmp/cm-b.img, with PORT2ARGS too) one that asks
# for traversal names.
usb_faults_good() {
	local a=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a+=("$1"); shift; done
	[ $# -eq 0 ] || shift
	note "good board with a missing-file request (port 1)"
	fake_start /tmp/fake-missing.log "${a[@]}" --backing /tmp/cm-a.img --fault missing-file
	fake_wait_log /tmp/fake-missing.log "stage C:" 60
	note "good board with traversal names (port 2)"
	fake_start /tmp/fake-dotdot.log "${a[@]}" --backing /tmp/cm-b.img "$@" --fault dotdot
	fake_wait_log /tmp/fake-dotdot.log "stage C:" 60
}

# usb_faults_check: the end of a `bootseal boot` run (bs_start, output in
# /tmp/boot.out and /tmp/boot.err) through usb_faults and usb_faults_good:
# exit status 7, each fault's error names port 1-1 and the step, the missing
# file and the traversal names were answered size 0, and exactly the two good
# boards are reported ready.
usb_faults_check() {
	bs_wait
	cat /tmp/boot.err; echo "--- stdout"; cat /tmp/boot.out; cat /tmp/fake-*.log
	[ $rc -eq 7 ] || die "bootseal boot exited $rc, expected 7 (some devices failed)"
	log_has /tmp/boot.err \
		"usb 1-1: Unable to boot (ROM stage): the ROM refused bootcode.bin with status 0x00000005" \
		"usb 1-1: Unable to send bootcode.bin (ROM stage, " \
		"usb 1-1: Unable to read file request" \
		"no request within the step timeout" \
		"usb 1-1: Unable to serve request" \
		"unknown command 7" \
		"usb 1-1: bootseal-missing.bin: not in the firmware set, answered size 0" \
		"usb 2-1: refused file name '../../../etc/passwd' ('..' in name (path traversal)), answered size 0" \
		"usb 2-1: refused file name '/etc/passwd' (absolute path), answered size 0"
	grep -Eq '^usb 1-1 -> /dev/sd[a-z]+ \(8\.4 MB\)$' /tmp/boot.out || die "port 1-1 not reported ready"
	grep -Eq '^usb 2-1 -> /dev/sd[a-z]+ \(8\.4 MB\)$' /tmp/boot.out || die "port 2-1 not reported ready"
	[ "$(wc -l < /tmp/boot.out)" -eq 2 ] || die "expected exactly two ready lines"
}

# log_has FILE LINE...: FILE holds each LINE (a fixed string).
log_has() {
	local f=$1 l; shift
	for l in "$@"; do grep -qF -- "$l" "$f" || die "$f: missing line: $l"; done
}

# bs_start OUT ERR ARGS...: `bootseal ARGS` in the background, its stdout in
# OUT and stderr in ERR; bpid is its pid (the EXIT trap kills it).
bs_start() {
	local out=$1 err=$2; shift 2
	"$BOOTSEAL" "$@" > "$out" 2> "$err" &
	bpid=$!
}

# bs_wait: give it up to 60 s to end by itself; rc is its exit status.
bs_wait() {
	local _
	for _ in $(seq 600); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
	rc=0
	wait "$bpid" || rc=$?
	bpid=
}

# bs_interrupt: end it with SIGINT (a --loop takes no new board); rc is its
# exit status.
bs_interrupt() {
	kill -INT "$bpid"
	rc=0
	wait "$bpid" || rc=$?
	bpid=
}

# usb_image MIB OFFSETS P1 P2: img=/tmp/img, MIB MiB + 777 bytes, mostly
# zeros (xz of much random data takes minutes under TCG) with 256 KiB of
# random data at each MiB in OFFSETS and 777 random bytes at the end; a DOS
# table with a FAT partition of P1 sectors at sector 2048 and a Linux one of
# P2 sectors right after it. Sets size (its bytes) and writes $img.xz.
usb_image() {
	local mib=$1 p1=$3 p2=$4 off
	img=/tmp/img
	truncate -s $((mib * 1024 * 1024 + 777)) "$img"
	for off in $2; do
		head -c 262144 /dev/urandom | dd of="$img" bs=1M seek="$off" conv=notrunc status=none
	done
	head -c 777 /dev/urandom | dd of="$img" bs=1 seek=$((mib * 1024 * 1024)) conv=notrunc status=none
	printf 'label: dos\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
		"$p1" $((2048 + p1)) "$p2" | sfdisk -q "$img"
	size=$(stat -c %s "$img")
	xz -T2 -0 -k -f "$img"
}

# wait_flashed N BACKING: `flash --usbboot --loop` (output in /tmp/loop.out)
# has ended N boards (90 s at most), all N flashed, sealed and verified; the
# board's eMMC BACKING then equals the image.
wait_flashed() {
	local n=$1 backing=$2 _
	for _ in $(seq 900); do
		[ "$(grep -c 'flashed, sealed and verified\|FAILED' /tmp/loop.out)" -ge "$n" ] && break
		sleep 0.1
	done
	[ "$(grep -c 'flashed, sealed and verified' /tmp/loop.out)" -ge "$n" ] ||
		{ cat /tmp/loop.err /tmp/loop.out; die "board $n ($backing) not flashed"; }
	cmp -n "$size" "$img" "$backing" || die "board $n: eMMC $backing differs from the image"
}

# flashed_once PORT...: /tmp/loop.out has exactly one summary line for each
# PORT, and it says flashed, sealed and verified.
flashed_once() {
	local p
	for p in "$@"; do
		[ "$(grep -Ec "^usb $p -> /dev/sd[a-z]+: flashed, sealed and verified$" /tmp/loop.out)" -eq 1 ] ||
			die "port $p: not exactly one summary line"
	done
}

# fake_stop PID: SIGTERM (a fake in stage C removes its gadget), return its status.
fake_stop() {
	kill -TERM "$1" 2>/dev/null || true
	local rc=0
	wait "$1" || rc=$?
	return $rc
}

usb_teardown() {
	local p
	for p in "${FAKE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${FAKE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	FAKE_PIDS=()
	umount /dev/gadget 2>/dev/null || true
	rmmod usb_f_mass_storage gadgetfs raw_gadget 2>/dev/null || true
	rmmod libcomposite dummy_hcd 2>/dev/null || true
}

# shellcheck shell=bash
# Sourced by the 60-usbboot-* VM cases (after lib.sh): USB gadget set-up for
# the fake Compute Module (tests/tools/fakecm.c) and the firmware directory.
#
#   usb_setup N        load dummy_hcd with N UDCs/ports, gadgetfs, configfs
#   usb_firmware       sets FW: the fetched blobs/ if intact, else a stand-in
#                      with the same names and sizes (and says so)
#   fake_start LOG ARGS...   start a fake in the background (FAKE_PID)
#   fake_wait_log LOG PATTERN SECS
#   usb_teardown       stop fakes, unload the modules

: "${FAKECM:=$TOOLS/fakecm}"
FAKE_PIDS=()

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
	rmmod usb_f_mass_storage gadgetfs 2>/dev/null || true
	rmmod libcomposite dummy_hcd 2>/dev/null || true
}

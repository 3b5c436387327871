#!/bin/bash
# The benchmark, run inside the VM by tests/bench/run (through tests/vm/run).
#
# Environment (set by tests/bench/run):
#   BENCH_IMG        host directory with the images from mkimages.py
#   BENCH_SIZE_MB    size of raw.img in MiB
#   BENCH_THR_MB     size of thr.img in MiB (throttled cases)
#   BENCH_RUNS       timed runs per tool and case (the report takes the median)
#   BENCH_RSS_RUNS   runs per memory measurement (case 7)
#   BENCH_MBPS       null_blk throttle in MiB/s (cases 4 and 5)
#   BENCH_CASES      which cases to run, e.g. "1 2 6" (0: start-up, 8: strace,
#                    9: cost of the building blocks, 10: the staged path)
#   BENCH_TAG        name of the result directory under $OUT
#
# Every measurement is one line in $OUT/$BENCH_TAG/raw.tsv:
#   case target tool run seconds bytes rss_kb rc note [write_s verify_s]
# (rss_kb: peak RSS of the tool and its children; the last two: bootseal's own
# phase times from its --json summary)
# Run 0 of each tool is an untimed-for-the-median warm-up on a target filled
# with 0xff first, followed by a content check; runs 1..N rotate the order of
# the tools so that peers and bootseal alternate.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
set +e

: "${BENCH_IMG:?}" "${BENCH_SIZE_MB:?}" "${BENCH_THR_MB:?}" "${BENCH_TAG:?}"
: "${BENCH_RUNS:=3}" "${BENCH_RSS_RUNS:=1}" "${BENCH_MBPS:=20}" "${BENCH_CASES:=0 1 2 3 4 5 6 7 8 9 10}"
MIB=1048576
THR_REQ_KB=100 # max_sectors_kb of the throttled null_blk devices (see nullb_up)
R=$OUT/$BENCH_TAG
mkdir -p "$R/logs"
TSV=$R/raw.tsv
: > "$TSV"
W=/tmp/bench
mkdir -p "$W"
CFS=/sys/kernel/config/nullb

log() { echo "[$(date +%T)] $*"; }

# ---- environment -----------------------------------------------------------

meta() { printf '%s\t%s\n' "$1" "$2" >> "$R/meta.tsv"; }
: > "$R/meta.tsv"
meta kernel "$(uname -r)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
meta cpus "$(nproc)"
meta mem_mb "$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))"
meta xz "$(xz --version | head -1)"
meta zstd "$(zstd --version)"
meta bmaptool "$(bmaptool --version 2>&1 | head -1)"
meta dd "$(dd --version | head -1)"
meta bootseal "$("$BOOTSEAL" --version 2>&1 | head -1)"
meta throttled_request_kb "$THR_REQ_KB"

# Why bootseal cannot be measured in this run (empty when it can).
BS_WHY=
if [ ! -x "$BOOTSEAL" ]; then
	BS_WHY="the helper is not built ($BOOTSEAL)"
elif [ ! -f "$KO" ]; then
	BS_WHY="the module is not built for $(uname -r) ($KO)"
elif ! { modprobe dm-mod && insmod "$KO"; } 2> "$R/logs/insmod.log"; then
	BS_WHY="the module does not load: $(head -1 "$R/logs/insmod.log")"
else
	settle
	for _ in $(seq 50); do [ -c /dev/bootseal ] && break; sleep 0.1; done
	[ -c /dev/bootseal ] || BS_WHY="/dev/bootseal did not appear after loading the module"
fi
meta bootseal_unavailable "$BS_WHY"
log "bootseal: ${BS_WHY:-available}"

# ---- images ------------------------------------------------------------------

# stage NAME: copy an image from the (read-only 9p) host share to tmpfs so
# that reading it costs the same for every tool.
stage() {
	[ -f "$W/$1" ] || cp --sparse=always "$BENCH_IMG/$1" "$W/$1" || die "cannot stage $1"
}
unstage() { rm -f "$W/$1"; }

# ---- targets -----------------------------------------------------------------

brd_up() { # SIZE_MB -> /dev/ram0
	modprobe brd rd_nr=1 rd_size=$(( $1 * 1024 )) max_part=4 || die "modprobe brd"
	settle; [ -b /dev/ram0 ] || die "/dev/ram0 missing"
}
brd_down() { settle; rmmod brd || log "rmmod brd failed"; }

# raw_on_brd: raw.img staged, and a RAM disk of its size (/dev/ram0) that
# already holds it (for the read-back cases).
raw_on_brd() {
	stage raw.img
	brd_up "$BENCH_SIZE_MB"
	dd if="$W/raw.img" of=/dev/ram0 bs=4M oflag=direct status=none
}

nullb_mod() {
	grep -q '^null_blk ' /proc/modules || modprobe null_blk nr_devices=0 || die "modprobe null_blk"
	if [ ! -d "$CFS" ]; then
		modprobe configfs 2>/dev/null
		mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	fi
	[ -d "$CFS" ] || die "null_blk has no configfs directory $CFS"
}
NULLB=() # configfs names created
NB_DEV=
nullb_up() { # NAME SIZE_MB MEMORY_BACKED MBPS -> sets NB_DEV=/dev/nullbN
	local d=$CFS/$1
	nullb_mod
	mkdir "$d" || die "cannot create null_blk $1"
	NULLB+=("$1")
	echo "$2" > "$d/size" || die "null_blk size"
	echo "$3" > "$d/memory_backed" || die "null_blk memory_backed"
	if [ "$4" -gt 0 ]; then echo "$4" > "$d/mbps" || die "null_blk has no mbps throttle"; fi
	echo 1 > "$d/power" || die "cannot power on null_blk $1"
	settle
	# Newer kernels name the disk after the configfs directory, older ones
	# nullb<index>.
	local i
	for i in $(seq 50); do
		for NB_DEV in "/dev/$1" "/dev/nullb$(cat "$d/index")"; do
			[ -b "$NB_DEV" ] && break 2
		done
		sleep 0.1
	done
	[ -b "$NB_DEV" ] || die "no block device for null_blk $1 (index $(cat "$d/index"))"
	if [ "$4" -gt 0 ]; then
		# null_blk's throttle refills a budget of MBPS MiB/50 every 20 ms and
		# throws away what is left of it; a request that does not fit waits
		# for the next tick. With the default 127 KiB requests only 3 fit in
		# the 409.6 KiB of mbps=20 (93 % of the rate, for any writer); with
		# 100 KiB requests 4 fit (97.7 %), so the device delivers nearly
		# the rate it models. Every tool writes through the same setting.
		echo "$THR_REQ_KB" > "/sys/block/${NB_DEV#/dev/}/queue/max_sectors_kb" ||
			die "cannot set max_sectors_kb of $NB_DEV"
	fi
}
nullb_down_all() {
	local n
	settle
	for n in "${NULLB[@]}"; do
		echo 0 > "$CFS/$n/power"; rmdir "$CFS/$n"
	done
	NULLB=()
}

# fill_ff DEV BYTES: overwrite with 0xff so that a tool that skips data shows.
FF=$W/ff-4m
tr '\0' '\377' < /dev/zero | head -c $((4 * MIB)) > "$FF"
fill_ff() {
	local n=$(( ($2 + 4 * MIB - 1) / (4 * MIB) )) i
	for ((i = 0; i < n; i++)); do cat "$FF"; done |
		dd of="$1" bs=4M iflag=fullblock oflag=direct count=$n status=none 2>/dev/null
}

# ---- tools -------------------------------------------------------------------
# Every tool is a shell function run by timeit.py as bash -c 't_TOOL ARGS', so
# each carries the same overhead (one bash, no extra wrapper): timeit.py gives
# the wall time, the peak RSS (of the tool and its children) and stamps each
# output line with its arrival time, which splits bootseal's wall time into
# start-up, writing, sealing, verifying and exit (from its --json events).

ddw()         { dd bs=4M oflag=direct conv=fsync status=none "$@"; }
t_dd()        { ddw if="$1" of="$2"; }
t_xzdd()      { xz -dc "$1" | ddw iflag=fullblock of="$2"; }
t_zstddd()    { zstd -dcq "$1" | ddw iflag=fullblock of="$2"; }
t_bmap_nob()  { bmaptool -q copy --nobmap "$1" "$2"; }
t_bmap()      { bmaptool -q copy --bmap "${1%.img}.bmap" "$1" "$2"; }
t_rdd()       { dd if="$2" of=/dev/null bs=4M iflag=direct count=$(( $3 / 4194304 )) status=none; }
# --json: the summary gives bootseal's own write and verify phase times.
bsflash()     { "$BOOTSEAL" flash --yes --allow-fixed --json "$@"; }
t_bs()        { bsflash --no-verify --no-bmap "$@"; }
t_bs_verify() { bsflash "$@"; }
t_bs_bmap()   { bsflash --no-verify --bmap "${1%.img}.bmap" "$@"; }
t_bsv()       { "$BOOTSEAL" verify "$1" "$2"; }
# Case 0: process start-up alone (exec, dynamic linking, argument parsing).
t_bsver()     { "$BOOTSEAL" --version; }
t_ddver()     { dd --version; }
t_bmapver()   { bmaptool --version; }
# Case 5: the image to the first target only, or to all four at once (the
# peer as one dd process per target).
t_dd1()       { t_dd "$1" "$2"; }
t_dd4() {
	local img=$1 pids=() rc=0 p t; shift
	for t in "$@"; do ddw if="$img" of="$t" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
t_bs1()       { t_bs "$1" "$2"; }
t_bs4()       { t_bs "$@"; }
# Case 10: the same writer through a staged disk (device-mapper target
# bootseal, 1 MiB head): creating the stage (zeroing head and tail), the
# writer, the seal (flush, tail and head with FUA, read-back), the removal;
# and, as the control, through a plain dm-linear device over the same disk,
# created and removed the same way: what device-mapper and dmsetup cost
# here without the target. Both print a phase mark after each step (a
# {"type":"phase"} line, which timeit.py stamps with its arrival time), so
# the report splits their wall time into create, write, seal and remove.
# dmsetup waits for udev (its default, as for any user): the device node
# exists when it returns.
phase()       { printf '{"type":"phase","phase":"%s"}\n' "$1"; }
dmwrite()     { # WRITER IMG DEV TARGET ARGS: create, write, [seal,] remove
	local w=$1 img=$2 dev=$3 tt=$4 rc
	dmsetup create bsbench --table "0 $(blockdev --getsz "$dev") $tt $dev $5" || return 1
	phase created
	"$w" "$img" /dev/mapper/bsbench
	rc=$?
	phase written
	if [ $rc = 0 ] && [ "$tt" = bootseal ]; then
		dmsetup message bsbench 0 seal
		rc=$?
		phase sealed
	fi
	dmsetup remove bsbench || rc=1
	phase removed
	return $rc
}
staged()      { dmwrite "$1" "$2" "$3" bootseal 2048; }
# The straight writer of case 10 with the same marks around it, so that the
# writer's own time (created -> written) is compared like for like.
marked()      { local rc; phase created; "$@"; rc=$?; phase written; return $rc; }
t_wdd()       { marked t_dd "$@"; }
t_wbmap()     { marked t_bmap_nob "$@"; }
linear()      { dmwrite "$1" "$2" "$3" linear 0; }
t_bs_stdd()   { staged t_dd "$1" "$2"; }
t_bs_stbmap() { staged t_bmap_nob "$1" "$2"; }
t_lin_dd()    { linear t_dd "$1" "$2"; }
t_lin_bmap()  { linear t_bmap_nob "$1" "$2"; }
# The same through the helper's one-liner, one process for stage, seal and
# unstage (it also re-reads the partition table): the writer is started by
# "bootseal run" itself, onto the staged device's documented name.
bsrun()       { "$BOOTSEAL" run --yes --allow-fixed "$1" -- "${@:2}"; }
t_bs_rundd()  { bsrun "$2" dd bs=4M oflag=direct conv=fsync status=none if="$1" of="/dev/mapper/bootseal-${2#/dev/}"; }
t_bs_runbmap() { bsrun "$2" bmaptool -q copy --nobmap "$1" "/dev/mapper/bootseal-${2#/dev/}"; }
export -f ddw bsflash t_dd t_xzdd t_zstddd t_bmap_nob t_bmap t_rdd t_bs t_bs_verify t_bs_bmap \
	t_bsv t_bsver t_ddver t_bmapver t_dd1 t_dd4 t_bs1 t_bs4 phase dmwrite staged linear \
	t_bs_stdd t_bs_stbmap t_lin_dd t_lin_bmap marked t_wdd t_wbmap bsrun t_bs_rundd t_bs_runbmap
export BOOTSEAL
TIMEIT=$BOOTSEAL_SRC/tests/bench/timeit.py

is_bs() { case "$1" in bs*) return 0 ;; esac; return 1; }

# measure CASE TARGETNAME TOOL RUN BYTES ARGS...: run t_TOOL ARGS once.
measure() {
	local c=$1 tn=$2 tool=$3 run=$4 bytes=$5 rc rss secs
	shift 5
	local lg="$R/logs/$c-$tn-$tool-$run.log"
	if is_bs "$tool" && [ -n "$BS_WHY" ]; then
		printf '%s\t%s\t%s\t%s\t\t%s\t\t-\tnot measured: %s\n' "$c" "$tn" "$tool" "$run" "$bytes" "$BS_WHY" >> "$TSV"
		return 1
	fi
	# No drop_caches here: the programs and their libraries come over 9p, and
	# re-reading them for every run would measure 9p, not the tools (the
	# images are in tmpfs and the writes bypass or flush the page cache).
	sync
	local m
	m=$(/usr/bin/python3 "$TIMEIT" "$lg" -- bash -c '"$0" "$@"' "t_$tool" "$@")
	rc=$?
	secs=${m% *} rss=${m#* }
	[ -n "$m" ] || { secs='' rss=''; }
	local note='' phases=
	if [ "$rc" != 0 ]; then
		# bootseal's own error event if there is one, else the first other line
		note=$(sed -n 's/^@[0-9.]* //p' "$lg" | jq -rR 'fromjson? | select(.type == "error") | .message' 2>/dev/null | head -1)
		[ -n "$note" ] || note=$(sed -n 's/^@[0-9.]* //p' "$lg" | grep -v '^{\|^start$\|^end$' | head -1)
		note="exit $rc: $(echo "$note" | tr '\t' ' ' | cut -c1-200)"
	fi
	if is_bs "$tool"; then
		phases=$(sed -n 's/^@[0-9.]* //p' "$lg" | jq -rR 'fromjson? | select(.type == "summary") |
			[(.targets | map(.write_seconds // 0) | max), (.targets | map(.verify_seconds // 0) | max)] | @tsv' \
			2>/dev/null | tail -1)
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$tn" "$tool" "$run" \
		"$secs" "$bytes" "$rss" "$rc" "$note" "$phases" >> "$TSV"
	log "  case $c $tn $tool run $run: rc=$rc $(tail -1 "$TSV" | cut -f5)s ${rss:+rss=${rss}k} $note"
	return $rc
}

# check CASE TN TOOL REF DEV BYTES: after the warm-up run, the device must hold
# the reference image; a mismatch is recorded as a "check" line.
check() {
	local c=$1 tn=$2 tool=$3 ref=$4 dev=$5 bytes=$6 out
	if out=$(cmp -n "$bytes" "$ref" "$dev" 2>&1); then
		printf '%s\t%s\t%s\tcheck\t\t%s\t\t0\tcontent matches\n' "$c" "$tn" "$tool" "$bytes" >> "$TSV"
	else
		printf '%s\t%s\t%s\tcheck\t\t%s\t\t1\tcontent differs: %s\n' "$c" "$tn" "$tool" "$bytes" "$(echo "$out" | head -1 | tr '\t' ' ')" >> "$TSV"
		log "  case $c $tn $tool: CONTENT DIFFERS: $out"
	fi
}

# series CASE TN REF BYTES "TOOLS" ARGS...: warm-up + check per tool, then
# BENCH_RUNS rounds with the tool order rotated each round. REF is the image
# the first device in ARGS must hold afterwards ("" = no check). ARGS[1] is
# the device that is filled with 0xff before each warm-up.
series() {
	local c=$1 tn=$2 ref=$3 bytes=$4 tools r i n
	read -ra tools <<< "$5"
	shift 5
	local dev=${2:-}
	for t in "${tools[@]}"; do
		if is_bs "$t" && [ -n "$BS_WHY" ]; then measure "$c" "$tn" "$t" 0 "$bytes" "$@"; continue; fi
		[ -n "$ref" ] && fill_ff "$dev" "$bytes"
		measure "$c" "$tn" "$t" 0 "$bytes" "$@" && [ -n "$ref" ] && check "$c" "$tn" "$t" "$ref" "$dev" "$bytes"
	done
	n=${#tools[@]}
	for ((r = 1; r <= BENCH_RUNS; r++)); do
		for ((i = 0; i < n; i++)); do
			t=${tools[$(( (i + r - 1) % n ))]}
			measure "$c" "$tn" "$t" "$r" "$bytes" "$@"
		done
	done
}

want() { case " $BENCH_CASES " in *" $1 "*) return 0 ;; esac; return 1; }

SZ=$(( BENCH_SIZE_MB * MIB ))
THR=$(( BENCH_THR_MB * MIB ))

# ---- 0: start-up cost of each program -------------------------------------------
if want 0; then
	log "case 0: process start-up (--version)"
	series 0 none "" 0 "ddver bmapver bsver"
fi

# ---- 1: raw image -> brd and memory-backed null_blk ---------------------------
if want 1; then
	log "case 1: raw image ($BENCH_SIZE_MB MiB) -> brd, null_blk"
	stage raw.img
	brd_up "$BENCH_SIZE_MB"
	series 1 brd "$W/raw.img" "$SZ" "dd bmap_nob bs" "$W/raw.img" /dev/ram0
	brd_down
	nullb_up bsb1 "$BENCH_SIZE_MB" 1 0
	series 1 null_blk "$W/raw.img" "$SZ" "dd bmap_nob bs" "$W/raw.img" "$NB_DEV"
	nullb_down_all
fi

# ---- 2: .xz and .zst -> brd ---------------------------------------------------
if want 2; then
	log "case 2: compressed images -> brd"
	stage raw.img; stage raw.img.xz; stage raw.img.zst
	brd_up "$BENCH_SIZE_MB"
	series 2xz brd "$W/raw.img" "$SZ" "xzdd bmap_nob bs" "$W/raw.img.xz" /dev/ram0
	series 2zst brd "$W/raw.img" "$SZ" "zstddd bmap_nob bs" "$W/raw.img.zst" /dev/ram0
	brd_down
	unstage raw.img.zst; unstage raw.img.xz
fi

# ---- 3: sparse image + bmap -> brd --------------------------------------------
if want 3; then
	log "case 3: sparse image + bmap -> brd"
	stage sparse.img; stage sparse.bmap
	brd_up "$BENCH_SIZE_MB"
	# No content check by cmp (unmapped ranges are not written by design);
	# bmaptool and bootseal both check each range's checksum as they read it.
	series 3 brd "" "$SZ" "bmap bs_bmap" "$W/sparse.img" /dev/ram0
	brd_down
	unstage sparse.img
fi

# ---- 4: throttled null_blk, raw and xz ------------------------------------------
if want 4 || want 5; then
	unstage raw.img # room in the guest's /tmp (the later cases stage it again)
	stage thr.img; stage thr.img.xz
fi
if want 4; then
	log "case 4: throttled null_blk (mbps=$BENCH_MBPS), $BENCH_THR_MB MiB"
	nullb_up bst1 "$BENCH_THR_MB" 1 "$BENCH_MBPS"
	series 4raw null_blk-thr "$W/thr.img" "$THR" "dd bs" "$W/thr.img" "$NB_DEV"
	series 4xz null_blk-thr "$W/thr.img" "$THR" "xzdd bs" "$W/thr.img.xz" "$NB_DEV"
	nullb_down_all
fi

# ---- 5: four throttled targets at once -------------------------------------------
if want 5; then
	log "case 5: 4 throttled null_blk at once vs 1"
	t=()
	for i in 1 2 3 4; do nullb_up "bsq$i" "$BENCH_THR_MB" 1 "$BENCH_MBPS"; t+=("$NB_DEV"); done
	# one target and four targets alternate within each round
	series 5 null_blk-thr "" "$THR" "dd1 dd4 bs1 bs4" "$W/thr.img" "${t[@]}"
	nullb_down_all
fi

# ---- 6: verify read-back ------------------------------------------------------------
if want 6; then
	log "case 6: read-back: bootseal verify vs dd iflag=direct"
	raw_on_brd
	series 6 brd "" "$SZ" "rdd bsv" "$W/raw.img" /dev/ram0 "$SZ"
	brd_down
fi
unstage thr.img; unstage thr.img.xz

# ---- 7: helper peak RSS ------------------------------------------------------------------
if want 7; then
	log "case 7: bootseal peak RSS, 1 and 8 targets"
	stage raw.img
	modprobe dm_mod 2>/dev/null
	# Eight device-mapper targets over one memory-backed null_blk: all of them
	# receive the same bytes, so the backing store holds the image once.
	nullb_up bsm1 $(( 4 * BENCH_SIZE_MB )) 1 0
	nb=$NB_DEV
	secs=$(blockdev --getsz "$nb")
	m=()
	for i in 1 2 3 4 5 6 7 8; do
		dmsetup create --noudevsync "bsbench$i" --table "0 $secs linear $nb 0" || die "dmsetup create"
		m+=("/dev/mapper/bsbench$i")
	done
	dmsetup mknodes 2>/dev/null; settle
	BIG=$BENCH_IMG/big.img # read in place: only its mapped ranges are read
	for ((r = 1; r <= BENCH_RSS_RUNS; r++)); do
		measure 7raw x1 bs_verify "$r" "$SZ" --no-bmap "$W/raw.img" "${m[0]}"
		measure 7raw x8 bs_verify "$r" "$SZ" --no-bmap "$W/raw.img" "${m[@]}"
		measure 7big x1 bs_verify "$r" $(( 4 * SZ )) --bmap "$BENCH_IMG/big.bmap" "$BIG" "${m[0]}"
		measure 7big x8 bs_verify "$r" $(( 4 * SZ )) --bmap "$BENCH_IMG/big.bmap" "$BIG" "${m[@]}"
	done
	for i in 1 2 3 4 5 6 7 8; do dmsetup remove --noudevsync "bsbench$i"; done
	nullb_down_all
fi

# ---- 8: where bootseal's time goes: one untimed run under strace -------------------
if want 8 && [ -z "$BS_WHY" ] && command -v strace > /dev/null; then
	log "case 8: one bootseal run under strace (not timed)"
	stage raw.img
	brd_up "$BENCH_SIZE_MB"
	strace -f -tt -T -o "$R/logs/strace-flash.txt" "$BOOTSEAL" flash --yes --allow-fixed --json --no-verify --no-bmap \
		"$W/raw.img" /dev/ram0 > "$R/logs/strace-flash.log" 2>&1
	log "  strace run exit $?"
	brd_down
fi

# ---- 10: a writer through a staged disk vs straight onto it ------------------------
if want 10; then
	log "case 10: dd and bmaptool through a staged disk and through dm-linear vs straight, raw image -> null_blk"
	stage raw.img
	nullb_up bss1 "$BENCH_SIZE_MB" 1 0
	series 10dd null_blk "$W/raw.img" "$SZ" "wdd bs_stdd lin_dd bs_rundd" "$W/raw.img" "$NB_DEV"
	series 10bmap null_blk "$W/raw.img" "$SZ" "wbmap bs_stbmap lin_bmap bs_runbmap" "$W/raw.img" "$NB_DEV"
	nullb_down_all
fi

# ---- 9: what the building blocks cost here (to explain the ratios) ------------------
if want 9; then
	log "case 9: cost of reading, mapping, comparing and copying $BENCH_SIZE_MB MiB"
	raw_on_brd
	"$TOOLS/bscost" /dev/ram0 "$W/raw.img" "$BENCH_SIZE_MB" > "$R/costs.txt" ||
		log "  bscost failed"
	cat "$R/costs.txt"
	brd_down
fi

rm -rf "$W"
grep -q '^null_blk ' /proc/modules && rmmod null_blk
[ -z "$BS_WHY" ] && unload_bootseal
check_dmesg
log "done"

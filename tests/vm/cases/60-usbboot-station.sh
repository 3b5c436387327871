#!/bin/bash
# Invariant: a production-line station. `bootseal flash --usbboot --loop`
# with --record, --metrics, slot names (--slot and --slot-file), usb:PORT
# targets and the journal log format takes two fake boards one after the
# other: a Compute Module 4 that is flashed, sealed and verified, and a
# Compute Module 3 whose eMMC is too small for the image, which fails; then a
# third whose ROM refuses the upload (it never becomes a disk). A real
# systemd-journald runs in the guest (not socket-activated, it binds
# /run/systemd/journal/socket itself; /run is a tmpfs, so it keeps a volatile
# journal in /run/log/journal). Each board gets one JSON record line, one
# native journal entry (BOOTSEAL_* fields, read back with journalctl -o json
# and compared field by field with the record line; its MESSAGE is the text
# line with KEY=value fields) and one summary line naming its slot; the
# station's start and stop get entries too, and nothing of it goes to stderr
# as text. The Prometheus textfile counts one good and one failed board, the
# bytes written and the flash time, and is replaced atomically (no temporary
# file left). Without journald the entries go to stderr as <N>-prefixed text
# lines instead. Also: the option checks of flash --usbboot.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
jpid= cgmounted=
stop_journald() {
	[ -n "$jpid" ] || return 0
	kill "$jpid" 2>/dev/null || true
	wait "$jpid" 2>/dev/null || true
	jpid=
	rm -rf /run/systemd/journal /run/log/journal
	[ -z "$cgmounted" ] || umount /sys/fs/cgroup
	cgmounted=
}

# Refusals first: no device is needed for them.
refuse() { # expected-message args...
	local want=$1 rc=0; shift
	"$BOOTSEAL" flash "$@" >/tmp/ref.out 2>/tmp/ref.err || rc=$?
	[ $rc -eq 2 ] || { cat /tmp/ref.err; die "flash $* exited $rc, expected 2"; }
	grep -qF -- "$want" /tmp/ref.err || { cat /tmp/ref.err; die "flash $*: no '$want'"; }
}
refuse "the targets are the boards' USB ports" --usbboot /tmp/x.img /dev/sda
refuse "Unable to use port '1-x'" --usbboot --port 1-x /tmp/x.img
refuse "--record needs --usbboot" --record /tmp/r /tmp/x.img /dev/sda
refuse "expected seconds (1-86400)" --usbboot --timeout 0 /tmp/x.img
refuse "expected text or journal" --usbboot --log-format xml /tmp/x.img
rc=0
"$BOOTSEAL" flash --usbboot --slot 1-1=a --slot 2-1=a /tmp/x.img >/dev/null 2>/tmp/ref.err || rc=$?
[ $rc -eq 2 ] && grep -q "slot name 'a' is already port 1-1's" /tmp/ref.err || die "duplicate slot name accepted"

usb_case 3 --module
trap 'stop_journald; usb_cleanup' EXIT

usb_image 2 "0 1" 1024 1000
sha=$(sha256sum $img.xz | cut -d' ' -f1)
printf '# the jig\n1-1 left\n' > /tmp/slots
rm -f /tmp/rec.jsonl /tmp/metrics.prom

note "systemd-journald in the guest"
[ ! -e /run/systemd/journal/socket ] || die "a journal socket exists before journald was started"
# journald finds its cgroup through the cgroup file system, which the guest's
# init does not mount ("Failed to acquire cgroup root path: No medium found").
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "cannot mount cgroup2 for journald"
	cgmounted=1
fi
/lib/systemd/systemd-journald >/tmp/journald.log 2>&1 &
jpid=$!
for i in $(seq 100); do
	[ -S /run/systemd/journal/socket ] && [ -n "$(ls /run/log/journal/*/system.journal 2>/dev/null)" ] && break
	sleep 0.1
done
kill -0 "$jpid" 2>/dev/null && [ -S /run/systemd/journal/socket ] ||
	{ cat /tmp/journald.log; dmesg | grep journald; die "systemd-journald did not start"; }
# The guest's own journal only: not the host's /var/log/journal (shared read-only).
jctl() { journalctl -D /run/log/journal --no-pager -o json SYSLOG_IDENTIFIER=bootseal "$@"; }

note "station: flash --usbboot --loop --record --metrics --slot --log-format journal"
bs_start /tmp/loop.out /tmp/loop.err flash --usbboot --loop --firmware "$FW" --timeout 30 \
	--record /tmp/rec.jsonl --metrics /tmp/metrics.prom --slot-file /tmp/slots --slot 2-1=right \
	--log-format journal $img.xz usb:1-1 usb:2-1 usb:3-1
for i in $(seq 100); do [ -f /tmp/metrics.prom ] && break; sleep 0.1; done
grep -qx 'bootseal_boards_total{result="ok"} 0' /tmp/metrics.prom || die "no zeroed metrics at start"

# board N SIZE ARGS...: fake N with ARGS and an eMMC of SIZE up to mass
# storage, then (90 s at most) until the line has written N records.
board() {
	local n=$1 i
	truncate -s "$2" "/tmp/cm-$n.img"
	shift 2
	fake_start "/tmp/fake-$n.log" "$@" --backing "/tmp/cm-$n.img" --delay-ms 300 --msd-delay-ms 500
	fake_wait_log "/tmp/fake-$n.log" "stage C:" 90
	for i in $(seq 900); do [ "$(wc -l < /tmp/rec.jsonl 2>/dev/null || echo 0)" -ge "$n" ] && break; sleep 0.1; done
}
note "board 1: a CM4 on port 1 (slot left), flashed"
board 1 4M --firmware "$FW/cm4" --pid 2711
[ "$(wc -l < /tmp/rec.jsonl)" -eq 1 ] || { cat /tmp/loop.err; die "board 1: no record"; }

note "board 2: a CM3 on port 2 (slot right) whose eMMC is too small"
board 2 1M --firmware "$FW/raspberrypi" --sessions 1

note "board 3: a CM3 on port 3 (no slot) whose ROM refuses the upload"
fake_start /tmp/fake-3.log --firmware "$FW/raspberrypi" --backing /tmp/cm-2.img --fault rom-status
wait "$FAKE_PID" || { cat /tmp/fake-3.log; die "fake 3 failed its own checks"; }
for i in $(seq 900); do [ "$(wc -l < /tmp/rec.jsonl)" -ge 3 ] && break; sleep 0.1; done

bs_interrupt
cat /tmp/loop.err; echo "--- stdout"; cat /tmp/loop.out; echo "--- records"; cat /tmp/rec.jsonl
echo "--- metrics"; cat /tmp/metrics.prom
[ $rc -eq 4 ] || die "the line exited $rc after SIGINT, expected 4 (the failed board's status)"
grep -q 'FAIL' /tmp/fake-*.log && die "a fake reported a failed check"
cmp -n "$size" $img /tmp/cm-1.img || die "board 1: eMMC differs from the image"

# Records: one line per board, field by field.
[ "$(wc -l < /tmp/rec.jsonl)" -eq 3 ] || die "expected three record lines"
r3=$(sed -n 3p /tmp/rec.jsonl)
jq -e --arg sha "$(sha256sum $img.xz | cut -d' ' -f1)" '.type == "board" and .port == "3-1" and
	.slot == null and .chip == "BCM2837" and .serial == null and .target == null and
	.result == "boot" and .exit == 7 and .bytes == 0 and .verified == false and
	.image_sha256 == $sha and .seconds.boot > 0 and
	(.error | contains("the ROM refused bootcode.bin with status 0x00000005"))' <<<"$r3" >/dev/null ||
	die "record 3 (boot failure) wrong: $r3"
jq -e . /tmp/rec.jsonl >/dev/null || die "records are not JSON lines"
r1=$(sed -n 1p /tmp/rec.jsonl) r2=$(sed -n 2p /tmp/rec.jsonl)
field() { jq -r "$2" <<<"$1"; }
chk() { [ "$(field "$1" "$2")" = "$3" ] || die "record: $2 is '$(field "$1" "$2")', expected '$3'"; }
chk "$r1" .type board;        chk "$r2" .type board
chk "$r1" .port 1-1;          chk "$r2" .port 2-1
chk "$r1" .slot left;         chk "$r2" .slot right
chk "$r1" .chip BCM2711;      chk "$r2" .chip BCM2837
chk "$r1" .serial 5e4d3c2b;   chk "$r2" .serial null
chk "$r1" .metadata.MAC_ADDR d8:3a:dd:5e:4d:3c
chk "$r1" '.metadata | length' 6
chk "$r2" '.metadata | length' 0
chk "$r1" .image "$img.xz";   chk "$r2" .image "$img.xz"
chk "$r1" .image_sha256 "$sha"; chk "$r2" .image_sha256 "$sha"
chk "$r1" .result ok;         chk "$r2" .result device
chk "$r1" .exit 0;            chk "$r2" .exit 4
chk "$r1" .verified true;     chk "$r2" .verified false
chk "$r1" .target_size 4194304; chk "$r2" .target_size 1048576
chk "$r1" .error null
chk "$r2" .bytes 0
field "$r1" .target | grep -Eq '^/dev/sd[a-z]+$' || die "record 1: target"
field "$r2" .target | grep -Eq '^/dev/sd[a-z]+$' || die "record 2: target"
field "$r2" .error | grep -q 'too small' || die "record 2: error does not say the eMMC is too small"
field "$r1" .time | grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$' || die "record 1: time"
bytes=$(field "$r1" .bytes)
[ "$bytes" -ge "$size" ] && [ "$bytes" -le $((size + 4096)) ] || die "record 1: bytes $bytes for a $size-byte image"
jq -e '.seconds.boot > 0 and .seconds.write > 0 and .seconds.verify > 0 and
	.seconds.total >= .seconds.boot + .seconds.write' <<<"$r1" >/dev/null || die "record 1: seconds"
jq -e '.seconds.boot > 0 and .seconds.write == 0' <<<"$r2" >/dev/null || die "record 2: seconds"

# Journal entries: one per board, its BOOTSEAL_* fields field by field
# against the record line (journald takes datagrams asynchronously: wait).
for i in $(seq 50); do
	jctl > /tmp/journal.jsonl
	[ "$(jq -c 'select(.BOOTSEAL_EVENT == "stop")' /tmp/journal.jsonl | wc -l)" -ge 1 ] && break
	sleep 0.2
done
echo "--- journal"; jq -c 'with_entries(select(.key | test("^(PRIORITY|MESSAGE|BOOTSEAL_.*)$")))' /tmp/journal.jsonl
[ "$(jq -c 'select(.BOOTSEAL_EVENT == "board")' /tmp/journal.jsonl | wc -l)" -eq 3 ] ||
	die "expected three board entries in the journal"
grep -E '^<[0-7]>bootseal: ' /tmp/loop.err && die "journal entries went to stderr as text with journald running"
grep -q 'Unable to send to the journal' /tmp/loop.err && die "a journal send failed"
# Each mismatch between a record line and its journal entry as one line.
jcmp='def str: if . == null then null else tostring end;
	([["PORT", $r.port], ["SLOT", $r.slot], ["CHIP", $r.chip], ["SERIAL", $r.serial],
	  ["RESULT", $r.result], ["EXIT", $r.exit], ["BYTES", $r.bytes], ["IMAGE", $r.image],
	  ["IMAGE_SHA256", $r.image_sha256], ["TARGET", $r.target],
	  ["TARGET_SIZE", (if $r.target == null then null else $r.target_size end)],
	  ["VERIFIED", $r.verified], ["ERROR", $r.error]] +
	 ($r.metadata | to_entries | map(["META_" + .key, .value])) |
	 .[] | select($j["BOOTSEAL_" + .[0]] != (.[1] | str)) |
	 "BOOTSEAL_\(.[0]) is \($j["BOOTSEAL_" + .[0]] | tojson), the record has \(.[1] | tojson)"),
	([["SECONDS", $r.seconds.total], ["BOOT_SECONDS", $r.seconds.boot],
	  ["WRITE_SECONDS", $r.seconds.write], ["VERIFY_SECONDS", $r.seconds.verify]] |
	 .[] | select(($j["BOOTSEAL_" + .[0]] // "x" | test("^[0-9]+\\.[0-9]{3}$") | not) or
		      ($j["BOOTSEAL_" + .[0]] | tonumber) != .[1]) |
	 "BOOTSEAL_\(.[0]) is \($j["BOOTSEAL_" + .[0]] | tojson), the record has \(.[1])"),
	(select([$j | keys[] | select(startswith("BOOTSEAL_META_"))] | length != ($r.metadata | length)) |
	 "\([$j | keys[] | select(startswith("BOOTSEAL_META_"))] | length) metadata fields"),
	(select($j.PRIORITY != (if $r.exit == 0 then "6" else "3" end)) | "PRIORITY is \($j.PRIORITY)"),
	(select($j.SYSLOG_IDENTIFIER != "bootseal" or $j._TRANSPORT != "journal") |
	 "SYSLOG_IDENTIFIER \($j.SYSLOG_IDENTIFIER), _TRANSPORT \($j._TRANSPORT)")'
jt=()
for n in 1 2 3; do
	r=$(sed -n ${n}p /tmp/rec.jsonl)
	port=$(field "$r" .port)
	j=$(jq -c --arg p "$port" 'select(.BOOTSEAL_EVENT == "board" and .BOOTSEAL_PORT == $p)' /tmp/journal.jsonl)
	cnt=$(printf "%s\n" "$j" | grep -c .) || true
	[ "$cnt" -eq 1 ] || die "board $port: $cnt journal entries"
	bad=$(jq -n -r --argjson r "$r" --argjson j "$j" "$jcmp") || die "board $port: jq failed"
	[ -z "$bad" ] || die "journal entry of $port against its record: $bad"
	jt[n]=$(jq -r '"<\(.PRIORITY)>\(.SYSLOG_IDENTIFIER): \(.MESSAGE)"' <<<"$j")
done
j1=${jt[1]} j2=${jt[2]} j3=${jt[3]}
# (-s: jq 1.6's -e goes by the last input, which may select nothing.)
jq -s -e --arg img "$img.xz" --arg sha "$sha" '[.[] | select(.BOOTSEAL_EVENT == "start")] |
	length == 1 and (.[0] | .BOOTSEAL_IMAGE == $img and .BOOTSEAL_IMAGE_SHA256 == $sha and
	.PRIORITY == "6" and .BOOTSEAL_PORTS == "1-1 2-1 3-1")' /tmp/journal.jsonl >/dev/null ||
	die "journal start entry"
jq -s -e '[.[] | select(.BOOTSEAL_EVENT == "stop")] | length == 1 and (.[0] |
	.BOOTSEAL_BOARDS == "3" and .BOOTSEAL_BOARDS_OK == "1" and .BOOTSEAL_BOARDS_FAILED == "2" and
	.BOOTSEAL_EXIT == "4" and .MESSAGE == "station stopped: 3 boards (1 ok, 2 failed), exit status 4")' \
	/tmp/journal.jsonl >/dev/null || die "journal stop entry"
# Queried the way the README says: the failed boards by result.
[ "$(jctl BOOTSEAL_RESULT=device | jq -r .BOOTSEAL_PORT)" = 2-1 ] || die "BOOTSEAL_RESULT=device query"

# Each entry's MESSAGE is the text line: priority prefix and KEY=value fields.
grep -q '^<6>bootseal: board PORT=1-1 ' <<<"$j1" || die "entry 1 as text: $j1"
grep -q '^<3>bootseal: board PORT=2-1 ' <<<"$j2" || die "entry 2 as text: $j2"
jf() { grep -oE "(^| )$2=(\"([^\"\\\\]|\\\\.)*\"|[^ ]*)" <<<"$1" | sed -E "s/^ ?$2=//; s/^\"(.*)\"$/\\1/"; }
jchk() { [ "$(jf "$1" "$2")" = "$3" ] || die "journal line: $2 is '$(jf "$1" "$2")', expected '$3'"; }
jchk "$j1" SLOT left;      jchk "$j2" SLOT right
jchk "$j1" CHIP BCM2711;   jchk "$j2" CHIP BCM2837
jchk "$j1" SERIAL 5e4d3c2b
[ -z "$(jf "$j2" SERIAL)" ] || die "journal line 2 has a SERIAL"
jchk "$j1" RESULT ok;      jchk "$j2" RESULT device
jchk "$j1" EXIT 0;         jchk "$j2" EXIT 4
jchk "$j1" BYTES "$bytes"; jchk "$j2" BYTES 0
jchk "$j1" TARGET "$(field "$r1" .target)"
jchk "$j1" IMAGE_SHA256 "$sha"
jchk "$j1" SECONDS "$(printf '%.3f' "$(field "$r1" .seconds.total)")"
jf "$j2" ERROR | grep -q 'too small' || die "journal line 2: ERROR"
grep -q '^<3>bootseal: board PORT=3-1 ' <<<"$j3" || die "entry 3 as text: $j3"
jchk "$j3" RESULT boot; jchk "$j3" EXIT 7; jchk "$j3" CHIP BCM2837
[ -z "$(jf "$j3" SLOT)$(jf "$j3" TARGET)" ] || die "journal line 3 has a SLOT or TARGET"

# Without journald the entries are text lines on stderr, and it says so once.
stop_journald
"$BOOTSEAL" flash --usbboot --loop --firmware "$FW" --log-format journal $img.xz usb:4-1 \
	> /tmp/nojournal.out 2>/tmp/nojournal.err &
bpid=$!
for i in $(seq 100); do grep -q 'station started' /tmp/nojournal.err && break; sleep 0.1; done
bs_interrupt
cat /tmp/nojournal.err
[ $rc -eq 7 ] || die "the line without boards exited $rc after SIGINT, expected 7 (no board seen)"
grep -qx "<6>bootseal: station started: $img.xz on ports 4-1" /tmp/nojournal.err || die "no start line on stderr"
grep -qx '<6>bootseal: station stopped: 0 boards (0 ok, 0 failed), exit status 7' /tmp/nojournal.err ||
	die "no stop line on stderr"
[ "$(grep -c 'warning: Unable to send to the journal (No such file or directory)' /tmp/nojournal.err)" -eq 1 ] ||
	die "no single warning that the journal is not there"

# Summary lines name the slots.
grep -Eq '^usb 1-1 \[left\] -> /dev/sd[a-z]+: flashed, sealed and verified$' /tmp/loop.out || die "no summary for board 1"
grep -Eq '^usb 2-1 \[right\] -> /dev/sd[a-z]+: FAILED \(exit status 4\)$' /tmp/loop.out || die "no summary for board 2"
grep -q 'usb 1-1 \[left\]: BCM2711 ROM (0a5c:2711, serial 5e4d3c2b)' /tmp/loop.err || die "log lines do not name the slot"

# Metrics.
m() { grep -x "$1 $2" /tmp/metrics.prom >/dev/null || die "metrics: no '$1 $2'"; }
m 'bootseal_boards_total{result="ok"}' 1
m 'bootseal_boards_total{result="device"}' 1
m 'bootseal_boards_total{result="boot"}' 1
m 'bootseal_boards_total{result="verify"}' 0
m bootseal_written_bytes_total "$bytes"
m 'bootseal_flash_seconds_bucket{le="+Inf"}' 1
m bootseal_flash_seconds_count 1
m bootseal_flash_seconds_sum "$(printf '%.3f' "$(field "$r1" .seconds.total)")"
grep -q '^# TYPE bootseal_flash_seconds histogram$' /tmp/metrics.prom || die "metrics: no histogram TYPE"
[ -z "$(ls /tmp/metrics.prom.tmp.* 2>/dev/null)" ] || die "metrics: temporary file left behind"
usb_end

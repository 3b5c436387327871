#!/bin/bash
# Invariant: a production-line station. `bootseal flash --usbboot --loop`
# with --record, --metrics, slot names (--slot and --slot-file), usb:PORT
# targets and the journal log format takes two fake boards one after the
# other: a Compute Module 4 that is flashed, sealed and verified, and a
# Compute Module 3 whose eMMC is too small for the image, which fails; then a
# third whose ROM refuses the upload (it never becomes a disk). Each
# board gets one JSON record line, one journal line (<N> priority prefix and
# KEY=value fields) and one summary line naming its slot; the Prometheus
# textfile counts one good and one failed board, the bytes written and the
# flash time, and is replaced atomically (no temporary file left). Checked
# field by field. Also: the option checks of flash --usbboot.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
. "$BOOTSEAL_SRC/tests/vm/usbboot-lib.sh"
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

usb_image 2 "0 1" 1024 1000
sha=$(sha256sum $img.xz | cut -d' ' -f1)
printf '# the jig\n1-1 left\n' > /tmp/slots
rm -f /tmp/rec.jsonl /tmp/metrics.prom

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

# Journal lines: priority prefix and fields.
j1=$(grep '^<6>bootseal: board PORT=1-1 ' /tmp/loop.err) || die "no <6> journal line for board 1"
j2=$(grep '^<3>bootseal: board PORT=2-1 ' /tmp/loop.err) || die "no <3> journal line for board 2"
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
j3=$(grep '^<3>bootseal: board PORT=3-1 ' /tmp/loop.err) || die "no <3> journal line for board 3"
jchk "$j3" RESULT boot; jchk "$j3" EXIT 7; jchk "$j3" CHIP BCM2837
[ -z "$(jf "$j3" SLOT)$(jf "$j3" TARGET)" ] || die "journal line 3 has a SLOT or TARGET"

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

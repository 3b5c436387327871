#!/bin/bash
# Images from http:// URLs, served by Python on the guest's loopback only:
# a partitioned GPT image as img.xz is streamed onto the device with the
# bmap (img.bmap) and the SHA-256 (img.xz.sha256) beside it picked up; the
# download is not stored and the targets are sealed but not verified;
# `verify URL DEVICE` downloads it again, with the bmap beside it. A
# 404 fails before the device is touched; a connection cut in the middle,
# a server announcing more bytes than it sends and one sending more than
# it announces fail after writing has begun, name the URL and leave the
# device unsealed (zero head, no partition table); a flash waiting on a
# stalled server stops at SIGTERM; other schemes are refused.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
srv_pid=
case_cleanup() { [ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true; }
command -v python3 >/dev/null || skip "python3 is not installed"
ip link set lo up
brd_disks 1 32
www=/tmp/www
mkdir -p $www
img=/tmp/sparse.img
sparse_gpt_image $img
bmaptool create -o $www/img.bmap $img
xz -T2 -1 -c $img > $www/img.xz
(cd $www && sha256sum img.xz > img.xz.sha256)
cp $img $www/raw.img

# A file server, plus three liars for raw.img:
#   /cut.img    announces the whole image, sends 12 MiB, waits, closes
#   /short.img  announces 1 MiB more than the image and sends the image
#   /long.img   announces 12 MiB and sends the whole image
#   /stall.img  announces the whole image, sends 8 MiB, then nothing for 60 s
cat > /tmp/srv.py <<'PY'
import http.server, os, sys, time
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        sys.stderr.write("srv: %s\n" % (a[0] % a[1:]))
    def liar(self, announce, send, pause):
        data = open(os.path.join(sys.argv[2], "raw.img"), "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(announce(len(data))))
        self.end_headers()
        n = send(len(data))
        for off in range(0, n, 1 << 20):
            self.wfile.write(data[off:min(n, off + (1 << 20))])
            self.wfile.flush()
            time.sleep(0.05)
        time.sleep(pause)
        self.close_connection = True
    def do_GET(self):
        if self.path == "/cut.img":
            return self.liar(lambda n: n, lambda n: 12 << 20, 1)
        if self.path == "/short.img":
            return self.liar(lambda n: n + (1 << 20), lambda n: n, 0)
        if self.path == "/long.img":
            return self.liar(lambda n: 12 << 20, lambda n: n, 0)
        if self.path == "/stall.img":
            return self.liar(lambda n: n, lambda n: 8 << 20, 60)
        return super().do_GET()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
    lambda *a, **k: H(*a, directory=sys.argv[2], **k)).serve_forever()
PY
port=8638
python3 /tmp/srv.py $port $www 2>/tmp/srv.log &
srv_pid=$!
for i in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.2
done
(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || { cat /tmp/srv.log; die "the HTTP server did not start"; }
url=http://127.0.0.1:$port

expect_unsealed() {
	cmp -s -n 512 /dev/zero $dev || die "$1: the head of $dev is not zero"
	if sfdisk --dump $dev >/dev/null 2>&1; then die "$1: $dev still has a partition table"; fi
	blockdev --rereadpt $dev 2>/dev/null || true
	[ ! -e /sys/block/ram0/ram0p1 ] || die "$1: the kernel still sees ram0p1"
}
run_rc() { rc=0; "$BOOTSEAL" "$@" >/tmp/out 2>/tmp/err || rc=$?; cat /tmp/out /tmp/err; }

note "img.xz from a URL, with its bmap and SHA-256 beside it"
{ yes bootseal || true; } | head -c 32M > /tmp/pattern
dd if=/tmp/pattern of=$dev bs=1M status=none
used=$(du -sk /tmp | cut -f1)
run_rc flash --yes --allow-fixed $url/img.xz $dev
[ $rc -eq 0 ] || die "URL flash: exit $rc"
grep -q "using bmap $url/img.bmap" /tmp/err || die "the bmap beside the URL was not used"
grep -q "from $url/img.xz.sha256" /tmp/err || die "the SHA-256 beside the URL was not used"
grep -q "not verifying: an image streamed from a URL" /tmp/err || die "no word on verification"
grep -q "sealed (not verified)" /tmp/out || die "not reported sealed"
cmp -n 1M -i 2M $img $dev || die "mapped range 2M differs"
cmp -n 3M -i 5M $img $dev || die "mapped range 5M differs"
cmp -n 1M -i 12M /tmp/pattern $dev || die "unmapped range at 12M was written"
[ "$(cat /sys/block/ram0/ram0p2/start)" = 8192 ] || die "the kernel does not see the GPT partitions"
"$BOOTSEAL" verify --bmap $www/img.bmap $img $dev || die "verify after the URL flash failed"
"$BOOTSEAL" verify $url/img.xz $dev >/tmp/out 2>&1 || { cat /tmp/out; die "verify URL DEVICE (bmap beside the URL) failed"; }
[ "$(du -sk /tmp | cut -f1)" -lt $((used + 1024)) ] || die "the download was stored in /tmp"

note "a wrong SHA-256 beside the URL: unsealed"
(cd $www && cp img.xz bad.img.xz && echo "$(printf '%064d' 0)  bad.img.xz" > bad.img.xz.sha256)
cp $www/img.bmap $www/bad.img.bmap
run_rc flash --yes --allow-fixed $url/bad.img.xz $dev
[ $rc -eq 3 ] || die "wrong SHA-256: exit $rc, not 3"
grep -q "SHA-256" /tmp/err || die "wrong SHA-256: not named"
expect_unsealed "wrong SHA-256"

note "raw image from a URL, no sidecars (404 for them), size from Content-Length"
run_rc flash --yes --allow-fixed --json $url/raw.img $dev
[ $rc -eq 0 ] || die "raw URL flash: exit $rc"
grep -q '"total":25165824' /tmp/out || die "the size from Content-Length is not reported"
cmp -n 24M $img $dev || die "raw URL flash: the device differs"

note "404: refused before the device is touched"
before=$(md5sum < $dev)
run_rc flash --yes --allow-fixed $url/nothing.img $dev
[ $rc -eq 3 ] || die "404: exit $rc, not 3"
grep -q "$url/nothing.img: HTTP status 404" /tmp/err || die "404: the URL and status are not named"
[ "$(md5sum < $dev)" = "$before" ] || die "404: the device was touched"

for case in cut short long; do
	note "$case.img: fails after writing began, device unsealed"
	sfdisk --dump $dev >/dev/null 2>&1 || die "$case: no partition table before"
	run_rc flash --yes --allow-fixed $url/$case.img $dev
	[ $rc -eq 3 ] || die "$case: exit $rc, not 3"
	grep -q "$url/$case.img: " /tmp/err || die "$case: the URL is not named"
	case $case in
	cut | short) grep -q "ended after .* of the .* bytes the server announced" /tmp/err ||
		die "$case: the short transfer is not explained" ;;
	long) grep -q "sent more than the 12582912 bytes it announced" /tmp/err ||
		die "$case: the long transfer is not explained" ;;
	esac
	grep -q "left unsealed" /tmp/err || die "$case: the device is not said to be left unsealed"
	expect_unsealed "$case"
	# back to a sealed table for the next case
	"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img $dev >/dev/null 2>&1 || die "good flash failed"
done

note "a stalled server: SIGTERM stops the flash at once, device unsealed"
"$BOOTSEAL" flash --yes --allow-fixed $url/stall.img $dev >/tmp/out 2>/tmp/err &
pid=$!
sleep 4
t0=$(date +%s)
kill -TERM $pid
rc=0; wait $pid || rc=$?
cat /tmp/out /tmp/err
[ $rc -eq 143 ] || die "stalled server, SIGTERM: exit $rc, not 143"
[ $(( $(date +%s) - t0 )) -le 10 ] || die "stalled server: the flash took more than 10 s to stop"
expect_unsealed "stalled server"
"$BOOTSEAL" flash --yes --allow-fixed --no-verify $img $dev >/dev/null 2>&1 || die "good flash failed"

if command -v script >/dev/null; then
	note "the prompt names the URL, its format and size; after it the image is asked for again"
	n0=$(grep -c '"GET /img.xz ' /tmp/srv.log || true)
	printf 'y\n' | script -qec "$BOOTSEAL flash --allow-fixed --no-verify $url/img.xz $dev" /dev/null > /tmp/tty ||
		{ cat /tmp/tty; die "prompted URL flash failed"; }
	cat /tmp/tty
	grep -q "about to write $url/img.xz (xz, " /tmp/tty || die "the prompt does not name the URL and format"
	n1=$(grep -c '"GET /img.xz ' /tmp/srv.log || true)
	[ $((n1 - n0)) -eq 2 ] || die "the image was fetched $((n1 - n0)) times, not twice, around the prompt"
	cmp -n 1M -i 2M $img $dev || die "prompted URL flash: mapped range 2M differs"
	sfdisk --dump $dev >/dev/null 2>&1 || die "prompted URL flash: no partition table"
fi

note "other schemes are refused"
run_rc flash --yes --allow-fixed ftp://127.0.0.1/img.xz $dev
[ $rc -eq 3 ] || die "ftp: exit $rc, not 3"
grep -q "only http:// and https://" /tmp/err || die "ftp: not explained"

kill $srv_pid; wait $srv_pid 2>/dev/null || true; srv_pid=
unload_bootseal
rmmod brd
check_dmesg

// SPDX-License-Identifier: GPL-2.0
/*
 * fakecm: a fake Raspberry Pi Compute Module (CM1/CM3 BCM2835/BCM2837, CM4
 * BCM2711) for the VM tests, on dummy_hcd. Stages A (ROM) and B
 * (second-stage file-server client) are a gadgetfs program that writes
 * every descriptor itself (so it can present iSerialNumber index 0, 3 or 1)
 * and answers the vendor control requests of the usbboot protocol; stage C
 * binds a configfs mass-storage gadget backed by a file, on the same UDC, so
 * the host sees a /dev/sdX at the same port path: 0525:a4a5 after the CM3
 * set (Etcher's Linux kernel with g_mass_storage), 0a5c:0001 after the cm4/
 * set (the VPU mass-storage firmware start4.elf).
 *
 *   fakecm --firmware DIR --backing FILE [--udc dummy_udc.N] [--sessions 1|2]
 *          [--fault rom-status|disconnect-upload|missing-file|dotdot|hold-reply|bad-command]
 *          [--hold SEC] [--msd-seconds SEC] [--delay-ms MS] [--msd-delay-ms MS]
 *          [--pid 2764|2763|2711|2712] [--interfaces 1|2] [--stage2-index N]
 *          [--serial HEX8] [--no-metadata] [--host-timeout SEC] [--raw-gadget]
 *
 * What each chip presents (iSerialNumber is the index the host goes by):
 *   2763/2764  ROM index 0 (no serial string); second stage index 1 ("Broadcom");
 *              two sessions by default (bootcode.bin, then start_cd.elf asking
 *              for the kernel); stage C 0525:a4a5.
 *   2711       ROM index 3, whose string is the board serial (8 hex digits,
 *              --serial); second stage index --stage2-index (default 1; the
 *              bootcode4.bin template says 4, both are "not 0/3"), one session
 *              asking for the BCM2711 names (config.txt, vl805.sig,
 *              pieeprom.sig, recover4.elf, recovery.elf, start4.elf, fixup4.dat)
 *              and, unless --no-metadata, sending metadata records
 *              "*KEY*VALUE" (as GetFileSize requests: the command value real
 *              firmware uses is not documented; a host acknowledges each with
 *              a zero-length write); stage C 0a5c:0001.
 *   2712       a ROM the firmware set has nothing for: the host must leave it
 *              alone (no vendor request within 8 s).
 * --interfaces 2 presents the two-interface layout: interface 0 a
 * mass-storage class placeholder (08/06/50) without endpoints (so the guest's
 * usb-storage does not bind it), interface 1 the vendor interface with bulk
 * OUT 0x03 and IN 0x84; the host must then use interface 1 and 0x03. The
 * default is one vendor interface with bulk OUT 0x01 and IN 0x82.
 *
 * Timing: --delay-ms between the ROM status and the second stage and between
 * sessions (default 1000, as on hardware: ~1.3 s); --msd-delay-ms between the
 * last Done and the mass-storage device (default: 5000 for BCM2835/2837,
 * whose firmware boots Linux before g_mass_storage appears; 2000 for BCM2711,
 * whose start4.elf is the mass-storage firmware itself). Tests may pass
 * shorter delays to keep their time down.
 *
 * After each Done the fake waits up to 1 s for the zero-length control write
 * rpiboot sends there and acknowledges it (hosts that send none are fine).
 *
 * gadgetfs limits, and what a host sees because of them:
 *  - Control requests are capped at 256 bytes: the host's 260-byte
 *    file-request read reaches the fake with wLength 256 (wValue still 260).
 *    A 256-byte answer would end on a full packet and leave the host waiting
 *    for the rest, so the fake answers 255 bytes: the host sees a short reply
 *    (a command and a 251-byte name field) instead of 260 bytes. Names are
 *    short, so the request is the same; a host must accept short replies.
 *  - The kernel, not the program, answers GET_DESCRIPTOR for the device and
 *    configuration descriptors, from one buffer written at start. So on
 *    gadgetfs (the default) the BCM2711 ROM's quirk (a 9-byte read saying 55
 *    bytes / 2 interfaces, the full read returning 32 bytes / 1 interface,
 *    Linux logging "config index 0 descriptor too short (expected 55, got
 *    32)") cannot be reproduced; the fake presents what a host ends up with
 *    after it (32 bytes, 1 interface), and --interfaces 2 covers the host's
 *    two-interface branch. --raw-gadget (see below) reproduces the quirk.
 *  - Endpoint files are dummy_hcd's: the vendor OUT endpoint is always the
 *    ep1out-bulk file, configured with address 0x01 or 0x03 (dummy_hcd routes
 *    by the address in the descriptor). The IN endpoint is declared but never
 *    enabled: neither host uses it.
 *
 * --raw-gadget (only with --pid 2711 and one interface) runs stage A, the
 * ROM, on the kernel's raw_gadget driver (/dev/raw-gadget; Debian does not
 * enable it: `make raw-gadget` builds it from the kernel source package)
 * instead of gadgetfs: bound to --udc or the first free UDC, the program
 * answers every control request itself, the device descriptor (the same
 * values as the gadgetfs ROM), the strings, and the configuration
 * descriptor with the BCM2711 quirk: a read of 9 bytes gets a header saying
 * wTotalLength 55, bNumInterfaces 2; a longer read gets the 32-byte
 * one-interface descriptor (bulk OUT 0x01, IN 0x82). SET_CONFIGURATION
 * enables bulk OUT 0x01 on a bulk-OUT endpoint raw_gadget lists for it
 * (dummy_hcd's ep1out-bulk). The vendor requests and the upload are checked
 * by the same code as on gadgetfs. The fake fails unless the host read both
 * the header and the full descriptor. Closing the raw_gadget fd releases the
 * UDC (the ROM's disconnect); stages B and C run as without the option.
 *
 * Needs: dummy_hcd, gadgetfs (mounted at /dev/gadget, done here if not),
 * libcomposite + usb_f_mass_storage (configfs, mounted here if not). gadgetfs
 * serves ONE gadget at a time (one mount, bound to the first free UDC): run
 * fakes one after another; an earlier fake's stage C keeps its UDC, so the
 * next fake lands on the next UDC (its own port).
 *
 * Every check prints "fakecm: ..." on stderr; any mismatch, and giving up on
 * a host that does not answer (--host-timeout, default 120 s per step), ends
 * with "fakecm: FAIL ..." and exit status 1. Exit 0 means every check passed
 * (and the requested fault was delivered). With stage C the program stays
 * until SIGTERM/SIGINT or --msd-seconds, then removes the gadget.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/usb/ch9.h>
#include <linux/usb/gadgetfs.h>
#include <linux/usb/raw_gadget.h>
#include <openssl/evp.h>

#define GADGETFS_DIR "/dev/gadget"
#define EP0_NAME     GADGETFS_DIR "/dummy_udc"
#define EP_OUT_NAME  GADGETFS_DIR "/ep1out-bulk"
#define CONFIGFS_DIR "/sys/kernel/config"
#define RAW_GADGET   "/dev/raw-gadget"
#define REQ_LEN	     260

enum fault {
	F_NONE,
	F_ROM_STATUS,
	F_DISCONNECT_UPLOAD,
	F_MISSING_FILE,
	F_DOTDOT,
	F_HOLD_REPLY,
	F_BAD_COMMAND,
};

static const char *const fault_names[] = {
	"none",	  "rom-status", "disconnect-upload", "missing-file",
	"dotdot", "hold-reply", "bad-command",	     NULL,
};

static struct {
	const char *firmware;
	const char *backing;
	const char *udc;
	enum fault fault;
	unsigned int hold;	  /* seconds to hold a reply (hold-reply) */
	unsigned int msd_seconds; /* 0: until signalled */
	unsigned int delay_ms;	  /* between stages */
	int msd_delay_ms;	  /* before stage C; -1: by chip */
	unsigned int sessions;	  /* 0: by chip */
	unsigned int pid; /* ROM product ID; 0x2712 = BCM2712, which the firmware set lacks */
	unsigned int interfaces;   /* 1 or 2 */
	unsigned int stage2_index; /* second stage iSerialNumber (not 0 or 3) */
	const char *serial;	   /* BCM2711 ROM serial string */
	bool metadata;		   /* BCM2711: send metadata records */
	unsigned int host_timeout; /* seconds to wait for the host in any one step */
	bool raw;		   /* stage A on raw_gadget (BCM2711 descriptor quirk) */
} opt = {.hold = 30,
	 .delay_ms = 1000,
	 .msd_delay_ms = -1,
	 .pid = 0x2764,
	 .interfaces = 1,
	 .stage2_index = 1,
	 .serial = "5e4d3c2b",
	 .metadata = true,
	 .host_timeout = 120};

static volatile sig_atomic_t stop;
static bool said_fail;
static int ep0 = -1, epout = -1;
/* raw_gadget (stage A with --raw-gadget): the device fd and the OUT endpoint handle. */
static int raw_fd = -1, raw_ep = -1;
static char bound_udc[256];
/* Configuration descriptor reads answered with the quirk: header, full. */
static unsigned int quirk_header, quirk_full;

static void on_signal(int sig)
{
	stop = 1;
}

/* SIGALRM only interrupts a blocking raw_gadget event fetch (a poll tick). */
static void on_alarm(int sig)
{
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (!strncmp(fmt, "FAIL", 4))
		said_fail = true;
	fputs("fakecm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void msleep(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		say("FAIL cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, val, strlen(val));
	if (n < 0)
		say("FAIL cannot write '%s' to %s: %s", val, path, strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* SHA-256 and size of @name in the firmware directory; size -1 if missing. */
static long long fw_file(const char *name, char out[65])
{
	unsigned char buf[65536], md[32];
	char path[4096];
	long long total = 0;
	EVP_MD_CTX *c;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", opt.firmware, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(c, buf, (size_t)n);
		total += n;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	close(fd);
	hex(md, 32, out);
	return total;
}

/* ---- gadgetfs -------------------------------------------------------------- */

#define NSTRINGS 8
struct strings {
	const char *s[NSTRINGS]; /* index 1..7 */
};

static const struct strings *cur_strings;

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

/* The vendor interface's bulk OUT endpoint: 0x01 (one interface) or 0x03 (two). */
static uint8_t out_addr(void)
{
	return opt.interfaces == 2 ? 0x03 : 0x01;
}

/*
 * Config (self-powered, 100 mA). One interface: vendor interface 0 with bulk
 * OUT 0x01 + bulk IN 0x82 (32 bytes). Two: interface 0 a mass-storage
 * placeholder without endpoints, interface 1 vendor with OUT 0x03 + IN 0x84
 * (41 bytes). Bulk maxpacket @mps.
 */
static size_t build_config(uint8_t *p, uint16_t mps)
{
	uint8_t cfg[9] = {9, USB_DT_CONFIG, 32, 0, 1, 1, 0, 0xc0, 50};
	uint8_t intf[9] = {9, USB_DT_INTERFACE, 0, 0, 2, 0xff, 0, 0, 0};
	static const uint8_t msd[9] = {9, USB_DT_INTERFACE, 0, 0, 0, 0x08, 0x06, 0x50, 0};
	uint8_t ep[7] = {7, USB_DT_ENDPOINT, 0x01, USB_ENDPOINT_XFER_BULK, 0, 0, 0};
	size_t off = 9;

	if (opt.interfaces == 2) {
		cfg[2] = 41;
		cfg[4] = 2;
		intf[2] = 1;
		memcpy(p + off, msd, 9);
		off += 9;
	}
	memcpy(p, cfg, 9);
	memcpy(p + off, intf, 9);
	off += 9;
	put_le16(ep + 4, mps);
	ep[2] = out_addr();
	memcpy(p + off, ep, 7);
	off += 7;
	ep[2] = opt.interfaces == 2 ? 0x84 : 0x82;
	memcpy(p + off, ep, 7);
	return off + 7;
}

/* The device descriptor of the current stage (Broadcom 0a5c:@pid, iSerialNumber @iserial). */
static uint8_t dev_desc[18];

static void build_device(uint16_t pid, uint8_t iserial, const struct strings *str)
{
	static const uint8_t dev[18] = {
		18, USB_DT_DEVICE, 0x00, 0x02, 0, 0, 0, 64, 0x5c, 0x0a, 0, 0, 0, 0, 1, 2, 0, 1};

	memcpy(dev_desc, dev, 18);
	dev_desc[10] = pid & 0xff;
	dev_desc[11] = pid >> 8;
	dev_desc[16] = iserial;
	cur_strings = str;
}

static int gadget_open(uint16_t pid, uint8_t iserial, const struct strings *str)
{
	uint8_t buf[4 + 41 + 41 + 18], *p = buf;

	build_device(pid, iserial, str);
	memset(p, 0, 4);
	p += 4;
	p += build_config(p, 64);
	p += build_config(p, 512);
	memcpy(p, dev_desc, 18);
	p += 18;
	ep0 = open(EP0_NAME, O_RDWR | O_CLOEXEC);
	if (ep0 < 0) {
		say("FAIL cannot open %s: %s", EP0_NAME, strerror(errno));
		return -1;
	}
	if (write(ep0, buf, (size_t)(p - buf)) != p - buf) {
		say("FAIL cannot write descriptors to %s: %s", EP0_NAME, strerror(errno));
		close(ep0);
		ep0 = -1;
		return -1;
	}
	return 0;
}

static int gfs_nev, gfs_iev; /* gadgetfs events read and not yet handled */

/* Closing the raw_gadget fd unbinds it from the UDC (the host sees a disconnect). */
static void gadget_close(void)
{
	if (epout >= 0)
		close(epout);
	if (ep0 >= 0)
		close(ep0);
	if (raw_fd >= 0)
		close(raw_fd);
	epout = ep0 = raw_fd = raw_ep = -1;
	gfs_nev = gfs_iev = 0;
}

/* ---- raw_gadget (stage A with --raw-gadget) ------------------------------------ */

/* An ep0/endpoint transfer buffer for the raw_gadget ioctls. */
static union {
	struct usb_raw_ep_io io;
	uint8_t b[sizeof(struct usb_raw_ep_io) + 16384];
} rio;

#define RIO_MAX (sizeof(rio) - sizeof(struct usb_raw_ep_io))

/* wLength of the control request being answered (raw_gadget). */
static uint16_t ep0_wlength;

static int raw_io(unsigned long req, uint16_t ep, uint16_t flags, void *data, size_t len)
{
	int n;

	if (len > RIO_MAX)
		len = RIO_MAX;
	rio.io.ep = ep;
	rio.io.flags = flags;
	rio.io.length = (uint32_t)len;
	if (req == USB_RAW_IOCTL_EP0_WRITE)
		memcpy(rio.io.data, data, len);
	n = ioctl(raw_fd, req, &rio);
	if (n > 0 && req != USB_RAW_IOCTL_EP0_WRITE)
		memcpy(data, rio.io.data, (size_t)n > len ? len : (size_t)n);
	return n;
}

/*
 * The first UDC (in name order) whose gadget driver's name contains @driver,
 * or with @driver NULL the first one no gadget driver holds, into bound_udc
 * (left as it was when there is none). 0 when one was found.
 */
static int find_udc(const char *driver)
{
	struct dirent **e;
	char path[512], fn[128], found[sizeof(bound_udc)] = "";
	int n, i;

	n = scandir("/sys/class/udc", &e, NULL, alphasort);
	for (i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/class/udc/%s/function", e[i]->d_name);
		f = e[i]->d_name[0] != '.' && !found[0] ? fopen(path, "re") : NULL;
		if (f) {
			bool held = fgets(fn, sizeof(fn), f) && fn[0] != '\n';

			if (driver ? held && strstr(fn, driver) : !held)
				snprintf(found, sizeof(found), "%s", e[i]->d_name);
			fclose(f);
		}
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	if (!found[0])
		return -1;
	memcpy(bound_udc, found, sizeof(found));
	return 0;
}

/* The UDC to bind: --udc, else the first one no gadget driver holds. */
static int pick_udc(void)
{
	if (opt.udc) {
		snprintf(bound_udc, sizeof(bound_udc), "%s", opt.udc);
		return 0;
	}
	if (find_udc(NULL)) {
		say("FAIL no free UDC in /sys/class/udc");
		return -1;
	}
	return 0;
}

/* Bind raw_gadget to the UDC and start; the event loop answers everything. */
static int raw_open(uint16_t pid, uint8_t iserial, const struct strings *str)
{
	struct usb_raw_init init;

	build_device(pid, iserial, str);
	if (pick_udc())
		return -1;
	raw_fd = open(RAW_GADGET, O_RDWR | O_CLOEXEC);
	if (raw_fd < 0) {
		say("FAIL cannot open %s (is raw_gadget.ko loaded?): %s", RAW_GADGET,
		    strerror(errno));
		return -1;
	}
	memset(&init, 0, sizeof(init));
	snprintf((char *)init.driver_name, sizeof(init.driver_name), "dummy_udc");
	if (strlen(bound_udc) >= sizeof(init.device_name)) {
		say("FAIL UDC name too long: %s", bound_udc);
		gadget_close();
		return -1;
	}
	memcpy(init.device_name, bound_udc, strlen(bound_udc) + 1);
	init.speed = USB_SPEED_HIGH;
	if (ioctl(raw_fd, USB_RAW_IOCTL_INIT, &init) < 0 ||
	    ioctl(raw_fd, USB_RAW_IOCTL_RUN, 0) < 0) {
		say("FAIL raw_gadget on %s: %s", bound_udc, strerror(errno));
		gadget_close();
		return -1;
	}
	return 0;
}

/*
 * SET_CONFIGURATION on raw_gadget: enable the bulk OUT endpoint (address
 * out_addr(), on a bulk-OUT endpoint raw_gadget lists for that number), draw
 * the configuration's 100 mA and tell raw_gadget the device is configured.
 */
static int raw_enable_out_ep(void)
{
	static struct usb_raw_eps_info info;
	struct usb_endpoint_descriptor ep;
	int n, i;

	n = ioctl(raw_fd, USB_RAW_IOCTL_EPS_INFO, &info);
	for (i = 0; i < n; i++)
		if (info.eps[i].caps.type_bulk && info.eps[i].caps.dir_out &&
		    (info.eps[i].addr == out_addr() || info.eps[i].addr == USB_RAW_EP_ADDR_ANY))
			break;
	if (n < 0 || i == n) {
		say("FAIL raw_gadget lists no bulk OUT endpoint for 0x%02x", out_addr());
		return -1;
	}
	memset(&ep, 0, sizeof(ep));
	ep.bLength = USB_DT_ENDPOINT_SIZE;
	ep.bDescriptorType = USB_DT_ENDPOINT;
	ep.bEndpointAddress = out_addr();
	ep.bmAttributes = USB_ENDPOINT_XFER_BULK;
	ep.wMaxPacketSize = 512;
	raw_ep = ioctl(raw_fd, USB_RAW_IOCTL_EP_ENABLE, &ep);
	if (raw_ep < 0 || raw_ep >= n) {
		say("FAIL raw_gadget: cannot enable bulk OUT 0x%02x: %s", out_addr(),
		    strerror(errno));
		return -1;
	}
	if (ioctl(raw_fd, USB_RAW_IOCTL_VBUS_DRAW, 50) < 0 ||
	    ioctl(raw_fd, USB_RAW_IOCTL_CONFIGURE, 0) < 0) {
		say("FAIL raw_gadget: cannot configure: %s", strerror(errno));
		return -1;
	}
	say("stage A: configured; bulk OUT 0x%02x on raw_gadget endpoint %.16s", out_addr(),
	    (const char *)info.eps[raw_ep].name);
	return 0;
}

/*
 * The BCM2711 ROM's configuration descriptor: a read of 9 bytes (the host's
 * first) gets a header saying 55 bytes and 2 interfaces; a longer read gets
 * the 32-byte one-interface descriptor (wTotalLength 32) the ROM patches its
 * copy into.
 */
static ssize_t ep0_send(const void *data, size_t len);

static void send_config_quirk(const struct usb_ctrlrequest *r)
{
	static const uint8_t hdr[9] = {9, USB_DT_CONFIG, 55, 0, 2, 1, 0, 0xc0, 50};
	uint8_t buf[64];
	size_t len;

	if (r->wLength <= 9) {
		memcpy(buf, hdr, 9);
		len = 9;
		quirk_header++;
		say("stage A: configuration descriptor read of %u bytes: answered the header "
		    "saying wTotalLength 55, bNumInterfaces 2",
		    r->wLength);
	} else {
		len = build_config(buf, 512);
		quirk_full++;
		say("stage A: configuration descriptor read of %u bytes: answered %zu bytes, "
		    "wTotalLength %zu, bNumInterfaces 1",
		    r->wLength, len, len);
	}
	if (len > r->wLength)
		len = r->wLength;
	if (ep0_send(buf, len) < 0)
		say("configuration descriptor: write: %s", strerror(errno));
}

/* ---- ep0 and bulk OUT, on gadgetfs or raw_gadget ------------------------------- */

/* Acknowledge a control OUT request without data (its status stage). */
static void ep0_ack(void)
{
	uint8_t b;

	if (raw_fd >= 0) {
		if (raw_io(USB_RAW_IOCTL_EP0_READ, 0, 0, &b, 0) < 0)
			say("ack: %s", strerror(errno));
	} else if (read(ep0, &b, 0) < 0) {
		say("ack: %s", strerror(errno));
	}
}

static ssize_t ep0_send(const void *data, size_t len)
{
	if (raw_fd >= 0 && !ep0_wlength) {
		/* raw_gadget takes an IN request without data as an OUT one */
		ep0_ack();
		return 0;
	}
	/*
	 * A reply shorter than the host asked for that fills its last packet
	 * ends with a zero-length packet (gadgetfs does the same itself).
	 */
	if (raw_fd >= 0)
		return raw_io(USB_RAW_IOCTL_EP0_WRITE, 0,
			      len && len < ep0_wlength ? USB_RAW_IO_FLAGS_ZERO : 0, (void *)data,
			      len);
	return write(ep0, data, len);
}

static ssize_t bulk_read(void *buf, size_t len)
{
	if (raw_fd >= 0)
		return raw_io(USB_RAW_IOCTL_EP_READ, (uint16_t)raw_ep, 0, buf, len);
	return read(epout, buf, len);
}

/* The UDC gadgetfs bound to ("dummy_udc.N"), from /sys/class/udc/x/function. */
static void find_bound_udc(void)
{
	find_udc("Gadget filesystem");
}

static int enable_out_ep(void)
{
	uint8_t buf[4 + 7 + 7] = {1, 0, 0, 0};
	uint8_t ep[7] = {7, USB_DT_ENDPOINT, 0x01, USB_ENDPOINT_XFER_BULK, 64, 0, 0};

	ep[2] = out_addr();
	memcpy(buf + 4, ep, 7);
	put_le16(ep + 4, 512);
	memcpy(buf + 11, ep, 7);
	epout = open(EP_OUT_NAME, O_RDWR | O_CLOEXEC);
	if (epout < 0) {
		say("FAIL cannot open %s: %s", EP_OUT_NAME, strerror(errno));
		return -1;
	}
	if (write(epout, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		say("FAIL cannot configure %s: %s", EP_OUT_NAME, strerror(errno));
		return -1;
	}
	return 0;
}

static void ep0_stall(const struct usb_ctrlrequest *r)
{
	uint8_t b;

	if (raw_fd >= 0)
		(void)!ioctl(raw_fd, USB_RAW_IOCTL_EP0_STALL, 0);
	else if (r->bRequestType & USB_DIR_IN)
		(void)!read(ep0, &b, 0);
	else
		(void)!write(ep0, &b, 0);
}

static void send_string(const struct usb_ctrlrequest *r)
{
	uint8_t buf[128];
	unsigned int idx = r->wValue & 0xff, len, i;
	const char *s;

	if (idx == 0) {
		buf[0] = 4;
		buf[1] = USB_DT_STRING;
		put_le16(buf + 2, 0x0409);
		len = 4;
	} else if (idx < NSTRINGS && cur_strings->s[idx]) {
		s = cur_strings->s[idx];
		len = 2 + 2 * (unsigned int)strlen(s);
		buf[0] = (uint8_t)len;
		buf[1] = USB_DT_STRING;
		for (i = 0; s[i]; i++)
			put_le16(buf + 2 + 2 * i, (uint8_t)s[i]);
	} else {
		ep0_stall(r);
		return;
	}
	if (len > r->wLength)
		len = r->wLength;
	if (ep0_send(buf, len) < 0)
		say("string %u: write: %s", idx, strerror(errno));
}

/*
 * The next SETUP from gadgetfs. 0 with @c filled, -2 when @timeout_ms (0:
 * none) passed in all (*@waited counts), -1 on error/stop.
 */
static int gfs_fetch(struct usb_ctrlrequest *c, int timeout_ms, int *waited)
{
	static struct usb_gadgetfs_event ev[5];
	struct pollfd pfd;
	int n;

	for (;;) {
		while (gfs_iev < gfs_nev) {
			const struct usb_gadgetfs_event *e = &ev[gfs_iev++];

			/*
			 * CONNECT, SUSPEND, NOP; DISCONNECT is also reported
			 * for every bus reset during enumeration.
			 */
			if (e->type == GADGETFS_SETUP) {
				*c = e->u.setup;
				return 0;
			}
		}
		if (stop)
			return -1;
		pfd.fd = ep0;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, 200);
		if (n == 0) {
			*waited += 200;
			if (timeout_ms && *waited >= timeout_ms)
				return -2;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = (int)read(ep0, ev, sizeof(ev));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EIDRM)
				continue;
			say("ep0 read: %s", strerror(errno));
			return -1;
		}
		gfs_nev = n / (int)sizeof(ev[0]);
		gfs_iev = 0;
	}
}

/*
 * The next control request from raw_gadget, as gfs_fetch(). The event fetch
 * blocks; a 200 ms interval timer interrupts it to count time.
 */
static int raw_fetch(struct usb_ctrlrequest *c, int timeout_ms, int *waited)
{
	static union {
		struct usb_raw_event e;
		uint8_t b[sizeof(struct usb_raw_event) + sizeof(struct usb_ctrlrequest)];
	} ev;
	const struct itimerval tick = {{0, 200000}, {0, 200000}}, off = {{0, 0}, {0, 0}};
	int n;

	for (;;) {
		if (stop)
			return -1;
		ev.e.type = 0;
		ev.e.length = sizeof(struct usb_ctrlrequest);
		setitimer(ITIMER_REAL, &tick, NULL);
		n = ioctl(raw_fd, USB_RAW_IOCTL_EVENT_FETCH, &ev);
		setitimer(ITIMER_REAL, &off, NULL);
		if (n < 0) {
			if (errno != EINTR) {
				say("raw_gadget event fetch: %s", strerror(errno));
				return -1;
			}
			*waited += 200;
			if (timeout_ms && *waited >= timeout_ms)
				return -2;
			continue;
		}
		/* Others: CONNECT, and on newer kernels RESET, DISCONNECT, SUSPEND, RESUME. */
		if (ev.e.type == USB_RAW_EVENT_CONTROL && ev.e.length >= sizeof(*c)) {
			memcpy(c, ev.e.data, sizeof(*c));
			ep0_wlength = c->wLength;
			return 0;
		}
	}
}

/*
 * A standard request. Under gadgetfs the kernel answers the device and
 * configuration descriptors itself; under raw_gadget they come here too.
 * -1 when the request could not be served.
 */
static int standard_request(const struct usb_ctrlrequest *c)
{
	unsigned int type = c->wValue >> 8;

	if (c->bRequest == USB_REQ_GET_DESCRIPTOR && type == USB_DT_STRING) {
		send_string(c);
	} else if (raw_fd >= 0 && c->bRequest == USB_REQ_GET_DESCRIPTOR &&
		   c->bRequestType == USB_DIR_IN && type == USB_DT_DEVICE) {
		if (ep0_send(dev_desc, c->wLength < 18 ? c->wLength : 18) < 0)
			say("device descriptor: write: %s", strerror(errno));
	} else if (raw_fd >= 0 && c->bRequest == USB_REQ_GET_DESCRIPTOR &&
		   c->bRequestType == USB_DIR_IN && type == USB_DT_CONFIG && !(c->wValue & 0xff)) {
		send_config_quirk(c);
	} else if (c->bRequest == USB_REQ_SET_CONFIGURATION && c->bRequestType == 0) {
		if (c->wValue && raw_fd >= 0 && raw_ep < 0 && raw_enable_out_ep())
			return -1;
		if (c->wValue && raw_fd < 0 && epout < 0 && enable_out_ep())
			return -1;
		ep0_ack();
	} else if (c->bRequest == USB_REQ_SET_INTERFACE) {
		ep0_ack();
	} else {
		ep0_stall(c);
	}
	return 0;
}

/*
 * Next vendor request; standard ones (strings, SET_CONFIGURATION, and under
 * raw_gadget the descriptors) are handled here. 0 with @r filled, -2 when
 * @timeout_ms (0: none) passed without one (the caller decides whether that
 * is a failure), -1 on error/stop.
 */
static int next_vendor(struct usb_ctrlrequest *r, int timeout_ms)
{
	struct usb_ctrlrequest c;
	int n, waited = 0;

	for (;;) {
		n = raw_fd >= 0 ? raw_fetch(&c, timeout_ms, &waited)
				: gfs_fetch(&c, timeout_ms, &waited);
		if (n)
			return n;
		if ((c.bRequestType & USB_TYPE_MASK) == USB_TYPE_VENDOR) {
			*r = c;
			return 0;
		}
		if (standard_request(&c))
			return -1;
	}
}

static void gave_up(const char *what, int timeout_ms)
{
	say("FAIL gave up waiting for the host: no %s within %d s", what, timeout_ms / 1000);
}

/* Expect a size announcement (vendor OUT, wLength 0); returns the size or -1. */
static long long expect_size(int timeout_ms)
{
	struct usb_ctrlrequest r;
	int n = next_vendor(&r, timeout_ms);

	if (n == -2)
		gave_up("size announcement (vendor OUT request)", timeout_ms);
	if (n)
		return -1;
	if (r.bRequestType != 0x40 || r.bRequest != 0 || r.wLength != 0) {
		say("FAIL expected a size announcement (0x40/0), got %02x/%02x wLength %u",
		    r.bRequestType, r.bRequest, r.wLength);
		ep0_stall(&r);
		return -2;
	}
	ep0_ack();
	return (long long)r.wValue | (long long)r.wIndex << 16;
}

/*
 * Read @len bulk bytes, hashing them. With @stop_at < len, stop after about
 * that many bytes (fault injection) and return 1.
 */
static int read_bulk(long long len, long long stop_at, char sha[65])
{
	static uint8_t buf[65536];
	unsigned char md[32];
	long long got = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while (got < len) {
		size_t want =
			len - got > (long long)sizeof(buf) ? sizeof(buf) : (size_t)(len - got);
		ssize_t n;

		if (got >= stop_at) {
			EVP_MD_CTX_free(c);
			return 1;
		}
		if (stop_at < len && want > 16384)
			want = 16384;
		n = bulk_read(buf, want);
		if (n < 0 && errno == EINTR && !stop)
			continue;
		if (n <= 0) {
			say("FAIL bulk read after %lld of %lld bytes: %s", got, len,
			    n < 0 ? strerror(errno) : "end of data");
			EVP_MD_CTX_free(c);
			return -1;
		}
		EVP_DigestUpdate(c, buf, (size_t)n);
		got += n;
	}
	EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	hex(md, 32, sha);
	return 0;
}

/* Answer a vendor IN request with @data (it must ask for exactly @len). */
static int reply_in(const void *data, size_t len, int timeout_ms)
{
	struct usb_ctrlrequest r;
	int n = next_vendor(&r, timeout_ms);

	if (n == -2)
		gave_up("vendor IN request", timeout_ms);
	if (n)
		return -1;
	/*
	 * Observed on dummy_hcd + gadgetfs (Debian 6.12): the host's 260-byte
	 * file-request read arrives here with wLength 256 (wValue still 260),
	 * while the host still waits for 260 bytes. 256 bytes would end on a
	 * full packet and leave the host waiting, so answer 255: the short
	 * packet ends the transfer and the host sees a short reply (a name
	 * field of 251 bytes), which a host must handle anyway.
	 */
	if (r.bRequestType == 0xc0 && len == REQ_LEN && r.wValue == REQ_LEN && r.wLength >= 64 &&
	    r.wLength < len)
		len = r.wLength - (r.wLength % 64 == 0);
	if (r.bRequestType != 0xc0 || r.wLength < len) {
		say("FAIL expected a vendor IN of %zu bytes, got %02x/%02x wValue %u wIndex %u "
		    "wLength %u",
		    len, r.bRequestType, r.bRequest, r.wValue, r.wIndex, r.wLength);
		ep0_stall(&r);
		return -1;
	}
	if (ep0_send(data, len) != (ssize_t)len) {
		say("reply write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- stage A: ROM ------------------------------------------------------------- */

static struct strings rom_strings, ss_strings;
static unsigned int tmo_ms(void)
{
	return opt.host_timeout * 1000u;
}

static const char *product_string(void)
{
	switch (opt.pid) {
	case 0x2763:
		return "BCM2708 Boot";
	case 0x2711:
		return "BCM2711 Boot";
	case 0x2712:
		return "BCM2712 Boot";
	}
	return "BCM2710 Boot";
}

/*
 * ROM: Manufacturer 1, Product 2; BCM2711 also the serial string at index 3.
 * Second stage: its index names "Broadcom" (as on a CM3), or for BCM2711 a
 * one-character "0" at any other index (the bootcode4.bin template's third
 * string).
 */
static void set_strings(void)
{
	rom_strings.s[1] = ss_strings.s[1] = "Broadcom";
	rom_strings.s[2] = ss_strings.s[2] = product_string();
	if (opt.pid == 0x2711)
		rom_strings.s[3] = opt.serial;
	if (opt.stage2_index > 2)
		ss_strings.s[opt.stage2_index] = "0";
}

static uint8_t rom_index(void)
{
	return opt.pid == 0x2711 ? 3 : 0;
}

static int stage_rom(void)
{
	char sha[65], want_sha[65];
	uint8_t status[4] = {0};
	long long len, want;
	uint8_t msg[24];
	ssize_t n;
	int i, r;

	want = opt.pid == 0x2711 ? fw_file("bootcode4.bin", want_sha) : -1;
	if (want < 0)
		want = fw_file("bootcode.bin", want_sha);
	if (want < 0) {
		say("FAIL no bootcode.bin in %s", opt.firmware);
		return -1;
	}
	if (opt.raw) {
		if (raw_open((uint16_t)opt.pid, rom_index(), &rom_strings))
			return -1;
	} else {
		if (gadget_open((uint16_t)opt.pid, rom_index(), &rom_strings))
			return -1;
		find_bound_udc();
	}
	say("stage A: ROM 0a5c:%04x iSerialNumber %u%s%s, %u interface%s, on %s%s", opt.pid,
	    rom_index(), opt.pid == 0x2711 ? " serial " : "", opt.pid == 0x2711 ? opt.serial : "",
	    opt.interfaces, opt.interfaces == 1 ? "" : "s",
	    bound_udc[0] ? bound_udc : "(unknown UDC)",
	    opt.raw ? " (raw_gadget, with the configuration descriptor quirk)" : "");
	len = expect_size((int)tmo_ms());
	if (opt.raw && len >= 0) {
		/* The host has configured the device: it has read the descriptor. */
		if (!quirk_header || !quirk_full) {
			say("FAIL descriptor quirk not exercised: %u header read(s), %u full "
			    "read(s)",
			    quirk_header, quirk_full);
			return -1;
		}
		say("stage A: descriptor quirk presented: %u header read(s) said 55 bytes / 2 "
		    "interfaces, %u full read(s) got 32 bytes / 1 interface",
		    quirk_header, quirk_full);
	}
	if (len != 24) {
		say("FAIL boot message: announced %lld bytes, expected 24", len);
		return -1;
	}
	for (i = 0; i < 24; i += (int)n) {
		n = bulk_read(msg + i, (size_t)(24 - i));
		if (n <= 0) {
			say("FAIL boot message: bulk read: %s", n < 0 ? strerror(errno) : "end");
			return -1;
		}
	}
	len = (long long)msg[0] | msg[1] << 8 | msg[2] << 16 | (long long)msg[3] << 24;
	for (i = 4; i < 24; i++)
		if (msg[i]) {
			say("FAIL boot message: signature byte %d is 0x%02x, expected zeros", i,
			    msg[i]);
			return -1;
		}
	if (len != want) {
		say("FAIL boot message: length %lld, bootcode.bin is %lld bytes", len, want);
		return -1;
	}
	say("stage A: boot message ok (length %lld, signature zero)", len);
	if (expect_size((int)tmo_ms()) != len) {
		say("FAIL second-stage announcement differs from the boot message length");
		return -1;
	}
	r = read_bulk(len, opt.fault == F_DISCONNECT_UPLOAD ? len / 2 : len + 1, sha);
	if (r == 1) {
		say("FAULT disconnect-upload: disconnecting after %lld of %lld bytes", len / 2,
		    len);
		gadget_close();
		return 1;
	}
	if (r)
		return -1;
	say("stage A: received bootcode.bin %lld bytes sha256 %s", len, sha);
	if (strcmp(sha, want_sha)) {
		say("FAIL upload sha256 differs from %s/bootcode.bin (%s)", opt.firmware, want_sha);
		return -1;
	}
	if (opt.fault == F_ROM_STATUS)
		status[0] = 5;
	if (reply_in(status, 4, (int)tmo_ms()))
		return -1;
	if (opt.fault == F_ROM_STATUS) {
		say("FAULT rom-status: answered status 5");
		msleep(500);
		gadget_close();
		return 1;
	}
	say("stage A: status 0 sent, rebooting into the second stage");
	msleep(opt.delay_ms);
	gadget_close();
	return 0;
}

/*
 * A BCM2712 ROM (0a5c:2712): the Etcher firmware set has nothing for it, so
 * the host must say so and leave the device alone.
 */
static int stage_rom_2712(void)
{
	struct usb_ctrlrequest r;

	if (gadget_open(0x2712, 0, &rom_strings))
		return -1;
	find_bound_udc();
	say("stage A: ROM 0a5c:2712 iSerialNumber 0 on %s",
	    bound_udc[0] ? bound_udc : "(unknown UDC)");
	if (!next_vendor(&r, 8000)) {
		say("FAIL the host sent a vendor request (%02x) to a BCM2712 it has no firmware "
		    "for",
		    r.bRequestType);
		return -1;
	}
	say("FAULT bcm2712: the host left the device alone");
	gadget_close();
	return 1;
}

/* ---- stage B: second stage ------------------------------------------------------ */

struct step {
	int cmd; /* 0 size, 1 read, 2 done, 7 bad */
	const char *name;
	bool fw; /* served from the firmware directory (else must be 0) */
};

/* BCM2711 bootcode4.bin with the cm4/ set (only start4.elf is in it). */
static const struct step session_2711[] = {
	{0, "config.txt", true},   {0, "vl805.sig", true},    {0, "pieeprom.sig", true},
	{0, "recover4.elf", true}, {0, "recovery.elf", true}, {0, "start4.elf", true},
	{1, "start4.elf", true},   {0, "fixup4.dat", true},   {2, "", false},
};

/* Metadata records a BCM2711 sends (keys as documented for rpiboot's -j). */
static const char *const metadata_2711[] = {
	"*MAC_ADDR*d8:3a:dd:5e:4d:3c", "*USER_BOARDREV*0xd03141", "*BOOT_ROM*0x3b7f1c87",
	"*BOARD_ATTR*0x00000000",      "*JTAG_LOCKED*0",	  "*EEPROM_UPDATE*skipped",
};

static const struct step session1[] = {
	{0, "autoboot.txt", true}, {0, "config.txt", true},   {1, "config.txt", true},
	{0, "recovery.elf", true}, {0, "start_cd.elf", true}, {1, "start_cd.elf", true},
	{0, "fixup_cd.dat", true}, {1, "fixup_cd.dat", true}, {2, "", false},
};

static const struct step session2[] = {
	{0, "config.txt", true},	  {1, "config.txt", true},
	{0, "dt-blob.bin", true},	  {0, "bcm2710-rpi-cm3.dtb", true},
	{1, "bcm2710-rpi-cm3.dtb", true}, {0, "overlays/dwc2.dtbo", true},
	{1, "overlays/dwc2.dtbo", true},  {0, "cmdline.txt", true},
	{0, "armstub7.bin", true},	  {0, "kernel7.img", true},
	{1, "kernel7.img", true},	  {2, "", false},
};

static int do_step(const struct step *s, unsigned int session)
{
	uint8_t req[REQ_LEN] = {0};
	char want_sha[65] = "", sha[65];
	long long want = 0, got;

	req[0] = (uint8_t)s->cmd;
	memcpy(req + 4, s->name, strlen(s->name));
	if (s->fw) {
		want = fw_file(s->name, want_sha);
		if (want < 0)
			want = 0;
	}
	if (reply_in(req, REQ_LEN, (int)tmo_ms()))
		return -1;
	if (s->cmd == 2)
		return 0;
	if (s->cmd == 7) {
		struct usb_ctrlrequest r;
		int n = next_vendor(&r, 3000);

		if (!n && r.bRequestType == 0x40)
			ep0_ack();
		say("sent command 7; host %s (a host may end the session instead)",
		    n ? "sent nothing more" : "answered with another request");
		return 1;
	}
	got = expect_size((int)tmo_ms());
	if (got < 0) {
		say("FAIL %s %s: no size announcement", s->cmd ? "ReadFile" : "GetFileSize",
		    s->name);
		return -1;
	}
	if (got != want) {
		say("FAIL %s %s (session %u): host said %lld bytes, expected %lld",
		    s->cmd ? "ReadFile" : "GetFileSize", s->name, session, got, want);
		return -1;
	}
	if (s->cmd == 1 && got > 0) {
		if (read_bulk(got, got + 1, sha))
			return -1;
		if (strcmp(sha, want_sha)) {
			say("FAIL %s: sha256 %s, expected %s", s->name, sha, want_sha);
			return -1;
		}
		say("session %u: %s %lld bytes sha256 ok", session, s->name, got);
	} else {
		say("session %u: %s %s -> %lld", session, s->cmd ? "ReadFile" : "GetFileSize",
		    s->name, got);
	}
	return 0;
}

static int run_steps(const struct step *steps, size_t n, unsigned int session)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (steps[i].cmd == 2 && session == 1 && opt.pid == 0x2711 && opt.metadata) {
			size_t k;

			for (k = 0; k < sizeof(metadata_2711) / sizeof(metadata_2711[0]); k++) {
				const struct step m = {0, metadata_2711[k], false};

				if (do_step(&m, session))
					return -1;
			}
			say("metadata: %zu records sent, each acknowledged with a zero-length "
			    "write",
			    k);
		}
		if (steps[i].cmd == 2) {
			/* Faults go in just before the first Done. */
			if (session == 1 && opt.fault == F_MISSING_FILE) {
				static const struct step m[] = {
					{0, "bootseal-missing.bin", false},
					{1, "bootseal-missing.bin", false},
				};
				if (do_step(&m[0], session) || do_step(&m[1], session))
					return -1;
				say("FAULT missing-file: host answered size 0 for both requests");
			}
			if (session == 1 && opt.fault == F_DOTDOT) {
				static const struct step m[] = {
					{0, "../../../etc/passwd", false},
					{1, "../../../etc/passwd", false},
					{0, "/etc/passwd", false},
					{0, "overlays/../config.txt", false},
				};
				size_t k;

				for (k = 0; k < 4; k++)
					if (do_step(&m[k], session))
						return -1;
				say("FAULT dotdot: host refused every traversal name (size 0)");
			}
			if (session == 1 && opt.fault == F_HOLD_REPLY) {
				struct usb_ctrlrequest r0;
				int nv = next_vendor(&r0, (int)tmo_ms());

				if (nv == -2)
					gave_up("file request to hold", (int)tmo_ms());
				if (nv)
					return -1;
				say("FAULT hold-reply: holding the request reply for %u s",
				    opt.hold);
				msleep(opt.hold * 1000);
				return 1;
			}
			if (session == 1 && opt.fault == F_BAD_COMMAND) {
				static const struct step m = {7, "config.txt", false};

				r = do_step(&m, session);
				say("FAULT bad-command: sent an unknown command");
				return r < 0 ? -1 : 1;
			}
		}
		r = do_step(&steps[i], session);
		if (r)
			return r;
	}
	return 0;
}

static int stage_server(unsigned int session)
{
	int r;

	if (gadget_open((uint16_t)opt.pid, (uint8_t)opt.stage2_index, &ss_strings))
		return -1;
	find_bound_udc();
	say("stage B: second stage 0a5c:%04x iSerialNumber %u, session %u", opt.pid,
	    opt.stage2_index, session);
	if (opt.pid == 0x2711)
		r = run_steps(session_2711, sizeof(session_2711) / sizeof(session_2711[0]),
			      session);
	else if (session == 1)
		r = run_steps(session1, sizeof(session1) / sizeof(session1[0]), session);
	else
		r = run_steps(session2, sizeof(session2) / sizeof(session2[0]), session);
	if (r == 0) {
		struct usb_ctrlrequest q;
		int n;

		say("stage B: session %u done", session);
		/*
		 * rpiboot sends one more zero-length write after Done: acknowledge
		 * it (a host that sends none is fine). Anything else is a host bug.
		 */
		n = next_vendor(&q, 1000);
		if (!n && q.bRequestType == 0x40 && q.bRequest == 0 && !q.wValue && !q.wIndex &&
		    !q.wLength) {
			ep0_ack();
			say("session %u: zero-length write after Done acknowledged", session);
			/*
			 * Let the host finish that status stage before the
			 * disconnect: closing ep0 with it still queued makes
			 * dummy_hcd warn (a freed request still on its queue).
			 */
			msleep(300);
		} else if (!n) {
			say("FAIL session %u: after Done the host sent %02x/%02x wValue %u wIndex "
			    "%u wLength %u",
			    session, q.bRequestType, q.bRequest, q.wValue, q.wIndex, q.wLength);
			ep0_stall(&q);
			r = -1;
		} else {
			say("session %u: no zero-length write after Done", session);
		}
	}
	gadget_close();
	return r;
}

/* ---- stage C: mass storage -------------------------------------------------------- */

static char gdir[512];

static int mkdirs(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		say("FAIL mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void msd_teardown(void)
{
	char p[1024];

	if (!gdir[0])
		return;
	snprintf(p, sizeof(p), "%s/UDC", gdir);
	write_file(p, "\n");
	snprintf(p, sizeof(p), "%s/configs/c.1/mass_storage.0", gdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/configs/c.1/strings/0x409", gdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/configs/c.1", gdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/functions/mass_storage.0", gdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/strings/0x409", gdir);
	rmdir(p);
	if (rmdir(gdir))
		say("cannot remove %s: %s", gdir, strerror(errno));
	gdir[0] = '\0';
}

static int stage_msd(void)
{
	const char *udc = opt.udc ? opt.udc : bound_udc;
	char p[1024], t[1024];
	unsigned int waited = 0;
	struct stat st;

	if (!udc[0]) {
		say("FAIL do not know which UDC to bind (pass --udc)");
		return -1;
	}
	if (stat(CONFIGFS_DIR "/usb_gadget", &st) &&
	    mount("none", CONFIGFS_DIR, "configfs", 0, NULL) && errno != EBUSY) {
		say("FAIL cannot mount configfs: %s", strerror(errno));
		return -1;
	}
	snprintf(gdir, sizeof(gdir), CONFIGFS_DIR "/usb_gadget/fakecm_%s", udc);
	for (char *c = gdir + strlen(CONFIGFS_DIR "/usb_gadget/"); *c; c++)
		if (*c == '.')
			*c = '_';
	if (mkdirs(gdir))
		return -1;
#define W(rel, val)                                                                                \
	do {                                                                                       \
		snprintf(p, sizeof(p), "%s/%s", gdir, rel);                                        \
		if (write_file(p, val))                                                            \
			goto fail;                                                                 \
	} while (0)
#define D(rel)                                                                                     \
	do {                                                                                       \
		snprintf(p, sizeof(p), "%s/%s", gdir, rel);                                        \
		if (mkdirs(p))                                                                     \
			goto fail;                                                                 \
	} while (0)
	/* After the cm4/ set: the VPU mass-storage firmware's 0a5c:0001. */
	W("idVendor", opt.pid == 0x2711 ? "0x0a5c" : "0x0525");
	W("idProduct", opt.pid == 0x2711 ? "0x0001" : "0xa4a5");
	D("strings/0x409");
	W("strings/0x409/manufacturer", opt.pid == 0x2711 ? "Broadcom" : "Linux");
	W("strings/0x409/product", opt.pid == 0x2711 ? "BCM2711 mass storage" : "File-Stor Gadget");
	W("strings/0x409/serialnumber", opt.pid == 0x2711 ? opt.serial : "fakecm");
	D("configs/c.1");
	D("functions/mass_storage.0");
	/*
	 * Like the g_mass_storage of Etcher's CM kernel (its removable
	 * parameter defaults to off): a fixed LUN, which refuses PREVENT
	 * ALLOW MEDIUM REMOVAL and eject as ILLEGAL REQUEST.
	 */
	W("functions/mass_storage.0/lun.0/removable", "0");
	W("functions/mass_storage.0/lun.0/file", opt.backing);
	snprintf(p, sizeof(p), "%s/functions/mass_storage.0", gdir);
	snprintf(t, sizeof(t), "%s/configs/c.1/mass_storage.0", gdir);
	if (symlink(p, t)) {
		say("FAIL symlink %s: %s", t, strerror(errno));
		goto fail;
	}
	/* The UDC may take a moment to be released by gadgetfs. */
	for (;;) {
		snprintf(p, sizeof(p), "%s/UDC", gdir);
		if (!write_file(p, udc))
			break;
		if (waited > 5000)
			goto fail;
		msleep(250);
		waited += 250;
	}
#undef W
#undef D
	say("stage C: mass storage %s on %s backed by %s",
	    opt.pid == 0x2711 ? "0a5c:0001" : "0525:a4a5", udc, opt.backing);
	return 0;
fail:
	msd_teardown();
	return -1;
}

/* A whole decimal number in [lo, hi]; exits with a usage error otherwise. */
static unsigned int num_arg(const char *name, const char *v, unsigned int lo, unsigned int hi,
			    int base)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, base);
	if (errno || end == v || *end || n < lo || n > hi) {
		say("--%s '%s': expected a number from %u to %u", name, v, lo, hi);
		exit(2);
	}
	return (unsigned int)n;
}

static void usage(void)
{
	fprintf(stderr, "usage: fakecm --firmware DIR --backing FILE [options]; see the comment at "
			"the top of tests/tools/fakecm.c\n");
	exit(2);
}

static int finish_exit(int r, const char *where)
{
	if (r < 0 && !said_fail)
		say("FAIL %s: the host went away or a transfer failed (see above)", where);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"firmware", required_argument, NULL, 'f'},
		{"backing", required_argument, NULL, 'b'},
		{"udc", required_argument, NULL, 'u'},
		{"fault", required_argument, NULL, 'F'},
		{"hold", required_argument, NULL, 'H'},
		{"msd-seconds", required_argument, NULL, 'm'},
		{"delay-ms", required_argument, NULL, 'd'},
		{"msd-delay-ms", required_argument, NULL, 'D'},
		{"sessions", required_argument, NULL, 's'},
		{"pid", required_argument, NULL, 'P'},
		{"interfaces", required_argument, NULL, 'i'},
		{"stage2-index", required_argument, NULL, 'x'},
		{"serial", required_argument, NULL, 'S'},
		{"no-metadata", no_argument, NULL, 'M'},
		{"host-timeout", required_argument, NULL, 'T'},
		{"raw-gadget", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	unsigned int s, waited;
	struct stat st;
	int c, i, r;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt.firmware = optarg;
			break;
		case 'b':
			opt.backing = optarg;
			break;
		case 'u':
			opt.udc = optarg;
			break;
		case 'H':
			opt.hold = num_arg("hold", optarg, 0, 3600, 10);
			break;
		case 'm':
			opt.msd_seconds = num_arg("msd-seconds", optarg, 0, 86400, 10);
			break;
		case 'd':
			opt.delay_ms = num_arg("delay-ms", optarg, 0, 600000, 10);
			break;
		case 'D':
			opt.msd_delay_ms = (int)num_arg("msd-delay-ms", optarg, 0, 600000, 10);
			break;
		case 's':
			opt.sessions = num_arg("sessions", optarg, 1, 2, 10);
			break;
		case 'P':
			opt.pid = num_arg("pid", optarg, 0, 0xffff, 16);
			break;
		case 'i':
			opt.interfaces = num_arg("interfaces", optarg, 1, 2, 10);
			break;
		case 'x':
			opt.stage2_index = num_arg("stage2-index", optarg, 1, NSTRINGS - 1, 10);
			break;
		case 'T':
			opt.host_timeout = num_arg("host-timeout", optarg, 1, 3600, 10);
			break;
		case 'M':
			opt.metadata = false;
			break;
		case 'R':
			opt.raw = true;
			break;
		case 'S':
			if (strlen(optarg) != 8 || strspn(optarg, "0123456789abcdef") != 8) {
				say("--serial '%s': expected 8 lower-case hex digits", optarg);
				return 2;
			}
			opt.serial = optarg;
			break;
		case 'F':
			for (i = 0; fault_names[i]; i++)
				if (!strcmp(fault_names[i], optarg))
					break;
			if (!fault_names[i]) {
				say("unknown fault '%s'", optarg);
				return 2;
			}
			opt.fault = (enum fault)i;
			break;
		default:
			usage();
		}
	}
	if (optind < argc || !opt.firmware || !opt.backing)
		usage();
	if (opt.pid != 0x2763 && opt.pid != 0x2764 && opt.pid != 0x2711 && opt.pid != 0x2712) {
		say("--pid %x: expected 2763, 2764, 2711 or 2712", opt.pid);
		return 2;
	}
	if (opt.stage2_index == 3) {
		say("--stage2-index 3: that is the BCM2711 ROM's index, not a second stage");
		return 2;
	}
	if (opt.raw && (opt.pid != 0x2711 || opt.interfaces != 1)) {
		say("--raw-gadget: the BCM2711 ROM's quirk; needs --pid 2711 and one interface");
		return 2;
	}
	if (opt.pid == 0x2711 && opt.sessions > 1) {
		say("--sessions %u: a BCM2711 with the cm4/ set runs one session", opt.sessions);
		return 2;
	}
	if (!opt.sessions)
		opt.sessions = opt.pid == 0x2711 ? 1 : 2;
	if (opt.msd_delay_ms < 0)
		opt.msd_delay_ms = opt.pid == 0x2711 ? 2000 : 5000;
	set_strings();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (stat(EP0_NAME, &st)) {
		mkdir(GADGETFS_DIR, 0755);
		if (mount("gadgetfs", GADGETFS_DIR, "gadgetfs", 0, NULL) && errno != EBUSY) {
			say("FAIL cannot mount gadgetfs on %s: %s", GADGETFS_DIR, strerror(errno));
			return 1;
		}
	}

	r = opt.pid == 0x2712 ? stage_rom_2712() : stage_rom();
	if (r)
		return finish_exit(r, "stage A (ROM)");
	for (s = 1; s <= opt.sessions; s++) {
		r = stage_server(s);
		if (r)
			return finish_exit(r, "stage B (second stage)");
		if (s < opt.sessions)
			msleep(opt.delay_ms);
	}
	/* Not "stage C:": tests wait for that prefix to know the disk is there. */
	say("starting the mass-storage device in %d ms", opt.msd_delay_ms);
	msleep((unsigned int)opt.msd_delay_ms);
	if (stop) {
		say("FAIL stopped before stage C");
		return 1;
	}
	if (stage_msd())
		return finish_exit(-1, "stage C (mass storage)");
	for (waited = 0; !stop && (!opt.msd_seconds || waited < opt.msd_seconds * 10); waited++)
		msleep(100);
	msd_teardown();
	say("done");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * usbboot host: ROM stage, second-stage file server, and the wait for the
 * mass-storage device, for many devices at once (see usbboot.h). The whole
 * libusb lifecycle lives in this file.
 *
 * Threads: the caller's thread scans the bus every BS_SCAN_MS with a fresh
 * libusb context (so no udev daemon is needed to see new devices), owns the
 * table of ports and starts one worker thread per stage of each device; a
 * worker opens its device in its own libusb context, runs the stage, closes
 * everything and reports back through its port entry. When a block device
 * appears behind a port, the ready callback runs in that port's thread too.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libusb.h>
#include <linux/openat2.h>

#include "helper.h"
#include "device.h"
#include "json.h"
#include "progress.h"
#include "sha.h"
#include "station.h"
#include "usbboot.h"

#define BS_SCAN_MS   250
#define BS_MAX_PORTS 64
#define BS_PORT_LEN  32

/* ---- protocol framing (pure, unit-tested) --------------------------------- */

void bs_usbboot_boot_message(uint8_t out[BS_USBBOOT_BOOTMSG_LEN], uint32_t len)
{
	memset(out, 0, BS_USBBOOT_BOOTMSG_LEN);
	out[0] = len & 0xff;
	out[1] = (len >> 8) & 0xff;
	out[2] = (len >> 16) & 0xff;
	out[3] = (len >> 24) & 0xff;
}

int bs_usbboot_parse_request(const uint8_t *buf, size_t len, struct bs_usbboot_req *req, char *err,
			     size_t errlen)
{
	uint32_t cmd;
	size_t nlen, avail;

	memset(req, 0, sizeof(*req));
	if (!buf || len < 4) {
		snprintf(err, errlen, "request is %zu bytes, fewer than the 4-byte command", len);
		return -1;
	}
	cmd = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	      (uint32_t)buf[3] << 24;
	avail = len - 4;
	if (avail > BS_USBBOOT_NAME_LEN)
		avail = BS_USBBOOT_NAME_LEN;
	nlen = strnlen((const char *)buf + 4, avail);
	if (nlen == BS_USBBOOT_NAME_LEN) {
		snprintf(err, errlen, "file name is not NUL-terminated within %d bytes",
			 BS_USBBOOT_NAME_LEN);
		return -1;
	}
	/* A short reply ends the name where the data ends. */
	memcpy(req->name, buf + 4, nlen);
	req->name[nlen] = '\0';
	if (nlen == 0) {
		req->cmd = BS_USBBOOT_DONE;
		return 0;
	}
	if (cmd > BS_USBBOOT_DONE) {
		snprintf(err, errlen, "unknown command %" PRIu32, cmd);
		return -1;
	}
	req->cmd = (enum bs_usbboot_cmd)cmd;
	return 0;
}

int bs_usbboot_name_ok(const char *name, char *why, size_t whylen)
{
	const char *p, *comp;

	if (!name || !*name) {
		snprintf(why, whylen, "empty name");
		return -1;
	}
	if (name[0] == '*') {
		snprintf(why, whylen, "metadata record, not a file");
		return -1;
	}
	if (name[0] == '/') {
		snprintf(why, whylen, "absolute path");
		return -1;
	}
	for (p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f) {
			snprintf(why, whylen, "control or non-ASCII byte 0x%02x", c);
			return -1;
		}
		if (c == '\\') {
			snprintf(why, whylen, "backslash in name");
			return -1;
		}
	}
	if (strstr(name, "..")) {
		snprintf(why, whylen, "'..' in name (path traversal)");
		return -1;
	}
	for (comp = name; comp;) {
		const char *slash = strchr(comp, '/');
		size_t clen = slash ? (size_t)(slash - comp) : strlen(comp);

		if (clen == 0) {
			snprintf(why, whylen, "empty path component");
			return -1;
		}
		if (clen == 1 && comp[0] == '.') {
			snprintf(why, whylen, "'.' path component");
			return -1;
		}
		comp = slash ? slash + 1 : NULL;
	}
	return 0;
}

int bs_usbboot_parse_meta(const char *name, char key[BS_USBBOOT_META_KEY_LEN],
			  char val[BS_USBBOOT_META_VAL_LEN], char *why, size_t whylen)
{
	const char *k, *v;
	size_t klen, vlen, i;

	if (!name || name[0] != '*') {
		snprintf(why, whylen, "not a metadata record (no leading '*')");
		return -1;
	}
	k = name + 1;
	v = strchr(k, '*');
	if (!v) {
		snprintf(why, whylen, "no '*' between key and value");
		return -1;
	}
	klen = (size_t)(v - k);
	v++;
	vlen = strlen(v);
	if (klen == 0 || klen >= BS_USBBOOT_META_KEY_LEN) {
		snprintf(why, whylen, "key of %zu bytes (1-%d)", klen, BS_USBBOOT_META_KEY_LEN - 1);
		return -1;
	}
	for (i = 0; i < klen; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '_')) {
			snprintf(why, whylen, "key byte 0x%02x is not A-Z, 0-9 or '_'",
				 (unsigned char)k[i]);
			return -1;
		}
	if (vlen >= BS_USBBOOT_META_VAL_LEN) {
		snprintf(why, whylen, "value of %zu bytes (at most %d)", vlen,
			 BS_USBBOOT_META_VAL_LEN - 1);
		return -1;
	}
	for (i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f) {
			snprintf(why, whylen, "value byte 0x%02x is not printable ASCII",
				 (unsigned char)v[i]);
			return -1;
		}
	memcpy(key, k, klen);
	key[klen] = '\0';
	memcpy(val, v, vlen + 1);
	return 0;
}

const char *bs_usbboot_chip(uint16_t pid)
{
	switch (pid) {
	case 0x2763:
		return "BCM2835";
	case 0x2764:
		return "BCM2837";
	case 0x2711:
		return "BCM2711";
	case 0x2712:
		return "BCM2712";
	}
	return NULL;
}

static bool is_msd(uint16_t vid, uint16_t pid)
{
	return (vid == 0x0525 && pid == 0xa4a5) || (vid == BS_USBBOOT_VID && pid == 0x0001);
}

/* ---- time ---------------------------------------------------------------- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- firmware directory --------------------------------------------------- */

const char *bs_usbboot_default_firmware(char *buf, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	struct stat st;

	snprintf(buf, len, "%s/blobs", BOOTSEAL_DATADIR);
	if (!stat(buf, &st) && S_ISDIR(st.st_mode))
		return buf;
	/* build/bootseal in a source tree: the tree's blobs/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(buf, len, "%s/../blobs", exe);
	if (!stat(buf, &st) && S_ISDIR(st.st_mode))
		return buf;
	snprintf(buf, len, "%s/blobs", exe);
	if (!stat(buf, &st) && S_ISDIR(st.st_mode))
		return buf;
	return NULL;
}

static bool file_in(int dfd, const char *name)
{
	struct stat st;

	return !fstatat(dfd, name, &st, 0) && S_ISREG(st.st_mode);
}

/*
 * The directory to serve @pid from, as an O_PATH fd, and the second-stage
 * file name. Layouts: Etcher's (raspberrypi/, cm4/), rpiboot's per-chip
 * (2710/, 2711/, 2712/), or a flat directory holding the second stage.
 */
static int firmware_open(const char *root, uint16_t pid, const char **stage2, char *err,
			 size_t errlen)
{
	static const char *const sub_2711[] = {"cm4", "2711", "", NULL};
	static const char *const sub_2712[] = {"cm5", "2712", "", NULL};
	static const char *const sub_2710[] = {"raspberrypi", "2710", "", NULL};
	const char *const *subs = pid == 0x2711 ? sub_2711 : pid == 0x2712 ? sub_2712 : sub_2710;
	int rfd, dfd, i;

	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		snprintf(err, errlen, "cannot open firmware directory %s: %s", root,
			 strerror(errno));
		return -1;
	}
	for (i = 0; subs[i]; i++) {
		dfd = *subs[i] ? openat(rfd, subs[i], O_PATH | O_DIRECTORY | O_CLOEXEC) : dup(rfd);
		if (dfd < 0)
			continue;
		if (pid == 0x2712 && file_in(dfd, "bootcode5.bin")) {
			*stage2 = "bootcode5.bin";
		} else if (pid == 0x2711 && file_in(dfd, "bootcode4.bin")) {
			*stage2 = "bootcode4.bin";
		} else if (pid != 0x2712 && file_in(dfd, "bootcode.bin")) {
			*stage2 = "bootcode.bin";
		} else {
			close(dfd);
			continue;
		}
		close(rfd);
		return dfd;
	}
	close(rfd);
	if (pid == 0x2712)
		snprintf(err, errlen,
			 "the firmware set in %s has no files for BCM2712 (Compute Module 5 / Pi "
			 "5): "
			 "it needs bootcode5.bin (in %s/2712/ or %s/); pass --firmware with such a "
			 "set",
			 root, root, root);
	else
		snprintf(err, errlen,
			 "no %s for %s in firmware directory %s (run 'make blobs' or pass "
			 "--firmware)",
			 pid == 0x2711 ? "bootcode4.bin/bootcode.bin" : "bootcode.bin",
			 bs_usbboot_chip(pid), root);
	return -1;
}

/* Open @name beneath @dfd, never escaping it (symlinks included). */
static int open_beneath(int dfd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		return openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	return (int)fd;
}

/* ---- devices and ports ----------------------------------------------------- */

struct usbdev {
	char port[BS_PORT_LEN];
	uint8_t bus, addr;
	uint16_t vid, pid;
	uint8_t iserial;
};

static int port_path(libusb_device *dev, char *buf, size_t len)
{
	uint8_t ports[8];
	int n, i;
	size_t off;

	n = libusb_get_port_numbers(dev, ports, sizeof(ports));
	if (n <= 0)
		return -1;
	off = (size_t)snprintf(buf, len, "%u-%u", libusb_get_bus_number(dev), ports[0]);
	for (i = 1; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, ".%u", ports[i]);
	return off < len ? 0 : -1;
}

/* Every boot-capable or mass-storage device on the system. */
static int scan_bus(struct usbdev *out, size_t max, size_t *n, char *err, size_t errlen)
{
	libusb_context *ctx;
	libusb_device **list;
	ssize_t cnt, i;
	int r;

	*n = 0;
	r = libusb_init(&ctx);
	if (r) {
		snprintf(err, errlen, "libusb_init: %s", libusb_error_name(r));
		return -1;
	}
	cnt = libusb_get_device_list(ctx, &list);
	if (cnt < 0) {
		snprintf(err, errlen, "libusb_get_device_list: %s", libusb_error_name((int)cnt));
		libusb_exit(ctx);
		return -1;
	}
	for (i = 0; i < cnt && *n < max; i++) {
		struct libusb_device_descriptor dd;
		struct usbdev *u = &out[*n];

		if (libusb_get_device_descriptor(list[i], &dd))
			continue;
		if (!(dd.idVendor == BS_USBBOOT_VID && bs_usbboot_chip(dd.idProduct)) &&
		    !is_msd(dd.idVendor, dd.idProduct))
			continue;
		if (port_path(list[i], u->port, sizeof(u->port)))
			continue;
		u->bus = libusb_get_bus_number(list[i]);
		u->addr = libusb_get_device_address(list[i]);
		u->vid = dd.idVendor;
		u->pid = dd.idProduct;
		u->iserial = dd.iSerialNumber;
		(*n)++;
	}
	libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return 0;
}

/*
 * The whole-disk block device behind USB port @port, once it has a medium:
 * 1 found (@node and @size set), 0 not yet.
 */
static int find_block(const char *port, char *node, size_t nodelen, uint64_t *size)
{
	return bs_drive_first_at_usb_port(port, node, nodelen, size);
}

/* ---- per-port state ------------------------------------------------------- */

enum port_state {
	PS_NEW,	       /* seen, nothing started */
	PS_BUSY,       /* a worker thread runs a stage or the ready callback */
	PS_WAIT_STAGE, /* ROM done, waiting for the second stage */
	PS_WAIT_MSD,   /* file server done, waiting for another session or the disk */
	PS_DONE,
	PS_FAILED,
};

struct run;

struct port {
	char port[BS_PORT_LEN];
	enum port_state state;
	struct usbdev dev; /* the device the current/last stage ran on */
	bool have_dev;
	unsigned int sessions; /* file-server sessions served */
	unsigned int roms;     /* ROM uploads */
	double deadline;       /* for PS_WAIT_* */
	pthread_t thr;
	bool thr_live;
	/* written by the worker, read by the scanner after join */
	enum port_state next;
	char err[512];
	char node[64];
	uint64_t size;
	int ready_rc;
	bool ready_called;
	struct run *run;
	const char *kind; /* "ROM" or "second stage" for the worker */
	/* the board: written by workers, read after join */
	const char *chip;
	char serial[BS_USBBOOT_SERIAL_LEN];
	unsigned int nmeta;
	char meta_key[BS_USBBOOT_MAX_META][BS_USBBOOT_META_KEY_LEN];
	char meta_val[BS_USBBOOT_MAX_META][BS_USBBOOT_META_VAL_LEN];
	double t_start; /* first ROM stage of this board */
};

struct run {
	const struct bs_usbboot_opts *o;
	const char *fw;
	unsigned int timeout;
	struct port ports[BS_MAX_PORTS];
	size_t nports;
	unsigned int finished, failed;
	bool seen;
	volatile int abort; /* workers stop at the next transfer */
	pthread_mutex_t out_lock;
};

static void port_log(struct port *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void port_log(struct port *p, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	const char *slot = bs_slot_name(p->run->o->slots, p->port);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (slot)
		fprintf(stderr, "%s: usb %s [%s]: %s\n", bs_prog, p->port, slot, msg);
	else
		fprintf(stderr, "%s: usb %s: %s\n", bs_prog, p->port, msg);
}

static void port_fail(struct port *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void port_fail(struct port *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->next = PS_FAILED;
}

/* ---- USB stage workers ------------------------------------------------------ */

struct link {
	libusb_context *ctx;
	libusb_device_handle *h;
	int iface;
	unsigned char ep_out;
};

static void link_close(struct link *l)
{
	if (l->h) {
		if (l->iface >= 0)
			libusb_release_interface(l->h, l->iface);
		libusb_close(l->h);
	}
	if (l->ctx)
		libusb_exit(l->ctx);
	memset(l, 0, sizeof(*l));
	l->iface = -1;
}

/* Open the device at @u (same bus, address and port), claim the vendor interface. */
static int link_open(struct port *p, const struct usbdev *u, struct link *l)
{
	libusb_device **list = NULL, *dev = NULL;
	struct libusb_config_descriptor *cfg = NULL;
	const struct libusb_interface_descriptor *alt;
	ssize_t cnt, i;
	int r, e;

	memset(l, 0, sizeof(*l));
	l->iface = -1;
	r = libusb_init(&l->ctx);
	if (r) {
		port_fail(p, "Unable to initialise libusb: %s", libusb_error_name(r));
		l->ctx = NULL;
		return -1;
	}
	cnt = libusb_get_device_list(l->ctx, &list);
	if (cnt < 0) {
		port_fail(p, "Unable to list USB devices: %s", libusb_error_name((int)cnt));
		goto fail;
	}
	for (i = 0; i < cnt; i++) {
		char pp[BS_PORT_LEN];

		if (libusb_get_bus_number(list[i]) == u->bus &&
		    libusb_get_device_address(list[i]) == u->addr &&
		    !port_path(list[i], pp, sizeof(pp)) && !strcmp(pp, u->port)) {
			dev = list[i];
			break;
		}
	}
	if (!dev) {
		port_fail(p, "Unable to open the %s device (address %u): it went away", p->kind,
			  u->addr);
		goto fail;
	}
	r = libusb_open(dev, &l->h);
	if (r) {
		port_fail(p, "Unable to open the %s device: %s%s", p->kind, libusb_error_name(r),
			  r == LIBUSB_ERROR_ACCESS ? " (run as root or add a udev rule for 0a5c)"
						   : "");
		l->h = NULL;
		goto fail;
	}
	r = libusb_get_active_config_descriptor(dev, &cfg);
	if (r) {
		port_fail(p, "Unable to read the configuration of the %s device: %s", p->kind,
			  libusb_error_name(r));
		goto fail;
	}
	/* One interface: vendor interface 0 with bulk OUT 0x01; else interface 1, OUT 0x03. */
	l->iface = cfg->bNumInterfaces == 1 ? 0 : 1;
	l->ep_out = cfg->bNumInterfaces == 1 ? 0x01 : 0x03;
	r = -1;
	if (l->iface < cfg->bNumInterfaces && cfg->interface[l->iface].num_altsetting > 0) {
		alt = &cfg->interface[l->iface].altsetting[0];
		for (e = 0; e < alt->bNumEndpoints; e++)
			if (alt->endpoint[e].bEndpointAddress == l->ep_out &&
			    (alt->endpoint[e].bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_BULK)
				r = 0;
	}
	if (r) {
		port_fail(
			p,
			"Unable to use the %s device: interface %d has no bulk OUT endpoint 0x%02x "
			"(%u interfaces)",
			p->kind, l->iface, l->ep_out, cfg->bNumInterfaces);
		l->iface = -1;
		goto fail;
	}
	libusb_free_config_descriptor(cfg);
	cfg = NULL;
	libusb_set_auto_detach_kernel_driver(l->h, 1);
	r = libusb_claim_interface(l->h, l->iface);
	if (r) {
		port_fail(p, "Unable to claim interface %d of the %s device: %s", l->iface, p->kind,
			  libusb_error_name(r));
		l->iface = -1;
		goto fail;
	}
	libusb_free_device_list(list, 1);
	return 0;
fail:
	if (cfg)
		libusb_free_config_descriptor(cfg);
	if (list)
		libusb_free_device_list(list, 1);
	link_close(l);
	return -1;
}

/* Announce @len bytes (vendor control OUT, length in wValue/wIndex). */
static int send_size(struct link *l, uint32_t len)
{
	int r = libusb_control_transfer(
		l->h, LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_ENDPOINT_OUT | LIBUSB_RECIPIENT_DEVICE, 0,
		len & 0xffff, len >> 16, NULL, 0, BS_USBBOOT_CTRL_TIMEOUT_MS);

	return r < 0 ? r : 0;
}

/* Bulk OUT @len bytes, in chunks; STALLs are cleared and retried 3 times. */
static int bulk_out(struct port *p, struct link *l, const uint8_t *buf, size_t len, size_t *done)
{
	int stalls = 0;

	while (len) {
		int n = 0, chunk = (int)(len > BS_USBBOOT_BULK_CHUNK ? BS_USBBOOT_BULK_CHUNK : len);
		int r;

		if (p->run->abort)
			return LIBUSB_ERROR_INTERRUPTED;
		r = libusb_bulk_transfer(l->h, l->ep_out, (unsigned char *)buf, chunk, &n,
					 BS_USBBOOT_BULK_TIMEOUT_MS);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			*done += (size_t)n;
		}
		if (r == LIBUSB_ERROR_PIPE && ++stalls <= 3) {
			libusb_clear_halt(l->h, l->ep_out);
			continue;
		}
		if (r)
			return r;
		if (n == 0)
			return LIBUSB_ERROR_IO;
	}
	return 0;
}

/*
 * Send the file @fd (size @size) named @name: announce, then stream it.
 * Returns 0 or a libusb error; @done says how far it got. A file that
 * shrinks underneath is LIBUSB_ERROR_OTHER with errno set.
 */
static int send_file(struct port *p, struct link *l, int fd, uint32_t size, size_t *done)
{
	uint8_t *buf;
	int r;

	*done = 0;
	r = send_size(l, size);
	if (r)
		return r;
	buf = malloc(BS_USBBOOT_BULK_CHUNK);
	if (!buf)
		return LIBUSB_ERROR_NO_MEM;
	while (*done < size) {
		size_t want =
			size - *done > BS_USBBOOT_BULK_CHUNK ? BS_USBBOOT_BULK_CHUNK : size - *done;
		ssize_t got = pread(fd, buf, want, (off_t)*done);

		if (got <= 0) {
			if (got == 0)
				errno = EIO;
			r = LIBUSB_ERROR_OTHER;
			break;
		}
		r = bulk_out(p, l, buf, (size_t)got, done);
		if (r)
			break;
	}
	free(buf);
	return r;
}

/* Open a served file; -1 with @why when refused or missing. */
static int open_served(int dfd, const char *name, uint32_t *size, char *why, size_t whylen)
{
	struct stat st;
	int fd;

	if (bs_usbboot_name_ok(name, why, whylen))
		return -1;
	fd = open_beneath(dfd, name);
	if (fd < 0) {
		snprintf(why, whylen, "%s",
			 errno == ENOENT ? "not found"
			 : errno == EXDEV || errno == ELOOP
				 ? "resolves outside the firmware directory"
				 : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > BS_USBBOOT_MAX_FILE) {
		snprintf(why, whylen, "%s",
			 S_ISREG(st.st_mode) ? "larger than 1 GiB" : "not a regular file");
		close(fd);
		return -1;
	}
	*size = (uint32_t)st.st_size;
	return fd;
}

static const char *xfer_err(int r)
{
	return r == LIBUSB_ERROR_OTHER ? strerror(errno) : libusb_error_name(r);
}

static const char *gone_hint(int r)
{
	return r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO ? " (the device went away)" : "";
}

static void run_rom(struct port *p)
{
	const char *stage2 = NULL;
	uint8_t msg[BS_USBBOOT_BOOTMSG_LEN], status[4];
	struct link l;
	uint32_t size;
	size_t done = 0;
	char why[128];
	int dfd, fd, r;
	unsigned int tmo;

	dfd = firmware_open(p->run->fw, p->dev.pid, &stage2, why, sizeof(why));
	if (dfd < 0) {
		port_fail(p, "Unable to boot %s (0a5c:%04x): %s", bs_usbboot_chip(p->dev.pid),
			  p->dev.pid, why);
		return;
	}
	fd = open_served(dfd, stage2, &size, why, sizeof(why));
	close(dfd);
	if (fd < 0) {
		port_fail(p, "Unable to read %s from %s: %s", stage2, p->run->fw, why);
		return;
	}
	if (link_open(p, &p->dev, &l)) {
		close(fd);
		return;
	}
	/* BCM2711: the ROM's serial-number string (index 3) is the board's serial. */
	if (p->dev.iserial) {
		unsigned char sn[64];
		int n = libusb_get_string_descriptor_ascii(l.h, p->dev.iserial, sn, sizeof(sn));
		bool ok = n > 0 && n < BS_USBBOOT_SERIAL_LEN;

		for (int i = 0; ok && i < n; i++)
			ok = isalnum(sn[i]);
		if (ok) {
			memcpy(p->serial, sn, (size_t)n);
			p->serial[n] = '\0';
		} else {
			port_log(p, "the ROM's serial number (string %u) is %s: not recorded",
				 p->dev.iserial,
				 n < 0 ? libusb_error_name(n) : "not 1-32 letters and digits");
		}
	}
	port_log(p, "%s ROM (0a5c:%04x%s%s): sending %s (%" PRIu32 " bytes)",
		 bs_usbboot_chip(p->dev.pid), p->dev.pid, p->serial[0] ? ", serial " : "",
		 p->serial, stage2, size);
	bs_usbboot_boot_message(msg, size);
	r = send_size(&l, sizeof(msg));
	if (!r)
		r = bulk_out(p, &l, msg, sizeof(msg), &done);
	if (r) {
		port_fail(p, "Unable to send the boot message (ROM stage): %s%s",
			  libusb_error_name(r), gone_hint(r));
		goto out;
	}
	r = send_file(p, &l, fd, size, &done);
	if (r) {
		port_fail(p, "Unable to send %s (ROM stage, %zu of %" PRIu32 " bytes sent): %s%s",
			  stage2, done, size, xfer_err(r), gone_hint(r));
		goto out;
	}
	tmo = p->run->timeout * 1000u < BS_USBBOOT_READ_TIMEOUT_MS ? p->run->timeout * 1000u
								   : BS_USBBOOT_READ_TIMEOUT_MS;
	r = libusb_control_transfer(
		l.h, LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_ENDPOINT_IN | LIBUSB_RECIPIENT_DEVICE, 0,
		sizeof(status), 0, status, sizeof(status), tmo);
	if (r < 0) {
		port_fail(p, "Unable to read the boot status (ROM stage, after %s): %s%s", stage2,
			  libusb_error_name(r), gone_hint(r));
		goto out;
	}
	if (r != (int)sizeof(status)) {
		port_fail(p, "Unable to read the boot status (ROM stage): %d bytes instead of 4",
			  r);
		goto out;
	}
	if (status[0] | status[1] | status[2] | status[3]) {
		port_fail(p,
			  "Unable to boot (ROM stage): the ROM refused %s with status "
			  "0x%02x%02x%02x%02x",
			  stage2, status[3], status[2], status[1], status[0]);
		goto out;
	}
	p->roms++;
	p->next = PS_WAIT_STAGE;
out:
	close(fd);
	link_close(&l);
}

/* Read one request; re-asks on timeouts until the step deadline. */
static int read_request(struct port *p, struct link *l, uint8_t *buf, double deadline)
{
	for (;;) {
		double left = deadline - bs_now();
		unsigned int tmo;
		int r;

		if (left <= 0)
			return LIBUSB_ERROR_TIMEOUT;
		tmo = left * 1000 < BS_USBBOOT_READ_TIMEOUT_MS ? (unsigned int)(left * 1000) + 1
							       : BS_USBBOOT_READ_TIMEOUT_MS;
		memset(buf, 0, BS_USBBOOT_REQ_LEN);
		r = libusb_control_transfer(l->h,
					    LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_ENDPOINT_IN |
						    LIBUSB_RECIPIENT_DEVICE,
					    0, BS_USBBOOT_REQ_LEN, 0, buf, BS_USBBOOT_REQ_LEN, tmo);
		if (r >= 0)
			return r;
		if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO || p->run->abort)
			return r;
		/* Timeout or a transient error: ask again. */
		if (p->run->o->verbose)
			port_log(p, "file request: %s, asking again", libusb_error_name(r));
		sleep_ms(100);
	}
}

/* A metadata record "*KEY*VALUE": kept for the board's record, acknowledged (size 0). */
static void take_meta(struct port *p, const char *name)
{
	char key[BS_USBBOOT_META_KEY_LEN], val[BS_USBBOOT_META_VAL_LEN], why[96];

	if (bs_usbboot_parse_meta(name, key, val, why, sizeof(why))) {
		port_log(p, "metadata record refused (%s), acknowledged", why);
		return;
	}
	if (p->nmeta == BS_USBBOOT_MAX_META) {
		port_log(p, "metadata %s=%s acknowledged, not kept (more than %d records)", key,
			 val, BS_USBBOOT_MAX_META);
		return;
	}
	memcpy(p->meta_key[p->nmeta], key, sizeof(key));
	memcpy(p->meta_val[p->nmeta], val, sizeof(val));
	p->nmeta++;
	port_log(p, "metadata %s=%s (acknowledged)", key, val);
}

static void board_of(struct port *p, struct bs_usbboot_board *b)
{
	memset(b, 0, sizeof(*b));
	b->port = p->port;
	b->slot = bs_slot_name(p->run->o->slots, p->port);
	b->chip = p->chip;
	b->serial = p->serial[0] ? p->serial : NULL;
	b->devnode = p->node[0] ? p->node : NULL;
	b->size = p->size;
	b->nmeta = p->nmeta;
	b->meta_key = (const char(*)[BS_USBBOOT_META_KEY_LEN])p->meta_key;
	b->meta_val = (const char(*)[BS_USBBOOT_META_VAL_LEN])p->meta_val;
	b->boot_seconds = p->t_start ? bs_now() - p->t_start : 0;
}

static void run_server(struct port *p)
{
	uint8_t buf[BS_USBBOOT_REQ_LEN];
	struct bs_usbboot_req req;
	const char *stage2 = NULL;
	unsigned int nreq = 0, session;
	struct link l;
	char why[160];
	int dfd, r;

	if (p->sessions >= BS_USBBOOT_MAX_SESSIONS) {
		port_fail(p,
			  "Unable to serve files (second stage): the device asked for more than %d "
			  "sessions",
			  BS_USBBOOT_MAX_SESSIONS);
		return;
	}
	session = p->sessions + 1;
	dfd = firmware_open(p->run->fw, p->dev.pid, &stage2, why, sizeof(why));
	if (dfd < 0) {
		port_fail(p, "Unable to serve files to %s (0a5c:%04x): %s",
			  bs_usbboot_chip(p->dev.pid), p->dev.pid, why);
		return;
	}
	if (link_open(p, &p->dev, &l)) {
		close(dfd);
		return;
	}
	port_log(p, "second stage: serving files (session %u)", session);
	for (;;) {
		double deadline = bs_now() + p->run->timeout;
		uint32_t size = 0;
		size_t done = 0;
		int fd;

		r = read_request(p, &l, buf, deadline);
		if (r < 0) {
			port_fail(
				p,
				"Unable to read file request %u (second stage, session %u): %s%s",
				nreq + 1, session,
				r == LIBUSB_ERROR_TIMEOUT
					? "no request within the step timeout, LIBUSB_ERROR_TIMEOUT"
					: libusb_error_name(r),
				gone_hint(r));
			goto out;
		}
		nreq++;
		if (bs_usbboot_parse_request(buf, (size_t)r, &req, why, sizeof(why))) {
			port_fail(p, "Unable to serve request %u (second stage, session %u): %s",
				  nreq, session, why);
			goto out;
		}
		if (req.cmd == BS_USBBOOT_DONE) {
			/*
			 * Like rpiboot: one zero-length write after Done. The device
			 * may already be rebooting, so a failure means nothing.
			 */
			libusb_control_transfer(l.h,
						LIBUSB_REQUEST_TYPE_VENDOR | LIBUSB_ENDPOINT_OUT |
							LIBUSB_RECIPIENT_DEVICE,
						0, 0, 0, NULL, 0, BS_USBBOOT_DONE_ACK_TIMEOUT_MS);
			break;
		}
		fd = open_served(dfd, req.name, &size, why, sizeof(why));
		if (fd < 0) {
			if (req.name[0] == '*')
				take_meta(p, req.name);
			else if (strstr(why, "not found"))
				port_log(p, "%s: not in the firmware set, answered size 0",
					 req.name);
			else
				port_log(p, "refused file name '%s' (%s), answered size 0",
					 req.name, why);
			size = 0;
		} else if (p->run->o->verbose) {
			port_log(p, "%s %s (%" PRIu32 " bytes)",
				 req.cmd == BS_USBBOOT_READ_FILE ? "sending" : "size of", req.name,
				 size);
		}
		if (req.cmd == BS_USBBOOT_GET_FILE_SIZE || fd < 0)
			r = send_size(&l, fd < 0 ? 0 : size);
		else
			r = send_file(p, &l, fd, size, &done);
		if (fd >= 0)
			close(fd);
		if (r) {
			port_fail(p,
				  "Unable to %s %s (second stage, session %u, %zu of %" PRIu32
				  " bytes sent): %s%s",
				  req.cmd == BS_USBBOOT_READ_FILE ? "send" : "send the size of",
				  req.name, session, done, size, xfer_err(r), gone_hint(r));
			goto out;
		}
	}
	p->sessions = session;
	port_log(p, "second stage: session %u done (%u requests)", session, nreq);
	p->next = PS_WAIT_MSD;
out:
	close(dfd);
	link_close(&l);
}

static void *stage_thread(void *arg)
{
	struct port *p = arg;

	if (p->dev.iserial == 0 || p->dev.iserial == 3)
		run_rom(p);
	else
		run_server(p);
	return NULL;
}

static void *ready_thread(void *arg)
{
	struct port *p = arg;
	const struct bs_usbboot_opts *o = p->run->o;

	p->ready_called = true;
	if (o->ready) {
		struct bs_usbboot_board b;

		board_of(p, &b);
		p->ready_rc = o->ready(o->ctx, &b);
	} else {
		char sz[32];

		bs_human_size(p->size, sz, sizeof(sz));
		pthread_mutex_lock(&p->run->out_lock);
		if (!o->json) {
			printf("usb %s -> %s (%s)\n", p->port, p->node, sz);
			fflush(stdout);
		}
		pthread_mutex_unlock(&p->run->out_lock);
		p->ready_rc = BS_EXIT_OK;
	}
	p->next = p->ready_rc == BS_EXIT_OK ? PS_DONE : PS_FAILED;
	return NULL;
}

/* ---- the scanner ------------------------------------------------------------ */

static struct port *port_get(struct run *run, const char *port)
{
	size_t i;

	for (i = 0; i < run->nports; i++)
		if (!strcmp(run->ports[i].port, port))
			return &run->ports[i];
	if (run->nports == BS_MAX_PORTS)
		return NULL;
	memset(&run->ports[run->nports], 0, sizeof(run->ports[0]));
	memcpy(run->ports[run->nports].port, port, strnlen(port, BS_PORT_LEN - 1));
	run->ports[run->nports].run = run;
	return &run->ports[run->nports++];
}

static const struct bs_slots *o_slots(const struct run *run)
{
	return run->o->slots;
}

static void emit(struct run *run, struct port *p, const char *status)
{
	struct bs_json j;

	if (!run->o->json)
		return;
	bs_json_begin(&j);
	bs_json_str(&j, "type", "usbboot");
	bs_json_str(&j, "port", p->port);
	if (bs_slot_name(o_slots(run), p->port))
		bs_json_str(&j, "slot", bs_slot_name(o_slots(run), p->port));
	bs_json_str(&j, "status", status);
	if (p->have_dev)
		bs_json_str(&j, "chip", bs_usbboot_chip(p->dev.pid));
	bs_json_str(&j, "serial", p->serial[0] ? p->serial : NULL);
	if (p->nmeta) {
		unsigned int i;

		bs_json_object_begin(&j, "metadata");
		for (i = 0; i < p->nmeta; i++)
			bs_json_str(&j, p->meta_key[i], p->meta_val[i]);
		bs_json_object_end(&j);
	}
	bs_json_uint(&j, "sessions", p->sessions);
	if (p->node[0]) {
		bs_json_str(&j, "device", p->node);
		bs_json_uint(&j, "size", p->size);
	}
	if (!strcmp(status, "failed"))
		bs_json_str(&j, "error", p->err);
	pthread_mutex_lock(&run->out_lock);
	bs_json_print(&j, stdout);
	pthread_mutex_unlock(&run->out_lock);
}

static void finish(struct run *run, struct port *p, enum port_state st)
{
	p->state = st;
	run->finished++;
	if (st == PS_FAILED) {
		run->failed++;
		if (p->err[0])
			port_log(p, "%s", p->err);
		emit(run, p, "failed");
		/* Failed before the ready callback ran (it accounts for itself). */
		if (run->o->failed && !p->ready_called) {
			struct bs_usbboot_board b;

			board_of(p, &b);
			run->o->failed(run->o->ctx, &b, p->err[0] ? p->err : "failed");
		}
	} else {
		emit(run, p, "ready");
	}
}

static int start_thread(struct port *p, void *(*fn)(void *))
{
	int e;

	p->next = PS_FAILED;
	p->err[0] = '\0';
	p->state = PS_BUSY;
	e = pthread_create(&p->thr, NULL, fn, p);
	if (e) {
		snprintf(p->err, sizeof(p->err), "Unable to start a thread: %s", strerror(e));
		return -1;
	}
	p->thr_live = true;
	return 0;
}

/* Collect finished threads. */
static void reap(struct run *run)
{
	size_t i;

	for (i = 0; i < run->nports; i++) {
		struct port *p = &run->ports[i];

		if (!p->thr_live || pthread_tryjoin_np(p->thr, NULL))
			continue;
		p->thr_live = false;
		switch (p->next) {
		case PS_WAIT_STAGE:
		case PS_WAIT_MSD:
			p->state = p->next;
			p->deadline = bs_now() + run->timeout;
			break;
		case PS_DONE:
		case PS_FAILED:
			finish(run, p, p->next);
			break;
		default:
			finish(run, p, PS_FAILED);
		}
	}
}

static bool finished_state(enum port_state s)
{
	return s == PS_DONE || s == PS_FAILED;
}

static void consider(struct run *run, const struct usbdev *u)
{
	const struct bs_usbboot_opts *o = run->o;
	struct port *p;

	if (o->port && strcmp(o->port, u->port))
		return;
	if (o->nports) {
		size_t k;

		for (k = 0; k < o->nports && strcmp(o->ports[k], u->port); k++)
			;
		if (k == o->nports)
			return;
	}
	if (is_msd(u->vid, u->pid))
		return;
	p = port_get(run, u->port);
	if (!p)
		return;
	if (p->state == PS_BUSY)
		return;
	/* The device a stage already ran on, not yet re-enumerated. */
	if (p->have_dev && p->dev.bus == u->bus && p->dev.addr == u->addr)
		return;
	if (finished_state(p->state)) {
		if (!o->loop && !o->count)
			return;
		/* A new device plugged into a port that finished: start over. */
		p->sessions = p->roms = 0;
		p->ready_rc = BS_EXIT_OK;
		p->ready_called = false;
		p->node[0] = '\0';
		p->serial[0] = '\0';
		p->nmeta = 0;
		p->t_start = 0;
	}
	if (!p->t_start)
		p->t_start = bs_now();
	p->chip = bs_usbboot_chip(u->pid);
	if (p->state == PS_WAIT_MSD && (u->iserial == 0 || u->iserial == 3))
		port_log(p, "the device is back in its ROM (it reset): booting it again");
	if (p->state == PS_NEW || finished_state(p->state))
		run->seen = true;
	p->dev = *u;
	p->have_dev = true;
	p->kind = u->iserial == 0 || u->iserial == 3 ? "ROM" : "second stage";
	if (start_thread(p, stage_thread))
		finish(run, p, PS_FAILED);
}

static void check_waits(struct run *run)
{
	size_t i;

	for (i = 0; i < run->nports; i++) {
		struct port *p = &run->ports[i];

		if (p->state == PS_WAIT_MSD &&
		    find_block(p->port, p->node, sizeof(p->node), &p->size)) {
			port_log(p, "mass storage ready: %s", p->node);
			if (start_thread(p, ready_thread))
				finish(run, p, PS_FAILED);
			continue;
		}
		if ((p->state == PS_WAIT_STAGE || p->state == PS_WAIT_MSD) &&
		    bs_now() > p->deadline) {
			if (p->state == PS_WAIT_STAGE)
				snprintf(p->err, sizeof(p->err),
					 "Unable to boot: no second-stage device appeared within "
					 "%u s after the ROM stage",
					 run->timeout);
			else
				snprintf(p->err, sizeof(p->err),
					 "Unable to find the mass-storage device: no block device "
					 "appeared within %u s "
					 "after second-stage session %u",
					 run->timeout, p->sessions);
			finish(run, p, PS_FAILED);
		}
	}
}

static bool all_idle(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->nports; i++)
		if (!finished_state(run->ports[i].state))
			return false;
	return true;
}

int bs_usbboot_run(const struct bs_usbboot_opts *o)
{
	struct run *run;
	struct usbdev devs[BS_MAX_PORTS];
	char fwbuf[PATH_MAX], err[256], where[512];
	double start = bs_now();
	bool scan_warned = false;
	int rc;
	size_t i, n;

	run = calloc(1, sizeof(*run));
	if (!run) {
		bs_error("Unable to boot devices: out of memory");
		return BS_EXIT_FAILURE;
	}
	run->o = o;
	run->timeout = o->timeout ? o->timeout : BS_USBBOOT_STEP_TIMEOUT;
	run->fw = o->firmware_dir ? o->firmware_dir
				  : bs_usbboot_default_firmware(fwbuf, sizeof(fwbuf));
	if (!run->fw) {
		bs_error("Unable to find the usbboot firmware: neither %s/blobs nor a blobs/ "
			 "directory next "
			 "to the program exists (run 'make blobs' and 'make install', or pass "
			 "--firmware DIR)",
			 BOOTSEAL_DATADIR);
		free(run);
		return BS_EXIT_USB;
	}
	pthread_mutex_init(&run->out_lock, NULL);
	where[0] = '\0';
	if (o->port)
		snprintf(where, sizeof(where), "%s", o->port);
	for (i = 0; i < o->nports; i++) {
		size_t len = strlen(where);

		snprintf(where + len, sizeof(where) - len, "%s%s", len ? ", " : "", o->ports[i]);
	}
	fprintf(stderr,
		"%s: waiting for Compute Modules (0a5c:2763/2764/2711/2712)%s%s, firmware %s\n",
		bs_prog, where[0] ? " on port " : "", where, run->fw);

	for (;;) {
		reap(run);
		if (o->stop && *o->stop)
			break;
		if (scan_bus(devs, BS_MAX_PORTS, &n, err, sizeof(err))) {
			if (!scan_warned)
				bs_warn("Unable to scan USB devices: %s (retrying)", err);
			scan_warned = true;
			n = 0;
		}
		for (i = 0; i < n; i++)
			consider(run, &devs[i]);
		check_waits(run);
		if (o->count && run->finished >= o->count && all_idle(run))
			break;
		if (!o->loop && !o->count && run->seen && all_idle(run))
			break;
		if (!o->loop && !run->seen && bs_now() - start > run->timeout) {
			bs_error("Unable to boot: no Compute Module (0a5c:2763/2764/2711/2712)%s%s "
				 "appeared within %u s",
				 where[0] ? " on port " : "", where, run->timeout);
			run->failed++;
			break;
		}
		sleep_ms(BS_SCAN_MS);
	}

	/* Interrupted or done: let the running stages stop, then account for them. */
	run->abort = 1;
	for (i = 0; i < run->nports; i++) {
		struct port *p = &run->ports[i];

		if (p->thr_live) {
			pthread_join(p->thr, NULL);
			p->thr_live = false;
			if (p->next == PS_DONE) {
				finish(run, p, PS_DONE);
				continue;
			}
			if (!p->err[0])
				snprintf(p->err, sizeof(p->err),
					 "Unable to finish booting: interrupted");
			finish(run, p, PS_FAILED);
		} else if (p->state == PS_WAIT_STAGE || p->state == PS_WAIT_MSD) {
			snprintf(p->err, sizeof(p->err), "Unable to finish booting: interrupted");
			finish(run, p, PS_FAILED);
		}
	}
	rc = run->failed || !run->seen ? BS_EXIT_USB : BS_EXIT_OK;
	/* A device that booted but whose ready callback failed: that failure's code. */
	for (i = 0; i < run->nports; i++)
		if (run->ports[i].state == PS_FAILED && run->ports[i].ready_rc != BS_EXIT_OK) {
			rc = run->ports[i].ready_rc;
			break;
		}
	pthread_mutex_destroy(&run->out_lock);
	free(run);
	return rc;
}

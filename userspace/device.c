// SPDX-License-Identifier: GPL-2.0
/*
 * Block device discovery and target safety. libudev enumerates the disks;
 * every attribute is read from sysfs through it, so nothing depends on udevd
 * having filled its database (the udev properties only improve the model
 * name when they exist). Mounts and swap come from /proc/self/mountinfo and
 * /proc/swaps, stacked devices from sysfs holders/.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>
#include <linux/fs.h>

#include "device.h"

#define MAX_DEVS 256

/* ---- pure helpers ------------------------------------------------------- */

/* @bytes / (@div / 10), rounded half up, without overflow. */
static uint64_t tenths(uint64_t bytes, uint64_t div)
{
	uint64_t d = div / 10;

	return bytes / d + (bytes % d >= d / 2 ? 1 : 0);
}

void bs_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	uint64_t div = 1000, t;
	unsigned int u = 1;

	if (bytes < 1000) {
		snprintf(buf, len, "%u B", (unsigned int)bytes);
		return;
	}
	/* Round to tenths, and move up a unit when that rounds to 1000.0. */
	while (u < 6 && tenths(bytes, div) >= 10000) {
		div *= 1000;
		u++;
	}
	t = tenths(bytes, div);
	snprintf(buf, len, "%u.%u %s", (unsigned int)(t / 10), (unsigned int)(t % 10), units[u]);
}

/* Copy the next whitespace-separated field of *@p into @out, decoding \ooo. */
static bool next_field(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n')
		return false;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
		char c = *s++;

		if (c == '\\' && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7') {
			c = (char)(((s[0] - '0') << 6) | ((s[1] - '0') << 3) | (s[2] - '0'));
			s += 3;
		}
		if (n + 1 < outlen)
			out[n++] = c;
	}
	if (outlen)
		out[n] = '\0';
	*p = s;
	return true;
}

static const char *next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : p + strlen(p);
}

static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void *na;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	na = reallocarray(arr, *cap, size);
	if (!na)
		free(arr);
	return na;
}

/*
 * Parse each line of @text into @e (@size bytes, zeroed first) with @parse and
 * collect the lines it accepts into a new array.
 */
static int collect_lines(const char *text, void *e, size_t size,
			 bool (*parse)(const char *line, void *e), void **out, size_t *n)
{
	char *arr = NULL;
	size_t cap = 0, cnt = 0;
	const char *p;

	for (p = text; *p; p = next_line(p)) {
		memset(e, 0, size);
		if (!parse(p, e))
			continue;
		arr = grow(arr, &cap, cnt, size);
		if (!arr)
			return -1;
		memcpy(arr + cnt++ * size, e, size);
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static bool parse_mountinfo_line(const char *q, void *entry)
{
	struct bs_mountinfo_entry *e = entry;
	bool sep = false;
	char f[4096];
	int i;

	/* mount ID, parent ID, major:minor, root, mount point */
	if (!next_field(&q, f, sizeof(f)) || !next_field(&q, f, sizeof(f)) ||
	    !next_field(&q, f, sizeof(f)) || sscanf(f, "%u:%u", &e->major, &e->minor) != 2 ||
	    !next_field(&q, f, sizeof(f)) || !next_field(&q, e->target, sizeof(e->target)))
		return false;
	/* options, then optional fields up to the "-" separator */
	for (i = 0; i < 64 && next_field(&q, f, sizeof(f)); i++) {
		if (!strcmp(f, "-")) {
			sep = true;
			break;
		}
	}
	return sep && next_field(&q, e->fstype, sizeof(e->fstype)) &&
	       next_field(&q, e->source, sizeof(e->source));
}

int bs_parse_mountinfo(const char *text, struct bs_mountinfo_entry **out, size_t *n)
{
	struct bs_mountinfo_entry e;
	void *arr;

	if (collect_lines(text, &e, sizeof(e), parse_mountinfo_line, &arr, n))
		return -1;
	*out = arr;
	return 0;
}

static bool parse_swap_line(const char *q, void *entry)
{
	struct bs_swap_entry *e = entry;

	return next_field(&q, e->path, sizeof(e->path)) && e->path[0] == '/';
}

int bs_parse_swaps(const char *text, struct bs_swap_entry **out, size_t *n)
{
	struct bs_swap_entry e;
	void *arr;

	if (collect_lines(text, &e, sizeof(e), parse_swap_line, &arr, n))
		return -1;
	*out = arr;
	return 0;
}

static bool dev_in(dev_t dev, const dev_t *devs, size_t ndevs)
{
	size_t i;

	for (i = 0; i < ndevs; i++)
		if (devs[i] == dev)
			return true;
	return false;
}

static bool mount_matches(const struct bs_mountinfo_entry *m, const dev_t *devs, size_t ndevs)
{
	struct stat st;

	if (m->major && dev_in(makedev(m->major, m->minor), devs, ndevs))
		return true;
	/* btrfs and friends report an anonymous 0:N; the source names the device. */
	if (!m->major && m->source[0] == '/' && !stat(m->source, &st) && S_ISBLK(st.st_mode))
		return dev_in(st.st_rdev, devs, ndevs);
	return false;
}

void bs_drive_apply_usage(struct bs_drive *d, const dev_t *devs, size_t ndevs,
			  const struct bs_mountinfo_entry *mi, size_t nmi,
			  const struct bs_swap_entry *sw, size_t nsw)
{
	struct stat st;
	size_t i;

	d->holds_root = false;
	d->holds_swap = false;
	d->nr_mounts = 0;
	for (i = 0; i < nmi; i++) {
		struct bs_mount *bm;

		if (!mount_matches(&mi[i], devs, ndevs))
			continue;
		if (!strcmp(mi[i].target, "/"))
			d->holds_root = true;
		if (d->nr_mounts >= sizeof(d->mounts) / sizeof(d->mounts[0]))
			continue;
		bm = &d->mounts[d->nr_mounts++];
		snprintf(bm->source, sizeof(bm->source), "%s", mi[i].source);
		snprintf(bm->target, sizeof(bm->target), "%s", mi[i].target);
	}
	for (i = 0; i < nsw; i++) {
		if (stat(sw[i].path, &st))
			continue;
		if ((S_ISBLK(st.st_mode) && dev_in(st.st_rdev, devs, ndevs)) ||
		    (S_ISREG(st.st_mode) && dev_in(st.st_dev, devs, ndevs)))
			d->holds_swap = true;
	}
}

int bs_usb_port_parse(const char *spec, char *port, size_t portlen, char *err, size_t errlen)
{
	const char *s = spec;
	int depth = 0, digits = 0;

	if (!strncmp(s, "usb:", 4))
		s += 4;
	/* BUS-PORT[.PORT...]: at most 6 ports deep (the kernel's MAX_TOPO_LEVEL) */
	for (; *s; s++) {
		if (isdigit((unsigned char)*s)) {
			if (++digits > 3)
				goto bad;
			continue;
		}
		if (!digits || (*s == '-' && depth != 0) || (*s == '.' && depth == 0) ||
		    (*s != '-' && *s != '.') || ++depth > 6)
			goto bad;
		digits = 0;
	}
	if (!digits || depth == 0)
		goto bad;
	s = !strncmp(spec, "usb:", 4) ? spec + 4 : spec;
	if (strlen(s) >= portlen)
		goto bad;
	strcpy(port, s);
	return 0;
bad:
	snprintf(err, errlen,
		 "invalid USB port \"%s\" (expected usb:BUS-PORT[.PORT...], e.g. usb:1-1.3)", spec);
	return -1;
}

/* ---- system state ------------------------------------------------------- */

static char *read_text(const char *path)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	r = errno;
	close(fd);
	free(buf);
	errno = (int)r;
	return NULL;
}

struct sysstate {
	struct bs_mountinfo_entry *mi;
	size_t nmi;
	struct bs_swap_entry *sw;
	size_t nsw;
};

static int sysstate_load(struct sysstate *ss, char *err, size_t errlen)
{
	char *mi, *sw;
	int r;

	memset(ss, 0, sizeof(*ss));
	mi = read_text("/proc/self/mountinfo");
	if (!mi) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		return -1;
	}
	/* No /proc/swaps (kernel without swap support): no active swap. */
	sw = read_text("/proc/swaps");
	r = bs_parse_mountinfo(mi, &ss->mi, &ss->nmi);
	if (!r && sw)
		r = bs_parse_swaps(sw, &ss->sw, &ss->nsw);
	free(mi);
	free(sw);
	if (r) {
		free(ss->mi);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void sysstate_free(struct sysstate *ss)
{
	free(ss->mi);
	free(ss->sw);
}

enum text_kind {
	RAW,	    /* sysfs attribute */
	UDEV_ENC,   /* udev ID_*_ENC: "\\xNN" stands for a byte */
	UDEV_PLAIN, /* udev ID_*: "_" stands for a space */
};

/* Printable ASCII only, whitespace runs collapsed, trimmed. */
static void clean_copy(char *dst, size_t len, const char *src, enum text_kind kind)
{
	size_t n = 0;
	bool space = false;

	if (!len)
		return;
	for (; src && *src && n + 1 < len; src++) {
		unsigned char c = (unsigned char)*src;
		unsigned int x;

		if (kind == UDEV_ENC && c == '\\' && src[1] == 'x' &&
		    isxdigit((unsigned char)src[2]) && isxdigit((unsigned char)src[3]) &&
		    sscanf(src + 2, "%2x", &x) == 1) {
			c = (unsigned char)x;
			src += 3;
		} else if (kind == UDEV_PLAIN && c == '_') {
			c = ' ';
		}
		if (isspace(c)) {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < len)
			dst[n++] = ' ';
		space = false;
		dst[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static const char *attr(struct udev_device *dev, const char *name)
{
	return udev_device_get_sysattr_value(dev, name);
}

static uint64_t attr_u64(struct udev_device *dev, const char *name, uint64_t dflt)
{
	const char *v = attr(dev, name);
	char *end;
	unsigned long long x;

	if (!v)
		return dflt;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v)
		return dflt;
	return x;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void fill_model(struct udev_device *dev, struct bs_drive *d)
{
	char vendor[64], model[64];
	const char *v = udev_device_get_property_value(dev, "ID_VENDOR_ENC");
	const char *m = udev_device_get_property_value(dev, "ID_MODEL_ENC");
	enum text_kind kind = UDEV_ENC;

	/* The _ENC values keep the device's own spelling ("scsi_debug"). */
	if (!m) {
		v = udev_device_get_property_value(dev, "ID_VENDOR");
		m = udev_device_get_property_value(dev, "ID_MODEL");
		kind = UDEV_PLAIN;
	}
	if (m) {
		clean_copy(vendor, sizeof(vendor), v, kind);
		clean_copy(model, sizeof(model), m, kind);
	} else {
		/* SCSI/ATA/USB and NVMe name a model; virtio's "vendor" is a PCI id. */
		clean_copy(model, sizeof(model), attr(dev, "device/model"), RAW);
		vendor[0] = '\0';
		if (model[0])
			clean_copy(vendor, sizeof(vendor), attr(dev, "device/vendor"), RAW);
		else /* MMC/SD cards */
			clean_copy(model, sizeof(model), attr(dev, "device/name"), RAW);
	}
	/* "ATA" is the SAT layer, not a vendor. */
	if (!strcmp(vendor, "ATA"))
		vendor[0] = '\0';
	if (vendor[0] && model[0] && !has_prefix(model, vendor))
		snprintf(d->model, sizeof(d->model), "%.31s %.31s", vendor, model);
	else
		snprintf(d->model, sizeof(d->model), "%s", model[0] ? model : vendor);
}

static void fill_transport(struct udev_device *dev, struct bs_drive *d)
{
	static const struct {
		const char *prefix, *transport;
	} by_name[] = {
		{"nvme", "nvme"}, {"mmcblk", "mmc"}, {"vd", "virtio"},	    {"loop", "loop"},
		{"ram", "ram"},	  {"zram", "zram"},  {"nullb", "null_blk"}, {"nbd", "nbd"},
		{"dm-", "dm"},	  {"md", "md"},	     {"sr", "optical"},	    {"xvd", "xen"},
	};
	const char *syspath = udev_device_get_syspath(dev);
	const char *bus;
	size_t i;

	if (d->usb_port[0]) {
		snprintf(d->transport, sizeof(d->transport), "usb");
		return;
	}
	for (i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
		if (has_prefix(d->name, by_name[i].prefix)) {
			snprintf(d->transport, sizeof(d->transport), "%s", by_name[i].transport);
			return;
		}
	}
	if (strstr(syspath, "/ata")) {
		snprintf(d->transport, sizeof(d->transport), "sata");
		return;
	}
	bus = udev_device_get_property_value(dev, "ID_BUS");
	if (bus && *bus)
		clean_copy(d->transport, sizeof(d->transport), bus, RAW);
	else if (strstr(syspath, "/host"))
		snprintf(d->transport, sizeof(d->transport), "scsi");
	else if (strstr(syspath, "/virtual/"))
		snprintf(d->transport, sizeof(d->transport), "virtual");
	else
		snprintf(d->transport, sizeof(d->transport), "unknown");
}

static int add_dev(dev_t *devs, size_t *n, dev_t dev)
{
	if (dev_in(dev, devs, *n))
		return 0;
	if (*n >= MAX_DEVS)
		return -1;
	devs[(*n)++] = dev;
	return 0;
}

static bool read_devnum(const char *sysdir, dev_t *dev)
{
	char path[PATH_MAX], buf[32];
	unsigned int ma, mi;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/dev", sysdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = '\0';
	if (sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return false;
	*dev = makedev(ma, mi);
	return true;
}

/* Add the holders of /sys/class/block/<name> (dm, md, ...), recursively. */
static void add_holders(const char *name, dev_t *devs, size_t *n, struct bs_drive *d, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	dev_t dev;
	DIR *dir;

	if (depth > 8)
		return;
	snprintf(path, sizeof(path), "/sys/class/block/%s/holders", name);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		d->holders = true;
		if (!d->holder[0])
			snprintf(d->holder, sizeof(d->holder), "%.31s", de->d_name);
		snprintf(path, sizeof(path), "/sys/class/block/%s", de->d_name);
		if (read_devnum(path, &dev) && add_dev(devs, n, dev) == 0)
			add_holders(de->d_name, devs, n, d, depth + 1);
	}
	closedir(dir);
}

/* The disk, its partitions and everything stacked on them. */
static size_t collect_devs(struct udev_device *disk, struct bs_drive *d, dev_t *devs)
{
	const char *syspath = udev_device_get_syspath(disk);
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	dev_t dev;
	DIR *dir;

	add_dev(devs, &n, udev_device_get_devnum(disk));
	add_holders(d->name, devs, &n, d, 0);
	dir = opendir(syspath);
	if (!dir)
		return n;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", syspath, de->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/%s", syspath, de->d_name);
		if (read_devnum(path, &dev) && add_dev(devs, &n, dev) == 0)
			add_holders(de->d_name, devs, &n, d, 0);
	}
	closedir(dir);
	return n;
}

static void fill_drive(struct udev_device *dev, const struct sysstate *ss, struct bs_drive *d)
{
	struct udev_device *usb;
	const char *node = udev_device_get_devnode(dev);
	const char *type;
	dev_t devs[MAX_DEVS];
	size_t ndevs;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", udev_device_get_sysname(dev));
	if (node)
		snprintf(d->path, sizeof(d->path), "%s", node);
	else
		snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
	d->size = attr_u64(dev, "size", 0) * 512;
	d->logical_block_size = (uint32_t)attr_u64(dev, "queue/logical_block_size", 512);
	d->read_only = attr_u64(dev, "ro", 0) != 0;
	d->removable = attr_u64(dev, "removable", 0) != 0;
	usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	if (usb)
		snprintf(d->usb_port, sizeof(d->usb_port), "%s", udev_device_get_sysname(usb));
	fill_model(dev, d);
	fill_transport(dev, d);
	/* Hot-pluggable media count as removable; an MMC (eMMC) card does not. */
	type = attr(dev, "device/type");
	if (d->usb_port[0] || (!strcmp(d->transport, "mmc") && type && !strcmp(type, "SD")))
		d->removable = true;
	ndevs = collect_devs(dev, d, devs);
	bs_drive_apply_usage(d, devs, ndevs, ss->mi, ss->nmi, ss->sw, ss->nsw);
}

/* ---- public API --------------------------------------------------------- */

static bool listed(const char *name, bool all)
{
	static const char *const hidden[] = {"loop", "ram", "zram", "sr", "fd", "dm-", "md"};
	size_t i;

	if (all)
		return true;
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (has_prefix(name, hidden[i]))
			return false;
	return true;
}

int bs_drive_probe(const char *path, struct bs_drive *d, char *err, size_t errlen)
{
	struct udev_device *dev, *parent;
	struct sysstate ss;
	struct udev *udev;
	struct stat st;
	const char *devtype;
	int ret = -1;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "not a block device");
		return -1;
	}
	udev = udev_new();
	if (!udev) {
		snprintf(err, errlen, "cannot initialise libudev");
		return -1;
	}
	dev = udev_device_new_from_devnum(udev, 'b', st.st_rdev);
	if (!dev) {
		snprintf(err, errlen, "no sysfs entry for block device %u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		goto out_udev;
	}
	devtype = udev_device_get_devtype(dev);
	if (devtype && !strcmp(devtype, "partition")) {
		parent = udev_device_get_parent_with_subsystem_devtype(dev, "block", "disk");
		snprintf(err, errlen, "a partition, not a whole disk (use /dev/%s)",
			 parent ? udev_device_get_sysname(parent) : "<disk>");
		goto out_dev;
	}
	if (!devtype || strcmp(devtype, "disk")) {
		snprintf(err, errlen, "not a whole-disk block device");
		goto out_dev;
	}
	if (sysstate_load(&ss, err, errlen))
		goto out_dev;
	fill_drive(dev, &ss, d);
	sysstate_free(&ss);
	ret = 0;
out_dev:
	udev_device_unref(dev);
out_udev:
	udev_unref(udev);
	return ret;
}

static int cmp_drive(const void *a, const void *b)
{
	const struct bs_drive *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);

	/* sdb before sdaa, then alphabetical */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Call @fn for every whole disk; stops when it returns non-zero. */
static int for_each_disk(struct udev *udev, int (*fn)(struct udev_device *, void *), void *arg,
			 char *err, size_t errlen)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *le;
	int r = 0;

	if (!en || udev_enumerate_add_match_subsystem(en, "block") < 0 ||
	    udev_enumerate_scan_devices(en) < 0) {
		snprintf(err, errlen, "cannot enumerate block devices");
		udev_enumerate_unref(en);
		return -1;
	}
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en))
	{
		struct udev_device *dev;
		const char *devtype;

		dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(le));
		if (!dev)
			continue;
		devtype = udev_device_get_devtype(dev);
		if (devtype && !strcmp(devtype, "disk"))
			r = fn(dev, arg);
		udev_device_unref(dev);
		if (r)
			break;
	}
	udev_enumerate_unref(en);
	return r < 0 ? -1 : 0;
}

struct list_ctx {
	struct bs_drive *arr;
	size_t n, cap;
	bool all;
	const struct sysstate *ss;
};

static int list_one(struct udev_device *dev, void *arg)
{
	struct list_ctx *c = arg;

	if (!listed(udev_device_get_sysname(dev), c->all))
		return 0;
	c->arr = grow(c->arr, &c->cap, c->n, sizeof(*c->arr));
	if (!c->arr)
		return -1;
	fill_drive(dev, c->ss, &c->arr[c->n++]);
	return 0;
}

int bs_drive_list(struct bs_drive **out, size_t *n, bool all, char *err, size_t errlen)
{
	struct list_ctx c = {.all = all};
	struct sysstate ss;
	struct udev *udev;
	int r;

	*out = NULL;
	*n = 0;
	udev = udev_new();
	if (!udev) {
		snprintf(err, errlen, "cannot initialise libudev");
		return -1;
	}
	if (sysstate_load(&ss, err, errlen)) {
		udev_unref(udev);
		return -1;
	}
	c.ss = &ss;
	r = for_each_disk(udev, list_one, &c, err, errlen);
	if (r && !err[0])
		snprintf(err, errlen, "out of memory");
	sysstate_free(&ss);
	udev_unref(udev);
	if (r) {
		free(c.arr);
		return -1;
	}
	if (c.n)
		qsort(c.arr, c.n, sizeof(*c.arr), cmp_drive);
	*out = c.arr;
	*n = c.n;
	return 0;
}

/* @rdev is the disk @disk or one of its partitions (sysfs names the parent). */
static bool on_disk(dev_t rdev, dev_t disk)
{
	char path[96], buf[32];
	unsigned int maj, min;
	FILE *f;
	bool ret = false;

	if (rdev == disk)
		return true;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(rdev), minor(rdev));
	if (access(path, F_OK))
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(rdev), minor(rdev));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%u:%u", &maj, &min) == 2)
		ret = makedev(maj, min) == disk;
	fclose(f);
	return ret;
}

/* The access mode of /proc/@pid/fdinfo/@fd, or -1. */
static int fd_accmode(const char *pid, const char *fd)
{
	char path[600], line[128];
	unsigned long flags;
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %lo", &flags) == 1) {
			ret = (int)(flags & O_ACCMODE);
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Another process has the disk @d or one of its partitions open for
 * writing: "<node> is open for writing by <comm> (pid N)" in @why. Such a
 * writer does not claim the disk, so the exclusive claim lets it go on
 * writing during the flash, over the image (see the module's ATTACH).
 */
static bool open_for_writing(const struct bs_drive *d, char *why, size_t whylen)
{
	char path[600], node[256], comm[64] = "?";
	struct dirent *p, *e;
	ssize_t n;
	int mode;
	struct stat ds, st;
	DIR *proc, *fds;
	bool found = false;
	FILE *f;

	if (stat(d->path, &ds) || !S_ISBLK(ds.st_mode))
		return false;
	proc = opendir("/proc");
	if (!proc)
		return false;
	while (!found && (p = readdir(proc))) {
		if (!isdigit((unsigned char)p->d_name[0]) || atoi(p->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((e = readdir(fds))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, e->d_name);
			if (stat(path, &st) || !S_ISBLK(st.st_mode) ||
			    !on_disk(st.st_rdev, ds.st_rdev))
				continue;
			mode = fd_accmode(p->d_name, e->d_name);
			if (mode != O_WRONLY && mode != O_RDWR)
				continue;
			n = readlink(path, node, sizeof(node) - 1);
			snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
			f = fopen(path, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = 0;
				fclose(f);
			}
			node[n > 0 ? n : 0] = 0;
			snprintf(why, whylen,
				 "%s is open for writing by %s (pid %s): stop it first, "
				 "or it may write over the image",
				 n > 0 ? node : d->path, comm, p->d_name);
			found = true;
			break;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

int bs_drive_check(struct bs_drive *d, const struct bs_safety *s, char *why, size_t whylen)
{
	char dsz[32], isz[32];
	size_t i;

	if (d->read_only) {
		snprintf(why, whylen, "%s is read-only (write-protect switch?)", d->path);
		return -1;
	}
	if (d->holds_root) {
		snprintf(why, whylen, "%s holds the root filesystem", d->path);
		return -1;
	}
	if (d->holds_swap) {
		snprintf(why, whylen, "%s holds active swap", d->path);
		return -1;
	}
	if (!d->size) {
		snprintf(why, whylen, "%s has no medium (size 0)", d->path);
		return -1;
	}
	if (s->image_size > d->size) {
		bs_human_size(d->size, dsz, sizeof(dsz));
		bs_human_size(s->image_size, isz, sizeof(isz));
		if (!strcmp(dsz, isz))
			snprintf(why, whylen,
				 "%s is too small: device is %llu bytes, image is %llu bytes",
				 d->path, (unsigned long long)d->size,
				 (unsigned long long)s->image_size);
		else
			snprintf(why, whylen, "%s is too small: device is %s, image is %s", d->path,
				 dsz, isz);
		return -1;
	}
	if (!d->removable && !s->allow_fixed) {
		snprintf(why, whylen, "%s is not removable (use --allow-fixed)", d->path);
		return -1;
	}
	if (d->holders) {
		char p[96], dm[128] = "";
		FILE *f;

		/* a staged disk: its holder is the dm device bootseal-NAME */
		snprintf(p, sizeof(p), "/sys/class/block/%.31s/dm/name", d->holder);
		f = fopen(p, "re");
		if (f) {
			if (!fgets(dm, sizeof(dm), f))
				dm[0] = '\0';
			dm[strcspn(dm, "\n")] = '\0';
			fclose(f);
		}
		if (!strncmp(dm, "bootseal-", 9))
			snprintf(why, whylen,
				 "%s is staged as /dev/mapper/%s ('bootseal seal %s' or "
				 "'bootseal unstage %s' ends that)",
				 d->path, dm, dm, dm);
		else
			snprintf(why, whylen, "%s is in use by %s (device-mapper, RAID or similar)",
				 d->path, d->holder);
		return -1;
	}
	if (!d->nr_mounts)
		return open_for_writing(d, why, whylen) ? -1 : 0;
	if (!s->unmount) {
		snprintf(why, whylen, "%s is mounted on %s (use --unmount)", d->mounts[0].source,
			 d->mounts[0].target);
		return -1;
	}
	/* Most recent mount first, so nested mount points go before their parents. */
	for (i = d->nr_mounts; i-- > 0;) {
		if (umount2(d->mounts[i].target, 0) && errno != EINVAL) {
			snprintf(why, whylen, "cannot unmount %s from %s: %s", d->mounts[i].source,
				 d->mounts[i].target, strerror(errno));
			d->nr_mounts = i + 1;
			return -1;
		}
	}
	d->nr_mounts = 0;
	return open_for_writing(d, why, whylen) ? -1 : 0;
}

struct port_ctx {
	const char *port;
	char *path;
	size_t pathlen;
	uint64_t size; /* bytes, of the first one found */
	bool sized;    /* count only disks with a medium and a node (the first one wins) */
	int found;
	char others[256];
};

static int port_one(struct udev_device *dev, void *arg)
{
	struct port_ctx *c = arg;
	struct udev_device *usb;
	const char *node;
	size_t l;

	usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	if (!usb || strcmp(udev_device_get_sysname(usb), c->port))
		return 0;
	node = udev_device_get_devnode(dev);
	if (c->sized) {
		const char *sz = udev_device_get_sysattr_value(dev, "size");

		if (c->found || !node || !sz || !strtoull(sz, NULL, 10))
			return 0;
	}
	if (c->found++ == 0) {
		const char *sz = udev_device_get_sysattr_value(dev, "size");

		c->size = sz ? strtoull(sz, NULL, 10) * 512 : 0;
		if (node)
			snprintf(c->path, c->pathlen, "%s", node);
		else
			snprintf(c->path, c->pathlen, "/dev/%s", udev_device_get_sysname(dev));
		snprintf(c->others, sizeof(c->others), "%s", c->path);
	} else {
		l = strlen(c->others);
		snprintf(c->others + l, sizeof(c->others) - l, ", /dev/%s",
			 udev_device_get_sysname(dev));
	}
	return 0;
}

int bs_drive_from_usb_port(const char *port, char *path, size_t pathlen, char *err, size_t errlen)
{
	uint64_t size;

	return bs_drive_at_usb_port(port, path, pathlen, &size, err, errlen);
}

int bs_drive_at_usb_port(const char *port, char *path, size_t pathlen, uint64_t *size, char *err,
			 size_t errlen)
{
	struct port_ctx c = {.path = path, .pathlen = pathlen};
	char p[32];
	struct udev *udev;
	int r;

	if (bs_usb_port_parse(port, p, sizeof(p), err, errlen))
		return -1;
	c.port = p;
	udev = udev_new();
	if (!udev) {
		snprintf(err, errlen, "cannot initialise libudev");
		return -1;
	}
	r = for_each_disk(udev, port_one, &c, err, errlen);
	udev_unref(udev);
	if (r)
		return -1;
	if (!c.found) {
		snprintf(err, errlen, "no block device behind USB port %s", p);
		return -1;
	}
	if (c.found > 1) {
		snprintf(err, errlen, "%d block devices behind USB port %s (%s): name one", c.found,
			 p, c.others);
		return -1;
	}
	*size = c.size;
	return 0;
}

int bs_drive_first_at_usb_port(const char *port, char *path, size_t pathlen, uint64_t *size)
{
	struct port_ctx c = {.port = port, .path = path, .pathlen = pathlen, .sized = true};
	struct udev *udev = udev_new();
	char err[256];
	int r;

	if (!udev)
		return 0;
	r = for_each_disk(udev, port_one, &c, err, sizeof(err));
	udev_unref(udev);
	if (r || !c.found)
		return 0;
	*size = c.size;
	return 1;
}

int bs_drive_reread(const char *path, char *err, size_t errlen)
{
	struct timespec ts = {0, 200 * 1000 * 1000};
	int fd, tries, r = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	/* udev's probing right after the seal holds the disk open for a moment. */
	for (tries = 0; tries < 10; tries++) {
		r = ioctl(fd, BLKRRPART);
		if (!r || errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	if (r)
		snprintf(err, errlen, "%s",
			 errno == EBUSY ? "device is busy (a partition is in use)"
					: strerror(errno));
	close(fd);
	return r ? -1 : 0;
}

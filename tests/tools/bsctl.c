// SPDX-License-Identifier: GPL-2.0
/*
 * bsctl: scripted driver of the /dev/bootseal ioctls for VM tests, able to
 * send invalid arguments on purpose.
 *
 * The calls go through the helper's session client (client.h); ptr=bad,
 * ioctl and the invalid field values are sent as they are.
 *
 * Usage: bsctl [--fd N] COMMAND [ARGS] [COMMAND [ARGS]]...
 * All commands run in order on one session (one open of /dev/bootseal, or
 * the inherited descriptor N).
 *
 *   open                      re-open /dev/bootseal (a new session)
 *   close                     close the session
 *   attach PATH [head=N] [total=N] [flags=N] [reserved0=N] [reserved=N] [path=unterminated]
 *   write OFFSET LENGTH [fill=BYTE] [flags=N] [reserved=N] [buf=bad|ADDR] [misalign=N]
 *                             the buffer is page-aligned, plus misalign bytes;
 *                             buf=ADDR passes that user address as is
 *   flash IMAGE [chunk=N] [kill-after=N] [stop-after=N] [pause=MS] [pin=1]
 *                             WRITE the image from offset 0 in chunks (last
 *                             one padded with zeros to the logical block
 *                             size); kill-after: SIGKILL ourselves once that
 *                             many bytes were written; stop-after: stop there;
 *                             pin=1: full chunks straight from a read-only
 *                             mapping of IMAGE with BOOTSEAL_WRITE_F_PIN
 *   commit | abort
 *   status [state=NAME]       print the status; with state=, require it
 *   ioctl NUMBER              a raw ioctl with argument 0
 *   sleep MS
 * Every command except open/close/sleep also takes:
 *   expect=ERRNAME            the command must fail with this errno (e.g. EBUSY)
 *   ptr=bad                   pass an unmapped pointer as the ioctl argument
 * Sizes accept K/M/G suffixes (powers of two).
 * Prints one line per command; exits 0 only if every command did what was
 * expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static int fd = -1;
static unsigned int lbs = 512;
static void *bad_ptr;

static const char *errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "OK";

	return n ? n : "E?";
}

static int errno_by_name(const char *name)
{
	int e;

	if (!strcmp(name, "OK"))
		return 0;
	for (e = 1; e < 200; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	fprintf(stderr, "bsctl: unknown errno name %s\n", name);
	exit(2);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s) {
		fprintf(stderr, "bsctl: bad number '%s'\n", s);
		exit(2);
	}
	switch (*end) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end) {
		fprintf(stderr, "bsctl: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* Options of the current command: key=value words. */
struct opts {
	int expect; /* errno, 0 = success */
	int bad_ptr;
	char **kv;
	int nkv;
};

static const char *opt(const struct opts *o, const char *key)
{
	size_t l = strlen(key);
	int i;

	for (i = 0; i < o->nkv; i++)
		if (!strncmp(o->kv[i], key, l) && o->kv[i][l] == '=')
			return o->kv[i] + l + 1;
	return NULL;
}

static uint64_t opt_num(const struct opts *o, const char *key, uint64_t def)
{
	const char *v = opt(o, key);

	return v ? parse_size(v) : def;
}

/* Reports the outcome of one command; returns 0 if it matched the expectation. */
static int report(const char *what, int ret, const struct opts *o)
{
	int e = ret < 0 ? errno : 0;

	printf("%s: %s%s%s\n", what, errname(e), e ? " " : "", e ? strerror(e) : "");
	fflush(stdout);
	if (e != o->expect) {
		fprintf(stderr, "bsctl: %s: expected %s, got %s\n", what, errname(o->expect),
			errname(e));
		return 1;
	}
	return 0;
}

static int do_attach(char **pos, int npos, const struct opts *o)
{
	struct bootseal_attach a;
	int ret;

	memset(&a, 0, sizeof(a));
	if (npos != 1) {
		fprintf(stderr, "bsctl: attach PATH\n");
		exit(2);
	}
	snprintf(a.path, sizeof(a.path), "%s", pos[0]);
	if (opt(o, "path") && !strcmp(opt(o, "path"), "unterminated"))
		memset(a.path, 'x', sizeof(a.path));
	a.head_len = opt_num(o, "head", 1 << 20);
	a.total_bytes = opt_num(o, "total", 0);
	a.flags = opt_num(o, "flags", 0);
	a.reserved0 = opt_num(o, "reserved0", 0);
	a.reserved[3] = opt_num(o, "reserved", 0);
	ret = o->bad_ptr ? ioctl(fd, BOOTSEAL_IOC_ATTACH, bad_ptr) : bs_client_attach(fd, &a);
	if (ret == 0) {
		lbs = a.logical_block_size;
		printf("attach: session_id=%llu dev_size=%llu lbs=%u pbs=%u dev=%u "
		       "max_head_len=%u\n",
		       (unsigned long long)a.session_id, (unsigned long long)a.dev_size,
		       a.logical_block_size, a.physical_block_size, a.dev, a.max_head_len);
	}
	return report("attach", ret, o);
}

static int do_write(char **pos, int npos, const struct opts *o)
{
	struct bootseal_write w;
	uint64_t len;
	char *buf = NULL;
	int ret;

	if (npos != 2) {
		fprintf(stderr, "bsctl: write OFFSET LENGTH\n");
		exit(2);
	}
	memset(&w, 0, sizeof(w));
	w.offset = parse_size(pos[0]);
	len = parse_size(pos[1]);
	w.length = len;
	w.flags = opt_num(o, "flags", 0);
	w.reserved = opt_num(o, "reserved", 0);
	if (opt(o, "buf") && !strcmp(opt(o, "buf"), "bad")) {
		w.buf = (uintptr_t)bad_ptr;
	} else if (opt(o, "buf")) {
		w.buf = parse_size(opt(o, "buf"));
	} else {
		size_t alloc = len ? len : 1;
		uint64_t mis = opt_num(o, "misalign", 0);

		if (alloc > (64u << 20))
			alloc = 64u << 20; /* a larger length is refused before the copy */
		if (mis > 4096 || posix_memalign((void **)&buf, 4096, alloc + mis)) {
			fprintf(stderr, "bsctl: Unable to allocate the write buffer\n");
			exit(2);
		}
		memset(buf, (int)opt_num(o, "fill", 0xa5), alloc + mis);
		w.buf = (uintptr_t)(buf + mis);
	}
	ret = o->bad_ptr ? ioctl(fd, BOOTSEAL_IOC_WRITE, bad_ptr) : bs_client_write(fd, &w);
	ret = report("write", ret, o);
	free(buf);
	return ret;
}

static int do_flash(char **pos, int npos, const struct opts *o)
{
	uint64_t chunk = opt_num(o, "chunk", 4 << 20);
	uint64_t kill_after = opt_num(o, "kill-after", UINT64_MAX);
	uint64_t stop_after = opt_num(o, "stop-after", UINT64_MAX);
	uint64_t pause_ms = opt_num(o, "pause", 0);
	bool pin = opt_num(o, "pin", 0);
	uint64_t off = 0, size = 0;
	char *buf, *map = NULL;
	struct stat st;
	int img, ret = 0;

	if (npos != 1 || !chunk || chunk > BOOTSEAL_WRITE_MAX || chunk % lbs) {
		fprintf(stderr, "bsctl: flash IMAGE [chunk=N (multiple of %u, <= 16M)]\n", lbs);
		exit(2);
	}
	img = open(pos[0], O_RDONLY | O_CLOEXEC);
	if (img < 0) {
		fprintf(stderr, "bsctl: Unable to open %s: %s\n", pos[0], strerror(errno));
		exit(2);
	}
	buf = malloc(chunk);
	if (!buf)
		exit(2);
	if (pin) {
		if (fstat(img, &st) || !st.st_size) {
			fprintf(stderr, "bsctl: Unable to map %s: empty or no size\n", pos[0]);
			exit(2);
		}
		size = (uint64_t)st.st_size;
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, img, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "bsctl: Unable to map %s: %s\n", pos[0], strerror(errno));
			exit(2);
		}
	}
	for (;;) {
		struct bootseal_write w;
		ssize_t n = 0, r;

		memset(&w, 0, sizeof(w));
		w.buf = (uintptr_t)buf;
		if (pin && off + chunk <= size) {
			/* a whole chunk: no copy, the module pins the mapping */
			n = (ssize_t)chunk;
			w.buf = (uintptr_t)(map + off);
			w.flags = BOOTSEAL_WRITE_F_PIN;
		} else {
			if (pin && lseek(img, (off_t)off, SEEK_SET) < 0)
				break;
			while ((uint64_t)n < chunk && (r = read(img, buf + n, chunk - n)) > 0)
				n += r;
		}
		if (n <= 0)
			break;
		if (n % lbs) {
			memset(buf + n, 0, lbs - n % lbs);
			n += lbs - n % lbs;
		}
		w.offset = off;
		w.length = n;
		ret = bs_client_write(fd, &w);
		if (ret)
			break;
		off += n;
		if (off >= kill_after) {
			printf("flash: killing myself after %llu bytes\n", (unsigned long long)off);
			fflush(stdout);
			kill(getpid(), SIGKILL);
		}
		if (off >= stop_after)
			break;
		if (pause_ms)
			usleep(pause_ms * 1000);
	}
	if (map)
		munmap(map, size);
	close(img);
	free(buf);
	printf("flash: %llu bytes written\n", (unsigned long long)off);
	return report("flash", ret, o);
}

static int do_status(const struct opts *o)
{
	struct bootseal_status st;
	const char *want = opt(o, "state");
	const char *name;
	int ret;

	memset(&st, 0, sizeof(st));
	if (o->bad_ptr)
		ret = ioctl(fd, BOOTSEAL_IOC_STATUS, bad_ptr);
	else
		ret = bs_client_status(fd, &st);
	if (ret == 0) {
		name = bs_client_state_name(st.state);
		printf("status: session_id=%llu state=%s error=%d error_sector=%lld expected=%llu "
		       "submitted=%llu completed=%llu head_len=%llu dev_size=%llu dev=%u "
		       "disk=%.*s\n",
		       (unsigned long long)st.session_id, name, st.error,
		       st.error_sector == BOOTSEAL_SECTOR_NONE ? -1LL : (long long)st.error_sector,
		       (unsigned long long)st.bytes_expected,
		       (unsigned long long)st.bytes_submitted,
		       (unsigned long long)st.bytes_completed, (unsigned long long)st.head_len,
		       (unsigned long long)st.dev_size, st.dev, BOOTSEAL_DISK_NAME_LEN,
		       st.disk_name);
		if (st.cleanup)
			printf("status: cleanup=%s%s%s error=%d sector=%lld\n",
			       st.cleanup & BOOTSEAL_CLEANUP_RAN ? "ran" : "-",
			       st.cleanup & BOOTSEAL_CLEANUP_HEAD ? ",head" : "",
			       st.cleanup & BOOTSEAL_CLEANUP_TAIL ? ",tail" : "", st.cleanup_error,
			       st.cleanup_sector == BOOTSEAL_SECTOR_NONE
				       ? -1LL
				       : (long long)st.cleanup_sector);
		if (want && strcmp(want, name)) {
			fprintf(stderr, "bsctl: state %s, expected %s\n", name, want);
			return 1;
		}
	}
	return report("status", ret, o);
}

static int is_command(const char *w)
{
	static const char *const cmds[] = {"open",  "close",  "attach", "write", "flash", "commit",
					   "abort", "status", "ioctl",	"sleep", NULL};
	int i;

	for (i = 0; cmds[i]; i++)
		if (!strcmp(w, cmds[i]))
			return 1;
	return 0;
}

static void dev_open(void)
{
	fd = bs_client_open();
	printf("open: %s%s%s\n", errname(fd < 0 ? errno : 0), fd < 0 ? " " : "",
	       fd < 0 ? strerror(errno) : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int i = 1, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Below vm.mmap_min_addr: never mapped. */
	bad_ptr = (void *)(uintptr_t)4096;

	if (argc < 2) {
		fprintf(stderr, "Usage: bsctl COMMAND [ARGS]... (see the source header)\n");
		return 2;
	}
	if (argc > 2 && !strcmp(argv[1], "--fd")) {
		fd = atoi(argv[2]);
		i = 3;
	} else {
		dev_open();
	}
	if (fd < 0 && strcmp(argv[1], "open")) {
		/* Opening is itself a check (permissions): expect=ERRNAME on the first command. */
		for (int j = 2; j < argc && !is_command(argv[j]); j++)
			if (!strncmp(argv[j], "expect=", 7))
				return errno_by_name(argv[j] + 7) == errno ? 0 : 1;
		return 1;
	}
	while (i < argc) {
		const char *cmd = argv[i++];
		char *pos[4];
		int npos = 0;
		struct opts o = {0};
		char *kv[16];

		o.kv = kv;
		while (i < argc && !is_command(argv[i])) {
			char *w = argv[i++];

			if (!strncmp(w, "expect=", 7))
				o.expect = errno_by_name(w + 7);
			else if (!strcmp(w, "ptr=bad"))
				o.bad_ptr = 1;
			else if (strchr(w, '=') && o.nkv < 16)
				kv[o.nkv++] = w;
			else if (npos < 4)
				pos[npos++] = w;
		}
		if (!strcmp(cmd, "open")) {
			if (fd >= 0)
				close(fd);
			dev_open();
			failed |= fd < 0;
		} else if (!strcmp(cmd, "close")) {
			close(fd);
			fd = -1;
			printf("close: OK\n");
		} else if (!strcmp(cmd, "sleep")) {
			usleep(parse_size(npos ? pos[0] : "0") * 1000);
		} else if (!strcmp(cmd, "attach")) {
			failed |= do_attach(pos, npos, &o);
		} else if (!strcmp(cmd, "write")) {
			failed |= do_write(pos, npos, &o);
		} else if (!strcmp(cmd, "flash")) {
			failed |= do_flash(pos, npos, &o);
		} else if (!strcmp(cmd, "commit")) {
			failed |= report("commit", bs_client_commit(fd), &o);
		} else if (!strcmp(cmd, "abort")) {
			failed |= report("abort", bs_client_abort(fd), &o);
		} else if (!strcmp(cmd, "status")) {
			failed |= do_status(&o);
		} else if (!strcmp(cmd, "ioctl")) {
			unsigned long nr = npos ? strtoul(pos[0], NULL, 0) : 0;

			failed |= report("ioctl", ioctl(fd, nr, 0), &o);
		}
	}
	if (fd >= 0)
		close(fd);
	return failed ? 1 : 0;
}

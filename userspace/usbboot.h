/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usbboot: boot Raspberry Pi Compute Modules (and other BCM283x/2711 boards
 * with nRPIBOOT asserted) over USB until they show up as USB mass-storage
 * devices. Wire protocol: userspace/DESIGN.md, "USB boot" (ROM stage: 24-byte
 * boot message + second-stage file + 4-byte status; second stage: the device
 * asks for files, the host serves them from the firmware directory).
 *
 * Every device is tracked by its USB port path ("1-1.3"), which survives the
 * re-enumerations between stages. Each stage of each device runs in its own
 * thread, so a slow or broken device never holds the others up.
 *
 * Timeouts (all bounded; "step" = --timeout, default BS_USBBOOT_STEP_TIMEOUT):
 *   control OUT (size announcement)     BS_USBBOOT_CTRL_TIMEOUT_MS
 *   each bulk chunk                     BS_USBBOOT_BULK_TIMEOUT_MS
 *   ROM status read                     min(BS_USBBOOT_READ_TIMEOUT_MS, step)
 *   one file request (re-asked on a timeout, as the device may hold the
 *   reply while it works)               each try <= BS_USBBOOT_READ_TIMEOUT_MS,
 *                                       all tries together <= step
 *   re-enumeration after a stage        step
 *   block device after the last stage   step
 *   first device (without --loop)       step
 */
#ifndef BOOTSEAL_USBBOOT_H
#define BOOTSEAL_USBBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BS_USBBOOT_VID	       0x0a5c
#define BS_USBBOOT_BOOTMSG_LEN 24
#define BS_USBBOOT_REQ_LEN     260
#define BS_USBBOOT_NAME_LEN    256

#define BS_USBBOOT_CTRL_TIMEOUT_MS     5000
#define BS_USBBOOT_BULK_TIMEOUT_MS     10000
#define BS_USBBOOT_DONE_ACK_TIMEOUT_MS 1000 /* the zero-length write after Done */
#define BS_USBBOOT_READ_TIMEOUT_MS     20000
#define BS_USBBOOT_STEP_TIMEOUT	       60 /* seconds */
#define BS_USBBOOT_BULK_CHUNK	       (64u << 10)
#define BS_USBBOOT_MAX_SESSIONS	       16 /* file-server sessions per device */
#define BS_USBBOOT_MAX_FILE	       (1u << 30)

/* File-server commands (request offset 0, LE). */
enum bs_usbboot_cmd {
	BS_USBBOOT_GET_FILE_SIZE = 0,
	BS_USBBOOT_READ_FILE = 1,
	BS_USBBOOT_DONE = 2,
};

struct bs_usbboot_req {
	enum bs_usbboot_cmd cmd;
	char name[BS_USBBOOT_NAME_LEN]; /* NUL-terminated; "" for Done */
};

/*
 * Fill the 24-byte ROM boot message for a second-stage file of @len bytes
 * (length LE, 20-byte signature all zero).
 */
void bs_usbboot_boot_message(uint8_t out[BS_USBBOOT_BOOTMSG_LEN], uint32_t len);

/*
 * Parse a file-server request of @len bytes (normally 260; a device may
 * answer short). An empty name means Done whatever the command. Returns 0,
 * or -1 with the reason in @err: fewer than 4 bytes, unknown command, a name
 * that is not NUL-terminated within its 256 bytes.
 */
int bs_usbboot_parse_request(const uint8_t *buf, size_t len, struct bs_usbboot_req *req, char *err,
			     size_t errlen);

/*
 * May @name be served from the firmware directory? Refuses (-1 with the
 * reason in @why) absolute names, any ".." path component or "..", empty
 * components ("a//b"), backslashes, control and non-ASCII bytes, and
 * metadata records ("*KEY*VALUE"). 0 when acceptable.
 */
int bs_usbboot_name_ok(const char *name, char *why, size_t whylen);

/* Chip family for a product ID: "BCM2835", "BCM2837", "BCM2711", "BCM2712" or NULL. */
const char *bs_usbboot_chip(uint16_t pid);

#define BS_USBBOOT_MAX_META	16 /* metadata records kept per board */
#define BS_USBBOOT_META_KEY_LEN 32
#define BS_USBBOOT_META_VAL_LEN 128
#define BS_USBBOOT_SERIAL_LEN	33

/*
 * Parse a metadata record "*KEY*VALUE" (BCM2711/2712 firmware): KEY is 1-31
 * upper-case letters, digits or '_', VALUE 0-127 printable ASCII bytes. 0, or
 * -1 with the reason in @why.
 */
int bs_usbboot_parse_meta(const char *name, char key[BS_USBBOOT_META_KEY_LEN],
			  char val[BS_USBBOOT_META_VAL_LEN], char *why, size_t whylen);

/* What is known about one board when its block device appears. */
struct bs_usbboot_board {
	const char *port;    /* "1-1.3" */
	const char *chip;    /* "BCM2837", "BCM2711", ... */
	const char *slot;    /* the port's slot name, or NULL */
	const char *serial;  /* the ROM's serial-number string (BCM2711), or NULL */
	const char *devnode; /* "/dev/sdX" */
	uint64_t size;
	unsigned int nmeta; /* metadata records, in arrival order */
	const char (*meta_key)[BS_USBBOOT_META_KEY_LEN];
	const char (*meta_val)[BS_USBBOOT_META_VAL_LEN];
	double boot_seconds; /* from the first ROM transfer to the block device */
};

/*
 * Called in its own thread when a device's block device appears (several may
 * run at once, one per port). Returns enum bs_exit for that device.
 */
typedef int (*bs_usbboot_ready_fn)(void *ctx, const struct bs_usbboot_board *b);

/*
 * Called (in the scanner's thread) when a board failed before its block
 * device appeared, with what is known and the error. May be NULL.
 */
typedef void (*bs_usbboot_failed_fn)(void *ctx, const struct bs_usbboot_board *b,
				     const char *error);

struct bs_slots;

struct bs_usbboot_opts {
	const char *firmware_dir; /* NULL: bs_usbboot_default_firmware() */
	const char *port;	  /* only this port path, or NULL */
	const char *const *ports; /* or only these @nports port paths */
	size_t nports;
	const struct bs_slots *slots; /* names of ports, shown in every line; may be NULL */
	bool loop;		      /* keep waiting for devices until interrupted */
	unsigned int count;	      /* stop after this many devices finished (0: see below) */
	bool json;		      /* one JSON object per line on stdout */
	bool verbose;		      /* log every file request */
	unsigned int timeout;	      /* seconds per step, 0 = BS_USBBOOT_STEP_TIMEOUT */
	bs_usbboot_ready_fn ready;    /* NULL: print "usb PORT -> /dev/sdX (SIZE)" */
	bs_usbboot_failed_fn failed;  /* boot failures, for records; may be NULL */
	void *ctx;
	volatile int *stop; /* set non-zero (e.g. from SIGINT) to stop waiting */
};

/*
 * Boot devices until done: without loop or count, until every device seen
 * has finished (ready or failed) and at least one was seen (the first must
 * appear within the step timeout); with count, until that many finished;
 * with loop, until *stop. Returns enum bs_exit: OK when every device reached
 * mass storage, BS_EXIT_USB when any failed or none appeared.
 */
int bs_usbboot_run(const struct bs_usbboot_opts *o);

/* The default firmware directory: BOOTSEAL_DATADIR/blobs, else the blobs/
 * directory of the source tree the binary was built in. NULL when neither. */
const char *bs_usbboot_default_firmware(char *buf, size_t len);

#endif /* BOOTSEAL_USBBOOT_H */

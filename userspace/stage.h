/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Staged devices: a whole disk behind the module's device-mapper target
 * "bootseal" (table "0 <disk sectors> bootseal <MAJ:MIN> <head sectors>"),
 * which holds the head and the last MiB back until the message "seal".
 * The partitions of a staged disk are dm "linear" mappings NAMEp1, NAMEp2,
 * ... on top of the staged device, as kpartx makes them. Everything here
 * goes through libdevmapper; the parsers are pure (unit-tested).
 *
 * Error strings in @err are reasons, for the caller's "Unable to <verb>
 * <object>: <reason>".
 */
#ifndef BOOTSEAL_STAGE_H
#define BOOTSEAL_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bs_ptable;

#define BS_STAGE_PREFIX	      "bootseal-"
#define BS_STAGE_TARGET	      "bootseal"
#define BS_DM_NAME_LEN	      128 /* DM_NAME_LEN, NUL included */
#define BS_STAGE_DEFAULT_HEAD (1u << 20)

/* The target's status line (DM_DEVICE_STATUS, info). */
struct bs_stage_status {
	char state[16]; /* staged writing sealing sealed failed unclean aborted */
	uint64_t session_id;
	uint64_t bytes_submitted;
	uint64_t bytes_completed;
	int error;		 /* positive errno, 0 if none */
	uint64_t error_sector;	 /* BOOTSEAL_SECTOR_NONE if none */
	uint32_t cleanup;	 /* BOOTSEAL_CLEANUP_* */
	int cleanup_error;	 /* positive errno of the erase, 0 if none */
	uint64_t cleanup_sector; /* BOOTSEAL_SECTOR_NONE if none */
};

/*
 * "<state> <session_id> <bytes_submitted> <bytes_completed> <errno>
 * <error_sector|-> <cleanup_flags> <cleanup_errno> <cleanup_sector|->".
 * 0, or -1 when @s is not such a line.
 */
int bs_stage_parse_status(const char *s, struct bs_stage_status *st);

/* The target's table line "<MAJ:MIN> <head_sectors>". 0 or -1. */
int bs_stage_parse_table(const char *s, unsigned int *major, unsigned int *minor,
			 uint64_t *head_sectors);

/* The dm name for staging disk @disk ("sdb"): "bootseal-sdb". */
void bs_stage_name_for(const char *disk, char *name, size_t len);

/*
 * NAME or /dev/mapper/NAME -> NAME (a valid device-mapper name: 1 to 127
 * bytes, printable, no '/'). 0, or -1 with @err.
 */
int bs_stage_name_arg(const char *arg, char *name, size_t len, char *err, size_t errlen);

/* NAME + "p" + @num: the partition mapping's name ("bootseal-sdbp1"). */
void bs_stage_part_name(const char *name, unsigned int num, char *buf, size_t len);

/* @pname is @name + "p" + digits (a partition mapping of @name); its number in *@num. */
bool bs_stage_is_part_name(const char *name, const char *pname, unsigned int *num);

/* One partition mapping to make: 512-byte sectors on the staged device. */
struct bs_part_map {
	unsigned int num;
	uint64_t start;
	uint64_t size;
};

/*
 * The partition mappings for table @pt of a device of @dev_sectors 512-byte
 * sectors: every partition but extended containers, in number order.
 * Refuses (-1 with @err) a device without a valid table, partitions of size
 * 0, over sector 0, past the end of the device, or overlapping another.
 * *@n may be 0 only when -1 is returned.
 */
int bs_stage_plan_parts(const struct bs_ptable *pt, uint64_t dev_sectors, struct bs_part_map *out,
			size_t max, size_t *n, char *err, size_t errlen);

/* What state, errno and cleanup of @st mean, in one sentence (for a failed seal). */
void bs_stage_describe_failure(const struct bs_stage_status *st, char *buf, size_t len);

/* ---- device-mapper (libdevmapper) ----------------------------------------- */

struct bs_dm_dev {
	bool exists;
	unsigned int major, minor;
	int open_count;
	char target[32];  /* the (first) target's type, "" if no table */
	uint64_t length;  /* its length, 512-byte sectors */
	char table[256];  /* its table parameters */
	char status[256]; /* its status line */
	unsigned int ntargets;
};

/*
 * Whether the kernel has the "bootseal" target (module loaded and new
 * enough). 1 yes, 0 no, -1 with @err when device-mapper cannot be asked.
 */
int bs_dm_has_target(const char *target, char *err, size_t errlen);

/*
 * Create and resume @name with one target [0, @length) of @type with
 * @params; the node /dev/mapper/@name exists when this returns (made by
 * udev when it runs, else by libdevmapper). 0, or the negative errno with
 * @err (the table load's errno for a refused table).
 */
int bs_dm_create(const char *name, const char *type, uint64_t length, const char *params, char *err,
		 size_t errlen);
/* Remove @name (and its node). 0, or the negative errno with @err (-EBUSY: open). */
int bs_dm_remove(const char *name, char *err, size_t errlen);
/* Send @msg to sector 0 of @name. 0, or the negative errno with @err. */
int bs_dm_message(const char *name, const char *msg, char *err, size_t errlen);
/* Info, table and status of @name (d->exists false when there is none). 0, or -1 with @err. */
int bs_dm_get(const char *name, struct bs_dm_dev *d, char *err, size_t errlen);
/* Every dm device name: a malloc'ed array of malloc'ed strings. 0, or -1 with @err. */
int bs_dm_list(char ***names, size_t *n, char *err, size_t errlen);
void bs_dm_list_free(char **names, size_t n);

#endif /* BOOTSEAL_STAGE_H */

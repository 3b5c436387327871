/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bootseal - flash a disk image so that the device ends up either completely
 * and durably written, or visibly unwritten.
 *
 * This header is the whole contract between the bootseal kernel module and
 * userspace. It is written for userspace first; the helper includes it by
 * path.
 *
 * CHARACTER DEVICE
 * ----------------
 *
 * /dev/bootseal (mode 0600, root only; every ioctl also requires
 * CAP_SYS_ADMIN). Each open file description is one *session*, which flashes
 * exactly one whole-disk block device:
 *
 *   fd = open("/dev/bootseal", O_RDWR | O_CLOEXEC);
 *   ioctl(fd, BOOTSEAL_IOC_ATTACH, &attach);   claim + invalidate
 *   ioctl(fd, BOOTSEAL_IOC_WRITE, &w);          repeated, any order
 *   ioctl(fd, BOOTSEAL_IOC_COMMIT);             flush, write head (FUA), read back
 *   ioctl(fd, BOOTSEAL_IOC_STATUS, &st);        at any time
 *   close(fd);                                  without COMMIT: aborted, head stays zero
 *
 * BOOTSEAL_IOC_ATTACH (struct bootseal_attach, in/out)
 *   Opens the whole-disk block device named by @path for writing and claims
 *   it exclusively, writes back and drops the page caches of the disk and
 *   of each of its partitions (so that writes buffered through a partition
 *   node before ATTACH cannot land over the image later), then zeroes
 *   [0, head_len) and the last MiB of the device and makes that durable
 *   before returning. The exclusive claim does not stop a process that
 *   opened the disk or a partition for writing without O_EXCL from writing
 *   during the flash; kernels from 6.8 that enforce restricted writes
 *   (bdev_allow_write_mounted=0, or CONFIG_BLK_DEV_WRITE_MOUNTED=n) make
 *   ATTACH fail with EBUSY while the whole-disk node has such a writer and
 *   refuse new ones until the session ends; writers through partition
 *   nodes are not covered by that either. Errors:
 *     ENOENT      @path does not exist
 *     ENOTBLK     @path is not a block device
 *     EMEDIUMTYPE @path is a partition, not a whole disk
 *     EOPNOTSUPP  @path is a zoned block device (host-managed or
 *                 host-aware): its sequential-write zones cannot take an
 *                 image written in any order
 *     EBUSY       a partition is mounted, used as swap, held by dm/md, or
 *                 another exclusive opener (another session) holds the disk
 *     EROFS       the device is read-only
 *     EINVAL      reserved field or unknown flag set; @path not
 *                 NUL-terminated; @head_len zero, not a multiple of the
 *                 logical block size, above the module's max_head_len
 *                 parameter, or larger than the device
 *     EBADFD      this session is already attached
 *     EIO etc.    the invalidation writes failed (session FAILED)
 *   Other errors of the path lookup (ENOTDIR, ELOOP, ...) pass through.
 *   Module parameters: max_head_len (bytes, default 4 MiB; a multiple of
 *   512 in [512, 64 MiB], other values are refused with EINVAL when written
 *   to /sys/module/bootseal/parameters/max_head_len or given at load)
 *   bounds @head_len;
 *   max_inflight_mb (MiB, default 64, at least 16) bounds the data bytes a
 *   session has in flight. The head buffer, the data pages and the session are
 *   charged to the memory cgroup of the process that allocates them.
 *
 * BOOTSEAL_IOC_WRITE (struct bootseal_write, in)
 *   Queues @length bytes from user memory @buf for device offset @offset.
 *   Bytes inside the head region are copied into the kernel head buffer and
 *   not written; all others are submitted asynchronously. Blocks while the
 *   in-flight budget is exhausted; a fatal signal aborts the wait.
 *   By default the bytes are copied before WRITE returns, so @buf may be
 *   reused at once. With BOOTSEAL_WRITE_F_PIN the module may instead pin
 *   @buf's pages and write straight from them (no copy): the caller must
 *   then leave those bytes unchanged until COMMIT or ABORT has returned or
 *   the fd is closed -- meant for a read-only mapping of the image file.
 *   The rule for files: the pinned pages are the file's live page cache,
 *   shared with every other mapping and with write() to the file, and the
 *   module neither copies nor write-protects them. Any change to the file
 *   by anyone while a pinned WRITE is in flight reaches the device in
 *   part or not at all (the device may then match neither version), and
 *   nothing in the module notices it (only the head is read back). So:
 *   pin only files that nobody writes until COMMIT returns, and read the
 *   device back afterwards; a caller that cannot promise both must not set
 *   BOOTSEAL_WRITE_F_PIN (a copied WRITE takes its bytes once, before it
 *   returns). Truncating the file does not free pinned pages; a WRITE whose
 *   pages are gone fails with EFAULT.
 *   Writes that touch the head region are always copied. Errors:
 *     EINVAL      reserved field or unknown flag set, @offset or @length
 *                 not a multiple of the logical block size, @length zero
 *                 or above BOOTSEAL_WRITE_MAX, range past the end of the
 *                 device; with BOOTSEAL_WRITE_F_PIN also @buf not aligned
 *                 to the logical block size
 *     EFAULT      @buf is not readable, or [@buf, @buf + @length) wraps
 *                 around or leaves user space (nothing of this WRITE was
 *                 queued)
 *     ENOMEM      no memory for the copy or for pinning
 *     EBADFD      not attached, or already committed/aborted
 *     <errno>     the session FAILED earlier; the first I/O error is
 *                 returned again
 *     EINTR       a fatal signal arrived while waiting for budget
 *
 * BOOTSEAL_IOC_COMMIT (no argument)
 *   Waits for every data write, flushes the device cache, writes the head
 *   buffer with FUA -- everything after the first physical block first, the
 *   first physical block (MBR / protective MBR; on a disk with 4 KiB
 *   physical and 512-byte logical blocks also the GPT header) last, in one
 *   write, so no prefix of the write history shows a partition table before
 *   all data is durable and the disk never read-modify-writes a partly
 *   written physical block 0; a head shorter than one physical block is a
 *   single write -- then reads the head back and compares it. Returns 0 once the session is
 *   SEALED. Errors: EBADFD (not attached / SEALED / ABORTED), EINTR (fatal
 *   signal while waiting; the session stays as it was), the first data I/O
 *   error, EIO when the head read back differs (the session is then FAILED,
 *   or UNCLEAN, see below; BOOTSEAL_IOC_STATUS has the errno and the sector).
 *   A seal that fails once a head write has been issued (a head write or
 *   the read-back fails, or the read-back differs: the device may have
 *   acknowledged writes it lost) may have put the image's partition table
 *   on the medium. Before COMMIT returns, the module then rewrites the head
 *   region (the first block first) and the last MiB with zeros, with FUA,
 *   and reads both back: BOOTSEAL_IOC_STATUS.cleanup says what was erased
 *   (BOOTSEAL_CLEANUP_*). If all of it reads back as zeros the session is
 *   FAILED: a session that FAILED after ATTACH had zeroed the head never
 *   leaves the image's partition table on the medium. (If ATTACH's own
 *   zeroing fails, the session is FAILED with nothing of the image written:
 *   the device keeps whatever table it had, possibly part-zeroed.) If any
 *   of it fails, the session ends UNCLEAN instead, with the erase's errno
 *   and sector in cleanup_error / cleanup_sector (error / error_sector stay
 *   those of the seal), and the kernel log names the device: the device
 *   may show a partition table over data that is not the image. COMMIT
 *   returns the seal's error in both cases.
 *   When COMMIT returns (success or failure) the page caches of the device
 *   and of its partitions have been invalidated and the exclusive claim released, so userspace can
 *   re-read the partition table at once; the fd stays usable for STATUS.
 *
 * BOOTSEAL_IOC_ABORT (no argument)
 *   Waits for in-flight writes, leaves the head zeroed, state ABORTED,
 *   invalidates the page cache and releases the claim. On a FAILED or
 *   UNCLEAN session it only releases the device and returns 0. Errors:
 *   EBADFD when not attached, SEALED or ABORTED. close() without COMMIT
 *   does the same.
 *
 * BOOTSEAL_IOC_STATUS (struct bootseal_status, out)
 *   Never fails on a valid fd and buffer (EFAULT otherwise). A session that
 *   is not attached reports BOOTSEAL_STATE_NONE. @cleanup, @cleanup_error
 *   and @cleanup_sector are 0, 0 and BOOTSEAL_SECTOR_NONE unless a failed
 *   seal had to be erased (see BOOTSEAL_IOC_COMMIT).
 *
 * Unknown ioctl numbers return ENOTTY.
 *
 * DEVICE-MAPPER TARGET "bootseal" (version 1.0.0): STAGED DISKS
 * --------------------------------------------------------------
 *
 * The same contract for writers that are not this ioctl interface (mkfs,
 * dd, bmaptool, an imaging script): a staged device that holds the head
 * and the tail back until it is sealed. Table (one target, the whole
 * device; CAP_SYS_ADMIN, as for every device-mapper table):
 *
 *   0 <disk sectors> bootseal <whole disk: path or MAJ:MIN> <head sectors>
 *
 *   The length must be the disk's size in 512-byte sectors; <head sectors>
 *   at least 1, a multiple of the logical block size, at most the
 *   max_head_len parameter and the disk. The constructor claims the disk
 *   (device-mapper's exclusive claim: the disk and its partitions cannot be
 *   mounted or claimed by a session meanwhile), writes back and drops the
 *   page caches of the disk and its partitions, zeroes the head and the
 *   tail (the last BOOTSEAL_TAIL_LEN bytes, as for ATTACH) and flushes, as
 *   ATTACH does -- but without restricting writes (device-mapper opens the
 *   disk without BLK_OPEN_RESTRICT_WRITES), so a process that has the disk
 *   node open for writing is not stopped. A table that is refused gets the reason in the kernel log
 *   ("device-mapper: table: 253:N: bootseal: <reason>") and the errno of
 *   DM_TABLE_LOAD: EINVAL (arguments, length, head), EMEDIUMTYPE (a
 *   partition), EROFS (a read-only disk or table), EOPNOTSUPP (a zoned
 *   disk), EBUSY (the disk is staged already, or held by another
 *   device-mapper device), ENOMEM, or the errno of the zeroing (the
 *   session is FAILED).
 *
 * While staged, reads and writes of [0, head) and of the tail are served
 * from kernel buffers (initially zero), so the writer sees what it wrote;
 * every other bio is remapped to the disk, flushes pass through. The
 * staged device offers no discard, write-zeroes or secure erase. A failed
 * write or flush to the disk fails the stage (FAILED): from then on every
 * bio fails with EIO.
 *
 * Message "seal" (dmsetup message NAME 0 seal): new bios wait, the ones in
 * flight complete, the disk's cache is flushed, the tail then the head
 * are written with FUA (the first physical block last) and read back: as
 * COMMIT, with the same erase after a failed seal. Returns 0 once SEALED;
 * then the staged device passes everything through; it keeps the disk
 * claimed until it is removed (re-read the disk's partition table after
 * that). The staged device must be closed by everyone (its page cache is
 * written back at its last close: unmount file systems, remove partition
 * mappings first) and not suspended, or writes held above the target
 * could land after the seal. Errors: EINVAL (any other message), EBADFD
 * (sealed, or being sealed), EBUSY (the staged device is open or
 * suspended; another device-mapper device holds the disk), the stage's
 * first error (FAILED), EINTR (a fatal signal while waiting for I/O;
 * still staged), or the seal's errno (FAILED or UNCLEAN, as for COMMIT).
 *
 * Removing the device without a seal ends the stage ABORTED: the head and
 * the tail of the disk stay zero. So does a reboot.
 *
 * Status (dmsetup status): "<state> <session id> <bytes submitted>
 * <bytes completed> <errno> <error sector|-> <cleanup flags> <cleanup
 * errno> <cleanup sector|->", with <state> one of staged (no write yet),
 * writing, sealing, sealed, failed, unclean, aborted. Table status:
 * "<MAJ:MIN of the disk> <head sectors>". A staged disk is a session of
 * kind BOOTSEAL_KIND_STAGED for netlink: the same states and events, with
 * BOOTSEAL_A_STAGED_NAME; bytes submitted counts every byte written to the
 * staged device, bytes completed the bytes on the disk (the head and the
 * tail once sealed).
 *
 * GENERIC NETLINK
 * ---------------
 *
 * Family BOOTSEAL_GENL_NAME ("bootseal"), version BOOTSEAL_GENL_VERSION,
 * multicast group BOOTSEAL_GENL_MCGRP_PROGRESS ("progress"). Resolve both by
 * name; numeric ids are assigned by the kernel.
 *
 * BOOTSEAL_CMD_GET (requires CAP_NET_ADMIN)
 *   With NLM_F_DUMP: one BOOTSEAL_CMD_EVENT-shaped message per live session.
 *   Without NLM_F_DUMP: BOOTSEAL_A_SESSION_ID (u64) is required and the reply
 *   describes that session (ENOENT if there is none).
 *   Attributes are checked by a strict policy: unknown attributes, wrong
 *   lengths and a missing session id are rejected with an extended-ACK
 *   message.
 *
 * BOOTSEAL_CMD_EVENT (kernel -> multicast group "progress")
 *   Joining the group requires CAP_NET_ADMIN (in the initial user
 *   namespace), like GET: without it NETLINK_ADD_MEMBERSHIP fails with
 *   EPERM.
 *   Sent on every state change (BOOTSEAL_A_EVENT = BOOTSEAL_EVENT_STATE) and,
 *   at most about ten times a second per session, on progress
 *   (BOOTSEAL_EVENT_PROGRESS). Every message carries:
 *     BOOTSEAL_A_SESSION_ID       u64  session id (unique while loaded, from 1)
 *     BOOTSEAL_A_EVENT            u32  enum bootseal_event
 *     BOOTSEAL_A_STATE            u32  enum bootseal_state
 *     BOOTSEAL_A_DEV_NAME         string  disk name, e.g. "sdb"
 *     BOOTSEAL_A_DEV              u32  dev_t in the new_encode_dev() layout
 *     BOOTSEAL_A_DEV_SIZE         u64  bytes
 *     BOOTSEAL_A_HEAD_LEN         u64  bytes held back
 *     BOOTSEAL_A_BYTES_EXPECTED   u64  bytes userspace announced (0 = unknown)
 *     BOOTSEAL_A_BYTES_SUBMITTED  u64  bytes accepted by WRITE (head included)
 *     BOOTSEAL_A_BYTES_COMPLETED  u64  bytes durably handled: data writes
 *                                      completed, plus the head once sealed
 *     BOOTSEAL_A_PID              u32  tgid of the process that attached
 *     BOOTSEAL_A_KIND             u32  enum bootseal_kind
 *   and for a staged device (BOOTSEAL_KIND_STAGED):
 *     BOOTSEAL_A_STAGED_NAME      string  its device-mapper name
 *   and when the state is FAILED or UNCLEAN:
 *     BOOTSEAL_A_ERRNO            u32  positive errno of the first error
 *     BOOTSEAL_A_ERROR_SECTOR     u64  first 512-byte sector of the failed
 *                                      write request (BOOTSEAL_SECTOR_NONE
 *                                      if none, e.g. a failed flush; the
 *                                      first mismatching sector for a
 *                                      head read-back mismatch)
 *   and when a failed seal had to be erased (see BOOTSEAL_IOC_COMMIT):
 *     BOOTSEAL_A_CLEANUP          u32  BOOTSEAL_CLEANUP_* flags
 *     BOOTSEAL_A_CLEANUP_ERRNO    u32  positive errno of the erase, 0 if it
 *                                      succeeded
 *     BOOTSEAL_A_CLEANUP_SECTOR   u64  first failed or non-zero sector of
 *                                      the erase (BOOTSEAL_SECTOR_NONE)
 *   The FAILED (UNCLEAN) state event is sent once no data write is in
 *   flight any more, so its counters are final, like those of SEALED and
 *   ABORTED.
 *   No kernel pointers are ever sent.
 */
#ifndef _UAPI_LINUX_BOOTSEAL_H
#define _UAPI_LINUX_BOOTSEAL_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define BOOTSEAL_DEVICE_NAME		"bootseal"
#define BOOTSEAL_DEVICE_PATH		"/dev/bootseal"

#define BOOTSEAL_GENL_NAME		"bootseal"
#define BOOTSEAL_GENL_VERSION		1
#define BOOTSEAL_GENL_MCGRP_PROGRESS	"progress"

/* Length of the path buffer in struct bootseal_attach, NUL included. */
#define BOOTSEAL_PATH_MAX		256
/* Largest @length of one BOOTSEAL_IOC_WRITE. */
#define BOOTSEAL_WRITE_MAX		(16U << 20)
/* Length of the disk name buffer in struct bootseal_status, NUL included. */
#define BOOTSEAL_DISK_NAME_LEN		32
/* "No sector": the error has no sector (e.g. a flush failed). */
#define BOOTSEAL_SECTOR_NONE		(~(__u64)0)
/*
 * The tail: the last BOOTSEAL_TAIL_LEN bytes of the device (where a backup
 * GPT lives), zeroed by ATTACH with the head and erased with it after a
 * failed seal; it starts on a logical block boundary, never inside the head.
 */
#define BOOTSEAL_TAIL_LEN		(1U << 20)

/* Length of a staged device's name buffer (device-mapper's DM_NAME_LEN). */
#define BOOTSEAL_STAGED_NAME_LEN	128

/* What a session is (BOOTSEAL_A_KIND). */
enum bootseal_kind {
	BOOTSEAL_KIND_SESSION = 0,	/* an open file description of /dev/bootseal */
	BOOTSEAL_KIND_STAGED = 1,	/* a staged device (device-mapper target "bootseal") */
};

enum bootseal_state {
	BOOTSEAL_STATE_NONE = 0,	/* open, not attached */
	BOOTSEAL_STATE_ATTACHED,	/* device claimed */
	BOOTSEAL_STATE_INVALIDATED,	/* head and tail zeroed, durable */
	BOOTSEAL_STATE_WRITING,		/* first WRITE accepted */
	BOOTSEAL_STATE_FLUSHING,	/* COMMIT: data done, cache flush */
	BOOTSEAL_STATE_SEALING,		/* COMMIT: head write + read-back */
	BOOTSEAL_STATE_SEALED,		/* final: complete and durable */
	BOOTSEAL_STATE_FAILED,		/* final: an error; no partition table of the image */
	BOOTSEAL_STATE_ABORTED,		/* final: closed/aborted; head zero */
	/* final: a seal failed and erasing it failed too: the device may show a partition table */
	BOOTSEAL_STATE_UNCLEAN,
	__BOOTSEAL_STATE_LAST
};
#define BOOTSEAL_STATE_MAX (__BOOTSEAL_STATE_LAST - 1)

/*
 * What a failed seal erased (struct bootseal_status.cleanup,
 * BOOTSEAL_A_CLEANUP). 0: nothing needed erasing (no head write issued).
 */
enum bootseal_cleanup_flag {
	BOOTSEAL_CLEANUP_RAN	= 1U << 0,	/* the head and the tail were rewritten with zeros */
	BOOTSEAL_CLEANUP_HEAD	= 1U << 1,	/* [0, head_len) reads back as zeros */
	BOOTSEAL_CLEANUP_TAIL	= 1U << 2,	/* the last MiB reads back as zeros */
};

/* BOOTSEAL_IOC_ATTACH flags. No flag is defined yet; any bit is EINVAL. */
enum bootseal_attach_flag {
	__BOOTSEAL_ATTACH_F_ALL = 0
};

struct bootseal_attach {
	char  path[BOOTSEAL_PATH_MAX];	/* in: whole-disk device, NUL-terminated */
	__u64 head_len;			/* in: bytes held back (multiple of the logical block size) */
	__u64 total_bytes;		/* in: bytes userspace will write (progress; 0 = unknown) */
	__u32 flags;			/* in: BOOTSEAL_ATTACH_F_*, must be 0 today */
	__u32 reserved0;		/* in: must be 0 */
	__u64 session_id;		/* out: id used in netlink events */
	__u64 dev_size;			/* out: device size, bytes */
	__u32 logical_block_size;	/* out: bytes */
	__u32 physical_block_size;	/* out: bytes */
	__u32 dev;			/* out: dev_t, new_encode_dev() layout */
	__u32 max_head_len;		/* out: module parameter max_head_len, bytes */
	__u64 reserved[4];		/* in: must be 0 */
};

/* BOOTSEAL_IOC_WRITE flags. */
enum bootseal_write_flag {
	BOOTSEAL_WRITE_F_PIN = 1U << 0,	/* write from @buf's pages, no copy */
	__BOOTSEAL_WRITE_F_ALL = BOOTSEAL_WRITE_F_PIN
};

struct bootseal_write {
	__u64 offset;			/* device byte offset, multiple of the logical block size */
	__u64 length;			/* bytes, multiple of the logical block size, <= BOOTSEAL_WRITE_MAX */
	__u64 buf;			/* user address of @length readable bytes */
	__u32 flags;			/* BOOTSEAL_WRITE_F_* */
	__u32 reserved;			/* must be 0 */
};

struct bootseal_status {
	__u64 session_id;		/* 0 when not attached */
	__u32 state;			/* enum bootseal_state */
	__s32 error;			/* positive errno of the first error, 0 if none */
	__u64 error_sector;		/* 512-byte sector of the first failed I/O, or BOOTSEAL_SECTOR_NONE */
	__u64 bytes_expected;		/* as announced at ATTACH */
	__u64 bytes_submitted;		/* accepted by WRITE, head included */
	__u64 bytes_completed;		/* completed data writes (+ head once sealed) */
	__u64 head_len;			/* bytes */
	__u64 dev_size;			/* bytes */
	__u32 dev;			/* dev_t, new_encode_dev() layout */
	__u32 cleanup;			/* BOOTSEAL_CLEANUP_*: a failed seal was erased */
	char  disk_name[BOOTSEAL_DISK_NAME_LEN];	/* e.g. "sdb" */
	__s32 cleanup_error;		/* positive errno of the erase, 0 if none */
	__u32 reserved1;
	__u64 cleanup_sector;		/* its 512-byte sector, or BOOTSEAL_SECTOR_NONE */
	__u64 reserved[2];
};

#define BOOTSEAL_IOC_MAGIC	0xB5
#define BOOTSEAL_IOC_ATTACH	_IOWR(BOOTSEAL_IOC_MAGIC, 1, struct bootseal_attach)
#define BOOTSEAL_IOC_WRITE	_IOW(BOOTSEAL_IOC_MAGIC, 2, struct bootseal_write)
#define BOOTSEAL_IOC_COMMIT	_IO(BOOTSEAL_IOC_MAGIC, 3)
#define BOOTSEAL_IOC_ABORT	_IO(BOOTSEAL_IOC_MAGIC, 4)
#define BOOTSEAL_IOC_STATUS	_IOR(BOOTSEAL_IOC_MAGIC, 5, struct bootseal_status)

enum bootseal_cmd {
	BOOTSEAL_CMD_UNSPEC = 0,
	BOOTSEAL_CMD_GET,		/* dump live sessions, or one by id */
	BOOTSEAL_CMD_EVENT,		/* multicast notification, and GET replies */
	__BOOTSEAL_CMD_LAST
};
#define BOOTSEAL_CMD_MAX (__BOOTSEAL_CMD_LAST - 1)

enum bootseal_event {
	BOOTSEAL_EVENT_UNSPEC = 0,
	BOOTSEAL_EVENT_STATE,		/* the state changed */
	BOOTSEAL_EVENT_PROGRESS,	/* counters moved (rate-limited) */
	BOOTSEAL_EVENT_DUMP,		/* reply to BOOTSEAL_CMD_GET */
	__BOOTSEAL_EVENT_LAST
};
#define BOOTSEAL_EVENT_MAX (__BOOTSEAL_EVENT_LAST - 1)

enum bootseal_attr {
	BOOTSEAL_A_UNSPEC = 0,
	BOOTSEAL_A_PAD,			/* alignment padding for u64 attributes */
	BOOTSEAL_A_SESSION_ID,		/* u64 */
	BOOTSEAL_A_EVENT,		/* u32, enum bootseal_event */
	BOOTSEAL_A_STATE,		/* u32, enum bootseal_state */
	BOOTSEAL_A_DEV_NAME,		/* NUL-terminated string */
	BOOTSEAL_A_DEV,			/* u32, new_encode_dev() */
	BOOTSEAL_A_DEV_SIZE,		/* u64, bytes */
	BOOTSEAL_A_HEAD_LEN,		/* u64, bytes */
	BOOTSEAL_A_BYTES_EXPECTED,	/* u64, bytes */
	BOOTSEAL_A_BYTES_SUBMITTED,	/* u64, bytes */
	BOOTSEAL_A_BYTES_COMPLETED,	/* u64, bytes */
	BOOTSEAL_A_ERRNO,		/* u32, positive errno */
	BOOTSEAL_A_ERROR_SECTOR,	/* u64, 512-byte sector */
	BOOTSEAL_A_PID,			/* u32, tgid of the attaching process */
	BOOTSEAL_A_CLEANUP,		/* u32, BOOTSEAL_CLEANUP_* */
	BOOTSEAL_A_CLEANUP_ERRNO,	/* u32, positive errno of the erase, 0 if none */
	BOOTSEAL_A_CLEANUP_SECTOR,	/* u64, 512-byte sector */
	BOOTSEAL_A_KIND,		/* u32, enum bootseal_kind */
	BOOTSEAL_A_STAGED_NAME,		/* NUL-terminated string, stages only */
	__BOOTSEAL_A_LAST
};
#define BOOTSEAL_A_MAX (__BOOTSEAL_A_LAST - 1)

#endif /* _UAPI_LINUX_BOOTSEAL_H */

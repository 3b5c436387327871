/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Progress display for flash and verify: one live bar per target on a
 * terminal (phase, percent, MB/s, ETA), plain lines on phase changes
 * otherwise, or one JSON object per line (--json).
 *
 * Worker threads only store into a target's atomic fields
 * (bs_progress_phase/_add/_fail); the main thread owns all output: it calls
 * bs_progress_tick() in a loop, which also receives the module's netlink
 * events (nl.h) and applies them to the target whose session they name.
 */
#ifndef BOOTSEAL_PROGRESS_H
#define BOOTSEAL_PROGRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The rate is measured over a window of seconds, not ticks: progress
 * arrives in bursts (netlink events, STATUS after each 4 MiB write), and a
 * rate over the last fraction of a second jumps with them.
 */
#define BS_RATE_WINDOW	5.0 /* seconds */
#define BS_RATE_SAMPLES 24  /* one per BS_RATE_WINDOW / 20 seconds at most */
/* Plain mode (no terminal): one progress line per target this often. */
#define BS_PLAIN_INTERVAL 5.0 /* seconds */

enum bs_phase {
	BS_PH_WAITING = 0,
	BS_PH_ATTACHING,
	BS_PH_WRITING,
	BS_PH_FLUSHING,
	BS_PH_SEALING,
	BS_PH_SEALED, /* written and sealed, verification pending */
	BS_PH_VERIFYING,
	BS_PH_DONE,   /* final: success */
	BS_PH_FAILED, /* final: see status/error */
	BS_PH__COUNT
};

/* QUIET: errors only (--quiet); the summary is printed by the caller */
enum bs_progress_mode { BS_PROGRESS_TTY, BS_PROGRESS_PLAIN, BS_PROGRESS_JSON, BS_PROGRESS_QUIET };

struct bs_ptarget {
	char label[96];		     /* what the user named: /dev/sdb (usb:1-1.2) */
	char path[64];		     /* /dev/sdb */
	char dev_name[32];	     /* sdb: matches netlink events */
	_Atomic uint64_t session_id; /* 0 until attached */
	_Atomic int phase;	     /* enum bs_phase */
	_Atomic uint64_t done;	     /* bytes of the current phase */
	_Atomic uint64_t total;	     /* bytes of the current phase, 0 = unknown */
	int status;		     /* enum bs_exit, set before phase FAILED */
	char error[512];	     /* set before phase FAILED */
	/* main thread only */
	int shown_phase;
	bool error_shown;
	double phase_t0;		  /* when the shown phase started */
	double rate;			  /* bytes/s over the last BS_RATE_WINDOW seconds */
	double rate_t[BS_RATE_SAMPLES];	  /* samples (time, done) of the current phase */
	uint64_t rate_d[BS_RATE_SAMPLES]; /* ring: oldest at rate_first */
	unsigned int rate_first, rate_n;
	double json_t;	/* last JSON progress line */
	double plain_t; /* last plain progress line */
	/* set by the worker with the phase: a verify pass of about as many bytes follows */
	_Atomic bool verify_next;
	/* set by the worker before it stores the next phase */
	double write_secs, verify_secs; /* duration of the write (to SEALED) and verify phases */
	uint64_t written;		/* bytes handed to the module */
};

struct bs_nl;

struct bs_progress {
	enum bs_progress_mode mode;
	FILE *out; /* stderr for bars/lines, stdout for JSON */
	struct bs_ptarget *t;
	size_t n;
	struct bs_nl *nl; /* NULL: no netlink (fall back to STATUS) */
	int lines;	  /* bar lines currently on screen */
	double last_draw;
	double plain_interval; /* seconds between plain progress lines (BS_PLAIN_INTERVAL) */
	/*
	 * Optional: a signal number stored by a handler (0 = none). Once it is
	 * set, the running phase is abandoned: the write and verify loops cancel
	 * their pump and every worker stops at its next step.
	 */
	_Atomic int *stop;
	/* Optional: fraction [0,1] of the image read, when sizes are unknown. */
	double (*fraction)(void *arg);
	void *fraction_arg;
};

/* Seconds from a monotonic clock. */
double bs_now(void);

/* Mode from --json, --quiet and whether stderr is a terminal. */
enum bs_progress_mode bs_progress_pick_mode(bool json, bool quiet);

void bs_progress_init(struct bs_progress *p, enum bs_progress_mode mode, struct bs_ptarget *t,
		      size_t n);
/* Subscribe to the module's events; quietly does nothing when unavailable. */
void bs_progress_listen(struct bs_progress *p);
void bs_progress_close(struct bs_progress *p);

/* Worker side (any thread). */
void bs_progress_phase(struct bs_ptarget *t, enum bs_phase ph, uint64_t total);
void bs_progress_set_done(struct bs_ptarget *t, uint64_t done); /* monotonic max */
void bs_progress_fail(struct bs_ptarget *t, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool bs_progress_final(const struct bs_ptarget *t);

/* Main thread: wait up to @ms for events, apply them, redraw as needed. */
void bs_progress_tick(struct bs_progress *p, int ms);
/* Main thread: print errors and phase changes only, never bars (before a prompt). */
void bs_progress_report(struct bs_progress *p);
/* Main thread: final redraw (bars stay on screen). */
void bs_progress_flush(struct bs_progress *p);

/*
 * Rate and ETA, exposed for tests. bs_rate_sample() records @t's progress
 * at @now (seconds) and updates t->rate: bytes per second over the last
 * BS_RATE_WINDOW seconds of the current phase. bs_job_eta() is the time
 * left for the whole job of @t, not just the current phase: the rest of
 * the write and, when t->verify_next says one follows, the verify pass
 * (at the same rate until it is measured); -1 when unknown. @fraction is
 * the current phase's, used when the byte total is unknown.
 */
void bs_rate_sample(struct bs_ptarget *t, double now);
void bs_rate_reset(struct bs_ptarget *t, double now);
double bs_job_eta(const struct bs_ptarget *t, int phase, double fraction, double now);

/*
 * One plain progress line (no terminal): "HH:MM:SS <label> <phase> <pct>%
 * <done> of <total> <rate> ETA <eta>" (what is unknown is left out).
 */
int bs_fmt_plain(char *buf, size_t len, double wall, const char *label, int phase, double fraction,
		 uint64_t done, uint64_t total, double rate, double eta);

/* Formatting, exposed for tests. */
const char *bs_phase_name(int phase);
void bs_fmt_bytes(uint64_t bytes, char *buf, size_t len);    /* "12.3 MB" */
void bs_fmt_rate(double bytes_per_s, char *buf, size_t len); /* "21.3 MB/s" */
void bs_fmt_eta(double secs, char *buf, size_t len);	     /* "0:42", "1:02:03", "--:--" */
/*
 * One bar line: "<label> <phase> <pct>% [#####.....] <rate> ETA <eta>".
 * @fraction < 0: unknown (no percent, no ETA). Returns the snprintf length.
 */
int bs_fmt_bar(char *buf, size_t len, const char *label, int phase, double fraction, uint64_t done,
	       double rate, double eta, int width);

#endif /* BOOTSEAL_PROGRESS_H */

// SPDX-License-Identifier: GPL-2.0
/* Progress display: bars on a terminal, plain lines, or JSON lines. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "json.h"
#include "nl.h"
#include "progress.h"

/*
 * The netlink client is optional for progress: without it (or without the
 * module's family) the writers' STATUS polling drives the bars.
 */

static const char *const phase_names[BS_PH__COUNT] = {
	[BS_PH_WAITING] = "waiting",	 [BS_PH_ATTACHING] = "attaching",
	[BS_PH_WRITING] = "writing",	 [BS_PH_FLUSHING] = "flushing",
	[BS_PH_SEALING] = "sealing",	 [BS_PH_SEALED] = "sealed",
	[BS_PH_VERIFYING] = "verifying", [BS_PH_DONE] = "done",
	[BS_PH_FAILED] = "failed",
};

double bs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *bs_phase_name(int phase)
{
	if (phase < 0 || phase >= BS_PH__COUNT)
		return "unknown";
	return phase_names[phase];
}

void bs_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void bs_fmt_rate(double bps, char *buf, size_t len)
{
	if (!isfinite(bps) || bps < 0)
		bps = 0;
	snprintf(buf, len, "%.1f MB/s", bps / 1e6);
}

void bs_fmt_eta(double secs, char *buf, size_t len)
{
	unsigned long s;

	if (!isfinite(secs) || secs < 0 || secs > 99 * 3600.0) {
		snprintf(buf, len, "--:--");
		return;
	}
	s = (unsigned long)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

int bs_fmt_bar(char *buf, size_t len, const char *label, int phase, double fraction, uint64_t done,
	       double rate, double eta, int width)
{
	char bar[64], rs[32], es[32], ds[32];
	int fill, i;

	if (width < 0)
		width = 0;
	if (width > (int)sizeof(bar) - 1)
		width = sizeof(bar) - 1;
	bs_fmt_rate(rate, rs, sizeof(rs));
	if (fraction < 0 || !isfinite(fraction)) {
		bs_fmt_bytes(done, ds, sizeof(ds));
		return snprintf(buf, len, "%-16s %-9s %10s %10s", label, bs_phase_name(phase), ds,
				rs);
	}
	if (fraction > 1)
		fraction = 1;
	fill = (int)(fraction * width);
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	if (rate <= 0 && eta < 0) /* not moving: no rate, no ETA */
		return snprintf(buf, len, "%-16s %-9s %3d%% [%s]", label, bs_phase_name(phase),
				(int)(fraction * 100), bar);
	bs_fmt_eta(eta, es, sizeof(es));
	return snprintf(buf, len, "%-16s %-9s %3d%% [%s] %10s ETA %s", label, bs_phase_name(phase),
			(int)(fraction * 100), bar, rs, es);
}

enum bs_progress_mode bs_progress_pick_mode(bool json, bool quiet)
{
	if (json)
		return BS_PROGRESS_JSON;
	if (quiet)
		return BS_PROGRESS_QUIET;
	return isatty(STDERR_FILENO) ? BS_PROGRESS_TTY : BS_PROGRESS_PLAIN;
}

void bs_progress_init(struct bs_progress *p, enum bs_progress_mode mode, struct bs_ptarget *t,
		      size_t n)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->out = mode == BS_PROGRESS_JSON ? stdout : stderr;
	p->t = t;
	p->n = n;
	p->plain_interval = BS_PLAIN_INTERVAL;
	for (i = 0; i < n; i++) {
		t[i].shown_phase = -1;
		t[i].phase_t0 = bs_now();
		bs_rate_reset(&t[i], t[i].phase_t0);
	}
}

void bs_progress_listen(struct bs_progress *p)
{
	char err[256];

	if (p->nl)
		return;
	p->nl = bs_nl_open(true, err, sizeof(err));
}

void bs_progress_close(struct bs_progress *p)
{
	if (p->nl)
		bs_nl_close(p->nl);
	p->nl = NULL;
}

void bs_progress_phase(struct bs_ptarget *t, enum bs_phase ph, uint64_t total)
{
	atomic_store(&t->total, total);
	atomic_store(&t->done, 0);
	atomic_store(&t->phase, ph);
}

void bs_progress_set_done(struct bs_ptarget *t, uint64_t done)
{
	uint64_t cur = atomic_load(&t->done);

	while (cur < done && !atomic_compare_exchange_weak(&t->done, &cur, done))
		;
}

void bs_progress_fail(struct bs_ptarget *t, int status, const char *fmt, ...)
{
	va_list ap;

	if (bs_progress_final(t))
		return;
	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	t->status = status;
	atomic_store(&t->phase, BS_PH_FAILED);
}

bool bs_progress_final(const struct bs_ptarget *t)
{
	int ph = atomic_load(&t->phase);

	return ph == BS_PH_DONE || ph == BS_PH_FAILED;
}

/* Netlink: advance WRITING -> FLUSHING -> SEALING and take the counters. */
static void on_event(const struct bs_event *ev, void *arg)
{
	struct bs_progress *p = arg;
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct bs_ptarget *t = &p->t[i];
		int ph, want = -1;

		if (!ev->session_id || atomic_load(&t->session_id) != ev->session_id)
			continue;
		ph = atomic_load(&t->phase);
		if (ev->state == BOOTSEAL_STATE_FLUSHING)
			want = BS_PH_FLUSHING;
		else if (ev->state == BOOTSEAL_STATE_SEALING)
			want = BS_PH_SEALING;
		if (ph == BS_PH_WRITING || ph == BS_PH_FLUSHING) {
			if (want > ph)
				atomic_compare_exchange_strong(&t->phase, &ph, want);
			else if (ph == BS_PH_WRITING)
				bs_progress_set_done(t, ev->bytes_completed);
		}
	}
}

static double target_fraction(struct bs_progress *p, struct bs_ptarget *t, int ph)
{
	uint64_t total = atomic_load(&t->total), done = atomic_load(&t->done);

	if (ph == BS_PH_DONE || ph == BS_PH_SEALED)
		return 1.0;
	if (ph != BS_PH_WRITING && ph != BS_PH_VERIFYING)
		return -1;
	if (total)
		return (double)done / (double)total;
	if (p->fraction)
		return p->fraction(p->fraction_arg);
	return -1;
}

void bs_rate_reset(struct bs_ptarget *t, double now)
{
	t->rate = 0;
	t->rate_first = 0;
	t->rate_n = 1;
	t->rate_t[0] = now;
	t->rate_d[0] = atomic_load(&t->done);
}

void bs_rate_sample(struct bs_ptarget *t, double now)
{
	uint64_t done = atomic_load(&t->done);
	unsigned int last, oldest, k;
	double dt;

	if (!t->rate_n || done < t->rate_d[(t->rate_first + t->rate_n - 1) % BS_RATE_SAMPLES]) {
		bs_rate_reset(t, now); /* a new phase restarted the counter */
		return;
	}
	last = (t->rate_first + t->rate_n - 1) % BS_RATE_SAMPLES;
	if (now - t->rate_t[last] < BS_RATE_WINDOW / (BS_RATE_SAMPLES - 4))
		return; /* sampled a moment ago */
	/* keep one sample older than the window, drop the rest of the old ones */
	while (t->rate_n > 1 &&
	       now - t->rate_t[(t->rate_first + 1) % BS_RATE_SAMPLES] >= BS_RATE_WINDOW) {
		t->rate_first = (t->rate_first + 1) % BS_RATE_SAMPLES;
		t->rate_n--;
	}
	if (t->rate_n == BS_RATE_SAMPLES) {
		t->rate_first = (t->rate_first + 1) % BS_RATE_SAMPLES;
		t->rate_n--;
	}
	k = (t->rate_first + t->rate_n) % BS_RATE_SAMPLES;
	t->rate_t[k] = now;
	t->rate_d[k] = done;
	t->rate_n++;
	oldest = t->rate_first;
	dt = now - t->rate_t[oldest];
	/* under a second of history says little: wait for more */
	if (dt >= 1.0)
		t->rate = (double)(done - t->rate_d[oldest]) / dt;
}

double bs_job_eta(const struct bs_ptarget *t, int phase, double fraction, double now)
{
	uint64_t total = atomic_load(&t->total), done = atomic_load(&t->done);
	bool more = phase == BS_PH_WRITING && atomic_load(&t->verify_next);
	double el = now - t->phase_t0, rest;

	if (phase != BS_PH_WRITING && phase != BS_PH_VERIFYING)
		return -1;
	if (total && t->rate > 0) {
		rest = (double)(total - (done < total ? done : total)) / t->rate;
		if (more)
			rest += (double)total / t->rate;
		return rest;
	}
	if (fraction <= 0.001 || fraction > 1 || el <= 0)
		return -1;
	rest = el / fraction - el;
	if (more)
		rest += el / fraction; /* the verify pass, as long as the write */
	return rest;
}

int bs_fmt_plain(char *buf, size_t len, double wall, const char *label, int phase, double fraction,
		 uint64_t done, uint64_t total, double rate, double eta)
{
	char ts[32] = "", ds[32], tots[48] = "", rs[32], es[32], pct[8] = "";
	time_t w = (time_t)wall;
	struct tm tm;

	if (localtime_r(&w, &tm))
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	bs_fmt_bytes(done, ds, sizeof(ds));
	if (total) {
		char t2[32];

		bs_fmt_bytes(total, t2, sizeof(t2));
		snprintf(tots, sizeof(tots), " of %s", t2);
	}
	if (fraction >= 0 && isfinite(fraction))
		snprintf(pct, sizeof(pct), " %d%%", (int)((fraction > 1 ? 1 : fraction) * 100));
	bs_fmt_rate(rate, rs, sizeof(rs));
	bs_fmt_eta(eta, es, sizeof(es));
	return snprintf(buf, len, "%s %s: %s%s %s%s, %s, ETA %s", ts, label, bs_phase_name(phase),
			pct, ds, tots, rate > 0 ? rs : "-- MB/s", es);
}

static void json_target(struct bs_json *j, const char *type, struct bs_ptarget *t, int ph)
{
	bs_json_begin(j);
	bs_json_str(j, "type", type);
	bs_json_str(j, "target", t->path);
	bs_json_str(j, "phase", bs_phase_name(ph));
	if (atomic_load(&t->session_id))
		bs_json_uint(j, "session", atomic_load(&t->session_id));
	bs_json_uint(j, "bytes", atomic_load(&t->done));
	bs_json_uint(j, "total", atomic_load(&t->total));
}

/* Phase changes and errors, as lines (plain, JSON) or above the bars (TTY). */
static void report_changes(struct bs_progress *p, double now)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct bs_ptarget *t = &p->t[i];
		int ph = atomic_load(&t->phase);

		if (ph == t->shown_phase)
			continue;
		t->shown_phase = ph;
		t->phase_t0 = now;
		t->plain_t = now;
		bs_rate_reset(t, now);
		if (p->mode == BS_PROGRESS_JSON) {
			struct bs_json j;

			json_target(&j, ph == BS_PH_FAILED ? "error" : "phase", t, ph);
			if (ph == BS_PH_FAILED) {
				bs_json_str(&j, "message", t->error);
				bs_json_int(&j, "exit", t->status);
			}
			bs_json_print(&j, stdout);
		} else if (ph == BS_PH_FAILED) {
			if (!t->error_shown)
				fprintf(p->out, "%s: %s\n", bs_prog, t->error);
			t->error_shown = true;
		} else if (p->mode == BS_PROGRESS_PLAIN && ph != BS_PH_WAITING) {
			fprintf(p->out, "%s: %s\n", t->path, bs_phase_name(ph));
		}
	}
}

static void draw_bars(struct bs_progress *p, double now)
{
	char line[256];
	size_t i;

	if (p->lines)
		fprintf(p->out, "\033[%dA", p->lines);
	for (i = 0; i < p->n; i++) {
		struct bs_ptarget *t = &p->t[i];
		int ph = atomic_load(&t->phase);
		double f = target_fraction(p, t, ph);
		bool moving = ph == BS_PH_WRITING || ph == BS_PH_VERIFYING;

		bs_fmt_bar(line, sizeof(line), t->path, ph, f, atomic_load(&t->done),
			   moving ? t->rate : 0, moving ? bs_job_eta(t, ph, f, now) : -1, 24);
		fprintf(p->out, "\r\033[K%s\n", line);
	}
	p->lines = (int)p->n;
	fflush(p->out);
}

static void json_progress(struct bs_progress *p, double now)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct bs_ptarget *t = &p->t[i];
		int ph = atomic_load(&t->phase);
		struct bs_json j;
		double f;

		if ((ph != BS_PH_WRITING && ph != BS_PH_VERIFYING) || now - t->json_t < 1.0)
			continue;
		t->json_t = now;
		f = target_fraction(p, t, ph);
		json_target(&j, "progress", t, ph);
		bs_json_double(&j, "rate", t->rate, 0);
		if (f >= 0)
			bs_json_double(&j, "fraction", f, 4);
		if (bs_job_eta(t, ph, f, now) >= 0)
			bs_json_double(&j, "eta", bs_job_eta(t, ph, f, now), 0);
		bs_json_print(&j, stdout);
	}
}

/* No terminal: a progress line per moving target every plain_interval seconds. */
static void plain_progress(struct bs_progress *p, double now)
{
	struct timespec ts;
	char line[256];
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct bs_ptarget *t = &p->t[i];
		int ph = atomic_load(&t->phase);
		double f;

		if ((ph != BS_PH_WRITING && ph != BS_PH_VERIFYING) ||
		    now - t->plain_t < p->plain_interval || ph != t->shown_phase)
			continue;
		t->plain_t = now;
		f = target_fraction(p, t, ph);
		clock_gettime(CLOCK_REALTIME, &ts);
		bs_fmt_plain(line, sizeof(line), (double)ts.tv_sec, t->path, ph, f,
			     atomic_load(&t->done), atomic_load(&t->total), t->rate,
			     bs_job_eta(t, ph, f, now));
		fprintf(p->out, "%s\n", line);
	}
}

static void render(struct bs_progress *p, bool force)
{
	double now = bs_now();
	size_t i;

	for (i = 0; i < p->n; i++)
		bs_rate_sample(&p->t[i], now);
	if (p->mode == BS_PROGRESS_TTY && p->lines) {
		/* errors print above the bars: clear the bars first */
		for (i = 0; i < p->n; i++)
			if (atomic_load(&p->t[i].phase) != p->t[i].shown_phase)
				break;
		if (i < p->n) {
			fprintf(p->out, "\033[%dA\033[J", p->lines);
			p->lines = 0;
			force = true;
		}
	}
	report_changes(p, now);
	if (p->mode == BS_PROGRESS_JSON)
		json_progress(p, now);
	else if (p->mode == BS_PROGRESS_PLAIN)
		plain_progress(p, now);
	else if (p->mode == BS_PROGRESS_TTY && (force || now - p->last_draw >= 0.2)) {
		draw_bars(p, now);
		p->last_draw = now;
	}
	fflush(p->out);
}

void bs_progress_tick(struct bs_progress *p, int ms)
{
	struct pollfd pfd;

	if (p->nl) {
		pfd.fd = bs_nl_fd(p->nl);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) > 0 && bs_nl_recv(p->nl, on_event, p) < 0) {
			/* a broken listener must not stop the flash: fall back to STATUS */
			bs_progress_close(p);
		}
	} else {
		poll(NULL, 0, ms);
	}
	render(p, false);
}

void bs_progress_report(struct bs_progress *p)
{
	report_changes(p, bs_now());
	fflush(p->out);
}

void bs_progress_flush(struct bs_progress *p)
{
	render(p, true);
}

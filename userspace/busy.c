// SPDX-License-Identifier: GPL-2.0
/* Who holds a drive (busy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busy.h"
#include "module/uapi/bootseal.h"

struct collect {
	struct bs_event *ev;
	size_t n, cap;
};

static void collect(const struct bs_event *ev, void *arg)
{
	struct collect *c = arg;
	struct bs_event *na;

	if (bs_state_final(ev->state))
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		na = realloc(c->ev, c->cap * sizeof(*na));
		if (!na)
			return;
		c->ev = na;
	}
	c->ev[c->n++] = *ev;
}

int bs_sessions(struct bs_event **out, size_t *n)
{
	struct collect c = {0};
	char err[256];
	struct bs_nl *nl = bs_nl_open(false, err, sizeof(err));

	*out = NULL;
	*n = 0;
	if (!nl)
		return -1;
	if (bs_nl_dump(nl, collect, &c)) {
		bs_nl_close(nl);
		free(c.ev);
		return -1;
	}
	bs_nl_close(nl);
	*out = c.ev;
	*n = c.n;
	return 0;
}

const struct bs_event *bs_session_on(const struct bs_event *sessions, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(sessions[i].dev_name, name))
			return &sessions[i];
	return NULL;
}

void bs_busy_describe(const struct bs_drive *d, const struct bs_event *s, const char *comm,
		      const char *holder_name, char *buf, size_t len)
{
	if (s && s->kind == BOOTSEAL_KIND_STAGED) {
		snprintf(buf, len,
			 "it is staged as /dev/mapper/%s (%s; 'bootseal seal %s' or 'bootseal "
			 "unstage %s' ends that)",
			 s->staged_name, bs_state_name(s->state), s->staged_name, s->staged_name);
	} else if (s) {
		char who[64] = "";

		if (comm && *comm)
			snprintf(who, sizeof(who), " (%s)", comm);
		snprintf(buf, len,
			 "another bootseal flash is %s it: session %llu, started by pid %u%s",
			 bs_state_name(s->state), (unsigned long long)s->session_id, s->pid, who);
	} else if (d->nr_mounts) {
		snprintf(buf, len, "%s is mounted on %s (use --unmount)", d->mounts[0].source,
			 d->mounts[0].target);
	} else if (d->holds_swap) {
		snprintf(buf, len, "it holds active swap (swapoff it first)");
	} else if (d->holders) {
		snprintf(buf, len, "it is held by %s%s%s%s (%s; see lsblk %s)", d->holder,
			 holder_name ? " (" : "", holder_name ? holder_name : "",
			 holder_name ? ")" : "",
			 !strncmp(d->holder, "md", 2) ? "RAID" : "device-mapper", d->path);
	} else {
		snprintf(buf, len,
			 "another program has it open exclusively (a partitioning tool, a file "
			 "system being made, another flasher; 'fuser -v %s' names it)",
			 d->path);
	}
}

/* The first line of a small sysfs or procfs file into @buf; "" when unreadable. */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void bs_busy_reason(const char *path, char *buf, size_t len)
{
	struct bs_event *ev = NULL;
	const struct bs_event *s = NULL;
	char err[256], comm[32] = "", hname[128] = "", p[160];
	struct bs_drive *d = calloc(1, sizeof(*d));
	size_t n = 0;

	if (!d || bs_drive_probe(path, d, err, sizeof(err))) {
		snprintf(buf, len, "device is busy");
		free(d);
		return;
	}
	if (!bs_sessions(&ev, &n))
		s = bs_session_on(ev, n, d->name);
	if (s && s->pid) {
		snprintf(p, sizeof(p), "/proc/%u/comm", s->pid);
		read_line(p, comm, sizeof(comm));
	}
	if (d->holders) {
		snprintf(p, sizeof(p), "/sys/class/block/%.31s/dm/name", d->holder);
		read_line(p, hname, sizeof(hname));
	}
	bs_busy_describe(d, s, comm, hname[0] ? hname : NULL, buf, len);
	free(ev);
	free(d);
}

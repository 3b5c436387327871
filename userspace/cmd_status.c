// SPDX-License-Identifier: GPL-2.0
/* bootseal status: the live sessions, from a generic netlink GET dump. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "json.h"
#include "nl.h"
#include "opts.h"

struct status_opts {
	bool json;
	uint64_t session; /* 0: all */
};

static const struct bs_opt status_opts[] = {
	BS_OPT_JSON(struct status_opts, json, "One JSON object per session and line"),
	BS_OPT_SESSION(struct status_opts, session,
		       "Only session ID (an error if it does not exist)"),
};

const struct bs_optset bs_status_optset = BS_OPTSET("status", status_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s status [--json] [--session ID]\n"
		"\n"
		"Show every live flashing session (whoever started it): id, device, state,\n"
		"progress and bytes written. Requires root (CAP_NET_ADMIN).\n",
		bs_prog);
	bs_opts_help(f, &bs_status_optset);
}

struct sessions {
	struct bs_event *ev;
	size_t n, cap;
	bool oom;
};

static void collect(const struct bs_event *ev, void *arg)
{
	struct sessions *s = arg;
	struct bs_event *na;

	if (s->oom)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		na = reallocarray(s->ev, s->cap, sizeof(*na));
		if (!na) {
			s->oom = true;
			return;
		}
		s->ev = na;
	}
	s->ev[s->n++] = *ev;
}

static int by_id(const void *a, const void *b)
{
	const struct bs_event *x = a, *y = b;

	return x->session_id < y->session_id ? -1 : x->session_id > y->session_id;
}

static int print_session(const struct bs_event *ev, bool json)
{
	struct bs_json j;
	char line[512];

	if (json) {
		bs_json_begin(&j);
		bs_json_str(&j, "type", "session");
		bs_event_json(ev, &j);
		return bs_json_print(&j, stdout);
	}
	bs_event_format(ev, line, sizeof(line));
	if (ev->pid)
		printf("%s (pid %u)\n", line, ev->pid);
	else
		printf("%s\n", line);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts o = {0};
	struct bs_args a = {0};
	struct sessions s = {0};
	struct bs_nl *nl;
	char err[512];
	int ret;
	size_t i;

	ret = bs_opts_cmd(&bs_status_optset, &o, argc, argv, &a, usage);
	if (ret != BS_OPTS_GO)
		return ret;
	ret = BS_EXIT_OK;

	nl = bs_nl_open(false, err, sizeof(err));
	if (!nl) {
		bs_error("Unable to query the sessions: %s", err);
		return BS_EXIT_FAILURE;
	}
	if (o.session && bs_nl_get(nl, o.session, collect, &s)) {
		bs_error("Unable to query session %llu: %s", (unsigned long long)o.session,
			 bs_nl_error(nl));
		ret = BS_EXIT_FAILURE;
		goto out;
	}
	if (!o.session && bs_nl_dump(nl, collect, &s)) {
		bs_error("Unable to query the sessions: %s", bs_nl_error(nl));
		ret = BS_EXIT_FAILURE;
		goto out;
	}
	if (s.oom) {
		bs_error("Unable to query the sessions: out of memory");
		ret = BS_EXIT_FAILURE;
		goto out;
	}
	if (s.n)
		qsort(s.ev, s.n, sizeof(*s.ev), by_id);
	for (i = 0; i < s.n; i++) {
		if (print_session(&s.ev[i], o.json)) {
			ret = BS_EXIT_FAILURE;
			break;
		}
	}
	if (!s.n && !o.json && !o.session)
		printf("no live sessions\n");
	if (ret == BS_EXIT_OK && fflush(stdout))
		ret = BS_EXIT_FAILURE;
	if (ret != BS_EXIT_OK)
		bs_error("Unable to write the session list: output error");
out:
	free(s.ev);
	bs_nl_close(nl);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/* bootseal status: the live sessions, from a generic netlink GET dump. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootseal.h"
#include "json.h"
#include "nl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s status [--json] [--session ID]\n"
		"\n"
		"Show every live flashing session (whoever started it): id, device, state,\n"
		"progress and bytes written. Requires root (CAP_NET_ADMIN).\n"
		"\n"
		"  -j, --json         one JSON object per session and line\n"
		"  -s, --session ID   only session ID (an error if it does not exist)\n"
		"  -h, --help         show this help\n",
		bs_prog);
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

static int parse_id(const char *str, uint64_t *id)
{
	char *end;

	errno = 0;
	*id = strtoull(str, &end, 10);
	return (errno || end == str || *end || *id == 0 || str[0] == '-') ? -1 : 0;
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
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "session", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sessions s = { 0 };
	struct bs_nl *nl;
	char err[512];
	bool json = false;
	uint64_t id = 0;
	int c, ret = BS_EXIT_OK;
	size_t i;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			if (parse_id(optarg, &id)) {
				bs_error("Unable to parse --session '%s': not a session id", optarg);
				return BS_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return BS_EXIT_OK;
		default:
			return bs_getopt_fail(c, argv, opts);
		}
	}
	if (optind < argc)
		return bs_extra_args(argv);

	nl = bs_nl_open(false, err, sizeof(err));
	if (!nl) {
		bs_error("Unable to query the sessions: %s", err);
		return BS_EXIT_FAILURE;
	}
	if (id && bs_nl_get(nl, id, collect, &s)) {
		bs_error("Unable to query session %llu: %s", (unsigned long long)id, bs_nl_error(nl));
		ret = BS_EXIT_FAILURE;
		goto out;
	}
	if (!id && bs_nl_dump(nl, collect, &s)) {
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
		if (print_session(&s.ev[i], json)) {
			ret = BS_EXIT_FAILURE;
			break;
		}
	}
	if (!s.n && !json && !id)
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

// SPDX-License-Identifier: GPL-2.0
/* bootseal monitor: every event of every session until SIGINT or SIGTERM. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "json.h"
#include "nl.h"
#include "opts.h"

struct mon {
	bool json;
	uint64_t session; /* 0: all */
	bool out_err;
};

static const struct bs_opt monitor_opts[] = {
	BS_OPT_JSON(struct mon, json, "One JSON object per event and line"),
	BS_OPT_SESSION(struct mon, session, "Only events of session ID"),
};

const struct bs_optset bs_monitor_optset = BS_OPTSET("monitor", monitor_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s monitor [--json] [--session ID]\n"
		"\n"
		"Print every state change and progress event of every flashing session\n"
		"(whoever started it) until interrupted (SIGINT or SIGTERM).\n",
		bs_prog);
	bs_opts_help(f, &bs_monitor_optset);
}

static void on_event(const struct bs_event *ev, void *arg)
{
	struct mon *m = arg;
	struct timespec ts;
	struct bs_json j;
	char line[512];

	if (m->session && ev->session_id != m->session)
		return;
	if (m->json) {
		clock_gettime(CLOCK_REALTIME, &ts);
		bs_json_begin(&j);
		bs_json_str(&j, "type", "event");
		bs_json_double(&j, "time", (double)ts.tv_sec + ts.tv_nsec / 1e9, 3);
		bs_event_json(ev, &j);
		if (bs_json_print(&j, stdout))
			m->out_err = true;
		return;
	}
	bs_event_format(ev, line, sizeof(line));
	if (printf("%s\n", line) < 0 || fflush(stdout))
		m->out_err = true;
}

static int run(struct bs_nl *nl, int sfd, struct mon *m)
{
	struct pollfd pfd[2] = {
		{.fd = bs_nl_fd(nl), .events = POLLIN},
		{.fd = sfd, .events = POLLIN},
	};
	unsigned long lost = 0;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			bs_error("Unable to wait for events: %s", strerror(errno));
			return BS_EXIT_FAILURE;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			/* Consume it: it must not fire when the mask is restored. */
			if (read(pfd[1].fd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				bs_warn("Unable to read the signal: %s", strerror(errno));
			return BS_EXIT_OK; /* SIGINT or SIGTERM */
		}
		if (!pfd[0].revents)
			continue;
		if (bs_nl_recv(nl, on_event, m)) {
			bs_error("Unable to receive events: %s", bs_nl_error(nl));
			return BS_EXIT_FAILURE;
		}
		if (m->out_err) {
			bs_error("Unable to write events: output error");
			return BS_EXIT_FAILURE;
		}
		if (bs_nl_lost(nl) != lost) {
			bs_warn("events were lost (receive buffer overflow); "
				"'%s status' shows the current state",
				bs_prog);
			lost = bs_nl_lost(nl);
		}
	}
}

int cmd_monitor(int argc, char **argv)
{
	struct mon m = {0};
	struct bs_args a = {0};
	struct bs_nl *nl;
	sigset_t mask, old;
	char err[512];
	int sfd, ret;

	ret = bs_opts_cmd(&bs_monitor_optset, &m, argc, argv, &a, usage);
	if (ret != BS_OPTS_GO)
		return ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &old)) {
		bs_error("Unable to block signals: %s", strerror(errno));
		return BS_EXIT_FAILURE;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		bs_error("Unable to create a signalfd: %s", strerror(errno));
		ret = BS_EXIT_FAILURE;
		goto out_mask;
	}
	nl = bs_nl_open(true, err, sizeof(err));
	if (!nl) {
		bs_error("Unable to monitor the sessions: %s", err);
		ret = BS_EXIT_FAILURE;
		goto out_sfd;
	}
	if (!m.json && isatty(STDOUT_FILENO))
		fprintf(stderr, "%s: listening for events (Ctrl-C to stop)\n", bs_prog);
	ret = run(nl, sfd, &m);
	bs_nl_close(nl);
out_sfd:
	close(sfd);
out_mask:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * nlwatch: generic netlink test client for the "bootseal" family.
 *
 *   nlwatch listen [--finals N] [--timeout SECONDS]
 *       Subscribes to the "progress" group, prints "listening", then one line
 *       per event in arrival order. Exits 0 once N sessions (default 1)
 *       reached a final state (SEALED, FAILED, ABORTED), 1 on timeout.
 *   nlwatch dump             GET with NLM_F_DUMP: one line per live session
 *   nlwatch get ID           GET of one session
 *   nlwatch bad KIND ERRNAME [TEXT]
 *       Sends a malformed GET and requires that the kernel answers with
 *       errno ERRNAME and an extended-ACK message (containing TEXT if given).
 *       KIND: noid, unknown-attr, unspec-attr, short-id, bad-id,
 *             dump-unknown-attr.
 *
 * Event lines: "<EVENT> id=N state=S dev_name=D dev=N dev_size=N head_len=N
 * expected=N submitted=N completed=N pid=N [errno=N sector=N]
 * [cleanup=FLAGS cleanup_errno=N cleanup_sector=N]".
 * The family and the group are resolved by name with libnl-genl; requests
 * are built by hand so that they can be wrong on purpose.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "client.h"

/* Tools are linked with the helper objects, which print this name. */

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static const char *const event_names[] = {"UNSPEC", "STATE", "PROGRESS", "DUMP"};

static int family_id, group_id;

static int resolve(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "nlwatch: Unable to connect to generic netlink\n");
		return -1;
	}
	family_id = genl_ctrl_resolve(sk, BOOTSEAL_GENL_NAME);
	group_id = genl_ctrl_resolve_grp(sk, BOOTSEAL_GENL_NAME, BOOTSEAL_GENL_MCGRP_PROGRESS);
	ret = family_id < 0 ? family_id : group_id < 0 ? group_id : 0;
	if (ret)
		fprintf(stderr, "nlwatch: Unable to resolve family %s: %s\n", BOOTSEAL_GENL_NAME,
			nl_geterror(ret));
	nl_socket_free(sk);
	return ret;
}

static int raw_socket(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int one = 1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("nlwatch: netlink socket");
		exit(2);
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return fd;
}

static uint64_t get_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	memcpy(&v, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN >= 8 ? 8 : 4);
	return v;
}

static void print_event(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[BOOTSEAL_A_MAX + 1] = {0};
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	uint64_t ev, st;

	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			break;
		if (type <= BOOTSEAL_A_MAX)
			tb[type] = a;
		p += NLA_ALIGN(a->nla_len);
		len -= NLA_ALIGN(a->nla_len);
	}
#define U(x) (tb[x] ? (unsigned long long)get_u64(tb[x]) : 0ULL)
	ev = U(BOOTSEAL_A_EVENT);
	st = U(BOOTSEAL_A_STATE);
	printf("%s id=%llu state=%s dev_name=%s dev=%llu dev_size=%llu head_len=%llu "
	       "expected=%llu submitted=%llu completed=%llu pid=%llu",
	       ev <= BOOTSEAL_EVENT_MAX ? event_names[ev] : "?", U(BOOTSEAL_A_SESSION_ID),
	       bs_client_state_name(st),
	       tb[BOOTSEAL_A_DEV_NAME] ? (const char *)tb[BOOTSEAL_A_DEV_NAME] + NLA_HDRLEN : "",
	       U(BOOTSEAL_A_DEV), U(BOOTSEAL_A_DEV_SIZE), U(BOOTSEAL_A_HEAD_LEN),
	       U(BOOTSEAL_A_BYTES_EXPECTED), U(BOOTSEAL_A_BYTES_SUBMITTED),
	       U(BOOTSEAL_A_BYTES_COMPLETED), U(BOOTSEAL_A_PID));
	if (tb[BOOTSEAL_A_ERRNO])
		printf(" errno=%llu sector=%lld", U(BOOTSEAL_A_ERRNO),
		       (long long)get_u64(tb[BOOTSEAL_A_ERROR_SECTOR]));
	if (tb[BOOTSEAL_A_CLEANUP])
		printf(" cleanup=%llu cleanup_errno=%llu cleanup_sector=%lld",
		       U(BOOTSEAL_A_CLEANUP), U(BOOTSEAL_A_CLEANUP_ERRNO),
		       tb[BOOTSEAL_A_CLEANUP_SECTOR]
			       ? (long long)get_u64(tb[BOOTSEAL_A_CLEANUP_SECTOR])
			       : -2LL);
	if (U(BOOTSEAL_A_KIND) == BOOTSEAL_KIND_STAGED)
		printf(" staged=%s", tb[BOOTSEAL_A_STAGED_NAME]
					     ? (const char *)tb[BOOTSEAL_A_STAGED_NAME] + NLA_HDRLEN
					     : "?");
	printf("\n");
	fflush(stdout);
#undef U
}

static int is_final_event(const struct nlmsghdr *nlh)
{
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	uint64_t ev = 0, st = 0;

	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			break;
		if (a->nla_type == BOOTSEAL_A_EVENT)
			ev = get_u64(a);
		if (a->nla_type == BOOTSEAL_A_STATE)
			st = get_u64(a);
		p += NLA_ALIGN(a->nla_len);
		len -= NLA_ALIGN(a->nla_len);
	}
	return ev == BOOTSEAL_EVENT_STATE &&
	       (st == BOOTSEAL_STATE_SEALED || st == BOOTSEAL_STATE_FAILED ||
		st == BOOTSEAL_STATE_ABORTED || st == BOOTSEAL_STATE_UNCLEAN);
}

/* Prints an NLMSG_ERROR; returns the positive errno (0 = ACK). */
static int handle_error(const struct nlmsghdr *nlh, const char **msg)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	const char *p = (const char *)(e + 1);
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - sizeof(*e);

	*msg = NULL;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		while (len >= NLA_HDRLEN) {
			const struct nlattr *a = (const struct nlattr *)p;

			if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
				break;
			if (a->nla_type == NLMSGERR_ATTR_MSG)
				*msg = (const char *)a + NLA_HDRLEN;
			p += NLA_ALIGN(a->nla_len);
			len -= NLA_ALIGN(a->nla_len);
		}
	}
	return -e->error;
}

struct req {
	struct nlmsghdr nlh;
	struct genlmsghdr g;
	char attrs[64];
};

static void put_attr(struct req *r, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nlh.nlmsg_len = NLMSG_ALIGN(r->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void init_req(struct req *r, int dump)
{
	memset(r, 0, sizeof(*r));
	r->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->nlh.nlmsg_type = family_id;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0);
	r->nlh.nlmsg_seq = 1;
	r->g.cmd = BOOTSEAL_CMD_GET;
	r->g.version = BOOTSEAL_GENL_VERSION;
}

/*
 * Sends @r and prints every reply; returns the errno of the final error
 * message (0 for success), with the extack text in @msg_out.
 */
static int transact(struct req *r, char *msg_out, size_t msg_len)
{
	static char buf[65536];
	int fd = raw_socket();
	int err = -1;

	msg_out[0] = 0;
	if (send(fd, r, r->nlh.nlmsg_len, 0) < 0) {
		perror("nlwatch: send");
		exit(2);
	}
	while (err < 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh;

		if (n <= 0) {
			perror("nlwatch: recv");
			exit(2);
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			const char *msg = NULL;

			if (nlh->nlmsg_type == NLMSG_ERROR) {
				err = handle_error(nlh, &msg);
				if (msg)
					snprintf(msg_out, msg_len, "%s", msg);
				break;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				err = 0;
				break;
			}
			if (nlh->nlmsg_type == family_id)
				print_event(nlh);
		}
	}
	close(fd);
	return err;
}

static int cmd_listen(int finals, int timeout)
{
	static char buf[65536];
	int fd = raw_socket();
	time_t end = time(NULL) + timeout;
	int seen = 0;

	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group_id, sizeof(group_id))) {
		perror("nlwatch: Unable to join group progress");
		return 2;
	}
	printf("listening\n");
	fflush(stdout);
	while (seen < finals) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = (int)(end - time(NULL));
		struct nlmsghdr *nlh;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0) {
			fprintf(stderr, "nlwatch: timeout after %d final states\n", seen);
			return 1;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			/* ENOBUFS: events were lost, which a test must notice. */
			fprintf(stderr, "nlwatch: recv: %s\n", strerror(errno));
			return 1;
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type != family_id)
				continue;
			print_event(nlh);
			seen += is_final_event(nlh);
		}
	}
	return 0;
}

static int cmd_bad(const char *kind, const char *want, const char *text)
{
	struct req r;
	char msg[256];
	uint32_t u32 = 1;
	uint64_t u64 = 0xffffffffULL;
	int err;

	init_req(&r, !strcmp(kind, "dump-unknown-attr"));
	if (!strcmp(kind, "noid")) {
		/* no attributes at all */
	} else if (!strcmp(kind, "unknown-attr") || !strcmp(kind, "dump-unknown-attr")) {
		put_attr(&r, BOOTSEAL_A_MAX + 10, &u32, sizeof(u32));
	} else if (!strcmp(kind, "unspec-attr")) {
		put_attr(&r, BOOTSEAL_A_SESSION_ID, &u64, sizeof(u64));
		put_attr(&r, BOOTSEAL_A_STATE, &u32, sizeof(u32));
	} else if (!strcmp(kind, "short-id")) {
		put_attr(&r, BOOTSEAL_A_SESSION_ID, &u32, sizeof(u32));
	} else if (!strcmp(kind, "bad-id")) {
		put_attr(&r, BOOTSEAL_A_SESSION_ID, &u64, sizeof(u64));
	} else {
		fprintf(stderr, "nlwatch: unknown kind %s\n", kind);
		return 2;
	}
	err = transact(&r, msg, sizeof(msg));
	printf("%s: error=%s extack='%s'\n", kind, err ? strerrorname_np(err) : "0", msg);
	if (!err || strcmp(strerrorname_np(err), want)) {
		fprintf(stderr, "nlwatch: %s: expected %s\n", kind, want);
		return 1;
	}
	if (!msg[0] || (text && !strstr(msg, text))) {
		fprintf(stderr, "nlwatch: %s: extack message missing or unexpected\n", kind);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char msg[256];
	struct req r;
	int err;

	if (argc < 2) {
		fprintf(stderr, "Usage: nlwatch listen|dump|get|bad ... (see the source header)\n");
		return 2;
	}
	if (resolve())
		return 2;
	if (!strcmp(argv[1], "listen")) {
		int finals = 1, timeout = 120, i;

		for (i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--finals"))
				finals = atoi(argv[i + 1]);
			else if (!strcmp(argv[i], "--timeout"))
				timeout = atoi(argv[i + 1]);
		}
		return cmd_listen(finals, timeout);
	}
	if (!strcmp(argv[1], "dump") || (!strcmp(argv[1], "get") && argc == 3)) {
		int dump = !strcmp(argv[1], "dump");

		init_req(&r, dump);
		if (!dump) {
			uint64_t id = strtoull(argv[2], NULL, 0);

			put_attr(&r, BOOTSEAL_A_SESSION_ID, &id, sizeof(id));
		}
		err = transact(&r, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "nlwatch: Unable to get sessions: %s%s%s\n", strerror(err),
				msg[0] ? ": kernel reports: " : "", msg);
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "bad") && argc >= 4)
		return cmd_bad(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	fprintf(stderr, "nlwatch: bad usage\n");
	return 2;
}

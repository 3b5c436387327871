// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink client for the "bootseal" family. Two sockets: one for
 * requests (resolve, GET dump) and, when subscribed, one that only receives
 * the "progress" multicast group, so a dump never interleaves with events.
 * Both sockets share one set of callbacks (valid/error/finish/ack).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "helper.h"
#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct bs_nl {
	struct nl_sock *cmd; /* requests and their replies */
	struct nl_sock *ev;  /* multicast "progress" events, or NULL */
	int family;
	int group;
	/* per receive call */
	bs_event_cb cb;
	void *cb_arg;
	bool done;
	bool failed;
	unsigned long lost;
	char err[512];
};

static void set_err(struct bs_nl *nl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct bs_nl *nl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nl->err, sizeof(nl->err), fmt, ap);
	va_end(ap);
}

static const char *const state_names[] = {
	[BOOTSEAL_STATE_NONE] = "none",
	[BOOTSEAL_STATE_ATTACHED] = "attached",
	[BOOTSEAL_STATE_INVALIDATED] = "invalidated",
	[BOOTSEAL_STATE_WRITING] = "writing",
	[BOOTSEAL_STATE_FLUSHING] = "flushing",
	[BOOTSEAL_STATE_SEALING] = "sealing",
	[BOOTSEAL_STATE_SEALED] = "sealed",
	[BOOTSEAL_STATE_FAILED] = "failed",
	[BOOTSEAL_STATE_ABORTED] = "aborted",
	[BOOTSEAL_STATE_UNCLEAN] = "unclean",
};

static const char *const event_names[] = {
	[BOOTSEAL_EVENT_UNSPEC] = "unknown",
	[BOOTSEAL_EVENT_STATE] = "state",
	[BOOTSEAL_EVENT_PROGRESS] = "progress",
	[BOOTSEAL_EVENT_DUMP] = "dump",
};

const char *bs_state_name(uint32_t state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "unknown";
}

const char *bs_event_name(uint32_t event)
{
	if (event < sizeof(event_names) / sizeof(event_names[0]) && event_names[event])
		return event_names[event];
	return "unknown";
}

bool bs_state_final(uint32_t state)
{
	return state == BOOTSEAL_STATE_SEALED || state == BOOTSEAL_STATE_FAILED ||
	       state == BOOTSEAL_STATE_ABORTED || state == BOOTSEAL_STATE_UNCLEAN;
}

/* Exact lengths: libnl checks minlen from the type and maxlen from here. */
static const struct nla_policy event_policy[BOOTSEAL_A_MAX + 1] = {
	[BOOTSEAL_A_PAD] = {.type = NLA_UNSPEC},
	[BOOTSEAL_A_SESSION_ID] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_EVENT] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_STATE] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_DEV_NAME] = {.type = NLA_STRING, .maxlen = BOOTSEAL_DISK_NAME_LEN},
	[BOOTSEAL_A_DEV] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_DEV_SIZE] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_HEAD_LEN] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_BYTES_EXPECTED] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_BYTES_SUBMITTED] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_BYTES_COMPLETED] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_ERRNO] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_ERROR_SECTOR] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_PID] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_CLEANUP] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_CLEANUP_ERRNO] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_CLEANUP_SECTOR] = {.type = NLA_U64, .maxlen = 8},
	[BOOTSEAL_A_KIND] = {.type = NLA_U32, .maxlen = 4},
	[BOOTSEAL_A_STAGED_NAME] = {.type = NLA_STRING, .maxlen = BS_STAGED_NAME_LEN},
};

static uint64_t get_u64(struct nlattr **tb, int type, uint64_t dflt)
{
	return tb[type] ? nla_get_u64(tb[type]) : dflt;
}

static uint32_t get_u32(struct nlattr **tb, int type, uint32_t dflt)
{
	return tb[type] ? nla_get_u32(tb[type]) : dflt;
}

static const char *const required_names[] = {
	[BOOTSEAL_A_SESSION_ID] = "session id",
	[BOOTSEAL_A_EVENT] = "event type",
	[BOOTSEAL_A_STATE] = "state",
	[BOOTSEAL_A_DEV_NAME] = "device name",
};

int bs_event_parse(struct nlmsghdr *nlh, struct bs_event *ev, char *err, size_t errlen)
{
	struct nlattr *tb[BOOTSEAL_A_MAX + 1];
	struct genlmsghdr *gh;
	const char *p;
	size_t i;
	int r;

	memset(ev, 0, sizeof(*ev));
	if (!genlmsg_valid_hdr(nlh, 0)) {
		snprintf(err, errlen, "message too short for a generic netlink header");
		return -1;
	}
	gh = genlmsg_hdr(nlh);
	if (gh->cmd != BOOTSEAL_CMD_EVENT) {
		snprintf(err, errlen, "unexpected command %u", gh->cmd);
		return -1;
	}
	r = genlmsg_parse(nlh, 0, tb, BOOTSEAL_A_MAX, event_policy);
	if (r < 0) {
		snprintf(err, errlen, "invalid attribute: %s", nl_geterror(r));
		return -1;
	}
	for (i = 0; i < sizeof(required_names) / sizeof(required_names[0]); i++) {
		/* A session that is not attached yet has no device. */
		if (i == BOOTSEAL_A_DEV_NAME && tb[BOOTSEAL_A_STATE] &&
		    nla_get_u32(tb[BOOTSEAL_A_STATE]) == BOOTSEAL_STATE_NONE)
			continue;
		if (required_names[i] && !tb[i]) {
			snprintf(err, errlen, "no %s attribute", required_names[i]);
			return -1;
		}
	}
	ev->session_id = nla_get_u64(tb[BOOTSEAL_A_SESSION_ID]);
	ev->event = nla_get_u32(tb[BOOTSEAL_A_EVENT]);
	ev->state = nla_get_u32(tb[BOOTSEAL_A_STATE]);
	if (!ev->session_id) {
		snprintf(err, errlen, "session id 0");
		return -1;
	}
	if (ev->event == BOOTSEAL_EVENT_UNSPEC) {
		snprintf(err, errlen, "event type 0");
		return -1;
	}
	/* The policy guarantees a NUL in the last byte; stop at the first. */
	p = tb[BOOTSEAL_A_DEV_NAME] ? nla_data(tb[BOOTSEAL_A_DEV_NAME]) : "";
	if (!*p && ev->state != BOOTSEAL_STATE_NONE) {
		snprintf(err, errlen, "empty device name");
		return -1;
	}
	for (i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '/') {
			snprintf(err, errlen, "device name with byte 0x%02x", c);
			return -1;
		}
	}
	memcpy(ev->dev_name, p, i + 1);
	ev->dev = get_u32(tb, BOOTSEAL_A_DEV, 0);
	ev->dev_size = get_u64(tb, BOOTSEAL_A_DEV_SIZE, 0);
	ev->head_len = get_u64(tb, BOOTSEAL_A_HEAD_LEN, 0);
	ev->bytes_expected = get_u64(tb, BOOTSEAL_A_BYTES_EXPECTED, 0);
	ev->bytes_submitted = get_u64(tb, BOOTSEAL_A_BYTES_SUBMITTED, 0);
	ev->bytes_completed = get_u64(tb, BOOTSEAL_A_BYTES_COMPLETED, 0);
	ev->error = get_u32(tb, BOOTSEAL_A_ERRNO, 0);
	ev->error_sector = get_u64(tb, BOOTSEAL_A_ERROR_SECTOR, BOOTSEAL_SECTOR_NONE);
	ev->pid = get_u32(tb, BOOTSEAL_A_PID, 0);
	ev->cleanup = get_u32(tb, BOOTSEAL_A_CLEANUP, 0);
	ev->cleanup_error = get_u32(tb, BOOTSEAL_A_CLEANUP_ERRNO, 0);
	ev->cleanup_sector = get_u64(tb, BOOTSEAL_A_CLEANUP_SECTOR, BOOTSEAL_SECTOR_NONE);
	ev->kind = get_u32(tb, BOOTSEAL_A_KIND, BOOTSEAL_KIND_SESSION);
	p = tb[BOOTSEAL_A_STAGED_NAME] ? nla_data(tb[BOOTSEAL_A_STAGED_NAME]) : "";
	for (i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '/') {
			snprintf(err, errlen, "staged device name with byte 0x%02x", c);
			return -1;
		}
	}
	if (ev->kind == BOOTSEAL_KIND_STAGED && !i) {
		snprintf(err, errlen, "staged disk without a device-mapper name");
		return -1;
	}
	memcpy(ev->staged_name, p, i + 1);
	if (ev->error > 4095 || ev->cleanup_error > 4095) {
		snprintf(err, errlen, "errno %u out of range",
			 ev->error > 4095 ? ev->error : ev->cleanup_error);
		return -1;
	}
	return 0;
}

/*
 * The extended-ACK TLVs follow the nlmsgerr header and, unless the kernel
 * capped it, the echoed request. @payload points at what follows the netlink
 * header, @len bytes of it; @skip is where the TLVs start.
 */
static const char *extack_msg(const struct nlmsghdr *nlh, const void *payload, size_t len,
			      size_t skip)
{
	static const struct nla_policy ext_policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = {.type = NLA_STRING},
	};
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || skip >= len)
		return NULL;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)payload + skip),
		      (int)(len - skip), ext_policy) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return NULL;
	return nla_get_string(tb[NLMSGERR_ATTR_MSG]);
}

static void set_kernel_err(struct bs_nl *nl, int error, const char *ext)
{
	const char *why = strerror(error);

	if (error == EPERM)
		why = "permission denied (CAP_NET_ADMIN is required: run as root)";
	if (ext && *ext)
		set_err(nl, "%s; kernel reports: %s", why, ext);
	else
		set_err(nl, "%s", why);
	nl->failed = true;
}

static int error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct bs_nl *nl = arg;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN; /* libnl checked >= sizeof(*e) */
	size_t skip = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
		skip += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	set_kernel_err(nl, e->error < 0 ? -e->error : e->error, extack_msg(nlh, e, len, skip));
	nl->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct bs_nl *nl = arg;

	nl->done = true;
	return NL_STOP;
}

/* A dump that failed part-way ends with NLMSG_DONE carrying the error. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct bs_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int error;

	nl->done = true;
	if (nlmsg_datalen(nlh) >= (int)sizeof(int)) {
		memcpy(&error, nlmsg_data(nlh), sizeof(error));
		if (error < 0)
			set_kernel_err(nl, -error,
				       extack_msg(nlh, nlmsg_data(nlh), (size_t)nlmsg_datalen(nlh),
						  sizeof(int)));
	}
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct bs_nl *nl = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct bs_event ev;
	char why[128];

	if (nlh->nlmsg_type != nl->family)
		return NL_SKIP;
	if (bs_event_parse(nlh, &ev, why, sizeof(why)) < 0) {
		bs_warn("Unable to read a bootseal event: %s (ignored)", why);
		return NL_SKIP;
	}
	if (nl->cb)
		nl->cb(&ev, nl->cb_arg);
	return NL_OK;
}

static struct nl_sock *sock_new(struct bs_nl *nl, char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1;
	int r;

	if (!sk) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r = genl_connect(sk);
	if (r < 0) {
		snprintf(err, errlen, "cannot open a generic netlink socket: %s", nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	/* Best effort: older kernels have no extended ACK. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, nl);
	nl_socket_modify_cb(sk, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, nl);
	nl_socket_modify_cb(sk, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, nl);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, error_cb, nl);
	return sk;
}

struct bs_nl *bs_nl_open(bool subscribe, char *err, size_t errlen)
{
	struct bs_nl *nl = calloc(1, sizeof(*nl));
	int r;

	if (!nl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nl->family = -1;
	nl->group = -1;
	nl->cmd = sock_new(nl, err, errlen);
	if (!nl->cmd)
		goto err_free;
	r = genl_ctrl_resolve(nl->cmd, BOOTSEAL_GENL_NAME);
	if (r < 0) {
		if (r == -NLE_OBJ_NOTFOUND)
			snprintf(err, errlen,
				 "bootseal module is not loaded "
				 "(no generic netlink family \"%s\"); load it with "
				 "'sudo modprobe bootseal'",
				 BOOTSEAL_GENL_NAME);
		else
			snprintf(err, errlen, "cannot resolve the \"%s\" netlink family: %s",
				 BOOTSEAL_GENL_NAME, nl_geterror(r));
		goto err_cmd;
	}
	nl->family = r;
	if (!subscribe)
		return nl;

	r = genl_ctrl_resolve_grp(nl->cmd, BOOTSEAL_GENL_NAME, BOOTSEAL_GENL_MCGRP_PROGRESS);
	if (r < 0) {
		snprintf(err, errlen, "cannot resolve the \"%s\" multicast group of \"%s\": %s",
			 BOOTSEAL_GENL_MCGRP_PROGRESS, BOOTSEAL_GENL_NAME,
			 r == -NLE_OBJ_NOTFOUND ? "the loaded module does not provide it"
						: nl_geterror(r));
		goto err_cmd;
	}
	nl->group = r;
	nl->ev = sock_new(nl, err, errlen);
	if (!nl->ev)
		goto err_cmd;
	/* Notifications carry sequence number 0: nothing to match them with. */
	nl_socket_disable_seq_check(nl->ev);
	nl_socket_disable_auto_ack(nl->ev);
	nl_socket_set_buffer_size(nl->ev, 1 << 20, 0);
	r = nl_socket_add_membership(nl->ev, nl->group);
	if (r < 0) {
		snprintf(err, errlen, "cannot join the \"%s\" multicast group: %s%s",
			 BOOTSEAL_GENL_MCGRP_PROGRESS, nl_geterror(r),
			 r == -NLE_PERM ? " (it needs CAP_NET_ADMIN: run as root)" : "");
		goto err_ev;
	}
	r = nl_socket_set_nonblocking(nl->ev);
	if (r < 0) {
		snprintf(err, errlen, "cannot make the netlink socket non-blocking: %s",
			 nl_geterror(r));
		goto err_ev;
	}
	return nl;

err_ev:
	nl_socket_free(nl->ev);
err_cmd:
	nl_socket_free(nl->cmd);
err_free:
	free(nl);
	return NULL;
}

int bs_nl_fd(const struct bs_nl *nl)
{
	return nl_socket_get_fd(nl->ev ? nl->ev : nl->cmd);
}

int bs_nl_recv(struct bs_nl *nl, bs_event_cb cb, void *arg)
{
	struct nl_cb *ncb;
	int r;

	if (!nl->ev) {
		set_err(nl, "not subscribed to the \"%s\" group", BOOTSEAL_GENL_MCGRP_PROGRESS);
		return -1;
	}
	nl->cb = cb;
	nl->cb_arg = arg;
	ncb = nl_socket_get_cb(nl->ev);
	for (;;) {
		nl->failed = false;
		r = nl_recvmsgs_report(nl->ev, ncb);
		if (r > 0)
			continue;
		if (r == 0 || r == -NLE_AGAIN)
			break;
		/* ENOBUFS: the receive buffer overflowed and events were dropped. */
		if (r == -NLE_NOMEM) {
			nl->lost++;
			continue;
		}
		if (!nl->failed)
			set_err(nl, "cannot receive events: %s", nl_geterror(r));
		nl_cb_put(ncb);
		nl->cb = NULL;
		return -1;
	}
	nl_cb_put(ncb);
	nl->cb = NULL;
	return 0;
}

/* Send a GET (a dump, or one session with @id) and dispatch the replies. */
static int get(struct bs_nl *nl, bool dump, uint64_t id, bs_event_cb cb, void *arg)
{
	struct nl_msg *msg;
	struct nl_cb *ncb;
	int r;

	msg = nlmsg_alloc();
	if (!msg) {
		set_err(nl, "out of memory");
		return -1;
	}
	/* NLM_F_ACK: a reply to a single GET is followed by an ACK that ends it. */
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 dump ? NLM_F_DUMP : NLM_F_ACK, BOOTSEAL_CMD_GET, BOOTSEAL_GENL_VERSION) ||
	    (!dump && nla_put_u64(msg, BOOTSEAL_A_SESSION_ID, id) < 0)) {
		nlmsg_free(msg);
		set_err(nl, "cannot build the request");
		return -1;
	}
	r = nl_send_auto(nl->cmd, msg);
	nlmsg_free(msg);
	if (r < 0) {
		set_err(nl, "cannot send the request: %s", nl_geterror(r));
		return -1;
	}
	nl->cb = cb;
	nl->cb_arg = arg;
	nl->done = false;
	nl->failed = false;
	ncb = nl_socket_get_cb(nl->cmd);
	while (!nl->done) {
		r = nl_recvmsgs_report(nl->cmd, ncb);
		if (r < 0) {
			if (!nl->failed)
				set_err(nl, "cannot receive the reply: %s", nl_geterror(r));
			nl->failed = true;
			break;
		}
	}
	nl_cb_put(ncb);
	nl->cb = NULL;
	return nl->failed ? -1 : 0;
}

int bs_nl_dump(struct bs_nl *nl, bs_event_cb cb, void *arg)
{
	return get(nl, true, 0, cb, arg);
}

int bs_nl_get(struct bs_nl *nl, uint64_t session_id, bs_event_cb cb, void *arg)
{
	return get(nl, false, session_id, cb, arg);
}

const char *bs_nl_error(const struct bs_nl *nl)
{
	return nl->err[0] ? nl->err : "unknown error";
}

unsigned long bs_nl_lost(const struct bs_nl *nl)
{
	return nl->lost;
}

void bs_nl_close(struct bs_nl *nl)
{
	if (!nl)
		return;
	if (nl->ev)
		nl_socket_free(nl->ev);
	nl_socket_free(nl->cmd);
	free(nl);
}

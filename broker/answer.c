/* SPDX-License-Identifier: ISC */
/* Runs in the listener, or an --inetd instance's privileged parent (see answer.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "escape.h"
#include "log.h"
#include "wire.h"

/* The veth kind's record: both ends, whose namespace, which policy and line. */
static int record_veth(const struct identity *id, pid_t pid, const struct verdict *v,
		       const struct make_resp *made, int err, const char *when, const char *groups,
		       const char *exe, const char *bridge, const char *why)
{
	char peer[ESCAPE_SIZE(IFNAMSIZ)], lxc[ESCAPE_SIZE(CENSUS_LXC_MAX)];
	const char *verdict = err == 0 ? "grant" : v->denied ? "deny" : "refuse";

	if (err == 0)
		escape_str(peer, sizeof(peer), made->peer_name);
	else
		escape(peer, sizeof(peer), v->peer, v->peer_len);
	escape_str(lxc, sizeof(lxc), err == 0 ? made->lxc : "");
	return log_record("time=%s verdict=%s uid=%u gid=%u groups=%s pid=%d exe=\"%s\" kind=veth "
			  "bridge=\"%s\" veth=%s ifindex=%u peer=\"%s\" peer_ifindex=%u "
			  "netns_owner=%lld policy=%s lxc=\"%s\" errno=%d reason=\"%s\"",
			  when, verdict, (unsigned)id->uid, (unsigned)id->gid, groups, (int)pid, exe,
			  bridge, err ? "-" : made->name, err ? 0 : made->ifindex, peer,
			  err ? 0 : made->peer_ifindex, (long long)v->netns_owner,
			  v->flags & PROTO_F_LXC_USERNET ? "lxc-usernet" : "bridge.conf", lxc, err,
			  why);
}

static int record(const struct identity *id, pid_t pid, const struct verdict *v,
		  const struct make_resp *made, int err, const char *reason)
{
	char groups[4096], asked[ESCAPE_SIZE(IFNAMSIZ)], bridge[ESCAPE_SIZE(IFNAMSIZ)];
	char why[ESCAPE_SIZE(PROTO_REASON_MAX)], exe[ESCAPE_SIZE(sizeof(v->exe))], when[32];
	const char *verdict = err == 0 ? "grant" : v->denied ? "deny" : "refuse";

	log_time(when);
	/* bytes from outside are escaped once; the reason is a message (escape.h) */
	escape_msg(why, sizeof(why), reason);
	if (!id)
		return log_record("time=%s verdict=refuse uid=? reason=\"%s\"", when, why);
	identity_groups_str(id, groups, sizeof(groups));
	escape(asked, sizeof(asked), v->asked, v->asked_len);
	escape_str(bridge, sizeof(bridge), v->bridge);
	escape_str(exe, sizeof(exe), v->exe);
	if (v->kind == PROTO_KIND_VETH)
		return record_veth(id, pid, v, made, err, when, groups, exe,
				   v->bridge[0] ? bridge : asked, why);
	return log_record("time=%s verdict=%s uid=%u gid=%u groups=%s pid=%d exe=\"%s\" "
			  "bridge=\"%s\"%s%s%s tap=%s ifindex=%u vnet_hdr=%d queues=%u errno=%d "
			  "reason=\"%s\"",
			  when, verdict, (unsigned)id->uid, (unsigned)id->gid, groups, (int)pid,
			  exe, v->bridge[0] ? bridge : asked,
			  v->bridge[0] && strcmp(asked, bridge) ? " requested=\"" : "",
			  v->bridge[0] && strcmp(asked, bridge) ? asked : "",
			  v->bridge[0] && strcmp(asked, bridge) ? "\"" : "",
			  err ? "-" : made->name, err ? 0 : made->ifindex,
			  err ? 0 : !!(made->flags & PROTO_F_VNET_HDR), err ? 0 : made->nfds, err, why);
}

/* before the request was read its version is unknown: version 1, as every client reads */
static int send_refuse(int conn, unsigned version, int err, const char *reason)
{
	struct proto_msg msg = { .version = version ? version : PROTO_V1, .type = PROTO_REFUSE,
				 .refuse.err = err };

	/* the reason goes out as one line; the encoder would refuse a newline */
	escape_msg(msg.refuse.reason, sizeof(msg.refuse.reason), reason);
	return wire_send(conn, &msg, NULL, 0);
}

/* A veth's GRANT (version 2, no descriptor): both names and ifindexes. */
static int grant_veth(int conn, const struct identity *id, pid_t pid, const struct verdict *v,
		      const struct make_resp *made)
{
	struct proto_msg msg = { .version = PROTO_V2, .type = PROTO_GRANT };
	int r;

	msg.link.kind = PROTO_KIND_VETH;
	msg.link.nfds = 0;
	msg.link.ifindex = made->ifindex;
	msg.link.peer_ifindex = made->peer_ifindex;
	memcpy(msg.link.name, made->name, sizeof(msg.link.name));
	memcpy(msg.link.peer_name, made->peer_name, sizeof(msg.link.peer_name));
	r = wire_send(conn, &msg, NULL, 0);
	if (r < 0) {
		char why[128];

		/* the caller never heard of it: the caller has the pair deleted */
		snprintf(why, sizeof(why), "cannot send the veth to the caller: %s", strerror(-r));
		record(id, pid, v, made, -r, why);
	}
	return r;
}

int answer(int conn, const struct identity *id, pid_t pid, const struct verdict *v,
	   const struct make_resp *made, const int *fds)
{
	int err = made ? made->err : v->err;
	const char *reason = made && made->err ? made->reason : v->reason;
	struct proto_msg msg = { .type = PROTO_GRANT };
	int r;

	/* the listener serves everyone: a client that does not read can't hold it */
	fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK);
	if (err == 0 && !made)
		err = EPROTO, reason = "internal error: allowed but not made";
	r = record(id, pid, v, made, err, reason);
	if (err) {
		send_refuse(conn, v->version, err, reason);
		return 0;
	}
	if (r < 0) {
		/* no record, no grant */
		send_refuse(conn, v->version, EIO, "the broker cannot write its audit record");
		return r;
	}
	if (v->kind == PROTO_KIND_VETH)
		return grant_veth(conn, id, pid, v, made);
	msg.version = v->version;
	msg.link.kind = PROTO_KIND_TAP;
	msg.link.flags = made->flags & (v->version >= PROTO_V2 ? PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE :
					PROTO_F_VNET_HDR);
	msg.link.nfds = (uint16_t)made->nfds;
	msg.link.ifindex = made->ifindex;
	memcpy(msg.link.name, made->name, sizeof(msg.link.name));
	r = wire_send(conn, &msg, fds, made->nfds);
	if (r < 0) {
		char why[128];

		/* the caller will never have it: the caller closes it, and we say so */
		snprintf(why, sizeof(why), "cannot send the tap to the caller: %s", strerror(-r));
		record(id, pid, v, made, -r, why);
	}
	return r;
}

void answer_refuse(int conn, const struct identity *id, pid_t pid, struct verdict *v,
		   int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->err = err;
	answer(conn, id, pid, v, NULL, NULL);
}

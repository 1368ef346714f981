/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ifname.h"
#include "log.h"
#include "peer.h"
#include "policy.h"
#include "serve.h"
#include "tap.h"
#include "wire.h"

struct request {
	struct peer peer;
	bool have_peer;
	bool vnet_hdr;
	char bridge[IFNAMSIZ];     /* as received; valid once checked */
	size_t bridge_len;
	struct tap tap;
	int err;                   /* 0: granted */
	char reason[PROTO_REASON_MAX + 1];
};

static int refuse(struct request *rq, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct request *rq, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rq->reason, sizeof(rq->reason), fmt, ap);
	va_end(ap);
	rq->err = err;
	return -err;
}

/* exactly one REQUEST and nothing after it */
static int read_request(int sock, struct request *rq)
{
	struct proto_msg msg;
	char c;
	int r = wire_recv(sock, &msg, NULL);

	if (r < 0)
		return refuse(rq, -r, "bad request: %s", strerror(-r));
	if (msg.type != PROTO_REQUEST)
		return refuse(rq, EPROTO, "bad request: message type %d is not a request", msg.type);
	if (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return refuse(rq, EPROTO, "bad request: bytes after the request");
	rq->vnet_hdr = msg.link.flags & PROTO_F_VNET_HDR;
	rq->bridge_len = strlen(msg.link.name);
	memcpy(rq->bridge, msg.link.name, sizeof(rq->bridge));
	return 0;
}

static int decide(const struct broker_conf *conf, struct request *rq)
{
	struct acl_result res;

	if (!ifname_valid(rq->bridge, rq->bridge_len))
		return refuse(rq, EINVAL, "invalid bridge name");
	switch (policy_check(&rq->peer, conf->acl_path, rq->bridge, conf->semantics,
			     conf->deadline_s, &res)) {
	case ACL_ALLOW:
		return 0;
	case ACL_DENY:
		return refuse(rq, EACCES, "%s", res.msg);
	default:
		return refuse(rq, res.err ? res.err : EINVAL, "%s", res.msg);
	}
}

static int make_tap(struct request *rq)
{
	struct bridge br;
	int r = bridge_lookup(rq->bridge, &br, rq->reason, sizeof(rq->reason));

	if (r == 0)
		r = tap_create(&br, rq->vnet_hdr, &rq->tap, rq->reason, sizeof(rq->reason));
	if (r < 0)
		rq->err = -r;
	return r;
}

static void log_request(const struct request *rq)
{
	char groups[512], bridge[4 * IFNAMSIZ + 1], reason[4 * PROTO_REASON_MAX + 1];
	const struct peer *p = &rq->peer;

	log_clean(bridge, sizeof(bridge), rq->bridge, rq->bridge_len);
	if (!rq->have_peer) {
		log_line("refuse peer=unknown reason=\"%s\"",
			 log_clean(reason, sizeof(reason), rq->reason, strlen(rq->reason)));
		return;
	}
	peer_groups_str(p, groups, sizeof(groups));
	if (rq->err == 0)
		log_line("grant uid=%u gid=%u groups=%s pid=%d bridge=\"%s\" vnet_hdr=%d tap=%s ifindex=%u",
			 p->uid, p->gid, groups, (int)p->pid, bridge, rq->tap.vnet_hdr,
			 rq->tap.name, rq->tap.ifindex);
	else
		log_line("%s uid=%u gid=%u groups=%s pid=%d bridge=\"%s\" errno=%d reason=\"%s\"",
			 rq->err == EACCES ? "deny" : "refuse", p->uid, p->gid, groups, (int)p->pid,
			 bridge, rq->err,
			 log_clean(reason, sizeof(reason), rq->reason, strlen(rq->reason)));
}

static int reply(int sock, struct request *rq)
{
	struct proto_msg msg = { 0 };

	if (rq->err) {
		msg.type = PROTO_REFUSE;
		msg.refuse.err = rq->err;
		/* the reason goes out as one line; the encoder would refuse a newline */
		log_clean(msg.refuse.reason, sizeof(msg.refuse.reason), rq->reason, strlen(rq->reason));
		return wire_send(sock, &msg, -1);
	}
	msg.type = PROTO_GRANT;
	msg.link.flags = rq->tap.vnet_hdr ? PROTO_F_VNET_HDR : 0;
	memcpy(msg.link.name, rq->tap.name, sizeof(msg.link.name));
	return wire_send(sock, &msg, rq->tap.fd);
}

void serve(int sock, const struct broker_conf *conf)
{
	struct request rq = { .tap.fd = -1 };
	int r;

	/* the whole request runs against one clock; SIGALRM ends a stalled worker */
	alarm(conf->deadline_s);
	r = peer_get(sock, &rq.peer);
	if (r < 0) {
		refuse(&rq, -r, "cannot identify the caller: %s", strerror(-r));
		goto out;
	}
	rq.have_peer = true;
	if (read_request(sock, &rq) == 0 && decide(conf, &rq) == 0)
		make_tap(&rq);
	r = reply(sock, &rq);
	if (r < 0 && rq.err == 0)
		refuse(&rq, -r, "cannot send the tap to the caller: %s", strerror(-r));
out:
	log_request(&rq);
	if (rq.tap.fd >= 0)
		close(rq.tap.fd);
	peer_free(&rq.peer);
	alarm(0);
}

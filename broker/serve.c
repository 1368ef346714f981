/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "census.h"
#include "ifname.h"
#include "log.h"
#include "netns.h"
#include "peer.h"
#include "policy.h"
#include "serve.h"
#include "tap.h"
#include "veth.h"
#include "vethreq.h"
#include "wire.h"

/* The veth kind's part of a request (protocol version 2, kind veth). */
struct veth_part {
	bool on;
	bool lxc;                  /* PROTO_F_LXC_USERNET: lxc-usernet decides */
	int netns_fd;              /* the target, as the client sent it, or -1 */
	struct netns_ref host;     /* the broker's own namespaces */
	long netns_owner;          /* its owner's uid, -1 until known */
	char peer[IFNAMSIZ];       /* as asked ("" for eth0); valid once checked */
	size_t peer_len;
	struct vethreq_usernet usernet;
	char charge[CENSUS_LXC_MAX];
	int lock_err;              /* why veth_lock() could not open the lock, or 0 */
	struct veth veth;
};

struct request {
	struct peer peer;
	bool have_peer;
	unsigned version;          /* the request's: the answer's (0 before it is read: 1) */
	unsigned queues;           /* 1..max-queues */
	bool vnet_hdr;
	char bridge[IFNAMSIZ];     /* as received; valid once checked */
	size_t bridge_len;
	struct policy_answer policy;
	struct tap tap;
	struct veth_part vp;
	int lock;                  /* the quota lock file, or -1 */
	bool denied;               /* by the ACL (or its failing closed); else a refusal */
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

/* ---- the veth kind: small steps of their own, called from the request path ---- */

/* A veth request keeps its namespace descriptor and none of the tun ones. */
static int veth_request(const struct proto_msg *msg, int nsfd, struct request *rq)
{
	rq->vp.on = true;
	rq->vp.netns_fd = nsfd;
	rq->vp.lxc = msg->link.flags & PROTO_F_LXC_USERNET;
	rq->vp.peer_len = strlen(msg->link.peer_name);
	memcpy(rq->vp.peer, msg->link.peer_name, sizeof(rq->vp.peer));
	rq->bridge_len = strlen(msg->link.name);
	memcpy(rq->bridge, msg->link.name, sizeof(rq->bridge));
	tap_keep(&rq->tap, 0);
	return 0;
}

/* bridge.conf's policy_check() records the executable; lxc-usernet's path does it here */
static void veth_exe(struct request *rq)
{
	char proc[32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)rq->peer.pid);
	n = readlink(proc, rq->policy.exe, sizeof(rq->policy.exe) - 1);
	rq->policy.exe[n > 0 ? n : 0] = '\0';
}

/*
 * As the requester: the name, then the namespace -- the descriptor the
 * client sent, checked with the kernel's identity of the requester, never
 * a path or pid it named -- then, for lxc-usernet requests, the lines that
 * apply (read with the requester's own access, like bridge.conf).
 */
static int veth_decide(struct request *rq)
{
	struct veth_part *vp = &rq->vp;
	int r;

	if (vp->peer_len && !ifname_valid(vp->peer, vp->peer_len))
		return refuse(rq, EINVAL, "invalid interface name for the target namespace");
	r = netns_check(vp->netns_fd, &vp->host, rq->peer.uid, &vp->netns_owner,
			rq->reason, sizeof(rq->reason));
	if (r < 0) {
		rq->denied = r == -EPERM;
		rq->err = -r;
		return r;
	}
	if (!vp->lxc)
		return 0;
	veth_exe(rq);
	r = vethreq_usernet(ONTAP_LXC_USERNET_PATH, &rq->peer, rq->bridge, &vp->usernet,
			    rq->reason, sizeof(rq->reason));
	if (r < 0) {
		rq->denied = r == -ENOENT;
		rq->err = r == -ENOENT ? EACCES : -r;
	}
	return r;
}

/*
 * lxc-usernet requests are counted under the quota lock even where
 * ontap.conf sets no quota: opened, as the broker, when lxc-usernet exists.
 * Failing refuses those requests only (veth_make()), never a tap.
 */
static void veth_lock(const struct broker_conf *conf, struct request *rq)
{
	if (access(ONTAP_LXC_USERNET_PATH, F_OK) < 0)
		return;
	rq->lock = open(conf->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* said by veth_make(), for the requests that needed it: not on every tap's */
	rq->vp.lock_err = rq->lock < 0 ? errno : 0;
}

/* What needs the broker's identity: its own namespaces, to tell the host's. */
static int veth_prepare(struct request *rq)
{
	int r = netns_ref_self(&rq->vp.host, rq->reason, sizeof(rq->reason));

	if (r < 0)
		rq->err = -r;
	return r;
}

/*
 * With the lock held and the quotas checked: an lxc-usernet request is
 * charged to its first line with room, then the pair is made.
 */
static int veth_make(const struct bridge *br, struct tap_owner *me, struct request *rq)
{
	struct veth_part *vp = &rq->vp;
	char alias[CENSUS_ALIAS_MAX], why[sizeof(rq->reason)];
	int r;

	snprintf(why, sizeof(why), "%s", rq->reason);
	if (vp->lxc) {
		/* counting the lines' veths is only sound under the lock */
		if (rq->lock < 0) {
			log_line("cannot open the quota lock (for lxc-usernet counts): %s",
				 strerror(rq->vp.lock_err ? rq->vp.lock_err : ENOENT));
			return refuse(rq, ENOLCK, "cannot count lxc-usernet veths: the broker's "
				      "quota lock failed");
		}
		r = vethreq_charge(&vp->usernet, br->ifindex, vp->charge, why, sizeof(why));
		if (r < 0)
			return refuse(rq, -r, "%s", why);
		snprintf(me->lxc, sizeof(me->lxc), "%s", vp->charge);
	}
	if (census_alias_format(me, alias, sizeof(alias)) < 0)
		return refuse(rq, ENAMETOOLONG, "too many quota groups to record");
	r = veth_create(br, vp->netns_fd, vp->peer, alias, &vp->veth, rq->reason,
			sizeof(rq->reason));
	if (r < 0)
		return -(rq->err = -r);
	snprintf(rq->reason, sizeof(rq->reason), "%s", why);
	return 0;
}

static void veth_audit(const struct request *rq, const char *when, const char *verdict,
		       const char *groups, const char *exe, const char *bridge, const char *reason)
{
	const struct peer *p = &rq->peer;
	const struct veth_part *vp = &rq->vp;
	char peer[4 * IFNAMSIZ + 1], charge[4 * CENSUS_LXC_MAX + 1];
	bool ok = rq->err == 0;

	log_clean(peer, sizeof(peer), ok ? vp->veth.peer_name : vp->peer,
		  ok ? strlen(vp->veth.peer_name) : vp->peer_len);
	log_clean(charge, sizeof(charge), vp->charge, strlen(vp->charge));
	log_line("time=%s verdict=%s uid=%u gid=%u groups=%s pid=%d exe=\"%s\" kind=veth "
		 "bridge=\"%s\" veth=%s ifindex=%u peer=\"%s\" peer_ifindex=%u netns_owner=%ld "
		 "policy=%s lxc=\"%s\" errno=%d reason=\"%s\"",
		 when, verdict, p->uid, p->gid, groups, (int)p->pid, exe, bridge,
		 ok ? vp->veth.name : "-", ok ? vp->veth.ifindex : 0, peer,
		 ok ? vp->veth.peer_ifindex : 0, vp->netns_owner,
		 vp->lxc ? "lxc-usernet" : "bridge.conf", charge, rq->err, reason);
}

/* the client never heard of it: nothing may stay behind */
static void veth_undo(const struct request *rq)
{
	int r = veth_delete(rq->vp.veth.ifindex);

	if (r < 0)
		log_line("cannot delete veth %s (ifindex %u) after a failed reply: %s",
			 rq->vp.veth.name, rq->vp.veth.ifindex, strerror(-r));
}

static int veth_reply(int sock, const struct request *rq)
{
	struct proto_msg msg = { .version = PROTO_V2, .type = PROTO_GRANT };
	const struct veth *v = &rq->vp.veth;

	msg.link.kind = PROTO_KIND_VETH;
	msg.link.nfds = 0;
	msg.link.ifindex = v->ifindex;
	msg.link.peer_ifindex = v->peer_ifindex;
	memcpy(msg.link.name, v->name, sizeof(msg.link.name));
	memcpy(msg.link.peer_name, v->peer_name, sizeof(msg.link.peer_name));
	return wire_send(sock, &msg, NULL, 0);
}

/*
 * What a decoded REQUEST asks for, version 1 or 2, within this broker's
 * bounds.  Version 1 is one tap with one queue.  nsfd: a veth request's
 * namespace descriptor (kept in rq->vp, closed at the end of serve()).
 */
static int take_request(const struct broker_conf *conf, const struct proto_msg *msg, int nsfd,
			struct request *rq)
{
	rq->version = msg->version;
	if (msg->link.kind == PROTO_KIND_VETH)
		return veth_request(msg, nsfd, rq);
	if (nsfd >= 0)
		close(nsfd);
	rq->queues = msg->link.queues;
	if (rq->queues > conf->max_queues)
		return refuse(rq, EINVAL, "%u queues asked, at most %u (max-queues in ontap.conf)",
			      rq->queues, conf->max_queues);
	rq->vnet_hdr = msg->link.flags & PROTO_F_VNET_HDR;
	rq->bridge_len = strlen(msg->link.name);
	memcpy(rq->bridge, msg->link.name, sizeof(rq->bridge));
	/* prepare() opened one /dev/net/tun per queue allowed: keep those asked for */
	tap_keep(&rq->tap, rq->queues);
	return 0;
}

/* exactly one REQUEST and nothing after it */
static int read_request(int sock, const struct broker_conf *conf, struct request *rq)
{
	struct timeval tv = { .tv_sec = conf->deadline_s };
	struct proto_msg msg;
	int nsfd = -1;
	char c;
	int r;

	/* a client that stalls is dropped at the deadline, with a record saying so */
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* room for one: a veth request's namespace; wire_recv() refuses one anywhere else */
	r = wire_recv(sock, &msg, &nsfd, 1);
	if (r == -EAGAIN)
		return refuse(rq, ETIMEDOUT, "no complete request within %u s", conf->deadline_s);
	if (r < 0)
		return refuse(rq, -r, "bad request: %s", strerror(-r));
	if (msg.type != PROTO_REQUEST) {
		if (nsfd >= 0)
			close(nsfd);
		return refuse(rq, EPROTO, "bad request: message type %d is not a request", msg.type);
	}
	if (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
		if (nsfd >= 0)
			close(nsfd);
		return refuse(rq, EPROTO, "bad request: bytes after the request");
	}
	return take_request(conf, &msg, nsfd, rq);
}

static int decide(const struct broker_conf *conf, struct request *rq)
{
	struct acl_result *res = &rq->policy.acl;

	if (!ifname_valid(rq->bridge, rq->bridge_len))
		return refuse(rq, EINVAL, "invalid bridge name");
	if (rq->vp.on && veth_decide(rq) < 0)
		return -rq->err;
	if (rq->vp.lxc)
		return 0;
	switch (policy_check(&rq->peer, conf->acl_path, rq->bridge, conf->semantics,
			     &rq->policy)) {
	case ACL_ALLOW:
		snprintf(rq->reason, sizeof(rq->reason), "%s", res->msg);
		return 0;
	case ACL_DENY:
		rq->denied = true;
		return refuse(rq, EACCES, "%s", res->msg);
	default:
		/* the policy could not be read: it failed closed, a denial all the same */
		rq->denied = true;
		return refuse(rq, res->err ? res->err : EINVAL, "%s", res->msg);
	}
}

static bool in_groups(const struct peer *p, unsigned gid)
{
	if (p->gid == gid)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

/* The census attribution: who asked, and the quota groups they were in. */
static void owner_of(const struct broker_conf *conf, const struct peer *p, struct tap_owner *o)
{
	memset(o, 0, sizeof(*o));
	o->uid = p->uid;
	o->gid = p->gid;
	o->pid = p->pid;
	o->since = time(NULL);
	for (unsigned i = 0; i < conf->nquotas && o->ngroups < CENSUS_MAX_GROUPS; i++)
		if (conf->quotas[i].group && in_groups(p, conf->quotas[i].id))
			o->groups[o->ngroups++] = conf->quotas[i].id;
}

struct tally {
	const struct tap_owner *me;
	unsigned user;
	unsigned group[CENSUS_MAX_GROUPS];
};

static int tally_cb(const struct tap_entry *t, void *ctx)
{
	struct tally *ta = ctx;

	ta->user += t->owner.uid == ta->me->uid;
	for (unsigned i = 0; i < ta->me->ngroups; i++)
		for (unsigned j = 0; j < t->owner.ngroups; j++)
			ta->group[i] += t->owner.groups[j] == ta->me->groups[i];
	return 0;
}

static unsigned group_quota(const struct broker_conf *conf, unsigned gid)
{
	for (unsigned i = 0; i < conf->nquotas; i++)
		if (conf->quotas[i].group && conf->quotas[i].id == gid)
			return conf->quotas[i].max;
	return CONF_UNLIMITED;
}

/* Counts this user's and groups' live taps in the kernel against the quotas. */
static int check_quota(const struct broker_conf *conf, const struct tap_owner *me,
		       struct request *rq)
{
	struct tally ta = { .me = me };
	unsigned max = conf_user_quota(conf, me->uid);
	int r = census_walk(tally_cb, &ta);

	if (r < 0)
		return refuse(rq, -r, "cannot count taps: %s", strerror(-r));
	if (ta.user >= max)
		return refuse(rq, EDQUOT, "tap quota reached: uid %u has %u of %u taps",
			      me->uid, ta.user, max);
	for (unsigned i = 0; i < me->ngroups; i++) {
		max = group_quota(conf, me->groups[i]);
		if (ta.group[i] >= max)
			return refuse(rq, EDQUOT, "tap quota reached: group %u has %u of %u taps",
				      me->groups[i], ta.group[i], max);
	}
	return 0;
}

static bool has_quotas(const struct broker_conf *conf)
{
	return conf->nquotas > 0 || conf->max_taps_default != CONF_UNLIMITED;
}

/*
 * Count and creation happen under one lock, so two requests of one user
 * can't both see room for the last tap; brokers that share the lock file
 * (a listener's workers, inetd-mode instances) serialise here.
 */
static int make_tap(const struct broker_conf *conf, struct request *rq)
{
	char alias[CENSUS_ALIAS_MAX], why[sizeof(rq->reason)];
	struct tap_owner me;
	struct bridge br;
	int r;

	owner_of(conf, &rq->peer, &me);
	if (census_alias_format(&me, alias, sizeof(alias)) < 0)
		return refuse(rq, ENAMETOOLONG, "too many quota groups to record");
	snprintf(why, sizeof(why), "%s", rq->reason);
	r = bridge_lookup(rq->bridge, &br, rq->reason, sizeof(rq->reason));
	if (r < 0)
		goto fail;
	if (rq->lock >= 0) {
		if (flock(rq->lock, LOCK_EX) < 0) {
			log_line("cannot lock `%s': %s", conf->lock_path, strerror(errno));
			return refuse(rq, errno, "cannot count taps: the broker's quota lock failed");
		}
		r = check_quota(conf, &me, rq);
		if (r < 0)
			return r;
	}
	if (rq->vp.on)
		return veth_make(&br, &me, rq);
	r = tap_create(&br, rq->vnet_hdr, alias, &rq->tap, rq->reason, sizeof(rq->reason));
	if (r == 0)
		snprintf(rq->reason, sizeof(rq->reason), "%s", why);
fail:
	if (r < 0)
		rq->err = -r;
	return r;
}

/*
 * What needs the broker's own identity, opened before the worker becomes
 * the requester: /dev/net/tun (which may be 0600) and, with quotas, the
 * lock file (root's).  A denied request closes them unused.
 */
static int prepare(const struct broker_conf *conf, struct request *rq)
{
	/*
	 * The queues wanted are known only once the request is read, as the
	 * requester: open as many as a request may ask for (max-queues),
	 * take_request() closes the rest.
	 */
	int r = tap_open(&rq->tap, conf->max_queues, rq->reason, sizeof(rq->reason));

	if (r < 0) {
		rq->err = -r;
		return r;
	}
	if (veth_prepare(rq) < 0)
		return -rq->err;
	if (!has_quotas(conf)) {
		veth_lock(conf, rq);
		return 0;
	}
	rq->lock = open(conf->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rq->lock < 0) {
		/* the path is the admin's business, not the client's */
		log_line("cannot open `%s': %s", conf->lock_path, strerror(errno));
		return refuse(rq, errno, "cannot count taps: the broker's quota lock failed");
	}
	return 0;
}

/*
 * From here on the worker is the requester, with CAP_NET_ADMIN alone: the
 * request is decoded and the ACL read with no power to become anyone else,
 * and the files' modes decide what the requester may see.
 */
static int become(struct request *rq)
{
	int r = peer_become(&rq->peer);

	return r < 0 ? refuse(rq, -r, "cannot take the requester's identity: %s", strerror(-r)) : 0;
}

static void audit(const struct request *rq)
{
	char groups[512], bridge[4 * IFNAMSIZ + 1], reason[4 * PROTO_REASON_MAX + 1];
	char exe[4 * sizeof(rq->policy.exe)], when[32];
	const struct peer *p = &rq->peer;
	const char *verdict = rq->err == 0 ? "grant" : rq->denied ? "deny" : "refuse";

	log_time(when);
	log_clean(bridge, sizeof(bridge), rq->bridge, rq->bridge_len);
	log_clean(reason, sizeof(reason), rq->reason, strlen(rq->reason));
	log_clean(exe, sizeof(exe), rq->policy.exe, strlen(rq->policy.exe));
	if (!rq->have_peer) {
		log_line("time=%s verdict=refuse uid=? reason=\"%s\"", when, reason);
		return;
	}
	peer_groups_str(p, groups, sizeof(groups));
	if (rq->vp.on) {
		veth_audit(rq, when, verdict, groups, exe, bridge, reason);
		return;
	}
	log_line("time=%s verdict=%s uid=%u gid=%u groups=%s pid=%d exe=\"%s\" bridge=\"%s\" "
		 "tap=%s ifindex=%u vnet_hdr=%d queues=%u errno=%d reason=\"%s\"",
		 when, verdict, p->uid, p->gid, groups, (int)p->pid, exe, bridge,
		 rq->err ? "-" : rq->tap.name, rq->err ? 0 : rq->tap.ifindex,
		 rq->err ? 0 : rq->tap.vnet_hdr, rq->err ? 0 : rq->tap.nfds, rq->err, reason);
}

/* The GRANT for a made tap, in the request's version. */
static void grant_msg(const struct request *rq, struct proto_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->version = rq->version;
	msg->type = PROTO_GRANT;
	msg->link.kind = PROTO_KIND_TAP;
	msg->link.flags = (rq->tap.vnet_hdr ? PROTO_F_VNET_HDR : 0) |
			  (rq->version >= PROTO_V2 && rq->tap.multi_queue ? PROTO_F_MULTI_QUEUE : 0);
	msg->link.nfds = (uint16_t)rq->tap.nfds;
	msg->link.ifindex = rq->tap.ifindex;
	memcpy(msg->link.name, rq->tap.name, sizeof(msg->link.name));
}

static int reply(int sock, struct request *rq)
{
	struct proto_msg msg = { 0 };

	if (rq->err) {
		/* before the request was read its version is unknown: version 1, as every client reads */
		msg.version = rq->version ? rq->version : PROTO_V1;
		msg.type = PROTO_REFUSE;
		msg.refuse.err = rq->err;
		/* the reason goes out as one line; the encoder would refuse a newline */
		log_clean(msg.refuse.reason, sizeof(msg.refuse.reason), rq->reason, strlen(rq->reason));
		return wire_send(sock, &msg, NULL, 0);
	}
	if (rq->vp.on)
		return veth_reply(sock, rq);
	grant_msg(rq, &msg);
	return wire_send(sock, &msg, rq->tap.fds, rq->tap.nfds);
}

/*
 * Tells the listener this request no longer counts against its user: the
 * worker may take a while yet to exit (closing a tap the client already
 * dropped tears it down in the kernel), and the user's next request must
 * not be turned away for it.  Sent before the reply, so it is always read
 * before the client can connect again.
 */
static void answered(int done)
{
	pid_t me = getpid();

	if (done >= 0 && write(done, &me, sizeof(me)) != sizeof(me))
		log_line("cannot tell the listener pid %d is done: %s", (int)me, strerror(errno));
}

void serve(int sock, const struct broker_conf *conf, int done)
{
	struct request rq = { .lock = -1, .vp.netns_fd = -1, .vp.netns_owner = -1 };
	int r;

	/* the backstop: SIGALRM ends a worker stuck anywhere, and its tap with it */
	alarm(conf->deadline_s + 2);
	r = peer_get(sock, &rq.peer);
	if (r < 0) {
		refuse(&rq, -r, "cannot identify the caller: %s", strerror(-r));
		audit(&rq);
		goto out;
	}
	rq.have_peer = true;
	if (prepare(conf, &rq) == 0 && become(&rq) == 0 &&
	    read_request(sock, conf, &rq) == 0 && decide(conf, &rq) == 0)
		make_tap(conf, &rq);
	answered(done);
	/*
	 * Recorded before the reply: this worker now has the requester's uid,
	 * so the requester may kill it the moment the tap arrives.
	 */
	audit(&rq);
	r = reply(sock, &rq);
	if (r < 0 && rq.err == 0) {
		/* the caller will never have it: close it now and say so */
		tap_close(&rq.tap);
		if (rq.vp.on)
			veth_undo(&rq);
		refuse(&rq, -r, "cannot send the %s to the caller: %s", rq.vp.on ? "veth" : "tap",
		       strerror(-r));
		audit(&rq);
	}
out:
	tap_close(&rq.tap);
	if (rq.lock >= 0)
		close(rq.lock);
	if (rq.vp.netns_fd >= 0)
		close(rq.vp.netns_fd);
	peer_free(&rq.peer);
	alarm(0);
}

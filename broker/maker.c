/* SPDX-License-Identifier: ISC */
/* Runs in the maker (see maker.h): privileged, untouchable by requesters. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "caps.h"
#include "chan.h"
#include "ledger.h"
#include "log.h"
#include "maker.h"
#include "netns.h"
#include "tap.h"
#include "veth.h"
#include "vethreq.h"

/* lock holders are makers doing bounded kernel work: a long wait means trouble */
#define LOCK_WAIT_MS 2000

static int fail(struct make_resp *resp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct make_resp *resp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(resp->reason, sizeof(resp->reason), fmt, ap);
	va_end(ap);
	resp->err = err;
	return -err;
}

void maker_owner(const struct broker_conf *conf, const struct identity *id, pid_t pid,
		 struct tap_owner *o)
{
	memset(o, 0, sizeof(*o));
	o->uid = id->uid;
	o->gid = id->gid;
	o->pid = pid;
	o->since = time(NULL);
	for (unsigned i = 0; i < conf->nquotas && o->ngroups < CENSUS_MAX_GROUPS; i++)
		if (conf->quotas[i].group && identity_in_group(id, conf->quotas[i].id))
			o->groups[o->ngroups++] = conf->quotas[i].id;
}

uint32_t maker_req_fill(const struct broker_conf *conf, const struct identity *who, pid_t pid,
			uint32_t id, const struct verdict *v, struct make_lxc *out)
{
	struct make_req *req = &out->make;

	memset(out, 0, sizeof(*out));
	req->id = id;
	req->flags = v->flags;
	req->queues = v->queues;
	req->bridge_ifindex = v->bridge_ifindex;
	memcpy(req->bridge, v->bridge, sizeof(req->bridge));
	maker_owner(conf, who, pid, &req->owner);
	req->kind = v->kind;
	memcpy(req->peer, v->peer, v->peer_len);
	req->nusernet = v->nusernet;
	memcpy(out->usernet, v->usernet, v->nusernet * sizeof(v->usernet[0]));
	return v->nusernet ? MAKER_MAKE_LXC : MAKER_MAKE;
}

static bool has_quotas(const struct broker_conf *conf)
{
	return conf->nquotas > 0 || conf->max_taps_default != CONF_UNLIMITED;
}

int maker_open_lock(const struct broker_conf *conf)
{
	int fd;

	if (!has_quotas(conf))
		return -ENOLCK;
	fd = open(conf->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
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

/*
 * The ledger brought up to date, under the quota lock: what other holders
 * of the lock made or removed is in it, as rtnetlink queues a change's
 * notification during the syscall that makes it.  A ledger that cannot be
 * brought up to date (or none: an --inetd instance) is not used: the count
 * is a dump of every link, as exact, only slower.
 */
static bool ledger_ok;

static void count_sync(void)
{
	int r = ledger_is_open() ? ledger_sync() : -ENOTCONN;

	if (r < 0 && r != -ENOTCONN)
		log_line("maker: the ledger of links failed (%s): taps counted with a dump",
			 strerror(-r));
	ledger_ok = r == 0;
}

static int count_walk(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx)
{
	return ledger_ok ? ledger_walk(fn, ctx) : census_walk(fn, ctx);
}

/* Counts this user's and groups' live taps in the kernel against the quotas. */
static int check_quota(const struct broker_conf *conf, const struct tap_owner *me,
		       struct make_resp *resp)
{
	struct tally ta;
	unsigned max = conf_user_quota(conf, me->uid);
	int r = -EINTR;

	/* a dump the kernel marks interrupted (links came or went) is taken again */
	for (int tries = 0; tries < 5 && r == -EINTR; tries++) {
		memset(&ta, 0, sizeof(ta));
		ta.me = me;
		r = count_walk(tally_cb, &ta);
	}

	if (r < 0)
		return fail(resp, -r, "cannot count taps: %s", strerror(-r));
	if (ta.user >= max)
		return fail(resp, EDQUOT, "tap quota reached: uid %u has %u of %u taps",
			    me->uid, ta.user, max);
	for (unsigned i = 0; i < me->ngroups; i++) {
		max = group_quota(conf, me->groups[i]);
		if (ta.group[i] >= max)
			return fail(resp, EDQUOT, "tap quota reached: group %u has %u of %u taps",
				    me->groups[i], ta.group[i], max);
	}
	return 0;
}

/*
 * Bounded: every holder is a maker (or an --inetd instance's privileged
 * parent) doing kernel work, none can be stopped by a requester.
 */
static int lock_quota(int lock, struct make_resp *resp)
{
	struct timespec ms = { 0, 1000 * 1000 };

	for (int waited = 0; waited <= LOCK_WAIT_MS; waited++) {
		if (flock(lock, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		nanosleep(&ms, NULL);
	}
	log_line("cannot take the quota lock: %s", errno == EWOULDBLOCK ?
		 "held for more than 2 s" : strerror(errno));
	return fail(resp, EAGAIN, "cannot count taps: the broker's quota lock is busy");
}

/* ---- the veth kind ---------------------------------------------------------- */

/*
 * lxc-usernet's counts are only sound under the quota lock, quotas or not:
 * without quotas the maker holds no lock file, so it opens one for the
 * request (as the broker; the caller closes it).  The fd, or -errno.
 */
static int veth_lock(const struct broker_conf *conf, int lock, bool lxc, struct make_resp *resp)
{
	int fd;

	if (lock >= 0 || !lxc)
		return lock;
	fd = open(conf->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_line("cannot open the quota lock `%s' (for lxc-usernet counts): %s",
			 conf->lock_path, strerror(errno));
		return fail(resp, ENOLCK, "cannot count lxc-usernet veths: the broker's quota "
			    "lock failed");
	}
	return fd;
}

/* The lxc-usernet line with room, under the lock: its name into owner->lxc. */
static int veth_charge(const struct make_req *req, const struct usernet_entry *usernet,
		       unsigned bridge, struct tap_owner *owner, struct make_resp *resp)
{
	struct vethreq_usernet *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return fail(resp, ENOMEM, "out of memory");
	u->n = req->nusernet;
	memcpy(u->e, usernet, req->nusernet * sizeof(u->e[0]));
	r = vethreq_charge(u, bridge, count_walk, owner->lxc, resp->reason, sizeof(resp->reason));
	free(u);
	if (r < 0)
		resp->err = -r;
	return r;
}

/* count, charge, create, re-check: the lock held by the caller when it must be */
static int veth_make_locked(const struct broker_conf *conf, const struct make_req *req,
			    const struct usernet_entry *usernet, int nsfd, const struct bridge *br,
			    struct make_resp *resp)
{
	struct tap_owner owner = req->owner;
	char alias[CENSUS_ALIAS_MAX];
	struct veth v;
	bool lxc = req->flags & PROTO_F_LXC_USERNET;
	int r = 0;

	if (has_quotas(conf) || lxc)
		count_sync();
	if (has_quotas(conf))
		r = check_quota(conf, &owner, resp);
	if (r == 0 && lxc)
		r = veth_charge(req, usernet, br->ifindex, &owner, resp);
	if (r < 0)
		return r;
	if (census_alias_format(&owner, alias, sizeof(alias)) < 0)
		return fail(resp, ENAMETOOLONG, "too many quota groups to record");
	r = veth_create(br, nsfd, req->peer, alias, &v, resp->reason, sizeof(resp->reason));
	/* attached by ifindex: make sure that still is the bridge decided on */
	if (r == 0 && (r = bridge_recheck(br, resp->reason, sizeof(resp->reason))) < 0)
		veth_delete(v.ifindex);
	if (r < 0) {
		resp->err = -r;
		return r;
	}
	resp->ifindex = v.ifindex;
	resp->peer_ifindex = v.peer_ifindex;
	memcpy(resp->name, v.name, sizeof(resp->name));
	memcpy(resp->peer_name, v.peer_name, sizeof(resp->peer_name));
	memcpy(resp->lxc, owner.lxc, sizeof(resp->lxc));
	return 0;
}

/*
 * The namespace is checked again here, against the uid the listener took
 * from SO_PEERCRED: the worker that checked it first is the requester's to
 * tamper with.  Then as a tap: under the lock, counted, made, re-checked.
 */
static int veth_make(const struct broker_conf *conf, int lock, const struct make_req *req,
		     const struct usernet_entry *usernet, int nsfd, const struct bridge *br,
		     struct make_resp *resp)
{
	bool lxc = req->flags & PROTO_F_LXC_USERNET;
	long owner;
	int fd, r;

	if (nsfd < 0 || req->nusernet > VERDICT_USERNET_MAX || lxc != (usernet != NULL) ||
	    (lxc && !req->nusernet) ||
	    !memchr(req->peer, '\0', sizeof(req->peer)))
		return fail(resp, EPROTO, "internal error: a veth request without its namespace");
	r = netns_check(nsfd, netns_host(), req->owner.uid, &owner, resp->reason,
			sizeof(resp->reason));
	if (r < 0) {
		resp->err = -r;
		return r;
	}
	fd = veth_lock(conf, lock, lxc, resp);
	if (fd < 0 && (has_quotas(conf) || lxc))
		/* quotas that cannot be counted refuse: they never fail open */
		return resp->err ? -resp->err :
		       fail(resp, -fd, "cannot count taps: the broker's quota lock failed: %s",
			    strerror(-fd));
	r = fd >= 0 ? lock_quota(fd, resp) : 0;
	if (r == 0) {
		r = veth_make_locked(conf, req, usernet, nsfd, br, resp);
		if (fd >= 0)
			flock(fd, LOCK_UN);
	}
	if (fd >= 0 && fd != lock)
		close(fd);
	return r;
}

void maker_unmake(const struct unmake_req *req)
{
	char name[IF_NAMESIZE];
	int r = 0;

	/* by ifindex, once sure it still is that veth: an ifindex can be reused */
	if (!if_indextoname(req->ifindex, name) || strncmp(name, req->name, sizeof(name)))
		r = -ENODEV;
	else
		r = veth_delete(req->ifindex);
	log_line("veth %.*s (ifindex %u), whose grant could not be sent: %s", IFNAMSIZ - 1,
		 req->name, req->ifindex, r < 0 ? strerror(-r) : "deleted");
}

static int make(const struct broker_conf *conf, int lock, const struct make_req *req,
		const struct usernet_entry *usernet, int nsfd, struct tap *tap,
		struct make_resp *resp)
{
	char alias[CENSUS_ALIAS_MAX];
	struct bridge br;
	int r;

	if (census_alias_format(&req->owner, alias, sizeof(alias)) < 0)
		return fail(resp, ENAMETOOLONG, "too many quota groups to record");
	/* the MTU from here, not from the worker: a port's MTU can shrink the bridge's */
	r = bridge_resolve(req->bridge, &br, resp->reason, sizeof(resp->reason));
	if (r < 0) {
		resp->err = -r;
		return r;
	}
	/* decided on one interface: a bridge renamed or replaced since is another */
	if (br.ifindex != req->bridge_ifindex || strcmp(br.name, req->bridge))
		return fail(resp, ESTALE, "bridge `%s' changed while the request was decided",
			    br.name);
	if (req->kind == PROTO_KIND_VETH)
		return tap->nfds ? fail(resp, EPROTO, "internal error: descriptors with a veth request") :
		       veth_make(conf, lock, req, usernet, nsfd, &br, resp);
	if (nsfd >= 0 || usernet)
		return fail(resp, EPROTO, "internal error: a namespace with a tap request");
	if (tap->nfds == 0 || tap->nfds != req->queues)
		return fail(resp, EPROTO, "internal error: %u descriptors for %u queues",
			    tap->nfds, req->queues);
	if (has_quotas(conf)) {
		/* quotas that cannot be counted refuse: they never fail open */
		if (lock < 0)
			r = fail(resp, -lock, "cannot count taps: the broker's quota lock failed: %s",
				 strerror(-lock));
		else
			r = lock_quota(lock, resp);
		if (r == 0) {
			count_sync();
			r = check_quota(conf, &req->owner, resp);
		}
	}
	if (r == 0)
		r = tap_create(&br, req->flags & PROTO_F_VNET_HDR, alias, tap,
			       resp->reason, sizeof(resp->reason));
	/* attached by ifindex: make sure that still is the bridge decided on */
	if (r == 0)
		r = bridge_recheck(&br, resp->reason, sizeof(resp->reason));
	if (has_quotas(conf) && lock >= 0)
		flock(lock, LOCK_UN);
	if (r < 0 && !resp->err)
		resp->err = -r;
	return r;
}

int maker_make(const struct broker_conf *conf, int lock, const struct make_req *req,
	       const struct usernet_entry *usernet, int nsfd, int fds[MAKER_FDS_MAX],
	       unsigned nfds, struct make_resp *resp)
{
	struct tap tap;
	int r;

	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
	tap_adopt(&tap, fds, nfds);
	r = make(conf, lock, req, usernet, nsfd, &tap, resp);
	if (r < 0) {
		tap_close(&tap);
		return r;
	}
	if (req->kind == PROTO_KIND_VETH)
		return 0;
	resp->ifindex = tap.ifindex;
	resp->flags = (tap.vnet_hdr ? PROTO_F_VNET_HDR : 0) |
		      (tap.multi_queue ? PROTO_F_MULTI_QUEUE : 0);
	memcpy(resp->name, tap.name, sizeof(resp->name));
	resp->nfds = tap.nfds;
	return 0;
}

/* orphans found in one census pass, removed once the dump is over */
struct orphans {
	unsigned n;
	struct tap_entry t[64];
};

static int reap_cb(const struct tap_entry *t, void *ctx)
{
	struct orphans *o = ctx;

	/* persistent and nobody holds an fd: nobody can use it but its owner, later */
	if (!t->persist || t->attached || o->n == sizeof(o->t) / sizeof(o->t[0]))
		return 0;
	o->t[o->n++] = *t;
	return 0;
}

/*
 * Deleting from inside the dump would talk on the socket the dump is still
 * coming in on; at most 64 a pass, the next pass takes the rest.
 */
void maker_reap(void)
{
	struct orphans *o = calloc(1, sizeof(*o));
	int r = o ? census_walk(reap_cb, o) : -ENOMEM;

	if (r < 0)
		log_line("orphan reaper: %s", strerror(-r));
	for (unsigned i = 0; o && i < o->n; i++) {
		const struct tap_entry *t = &o->t[i];

		r = census_delete(t->ifindex);
		log_line("orphan tap=%s ifindex=%u uid=%u pid=%d since=%lld: %s", t->name,
			 t->ifindex, t->owner.uid, t->owner.pid, (long long)t->owner.since,
			 r < 0 ? strerror(-r) : "removed");
	}
	free(o);
}

/*
 * The listener keeps its own copies of a tap's descriptors until this
 * answer: ours are closed before it goes, so that none of the maker's
 * closes can be a tap's last, and run its teardown (tens of ms of
 * rcu_barrier()) while every request behind this one waits.
 */
static void serve_make(int chan, const struct broker_conf *conf, int lock,
		       const struct maker_msg *m, int *fds, unsigned n)
{
	bool veth = m->make.kind == PROTO_KIND_VETH;
	struct make_resp resp;
	int r;

	maker_make(conf, lock, &m->make, m->op == MAKER_MAKE_LXC ? m->lxc.usernet : NULL,
		   veth && n == 1 ? fds[0] : -1, veth ? NULL : fds, veth ? 0 : n, &resp);
	for (unsigned i = 0; resp.err == 0 && i < resp.nfds; i++)
		close(fds[i]);
	r = chan_send(chan, &resp, sizeof(resp), NULL, 0);
	if (r < 0)
		log_line("maker: cannot answer the listener: %s", strerror(-r));
}

size_t maker_msg_len(uint32_t op)
{
	switch (op) {
	case MAKER_MAKE:
		return offsetof(struct maker_msg, make) + sizeof(struct make_req);
	case MAKER_MAKE_LXC:
		return offsetof(struct maker_msg, lxc) + sizeof(struct make_lxc);
	case MAKER_CONF:
		return offsetof(struct maker_msg, conf) + sizeof(struct broker_conf);
	case MAKER_REAP:
		return offsetof(struct maker_msg, make);
	case MAKER_UNMAKE:
		return offsetof(struct maker_msg, unmake) + sizeof(struct unmake_req);
	}
	return 0;
}

void maker_main(int chan, const struct broker_conf *initial)
{
	struct broker_conf *conf = malloc(sizeof(*conf));
	struct maker_msg *m = malloc(sizeof(*m));
	int lock, r;
	unsigned n;
	long got;

	if (!conf || !m)
		_exit(1);
	*conf = *initial;
	r = caps_net_admin_only();
	if (r < 0) {
		log_line("maker: cannot drop to CAP_NET_ADMIN: %s", strerror(-r));
		_exit(1);
	}
	lock = maker_open_lock(conf);
	r = ledger_open();
	if (r < 0)
		log_line("maker: no ledger of links (%s): taps are counted with a dump per request",
			 strerror(-r));
	for (;;) {
		/* a tap's queues (the listener's /dev/net/tun), or a veth's target namespace */
		int fds[MAKER_FDS_MAX];
		bool tap;

		got = chan_recv(chan, m, sizeof(*m), false, fds, MAKER_FDS_MAX, &n, false);
		if (got == -ECONNRESET)
			_exit(0);
		/* on error chan_recv() closed what came (n is then 0) */
		if (got < 0 || (size_t)got != maker_msg_len(got >= 4 ? m->op : 0)) {
			log_line("maker: bad message from the listener: %s",
				 strerror(got < 0 ? (int)-got : EBADMSG));
			_exit(1);
		}
		tap = (m->op == MAKER_MAKE || m->op == MAKER_MAKE_LXC) &&
		      m->make.kind != PROTO_KIND_VETH;
		switch (m->op) {
		case MAKER_MAKE:
		case MAKER_MAKE_LXC:
			/* a tap's descriptors are maker_make()'s: it closes or returns them */
			serve_make(chan, conf, lock, m, fds, n);
			break;
		case MAKER_UNMAKE:
			maker_unmake(&m->unmake);
			break;
		case MAKER_CONF:
			*conf = m->conf;
			if (lock >= 0)
				close(lock);
			lock = maker_open_lock(conf);
			break;
		case MAKER_REAP:
			maker_reap();
			break;
		}
		for (unsigned i = 0; !tap && i < n; i++)
			close(fds[i]);
	}
}

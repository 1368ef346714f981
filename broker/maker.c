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
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "caps.h"
#include "chan.h"
#include "log.h"
#include "maker.h"
#include "tap.h"

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
		r = census_walk(tally_cb, &ta);
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

int maker_make(const struct broker_conf *conf, int lock, const struct make_req *req,
	       struct make_resp *resp, int fds[MAKER_FDS_MAX])
{
	char alias[CENSUS_ALIAS_MAX];
	struct bridge br;
	struct tap tap;
	int r;

	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
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
	r = tap_open(&tap, req->queues, resp->reason, sizeof(resp->reason));
	if (r < 0) {
		resp->err = -r;
		return r;
	}
	if (has_quotas(conf)) {
		/* quotas that cannot be counted refuse: they never fail open */
		if (lock < 0)
			r = fail(resp, -lock, "cannot count taps: the broker's quota lock failed: %s",
				 strerror(-lock));
		else
			r = lock_quota(lock, resp);
		if (r == 0)
			r = check_quota(conf, &req->owner, resp);
	}
	if (r == 0)
		r = tap_create(&br, req->flags & PROTO_F_VNET_HDR, alias, &tap,
			       resp->reason, sizeof(resp->reason));
	/* attached by ifindex: make sure that still is the bridge decided on */
	if (r == 0)
		r = bridge_recheck(&br, resp->reason, sizeof(resp->reason));
	if (has_quotas(conf) && lock >= 0)
		flock(lock, LOCK_UN);
	if (r < 0) {
		tap_close(&tap);
		resp->err = -r;
		return r;
	}
	resp->ifindex = tap.ifindex;
	resp->flags = (tap.vnet_hdr ? PROTO_F_VNET_HDR : 0) |
		      (tap.multi_queue ? PROTO_F_MULTI_QUEUE : 0);
	memcpy(resp->name, tap.name, sizeof(resp->name));
	memcpy(fds, tap.fds, tap.nfds * sizeof(int));
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

static void serve_make(int chan, const struct broker_conf *conf, int lock,
		       const struct make_req *req)
{
	struct make_resp resp;
	int fds[MAKER_FDS_MAX];

	maker_make(conf, lock, req, &resp, fds);
	if (chan_send(chan, &resp, sizeof(resp), fds, resp.err ? 0 : resp.nfds) < 0)
		log_line("maker: cannot answer the listener: %s", strerror(errno));
	for (unsigned i = 0; resp.err == 0 && i < resp.nfds; i++)
		close(fds[i]);
}

size_t maker_msg_len(uint32_t op)
{
	switch (op) {
	case MAKER_MAKE:
		return offsetof(struct maker_msg, make) + sizeof(struct make_req);
	case MAKER_CONF:
		return offsetof(struct maker_msg, conf) + sizeof(struct broker_conf);
	case MAKER_REAP:
		return offsetof(struct maker_msg, make);
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
	for (;;) {
		int none;

		got = chan_recv(chan, m, sizeof(*m), false, &none, 0, &n, false);
		if (got == -ECONNRESET)
			_exit(0);
		if (got < 0 || (size_t)got != maker_msg_len(got >= 4 ? m->op : 0)) {
			log_line("maker: bad message from the listener: %s",
				 strerror(got < 0 ? (int)-got : EBADMSG));
			_exit(1);
		}
		switch (m->op) {
		case MAKER_MAKE:
			serve_make(chan, conf, lock, &m->make);
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
	}
}

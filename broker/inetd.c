/* SPDX-License-Identifier: ISC */
/* Runs in an --inetd instance, the request's privileged parent (see inetd.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "answer.h"
#include "caps.h"
#include "chan.h"
#include "inetd.h"
#include "log.h"
#include "maker.h"
#include "tap.h"
#include "worker.h"

#define KILL_GRACE_MS 1000

/*
 * The worker's verdict within the deadline, or -errno; *nsfd: the namespace
 * an allowed veth verdict comes with (and only it), else -1.
 */
static int await_verdict(int chan, const struct broker_conf *conf, struct verdict *v, int *nsfd)
{
	struct pollfd pfd = { .fd = chan, .events = POLLIN };
	unsigned n;
	long got;
	int r;

	*nsfd = -1;
	do
		r = poll(&pfd, 1, (int)conf->deadline_s * 1000 + KILL_GRACE_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	got = chan_recv(chan, v, sizeof(*v), true, nsfd, 1, &n, true);
	/* on error chan_recv() closed what came: the slot holds a stale number */
	if (got < 0 || n == 0)
		*nsfd = -1;
	if (got < 0)
		return (int)got;
	r = verdict_check(v, 1);
	if (r == 0 && (n == 1) != (v->err == 0 && v->kind == PROTO_KIND_VETH))
		r = -EBADMSG;
	if (r < 0 && *nsfd >= 0) {
		close(*nsfd);
		*nsfd = -1;
	}
	return r;
}

/* a veth made but never granted: nothing may stay behind (this process has CAP_NET_ADMIN) */
static void unmake(const struct verdict *v, const struct make_resp *made)
{
	struct unmake_req u = { .ifindex = made->ifindex };

	if (v->kind != PROTO_KIND_VETH || made->err)
		return;
	memcpy(u.name, made->name, sizeof(u.name));
	maker_unmake(&u);
}

static void decide_and_make(int conn, int chan, const struct broker_conf *conf,
			    const struct identity *who, pid_t pid, struct verdict *v)
{
	struct job job = { .id = 1, .deadline_ms = conf->deadline_s * 1000 };
	struct make_lxc req;
	struct make_resp resp;
	int fds[MAKER_FDS_MAX], lock = maker_open_lock(conf), nsfd = -1;
	int r = chan_send(chan, &job, sizeof(job), &conn, 1);

	if (r == 0)
		r = await_verdict(chan, conf, v, &nsfd);
	if (r < 0) {
		memset(v, 0, sizeof(*v));
		if (r == -ETIMEDOUT)
			answer_refuse(conn, who, pid, v, ETIMEDOUT,
				      "no answer within %u s (the worker was ended)", conf->deadline_s);
		else
			answer_refuse(conn, who, pid, v, EPROTO, "the worker serving this request failed");
	} else if (v->err) {
		answer(conn, who, pid, v, NULL, NULL);
	} else {
		bool lxc = maker_req_fill(conf, who, pid, 1, v, &req) == MAKER_MAKE_LXC;
		unsigned n = v->kind == PROTO_KIND_VETH ? 0 : v->queues;

		memset(&resp, 0, sizeof(resp));
		r = n ? tap_open(fds, n, resp.reason, sizeof(resp.reason)) : 0;
		if (r < 0)
			resp.err = -r;
		else
			maker_make(conf, lock, &req.make, lxc ? req.usernet : NULL, nsfd, fds, n,
				   &resp);
		if (answer(conn, who, pid, v, &resp, fds) < 0)
			unmake(v, &resp);
		for (unsigned i = 0; resp.err == 0 && i < resp.nfds; i++)
			close(fds[i]);
	}
	if (nsfd >= 0)
		close(nsfd);
	if (lock >= 0)
		close(lock);
}

void inetd_serve(int conn, const struct broker_conf *conf)
{
	struct verdict *v = calloc(1, sizeof(*v));
	struct identity *who = malloc(sizeof(*who));
	struct peer *p = malloc(sizeof(*p));
	int ch[2] = { -1, -1 }, r = v && who && p ? peer_get(conn, p) : -ENOMEM;
	pid_t worker = -1;

	if (r == 0)
		r = peer_identity(p, who);
	if (r < 0) {
		if (v) {
			snprintf(v->reason, sizeof(v->reason), "cannot identify the caller: %s",
				 strerror(-r));
			v->err = -r;
			answer(conn, NULL, 0, v, NULL, NULL);
		}
		goto out;
	}
	r = chan_pair(ch);
	if (r == 0 && (worker = fork()) == 0) {
		close(ch[0]);
		worker_main(ch[1], who, conf);
	}
	if (r < 0 || worker < 0) {
		answer_refuse(conn, who, p->pid, v, r < 0 ? -r : errno, "cannot start a worker");
		goto out;
	}
	close(ch[1]);
	ch[1] = -1;
	/* the worker exists: what it needed to become the requester is dropped */
	r = caps_only(CAPS_BIT(CAP_NET_ADMIN) | CAPS_BIT(CAP_KILL));
	if (r < 0)
		answer_refuse(conn, who, p->pid, v, -r, "cannot drop privileges");
	else
		decide_and_make(conn, ch[0], conf, who, p->pid, v);
out:
	if (worker > 0) {
		/* the requester's to stop: only SIGKILL ends it for sure */
		kill(worker, SIGKILL);
		while (waitpid(worker, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++)
		if (ch[i] >= 0)
			close(ch[i]);
	free(v);
	free(who);
	free(p);
}

/* SPDX-License-Identifier: ISC */
/*
 * Runs in a worker, as the requester (see worker.h).  Everything here may be
 * stopped, killed or rlimited by the requester at any instant: the listener
 * bounds it with a deadline and SIGKILL, and believes only a verdict that
 * verdict_check() accepts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bridge.h"
#include "chan.h"
#include "ifname.h"
#include "netns.h"
#include "policy.h"
#include "tap.h"
#include "vethreq.h"
#include "wire.h"
#include "worker.h"

static bool nul_in(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool veth_ok(const struct verdict *v)
{
	bool lxc = v->flags & PROTO_F_LXC_USERNET;

	return !(v->flags & ~PROTO_F_LXC_USERNET) && v->netns_owner >= 0 &&
	       v->netns_owner <= UINT32_MAX &&
	       (v->peer_len == 0 || ifname_valid(v->peer, v->peer_len)) &&
	       (lxc ? v->nusernet >= 1 : v->nusernet == 0);
}

int verdict_check(const struct verdict *v, uint32_t id)
{
	if (v->id != id || v->err < 0 || v->err > 4095 || v->denied > 1 || v->version > 2 ||
	    v->asked_len >= IFNAMSIZ || !nul_in(v->bridge, sizeof(v->bridge)) ||
	    !nul_in(v->reason, sizeof(v->reason)) || !nul_in(v->exe, sizeof(v->exe)) ||
	    v->peer_len >= IFNAMSIZ || v->nusernet > VERDICT_USERNET_MAX)
		return -EBADMSG;
	for (unsigned i = 0; i < v->nusernet; i++)
		if (!nul_in(v->usernet[i].name, sizeof(v->usernet[i].name)) || !v->usernet[i].name[0])
			return -EBADMSG;
	if (v->err == 0 &&
	    (v->denied || v->version == 0 || v->queues == 0 || v->queues > PROTO_QUEUES_MAX ||
	     v->bridge_ifindex == 0 || !ifname_valid(v->bridge, strlen(v->bridge))))
		return -EBADMSG;
	if (v->err == 0 && v->kind == PROTO_KIND_VETH)
		return v->version >= PROTO_V2 && veth_ok(v) ? 0 : -EBADMSG;
	if (v->err == 0 && (v->kind != PROTO_KIND_TAP || (v->flags & ~PROTO_F_VNET_HDR)))
		return -EBADMSG;
	return 0;
}

static int refuse(struct verdict *v, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct verdict *v, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->err = err;
	return -err;
}

/*
 * What a decoded REQUEST asks for, version 1 or 2, within this broker's
 * bounds.  Version 1 is one tap with one queue.
 */
static int take_request(const struct broker_conf *conf, const struct proto_msg *msg,
			struct verdict *v)
{
	v->version = (uint8_t)(msg->version ? msg->version : PROTO_V1);
	v->kind = (uint8_t)msg->link.kind;
	v->flags = msg->link.flags;
	v->queues = msg->link.queues ? msg->link.queues : 1;
	/* the bridge first, so that a refusal's record names it too */
	v->asked_len = (uint8_t)strlen(msg->link.name);
	memcpy(v->asked, msg->link.name, v->asked_len);
	if (msg->link.kind == PROTO_KIND_VETH) {
		/* one pair, no queues: the decoder took a NUL-terminated name */
		v->queues = 1;
		v->peer_len = (uint8_t)strlen(msg->link.peer_name);
		memcpy(v->peer, msg->link.peer_name, v->peer_len);
		return 0;
	}
	if (v->queues > conf->max_queues)
		return refuse(v, EINVAL, "%u queues asked, at most %u (max-queues in ontap.conf)",
			      v->queues, conf->max_queues);
	return 0;
}

/*
 * exactly one REQUEST and nothing after it, within the deadline; *nsfd: a
 * veth request's namespace descriptor, kept for the verdict, or -1
 */
static int read_request(int sock, const struct job *job, const struct broker_conf *conf,
			struct verdict *v, int *nsfd)
{
	struct timeval tv = { .tv_sec = job->deadline_ms / 1000,
			      .tv_usec = (job->deadline_ms % 1000) * 1000 };
	struct proto_msg msg;
	int r;
	char c;

	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1000;
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return refuse(v, errno, "cannot set the request's deadline: %s", strerror(errno));
	/* room for one: a veth request's namespace; wire_recv() refuses one anywhere else */
	r = wire_recv(sock, &msg, nsfd, 1);
	if (r == -EAGAIN)
		return refuse(v, ETIMEDOUT, "no complete request within %u s", conf->deadline_s);
	if (r < 0)
		return refuse(v, -r, "bad request: %s", strerror(-r));
	/* wire_recv() took exactly what the message announces: a veth REQUEST's one */
	if (msg.type != PROTO_REQUEST)
		return refuse(v, EPROTO, "bad request: message type %d is not a request", msg.type);
	if (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return refuse(v, EPROTO, "bad request: bytes after the request");
	return take_request(conf, &msg, v);
}

/* the requester's executable, for the record (policy_check() does it for bridge.conf) */
static void exe_of(pid_t pid, struct verdict *v)
{
	char proc[32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	n = readlink(proc, v->exe, sizeof(v->exe) - 1);
	v->exe[n > 0 ? n : 0] = '\0';
}

/*
 * The veth kind, before its policy: the name for the namespace, then the
 * namespace -- the descriptor the client sent, checked against the kernel's
 * identity of the requester, never a path or pid it named.  The maker
 * checks it again: this process is the requester's to tamper with.
 */
static int veth_target(const struct identity *id, int nsfd, struct verdict *v)
{
	long owner = -1;
	int r;

	if (v->peer_len && !ifname_valid(v->peer, v->peer_len))
		return refuse(v, EINVAL, "invalid interface name for the target namespace");
	r = netns_check(nsfd, netns_host(), id->uid, &owner, v->reason, sizeof(v->reason));
	v->netns_owner = owner;
	if (r < 0) {
		v->denied = r == -EPERM;
		v->err = -r;
	}
	return r;
}

/*
 * PROTO_F_LXC_USERNET: lxc-usernet decides instead of bridge.conf, read as
 * the requester like bridge.conf; the lines that apply go to the maker,
 * which charges the veth to one of them under the quota lock.  @GROUP lines
 * match this connection's own groups (SO_PEERGROUPS), as lxc-user-nic
 * matches its caller's getgroups(), not the identity's database-joined set:
 * the file only grants, so a group shed only loses a grant, and a group the
 * process does not hold must not win one.
 */
static int veth_usernet(const struct peer *p, struct verdict *v)
{
	struct vethreq_usernet *u = malloc(sizeof(*u));
	int r;

	exe_of(p->pid, v);
	if (!u)
		return refuse(v, ENOMEM, "out of memory");
	r = vethreq_usernet(ONTAP_LXC_USERNET_PATH, p, v->bridge, u, v->reason,
			    sizeof(v->reason));
	if (r == 0 && u->n > VERDICT_USERNET_MAX)
		r = refuse(v, E2BIG, "%s: more than %d lines apply to uid %u on `%s'",
			   ONTAP_LXC_USERNET_PATH, VERDICT_USERNET_MAX, (unsigned)p->uid, v->bridge);
	else if (r < 0) {
		v->denied = r == -ENOENT;
		v->err = r == -ENOENT ? EACCES : -r;
	} else {
		v->nusernet = (uint8_t)u->n;
		memcpy(v->usernet, u->e, u->n * sizeof(u->e[0]));
	}
	free(u);
	return r;
}

/* bridge.conf, read as the requester: 0, or -errno with the verdict said */
static int acl(const struct broker_conf *conf, pid_t pid, struct verdict *v)
{
	struct policy_answer ans;
	enum acl_verdict verdict = policy_check(pid, conf->acl_path, v->bridge, conf->semantics,
						&ans);

	memcpy(v->exe, ans.exe, sizeof(v->exe));
	switch (verdict) {
	case ACL_ALLOW:
		snprintf(v->reason, sizeof(v->reason), "%s", ans.acl.msg);
		return 0;
	case ACL_DENY:
		v->denied = 1;
		return refuse(v, EACCES, "%s", ans.acl.msg);
	default:
		/* the policy could not be read: it failed closed, a denial all the same */
		v->denied = 1;
		return refuse(v, ans.acl.err ? ans.acl.err : EINVAL, "%s", ans.acl.msg);
	}
}

/*
 * An altname names the same bridge as its canonical name: the ACL sees the
 * canonical one, or `deny br-secret' is dodged by asking for an altname.  A
 * name that is no interface, or no bridge, is still put to the ACL first, as
 * the reference does, so a denied user learns nothing more than before.
 */
static int decide(const struct broker_conf *conf, const struct identity *id,
		  const struct peer *p, int nsfd, struct verdict *v)
{
	char asked[IFNAMSIZ] = "", why[sizeof(v->reason)];
	struct bridge br;
	int found, r;

	if (!ifname_valid(v->asked, v->asked_len))
		return refuse(v, EINVAL, "invalid bridge name");
	memcpy(asked, v->asked, v->asked_len);
	found = bridge_resolve(asked, &br, why, sizeof(why));
	if (found < 0 && found != -ENODEV && found != -EMEDIUMTYPE)
		return refuse(v, -found, "%s", why);
	memcpy(v->bridge, br.name, sizeof(v->bridge));
	v->bridge_ifindex = found == 0 ? br.ifindex : 0;
	if (v->kind == PROTO_KIND_VETH && veth_target(id, nsfd, v) < 0)
		return -v->err;
	if (v->kind == PROTO_KIND_VETH && (v->flags & PROTO_F_LXC_USERNET))
		r = veth_usernet(p, v);
	else
		r = acl(conf, p->pid, v);
	if (r < 0)
		return r;
	/* allowed, but no such bridge: bridge_resolve() said why, in qemu's words */
	if (found < 0)
		return refuse(v, -found, "%s", why);
	return 0;
}

/* *nsfd: an allowed veth request's namespace descriptor, else -1 */
static void serve_one(int sock, const struct job *job, const struct identity *id,
		      const struct broker_conf *conf, struct verdict *v, int *nsfd)
{
	struct peer *p = malloc(sizeof(*p));
	int r;

	memset(v, 0, sizeof(*v));
	v->id = job->id;
	v->netns_owner = -1;
	*nsfd = -1;
	if (!p) {
		refuse(v, ENOMEM, "out of memory");
		return;
	}
	/* the listener chose this worker by identity; make sure, from the kernel */
	r = peer_get(sock, p);
	if (r < 0)
		refuse(v, -r, "cannot identify the caller: %s", strerror(-r));
	else if (!identity_admits(id, p))
		refuse(v, EPERM, "the caller's credentials are not this worker's");
	else if (read_request(sock, job, conf, v, nsfd) == 0)
		decide(conf, id, p, *nsfd, v);
	free(p);
	if (*nsfd >= 0 && v->err) {
		close(*nsfd);
		*nsfd = -1;
	}
}

void worker_main(int chan, const struct identity *id, const struct broker_conf *conf)
{
	struct verdict v;
	struct job job;
	int r = identity_become(id), conn, nsfd;
	unsigned n;
	long got;

	if (r < 0) {
		fprintf(stderr, "ontap-broker: worker for uid %u: cannot take the requester's "
			"identity: %s\n", (unsigned)id->uid, strerror(-r));
		_exit(1);
	}
	for (;;) {
		got = chan_recv(chan, &job, sizeof(job), true, &conn, 1, &n, false);
		if (got == -ECONNRESET)
			_exit(0);
		if (got < 0 || n != 1)
			_exit(1);
		serve_one(conn, &job, id, conf, &v, &nsfd);
		close(conn);
		r = chan_send(chan, &v, sizeof(v), &nsfd, nsfd >= 0 ? 1 : 0);
		if (nsfd >= 0)
			close(nsfd);
		if (r < 0)
			_exit(1);
	}
}

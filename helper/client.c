/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "ifreq.h"
#include "linux_abi.h"
#include "passwd.h"
#include "wire.h"

/* The broker's service user, fixed at build time (empty: root only). */
#ifndef ONTAP_BROKER_USER
#define ONTAP_BROKER_USER ""
#endif

#define PASSWD_PATH "/etc/passwd"
#define PASSWD_MAX  (4u << 20)

static enum client_status failed(struct client_error *e, enum client_status st, int err,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum client_status failed(struct client_error *e, enum client_status st, int err,
				 const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return st;
}

bool client_errno_temporary(int err)
{
	switch (err) {
	case EAGAIN: case ETIMEDOUT: case EINTR: case EBUSY: case ENOMEM: case ENOBUFS:
	case EMFILE: case ENFILE:
		return true;
	default:
		return false;
	}
}

const char *client_socket_path(void)
{
	const char *path = getenv("ONTAP_SOCKET");

	return path && *path ? path : ONTAP_SOCKET_PATH;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static enum client_status dial(const char *path, int *sock, struct client_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int s, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return failed(e, CLIENT_PERMANENT, ENAMETOOLONG,
			      "broker socket path `%s' is too long", path);
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return failed(e, CLIENT_TEMPORARY, errno, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(s);
		/* a socket we may not open is policy; a missing or dead broker may come back */
		return failed(e, err == EACCES || err == EPERM ? CLIENT_PERMANENT : CLIENT_TEMPORARY,
			      err, "cannot reach ontap-broker at `%s': %s (is ontap-broker running?)",
			      path, strerror(err));
	}
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		err = errno;
		close(s);
		return failed(e, CLIENT_TEMPORARY, err, "setsockopt: %s", strerror(err));
	}
	*sock = s;
	return CLIENT_OK;
}

/* The configured broker user's uid, from /etc/passwd (the clients are static: no NSS). */
static int broker_user_uid(unsigned *uid)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(PASSWD_PATH, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size > PASSWD_MAX) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	r = n < 0 ? -errno : passwd_uid(buf, (size_t)n, ONTAP_BROKER_USER, uid);
	free(buf);
	close(fd);
	return r;
}

/*
 * Whoever serves the socket hands us descriptors and words we show the
 * user: only root or the broker's own user may.  The path may come from
 * the environment (ONTAP_SOCKET), so the check may not: the user is fixed
 * at build time, and its uid read from /etc/passwd, which only root writes.
 */
static enum client_status check_server(int s, const char *path, struct client_error *e)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	unsigned uid;
	int r;

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return failed(e, CLIENT_TEMPORARY, errno, "cannot tell who serves `%s': "
			      "getsockopt(SO_PEERCRED): %s", path, strerror(errno));
	if (cr.uid == 0)
		return CLIENT_OK;
	if (!ONTAP_BROKER_USER[0])
		return failed(e, CLIENT_PERMANENT, EPERM, "refusing the server at `%s': it runs as "
			      "uid %u, and ontap-broker must run as root (uid 0)", path,
			      (unsigned)cr.uid);
	r = broker_user_uid(&uid);
	if (r < 0)
		return failed(e, CLIENT_PERMANENT, EPERM, "refusing the server at `%s': it runs as "
			      "uid %u, not root, and the broker's user `%s' cannot be looked up in "
			      PASSWD_PATH ": %s", path, (unsigned)cr.uid, ONTAP_BROKER_USER,
			      strerror(-r));
	if (cr.uid != uid)
		return failed(e, CLIENT_PERMANENT, EPERM, "refusing the server at `%s': it runs as "
			      "uid %u, and ontap-broker must run as root (uid 0) or `%s' (uid %u)",
			      path, (unsigned)cr.uid, ONTAP_BROKER_USER, uid);
	return CLIENT_OK;
}

/*
 * Sends msg (with nout descriptors) and reads the answer into msg (with up
 * to max descriptors into in, *got of them): CLIENT_OK, or a failure in e.
 */
static enum client_status send_recv(int s, const char *path, struct proto_msg *msg,
				    const int *out, size_t nout, int *in, size_t max,
				    unsigned *got, struct client_error *e)
{
	unsigned version = msg->version;
	int r, sent = wire_send(s, msg, out, nout);

	if (sent == -EINVAL)
		return failed(e, CLIENT_PERMANENT, EINVAL, "cannot encode the request");
	/* the broker may have refused and closed before reading: its answer is queued */
	if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET)
		return failed(e, CLIENT_TEMPORARY, -sent, "cannot send the request to ontap-broker: %s",
			      strerror(-sent));
	r = wire_recv(s, msg, in, max);
	if (r < 0 && sent < 0)
		return failed(e, CLIENT_TEMPORARY, -sent, "cannot send the request to ontap-broker: %s",
			      strerror(-sent));
	if (r == -EAGAIN)
		return failed(e, CLIENT_TEMPORARY, ETIMEDOUT,
			      "ontap-broker did not answer within %d s", CLIENT_TIMEOUT_S);
	if (r == -ECONNRESET)
		return failed(e, CLIENT_TEMPORARY, ECONNRESET, "ontap-broker at `%s' closed the "
			      "connection without answering (its log says why%s)", path,
			      version >= PROTO_V2 ?
			      "; a broker older than protocol version 2 may do that" : "");
	if (r < 0)
		return failed(e, CLIENT_PERMANENT, -r, "bad answer from ontap-broker: %s", strerror(-r));
	*got = (unsigned)r;
	return CLIENT_OK;
}

static enum client_status exchange(int s, const char *path, const struct client_request *rq,
				   struct proto_msg *msg, struct client_grant *g,
				   struct client_error *e)
{
	memset(msg, 0, sizeof(*msg));
	msg->version = rq->version;
	msg->type = PROTO_REQUEST;
	msg->link.kind = PROTO_KIND_TAP;
	msg->link.flags = rq->vnet_hdr ? PROTO_F_VNET_HDR : 0;
	msg->link.queues = (uint16_t)rq->queues;
	if (strlen(rq->bridge) >= sizeof(msg->link.name))
		return failed(e, CLIENT_PERMANENT, ENAMETOOLONG, "bridge name too long");
	strcpy(msg->link.name, rq->bridge);
	return send_recv(s, path, msg, NULL, 0, g->fds, PROTO_QUEUES_MAX, &g->nfds, e);
}

static enum client_status refused(const char *path, const struct client_request *rq,
				  const struct proto_msg *msg, struct client_error *e)
{
	int err = msg->refuse.err;

	/* what a version-1 broker says to anything newer */
	if (rq->version >= PROTO_V2 && msg->version == PROTO_V1 && err == EPROTONOSUPPORT)
		return failed(e, CLIENT_PERMANENT, err, "ontap-broker at `%s' is too old: it speaks "
			      "protocol version 1 only (this client needs version 2)", path);
	return failed(e, client_errno_temporary(err) ? CLIENT_TEMPORARY : CLIENT_PERMANENT, err,
		      "%s", msg->refuse.reason);
}

/*
 * The master of interface ifindex (0: none), asked of rtnetlink in our own
 * network namespace, where the tap and the bridge name live for us.
 * 0 or -errno.
 */
static int link_master(int s, unsigned ifindex, unsigned *master)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	struct timeval tv = { .tv_sec = 5 };
	static uint8_t buf[32768] __attribute__((aligned(4)));
	const struct nlmsghdr *nh = (const void *)buf;
	ssize_t n;
	size_t off;

	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &salen);
	if (n < 0)
		return -errno;
	/* the kernel's answer to this request, nothing else */
	if (salen != sizeof(sa) || sa.nl_pid != 0 || ((size_t)n >= sizeof(*nh) && nh->nlmsg_seq != 1))
		return -EBADMSG;
	/* one answer: the link, or an error; every length checked before it is read */
	if ((size_t)n < sizeof(*nh) || nh->nlmsg_len > (size_t)n || nh->nlmsg_len < sizeof(*nh))
		return -EBADMSG;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *ne = (const void *)(nh + 1);

		if (nh->nlmsg_len < sizeof(*nh) + sizeof(*ne) || ne->error >= 0)
			return -EBADMSG;
		return ne->error;
	}
	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < sizeof(*nh) + sizeof(struct ifinfomsg))
		return -EBADMSG;
	*master = 0;
	for (off = ONTAP_NL_ALIGN(sizeof(*nh) + sizeof(struct ifinfomsg));
	     off + sizeof(struct rtattr) <= nh->nlmsg_len;) {
		const struct rtattr *a = (const void *)(buf + off);

		if (a->rta_len < sizeof(*a) || off + a->rta_len > nh->nlmsg_len)
			return -EBADMSG;
		if (a->rta_type == IFLA_MASTER) {
			if (a->rta_len != sizeof(*a) + sizeof(uint32_t))
				return -EBADMSG;
			memcpy(master, a + 1, sizeof(uint32_t));
		}
		off += ONTAP_NL_ALIGN(a->rta_len);
	}
	return 0;
}

/* The ifindex of interface name: 0 or -errno. */
static int name_index(int s, const char *name, unsigned *ifindex)
{
	struct ifreq ifr = { 0 };
	int r = ifreq_by_name(s, SIOCGIFINDEX, name, &ifr);

	if (r == 0)
		*ifindex = (unsigned)ifr.ifr_ifindex;
	return r;
}

/*
 * Every descriptor must be a queue of one tap, the one the grant names,
 * attached to the bridge asked for: a server that passed the uid check
 * could still be mistaken, and qemu or PROG will trust what we hand over.
 */
static enum client_status check_taps(const struct client_request *rq, const struct proto_msg *msg,
				     struct client_grant *g, struct client_error *e)
{
	unsigned want = rq->version >= PROTO_V2 ? rq->queues : 1, br = 0, master = 0;
	int r, s;

	if (msg->type != PROTO_GRANT || msg->version != rq->version ||
	    msg->link.kind != PROTO_KIND_TAP || g->nfds != want)
		return failed(e, CLIENT_PERMANENT, EBADMSG, "bad answer from ontap-broker: not %u "
			      "descriptor%s of a tap", want, want == 1 ? "" : "s");
	for (unsigned i = 0; i < g->nfds; i++) {
		struct ifreq ifr = { 0 };

		if (ioctl(g->fds[i], TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP))
			return failed(e, CLIENT_PERMANENT, EBADMSG, "bad answer from ontap-broker: "
				      "descriptor %u is not a tap", i + 1);
		ifr.ifr_name[IFNAMSIZ - 1] = '\0';
		if (strcmp(ifr.ifr_name, msg->link.name) ||
		    (want > 1 && !(ifr.ifr_flags & IFF_MULTI_QUEUE)))
			return failed(e, CLIENT_PERMANENT, EBADMSG, "bad answer from ontap-broker: "
				      "descriptor %u is tap `%s', not a queue of `%s'", i + 1,
				      ifr.ifr_name, msg->link.name);
	}
	memcpy(g->ifname, msg->link.name, IFNAMSIZ);
	g->flags = msg->link.flags;
	/*
	 * by ifindex, so that an alternative name of the bridge matches too;
	 * one socket for the three questions: each costs more than its ioctl
	 */
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	r = s < 0 ? -errno : name_index(s, g->ifname, &g->ifindex);
	if (r == 0 && name_index(s, rq->bridge, &br) < 0)
		br = 0;
	if (r == 0)
		r = link_master(s, g->ifindex, &master);
	if (s >= 0)
		close(s);
	if (r < 0)
		return failed(e, CLIENT_TEMPORARY, -r, "cannot check tap `%s': %s", g->ifname,
			      strerror(-r));
	if (!br || master != br || (msg->version >= PROTO_V2 && msg->link.ifindex != g->ifindex))
		return failed(e, CLIENT_PERMANENT, EBADMSG, "bad answer from ontap-broker: tap `%s' "
			      "is not attached to bridge `%s'", g->ifname, rq->bridge);
	return CLIENT_OK;
}

enum client_status client_ask(const char *path, const struct client_request *rq,
			      struct client_grant *g, struct client_error *e)
{
	struct proto_msg msg;
	enum client_status st;
	int s = -1;

	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < PROTO_QUEUES_MAX; i++)
		g->fds[i] = -1;
	memset(e, 0, sizeof(*e));
	st = dial(path, &s, e);
	if (st == CLIENT_OK)
		st = check_server(s, path, e);
	if (st == CLIENT_OK)
		st = exchange(s, path, rq, &msg, g, e);
	if (s >= 0)
		close(s);
	if (st != CLIENT_OK)
		return st;
	if (msg.type == PROTO_REFUSE) {
		close_fds(g->fds, g->nfds);   /* none: wire_recv() refuses a REFUSE with any */
		return refused(path, rq, &msg, e);
	}
	st = check_taps(rq, &msg, g, e);
	if (st != CLIENT_OK)
		close_fds(g->fds, g->nfds);
	return st;
}

/* ---- the veth kind ---------------------------------------------------------- */

static enum client_status exchange_veth(int s, const char *path,
					const struct client_veth_request *rq,
					struct proto_msg *msg, struct client_error *e)
{
	unsigned none;

	memset(msg, 0, sizeof(*msg));
	msg->version = PROTO_V2;
	msg->type = PROTO_REQUEST;
	msg->link.kind = PROTO_KIND_VETH;
	msg->link.flags = rq->flags;
	msg->link.queues = 1;
	if (strlen(rq->bridge) >= sizeof(msg->link.name) ||
	    strlen(rq->peer) >= sizeof(msg->link.peer_name))
		return failed(e, CLIENT_PERMANENT, ENAMETOOLONG, "interface name too long");
	strcpy(msg->link.name, rq->bridge);
	strcpy(msg->link.peer_name, rq->peer);
	/* no descriptor comes back: one that does is closed and the answer refused */
	return send_recv(s, path, msg, &rq->netns_fd, 1, NULL, 0, &none, e);
}

/* a small /proc file's first line, NUL-terminated: 0 or -errno */
static int read_line(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Inside a user namespace (ontap-veth's first use: `unshare -Urn'), a
 * server whose uid is not mapped there -- the host's root included -- reads
 * as the overflow uid in SO_PEERCRED (kernel-facts.md), and no call made
 * from inside can tell root from another unmapped user.  There, and only
 * there, that uid is accepted too.  Nothing comes back on a veth grant but
 * names and numbers; what a stranger's socket could get is the namespace
 * descriptor of a namespace this user owns.
 */
static bool unmapped_server(int s)
{
	char map[128], ov[16];
	struct ucred cr;
	socklen_t len = sizeof(cr);
	unsigned a, b, c, overflow;

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    read_line("/proc/self/uid_map", map, sizeof(map)) < 0 ||
	    read_line("/proc/sys/kernel/overflowuid", ov, sizeof(ov)) < 0 ||
	    sscanf(ov, "%u", &overflow) != 1)
		return false;
	/* the initial user namespace maps every uid onto itself */
	if (sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u)
		return false;
	return cr.uid == overflow;
}

enum client_status client_ask_veth(const char *path, const struct client_veth_request *rq,
				   struct client_veth_grant *g, struct client_error *e)
{
	const struct client_request v2 = { .version = PROTO_V2, .bridge = rq->bridge };
	struct proto_msg msg;
	enum client_status st;
	int s = -1;

	memset(g, 0, sizeof(*g));
	memset(e, 0, sizeof(*e));
	st = dial(path, &s, e);
	if (st == CLIENT_OK)
		st = check_server(s, path, e);
	if (st == CLIENT_PERMANENT && e->err == EPERM && unmapped_server(s)) {
		memset(e, 0, sizeof(*e));
		st = CLIENT_OK;
	}
	if (st == CLIENT_OK)
		st = exchange_veth(s, path, rq, &msg, e);
	if (s >= 0)
		close(s);
	if (st != CLIENT_OK)
		return st;
	if (msg.type == PROTO_REFUSE)
		return refused(path, &v2, &msg, e);
	/* the codec checked a version-2 GRANT's shape; the kind is ours to check */
	if (msg.type != PROTO_GRANT || msg.version != PROTO_V2 || msg.link.kind != PROTO_KIND_VETH)
		return failed(e, CLIENT_PERMANENT, EPROTO,
			      "bad answer from ontap-broker: not a veth grant");
	memcpy(g->ifname, msg.link.name, IFNAMSIZ);
	memcpy(g->peer, msg.link.peer_name, IFNAMSIZ);
	g->ifindex = msg.link.ifindex;
	g->peer_ifindex = msg.link.peer_ifindex;
	return CLIENT_OK;
}

void client_drain_stderr(void)
{
	struct stat st;
	int unread;

	if (fstat(STDERR_FILENO, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	for (int i = 0; i < 50; i++) {
		if (ioctl(STDERR_FILENO, FIONREAD, &unread) < 0 || unread == 0)
			return;
		usleep(10 * 1000);
	}
}

void client_fail(const char *prog, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	client_drain_stderr();
	exit(status);
}

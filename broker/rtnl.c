/* SPDX-License-Identifier: ISC */
/* rtnetlink through libmnl: in the maker (changes), in workers (lookups), for --list. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"

/* a dump of links with stats skipped fits a few per read; more reads do the rest */
#define RTNL_RECV_BUF 32768

struct talk {
	mnl_cb_t cb;
	void *data;
	char *ext;
};

int rtnl_open(struct mnl_socket **nl)
{
	int one = 1;

	*nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!*nl)
		return -errno;
	/* the kernel's own words for a refused change end up in the user's message */
	mnl_socket_setsockopt(*nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(*nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(*nl);
		return r;
	}
	return 0;
}

struct nlmsghdr *rtnl_link_msg(char *buf, uint16_t type, uint16_t flags, unsigned ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

bool rtnl_attr_is(const struct nlattr *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return mnl_attr_get_payload_len(a) == n && !memcmp(mnl_attr_get_payload(a), s, n);
}

static int extack_cb(const struct nlattr *a, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int err_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	const char *msg = NULL;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	/* NETLINK_CAP_ACK: the TLVs follow the bare nlmsgerr */
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(*e), extack_cb, &msg);
	if (msg && t->ext)
		snprintf(t->ext, RTNL_EXT_MAX, " (%s)", msg);
	errno = -e->error;
	return MNL_CB_ERROR;
}

/* the end of a dump, which carries the dump's own error, if any */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	int err = 0;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(int));
	if (err < 0) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

int rtnl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char *ext)
{
	char buf[RTNL_RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	/* with an array, libmnl calls only what is in it: every control type is here */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb, [NLMSG_ERROR] = err_cb,
		[NLMSG_DONE] = done_cb, [NLMSG_OVERRUN] = noop_cb,
	};
	struct talk t = { cb, data, ext };
	unsigned portid = mnl_socket_get_portid(nl);
	/*
	 * A socket serves many requests (a worker's, the maker's): each talk
	 * has a sequence number of its own, and what is left of an earlier
	 * one that ended early (an error mid-dump) is read past, never taken
	 * for this one's answer.
	 */
	static unsigned last;
	unsigned seq = nlh->nlmsg_seq = last ? ++last : (last = (unsigned)time(NULL));
	ssize_t n;
	int r;

	if (ext)
		ext[0] = '\0';
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* ends with the ack (NLM_F_ACK) or NLMSG_DONE (a dump): MNL_CB_STOP */
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(struct nlmsghdr) &&
		    ((struct nlmsghdr *)buf)->nlmsg_seq != seq) {
			r = MNL_CB_OK;
			continue;
		}
		r = mnl_cb_run2(buf, (size_t)n, seq, portid, data_cb, &t, ctl, NLMSG_MIN_TYPE);
	} while (r == MNL_CB_OK);
	return r < 0 ? -errno : 0;
}

/*
 * One socket per process, opened on first use: a request looks the bridge
 * up, sets the tap up and may count taps, all on it.  Keyed by pid, so a
 * child never talks on its parent's socket (their replies would mix).
 */
static struct mnl_socket *sock;
static pid_t owner;

int rtnl_shared(struct mnl_socket **nl)
{
	int r;

	if (sock && owner == getpid()) {
		*nl = sock;
		return 0;
	}
	r = rtnl_open(nl);
	if (r < 0)
		return r;
	sock = *nl;
	owner = getpid();
	return 0;
}

int rtnl_once(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char *ext)
{
	struct mnl_socket *nl;
	int r = rtnl_shared(&nl);

	if (r < 0)
		return r;
	r = rtnl_talk(nl, nlh, cb, data, ext);
	/*
	 * A talk that failed may have left the kernel mid-dump on this socket
	 * (a dump marked interrupted, say), and a socket runs one dump at a
	 * time: the next talk gets a socket of its own.
	 */
	if (r < 0 && owner == getpid()) {
		mnl_socket_close(sock);
		sock = NULL;
	}
	return r;
}

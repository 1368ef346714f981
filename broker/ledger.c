/* SPDX-License-Identifier: ISC */
/* Runs in the maker, listener mode (see ledger.h): CAP_NET_ADMIN, no request bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "ledger.h"
#include "log.h"

/* a notification is one link's state: a few kB */
#define LEDGER_RECV_BUF 32768
/* the kernel doubles it: some 700 notifications queued between two requests */
#define LEDGER_RCVBUF (1 << 20)
/*
 * Reads per sync.  A request's own tap brings about five notifications;
 * past this many since the last request, a dump is cheaper, and a holder
 * that makes its taps' news as fast as it can (offload or carrier toggles)
 * costs the maker no more than one dump per request.
 */
#define LEDGER_READS_MAX 256
/* a dump at least this often: see the filter */
#define LEDGER_REFRESH_S 30

/* the first entry whose ifindex is at least ifindex */
static size_t lower_bound(const struct ledger_table *tb, unsigned ifindex)
{
	size_t lo = 0, hi = tb->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tb->e[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int put(struct ledger_table *tb, const struct tap_entry *t)
{
	size_t i = lower_bound(tb, t->ifindex);

	if (i < tb->n && tb->e[i].ifindex == t->ifindex) {
		tb->e[i] = *t;
		return 0;
	}
	if (tb->n == tb->cap) {
		size_t cap = tb->cap ? tb->cap * 2 : 64;
		struct tap_entry *e = reallocarray(tb->e, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		tb->e = e;
		tb->cap = cap;
	}
	memmove(&tb->e[i + 1], &tb->e[i], (tb->n - i) * sizeof(*tb->e));
	tb->e[i] = *t;
	tb->n++;
	return 0;
}

static void drop(struct ledger_table *tb, unsigned ifindex)
{
	size_t i = lower_bound(tb, ifindex);

	if (i == tb->n || tb->e[i].ifindex != ifindex)
		return;
	memmove(&tb->e[i], &tb->e[i + 1], (tb->n - i - 1) * sizeof(*tb->e));
	tb->n--;
}

/* one message: 1 applied, 0 skipped, or -errno */
static int apply_one(struct ledger_table *tb, const struct nlmsghdr *nlh)
{
	struct tap_entry t;
	int r = census_link_parse(nlh, &t);

	if (r == -EPFNOSUPPORT)
		return 0;
	if (r < 0)
		return r;
	/* each message is the link's whole state: not ours (any more) is gone */
	if (r == 1 && nlh->nlmsg_type == RTM_NEWLINK)
		return put(tb, &t);
	drop(tb, t.ifindex);
	return 0;
}

int ledger_apply(struct ledger_table *tb, const void *buf, size_t len)
{
	const char *p = buf;

	/*
	 * Bounds checked here rather than with mnl_nlmsg_ok(), which takes a
	 * length of 2 GiB or more for a negative one, nor NLMSG_ALIGN(), which
	 * turns 4 GiB - 1 into 0; each message's padding must be there too, as
	 * the attribute parser reads up to it.
	 */
	while (len > 0) {
		const struct nlmsghdr *nlh = (const void *)p;
		size_t step;
		int r;

		if (len < sizeof(*nlh))
			return -EBADMSG;
		step = ((size_t)nlh->nlmsg_len + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
		if (nlh->nlmsg_len < sizeof(*nlh) || step > len)
			return -EBADMSG;
		r = apply_one(tb, nlh);
		if (r < 0)
			return r;
		p += step;
		len -= step;
	}
	return 0;
}

int ledger_table_walk(const struct ledger_table *tb,
		      int (*fn)(const struct tap_entry *t, void *ctx), void *ctx)
{
	for (size_t i = 0; i < tb->n; i++) {
		int r = fn(&tb->e[i], ctx);

		if (r)
			return r;
	}
	return 0;
}

void ledger_table_free(struct ledger_table *tb)
{
	free(tb->e);
	memset(tb, 0, sizeof(*tb));
}

/* ---- the process's ledger ---------------------------------------------------- */

static struct mnl_socket *nl;
static struct ledger_table table;
static bool stale = true;         /* must be filled again from a dump */
static int64_t dumped;            /* when last, CLOCK_MONOTONIC s */
static int last = -ENOTCONN;      /* the last ledger_sync()'s answer */

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

bool ledger_is_open(void)
{
	return nl != NULL;
}

/* one datagram into buf: its length, or -errno */
static ssize_t recv_one(char *buf, size_t cap)
{
	struct sockaddr_nl from;
	struct iovec iov = { buf, cap };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			      .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	/*
	 * Only the kernel may write the ledger: sending to this socket takes
	 * CAP_NET_ADMIN in this namespace anyway, but a message from anyone
	 * else is taken as one that does not parse (a dump follows).
	 */
	if ((msg.msg_flags & MSG_TRUNC) || msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
		return -EBADMSG;
	return n;
}

/*
 * Everything queued, applied to the table, in order: 0 once the queue is
 * empty, or -errno (-ENOBUFS: notifications were lost; -EBUSY: more than
 * LEDGER_READS_MAX were queued).
 */
static int drain(void)
{
	char buf[LEDGER_RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (unsigned i = 0; i < LEDGER_READS_MAX; i++) {
		ssize_t n = recv_one(buf, sizeof(buf));
		int r;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		r = ledger_apply(&table, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	return -EBUSY;
}

static int put_cb(const struct tap_entry *t, void *ctx)
{
	return put(ctx, t);
}

/*
 * Which notifications reach the socket at all: only those of links that
 * carry ontap's tag (made, changed, deleted), AF_UNSPEC.  A tap's life
 * brings some twenty link notifications (its own, its bridge's, the
 * bridge's port news), a few kB each, and on a busy host most links are
 * not ontap's: reading them all cost more than the dump they replace.  What
 * the filter hides is a tag removed by hand, which stays counted until the
 * link goes or the next refresh's dump (LEDGER_REFRESH_S).
 */
static int attach_filter(int fd)
{
	enum { ATTRS = NLMSG_LENGTH(sizeof(struct ifinfomsg)) };
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NLMSG_HDRLEN + offsetof(struct ifinfomsg, ifi_family)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNSPEC, 0, 10),
		BPF_STMT(BPF_LD | BPF_IMM, ATTRS),
		BPF_STMT(BPF_LDX | BPF_IMM, IFLA_IFALIAS),
		/* A: the offset of the first IFLA_IFALIAS, 0 if none */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)(SKF_AD_OFF + SKF_AD_NLATTR)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 6, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* "ontap/1 " after the attribute's header, loaded big-endian; past the end: dropped */
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x6f6e7461, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x702f3120, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

static int subscribe(struct mnl_socket **out)
{
	int group = RTNLGRP_LINK, size = LEDGER_RCVBUF, r;
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (!s)
		return -errno;
	r = attach_filter(mnl_socket_get_fd(s));
	/* CAP_NET_ADMIN may exceed rmem_max; without it the default queue still works */
	if (r == 0 && setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size,
				 sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (r == 0 && (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
		       mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0))
		r = -errno;
	if (r < 0) {
		mnl_socket_close(s);
		return r;
	}
	*out = s;
	return 0;
}

/*
 * The table filled again from a dump, on a new socket subscribed first: no
 * change falls between the two, and what the old one had queued (older than
 * the dump, perhaps with removals lost) goes with it unread.  What comes
 * during the dump is applied at the next sync: each notification is a
 * link's whole state, in order, so the table converges.
 */
static int refill(void)
{
	struct mnl_socket *fresh;
	int r = subscribe(&fresh);

	if (r < 0)
		return r;
	mnl_socket_close(nl);
	nl = fresh;
	dumped = now_s();
	r = -EINTR;
	/* a dump the kernel marks interrupted (links came or went) is taken again */
	for (int tries = 0; tries < 5 && r == -EINTR; tries++) {
		table.n = 0;
		r = census_walk(put_cb, &table);
	}
	return r;
}

int ledger_sync(void)
{
	int r = 0;

	if (!nl)
		return last = -EBADF;
	if (now_s() - dumped >= LEDGER_REFRESH_S)
		stale = true;
	if (!stale) {
		r = drain();
		if (r == -ENOBUFS || r == -EBADMSG || r == -EBUSY) {
			log_line("maker: link notifications %s: taps counted again from a dump",
				 r == -ENOBUFS ? "were lost (the socket overflowed)" :
				 r == -EBUSY ? "came faster than they were read" : "did not parse");
			stale = true;
		}
	}
	if (stale) {
		r = refill();
		stale = r < 0;
	}
	last = r;
	return r;
}

int ledger_walk(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx)
{
	return last < 0 ? -ESTALE : ledger_table_walk(&table, fn, ctx);
}

int ledger_open(void)
{
	int r = subscribe(&nl);

	if (r < 0) {
		nl = NULL;
		return r;
	}
	stale = true;
	r = ledger_sync();
	if (r < 0) {
		mnl_socket_close(nl);
		nl = NULL;
		ledger_table_free(&table);
	}
	return r;
}

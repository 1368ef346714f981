/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

/*
 * The kernel's bound on descriptors per SCM_RIGHTS cmsg (SCM_MAX_FD): the
 * receive buffer has room for that many, so a sender cannot hide extras
 * behind a truncated control message we would otherwise have to trust.
 */
#define WIRE_RECV_FDS 253

int wire_send(int sock, const struct proto_msg *msg, const int *fds, size_t nfds)
{
	uint8_t buf[PROTO_MSG_MAX];
	union {
		char buf[CMSG_SPACE(PROTO_QUEUES_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	long len = proto_encode(msg, buf, sizeof(buf));
	size_t off = 0;

	if (len < 0)
		return (int)len;
	if (nfds > PROTO_QUEUES_MAX || (nfds && !fds))
		return -EINVAL;
	while (off < (size_t)len) {
		struct iovec iov = { buf + off, (size_t)len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds && off == 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

struct fdset {
	int *fds;
	size_t max, n;
	int err;    /* the first problem seen: the message is refused */
};

static void fdset_close(struct fdset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		close(s->fds[i]);
		s->fds[i] = -1;
	}
	s->n = 0;
}

/* Takes the descriptors out of one recvmsg's control data; closes extras. */
static void take_fds(struct msghdr *mh, struct fdset *s)
{
	if (mh->msg_flags & MSG_CTRUNC)
		s->err = -EBADMSG;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (s->n < s->max) {
				s->fds[s->n++] = got;
				continue;
			}
			close(got);
			s->err = -EBADMSG;
		}
	}
}

/* Reads exactly len bytes, collecting descriptors as they come. */
static int recv_exact(int sock, uint8_t *buf, size_t len, struct fdset *s)
{
	union {
		char buf[CMSG_SPACE(WIRE_RECV_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t off = 0;

	while (off < len) {
		struct iovec iov = { buf + off, len - off };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		take_fds(&mh, s);
		if (n == 0)
			return -ECONNRESET;
		off += (size_t)n;
	}
	return 0;
}

int wire_recv(int sock, struct proto_msg *msg, int *fds, size_t max)
{
	uint8_t buf[PROTO_MSG_MAX];
	struct fdset s = { .fds = fds, .max = fds ? max : 0 };
	long blen;
	int ret;

	for (size_t i = 0; i < s.max; i++)
		fds[i] = -1;
	/* a descriptor problem is reported first, as soon as the header is in */
	ret = recv_exact(sock, buf, PROTO_HDR_LEN, &s);
	if (ret < 0 || (ret = s.err) < 0)
		goto out;
	blen = proto_decode_hdr(buf, PROTO_HDR_LEN);
	if (blen < 0) {
		ret = (int)blen;
		goto out;
	}
	ret = recv_exact(sock, buf + PROTO_HDR_LEN, (size_t)blen, &s);
	if (ret < 0 || (ret = s.err) < 0)
		goto out;
	ret = proto_decode(buf, PROTO_HDR_LEN + (size_t)blen, msg);
	if (ret == 0 && s.n != proto_fds(msg))
		ret = -EBADMSG;
out:
	if (ret < 0) {
		fdset_close(&s);
		return ret;
	}
	return (int)s.n;
}

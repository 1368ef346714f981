/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

int wire_send(int sock, const struct proto_msg *msg, int fd)
{
	uint8_t buf[PROTO_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	long len = proto_encode(msg, buf, sizeof(buf));
	size_t off = 0;

	if (len < 0)
		return (int)len;
	while (off < (size_t)len) {
		struct iovec iov = { buf + off, (size_t)len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (fd >= 0 && off == 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
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

/* Takes the descriptors out of one recvmsg's control data; closes extras. */
static int take_fds(struct msghdr *mh, int *fd)
{
	int ret = 0;

	if (mh->msg_flags & MSG_CTRUNC)
		ret = -EBADMSG;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0 && ret == 0) {
				*fd = got;
				continue;
			}
			close(got);
			ret = -EBADMSG;
		}
	}
	return ret;
}

/* Reads exactly len bytes, collecting descriptors as they come. */
static int recv_exact(int sock, uint8_t *buf, size_t len, int *fd)
{
	/* room for a few descriptors, so that extras are seen and closed */
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		struct iovec iov = { buf + off, len - off };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = take_fds(&mh, fd);
		if (r < 0 && ret == 0)
			ret = r;
		if (n == 0)
			return -ECONNRESET;
		off += (size_t)n;
	}
	return ret;
}

int wire_recv(int sock, struct proto_msg *msg, int *fd)
{
	uint8_t buf[PROTO_MSG_MAX];
	long blen;
	int ret;

	if (fd)
		*fd = -1;
	ret = recv_exact(sock, buf, PROTO_HDR_LEN, fd);
	if (ret < 0)
		goto out;
	blen = proto_decode_hdr(buf, PROTO_HDR_LEN);
	if (blen < 0) {
		ret = (int)blen;
		goto out;
	}
	ret = recv_exact(sock, buf + PROTO_HDR_LEN, (size_t)blen, fd);
	if (ret < 0)
		goto out;
	ret = proto_decode(buf, PROTO_HDR_LEN + (size_t)blen, msg);
out:
	if (ret < 0 && fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/* SPDX-License-Identifier: ISC */
/* Runs in every broker process: the listener's channels to its children. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "wire.h"

#define CHAN_FDS_MAX 256

int chan_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

int chan_send(int chan, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(CHAN_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > CHAN_FDS_MAX)
		return -E2BIG;
	if (nfds)
		wire_put_fds(&mh, ctl.buf, fds, nfds);
	do
		n = sendmsg(chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static void close_all(int *fds, unsigned *nfds)
{
	for (unsigned i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
}

long chan_recv(int chan, void *buf, size_t len, bool exact, int *fds, unsigned maxfds,
	       unsigned *nfds, bool dontwait)
{
	union {
		char buf[CMSG_SPACE(CHAN_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	/* a byte of room past the message, so that a longer one shows as such */
	char spill[1];
	struct iovec iovs[2] = { { buf, len }, { spill, 1 } };
	struct msghdr mh = {
		.msg_iov = iovs, .msg_iovlen = 2,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	int ret = 0;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		ret = -EBADMSG;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < maxfds)
				fds[(*nfds)++] = got;
			else {
				close(got);
				ret = -EBADMSG;
			}
		}
	}
	if (n == 0 && *nfds == 0 && ret == 0)
		return -ECONNRESET;
	if ((size_t)n > len || (exact && (size_t)n != len))
		ret = -EBADMSG;
	if (ret < 0)
		close_all(fds, nfds);
	return ret < 0 ? ret : n;
}

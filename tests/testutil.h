/* SPDX-License-Identifier: ISC */
/*
 * What the C test programs share, written once: big-endian writers for
 * messages built by hand (so a wrong byte order in proto.c shows), one
 * byte and one descriptor received the way qemu and libvirt receive a
 * helper's tap, and the main() of a Check suite.  Header-only: each test
 * program is one file plus this.
 */
#ifndef ONTAP_TESTUTIL_H
#define ONTAP_TESTUTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* what recv_one_fd() saw besides the descriptor */
struct one_fd {
	ssize_t n;       /* recvmsg()'s result: 1, 0 (EOF) or -1 (errno in err) */
	int err;
	int ncmsg;       /* control messages of any kind */
	int flags;       /* msg_flags: MSG_CTRUNC */
};

/*
 * One byte with room for one descriptor's control message, as qemu and
 * libvirt read a helper's answer: returns the descriptor of the first
 * SCM_RIGHTS message carrying exactly one, or -1.  Retries on EINTR.
 */
static inline int recv_one_fd(int sock, struct one_fd *r)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	int fd = -1;

	memset(r, 0, sizeof(*r));
	do
		r->n = recvmsg(sock, &mh, 0);
	while (r->n < 0 && errno == EINTR);
	if (r->n < 0) {
		r->err = errno;
		return -1;
	}
	r->flags = mh.msg_flags;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		r->ncmsg++;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	return fd;
}

/* main() for a Check suite: runs every test, exits non-zero if one failed */
#define ONTAP_CHECK_MAIN(suite)                                         \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr = srunner_create(suite);                    \
		int failed;                                             \
									\
		srunner_run_all(sr, CK_NORMAL);                         \
		failed = srunner_ntests_failed(sr);                     \
		srunner_free(sr);                                       \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;            \
	}

#endif

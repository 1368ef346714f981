/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: wire_recv() (wire.c) on a real unix stream socket, as
 * the broker calls it (no descriptor accepted), as a broker taking a veth
 * request's namespace does (one) and as the clients do (up to
 * PROTO_QUEUES_MAX), with descriptors riding on the input's bytes.
 *
 * Input: byte 0 selects the side; then chunks, each
 *   [len(1)] [nfds(1)] [len bytes]
 * sent by one sendmsg() each, carrying nfds % 8 descriptors (dups of a
 * pipe's write end) when nfds & 0x80 is clear; chunk MAX_CHUNKS takes all
 * that is left.  After the last chunk the
 * sending side is shut down, so a short message meets EOF, not a hang.
 *
 * Properties, beyond "no sanitizer report":
 *  - wire_recv() returns a count or one of the documented errors;
 *  - on success the message re-encodes, and the count is what the message
 *    says it carries (proto_fds()), never more than the room given;
 *  - broker side: any descriptor in the message is refused (-EBADMSG);
 *  - the slots not filled are -1, every slot is -1 on failure;
 *  - no descriptor leaks: once both ends are closed (and the kept fds),
 *    the process has exactly the descriptors it had before, and the pipe's
 *    read end sees EOF, i.e. no copy of the write end survives anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "wire.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_FDS 7
#define MAX_CHUNKS 64   /* a bound on queued skbs: sendmsg() must never block */
#define FD_SCAN 256   /* above what this process has open; the pipe's EOF catches the rest */

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < FD_SCAN; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void send_chunk(int s, const uint8_t *p, size_t len, unsigned nfds, int pw)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	int fds[MAX_FDS];
	uint8_t zero = 0;
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (len == 0) {
		/* descriptors need at least one byte to ride on */
		if (nfds == 0)
			return;
		iov.iov_base = &zero;
		iov.iov_len = 1;
	}
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		for (unsigned i = 0; i < nfds; i++)
			CHECK((fds[i] = fcntl(pw, F_DUPFD_CLOEXEC, 3)) >= 0);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	CHECK(sendmsg(s, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)iov.iov_len);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t room[4] = { 0, 1, 4, PROTO_QUEUES_MAX };
	struct proto_msg msg;
	int sv[2], pipefd[2], fds[PROTO_QUEUES_MAX], r, before;
	size_t pos = 1, max;
	unsigned sent_fds = 0, chunks = 0;
	char c;

	if (size < 1 || size > 4096)
		return -1;
	max = room[data[0] & 3];
	for (size_t i = 0; i < PROTO_QUEUES_MAX; i++)
		fds[i] = -2;
	before = count_fds();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == 0);
	while (pos + 2 <= size) {
		size_t len = data[pos];
		unsigned nfds = data[pos + 1] & 0x80 ? 0 : data[pos + 1] % (MAX_FDS + 1);

		pos += 2;
		if (len > size - pos || ++chunks == MAX_CHUNKS)
			len = size - pos;
		send_chunk(sv[1], data + pos, len, nfds, pipefd[1]);
		sent_fds += nfds;
		pos += len;
	}
	CHECK(shutdown(sv[1], SHUT_WR) == 0);
	close(pipefd[1]);

	memset(&msg, 0xa5, sizeof(msg));
	r = wire_recv(sv[0], &msg, max ? fds : NULL, max);
	CHECK(r >= 0 || r == -EPROTO || r == -EPROTONOSUPPORT || r == -EBADMSG ||
	      r == -ECONNRESET);
	for (size_t i = 0; i < PROTO_QUEUES_MAX; i++) {
		if (i >= max)
			CHECK(fds[i] == -2);
		else if (r < 0 || i >= (size_t)r)
			CHECK(fds[i] == -1);
		else
			CHECK(fcntl(fds[i], F_GETFD) == FD_CLOEXEC);
	}
	if (r >= 0) {
		uint8_t buf[PROTO_MSG_MAX];

		CHECK((size_t)r <= max && (unsigned)r <= sent_fds);
		CHECK((unsigned)r == proto_fds(&msg));
		CHECK(proto_encode(&msg, buf, sizeof(buf)) > 0);
	}
	for (int i = 0; i < r; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == before + 1);   /* only pipefd[0] is left */
	/* every copy of the write end is gone: in flight ones were released too */
	CHECK(read(pipefd[0], &c, 1) == 0);
	close(pipefd[0]);
	CHECK(count_fds() == before);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * ontap-helper: qemu-bridge-helper's argv and fd contract, without privilege.
 * It asks ontap-broker for a tap and hands the fd it gets to the caller.
 * Every failure is one line on stderr and exit 1; nothing goes to stdout.
 */
#include <errno.h>
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

#include "args.h"
#include "client.h"
#include "escape.h"
#include "ifname.h"

static const char *prog = "ontap-helper";

#define fail(...) client_fail(prog, EXIT_FAILURE, __VA_ARGS__)


static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--use-vnet] --br=bridge --fd=unixfd\n", prog);
}

/* qemu hands us one end of a socketpair; refuse anything else up front */
static void check_caller_fd(int fd)
{
	struct stat st;
	int v;
	socklen_t len = sizeof(v);

	if (fstat(fd, &st) < 0)
		fail("--fd=%d: not an open file descriptor: %s", fd, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		fail("--fd=%d: not a socket", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
		fail("--fd=%d: getsockopt(SO_DOMAIN): %s", fd, strerror(errno));
	if (v != AF_UNIX)
		fail("--fd=%d: not a unix socket", fd);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		fail("--fd=%d: getsockopt(SO_TYPE): %s", fd, strerror(errno));
	if (v != SOCK_STREAM)
		fail("--fd=%d: not a stream socket", fd);
}

/*
 * Version 1: one tap is all qemu's contract can take, and version 1 is what
 * every ontap-broker speaks, so this helper works against older ones too.
 */
static int ask_broker(const struct args *a)
{
	struct client_request rq = {
		.version = PROTO_V1, .bridge = a->bridge, .vnet_hdr = a->use_vnet, .queues = 1,
	};
	static struct client_grant g;
	static struct client_error e;

	if (client_ask(client_socket_path(), &rq, &g, &e) != CLIENT_OK)
		fail("%s", e.msg);
	return g.fds[0];
}

/* exactly what qemu and libvirt expect: one 0x00 byte, one SCM_RIGHTS fd */
static void relay(int unixfd, int tapfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &tapfd, sizeof(int));
	do
		n = sendmsg(unixfd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	/* qemu adopts fd 0 as the tap if we exit 0 without sending: never do */
	if (n != 1)
		fail("failed to write fd to unix socket: %s", n < 0 ? strerror(errno) : "short write");
}

int main(int argc, char *argv[])
{
	struct args a;
	int tapfd;

	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	/* a setuid copy would act with someone else's identity toward the broker */
	if (getuid() != geteuid() || getgid() != getegid())
		fail("refusing to run setuid or setgid: no privilege is needed");
	switch (args_parse(argc, argv, &a)) {
	case ARGS_HELP:
		usage(stdout);
		printf("Asks ontap-broker (%s, or $ONTAP_SOCKET) for a tap on the bridge\n"
		       "and passes its descriptor over the unix socket UNIXFD.\n", ONTAP_SOCKET_PATH);
		return EXIT_SUCCESS;
	case ARGS_VERSION:
		printf("%s (ontap) %s\n", prog, ONTAP_VERSION);
		return EXIT_SUCCESS;
	case ARGS_USAGE:
		usage(stderr);
		client_drain_stderr();
		return EXIT_FAILURE;
	case ARGS_TOO_LONG: {
		char shown[ESCAPE_SIZE(IFNAMSIZ)];

		fail("name `%s' too long: %zu", escape_str(shown, sizeof(shown), a.bad), strlen(a.bad));
	}
	case ARGS_BAD_FD:
		fail("invalid --fd `%s': not a descriptor number", a.bad);
	case ARGS_RUN:
		break;
	}
	/* the broker would refuse it too; say what is wrong before asking */
	if (!ifname_valid(a.bridge, strlen(a.bridge))) {
		char shown[ESCAPE_SIZE(IFNAMSIZ)];

		fail("invalid bridge name `%s'", escape_str(shown, sizeof(shown), a.bridge));
	}
	check_caller_fd(a.fd);
	tapfd = ask_broker(&a);
	relay(a.fd, tapfd);
	return EXIT_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * vethcall: the veth requests tests/veth.sh needs that ontap-veth does not
 * make.
 *
 *   vethcall [--as USER] [--lxc] [--shut-rd] NETNS BRIDGE PEER SOCKET
 *       Connects to a listening broker and sends one version-2 veth
 *       REQUEST with the descriptor of NETNS (a path, opened before
 *       becoming USER).  PEER "-" asks for the default name.
 *   vethcall [--as USER] [--lxc] [--shut-rd] NETNS BRIDGE PEER --inetd BROKER [ARG...]
 *       The same over a socketpair whose other end is the standard input
 *       and output of BROKER (meant to be `ontap-broker --inetd ...'), run
 *       as root; the pair is made with USER's ids, so that SO_PEERCRED
 *       reports USER, then this process becomes USER for good.  Prints
 *       "broker exit=N" (or signal=N) once the broker has ended.
 *
 *   --lxc       PROTO_F_LXC_USERNET: lxc-usernet decides.
 *   --shut-rd   after sending, shut the reading side: the broker's grant
 *               cannot be delivered (EPIPE), as when a client goes away
 *               at the wrong moment.  Prints "shut", then "closed" once the
 *               broker has closed the connection.
 *
 * Otherwise the answer is one line:
 *   grant veth=NAME ifindex=N peer=NAME peer_ifindex=N
 *   refuse errno=N reason=TEXT
 *   eof
 * Every wait is bounded (30 s).  Exit: 0 grant or "closed", 1 refuse,
 * 2 eof, 3 any other failure, 64 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "wire.h"

#define WAIT_MS 30000

static void die(const char *what)
{
	fprintf(stderr, "vethcall: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void usage(void)
{
	fprintf(stderr, "usage: vethcall [--as USER] [--lxc] [--shut-rd] NETNS BRIDGE PEER "
		"(SOCKET | --inetd BROKER [ARG...])\n");
	exit(64);
}

/* USER's groups, egid and euid, the real and saved uid staying root: undone by regain() */
static void seem(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, 0) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, 0) < 0)
		die("cannot take the user's ids");
}

static void regain(void)
{
	if (setresuid(0, 0, 0) < 0 || setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0)
		die("cannot become root again");
}

static void become(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		die("cannot become the user");
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		usage();
	memcpy(sa.sun_path, path, strlen(path));
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect");
	return s;
}

static bool wait_in(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1;
}

static int exchange(int s, int ns, const char *bridge, const char *peer, bool lxc, bool shut)
{
	struct proto_msg m = { .version = PROTO_V2, .type = PROTO_REQUEST };

	m.link.kind = PROTO_KIND_VETH;
	m.link.queues = 1;
	m.link.flags = lxc ? PROTO_F_LXC_USERNET : 0;
	if (strlen(bridge) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
		usage();
	memcpy(m.link.name, bridge, strlen(bridge));
	memcpy(m.link.peer_name, peer, strlen(peer));
	if (wire_send(s, &m, &ns, 1) < 0)
		die("cannot send the request");
	close(ns);
	if (shut) {
		if (shutdown(s, SHUT_RD) < 0)
			die("shutdown");
		printf("shut\n");
		fflush(stdout);
		/* the broker ends the connection once it has tried to answer: a hang-up */
		struct pollfd p = { .fd = s, .events = 0 };

		if (poll(&p, 1, WAIT_MS) == 1 && (p.revents & POLLHUP)) {
			printf("closed\n");
			return 0;
		}
		printf("timeout\n");
		return 3;
	}
	if (!wait_in(s) || wire_recv(s, &m, NULL, 0) < 0) {
		printf("eof\n");
		return 2;
	}
	if (m.type == PROTO_REFUSE) {
		printf("refuse errno=%d reason=%s\n", m.refuse.err, m.refuse.reason);
		return 1;
	}
	printf("grant veth=%s ifindex=%u peer=%s peer_ifindex=%u\n", m.link.name, m.link.ifindex,
	       m.link.peer_name, m.link.peer_ifindex);
	return 0;
}

int main(int argc, char *argv[])
{
	const struct passwd *pw = NULL;
	bool lxc = false, shut = false;
	int i = 1, ns, fds[2], st, r;
	pid_t broker;

	for (; i < argc && !strncmp(argv[i], "--", 2) && strcmp(argv[i], "--inetd"); i++) {
		if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			pw = getpwnam(argv[++i]);
			if (!pw)
				usage();
		} else if (!strcmp(argv[i], "--lxc"))
			lxc = true;
		else if (!strcmp(argv[i], "--shut-rd"))
			shut = true;
		else
			usage();
	}
	if (argc - i < 4)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	ns = open(argv[i], O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		die(argv[i]);
	if (strcmp(argv[i + 3], "--inetd")) {
		if (pw)
			become(pw);
		return exchange(dial(argv[i + 3]), ns, argv[i + 1],
				!strcmp(argv[i + 2], "-") ? "" : argv[i + 2], lxc, shut);
	}
	if (argc - i < 5)
		usage();
	if (pw)
		seem(pw);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		die("socketpair");
	broker = fork();
	if (broker < 0)
		die("fork");
	if (broker == 0) {
		if (pw)
			regain();
		if (dup2(fds[1], 0) < 0 || dup2(fds[1], 1) < 0)
			die("dup2");
		close(ns);
		execv(argv[i + 4], argv + i + 4);
		die(argv[i + 4]);
	}
	close(fds[1]);
	if (pw) {
		regain();
		become(pw);
	}
	r = exchange(fds[0], ns, argv[i + 1], !strcmp(argv[i + 2], "-") ? "" : argv[i + 2], lxc,
		     shut);
	close(fds[0]);
	while (waitpid(broker, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (WIFEXITED(st))
		printf("broker exit=%d\n", WEXITSTATUS(st));
	else
		printf("broker signal=%d\n", WTERMSIG(st));
	return r;
}

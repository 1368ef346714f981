/* SPDX-License-Identifier: ISC */
/*
 * fakebroker: servers that are not ontap-broker, for the clients' tests.
 *
 *   fakebroker SOCKET tap NAME    answers every request with a GRANT (in the
 *                                 request's version) carrying one descriptor
 *                                 of the existing tap NAME (made persistent
 *                                 by the test and owned by whoever runs this)
 *   fakebroker SOCKET file PATH   the same with PATH open instead: no tap
 *   fakebroker SOCKET v1          a version-1-only broker, byte for byte what
 *                                 ontap-broker 0.1 answers: a request of
 *                                 another version gets a version-1 REFUSE,
 *                                 errno EPROTONOSUPPORT, "bad request:
 *                                 Protocol not supported"; a version-1
 *                                 request a REFUSE EACCES
 *
 * It binds SOCKET (mode 0666), prints "ready", serves connections one at a
 * time, and prints one line per request ("request version=N queues=N
 * bridge=NAME") until SIGTERM, or 60 s after the last connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "proto.h"
#include "wire.h"

#define IDLE_S 60

static void die(const char *what)
{
	fprintf(stderr, "fakebroker: %s: %s\n", what, strerror(errno));
	exit(3);
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF");
	return fd;
}

static void send_refuse(int c, unsigned version, int err, const char *reason)
{
	struct proto_msg m = { .version = version, .type = PROTO_REFUSE, .refuse.err = err };

	snprintf(m.refuse.reason, sizeof(m.refuse.reason), "%s", reason);
	wire_send(c, &m, NULL, 0);
}

/* what ontap-broker 0.1's decoder did: version 1 only */
static void serve_v1(int c)
{
	uint8_t hdr[PROTO_HDR_LEN];
	struct proto_msg m;
	ssize_t n = recv(c, hdr, sizeof(hdr), MSG_WAITALL | MSG_PEEK);

	if (n != (ssize_t)sizeof(hdr))
		return;
	if (hdr[4] != 0 || hdr[5] != 1) {
		printf("request version=%u\n", (unsigned)hdr[4] << 8 | hdr[5]);
		send_refuse(c, PROTO_V1, EPROTONOSUPPORT, "bad request: Protocol not supported");
		return;
	}
	if (wire_recv(c, &m, NULL, 0) >= 0)
		printf("request version=1 queues=1 bridge=%s\n", m.link.name);
	send_refuse(c, PROTO_V1, EACCES, "fake v1 broker");
}

static void serve_grant(int c, int fd, const char *name)
{
	struct proto_msg m;

	if (wire_recv(c, &m, NULL, 0) < 0 || m.type != PROTO_REQUEST)
		return;
	printf("request version=%u queues=%u bridge=%s\n", m.version, m.link.queues, m.link.name);
	m.type = PROTO_GRANT;
	m.link.kind = PROTO_KIND_TAP;
	m.link.flags = 0;
	m.link.nfds = 1;
	m.link.ifindex = if_nametoindex(name);
	if (!m.link.ifindex)
		m.link.ifindex = 1;
	m.link.peer_ifindex = 0;
	m.link.peer_name[0] = '\0';
	snprintf(m.link.name, sizeof(m.link.name), "%s", name);
	if (wire_send(c, &m, &fd, 1) < 0)
		fprintf(stderr, "fakebroker: cannot send the grant\n");
}

int main(int argc, char *argv[])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *mode = argc > 2 ? argv[2] : "";
	int s, fd = -1;

	if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path) ||
	    (strcmp(mode, "v1") && argc != 4)) {
		fprintf(stderr, "usage: fakebroker SOCKET tap NAME | file PATH | v1\n");
		return 64;
	}
	if (!strcmp(mode, "tap"))
		fd = open_tap(argv[3]);
	else if (!strcmp(mode, "file") && (fd = open(argv[3], O_RDONLY | O_CLOEXEC)) < 0)
		die(argv[3]);
	else if (strcmp(mode, "v1") && strcmp(mode, "file"))
		return 64;
	strcpy(sa.sun_path, argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 8) < 0)
		die(argv[1]);
	if (chmod(argv[1], 0666) < 0)
		die("chmod");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (;;) {
		int c;

		alarm(IDLE_S);
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			die("accept");
		if (fd < 0)
			serve_v1(c);
		else
			serve_grant(c, fd, !strcmp(mode, "tap") ? argv[3] : "tap0");
		close(c);
	}
}

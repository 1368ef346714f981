/* SPDX-License-Identifier: ISC */
/*
 * ontap-veth: a veth from a host bridge into a network namespace the
 * caller owns, made by ontap-broker.  No privilege: the namespace is opened
 * here, as the caller (/proc/PID/ns/net needs ptrace-read access to PID),
 * and its descriptor is what the broker checks and uses -- never a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "client.h"
#include "vethargs.h"

#define EXIT_USAGE 2

static const char *prog = "ontap-veth";

#define fail(status, ...) client_fail(prog, status, __VA_ARGS__)

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--name IFNAME] [--netns PATH | --pid PID] BRIDGE\n", prog);
}

/* The target, opened as the caller: their own access decides what they can name. */
static int open_netns(const struct veth_args *a, char *path, size_t cap)
{
	int fd;

	if (a->netns)
		snprintf(path, cap, "%s", a->netns);
	else if (a->pid)
		snprintf(path, cap, "/proc/%d/ns/net", a->pid);
	else
		snprintf(path, cap, "/proc/self/ns/net");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && a->pid && errno == ENOENT)
		fail(EXIT_FAILURE, "no process %d (%s: %s)", a->pid, path, strerror(errno));
	if (fd < 0)
		fail(EXIT_FAILURE, "cannot open `%s': %s", path, strerror(errno));
	return fd;
}

int main(int argc, char *argv[])
{
	char path[4096];
	struct client_veth_request rq = { 0 };
	struct client_veth_grant v;
	struct client_error e;
	struct veth_args a;

	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	if (getuid() != geteuid() || getgid() != getegid())
		fail(EXIT_FAILURE, "refusing to run setuid or setgid: no privilege is needed");
	switch (veth_args_parse(argc, argv, &a)) {
	case VARGS_HELP:
		usage(stdout);
		printf("Asks ontap-broker (%s, or $ONTAP_SOCKET) for a veth pair: one end on\n"
		       "BRIDGE, the other, IFNAME (default eth0), in the network namespace at\n"
		       "PATH, of process PID, or (neither given) the caller's own.\n",
		       ONTAP_SOCKET_PATH);
		return EXIT_SUCCESS;
	case VARGS_VERSION:
		printf("%s (ontap) %s\n", prog, ONTAP_VERSION);
		return EXIT_SUCCESS;
	case VARGS_USAGE:
		if (a.bad)
			fprintf(stderr, "%s: %s: `%s'\n", prog, a.err, a.bad);
		else
			fprintf(stderr, "%s: %s\n", prog, a.err);
		usage(stderr);
		return EXIT_USAGE;
	case VARGS_RUN:
		break;
	}
	rq.bridge = a.bridge;
	rq.peer = a.name;
	rq.netns_fd = open_netns(&a, path, sizeof(path));
	if (client_ask_veth(client_socket_path(), &rq, &v, &e) != CLIENT_OK)
		fail(EXIT_FAILURE, "%s", e.msg);
	close(rq.netns_fd);
	printf("%s %u %s %u %s\n", v.ifname, v.ifindex, v.peer, v.peer_ifindex, a.bridge);
	return EXIT_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * ontap-lxc-user-nic: lxc-user-nic's command line, output and exit
 * statuses, with no privilege.  It opens the target's network namespace
 * as the caller and asks ontap-broker for a veth decided by
 * /etc/lxc/lxc-usernet (PROTO_F_LXC_USERNET): the broker reads that file
 * and counts the veths itself -- this program is the requester's own and
 * could say anything, so it decides nothing.
 *
 *   create LXCPATH NAME PID TYPE BRIDGE [NICNAME]
 *     stdout: NICNAME:IFINDEX:HOSTVETH:HOSTIFINDEX (both ifindexes each in
 *     its own namespace), exit 0; else a line on stderr, exit 1.
 *   delete LXCPATH NAME NETNS-PATH TYPE BRIDGE NICNAME
 *     lxc-user-nic deletes only Open vSwitch ports; ontap makes none, so
 *     this says so and exits 1, as lxc-user-nic does for a Linux bridge.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#if __has_include(<linux/magic.h>)
#include <linux/magic.h>
#else
#define NSFS_MAGIC 0x6e736673   /* include/uapi/linux/magic.h: Debian's musl has no linux/ */
#endif

#include "proto.h"
#include "client.h"
#include "vethargs.h"

static const char *prog = "ontap-lxc-user-nic";

#define fail(...) client_fail(prog, EXIT_FAILURE, __VA_ARGS__)

/* lxc-user-nic's usage, on stderr, exit 1 */
static void __attribute__((noreturn)) usage(const char *me)
{
	fprintf(stderr, "Usage: %s create {lxcpath} {name} {pid} {type} {bridge} {nicname}\n", me);
	fprintf(stderr, "Usage: %s delete {lxcpath} {name} {/proc/<pid>/ns/net} {type} {bridge} "
		"{nicname}\n", me);
	fprintf(stderr, "{nicname} is the name to use inside the container\n");
	exit(EXIT_FAILURE);
}

static int create(const struct lxc_args *a)
{
	char path[64];
	struct client_veth_request rq = { .bridge = a->bridge, .flags = PROTO_F_LXC_USERNET };
	struct client_veth_grant v;
	struct client_error e;

	/* lxc-usernet's TYPE can only be veth (lxc-usernet(5)); lxc-user-nic makes a veth anyway */
	if (strcmp(a->type, "veth"))
		fail("unsupported network type `%s': only veth", a->type);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", a->pid);
	/* as the caller: ptrace-read access to the pid, as lxc-user-nic checks it */
	rq.netns_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (rq.netns_fd < 0)
		fail("may not modify netns for pid %d: cannot open %s: %s", a->pid, path,
		     strerror(errno));
	/* lxc-user-nic names the container's end eth%d when no name is given */
	rq.peer = a->nic[0] ? a->nic : "eth%d";
	if (client_ask_veth(client_socket_path(), &rq, &v, &e) != CLIENT_OK)
		fail("%s", e.msg);
	close(rq.netns_fd);
	printf("%s:%u:%s:%u\n", v.peer, v.peer_ifindex, v.ifname, v.ifindex);
	if (fflush(stdout) == EOF)
		fail("cannot write to stdout: %s", strerror(errno));
	return EXIT_SUCCESS;
}

static int delete(const struct lxc_args *a)
{
	struct statfs sfs;
	int fd = open(a->netns, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		fail("Failed to open \"%s\"", a->netns);
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
		fail("Path \"%s\" does not refer to a network namespace path", a->netns);
	close(fd);
	fail("Deletion of non ovs type network devices not implemented "
	     "(a veth goes with its network namespace)");
}

int main(int argc, char *argv[])
{
	struct lxc_args a;

	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	if (getuid() != geteuid() || getgid() != getegid())
		fail("refusing to run setuid or setgid: no privilege is needed");
	if (lxc_args_parse(argc, argv, &a) != VARGS_RUN) {
		if (a.err && a.bad && argc >= 7 && argc <= 8)
			fail("%s: %s", a.err, a.bad);
		usage(argc > 0 ? argv[0] : prog);
	}
	return a.cmd == LXC_CREATE ? create(&a) : delete(&a);
}

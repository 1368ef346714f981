/* SPDX-License-Identifier: ISC */
/*
 * ontap-tap: asks ontap-broker for a tap on a bridge, as the calling user,
 * then execs a program with the tap open (chainloading, as s6 and execline
 * do).  N queues of one multiqueue tap are N descriptors at consecutive
 * numbers from --fd, without close-on-exec, announced in ONTAP_FDS (qemu's
 * `fds=' syntax), ONTAP_FD and ONTAP_IFNAME.  Unprivileged; every failure
 * is one line on stderr and an exit status from ontap-tap(1), and PROG is
 * not run (the tap, if any, goes with our descriptors).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "tapargs.h"

static const char *prog = "ontap-tap";

#define die(status, ...) client_fail(prog, status, __VA_ARGS__)

static void help(void)
{
	printf("Usage: %s [--queues N] [--vnet-hdr] [--fd FD] BRIDGE PROG [ARG...]\n", prog);
	printf("Asks ontap-broker (%s, or $ONTAP_SOCKET) for a tap on BRIDGE, then\n"
	       "runs PROG with it open: N queues (--queues, 1 to %d; 2 or more make a\n"
	       "multiqueue tap) at descriptors FD, FD+1, ... (--fd, default %d), listed in\n"
	       "ONTAP_FDS (colon-separated), ONTAP_FD (the first) and ONTAP_IFNAME.\n"
	       "--vnet-hdr asks for IFF_VNET_HDR.  Exit status without running PROG:\n"
	       "%d usage, %d temporary failure, %d refused; %d/%d PROG could not be run.\n",
	       ONTAP_SOCKET_PATH, PROTO_QUEUES_MAX, TAPARGS_FD_DEFAULT, TAP_EXIT_USAGE,
	       TAP_EXIT_TEMPORARY, TAP_EXIT_PERMANENT, TAP_EXIT_EXEC, TAP_EXIT_NOTFOUND);
}

/*
 * The received descriptors (close-on-exec, anywhere) to first..first+n-1,
 * inheritable.  Moved above the target range first, so that none is
 * overwritten by another's dup2(); whatever was open at a target number is
 * replaced, as the user asked.
 */
static void place_fds(struct client_grant *g, int first)
{
	int above = first + (int)g->nfds;

	for (unsigned i = 0; i < g->nfds; i++) {
		int fd = fcntl(g->fds[i], F_DUPFD_CLOEXEC, above);

		if (fd < 0)
			die(TAP_EXIT_TEMPORARY, "cannot move tap descriptor %d above %d: %s",
			    g->fds[i], above, strerror(errno));
		close(g->fds[i]);
		g->fds[i] = fd;
	}
	for (unsigned i = 0; i < g->nfds; i++) {
		/* dup2() leaves the new descriptor without FD_CLOEXEC: PROG inherits it */
		if (dup2(g->fds[i], first + (int)i) < 0)
			die(TAP_EXIT_TEMPORARY, "cannot place the tap at descriptor %d: %s",
			    first + (int)i, strerror(errno));
		close(g->fds[i]);
		g->fds[i] = first + (int)i;
	}
}

static void set_env(const struct client_grant *g)
{
	/* up to PROTO_QUEUES_MAX numbers of at most 7 digits, and colons */
	char fds[PROTO_QUEUES_MAX * 8 + 1], one[16];
	size_t off = 0;

	for (unsigned i = 0; i < g->nfds; i++)
		off += (size_t)snprintf(fds + off, sizeof(fds) - off, "%s%d", i ? ":" : "", g->fds[i]);
	snprintf(one, sizeof(one), "%d", g->fds[0]);
	if (setenv("ONTAP_FDS", fds, 1) < 0 || setenv("ONTAP_FD", one, 1) < 0 ||
	    setenv("ONTAP_IFNAME", g->ifname, 1) < 0)
		die(TAP_EXIT_TEMPORARY, "setenv: %s", strerror(errno));
}

int main(int argc, char *argv[])
{
	static struct client_grant g;
	static struct client_error e;
	struct client_request rq = { .version = PROTO_V2 };
	struct tapargs a;
	enum client_status st;

	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	/* a setuid copy would act with someone else's identity toward the broker */
	if (getuid() != geteuid() || getgid() != getegid())
		die(TAP_EXIT_PERMANENT, "refusing to run setuid or setgid: no privilege is needed");
	switch (tapargs_parse(argc, argv, &a)) {
	case TAPARGS_HELP:
		help();
		return EXIT_SUCCESS;
	case TAPARGS_VERSION:
		printf("%s (ontap) %s\n", prog, ONTAP_VERSION);
		return EXIT_SUCCESS;
	case TAPARGS_USAGE:
		die(TAP_EXIT_USAGE, "%s (usage: %s [--queues N] [--vnet-hdr] [--fd FD] BRIDGE PROG "
		    "[ARG...])", a.why, prog);
	case TAPARGS_RUN:
		break;
	}
	rq.bridge = a.bridge;
	rq.vnet_hdr = a.vnet_hdr;
	rq.queues = a.queues;
	st = client_ask(client_socket_path(), &rq, &g, &e);
	if (st != CLIENT_OK)
		die(st == CLIENT_TEMPORARY ? TAP_EXIT_TEMPORARY : TAP_EXIT_PERMANENT, "%s", e.msg);
	place_fds(&g, a.fd);
	set_env(&g);
	execvp(a.prog[0], a.prog);
	/* exiting closes the descriptors, and the tap goes with the last one */
	die(errno == ENOENT ? TAP_EXIT_NOTFOUND : TAP_EXIT_EXEC, "cannot run `%s': %s",
	    a.prog[0], strerror(errno));
}

/* SPDX-License-Identifier: ISC */
/*
 * The client side of ontap, shared by ontap-helper and ontap-tap: connect
 * to the broker, make sure it is the broker, ask, receive, and make sure
 * what came back is a tap on the bridge that was asked for.  Runs as the
 * requester, with no privilege; everything it receives comes from a
 * process it has checked is root or the broker's configured user.
 */
#ifndef ONTAP_CLIENT_H
#define ONTAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "proto.h"

/* the broker answers within its own deadline; this only bounds a wedged one */
#define CLIENT_TIMEOUT_S 60

struct client_request {
	unsigned version;        /* PROTO_V1 (one tap, any broker) or PROTO_V2 */
	const char *bridge;      /* checked with ifname_valid() by the caller */
	bool vnet_hdr;
	unsigned queues;         /* 1..PROTO_QUEUES_MAX; more than 1 needs PROTO_V2 */
};

struct client_grant {
	char ifname[IFNAMSIZ];   /* as the kernel names it (TUNGETIFF) */
	unsigned ifindex;
	uint32_t flags;          /* PROTO_F_VNET_HDR, PROTO_F_MULTI_QUEUE: as set on the tap */
	unsigned nfds;
	int fds[PROTO_QUEUES_MAX];  /* close-on-exec */
};

enum client_status {
	CLIENT_OK = 0,
	CLIENT_PERMANENT,   /* refused, or not a broker we may trust: asking again won't help */
	CLIENT_TEMPORARY,   /* unreachable, timed out, busy: it may work later */
};

struct client_error {
	int err;            /* errno: the broker's, or the local failure's */
	char msg[PROTO_REASON_MAX + 512];  /* one line for the user, no program name */
};

/*
 * The broker's socket: $ONTAP_SOCKET when set and not empty, else the
 * built-in path.  (The environment may pick the socket, never whom to
 * trust on it: see client_ask().)
 */
const char *client_socket_path(void);

/*
 * One whole request: connects to path, checks the server (SO_PEERCRED: uid
 * 0 or the built-in ONTAP_BROKER_USER, looked up in /etc/passwd), sends the
 * request, receives the answer and checks every descriptor is a tap of the
 * granted name, attached to the bridge asked for.  CLIENT_OK with g filled
 * (the caller owns g->fds), or another status with no descriptor left open
 * and e filled.
 */
enum client_status client_ask(const char *path, const struct client_request *rq,
			      struct client_grant *g, struct client_error *e);

/*
 * The veth kind (protocol version 2), for ontap-veth and ontap-lxc-user-nic:
 * a pair whose host end joins bridge and whose other end is made in the
 * network namespace netns_fd (sent with the request, SCM_RIGHTS) as peer
 * ("" for the broker's default, eth0; a template like "eth%d" is resolved
 * by the kernel).  flags: 0 or PROTO_F_LXC_USERNET.  The grant carries no
 * descriptor, and its host-side names are not checked here: the client may
 * well be inside the target namespace, where the host's links are not seen.
 */
struct client_veth_request {
	const char *bridge;      /* checked with ifname_valid() by the caller */
	const char *peer;
	int netns_fd;
	uint32_t flags;
};

struct client_veth_grant {
	char ifname[IFNAMSIZ];   /* the host end */
	unsigned ifindex;
	char peer[IFNAMSIZ];     /* the end in the namespace, and its index there */
	unsigned peer_ifindex;
};

enum client_status client_ask_veth(const char *path, const struct client_veth_request *rq,
				   struct client_veth_grant *g, struct client_error *e);

/* Whether a refusal's errno is worth trying again later (busy, timeouts). */
bool client_errno_temporary(int err);

/*
 * Every client's failure: "PROG: message" on stderr, then exit(status).
 * When stderr is a pipe (libvirt reads it in one thread and builds its
 * error as soon as another sees the socket close), the reader is given a
 * moment, bounded, to drain it first.
 */
void client_fail(const char *prog, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* That bounded wait alone, for a client about to exit on its own. */
void client_drain_stderr(void);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * The maker: the only code that changes the host's interfaces.  In listener
 * mode it is a child of the listener, root (or the broker's user) with
 * CAP_NET_ADMIN alone, that the requester cannot signal or rlimit; in
 * --inetd mode the instance's privileged parent does the same work itself.
 * It never sees a byte a client sent: the listener gives it a checked
 * verdict and the requester's identity as the kernel gave it.  It resolves
 * the bridge again, counts quotas and creates the tap under the quota lock
 * (held only here, only around count-and-create, never by a process a
 * requester controls), and removes orphaned taps.
 */
#ifndef ONTAP_MAKER_H
#define ONTAP_MAKER_H

#include <stdint.h>
#include <net/if.h>

#include "census.h"
#include "conf.h"
#include "peer.h"
#include "proto.h"
#include "usernet.h"
#include "worker.h"

#define MAKER_FDS_MAX PROTO_QUEUES_MAX

struct make_req {
	uint32_t id;
	uint32_t flags;              /* PROTO_F_* asked for */
	uint32_t queues;
	uint32_t bridge_ifindex;     /* as the worker resolved it */
	char bridge[IFNAMSIZ];       /* the name the ACL decided on */
	struct tap_owner owner;      /* the census attribution: quota groups, pid */
	/*
	 * The veth kind: sent with the namespace's descriptor, checked again
	 * here against owner.uid (the listener's SO_PEERCRED uid).
	 */
	uint32_t kind;               /* PROTO_KIND_* */
	uint32_t nusernet;           /* PROTO_F_LXC_USERNET: the lines to charge, 1.. */
	char peer[IFNAMSIZ];         /* the name in the namespace, "": eth0 */
};

/*
 * MAKER_MAKE_LXC: a veth decided by lxc-usernet, with the lines to charge.
 * A message of its own so that a tap's MAKER_MAKE stays small: the
 * listener's channel to the maker holds a burst of max-requests of them.
 */
struct make_lxc {
	struct make_req make;
	struct usernet_entry usernet[VERDICT_USERNET_MAX];
};

/* listener -> maker: a veth whose grant could not be sent goes (no answer) */
struct unmake_req {
	uint32_t ifindex;
	char name[IFNAMSIZ];         /* deleted only if ifindex still has this name */
};

struct make_resp {
	uint32_t id;
	int32_t err;                 /* 0: made */
	uint32_t ifindex;
	uint32_t flags;              /* PROTO_F_* actually set */
	uint32_t nfds;
	char name[IFNAMSIZ];
	char reason[PROTO_REASON_MAX + 1];   /* on error, a line for the user */
	/* a veth: its other end, and the lxc-usernet line it was charged to ("" none) */
	uint32_t peer_ifindex;
	char peer_name[IFNAMSIZ];
	char lxc[CENSUS_LXC_MAX];
};

/* The census attribution for a requester: uid, gid, pid, its quota groups. */
void maker_owner(const struct broker_conf *conf, const struct identity *id, pid_t pid,
		 struct tap_owner *o);

/*
 * Makes what req asks for, under conf's quotas: 0, or -errno with
 * resp->reason.  A tap is made on fds, nfds descriptors of /dev/net/tun
 * from tap_open() (req->queues of them), which are maker_make()'s from the
 * call on: closed on error, and on success the tap's queues (resp->nfds),
 * the caller's to close.  A veth takes none.  Nothing is left behind on
 * error but what other copies of those descriptors hold.  lock:
 * maker_open_lock()'s answer.  usernet: req->nusernet lxc-usernet lines
 * (MAKER_MAKE_LXC), else NULL.  nsfd: a veth's target namespace (the caller
 * keeps and closes it), else -1.
 */
int maker_make(const struct broker_conf *conf, int lock, const struct make_req *req,
	       const struct usernet_entry *usernet, int nsfd, int fds[MAKER_FDS_MAX],
	       unsigned nfds, struct make_resp *resp);

/*
 * What the maker is asked for request id, from its checked verdict v:
 * out->make, and out->usernet for a veth by lxc-usernet.  The op to send it
 * with: MAKER_MAKE or MAKER_MAKE_LXC.
 */
uint32_t maker_req_fill(const struct broker_conf *conf, const struct identity *who, pid_t pid,
			uint32_t id, const struct verdict *v, struct make_lxc *out);

/* Deletes a veth made for a grant that could not be sent (req->name checked); logs. */
void maker_unmake(const struct unmake_req *req);

/* Removes taps made persistent that nobody holds; logs each. */
void maker_reap(void);

/* Opens conf's quota lock file: the fd, or -errno (-ENOLCK: no quotas, none needed). */
int maker_open_lock(const struct broker_conf *conf);

/*
 * The maker child: drops to CAP_NET_ADMIN alone, then serves the listener's
 * messages on chan until it is closed.  Never returns.
 */
void maker_main(int chan, const struct broker_conf *conf) __attribute__((noreturn));

/* listener -> maker */
enum maker_op { MAKER_MAKE = 1, MAKER_CONF, MAKER_REAP, MAKER_UNMAKE, MAKER_MAKE_LXC };

/* each op's message is only as long as its part of the union */
struct maker_msg {
	uint32_t op;
	union {
		struct make_req make;
		struct make_lxc lxc;         /* lxc.make is make */
		struct broker_conf conf;
		struct unmake_req unmake;
	};
};

/* The exact length of a message of op, 0 for an unknown op. */
size_t maker_msg_len(uint32_t op);

#endif

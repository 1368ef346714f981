/* SPDX-License-Identifier: ISC */
/*
 * A worker: a process of the listener's that becomes one requester's identity
 * for good (its uid, gid and groups, no capability, NO_NEW_PRIVS, not
 * dumpable) before it reads a byte from a client.  It serves, one at a time,
 * the connections the listener hands it — only ever connections of that
 * identity — and for each decodes the request, checks the bridge, reads the
 * ACL as the requester and sends the listener a verdict.  It never answers
 * the client and writes no audit record: the requester may stop, kill or
 * rlimit it at any moment, so nothing anyone else depends on happens here.
 */
#ifndef ONTAP_WORKER_H
#define ONTAP_WORKER_H

#include <stdint.h>
#include <net/if.h>

#include "conf.h"
#include "peer.h"
#include "proto.h"
#include "usernet.h"

/*
 * lxc-usernet lines a verdict carries for the maker to count: the verdict
 * stays one fixed-size message, and a request to which more lines apply is
 * refused (lxc-user-nic has no such bound; ontap-lxc-user-nic(1)).
 */
#define VERDICT_USERNET_MAX 8

/* listener -> worker, with the client's connection as the one descriptor */
struct job {
	uint32_t id;
	uint32_t deadline_ms;   /* left for the whole request */
};

/* worker -> listener: exactly this size; every field checked by verdict_check() */
struct verdict {
	uint32_t id;
	int32_t err;                 /* 0: allowed; else a Linux errno, 1..4095 */
	uint8_t denied;              /* refused by the ACL (or by its failing closed) */
	uint8_t version;             /* of the request; 0: none was decoded */
	uint8_t kind;                /* PROTO_KIND_* */
	uint8_t asked_len;
	uint32_t flags;              /* the request's */
	uint32_t queues;             /* 1..PROTO_QUEUES_MAX */
	uint32_t bridge_ifindex;
	char asked[IFNAMSIZ];        /* the bridge as asked for: asked_len raw bytes */
	char bridge[IFNAMSIZ];       /* the bridge decided on, NUL-terminated */
	char reason[PROTO_REASON_MAX + 1];
	char exe[256];               /* advisory: the requester's executable */
	/*
	 * The veth kind: an allowed verdict comes with the target namespace's
	 * descriptor (the one the client sent) and is the only one that does.
	 */
	uint8_t peer_len;
	uint8_t nusernet;            /* PROTO_F_LXC_USERNET: the lines that apply, 1.. */
	uint8_t pad[6];
	int64_t netns_owner;         /* the namespace's owner uid, -1: unknown */
	char peer[IFNAMSIZ];         /* the name asked for in it: peer_len raw bytes ("": eth0) */
	struct usernet_entry usernet[VERDICT_USERNET_MAX];
};

/*
 * Pure: 0 if v is well formed (NUL-terminated strings, ranges, an allowed
 * verdict naming a valid bridge) and answers job id, else -EBADMSG.  The
 * listener trusts a worker no further than this.
 */
int verdict_check(const struct verdict *v, uint32_t id);

/*
 * The worker process, from fork to exit: becomes id, then serves jobs from
 * chan until it is closed.  Never returns.
 */
void worker_main(int chan, const struct identity *id, const struct broker_conf *conf)
	__attribute__((noreturn));

#endif

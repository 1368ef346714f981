/* SPDX-License-Identifier: ISC */
/*
 * The container clients' side of the protocol (version 2, kind veth): one
 * connection, one request with the target namespace's descriptor, one
 * answer.  Runs as the caller, with no privilege.
 */
#ifndef ONTAP_VCLIENT_H
#define ONTAP_VCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

struct vclient_veth {
	unsigned ifindex, peer_ifindex;
	char name[IFNAMSIZ], peer_name[IFNAMSIZ];
};

/*
 * Asks the broker ($ONTAP_SOCKET, else the built-in path) for a veth on
 * bridge whose peer is made in the namespace netns_fd under peer ("" for
 * the broker's default), with flags (PROTO_F_LXC_USERNET or 0).  0, or
 * -errno with a line for the user in err: the broker's refusal (its errno
 * and reason) or what failed on the way.
 */
int vclient_veth(const char *bridge, const char *peer, int netns_fd, uint32_t flags,
		 struct vclient_veth *out, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * A veth pair between a bridge and a network namespace (the "veth" kind of
 * protocol version 2).  Runs with CAP_NET_ADMIN, after netns_check() has
 * said the namespace is the requester's.
 */
#ifndef ONTAP_VETH_H
#define ONTAP_VETH_H

#include <stddef.h>
#include <net/if.h>

#include "tap.h"

#define VETH_PEER_DEFAULT "eth0"

struct veth {
	unsigned ifindex;            /* the host end, in the broker's netns */
	char name[IFNAMSIZ];
	unsigned peer_ifindex;       /* the other end, in the target netns */
	char peer_name[IFNAMSIZ];
};

/*
 * Makes a pair: the host end named "veth" and six random characters (as
 * lxc-user-nic names its own), with br's MTU, a MAC whose first octet is
 * 0xfe (so the bridge keeps its address), the alias (the census's
 * attribution, may be NULL), enslaved to br and up; the peer created
 * directly in the namespace netns_fd under peer_name (a valid name, or NULL
 * or "" for "eth0"; a kernel template like "eth%d" is resolved, and
 * v->peer_name is the name the namespace gave it) with br's MTU, left down
 * for its owner to configure.
 * 0 or -errno: -EEXIST when peer_name is taken in the namespace.  On error
 * nothing is left, on the host or in the namespace, and err gets a line
 * for the user.
 */
int veth_create(const struct bridge *br, int netns_fd, const char *peer_name, const char *alias,
		struct veth *v, char *err, size_t errlen);

/* Deletes the pair by its host end (either end takes both): 0 or -errno. */
int veth_delete(unsigned ifindex);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * Which bridge a request names.  A name given to the kernel also matches an
 * interface's alternative names (`ip link property add altname'), so the
 * name a requester asked for is resolved to the interface's own, canonical
 * name and its ifindex first, and the ACL decides on that name; the tap is
 * then attached by ifindex, and bridge_recheck() makes sure that ifindex
 * still is that bridge.  The interface ioctls used need no privilege: this
 * runs in the worker once it is the requester, and in the maker.
 */
#ifndef ONTAP_BRIDGE_H
#define ONTAP_BRIDGE_H

#include <stddef.h>
#include <net/if.h>

struct bridge {
	unsigned ifindex;      /* 0: no such interface */
	unsigned mtu;
	char name[IFNAMSIZ];   /* the canonical name: what the ACL decides on and the record says */
};

/*
 * Resolves the name asked for (already ifname_valid()).  Always fills
 * br->name with the name to decide on: the interface's canonical name if it
 * exists, else asked as it is.  Returns 0 (a Linux bridge: ifindex and mtu
 * set), -ENODEV (no such interface), -EMEDIUMTYPE (it exists and is not a
 * bridge), or another -errno (the lookup itself failed: refuse).  Unless 0,
 * err gets a line for the user, with names escaped (escape.h).
 */
int bridge_resolve(const char *asked, struct bridge *br, char *err, size_t errlen);

/*
 * Whether br->ifindex still is the bridge named br->name: 0, or -ENODEV
 * (gone), -ESTALE (renamed), another -errno; err then gets a line for the
 * user.  Called once the tap is attached, so a bridge renamed or replaced
 * while the request was decided is caught with the tap still closable.
 */
int bridge_recheck(const struct bridge *br, char *err, size_t errlen);

#endif

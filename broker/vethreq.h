/* SPDX-License-Identifier: ISC */
/*
 * The veth kind's own steps of a request, between the protocol and
 * veth.c, in the request path's processes:
 *  - vethreq_usernet(): in the worker, as the requester (after the netns
 *    check, in place of bridge.conf, for requests with PROTO_F_LXC_USERNET):
 *    the lxc-usernet lines that apply to them;
 *  - vethreq_charge(): in the maker (or an --inetd parent), where taps are
 *    counted, under the quota lock: which of those lines (passed on in the
 *    verdict, at most VERDICT_USERNET_MAX) the new veth is charged to.
 */
#ifndef ONTAP_VETHREQ_H
#define ONTAP_VETHREQ_H

#include <stddef.h>

#include "census.h"
#include "peer.h"
#include "usernet.h"

/* lxc-usernet is read whole, and refused beyond this */
#define VETHREQ_USERNET_MAX (1u << 20)

struct vethreq_usernet {
	size_t n;
	struct usernet_entry e[USERNET_MATCH_MAX];
};

/*
 * Reads path (lxc-usernet) with the caller's own identity, and finds the
 * lines for p's user name and supplementary groups (names from the passwd
 * and group databases), of type "veth", on bridge.  0, or -errno with a
 * line for the user in reason: -ENOENT (no line applies; also a file that
 * is missing or unreadable, as lxc-user-nic has no grant then either),
 * -EFBIG, -E2BIG, or the error that stopped the read.
 */
int vethreq_usernet(const char *path, const struct peer *p, const char *bridge,
		    struct vethreq_usernet *u, char *reason, size_t len);

/*
 * Counts the live veths on the bridge (ifindex) charged to each line's name
 * (census lxc=NAME, as walk finds them) and picks the first line with room:
 * 0 and its name in lxc (CENSUS_LXC_MAX), or -EDQUOT / -errno with a line
 * in reason.
 */
int vethreq_charge(const struct vethreq_usernet *u, unsigned bridge, census_walker *walk,
		   char *lxc, char *reason, size_t len);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_TAP_H
#define ONTAP_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#include "bridge.h"
#include "proto.h"

struct tap {
	/*
	 * One open /dev/net/tun per queue; the tap lives exactly as long as
	 * any of them.  nfds >= 2 makes it IFF_MULTI_QUEUE.
	 */
	int fds[PROTO_QUEUES_MAX];
	unsigned nfds;
	unsigned ifindex;
	bool vnet_hdr;
	bool multi_queue;
	char name[IFNAMSIZ];
};

/*
 * Opens /dev/net/tun n times (1..PROTO_QUEUES_MAX) into fds, as the broker
 * (the node may be 0600): 0 or -errno (none left open), err gets a line for
 * the user.  The listener opens them and keeps its copies while the maker
 * makes the tap on its own: so the maker never holds a tap's last
 * reference, whose close would run the teardown there.
 */
int tap_open(int *fds, unsigned n, char *err, size_t errlen);

/* t as n descriptors tap_open() opened, the tap not made yet; t owns them now. */
void tap_adopt(struct tap *t, const int *fds, unsigned n);

/* Closes every descriptor of t: the tap, if made, goes with the last one. */
void tap_close(struct tap *t);

/*
 * Makes t (tap_adopt(), t->nfds queues) one tap (tap%d,
 * IFF_TAP|IFF_NO_PI, IFF_MULTI_QUEUE when 2 or more queues, IFF_VNET_HDR iff
 * asked and the kernel has it), each descriptor one of its queues, gives it
 * br's MTU and a MAC whose first octet is 0xfe, sets its alias (the
 * census's attribution, may be NULL), enslaves it to br by ifindex and
 * brings it up.  All or nothing: 0, or -errno with every descriptor closed,
 * no tap left and err a line for the user.
 */
int tap_create(const struct bridge *br, bool vnet_hdr, const char *alias, struct tap *t,
	       char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_TAP_H
#define ONTAP_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#include "bridge.h"

struct tap {
	int fd;              /* the tap lives exactly as long as this */
	unsigned ifindex;
	bool vnet_hdr;
	char name[IFNAMSIZ];
};

/*
 * Opens /dev/net/tun into t->fd, before the worker becomes the requester
 * (the node may be 0600): 0 or -errno, err gets a line for the user.
 */
int tap_open(struct tap *t, char *err, size_t errlen);

/*
 * Makes t (opened by tap_open()) a tap (tap%d, IFF_TAP|IFF_NO_PI,
 * IFF_VNET_HDR iff asked and the kernel has it), gives it br's MTU and a MAC
 * whose first octet is 0xfe, sets its alias (the census's attribution, may
 * be NULL), enslaves it to br by ifindex and brings it up.  0 or -errno; on error t->fd is closed, no
 * tap is left and err gets a line for the user.
 */
int tap_create(const struct bridge *br, bool vnet_hdr, const char *alias, struct tap *t,
	       char *err, size_t errlen);

#endif

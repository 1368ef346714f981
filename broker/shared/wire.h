/* SPDX-License-Identifier: ISC */
/*
 * Moving proto.h messages over a unix stream socket, with the descriptors
 * each one must carry (proto_fds()): none, one, or a multiqueue tap's N.
 */
#ifndef ONTAP_WIRE_H
#define ONTAP_WIRE_H

#include "proto.h"

/*
 * Sends msg in one sendmsg() where the socket allows; the nfds descriptors
 * (0..PROTO_QUEUES_MAX) ride on the first byte, all in one SCM_RIGHTS cmsg.
 * 0 or -errno.
 */
int wire_send(int sock, const struct proto_msg *msg, const int *fds, size_t nfds);

/*
 * Receives exactly one message and the descriptors it carries, into fds
 * (room for max; max 0 and fds NULL: none accepted), close-on-exec; the
 * slots not filled are -1.
 * Returns how many descriptors arrived, which is exactly proto_fds(msg),
 * or -errno with every received descriptor closed: a message whose count
 * differs (any at all when max is 0, more than max, fewer than it needs) or
 * whose control data was truncated (MSG_CTRUNC) is -EBADMSG; EOF before a
 * whole message -ECONNRESET; a malformed one -EPROTO or -EPROTONOSUPPORT.
 */
int wire_recv(int sock, struct proto_msg *msg, int *fds, size_t max);

#endif

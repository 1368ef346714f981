/* SPDX-License-Identifier: ISC */
/* Moving proto.h messages over a unix stream socket, with at most one fd. */
#ifndef ONTAP_WIRE_H
#define ONTAP_WIRE_H

#include "proto.h"

/*
 * Sends msg in one sendmsg() where the socket allows; fd >= 0 rides on the
 * first byte as the only SCM_RIGHTS cmsg.  0 or -errno.
 */
int wire_send(int sock, const struct proto_msg *msg, int fd);

/*
 * Receives exactly one message.  With fd == NULL no descriptor is accepted:
 * one that arrives anyway is closed and the message refused (-EBADMSG).
 * Otherwise *fd is the one descriptor that came with it, or -1.  A second
 * descriptor or a truncated control message is -EBADMSG; EOF before a whole
 * message is -ECONNRESET; a malformed one -EPROTO or -EPROTONOSUPPORT.
 */
int wire_recv(int sock, struct proto_msg *msg, int *fd);

#endif

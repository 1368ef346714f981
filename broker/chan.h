/* SPDX-License-Identifier: ISC */
/*
 * How the broker's own processes talk: SOCK_SEQPACKET socketpairs between
 * the listener and each worker, and between the listener and the maker.
 * Every message is one fixed-size structure; a receiver takes it only when
 * it is exactly that size, with at most the descriptors it has room for.
 */
#ifndef ONTAP_CHAN_H
#define ONTAP_CHAN_H

#include <stdbool.h>
#include <stddef.h>

/* A socketpair for a child: 0 or -errno.  fds[0] stays, fds[1] goes to the child. */
int chan_pair(int fds[2]);

/* One message and nfds descriptors: 0 or -errno.  Never blocks (MSG_DONTWAIT). */
int chan_send(int chan, const void *buf, size_t len, const int *fds, unsigned nfds);

/*
 * One message of at most (exact: exactly) len bytes, and up to maxfds
 * descriptors (*nfds set).  Its length, -ECONNRESET at end of file, -EBADMSG
 * for a message of another size, a truncated control message or more
 * descriptors than room (all received descriptors are then closed), or
 * -errno.  Blocks unless dontwait.
 */
long chan_recv(int chan, void *buf, size_t len, bool exact, int *fds, unsigned maxfds,
	       unsigned *nfds, bool dontwait);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_PEER_H
#define ONTAP_PEER_H

#include <sys/types.h>

/* Who is on the other end of a connection, as the kernel says. */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t *groups;   /* the caller's actual supplementary groups */
};

/* SO_PEERCRED + SO_PEERGROUPS: 0 or -errno.  peer_free() after. */
int peer_get(int sock, struct peer *p);
void peer_free(struct peer *p);

/* "1000,27,44" into out (cut short, never overflowing). */
const char *peer_groups_str(const struct peer *p, char *out, size_t cap);

/*
 * Becomes p for good: its groups, gid and uid, and of all capabilities
 * CAP_NET_ADMIN alone (to make the tap), no way to regain any other.  For a
 * worker about to read the ACL and the request on p's behalf.  0 or -errno;
 * on error the caller must not go on.
 */
int peer_become(const struct peer *p);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * Who is asking.  Runs in the listener (and in an --inetd instance before it
 * forks its worker): the identity a request is decided with, quota-counted
 * under and audited as, taken from the kernel and the group database, never
 * from anything the requester sends.
 */
#ifndef ONTAP_PEER_H
#define ONTAP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PEER_GROUPS_MAX 256

/* What the kernel says of the other end of a connection. */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[PEER_GROUPS_MAX];   /* SO_PEERGROUPS */
};

/*
 * The identity a request is served with.  groups is sorted and unique and
 * never lacks a group the account has in the group database: a requester
 * can shed supplementary groups in a user namespace of its own, and must
 * not escape a group-readable deny rule or a group quota by it.
 */
struct identity {
	uid_t uid;
	gid_t gid;
	bool nested;      /* credentials from a user namespace below the broker's */
	int ngroups;
	gid_t groups[PEER_GROUPS_MAX];
};

/* SO_PEERCRED + SO_PEERGROUPS: 0 or -errno. */
int peer_get(int sock, struct peer *p);

/*
 * True unless pid's user namespace is the broker's own (/proc/PID/uid_map is
 * the identity map of every id; readable without ptrace access).  A peer we
 * cannot look at counts as nested.
 */
bool peer_nested(pid_t pid);

/*
 * The identity for p (see ontap-broker(8), IDENTITY): uid from the kernel;
 * in the broker's user namespace, gid and groups from the kernel joined with
 * the account's groups from the database; from a nested user namespace,
 * whose ids the requester mapped itself, the database's alone (the primary
 * group of its passwd entry, or 65534 without one).  Whether it is nested
 * (peer_nested()) is looked up only when that changes the answer.  0, or
 * -E2BIG when there are more than PEER_GROUPS_MAX groups.
 */
int peer_identity(const struct peer *p, struct identity *id);

/* Same uid, gid and groups. */
bool identity_equal(const struct identity *a, const struct identity *b);

/* Whether gid is id's primary group or one of its groups. */
bool identity_in_group(const struct identity *id, gid_t gid);

/*
 * A connection's kernel credentials can belong to the worker serving id: the
 * same uid, and (unless nested) the same gid and no group outside id's.
 */
bool identity_admits(const struct identity *id, const struct peer *p);

/* "1000,27,44" into out (cut short, never overflowing). */
const char *identity_groups_str(const struct identity *id, char *out, size_t cap);

/*
 * Becomes id for good: its groups, gid and uid, no capability at all and no
 * way to regain one (NO_NEW_PRIVS), not dumpable.  For a worker about to
 * read requests and the ACL on id's behalf.  0 or -errno; on error the
 * caller must not go on.
 */
int identity_become(const struct identity *id);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * /etc/lxc/lxc-usernet, LXC's policy for unprivileged veths, read the way
 * lxc-user-nic reads it.  Pure: the file's bytes in, a sum out.  The broker
 * evaluates it (in a worker, as the requester) for version-2 veth requests
 * that carry PROTO_F_LXC_USERNET; the client never decides.
 *
 * Lines are `USER TYPE BRIDGE COUNT' or `@GROUP TYPE BRIDGE COUNT'.  As
 * lxc-user-nic does (sscanf "%99[^ \t] %99[^ \t] %99[^ \t] %d"):
 *  - a field is 1..99 bytes of anything but space and tab; a line that
 *    starts with space or tab, or has fewer than four fields, is skipped
 *    (so are comments: `#' makes a name no user has);
 *  - fields are separated by any run of whitespace, possibly empty: a
 *    field of 99 bytes goes straight on into the next;
 *  - COUNT is an optionally signed decimal, and what follows its digits
 *    is ignored (`2x' is 2); one out of int's range skips the line;
 *  - a NUL ends the line's text (sscanf stops there);
 *  - USER matches the requester's user name, @GROUP one of their
 *    supplementary groups (getgroups(2), i.e. SO_PEERGROUPS), TYPE and
 *    BRIDGE exactly (case-sensitive);
 *  - lxc-user-nic refuses when the COUNTs of the matching lines add up to
 *    0 or less; otherwise the lines are tried in file order, and the new
 *    interface is charged to the first whose NAME (the user, or the
 *    @group, shared by its members) has fewer live interfaces on that
 *    bridge than its COUNT (lxc-usernet(5): "counted towards the quotas of
 *    the user or group in the order in which they appear in the file").
 */
#ifndef ONTAP_USERNET_H
#define ONTAP_USERNET_H

#include <stddef.h>

#define USERNET_FIELD_MAX 99
#define USERNET_PATH_DEFAULT "/etc/lxc/lxc-usernet"

struct usernet_query {
	const char *user;            /* the requester's user name */
	const char *const *groups;   /* names of their supplementary groups */
	size_t ngroups;
	const char *type;            /* "veth" */
	const char *bridge;
};

#define USERNET_MATCH_MAX 64

/* A line that applies to the requester. */
struct usernet_entry {
	char name[USERNET_FIELD_MAX + 1];   /* USER or @GROUP, as written */
	int count;
	unsigned line;                      /* 1-based */
};

/*
 * Finds the lines of the file's contents (buf, len; no NUL needed) that
 * apply to q, in file order, into out (room for max): 0 with *n set, or
 * -E2BIG when more than max apply.
 */
int usernet_match(const char *buf, size_t len, const struct usernet_query *q,
		  struct usernet_entry *out, size_t max, size_t *n);

/*
 * Which of the n matching entries the new interface is charged to, given
 * used[i], the live interfaces already charged to entries[i].name on that
 * bridge: its index, or -ENOENT (no line applies) or -EDQUOT (the counts
 * add up to 0 or less, or every line is full).
 */
int usernet_pick(const struct usernet_entry *e, size_t n, const unsigned *used);

#endif

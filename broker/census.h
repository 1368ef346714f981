/* SPDX-License-Identifier: ISC */
/*
 * Which taps ontap made, counted from the kernel.  Each tap carries its
 * attribution in its interface alias (IFLA_IFALIAS), which only
 * CAP_NET_ADMIN can change: the fd holder may make the tap persistent or
 * give it another owner (TUNSETPERSIST, TUNSETOWNER need no capability), but
 * it stays counted against whoever asked for it, across broker restarts.
 */
#ifndef ONTAP_CENSUS_H
#define ONTAP_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#define CENSUS_MAX_GROUPS 16
#define CENSUS_ALIAS_MAX  256   /* IFALIASZ */
#define CENSUS_LXC_MAX    100   /* an lxc-usernet name field and its NUL */

struct tap_owner {
	unsigned uid, gid;
	int pid;
	int64_t since;               /* seconds since the epoch */
	unsigned ngroups;            /* quota groups the requester was in */
	unsigned groups[CENSUS_MAX_GROUPS];
	/*
	 * The lxc-usernet entry (USER or @GROUP) a veth was charged to, "" for
	 * none; written last as " lxc=NAME" (a name has no space or tab).
	 */
	char lxc[CENSUS_LXC_MAX];
};

/*
 * A veth counts like a tap (same alias, same quotas, --list) but is never
 * an orphan: nobody holds an fd of it, it lives as long as the namespace
 * its peer is in, and dies with it.  Its persist and attached stay false
 * (attached would only say whether the peer is up), so the reaper's test,
 * persistent and unheld, never picks one.
 */
enum census_kind {
	CENSUS_TAP,
	CENSUS_VETH,
};

struct tap_entry {
	enum census_kind kind;
	char name[IFNAMSIZ];
	unsigned ifindex;
	unsigned master;             /* ifindex of its bridge, 0 if none */
	bool persist;
	bool attached;               /* some process holds an fd of it */
	struct tap_owner owner;
};

/* Pure: the alias text for an owner, and back.  0 or -errno. */
int census_alias_format(const struct tap_owner *o, char *buf, size_t cap);
int census_alias_parse(const char *buf, size_t len, struct tap_owner *o);

struct nlmsghdr;

/*
 * Reads one RTM_NEWLINK or RTM_DELLINK (a dump's answer or a notification)
 * into t: 1 if it is a tap or veth ontap made, 0 if another link (t->ifindex
 * set), -EPFNOSUPPORT if it is not about a link's own state (AF_BRIDGE news
 * of a bridge port), -EBADMSG if it is no link message.  The one parser of
 * link messages: the census's dumps and the ledger's notifications alike.
 */
int census_link_parse(const struct nlmsghdr *nlh, struct tap_entry *t);

/*
 * Calls fn for every tap and veth ontap made in this network namespace (one
 * RTM_GETLINK dump).  0, -errno, or fn's first non-zero return.
 */
int census_walk(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx);

/* census_walk(), or another source of the same entries (ledger_walk()) */
typedef int census_walker(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx);

/* Removes a tap (RTM_DELLINK): 0 or -errno. */
int census_delete(unsigned ifindex);

#endif

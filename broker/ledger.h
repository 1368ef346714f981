/* SPDX-License-Identifier: ISC */
/*
 * The ledger: the listener-mode maker's running count of the links ontap
 * made (census.h's tagged taps and veths), kept from rtnetlink's link
 * notifications instead of a dump of every link on the host per request.
 * Runs in the maker, a long-lived process; an --inetd instance, which
 * serves one request, and the orphan reaper keep census_walk()'s dump.
 *
 * Only quotas are counted from it: a tap's carrier (attached) reaches it
 * late, through the kernel's linkwatch, and TUNSETPERSIST is not notified
 * at all, so its persist and attached may be stale.
 */
#ifndef ONTAP_LEDGER_H
#define ONTAP_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "census.h"

/* Pure: the tagged links by ifindex, ascending. */
struct ledger_table {
	struct tap_entry *e;
	size_t n, cap;
};

/*
 * Applies the link messages in (buf, len; buf aligned to NLMSG_ALIGNTO) in
 * order: a tagged tap or veth (RTM_NEWLINK) is put in or replaced, any
 * other RTM_NEWLINK and every RTM_DELLINK removes its ifindex, AF_BRIDGE
 * news is skipped.  0, -EBADMSG (a message that does not parse, or
 * trailing bytes: those before it are applied) or -ENOMEM.
 */
int ledger_apply(struct ledger_table *tb, const void *buf, size_t len);

/* Calls fn on every entry: 0 or fn's first non-zero return. */
int ledger_table_walk(const struct ledger_table *tb,
		      int (*fn)(const struct tap_entry *t, void *ctx), void *ctx);

void ledger_table_free(struct ledger_table *tb);

/* Subscribes to link notifications, then fills the table from a dump: 0 or -errno. */
int ledger_open(void);

bool ledger_is_open(void);

/*
 * Applies the queued notifications, without blocking.  Notifications lost
 * (ENOBUFS), one that does not parse, more than a request's worth queued,
 * or 30 s since the last dump: the table is filled again from a dump, on a
 * fresh socket.  0, or -errno, and then ledger_walk() refuses until a later
 * ledger_sync() succeeds (the maker counts with a dump of its own meanwhile).
 */
int ledger_sync(void);

/*
 * census_walk()'s contract, over the table as the last ledger_sync() left
 * it: -ESTALE if that failed.
 */
int ledger_walk(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx);

#endif

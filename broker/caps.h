/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_CAPS_H
#define ONTAP_CAPS_H

#include <stdint.h>

#define CAPS_BIT(c) (UINT64_C(1) << (c))

/*
 * Keeps exactly the capabilities the listener needs and nothing else, the
 * bounding set included where it may: CAP_NET_ADMIN (for the maker, which
 * creates taps), CAP_SETUID and CAP_SETGID (each worker becomes the
 * requester, so the ACL is read with the requester's identity), CAP_KILL
 * (a worker has the requester's uid: only CAP_KILL ends one that the
 * requester stopped).  Exits with a message if one is missing.
 */
void caps_restrict(void);

/* Only the check: exits with a message if a needed capability is missing. */
void caps_check(void);

/*
 * Leaves this process exactly the capabilities in want (CAPS_BIT()s),
 * effective and permitted, nothing inheritable or ambient, and reads that
 * back: 0 or -errno.
 */
int caps_only(uint64_t want);

/* caps_only(CAP_NET_ADMIN): the maker and the orphan reaper. */
int caps_net_admin_only(void);

/* caps_only(0): a worker that has taken the requester's identity. */
int caps_none(void);

#endif

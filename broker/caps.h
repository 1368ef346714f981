/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_CAPS_H
#define ONTAP_CAPS_H

#include <stdbool.h>

/*
 * Keeps exactly the capabilities the broker needs and nothing else, the
 * bounding set included where it may: CAP_NET_ADMIN (TUNSETIFF, rtnetlink
 * changes to the tap), CAP_SETUID and CAP_SETGID (a child becomes the
 * requester to read the ACL).  Exits with a message if one is missing.
 */
void caps_restrict(void);

/* Only the check: exits with a message if a needed capability is missing. */
void caps_check(void);

/* Whether this process holds no capability at all (effective, permitted, inheritable). */
bool caps_none(void);

/* A worker past its ACL check needs CAP_NET_ADMIN alone: drops the rest. */
int caps_drop_identity(void);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_CAPS_H
#define ONTAP_CAPS_H

/*
 * Keeps exactly the capabilities the broker needs and nothing else, the
 * bounding set included where it may: CAP_NET_ADMIN (TUNSETIFF, rtnetlink
 * changes to the tap), CAP_SETUID and CAP_SETGID (each worker becomes the
 * requester, so the ACL is read with the requester's identity).  Exits with
 * a message if one is missing.
 */
void caps_restrict(void);

/* Only the check: exits with a message if a needed capability is missing. */
void caps_check(void);

/*
 * Leaves this process CAP_NET_ADMIN alone, effective and permitted, nothing
 * inheritable or ambient, and reads that back: 0 or -errno.  For a worker
 * that has taken the requester's identity; CAP_NET_ADMIN lets no file
 * permission be bypassed.
 */
int caps_net_admin_only(void);

#endif

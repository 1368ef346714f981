/* SPDX-License-Identifier: ISC */
/*
 * A user's uid from the bytes of /etc/passwd, without NSS: the clients are
 * static (musl), and the one name they look up is the broker's own service
 * user, which a package puts in /etc/passwd.  Pure, no I/O.
 */
#ifndef ONTAP_PASSWD_H
#define ONTAP_PASSWD_H

#include <stddef.h>

/*
 * Finds the line `NAME:PASSWORD:UID:...' for name in buf (len bytes, no NUL
 * needed): 0 and *uid, -ENOENT (no such line), or -EINVAL (that line's uid
 * is not a number below 2^32-1).  The first line with the name wins, as
 * getpwnam() does; NIS `+'/`-' lines and malformed lines of other users
 * are skipped.
 */
int passwd_uid(const char *buf, size_t len, const char *name, unsigned *uid);

#endif

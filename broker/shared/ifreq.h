/* SPDX-License-Identifier: ISC */
/*
 * An interface ioctl that names its interface (SIOCGIFINDEX, SIOCGIFMTU,
 * SIOCETHTOOL...), for the broker and the clients alike.
 */
#ifndef ONTAP_IFREQ_H
#define ONTAP_IFREQ_H

#include <net/if.h>

/*
 * ioctl(s, req, ifr) with ifr->ifr_name set to name (the rest of *ifr as
 * the caller left it): 0, -ENAMETOOLONG (name does not fit: never
 * truncated) or -errno.  Any socket takes these ioctls.
 */
int ifreq_by_name(int s, unsigned long req, const char *name, struct ifreq *ifr);

#endif

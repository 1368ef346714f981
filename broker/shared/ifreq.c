/* SPDX-License-Identifier: ISC */
/* Runs in the broker's worker and maker, and in the clients (see ifreq.h). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ifreq.h"

int ifreq_by_name(int s, unsigned long req, const char *name, struct ifreq *ifr)
{
	size_t n = strnlen(name, IFNAMSIZ);

	if (n == IFNAMSIZ)
		return -ENAMETOOLONG;
	memcpy(ifr->ifr_name, name, n);
	memset(ifr->ifr_name + n, 0, IFNAMSIZ - n);
	return ioctl(s, req, ifr) < 0 ? -errno : 0;
}

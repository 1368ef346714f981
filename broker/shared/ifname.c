/* SPDX-License-Identifier: ISC */
#include <net/if.h>

#include "ifname.h"

bool ifname_valid(const char *buf, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if ((len == 1 && buf[0] == '.') || (len == 2 && buf[0] == '.' && buf[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		switch (buf[i]) {
		case '\0': case '/': case ':':
		/* the kernel's isspace() (lib/ctype.c): the C locale's six and 0xa0 */
		case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
		case (char)0xa0:
			return false;
		}
	}
	return true;
}

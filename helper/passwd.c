/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>

#include "passwd.h"

/* The n-th ':'-separated field of line [p, end): its start and length, or -1. */
static int field(const char *p, const char *end, int n, const char **f, size_t *flen)
{
	for (int i = 0; i < n; i++) {
		const char *c = memchr(p, ':', (size_t)(end - p));

		if (!c)
			return -1;
		p = c + 1;
	}
	*f = p;
	*flen = (size_t)(end - p);
	if (memchr(p, ':', *flen))
		*flen = (size_t)((const char *)memchr(p, ':', *flen) - p);
	return 0;
}

static int parse_uid(const char *s, size_t n, unsigned *uid)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	/* (uid_t)-1 means "no change" to set*id(): never a real user */
	if (v >= 0xffffffffUL)
		return -EINVAL;
	*uid = (unsigned)v;
	return 0;
}

int passwd_uid(const char *buf, size_t len, const char *name, unsigned *uid)
{
	size_t nlen = strlen(name);
	const char *p = buf, *end = buf + len;

	if (nlen == 0 || memchr(name, ':', nlen) || memchr(name, '\n', nlen))
		return -ENOENT;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *f;
		size_t flen;

		if ((size_t)(eol - p) > nlen && !memcmp(p, name, nlen) && p[nlen] == ':') {
			if (field(p, eol, 2, &f, &flen) < 0)
				return -EINVAL;
			return parse_uid(f, flen, uid);
		}
		p = eol + 1;
	}
	return -ENOENT;
}

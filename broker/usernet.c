/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "usernet.h"

struct field {
	const char *p;
	size_t len;
};

/* sscanf's isspace() in the C locale */
static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* %99[^ \t]: at least one byte, stops at space, tab or the line's end */
static bool scan_set(const char **p, const char *end, struct field *f)
{
	const char *s = *p;

	while (s < end && s - *p < USERNET_FIELD_MAX && *s != ' ' && *s != '\t')
		s++;
	if (s == *p)
		return false;
	f->p = *p;
	f->len = (size_t)(s - *p);
	*p = s;
	return true;
}

/* a directive of white space: any run of it, even none */
static void skip_ws(const char **p, const char *end)
{
	while (*p < end && ws(**p))
		(*p)++;
}

/* %d: white space, a sign, at least one digit; anything after is left */
static bool scan_int(const char **p, const char *end, long long *out)
{
	const char *s = *p;
	bool neg = false;
	long long v = 0;

	skip_ws(&s, end);
	if (s < end && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > (long long)INT_MAX + 1)
			return false;
	}
	if (!neg && v > INT_MAX)
		return false;
	*out = neg ? -v : v;
	*p = s;
	return true;
}

static bool is(const struct field *f, const char *s)
{
	return s && strlen(s) == f->len && memcmp(f->p, s, f->len) == 0;
}

static bool names_me(const struct field *f, const struct usernet_query *q)
{
	struct field g = { f->p + 1, f->len - 1 };

	if (is(f, q->user))
		return true;
	if (f->p[0] != '@')
		return false;
	for (size_t i = 0; i < q->ngroups; i++)
		if (is(&g, q->groups[i]))
			return true;
	return false;
}

/* One line, with its newline: true and *e filled if it applies to q. */
static bool line_match(const char *p, const char *end, const struct usernet_query *q,
		       struct usernet_entry *e)
{
	struct field name, type, br;
	const char *nul = memchr(p, '\0', (size_t)(end - p));
	long long n;

	if (nul)
		end = nul;
	if (!scan_set(&p, end, &name))
		return false;
	skip_ws(&p, end);
	if (!scan_set(&p, end, &type))
		return false;
	skip_ws(&p, end);
	if (!scan_set(&p, end, &br))
		return false;
	if (!scan_int(&p, end, &n))
		return false;
	if (!names_me(&name, q) || !is(&type, q->type) || !is(&br, q->bridge))
		return false;
	memcpy(e->name, name.p, name.len);
	e->name[name.len] = '\0';
	e->count = (int)n;
	return true;
}

int usernet_match(const char *buf, size_t len, const struct usernet_query *q,
		  struct usernet_entry *out, size_t max, size_t *n)
{
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	struct usernet_entry e;

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		/* the newline is part of the line to sscanf: %[^ \t] would take it */
		const char *eol = nl ? nl + 1 : end;

		lineno++;
		if (line_match(p, eol, q, &e)) {
			if (*n == max)
				return -E2BIG;
			e.line = lineno;
			out[(*n)++] = e;
		}
		p = eol;
	}
	return 0;
}

int usernet_pick(const struct usernet_entry *e, size_t n, const unsigned *used)
{
	long long sum = 0;

	if (n == 0)
		return -ENOENT;
	for (size_t i = 0; i < n; i++)
		sum += e[i].count;
	if (sum <= 0)
		return -EDQUOT;
	for (size_t i = 0; i < n; i++)
		if (e[i].count > 0 && used[i] < (unsigned)e[i].count)
			return (int)i;
	return -EDQUOT;
}

/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"

#define MAX_FIELDS 4
#define FIELD_MAX  PATH_MAX

struct line {
	const char *file;
	size_t lineno;
	int nf;
	char f[MAX_FIELDS][FIELD_MAX];
	char *err;
	size_t errlen;
};

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "daemon", LOG_DAEMON },
	{ "user", LOG_USER }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void conf_defaults(struct broker_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", ONTAP_SOCKET_PATH);
	snprintf(c->acl_path, sizeof(c->acl_path), "%s", ONTAP_ACL_PATH);
	snprintf(c->lock_path, sizeof(c->lock_path), "%s", ONTAP_LOCK_PATH);
	c->semantics = ACL_DENY_WINS;
	c->deadline_s = 10;
	c->max_requests = 64;
	c->max_requests_per_user = 8;
	c->max_taps_default = CONF_UNLIMITED;
	c->max_queues = 1;
	c->reap_orphans = true;
	c->reap_interval_s = 60;
	c->log = SINK_STDERR;
	c->syslog_facility = LOG_DAEMON;
	snprintf(c->syslog_ident, sizeof(c->syslog_ident), "ontap-broker");
}

void conf_default_queues(struct broker_conf *c, unsigned ncpus)
{
	c->max_queues = ncpus < 1 ? 1 : ncpus > CONF_QUEUES_CPU_CAP ? CONF_QUEUES_CPU_CAP : ncpus;
}

static int bad(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct line *l, const char *fmt, ...)
{
	int n = snprintf(l->err, l->errlen, "%s:%zu: ", l->file, l->lineno);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < l->errlen)
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int number(struct line *l, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return bad(l, "`%s' is not a number", s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return bad(l, "`%s' is out of range", s);
	*out = (unsigned)v;
	return 0;
}

static int boolean(struct line *l, const char *s, bool *out)
{
	if (!strcmp(s, "yes"))
		*out = true;
	else if (!strcmp(s, "no"))
		*out = false;
	else
		return bad(l, "`%s' is neither yes nor no", s);
	return 0;
}

static int string(struct line *l, const char *s, char *out, size_t cap, bool absolute)
{
	if (strlen(s) >= cap)
		return bad(l, "`%s' is too long", s);
	if (absolute && s[0] != '/')
		return bad(l, "`%s' is not an absolute path", s);
	strcpy(out, s);
	return 0;
}

static int facility(struct line *l, const char *s, int *out)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (!strcmp(s, facilities[i].name)) {
			*out = facilities[i].value;
			return 0;
		}
	}
	return bad(l, "unknown syslog facility `%s'", s);
}

/* max-taps N | max-taps user NAME|UID N | max-taps group NAME|GID N */
static int quota(struct broker_conf *c, struct line *l, const struct conf_resolver *res)
{
	struct quota_rule q = { 0 };
	int r;

	if (l->nf == 2)
		return number(l, l->f[1], 0, 1u << 20, &c->max_taps_default);
	if (l->nf != 4 || (strcmp(l->f[1], "user") && strcmp(l->f[1], "group")))
		return bad(l, "expected `max-taps N' or `max-taps user|group NAME N'");
	q.group = !strcmp(l->f[1], "group");
	if (l->f[2][0] >= '0' && l->f[2][0] <= '9')
		r = number(l, l->f[2], 0, UINT_MAX - 1, &q.id);
	else if ((q.group ? res->group(l->f[2], &q.id) : res->user(l->f[2], &q.id)) < 0)
		r = bad(l, "no such %s `%s'", l->f[1], l->f[2]);
	else
		r = 0;
	if (r == 0)
		r = number(l, l->f[3], 0, 1u << 20, &q.max);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < c->nquotas; i++)
		if (c->quotas[i].group == q.group && c->quotas[i].id == q.id)
			return bad(l, "a second quota for `%s'", l->f[2]);
	if (c->nquotas == CONF_MAX_QUOTAS)
		return bad(l, "more than %d quota rules", CONF_MAX_QUOTAS);
	c->quotas[c->nquotas++] = q;
	return 0;
}

static int semantics(struct line *l, const char *s, enum acl_semantics *out)
{
	if (!strcmp(s, "deny-wins"))
		*out = ACL_DENY_WINS;
	else if (!strcmp(s, "last-match"))
		*out = ACL_LAST_MATCH;
	else
		return bad(l, "`%s' is neither deny-wins nor last-match", s);
	return 0;
}

static int sink(struct line *l, const char *s, enum log_sink *out)
{
	if (!strcmp(s, "stderr"))
		*out = SINK_STDERR;
	else if (!strcmp(s, "syslog"))
		*out = SINK_SYSLOG;
	else
		return bad(l, "`%s' is neither stderr nor syslog", s);
	return 0;
}

static int apply(struct broker_conf *c, struct line *l, const struct conf_resolver *res)
{
	const char *k = l->f[0], *v = l->f[1];

	if (!strcmp(k, "max-taps"))
		return quota(c, l, res);
	if (l->nf != 2)
		return bad(l, "%s: expected exactly one value", k);
	if (!strcmp(k, "deadline"))
		return number(l, v, 1, 3600, &c->deadline_s);
	if (!strcmp(k, "max-requests"))
		return number(l, v, 1, 4096, &c->max_requests);
	if (!strcmp(k, "max-queues"))
		return number(l, v, 1, PROTO_QUEUES_MAX, &c->max_queues);
	if (!strcmp(k, "max-requests-per-user"))
		return number(l, v, 1, 4096, &c->max_requests_per_user);
	if (!strcmp(k, "reap-orphans"))
		return boolean(l, v, &c->reap_orphans);
	if (!strcmp(k, "reap-interval"))
		return number(l, v, 1, 86400, &c->reap_interval_s);
	if (!strcmp(k, "acl"))
		return string(l, v, c->acl_path, sizeof(c->acl_path), true);
	if (!strcmp(k, "acl-semantics"))
		return semantics(l, v, &c->semantics);
	if (!strcmp(k, "socket"))
		return string(l, v, c->socket_path, sizeof(c->socket_path), true);
	if (!strcmp(k, "lock-file"))
		return string(l, v, c->lock_path, sizeof(c->lock_path), true);
	if (!strcmp(k, "log"))
		return sink(l, v, &c->log);
	if (!strcmp(k, "syslog-facility"))
		return facility(l, v, &c->syslog_facility);
	if (!strcmp(k, "syslog-ident"))
		return string(l, v, c->syslog_ident, sizeof(c->syslog_ident), false);
	return bad(l, "unknown setting `%s'", k);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Splits one line (no '\n') into fields; 0, 1 for a blank or comment line, or -EINVAL. */
static int split(struct line *l, const char *p, size_t n)
{
	size_t i = 0;

	l->nf = 0;
	if (memchr(p, '\0', n))
		return bad(l, "%s", "NUL byte in line");
	while (i < n) {
		size_t start;

		while (i < n && is_blank(p[i]))
			i++;
		if (i == n || (l->nf == 0 && p[i] == '#'))
			break;
		if (l->nf == MAX_FIELDS)
			return bad(l, "%s", "too many fields");
		start = i;
		while (i < n && !is_blank(p[i]))
			i++;
		if (i - start >= FIELD_MAX)
			return bad(l, "%s", "field too long");
		memcpy(l->f[l->nf], p + start, i - start);
		l->f[l->nf++][i - start] = '\0';
	}
	return l->nf == 0 ? 1 : 0;
}

int conf_parse(struct broker_conf *c, const char *buf, size_t len, const char *file,
	       const struct conf_resolver *res, char *err, size_t errlen)
{
	struct line *l = calloc(1, sizeof(*l));
	size_t off = 0;
	int r = 0;

	if (!l)
		return -ENOMEM;
	l->file = file;
	l->err = err;
	l->errlen = errlen;
	if (len > CONF_FILE_MAX)
		r = bad(l, "%s", "file too large");
	while (r == 0 && off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

		l->lineno++;
		r = split(l, buf + off, n);
		if (r == 0)
			r = apply(c, l, res);
		else if (r == 1)
			r = 0;
		off += n + (nl != NULL);
	}
	free(l);
	return r;
}

unsigned conf_user_quota(const struct broker_conf *c, unsigned uid)
{
	for (unsigned i = 0; i < c->nquotas; i++)
		if (!c->quotas[i].group && c->quotas[i].id == uid)
			return c->quotas[i].max;
	return c->max_taps_default;
}

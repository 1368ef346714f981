/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the broker's own configuration, ontap.conf (conf.c).
 * Admin input, read at start and on SIGHUP by a process that holds
 * CAP_NET_ADMIN.  Users and groups resolve through a fake resolver: names
 * starting with a lowercase letter exist (their id is derived from the
 * name), others do not.
 *
 * Input: byte 0 is the size of the error buffer (0..255), the rest is the
 * file.
 *
 * Properties, beyond "no sanitizer report":
 *  - conf_parse() returns 0 or -EINVAL (-ENOMEM aside);
 *  - on failure, the message fits the buffer, NUL-terminated, and starts
 *    with "FILE:LINE: " as documented (when the buffer has room for it);
 *  - on success, every setting is within the range conf.c promises:
 *    deadline 1..3600, requests 1..4096, paths absolute and terminated,
 *    at most CONF_MAX_QUOTAS quota rules, no two for the same user or group;
 *  - parsing is deterministic: the same bytes give the same struct.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define FILE_NAME "/etc/ontap/ontap.conf"

static int fake_id(const char *name, unsigned *id)
{
	unsigned h = 5381;

	if (name[0] < 'a' || name[0] > 'z')
		return -ENOENT;
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	*id = h % 70000;
	return 0;
}

static const struct conf_resolver resolver = { fake_id, fake_id };

static void check_terminated(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

static void check_conf(const struct broker_conf *c)
{
	check_terminated(c->socket_path, sizeof(c->socket_path));
	check_terminated(c->acl_path, sizeof(c->acl_path));
	check_terminated(c->lock_path, sizeof(c->lock_path));
	check_terminated(c->syslog_ident, sizeof(c->syslog_ident));
	CHECK(c->socket_path[0] == '/' && c->acl_path[0] == '/' && c->lock_path[0] == '/');
	CHECK(c->deadline_s >= 1 && c->deadline_s <= 3600);
	CHECK(c->max_requests >= 1 && c->max_requests <= 4096);
	CHECK(c->max_requests_per_user >= 1 && c->max_requests_per_user <= 4096);
	CHECK(c->reap_interval_s >= 1 && c->reap_interval_s <= 86400);
	CHECK(c->max_taps_default == CONF_UNLIMITED || c->max_taps_default <= (1u << 20));
	CHECK(c->semantics == ACL_DENY_WINS || c->semantics == ACL_LAST_MATCH);
	CHECK(c->log == SINK_STDERR || c->log == SINK_SYSLOG);
	CHECK(c->nquotas <= CONF_MAX_QUOTAS);
	for (unsigned i = 0; i < c->nquotas; i++) {
		/* `unlimited' exempts a user or group from the default */
		CHECK(c->quotas[i].max <= (1u << 20) || c->quotas[i].max == CONF_UNLIMITED);
		CHECK(conf_user_quota(c, c->quotas[i].id) <= (1u << 20) ||
		      conf_user_quota(c, c->quotas[i].id) == CONF_UNLIMITED);
		for (unsigned j = i + 1; j < c->nquotas; j++)
			CHECK(c->quotas[i].group != c->quotas[j].group ||
			      c->quotas[i].id != c->quotas[j].id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct broker_conf a, b;
	char *file, *err, *err2;
	size_t errlen, len;
	int ra, rb;

	if (size < 1 || size > CONF_FILE_MAX + 16)
		return -1;
	errlen = data[0];
	len = size - 1;
	/* exact-size copies, so ASan sees a read or write one byte too far */
	file = malloc(len ? len : 1);
	err = malloc(errlen ? errlen : 1);
	err2 = malloc(errlen ? errlen : 1);
	CHECK(file && err && err2);
	memcpy(file, data + 1, len);
	memset(err, 0x5a, errlen ? errlen : 1);

	conf_defaults(&a);
	check_conf(&a);
	ra = conf_parse(&a, file, len, FILE_NAME, &resolver, errlen ? err : NULL, errlen);
	CHECK(ra == 0 || ra == -EINVAL || ra == -ENOMEM);
	if (ra == 0) {
		check_conf(&a);
	} else if (ra == -EINVAL && errlen > 0) {
		check_terminated(err, errlen);
		if (errlen > sizeof(FILE_NAME ":"))
			CHECK(strncmp(err, FILE_NAME ":", strlen(FILE_NAME ":")) == 0);
	}

	conf_defaults(&b);
	rb = conf_parse(&b, file, len, FILE_NAME, &resolver, errlen ? err2 : NULL, errlen);
	CHECK(ra == rb);
	if (ra == 0)
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	else if (errlen > 0)
		CHECK(strcmp(err, err2) == 0);

	free(file);
	free(err);
	free(err2);
	return 0;
}

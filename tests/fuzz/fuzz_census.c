/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the tap attribution codec (census.c), which the broker
 * reads back from the interface alias (IFLA_IFALIAS) of every interface in
 * its network namespace to count quotas and reap orphans.  Any holder of
 * CAP_NET_ADMIN there can set an alias, so the parser sees foreign text.
 *
 * Properties, beyond "no sanitizer report":
 *  - census_alias_parse() returns 0, -ENOENT (not ours) or -EINVAL;
 *  - what parses formats again, and that parses back to the same owner;
 *  - an owner built from the input either does not format (-ENAMETOOLONG)
 *    or survives format and parse unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool same(const struct tap_owner *a, const struct tap_owner *b)
{
	if (a->uid != b->uid || a->gid != b->gid || a->pid != b->pid || a->since != b->since ||
	    a->ngroups != b->ngroups || strcmp(a->lxc, b->lxc))
		return false;
	for (unsigned i = 0; i < a->ngroups; i++)
		if (a->groups[i] != b->groups[i])
			return false;
	return true;
}

static void round_trip(const struct tap_owner *o)
{
	char buf[CENSUS_ALIAS_MAX];
	struct tap_owner back;
	int r = census_alias_format(o, buf, sizeof(buf));

	if (r < 0) {
		CHECK(r == -ENAMETOOLONG);
		return;
	}
	CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
	CHECK(census_alias_parse(buf, strlen(buf), &back) == 0);
	CHECK(same(o, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tap_owner o;
	char *buf;
	int r;

	if (size > 4 * CENSUS_ALIAS_MAX)
		return -1;
	buf = malloc(size ? size : 1);   /* exact size: no NUL to lean on */
	CHECK(buf);
	memcpy(buf, data, size);
	memset(&o, 0xa5, sizeof(o));
	r = census_alias_parse(buf, size, &o);
	CHECK(r == 0 || r == -ENOENT || r == -EINVAL);
	if (r == 0) {
		CHECK(o.ngroups <= CENSUS_MAX_GROUPS);
		CHECK(o.pid >= 0 && o.since >= 0);
		round_trip(&o);
	}

	/* the input as an owner, the way the broker fills one in */
	if (size >= 24) {
		struct tap_owner in;

		memset(&in, 0, sizeof(in));
		memcpy(&in.uid, data, 4);
		memcpy(&in.gid, data + 4, 4);
		memcpy(&in.pid, data + 8, 4);
		memcpy(&in.since, data + 12, 8);
		in.pid &= INT32_MAX;
		in.since &= INT64_MAX;
		in.ngroups = data[20] % (CENSUS_MAX_GROUPS + 2);
		/* an lxc-usernet charge: no space, tab or NUL, shorter than the field */
		if (data[20] & 0x80) {
			size_t k = 0;

			for (size_t i = 24; i < size && k + 1 < sizeof(in.lxc); i++)
				if (data[i] != ' ' && data[i] != '\t' && data[i])
					in.lxc[k++] = (char)data[i];
			in.lxc[k] = '\0';
		}
		for (unsigned i = 0; i < in.ngroups && i < CENSUS_MAX_GROUPS; i++)
			in.groups[i] = (unsigned)data[21 + i % 3] << (8 * (i % 4));
		round_trip(&in);
	}
	free(buf);
	return 0;
}

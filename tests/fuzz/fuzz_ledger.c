/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the ledger's table fed link messages (ledger.c's
 * ledger_apply(), census.c's census_link_parse()), as the maker reads them
 * from rtnetlink notifications.  They come from the kernel, but the alias
 * in them is text any holder of CAP_NET_ADMIN in the namespace wrote.
 *
 * Properties, beyond "no sanitizer report":
 *  - ledger_apply() returns 0, -EBADMSG or -ENOMEM;
 *  - the table stays sorted by ifindex, without duplicates, each entry a
 *    tap or a veth with a positive ifindex and a NUL in its name, a veth
 *    neither attached nor persistent;
 *  - the same messages applied again change nothing (each is a link's
 *    whole state).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool same(const struct tap_entry *a, const struct tap_entry *b)
{
	const struct tap_owner *x = &a->owner, *y = &b->owner;

	if (a->kind != b->kind || a->ifindex != b->ifindex || a->master != b->master ||
	    a->persist != b->persist || a->attached != b->attached || strcmp(a->name, b->name) ||
	    x->uid != y->uid || x->gid != y->gid || x->pid != y->pid || x->since != y->since ||
	    x->ngroups != y->ngroups || strcmp(x->lxc, y->lxc))
		return false;
	return !memcmp(x->groups, y->groups, x->ngroups * sizeof(x->groups[0]));
}

static void sound(const struct ledger_table *tb)
{
	CHECK(tb->n <= tb->cap);
	for (size_t i = 0; i < tb->n; i++) {
		const struct tap_entry *t = &tb->e[i];

		CHECK(t->ifindex > 0 && t->ifindex <= INT32_MAX);
		CHECK(i == 0 || tb->e[i - 1].ifindex < t->ifindex);
		CHECK(t->kind == CENSUS_TAP || t->kind == CENSUS_VETH);
		CHECK(t->kind == CENSUS_TAP || (!t->attached && !t->persist));
		CHECK(memchr(t->name, '\0', sizeof(t->name)) != NULL);
		CHECK(t->owner.ngroups <= CENSUS_MAX_GROUPS);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_table tb = { 0 };
	struct tap_entry *first;
	size_t n;
	char *buf;
	int r, again;

	if (size > 4096)
		return -1;
	buf = malloc(size ? size : 1);   /* exact size: a read past it is reported */
	CHECK(buf);
	memcpy(buf, data, size);
	r = ledger_apply(&tb, buf, size);
	CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	sound(&tb);
	n = tb.n;
	first = malloc((n ? n : 1) * sizeof(*first));
	CHECK(first);
	if (n)
		memcpy(first, tb.e, n * sizeof(*first));
	again = ledger_apply(&tb, buf, size);
	CHECK(again == r || r == -ENOMEM || again == -ENOMEM);
	if (r != -ENOMEM && again != -ENOMEM) {
		CHECK(tb.n == n);
		for (size_t i = 0; i < n; i++)
			CHECK(same(&tb.e[i], &first[i]));
	}
	free(first);
	ledger_table_free(&tb);
	free(buf);
	return 0;
}

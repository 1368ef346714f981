/* SPDX-License-Identifier: ISC */
/*
 * lxc-usernet as lxc-user-nic reads it (sscanf "%99[^ \t] %99[^ \t]
 * %99[^ \t] %d" per line, every matching line in order), and the census
 * alias's " lxc=NAME" that charges a veth to one of those lines.  Files are
 * given as (buf, len) in a heap buffer of exactly len bytes, so under ASan
 * a read past len aborts.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "usernet.h"

static const char *const alice_groups[] = { "users", "netdev" };
static const struct usernet_query alice = {
	.user = "alice", .groups = alice_groups, .ngroups = 2, .type = "veth", .bridge = "br0",
};

static struct usernet_entry ents[USERNET_MATCH_MAX];

/* matching lines of text (exactly its bytes), or -errno */
static long match_n(const char *text, size_t len, const struct usernet_query *q)
{
	char *p = malloc(len ? len : 1);
	size_t n;
	int r;

	ck_assert_ptr_nonnull(p);
	memcpy(p, text, len);
	r = usernet_match(p, len, q, ents, USERNET_MATCH_MAX, &n);
	free(p);
	return r < 0 ? r : (long)n;
}

#define MATCH(lit) match_n(lit, sizeof(lit) - 1, &alice)

START_TEST(user_and_groups)
{
	ck_assert_int_eq(MATCH("alice veth br0 2\n"), 1);
	ck_assert_str_eq(ents[0].name, "alice");
	ck_assert_int_eq(ents[0].count, 2);
	ck_assert_int_eq(ents[0].line, 1);
	ck_assert_int_eq(MATCH("# c\nbob veth br0 2\n@netdev veth br0 3\n@wheel veth br0 1\n"), 1);
	ck_assert_str_eq(ents[0].name, "@netdev");
	ck_assert_int_eq(ents[0].line, 3);
	ck_assert_int_eq(MATCH("alice veth br0 1\n@users veth br0 1\nalice veth br0 4"), 3);
	ck_assert_int_eq(ents[2].count, 4);        /* no final newline */
	ck_assert_int_eq(MATCH("netdev veth br0 1\n"), 0);  /* a group needs its @ */
	ck_assert_int_eq(MATCH("@alice veth br0 1\n"), 0);  /* and a user none */
	ck_assert_int_eq(MATCH("Alice veth br0 1\n"), 0);
	ck_assert_int_eq(MATCH("alice veth br1 1\n"), 0);
	ck_assert_int_eq(MATCH("alice macvlan br0 1\n"), 0);
	ck_assert_int_eq(MATCH("alice veth br00 1\n"), 0);
	ck_assert_int_eq(MATCH("alice veth br 1\n"), 0);
}
END_TEST

START_TEST(sscanf_shapes)
{
	ck_assert_int_eq(MATCH(" alice veth br0 1\n"), 0);     /* %[ skips no space */
	ck_assert_int_eq(MATCH("\talice veth br0 1\n"), 0);
	ck_assert_int_eq(MATCH("alice\tveth  \t br0\t\t1\n"), 1);
	ck_assert_int_eq(MATCH("alice veth br0\n"), 0);        /* three fields */
	ck_assert_int_eq(MATCH("alice veth br0 x\n"), 0);
	ck_assert_int_eq(MATCH("alice veth br0\n2\n"), 0);     /* the newline is in "br0\n" */
	ck_assert_int_eq(MATCH("alice veth br0 2x\n"), 1);     /* %d stops at x */
	ck_assert_int_eq(ents[0].count, 2);
	ck_assert_int_eq(MATCH("alice veth br0 +3\n"), 1);
	ck_assert_int_eq(ents[0].count, 3);
	ck_assert_int_eq(MATCH("alice veth br0 -1\n"), 1);
	ck_assert_int_eq(ents[0].count, -1);
	ck_assert_int_eq(MATCH("alice veth br0 2147483647\n"), 1);
	ck_assert_int_eq(MATCH("alice veth br0 2147483648\n"), 0);
	ck_assert_int_eq(MATCH("alice veth br0 -2147483648\n"), 1);
	ck_assert_int_eq(MATCH("alice veth br0 1\r\n"), 1);    /* CRLF */
	ck_assert_int_eq(MATCH("alice veth br0 1 trailing words\n"), 1);
	ck_assert_int_eq(MATCH("alice veth br0 \0 1\n"), 0);   /* a NUL ends sscanf's string */
	ck_assert_int_eq(MATCH("alice veth br0 1\0junk\n"), 1);
	ck_assert_int_eq(MATCH(""), 0);
	ck_assert_int_eq(MATCH("\n\n\n"), 0);
}
END_TEST

START_TEST(long_fields)
{
	char line[512];
	struct usernet_query q = alice;
	char name[101];

	/* 100 bytes: %99[ takes 99, the 100th byte starts the next field */
	memset(name, 'u', 100);
	name[100] = '\0';
	snprintf(line, sizeof(line), "%s veth br0 1\n", name);
	q.user = name;
	ck_assert_int_eq(match_n(line, strlen(line), &q), 0);
	name[99] = '\0';
	q.user = name;
	snprintf(line, sizeof(line), "%s veth br0 1\n", name);
	ck_assert_int_eq(match_n(line, strlen(line), &q), 1);
	ck_assert_str_eq(ents[0].name, name);
	/* a 99-byte name glued to "veth": "%99[^ \t] %99[^ \t]" splits it there */
	snprintf(line, sizeof(line), "%sveth br0 5\n", name);
	ck_assert_int_eq(match_n(line, strlen(line), &q), 1);
	ck_assert_int_eq(ents[0].count, 5);
}
END_TEST

START_TEST(too_many)
{
	size_t cap = (USERNET_MATCH_MAX + 1) * 20, off = 0;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < USERNET_MATCH_MAX; i++)
		off += (size_t)snprintf(buf + off, cap - off, "alice veth br0 1\n");
	ck_assert_int_eq(match_n(buf, off, &alice), USERNET_MATCH_MAX);
	off += (size_t)snprintf(buf + off, cap - off, "@users veth br0 1\n");
	ck_assert_int_eq(match_n(buf, off, &alice), -E2BIG);
	free(buf);
}
END_TEST

START_TEST(pick)
{
	struct usernet_entry e[3] = {
		{ "alice", 1, 1 }, { "@users", 2, 2 }, { "alice", 1, 3 },
	};
	unsigned used[3] = { 0, 0, 0 };

	ck_assert_int_eq(usernet_pick(e, 0, used), -ENOENT);
	ck_assert_int_eq(usernet_pick(e, 3, used), 0);
	used[0] = used[2] = 1;       /* alice's one, counted against both alice lines */
	ck_assert_int_eq(usernet_pick(e, 3, used), 1);
	used[1] = 2;
	ck_assert_int_eq(usernet_pick(e, 3, used), -EDQUOT);
	/* counts that add up to nothing refuse, even with a line that has room */
	e[0].count = 2;
	e[1].count = -5;
	used[0] = used[2] = 0;
	ck_assert_int_eq(usernet_pick(e, 2, used), -EDQUOT);
	e[1].count = 0;
	ck_assert_int_eq(usernet_pick(e, 2, used), 0);
	e[0].count = 0;
	ck_assert_int_eq(usernet_pick(e, 2, used), -EDQUOT);
}
END_TEST

START_TEST(census_lxc)
{
	struct tap_owner o = { .uid = 1000, .gid = 1000, .pid = 7, .since = 5, .ngroups = 1,
			       .groups = { 27 } }, back;
	char buf[CENSUS_ALIAS_MAX];

	snprintf(o.lxc, sizeof(o.lxc), "@netdev");
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ontap/1 uid=1000 gid=1000 pid=7 since=5 groups=27 lxc=@netdev");
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_str_eq(back.lxc, "@netdev");
	ck_assert_int_eq(back.ngroups, 1);
	o.ngroups = 0;
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_str_eq(back.lxc, "@netdev");
	ck_assert_int_eq(back.ngroups, 0);
	/* without: as before */
	o.lxc[0] = '\0';
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ontap/1 uid=1000 gid=1000 pid=7 since=5 groups=");
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_str_eq(back.lxc, "");
#define BAD(lit) ck_assert_int_eq(census_alias_parse(lit, sizeof(lit) - 1, &back), -EINVAL)
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1, lxc=a");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 lxc=");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 lxc=a b");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 lxc=a\tb");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 lxc=a\0");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 lxd=a");
	BAD("ontap/1 uid=1 gid=1 pid=1 since=1 groups=1 ");
	snprintf(o.lxc, sizeof(o.lxc), "a b");
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static Suite *usernet_suite(void)
{
	Suite *s = suite_create("usernet");
	TCase *tc = tcase_create("lxc-usernet");

	tcase_add_test(tc, user_and_groups);
	tcase_add_test(tc, sscanf_shapes);
	tcase_add_test(tc, long_fields);
	tcase_add_test(tc, too_many);
	tcase_add_test(tc, pick);
	tcase_add_test(tc, census_lxc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(usernet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

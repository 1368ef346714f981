/* SPDX-License-Identifier: ISC */
/*
 * The ledger's table fed link messages built as the kernel lays them out
 * (tests/production.sh's ledger checks feed it the kernel's own): a tagged
 * tap or veth is in, anything else with its ifindex is out, a bridge's
 * AF_BRIDGE news changes nothing, bytes that do not parse are refused.
 * Each buffer is a heap block of exactly its length (ASan sees overreads).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "census.h"
#include "ledger.h"

static char msgs[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
static size_t used;

/* appends one link message to msgs; alias NULL: none, kind NULL: no IFLA_LINKINFO */
static void link_msg(uint16_t type, uint8_t family, int ifindex, const char *name,
		     const char *kind, const char *alias)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgs + used);
	struct ifinfomsg *ifi;
	struct nlattr *info, *data;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = family;
	ifi->ifi_index = ifindex;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 7);
	mnl_attr_put_u8(nlh, IFLA_CARRIER, 1);
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	if (kind) {
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u8(nlh, IFLA_TUN_PERSIST, 1);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, info);
	}
	used += NLMSG_ALIGN(nlh->nlmsg_len);
	ck_assert_uint_le(used, sizeof(msgs));
}

static const char *tag(unsigned uid)
{
	static char buf[CENSUS_ALIAS_MAX];
	struct tap_owner o = { .uid = uid, .gid = 100, .pid = 42, .since = 1, .ngroups = 1,
			       .groups = { 200 } };

	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	return buf;
}

/* applies what link_msg() queued, from a heap copy of exactly its bytes */
static int apply(struct ledger_table *tb, size_t extra)
{
	char *p = malloc(used + extra);
	int r;

	ck_assert_ptr_nonnull(p);
	memcpy(p, msgs, used);
	memset(p + used, 0, extra);
	r = ledger_apply(tb, p, used + extra);
	free(p);
	used = 0;
	return r;
}

struct seen {
	unsigned n;
	unsigned ifindex[8], uid[8];
	struct tap_entry last;
};

static int seen_cb(const struct tap_entry *t, void *ctx)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n, 8);
	s->ifindex[s->n] = t->ifindex;
	s->uid[s->n++] = t->owner.uid;
	s->last = *t;
	return 0;
}

static struct seen walk(const struct ledger_table *tb)
{
	struct seen s = { 0 };

	ck_assert_int_eq(ledger_table_walk(tb, seen_cb, &s), 0);
	return s;
}

START_TEST(tagged_in_others_out)
{
	struct ledger_table tb = { 0 };
	struct seen s;

	link_msg(RTM_NEWLINK, AF_UNSPEC, 9, "tap9", "tun", tag(1001));
	link_msg(RTM_NEWLINK, AF_UNSPEC, 3, "tap3", "tun", tag(1002));
	link_msg(RTM_NEWLINK, AF_UNSPEC, 5, "veth5", "veth", tag(1003));
	link_msg(RTM_NEWLINK, AF_UNSPEC, 6, "tap6", "tun", NULL);         /* no tag */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 8, "dummy8", "dummy", tag(1004)); /* not tun or veth */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", "somebody's own alias");
	ck_assert_int_eq(apply(&tb, 0), 0);
	s = walk(&tb);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.ifindex[0], 3);
	ck_assert_uint_eq(s.ifindex[1], 5);
	ck_assert_uint_eq(s.ifindex[2], 9);
	ck_assert_uint_eq(s.uid[0], 1002);
	ck_assert_uint_eq(s.uid[2], 1001);

	/* a veth's carrier is its peer's, and it is never persistent */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 5, "veth5", "veth", tag(1003));
	ck_assert_int_eq(apply(&tb, 0), 0);
	ck_assert_uint_eq(tb.n, 3);
	ck_assert_int_eq(tb.e[1].kind, CENSUS_VETH);
	ck_assert(!tb.e[1].attached && !tb.e[1].persist);
	ck_assert_int_eq(tb.e[0].kind, CENSUS_TAP);
	ck_assert(tb.e[0].attached && tb.e[0].persist);
	ck_assert_str_eq(tb.e[0].name, "tap3");
	ck_assert_uint_eq(tb.e[0].master, 7);
	ledger_table_free(&tb);
}
END_TEST

START_TEST(changes_and_deletions)
{
	struct ledger_table tb = { 0 };
	struct seen s;

	link_msg(RTM_NEWLINK, AF_UNSPEC, 3, "tap3", "tun", tag(1001));
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	link_msg(RTM_NEWLINK, AF_UNSPEC, 5, "tap5", "tun", tag(1001));
	ck_assert_int_eq(apply(&tb, 0), 0);
	/* renamed and given to another uid: replaced, not added */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "other", "tun", tag(2002));
	/* its tag taken off: gone */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 5, "tap5", "tun", NULL);
	link_msg(RTM_DELLINK, AF_UNSPEC, 3, "tap3", "tun", tag(1001));
	/* an ifindex the table never had */
	link_msg(RTM_DELLINK, AF_UNSPEC, 77, "x", NULL, NULL);
	ck_assert_int_eq(apply(&tb, 0), 0);
	s = walk(&tb);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.ifindex[0], 4);
	ck_assert_uint_eq(s.uid[0], 2002);
	ck_assert_str_eq(s.last.name, "other");
	ledger_table_free(&tb);
}
END_TEST

/*
 * A tap enslaved to a bridge: the bridge's own news about its port is
 * AF_BRIDGE, without the tag or the kind.  Taken for the link's state, it
 * would uncount every tap on a bridge.
 */
START_TEST(bridge_port_news_ignored)
{
	struct ledger_table tb = { 0 };

	link_msg(RTM_NEWLINK, AF_UNSPEC, 3, "tap3", "tun", tag(1001));
	link_msg(RTM_NEWLINK, AF_BRIDGE, 3, "tap3", NULL, NULL);
	link_msg(RTM_DELLINK, AF_BRIDGE, 3, "tap3", NULL, NULL);
	ck_assert_int_eq(apply(&tb, 0), 0);
	ck_assert_uint_eq(walk(&tb).n, 1);
	ledger_table_free(&tb);
}
END_TEST

START_TEST(bad_messages)
{
	struct ledger_table tb = { 0 };
	struct nlmsghdr *nlh;

	/* trailing bytes that are no message: what came before is applied */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 3, "tap3", "tun", tag(1001));
	ck_assert_int_eq(apply(&tb, 8), -EBADMSG);
	ck_assert_uint_eq(tb.n, 1);
	/* a header claiming more than there is */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	((struct nlmsghdr *)msgs)->nlmsg_len += 64;
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	ck_assert_uint_eq(tb.n, 1);
	/* a link message too short for its ifinfomsg */
	nlh = mnl_nlmsg_put_header(msgs);
	nlh->nlmsg_type = RTM_NEWLINK;
	used = NLMSG_ALIGN(nlh->nlmsg_len);
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	/* not a link message at all */
	link_msg(NLMSG_ERROR, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	/* no ifindex */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 0, "tap0", "tun", tag(1001));
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	link_msg(RTM_DELLINK, AF_UNSPEC, -3, "tap0", "tun", tag(1001));
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	ck_assert_uint_eq(walk(&tb).n, 1);
	/* lengths that wrap: 4 GiB - 1 aligns to 0 in 32 bits, 2 GiB is negative as an int */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	((struct nlmsghdr *)msgs)->nlmsg_len = 0xffffffff;
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	((struct nlmsghdr *)msgs)->nlmsg_len = 0x80000010;
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	/* the last message without its padding: attributes are read up to it */
	link_msg(RTM_NEWLINK, AF_UNSPEC, 4, "tap4", "tun", tag(1001));
	((struct nlmsghdr *)msgs)->nlmsg_len = (uint32_t)(used - 1);
	used--;
	ck_assert_int_eq(apply(&tb, 0), -EBADMSG);
	/* nothing at all is nothing to do */
	ck_assert_int_eq(apply(&tb, 0), 0);
	ledger_table_free(&tb);
}
END_TEST

static int stop_cb(const struct tap_entry *t, void *ctx)
{
	unsigned *n = ctx;

	(void)t;
	return ++*n == 2 ? 42 : 0;
}

/* many, in any order, some removed: sorted and complete; fn's stop is returned */
START_TEST(grows_and_stops)
{
	struct ledger_table tb = { 0 };
	unsigned n = 0, prev = 0;

	for (int i = 0; i < 300; i++) {
		link_msg(RTM_NEWLINK, AF_UNSPEC, 1 + (i * 7919) % 300, "tap", "tun", tag((unsigned)i));
		ck_assert_int_eq(apply(&tb, 0), 0);
	}
	for (int i = 1; i <= 300; i += 3) {
		link_msg(RTM_DELLINK, AF_UNSPEC, i, "tap", "tun", NULL);
		ck_assert_int_eq(apply(&tb, 0), 0);
	}
	ck_assert_uint_eq(tb.n, 200);
	for (size_t i = 0; i < tb.n; i++) {
		ck_assert_uint_gt(tb.e[i].ifindex, prev);
		ck_assert_uint_ne(tb.e[i].ifindex % 3, 1);
		prev = tb.e[i].ifindex;
	}
	ck_assert_int_eq(ledger_table_walk(&tb, stop_cb, &n), 42);
	ck_assert_uint_eq(n, 2);
	ledger_table_free(&tb);
	ck_assert_uint_eq(walk(&tb).n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, tagged_in_others_out);
	tcase_add_test(tc, changes_and_deletions);
	tcase_add_test(tc, bridge_port_news_ignored);
	tcase_add_test(tc, bad_messages);
	tcase_add_test(tc, grows_and_stops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * verdict_check(): what the listener believes of a worker's verdict (the
 * worker is the requester's to tamper with), field by field, for both
 * kinds; and maker_req_fill(): what an allowed verdict becomes for the maker.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maker.h"
#include "worker.h"

static void tap(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->id = 7;
	v->version = PROTO_V2;
	v->kind = PROTO_KIND_TAP;
	v->queues = 1;
	v->flags = PROTO_F_VNET_HDR;
	v->bridge_ifindex = 3;
	v->asked_len = 3;
	memcpy(v->asked, "br0", 3);
	strcpy(v->bridge, "br0");
	v->netns_owner = -1;
}

static void veth(struct verdict *v, bool lxc)
{
	tap(v);
	v->kind = PROTO_KIND_VETH;
	v->flags = lxc ? PROTO_F_LXC_USERNET : 0;
	v->netns_owner = 1000;
	v->peer_len = 4;
	memcpy(v->peer, "eth1", 4);
	if (lxc) {
		v->nusernet = 2;
		strcpy(v->usernet[0].name, "alice");
		v->usernet[0].count = 2;
		strcpy(v->usernet[1].name, "@lxc");
		v->usernet[1].count = 1;
	}
}

START_TEST(well_formed)
{
	struct verdict v;

	tap(&v);
	ck_assert_int_eq(verdict_check(&v, 7), 0);
	ck_assert_int_eq(verdict_check(&v, 8), -EBADMSG);
	veth(&v, false);
	ck_assert_int_eq(verdict_check(&v, 7), 0);
	v.peer_len = 0;   /* the default name */
	ck_assert_int_eq(verdict_check(&v, 7), 0);
	veth(&v, true);
	ck_assert_int_eq(verdict_check(&v, 7), 0);
}
END_TEST

START_TEST(veth_fields)
{
	struct verdict v;

	veth(&v, false);
	v.flags |= PROTO_F_VNET_HDR;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, false);
	v.version = PROTO_V1;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, false);
	v.netns_owner = -1;   /* allowed without knowing whose namespace */
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, false);
	memcpy(v.peer, "et/1", 4);
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, false);
	v.peer_len = IFNAMSIZ;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, false);
	v.nusernet = 1;       /* lines without lxc-usernet's flag */
	strcpy(v.usernet[0].name, "alice");
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, true);
	v.nusernet = 0;       /* lxc-usernet allowed it by no line */
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, true);
	v.nusernet = VERDICT_USERNET_MAX + 1;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, true);
	memset(v.usernet[1].name, 'a', sizeof(v.usernet[1].name));
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	veth(&v, true);
	v.usernet[1].name[0] = '\0';
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	/* a refusal is believed as long as its strings end */
	veth(&v, true);
	v.err = EACCES;
	v.denied = 1;
	v.nusernet = 0;
	v.netns_owner = -1;
	ck_assert_int_eq(verdict_check(&v, 7), 0);
}
END_TEST

START_TEST(tap_fields)
{
	struct verdict v;

	tap(&v);
	v.flags |= PROTO_F_LXC_USERNET;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	tap(&v);
	v.kind = 0;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
	tap(&v);
	v.queues = PROTO_QUEUES_MAX + 1;
	ck_assert_int_eq(verdict_check(&v, 7), -EBADMSG);
}
END_TEST

START_TEST(make_request)
{
	struct broker_conf conf;
	struct identity who = { .uid = 1000, .gid = 1000 };
	struct make_lxc *m = calloc(1, sizeof(*m));
	struct verdict v;

	ck_assert_ptr_nonnull(m);
	conf_defaults(&conf);
	veth(&v, true);
	ck_assert_uint_eq(maker_req_fill(&conf, &who, 42, 9, &v, m), MAKER_MAKE_LXC);
	ck_assert_uint_eq(m->make.id, 9);
	ck_assert_uint_eq(m->make.kind, PROTO_KIND_VETH);
	ck_assert_uint_eq(m->make.owner.uid, 1000);
	ck_assert_str_eq(m->make.peer, "eth1");
	ck_assert_uint_eq(m->make.nusernet, 2);
	ck_assert_str_eq(m->usernet[1].name, "@lxc");
	ck_assert_uint_eq(maker_msg_len(MAKER_MAKE_LXC) - maker_msg_len(MAKER_MAKE),
			  sizeof(m->usernet));
	veth(&v, false);
	ck_assert_uint_eq(maker_req_fill(&conf, &who, 42, 9, &v, m), MAKER_MAKE);
	ck_assert_uint_eq(m->make.nusernet, 0);
	free(m);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");

	tcase_add_test(tc, well_formed);
	tcase_add_test(tc, veth_fields);
	tcase_add_test(tc, tap_fields);
	tcase_add_test(tc, make_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(verdict_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * ontap.conf parsing (conf.c) and the census's alias codec (census.c): pure
 * code, tested without root.  Names resolve through a fixed table here.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "census.h"
#include "conf.h"

static int user(const char *name, unsigned *id)
{
	if (strcmp(name, "alice"))
		return -ENOENT;
	*id = 1001;
	return 0;
}

static int group(const char *name, unsigned *id)
{
	if (strcmp(name, "ci"))
		return -ENOENT;
	*id = 2000;
	return 0;
}

static const struct conf_resolver res = { user, group };
static struct broker_conf c;
static char err[512];

static int parse(const char *text)
{
	conf_defaults(&c);
	err[0] = '\0';
	return conf_parse(&c, text, strlen(text), "/etc/ontap/ontap.conf", &res, err, sizeof(err));
}

#define REJECTS(text, msg) do { \
	ck_assert_int_eq(parse(text), -EINVAL); \
	ck_assert_msg(strstr(err, msg), "`%s': got `%s', want `%s'", text, err, msg); \
} while (0)

START_TEST(defaults)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(c.deadline_s, 10);
	ck_assert_int_eq(c.max_requests, 64);
	ck_assert_int_eq(c.max_requests_per_user, 8);
	ck_assert_uint_eq(c.max_taps_default, CONF_UNLIMITED);
	ck_assert(c.reap_orphans);
	ck_assert_int_eq(c.semantics, ACL_DENY_WINS);
	ck_assert_int_eq(c.log, SINK_STDERR);
	ck_assert_str_eq(c.acl_path, "/etc/qemu/bridge.conf");
	ck_assert_uint_eq(conf_user_quota(&c, 1001), CONF_UNLIMITED);
}
END_TEST

START_TEST(every_key)
{
	ck_assert_int_eq(parse("# comment\n\n  deadline 3\nmax-requests 100\r\n"
			       "max-requests-per-user\t4\nmax-taps 2\nmax-taps user alice 5\n"
			       "max-taps group ci 9\nmax-taps user 1002 0\nreap-orphans no\n"
			       "reap-interval 30\nacl /srv/bridge.conf\nacl-semantics last-match\n"
			       "socket /run/x/s.sock\nlock-file /run/x/lock\nlog syslog\n"
			       "syslog-facility local3\nsyslog-ident ontaptest"), 0);
	ck_assert_int_eq(c.deadline_s, 3);
	ck_assert_int_eq(c.max_requests, 100);
	ck_assert_int_eq(c.max_requests_per_user, 4);
	ck_assert_int_eq(c.max_taps_default, 2);
	ck_assert_int_eq(conf_user_quota(&c, 1001), 5);
	ck_assert_int_eq(conf_user_quota(&c, 1002), 0);
	ck_assert_int_eq(conf_user_quota(&c, 1003), 2);
	ck_assert_int_eq(c.nquotas, 3);
	ck_assert(c.quotas[1].group && c.quotas[1].id == 2000 && c.quotas[1].max == 9);
	ck_assert(!c.reap_orphans);
	ck_assert_int_eq(c.reap_interval_s, 30);
	ck_assert_str_eq(c.acl_path, "/srv/bridge.conf");
	ck_assert_int_eq(c.semantics, ACL_LAST_MATCH);
	ck_assert_str_eq(c.socket_path, "/run/x/s.sock");
	ck_assert_str_eq(c.lock_path, "/run/x/lock");
	ck_assert_int_eq(c.log, SINK_SYSLOG);
	ck_assert_int_eq(c.syslog_facility, LOG_LOCAL3);
	ck_assert_str_eq(c.syslog_ident, "ontaptest");
}
END_TEST

/* max-queues: 1..PROTO_QUEUES_MAX; the default follows the CPUs, capped */
START_TEST(max_queues)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(c.max_queues, 1);
	conf_default_queues(&c, 0);
	ck_assert_uint_eq(c.max_queues, 1);
	conf_default_queues(&c, 2);
	ck_assert_uint_eq(c.max_queues, 2);
	conf_default_queues(&c, 16);
	ck_assert_uint_eq(c.max_queues, 16);
	conf_default_queues(&c, 64);
	ck_assert_uint_eq(c.max_queues, CONF_QUEUES_CPU_CAP);
	/* the file wins over the CPU default, either way */
	conf_defaults(&c);
	conf_default_queues(&c, 64);
	ck_assert_int_eq(conf_parse(&c, "max-queues 4\n", 13, "f", &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.max_queues, 4);
	ck_assert_int_eq(parse("max-queues 128"), 0);
	ck_assert_uint_eq(c.max_queues, PROTO_QUEUES_MAX);
	ck_assert_int_eq(parse("max-queues 1"), 0);
	ck_assert_uint_eq(c.max_queues, 1);
	REJECTS("max-queues 0\n", ":1: `0' is out of range");
	REJECTS("max-queues 129\n", ":1: `129' is out of range");
	REJECTS("max-queues -2\n", "not a number");
	REJECTS("max-queues 4 4\n", "max-queues: expected exactly one value");
	REJECTS("max-queues\n", "max-queues: expected exactly one value");
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	REJECTS("deadline 3\nbogus 1\n", "/etc/ontap/ontap.conf:2: unknown setting `bogus'");
	REJECTS("deadline\n", ":1: deadline: expected exactly one value");
	REJECTS("deadline 1 2\n", ":1: deadline: expected exactly one value");
	REJECTS("deadline 0\n", ":1: `0' is out of range");
	REJECTS("deadline 3601\n", "out of range");
	REJECTS("deadline -1\n", "not a number");
	REJECTS("deadline 1x\n", "out of range");
	REJECTS("deadline 99999999999999999999\n", "out of range");
	REJECTS("reap-orphans maybe\n", "neither yes nor no");
	REJECTS("acl relative.conf\n", "not an absolute path");
	REJECTS("acl-semantics first-match\n", "neither deny-wins nor last-match");
	REJECTS("log journal\n", "neither stderr nor syslog");
	REJECTS("syslog-facility kern\n", "unknown syslog facility");
	REJECTS("syslog-ident abcdefghijabcdefghijabcdefghijabc\n", "too long");
	REJECTS("max-taps user bob 1\n", "no such user `bob'");
	REJECTS("max-taps group staff 1\n", "no such group `staff'");
	REJECTS("max-taps user alice\n", "expected `max-taps N'");
	REJECTS("max-taps alice 1 2\n", "expected `max-taps N'");
	REJECTS("max-taps user alice 1\nmax-taps user 1001 2\n", ":2: a second quota");
	REJECTS("deadline 1 2 3 4 5\n", "too many fields");
}
END_TEST

START_TEST(quota_rule_bound)
{
	char buf[CONF_MAX_QUOTAS * 32 + 64];
	size_t off = 0;

	for (int i = 0; i <= CONF_MAX_QUOTAS; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "max-taps user %d 1\n", i);
	REJECTS(buf, ":65: more than 64 quota rules");
}
END_TEST

START_TEST(nul_inside_buffer)
{
	static const char text[] = "deadline 1\0junk\n";

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, text, sizeof(text) - 1, "f", &res, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "f:1: NUL byte"), "%s", err);
}
END_TEST

START_TEST(alias_round_trip)
{
	struct tap_owner o = { .uid = 1001, .gid = 100, .pid = 4242, .since = 1795388854,
			       .ngroups = 2, .groups = { 2000, 3000 } }, back;
	char buf[CENSUS_ALIAS_MAX];

	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ontap/1 uid=1001 gid=100 pid=4242 since=1795388854 groups=2000,3000");
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_mem_eq(&o, &back, sizeof(o));
	o.ngroups = 0;
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_int_eq(back.ngroups, 0);
	/* the most groups, the largest ids: still within IFALIASZ */
	o.ngroups = CENSUS_MAX_GROUPS;
	o.uid = o.gid = 4294967295u;
	for (int i = 0; i < CENSUS_MAX_GROUPS; i++)
		o.groups[i] = 4294967295u;
	ck_assert_int_eq(census_alias_format(&o, buf, sizeof(buf)), 0);
	ck_assert_int_eq(census_alias_parse(buf, strlen(buf), &back), 0);
	ck_assert_mem_eq(&o, &back, sizeof(o));
	ck_assert_int_eq(census_alias_format(&o, buf, 40), -ENAMETOOLONG);
}
END_TEST

START_TEST(alias_rejects)
{
	static const char *bad[] = {
		"ontap/1 uid=1 gid=2 pid=3 since=4",            /* no groups= */
		"ontap/1 uid=1 gid=2 pid=3 since=4 groups=1,",
		"ontap/1 uid=1 gid=2 pid=3 since=4 groups=,1",
		"ontap/1 uid=1 gid=2 pid=3 since=4 groups=1 ",
		"ontap/1 uid=4294967296 gid=2 pid=3 since=4 groups=",
		"ontap/1 uid=1 gid=2 pid=2147483648 since=4 groups=",
		"ontap/1 uid=x gid=2 pid=3 since=4 groups=",
		"ontap/1 gid=2 uid=1 pid=3 since=4 groups=",
		"ontap/1 uid=1 gid=2 pid=3 since=99999999999999999999 groups=",
		"ontap/1 uid=1 gid=2 pid=3 since=4 groups=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
	};
	struct tap_owner o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(census_alias_parse(bad[i], strlen(bad[i]), &o) == -EINVAL, "%s", bad[i]);
	/* someone else's alias is simply not ours */
	ck_assert_int_eq(census_alias_parse("uplink to rack 3", 16, &o), -ENOENT);
	ck_assert_int_eq(census_alias_parse("ontap/2 uid=1", 13, &o), -ENOENT);
	/* (buf, len): what follows len is never read */
	ck_assert_int_eq(census_alias_parse("ontap/1 uid=1 gid=2 pid=3 since=4 groups=7XYZ", 42, &o), 0);
	ck_assert_int_eq(o.ngroups, 1);
	ck_assert_int_eq(o.groups[0], 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, max_queues);
	tcase_add_test(tc, quota_rule_bound);
	tcase_add_test(tc, nul_inside_buffer);
	tcase_add_test(tc, alias_round_trip);
	tcase_add_test(tc, alias_rejects);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

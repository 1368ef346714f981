/* SPDX-License-Identifier: ISC */
/*
 * The clients' pure parts: ontap-tap's command line (tapargs.c) and the
 * lookup of the broker's user in /etc/passwd's bytes (passwd.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"
#include "proto.h"
#include "tapargs.h"

#define ARGV(...) ((char *[]){ "ontap-tap", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "ontap-tap", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(a, ...) tapargs_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (a))

START_TEST(tap_defaults)
{
	struct tapargs a;

	ck_assert_int_eq(PARSE(&a, "br0", "prog"), TAPARGS_RUN);
	ck_assert_str_eq(a.bridge, "br0");
	ck_assert_uint_eq(a.queues, 1);
	ck_assert_int_eq(a.fd, 3);
	ck_assert(!a.vnet_hdr);
	ck_assert_str_eq(a.prog[0], "prog");
	ck_assert_ptr_null(a.prog[1]);
}
END_TEST

START_TEST(tap_options)
{
	struct tapargs a;

	ck_assert_int_eq(PARSE(&a, "--queues", "4", "--vnet-hdr", "--fd", "10", "br0", "qemu",
			       "-netdev", "--queues"), TAPARGS_RUN);
	ck_assert_uint_eq(a.queues, 4);
	ck_assert(a.vnet_hdr);
	ck_assert_int_eq(a.fd, 10);
	ck_assert_str_eq(a.bridge, "br0");
	/* PROG's arguments are PROG's, options or not */
	ck_assert_str_eq(a.prog[0], "qemu");
	ck_assert_str_eq(a.prog[1], "-netdev");
	ck_assert_str_eq(a.prog[2], "--queues");
	ck_assert_ptr_null(a.prog[3]);

	ck_assert_int_eq(PARSE(&a, "--queues=128", "--fd=3", "br0", "p"), TAPARGS_RUN);
	ck_assert_uint_eq(a.queues, PROTO_QUEUES_MAX);
	ck_assert_int_eq(a.fd, 3);
	/* the last one wins, as with most option parsers */
	ck_assert_int_eq(PARSE(&a, "--queues=2", "--queues", "3", "br0", "p"), TAPARGS_RUN);
	ck_assert_uint_eq(a.queues, 3);
	/* `--' ends the options: a bridge named like an option */
	ck_assert_int_eq(PARSE(&a, "--", "-br", "p"), TAPARGS_RUN);
	ck_assert_str_eq(a.bridge, "-br");
	ck_assert_int_eq(PARSE(&a, "--fd", "1048449", "--queues", "128", "br0", "p"), TAPARGS_RUN);
}
END_TEST

START_TEST(tap_help_version)
{
	struct tapargs a;

	ck_assert_int_eq(PARSE(&a, "--help"), TAPARGS_HELP);
	ck_assert_int_eq(PARSE(&a, "-h", "br0", "p"), TAPARGS_HELP);
	ck_assert_int_eq(PARSE(&a, "--version"), TAPARGS_VERSION);
	ck_assert_int_eq(PARSE(&a, "--queues", "2", "-V"), TAPARGS_VERSION);
	/* after BRIDGE it is PROG's */
	ck_assert_int_eq(PARSE(&a, "br0", "p", "--help"), TAPARGS_RUN);
}
END_TEST

static void usage_is(enum tapargs_action got, const struct tapargs *a, const char *why)
{
	ck_assert_int_eq(got, TAPARGS_USAGE);
	ck_assert_msg(strstr(a->why, why), "`%s' does not say `%s'", a->why, why);
	ck_assert(!strchr(a->why, '\n'));
}

START_TEST(tap_usage_errors)
{
	struct tapargs a;

	usage_is(tapargs_parse(1, ARGV("x") + 1, &a), &a, "missing BRIDGE");
	usage_is(PARSE(&a, "br0"), &a, "missing PROG");
	usage_is(PARSE(&a, "--vnet-hdr", "br0"), &a, "missing PROG");
	usage_is(PARSE(&a, "--queues"), &a, "--queues needs a number");
	usage_is(PARSE(&a, "--fd"), &a, "--fd needs a number");
	usage_is(PARSE(&a, "--bogus", "br0", "p"), &a, "unknown option `--bogus'");
	usage_is(PARSE(&a, "-q", "2", "br0", "p"), &a, "unknown option `-q'");
	usage_is(PARSE(&a, "--queuesx=2", "br0", "p"), &a, "unknown option");
	usage_is(PARSE(&a, "--vnet-hdr=1", "br0", "p"), &a, "unknown option");
	/* numbers: decimal, in range, nothing else */
	const char *badq[] = { "0", "129", "-1", "+2", " 2", "2 ", "0x2", "2k", "", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(badq) / sizeof(badq[0]); i++) {
		usage_is(PARSE(&a, "--queues", (char *)badq[i], "br0", "p"), &a, "not a number from 1 to 128");
	}
	const char *badfd[] = { "0", "1", "2", "-3", "1048577", "3x", "", "0x10" };
	for (size_t i = 0; i < sizeof(badfd) / sizeof(badfd[0]); i++) {
		usage_is(PARSE(&a, "--fd", (char *)badfd[i], "br0", "p"), &a, "not a number from 3 to");
	}
	usage_is(PARSE(&a, "--fd", "1048576", "--queues", "2", "br0", "p"), &a, "goes past");
	/* bridge names: the kernel's rule, never truncated */
	usage_is(PARSE(&a, "abcdefghijklmnop", "p"), &a, "too long: 16 bytes");
	usage_is(PARSE(&a, "a/b", "p"), &a, "invalid bridge name");
	usage_is(PARSE(&a, "..", "p"), &a, "invalid bridge name");
	usage_is(PARSE(&a, "a b", "p"), &a, "invalid bridge name");
	usage_is(PARSE(&a, "", "p"), &a, "invalid bridge name");
	ck_assert_int_eq(PARSE(&a, "abcdefghijklmno", "p"), TAPARGS_RUN);
}
END_TEST

/* ---- /etc/passwd ---------------------------------------------------------- */

static int lookup(const char *buf, const char *name, unsigned *uid)
{
	size_t n = strlen(buf);
	char *p = malloc(n ? n : 1);   /* exactly n bytes: no NUL to lean on */
	int r;

	ck_assert_ptr_nonnull(p);
	memcpy(p, buf, n);
	r = passwd_uid(p, n, name, uid);
	free(p);
	return r;
}

START_TEST(passwd_found)
{
	static const char pw[] =
		"root:x:0:0:root:/root:/bin/bash\n"
		"ontap:x:999:999::/nonexistent:/usr/sbin/nologin\n"
		"ontap2:x:998:998::/:/bin/false\n"
		"last:x:4294967294:1::/:";   /* no final newline */
	unsigned uid = 12345;

	ck_assert_int_eq(lookup(pw, "ontap", &uid), 0);
	ck_assert_uint_eq(uid, 999);
	ck_assert_int_eq(lookup(pw, "ontap2", &uid), 0);
	ck_assert_uint_eq(uid, 998);
	ck_assert_int_eq(lookup(pw, "root", &uid), 0);
	ck_assert_uint_eq(uid, 0);
	ck_assert_int_eq(lookup(pw, "last", &uid), 0);
	ck_assert_uint_eq(uid, 4294967294u);
	/* prefixes and extensions of a name are other names */
	ck_assert_int_eq(lookup(pw, "onta", &uid), -ENOENT);
	ck_assert_int_eq(lookup(pw, "ontap22", &uid), -ENOENT);
	ck_assert_int_eq(lookup(pw, "x", &uid), -ENOENT);
	ck_assert_int_eq(lookup(pw, "", &uid), -ENOENT);
	ck_assert_int_eq(lookup(pw, "ontap:x", &uid), -ENOENT);
	ck_assert_int_eq(lookup("", "ontap", &uid), -ENOENT);
}
END_TEST

START_TEST(passwd_malformed)
{
	unsigned uid;

	/* the first line with the name decides, as getpwnam() */
	ck_assert_int_eq(lookup("a:x:1:1::/:\na:x:2:2::/:\n", "a", &uid), 0);
	ck_assert_uint_eq(uid, 1);
	ck_assert_int_eq(lookup("a:x:-1:1::/:\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x::1::/:\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x:4294967295:1::/:\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x:99999999999:1::/:\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x:1x:1::/:\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x\n", "a", &uid), -EINVAL);
	ck_assert_int_eq(lookup("a:x:12", "a", &uid), 0);
	ck_assert_uint_eq(uid, 12);
	/* other users' broken lines, blank lines and NIS lines are skipped */
	ck_assert_int_eq(lookup("junk\n\n+::::::\n-b\nb:x:7:7::/:\n", "b", &uid), 0);
	ck_assert_uint_eq(uid, 7);
	/* a NUL inside another line does not end the file */
	ck_assert_int_eq(passwd_uid("z\0z:x:1\nq:x:5:5::/:\n", 19, "q", &uid), 0);
	ck_assert_uint_eq(uid, 5);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("tapargs");
	TCase *pw = tcase_create("passwd");

	tcase_add_test(tc, tap_defaults);
	tcase_add_test(tc, tap_options);
	tcase_add_test(tc, tap_help_version);
	tcase_add_test(tc, tap_usage_errors);
	suite_add_tcase(s, tc);
	tcase_add_test(pw, passwd_found);
	tcase_add_test(pw, passwd_malformed);
	suite_add_tcase(s, pw);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

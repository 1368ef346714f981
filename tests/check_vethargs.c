/* SPDX-License-Identifier: ISC */
/* The command lines of ontap-veth and ontap-lxc-user-nic (helper/vethargs.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vethargs.h"

#define ARGV(...) ((char *const[]){ "prog", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *const[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define VETH(...) veth_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &va)
#define LXC(...) lxc_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &la)

static struct veth_args va;
static struct lxc_args la;

START_TEST(veth_ok)
{
	ck_assert_int_eq(VETH("br0"), VARGS_RUN);
	ck_assert_str_eq(va.bridge, "br0");
	ck_assert_str_eq(va.name, "");
	ck_assert_ptr_null(va.netns);
	ck_assert_int_eq(va.pid, 0);
	ck_assert_int_eq(VETH("--name", "eth1", "--pid", "42", "br0"), VARGS_RUN);
	ck_assert_str_eq(va.name, "eth1");
	ck_assert_int_eq(va.pid, 42);
	ck_assert_int_eq(VETH("--name=e", "--netns=/run/netns/x", "br0"), VARGS_RUN);
	ck_assert_str_eq(va.netns, "/run/netns/x");
	ck_assert_str_eq(va.name, "e");
	ck_assert_int_eq(VETH("br0", "--netns", "/p"), VARGS_RUN);
	ck_assert_int_eq(VETH("--", "-br"), VARGS_RUN);
	ck_assert_str_eq(va.bridge, "-br");
	ck_assert_int_eq(VETH("--name", "abcdefghijklmno", "br0"), VARGS_RUN);
	ck_assert_int_eq(VETH("--help"), VARGS_HELP);
	ck_assert_int_eq(VETH("br0", "--version"), VARGS_VERSION);
}
END_TEST

START_TEST(veth_bad)
{
	int argc = 1;

	ck_assert_int_eq(veth_args_parse(argc, ARGV(NULL), &va), VARGS_USAGE);
	ck_assert_int_eq(VETH("br0", "br1"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "1", "--netns", "/p", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "0", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "-1", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "+1", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "1x", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "2147483648", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--pid", "", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("br0", "--pid"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--netns", "", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--name", "abcdefghijklmnop", "br0"), VARGS_USAGE);
	ck_assert_str_eq(va.bad, "abcdefghijklmnop");
	ck_assert_int_eq(VETH("--name", "a/b", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--name", "", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("abcdefghijklmnop"), VARGS_USAGE);
	ck_assert_int_eq(VETH("b r"), VARGS_USAGE);
	ck_assert_int_eq(VETH("--nmae", "x", "br0"), VARGS_USAGE);
	ck_assert_int_eq(VETH("-n", "x", "br0"), VARGS_USAGE);
}
END_TEST

START_TEST(lxc_ok)
{
	ck_assert_int_eq(LXC("create", "/p", "c1", "1234", "veth", "lxcbr0", "eth0"), VARGS_RUN);
	ck_assert_int_eq(la.cmd, LXC_CREATE);
	ck_assert_int_eq(la.pid, 1234);
	ck_assert_str_eq(la.bridge, "lxcbr0");
	ck_assert_str_eq(la.nic, "eth0");
	ck_assert_str_eq(la.type, "veth");
	ck_assert_int_eq(LXC("create", "/p", "c1", "1234", "veth", "lxcbr0"), VARGS_RUN);
	ck_assert_str_eq(la.nic, "");
	ck_assert_int_eq(LXC("create", "/p", "c1", "1", "veth", "br", "eth%d"), VARGS_RUN);
	ck_assert_int_eq(LXC("delete", "/p", "c1", "/proc/1/ns/net", "veth", "br", "veth0"),
			 VARGS_RUN);
	ck_assert_int_eq(la.cmd, LXC_DELETE);
	ck_assert_str_eq(la.netns, "/proc/1/ns/net");
}
END_TEST

START_TEST(lxc_bad)
{
	ck_assert_int_eq(LXC("create", "/p", "c1", "1234", "veth"), VARGS_USAGE);
	ck_assert_int_eq(LXC("create", "/p", "c1", "1", "veth", "br", "e", "x"), VARGS_USAGE);
	ck_assert_int_eq(LXC("make", "/p", "c1", "1", "veth", "br"), VARGS_USAGE);
	ck_assert_int_eq(LXC("create", "/p", "c1", "x", "veth", "br"), VARGS_USAGE);
	ck_assert_int_eq(LXC("create", "/p", "c1", "0", "veth", "br"), VARGS_USAGE);
	ck_assert_int_eq(LXC("create", "/p", "c1", "1", "veth", "abcdefghijklmnop"), VARGS_USAGE);
	ck_assert_int_eq(LXC("create", "/p", "c1", "1", "veth", "br", "a:b"), VARGS_USAGE);
}
END_TEST

static Suite *vethargs_suite(void)
{
	Suite *s = suite_create("vethargs");
	TCase *tc = tcase_create("argv");

	tcase_add_test(tc, veth_ok);
	tcase_add_test(tc, veth_bad);
	tcase_add_test(tc, lxc_ok);
	tcase_add_test(tc, lxc_bad);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vethargs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

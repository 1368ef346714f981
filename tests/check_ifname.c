/* SPDX-License-Identifier: ISC */
/*
 * Interface names against the kernel's dev_valid_name() (net/core/dev.c):
 * 1..15 bytes, not "." or "..", no '/', ':' or isspace() -- the kernel's
 * isspace() from lib/ctype.c, whose table marks 9-13, 32 and 160 (0xa0) as
 * space.  Names are given as (buf, len) in a heap buffer of exactly len
 * bytes, so under ASan a read past len aborts.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ifname.h"
#include "testutil.h"

static bool valid(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	bool ok;

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	ok = ifname_valid(p, len);
	free(p);
	return ok;
}

#define VALID(lit)   ck_assert_msg(valid(lit, sizeof(lit) - 1), "\"%s\" rejected", lit)
#define INVALID(lit) ck_assert_msg(!valid(lit, sizeof(lit) - 1), "\"%s\" accepted", lit)

START_TEST(valid_names)
{
	VALID("br0");
	VALID("b");
	VALID("virbr0");
	VALID("tap-0_x.y");
	VALID("abcdefghijklmno"); /* 15 */
	VALID("...");
	VALID(".a");
	VALID("a.");
	VALID("%d");
	VALID("\x01");
	VALID("a\x7f");
}
END_TEST

START_TEST(length_bounds)
{
	char buf[64];

	memset(buf, 'a', sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len++)
		ck_assert_msg(valid(buf, len) == (len >= 1 && len <= 15), "length %zu", len);
}
END_TEST

/*
 * Every byte value but NUL, '/', ':' and the kernel's spaces, alone and inside
 * a name.  0xa0 is left to nbsp_kernel_space so that one test names it.
 */
static bool kernel_bad(unsigned c)
{
	return c == 0 || c == '/' || c == ':' || (c >= '\t' && c <= '\r') || c == ' ';
}

START_TEST(each_byte)
{
	for (unsigned c = 0; c < 256; c++) {
		char one[1] = { (char)c };
		char mid[3] = { 'b', (char)c, '0' };
		char full[15];

		memset(full, 'x', sizeof(full));
		full[14] = (char)c;
		if (c == 0xa0)
			continue;
		/* "." alone is its own rule */
		ck_assert_msg(valid(one, 1) == (!kernel_bad(c) && c != '.'), "byte 0x%02x alone", c);
		ck_assert_msg(valid(mid, 3) == !kernel_bad(c), "byte 0x%02x inside", c);
		ck_assert_msg(valid(full, 15) == !kernel_bad(c), "byte 0x%02x at 15", c);
	}
}
END_TEST

START_TEST(high_bytes_valid)
{
	/* the kernel's table has no class for 128-159 and 161-255 */
	for (unsigned c = 0x80; c <= 0xff; c++) {
		char name[4] = { 'b', 'r', (char)c, (char)c };

		if (c == 0xa0)
			continue;
		ck_assert_msg(valid(name, 4), "byte 0x%02x rejected", c);
	}
	VALID("\x80");
	VALID("\xff");
	VALID("\xc3\xa9t\xc3\xa9"); /* "été" in UTF-8 */
}
END_TEST

/*
 * The kernel's isspace(0xa0) is true (lib/ctype.c: 160 is _S|_SP), so
 * dev_valid_name() rejects it; ifname.c uses the C locale's six only.
 */
START_TEST(nbsp_kernel_space)
{
	/* checked on Linux 6.18: TUNSETIFF and RTM_NEWLINK both give EINVAL for "b\xa0" */
	ck_assert_msg(!valid("\xa0", 1), "0xa0 alone accepted; the kernel rejects it");
	ck_assert_msg(!valid("br\xa0" "0", 4), "\"br<0xa0>0\" accepted; the kernel rejects it");
}
END_TEST

START_TEST(invalid_names)
{
	INVALID("");
	INVALID("abcdefghijklmnop"); /* 16 */
	INVALID("abcdefghijklmnopqrstuvwxyz");
	INVALID(".");
	INVALID("..");
	INVALID("a/b");
	INVALID("/");
	INVALID("br0/");
	INVALID("a:b");
	INVALID(":");
	INVALID("br0:1");
	INVALID("a b");
	INVALID(" br0");
	INVALID("br0 ");
	INVALID("a\tb");
	INVALID("a\nb");
	INVALID("br0\n");
	INVALID("a\vb");
	INVALID("a\fb");
	INVALID("a\rb");
	INVALID("../x");
}
END_TEST

START_TEST(embedded_nul)
{
	/* what a C-string check would cut short: the whole (buf, len) is judged */
	INVALID("br0\0evil");
	INVALID("\0");
	INVALID("\0br0");
	INVALID("br0\0");
	INVALID(".\0");
	INVALID("abcdefghijklmn\0"); /* 15 bytes, last NUL */
	/* the 15-byte name followed by NUL as a 16th byte: too long, not a C string */
	INVALID("abcdefghijklmno\0");
}
END_TEST

static Suite *ifname_suite(void)
{
	Suite *s = suite_create("ifname");
	TCase *tc = tcase_create("dev_valid_name");

	tcase_add_test(tc, valid_names);
	tcase_add_test(tc, length_bounds);
	tcase_add_test(tc, each_byte);
	tcase_add_test(tc, high_bytes_valid);
	tcase_add_test(tc, nbsp_kernel_space);
	tcase_add_test(tc, invalid_names);
	tcase_add_test(tc, embedded_nul);
	suite_add_tcase(s, tc);
	return s;
}

ONTAP_CHECK_MAIN(ifname_suite())

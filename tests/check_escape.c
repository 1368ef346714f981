/* SPDX-License-Identifier: ISC */
/*
 * ontap's one escaper (broker/shared/escape.c): every byte 0..255 against
 * the rule, a round trip through a decoder written here from the rule alone,
 * truncation that never splits an escape, and the NUL always written.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The rule read backwards: the decoded length, or -1 for text escape() cannot write. */
static long decode(const char *s, unsigned char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		if (*s == '"' || (unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return -1;
		if (*s != '\\') {
			out[o++] = (unsigned char)*s;
			continue;
		}
		if (s[1] != 'x' || unhex(s[2]) < 0 || unhex(s[3]) < 0)
			return -1;
		out[o++] = (unsigned char)(unhex(s[2]) << 4 | unhex(s[3]));
		s += 3;
	}
	return (long)o;
}

START_TEST(each_byte)
{
	for (int c = 0; c < 256; c++) {
		char in = (char)c, out[8], want[8];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		ck_assert_uint_eq(escape(out, sizeof(out), &in, 1), 1);
		ck_assert_msg(!strcmp(out, want), "byte 0x%02x: got \"%s\", want \"%s\"", c, out, want);
	}
}
END_TEST

START_TEST(quote_and_backslash)
{
	char out[ESCAPE_SIZE(64)];
	const char *forged = "a\" verdict=deny bridge=\"secret\" x=\"\\x22\\";

	escape_str(out, sizeof(out), forged);
	ck_assert_str_eq(out, "a\\x22 verdict=deny bridge=\\x22secret\\x22 x=\\x22\\x5cx22\\x5c");
	ck_assert_ptr_null(strchr(out, '"'));
}
END_TEST

START_TEST(round_trip_all_bytes)
{
	unsigned char in[256], back[256];
	char out[ESCAPE_SIZE(256)];

	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	ck_assert_uint_eq(escape(out, sizeof(out), (const char *)in, sizeof(in)), sizeof(in));
	ck_assert_int_eq(decode(out, back), 256);
	ck_assert_mem_eq(back, in, sizeof(in));
	ck_assert(escape_is_text(out, strlen(out)));
}
END_TEST

/* Every output size from 0 to enough: a NUL, nothing past cap, whole escapes only. */
START_TEST(truncation)
{
	const char in[] = "ab\"c\\\x01\xff" "d";
	const size_t len = sizeof(in) - 1;
	unsigned char back[16];
	char out[ESCAPE_SIZE(sizeof(in)) + 8];

	for (size_t cap = 0; cap <= ESCAPE_SIZE(len); cap++) {
		size_t n;

		memset(out, 0x5a, sizeof(out));
		n = escape(out, cap, in, len);
		for (size_t i = cap; i < sizeof(out); i++)
			ck_assert_msg(out[i] == 0x5a, "cap %zu: byte %zu written", cap, i);
		if (cap == 0) {
			ck_assert_uint_eq(n, 0);
			continue;
		}
		ck_assert_msg(memchr(out, '\0', cap) != NULL, "cap %zu: no NUL", cap);
		ck_assert_msg(decode(out, back) == (long)n, "cap %zu: \"%s\" is not %zu whole bytes",
			      cap, out, n);
		ck_assert_mem_eq(back, in, n);
		if (cap == ESCAPE_SIZE(len))
			ck_assert_uint_eq(n, len);
	}
}
END_TEST

START_TEST(is_text)
{
	ck_assert(escape_is_text("", 0));
	ck_assert(escape_is_text("br0 \\x22\\x5c `x'", 16));
	ck_assert(!escape_is_text("\"", 1));
	ck_assert(!escape_is_text("\\", 1));
	ck_assert(!escape_is_text("\\x2", 3));
	ck_assert(!escape_is_text("\\x2G", 4));
	ck_assert(!escape_is_text("\\xAB", 4));   /* the rule writes lowercase only */
	ck_assert(!escape_is_text("\\n", 2));
	ck_assert(!escape_is_text("a\nb", 3));
	ck_assert(!escape_is_text("\xc3\xa9", 2));
	ck_assert(!escape_is_text("a\0b", 3));
}
END_TEST

START_TEST(msg_keeps_text_escapes_the_rest)
{
	char out[ESCAPE_SIZE(64)];

	escape_msg(out, sizeof(out), "allowed by `allow a\\x22b' at /etc/qemu/bridge.conf:1");
	ck_assert_str_eq(out, "allowed by `allow a\\x22b' at /etc/qemu/bridge.conf:1");
	/* a maker that forgot to escape cannot end the field */
	escape_msg(out, sizeof(out), "bridge `a\"b\\c\x1b' \\x4");
	ck_assert_str_eq(out, "bridge `a\\x22b\\x5cc\\x1b' \\x5cx4");
	ck_assert(escape_is_text(out, strlen(out)));
	/* cut short: an escape kept whole or not at all */
	escape_msg(out, 6, "ab\\x22cd");
	ck_assert_str_eq(out, "ab");
	escape_msg(out, 7, "ab\\x22cd");
	ck_assert_str_eq(out, "ab\\x22");
	escape_msg(out, 1, "ab");
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("rule");

	tcase_add_test(tc, each_byte);
	tcase_add_test(tc, quote_and_backslash);
	tcase_add_test(tc, round_trip_all_bytes);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, is_text);
	tcase_add_test(tc, msg_keeps_text_escapes_the_rest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(escape_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: ontap's one escaper (broker/shared/escape.c).
 *
 * Properties checked on every input, beyond "no sanitizer report":
 *  - escape() writes nothing outside [out, out + cap) (canaries), always
 *    NUL-terminates, and its output is text escape_is_text() accepts;
 *  - with room enough the output decodes back to exactly the input, and
 *    cut short it decodes to a prefix of it whose length escape() returned
 *    (no escape is ever cut in two);
 *  - escape_msg() keeps text escape_is_text() accepts as it is, and makes
 *    anything else such text, within the same bounds.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAXIN 512

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reader's side of the rule: -1 unless s is escape()'s output. */
static long decode(const char *s, unsigned char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		if (*s != '\\') {
			CHECK(*s >= 0x20 && *s <= 0x7e && *s != '"');
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

static void check_escape(const uint8_t *in, size_t len, size_t cap)
{
	static char buf[ESCAPE_SIZE(MAXIN) + 8];
	static unsigned char back[MAXIN];
	char *out = buf + 4;
	size_t n;
	long d;

	memset(buf, 0x5a, sizeof(buf));
	n = escape(out, cap, (const char *)in, len);
	for (size_t i = 0; i < 4; i++)
		CHECK(buf[i] == 0x5a);
	for (size_t i = 4 + cap; i < sizeof(buf); i++)
		CHECK(buf[i] == 0x5a);
	CHECK(n <= len);
	if (cap == 0) {
		CHECK(n == 0);
		return;
	}
	CHECK(strnlen(out, cap) < cap);
	CHECK(escape_is_text(out, strlen(out)));
	d = decode(out, back);
	CHECK(d == (long)n);
	CHECK(memcmp(back, in, n) == 0);
	if (cap >= ESCAPE_SIZE(len))
		CHECK(n == len);
	else if (n < len)
		/* stopped only because the next byte's escape did not fit */
		CHECK(strlen(out) + (in[n] >= 0x20 && in[n] <= 0x7e && in[n] != '"' &&
				     in[n] != '\\' ? 1 : 4) >= cap);
}

static void check_msg(const uint8_t *in, size_t len, size_t cap)
{
	static char src[MAXIN + 1], buf[ESCAPE_SIZE(MAXIN) + 8];
	char *out = buf + 4;
	size_t n;

	memcpy(src, in, len);
	src[len] = '\0';
	n = strlen(src);
	memset(buf, 0x5a, sizeof(buf));
	escape_msg(out, cap, src);
	for (size_t i = 0; i < 4; i++)
		CHECK(buf[i] == 0x5a);
	for (size_t i = 4 + cap; i < sizeof(buf); i++)
		CHECK(buf[i] == 0x5a);
	if (cap == 0)
		return;
	CHECK(strnlen(out, cap) < cap);
	CHECK(escape_is_text(out, strlen(out)));
	if (escape_is_text(src, n) && cap > n)
		CHECK(strcmp(out, src) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;

	if (size < 2 || size - 2 > MAXIN)
		return 0;
	/* the first two bytes choose the output's size, the rest is the input */
	cap = ((size_t)data[0] << 8 | data[1]) % (ESCAPE_SIZE(MAXIN) + 1);
	check_escape(data + 2, size - 2, cap);
	check_escape(data + 2, size - 2, ESCAPE_SIZE(size - 2));
	check_msg(data + 2, size - 2, cap);
	check_msg(data + 2, size - 2, ESCAPE_SIZE(size - 2));
	return 0;
}

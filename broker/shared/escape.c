/* SPDX-License-Identifier: ISC */
/* Pure: shared by the broker and every client (see escape.h). */
#include <string.h>

#include "escape.h"

static const char hex[] = "0123456789abcdef";

static bool plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A well-formed \xNN at s (n bytes left). */
static bool at_escape(const char *s, size_t n)
{
	return n >= 4 && s[0] == '\\' && s[1] == 'x' && is_hex(s[2]) && is_hex(s[3]);
}

/* Appends c, escaped, if it fits with room left for the NUL: false if not. */
static bool put(char *out, size_t cap, size_t *o, unsigned char c)
{
	size_t need = plain(c) ? 1 : 4;

	if (cap == 0 || *o + need >= cap)
		return false;
	if (need == 1) {
		out[(*o)++] = (char)c;
		return true;
	}
	out[(*o)++] = '\\';
	out[(*o)++] = 'x';
	out[(*o)++] = hex[c >> 4];
	out[(*o)++] = hex[c & 15];
	return true;
}

size_t escape(char *out, size_t cap, const char *in, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++)
		if (!put(out, cap, &o, (unsigned char)in[i]))
			break;
	if (cap)
		out[o] = '\0';
	return i;
}

const char *escape_str(char *out, size_t cap, const char *in)
{
	escape(out, cap, in, strlen(in));
	return out;
}

bool escape_is_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (plain((unsigned char)s[i]))
			continue;
		if (!at_escape(s + i, n - i))
			return false;
		i += 3;
	}
	return true;
}

const char *escape_msg(char *out, size_t cap, const char *in)
{
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i++) {
		if (at_escape(in + i, n - i)) {
			/* already an escape: kept whole or not at all */
			if (cap == 0 || o + 4 >= cap)
				break;
			memcpy(out + o, in + i, 4);
			o += 4;
			i += 3;
			continue;
		}
		if (!put(out, cap, &o, (unsigned char)in[i]))
			break;
	}
	if (cap)
		out[o] = '\0';
	return out;
}

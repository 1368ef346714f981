/* SPDX-License-Identifier: ISC */
/*
 * The wire codec, byte by byte.  Expected encodings are built here by hand
 * from the layout in proto.h, not by the encoder, so a change of byte order
 * or offset in proto.c shows up as a failure.  Every decode is given a heap
 * copy of exactly len bytes, so under ASan a read past the end aborts.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* one message as raw bytes */
struct raw {
	size_t len;
	uint8_t b[PROTO_MSG_MAX + 64];
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void raw_hdr(struct raw *r, uint32_t magic, uint16_t ver, uint16_t type, uint32_t blen)
{
	put32(r->b, magic);
	put16(r->b + 4, ver);
	put16(r->b + 6, type);
	put32(r->b + 8, blen);
}

/* REQUEST or GRANT as the spec lays it out; n and the header follow the name */
static void raw_link(struct raw *r, uint16_t type, uint32_t flags, const char *name, size_t n)
{
	raw_hdr(r, PROTO_MAGIC, PROTO_VERSION, type, (uint32_t)(5 + n));
	put32(r->b + 12, flags);
	r->b[16] = (uint8_t)n;
	memcpy(r->b + 17, name, n);
	r->len = PROTO_HDR_LEN + 5 + n;
}

static void raw_refuse(struct raw *r, uint32_t err, const char *reason, size_t n)
{
	raw_hdr(r, PROTO_MAGIC, PROTO_VERSION, PROTO_REFUSE, (uint32_t)(6 + n));
	put32(r->b + 12, err);
	put16(r->b + 16, (uint16_t)n);
	memcpy(r->b + 18, reason, n);
	r->len = PROTO_HDR_LEN + 6 + n;
}

/* decode from a buffer of exactly len bytes (malloc(0) may be NULL: use 1) */
static int decode_exact(const uint8_t *src, size_t len, struct proto_msg *m)
{
	uint8_t *p = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, len);
	rc = proto_decode(p, len, m);
	free(p);
	return rc;
}

static long hdr_exact(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	long rc;

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, len);
	rc = proto_decode_hdr(p, len);
	free(p);
	return rc;
}

static int decode_raw(const struct raw *r)
{
	struct proto_msg m;

	return decode_exact(r->b, r->len, &m);
}

static struct proto_msg mk_link(enum proto_type t, uint32_t flags, const char *name)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = t;
	m.link.flags = flags;
	memcpy(m.link.name, name, strlen(name));
	return m;
}

static struct proto_msg mk_refuse(int err, const char *reason)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REFUSE;
	m.refuse.err = err;
	memcpy(m.refuse.reason, reason, strlen(reason));
	return m;
}

static char name15[] = "abcdefghijklmno";
static char reason_max[PROTO_REASON_MAX + 1];

static void setup(void)
{
	ck_assert_uint_eq(strlen(name15), 15);
	for (size_t i = 0; i < PROTO_REASON_MAX; i++)
		reason_max[i] = (char)('a' + i % 26);
	reason_max[PROTO_REASON_MAX] = '\0';
}

/* a spread of valid messages, for the truncation and trailing-byte tests */
static size_t valid_set(struct raw *out, size_t max)
{
	size_t k = 0;

	ck_assert_uint_ge(max, 10);
	raw_link(&out[k++], PROTO_REQUEST, 0, "b", 1);
	raw_link(&out[k++], PROTO_REQUEST, PROTO_F_VNET_HDR, name15, 15);
	raw_link(&out[k++], PROTO_GRANT, 0, "t", 1);
	raw_link(&out[k++], PROTO_GRANT, PROTO_F_VNET_HDR, name15, 15);
	raw_link(&out[k++], PROTO_REQUEST, PROTO_F_VNET_HDR, "br0", 3);
	raw_refuse(&out[k++], 1, "x", 1);
	raw_refuse(&out[k++], EACCES, "bridge br0 not allowed", 22);
	raw_refuse(&out[k++], 4095, reason_max, PROTO_REASON_MAX);
	return k;
}

/* ------------------------------------------------------------------ */
/* round trips */

static void check_link_roundtrip(enum proto_type t, uint32_t flags, const char *name)
{
	struct proto_msg in = mk_link(t, flags, name), out;
	uint8_t buf[PROTO_MSG_MAX];
	struct raw want;
	size_t n = strlen(name);
	long len;

	raw_link(&want, (uint16_t)t, flags, name, n);
	len = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(len, (long)(PROTO_HDR_LEN + 5 + n));
	ck_assert_mem_eq(buf, want.b, want.len);

	memset(&out, 0xa5, sizeof(out));
	ck_assert_int_eq(decode_exact(buf, (size_t)len, &out), 0);
	ck_assert_int_eq(out.type, t);
	ck_assert_uint_eq(out.link.flags, flags);
	ck_assert_str_eq(out.link.name, name);
	ck_assert_uint_eq(strlen(out.link.name), n);
}

START_TEST(roundtrip_request_grant)
{
	static const enum proto_type types[] = { PROTO_REQUEST, PROTO_GRANT };
	static const uint32_t flags[] = { 0, PROTO_F_VNET_HDR };
	const char *names[] = { "b", "br0", name15, "\x01", "\xff\x80" };

	for (size_t t = 0; t < 2; t++)
		for (size_t f = 0; f < 2; f++)
			for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
				check_link_roundtrip(types[t], flags[f], names[n]);
}
END_TEST

static void check_refuse_roundtrip(int err, const char *reason)
{
	struct proto_msg in = mk_refuse(err, reason), *out;
	uint8_t buf[PROTO_MSG_MAX];
	struct raw want;
	size_t n = strlen(reason);
	long len;

	raw_refuse(&want, (uint32_t)err, reason, n);
	len = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(len, (long)(PROTO_HDR_LEN + 6 + n));
	ck_assert_mem_eq(buf, want.b, want.len);

	out = malloc(sizeof(*out));
	ck_assert_ptr_nonnull(out);
	memset(out, 0xa5, sizeof(*out));
	ck_assert_int_eq(decode_exact(buf, (size_t)len, out), 0);
	ck_assert_int_eq(out->type, PROTO_REFUSE);
	ck_assert_int_eq(out->refuse.err, err);
	ck_assert_uint_eq(strlen(out->refuse.reason), n);
	ck_assert_str_eq(out->refuse.reason, reason);
	free(out);
}

START_TEST(roundtrip_refuse)
{
	check_refuse_roundtrip(1, "x");
	check_refuse_roundtrip(EACCES, "x");
	check_refuse_roundtrip(EPERM, "bridge br0 not allowed for you");
	check_refuse_roundtrip(4095, "\r\t\x01\xff");
	check_refuse_roundtrip(1, reason_max);
	check_refuse_roundtrip(ENOENT, reason_max);
}
END_TEST

/* the exact bytes of one REQUEST, written out, so byte order is pinned */
START_TEST(encode_known_bytes)
{
	static const uint8_t want[] = {
		0x4f, 0x4e, 0x54, 0x50, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x01, 0x03, 'b', 'r', '0',
	};
	static const uint8_t want_refuse[] = {
		0x4f, 0x4e, 0x54, 0x50, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x01, 0x02, 0x00, 0x02, 'n', 'o',
	};
	struct proto_msg m = mk_link(PROTO_REQUEST, PROTO_F_VNET_HDR, "br0");
	uint8_t buf[PROTO_MSG_MAX];

	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), (long)sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	m = mk_refuse(0x102, "no");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), (long)sizeof(want_refuse));
	ck_assert_mem_eq(buf, want_refuse, sizeof(want_refuse));
}
END_TEST

/* ------------------------------------------------------------------ */
/* framing */

START_TEST(truncated_rejected)
{
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++) {
		ck_assert_int_eq(decode_raw(&v[i]), 0);
		for (size_t len = 0; len < v[i].len; len++) {
			struct proto_msg m;

			ck_assert_msg(decode_exact(v[i].b, len, &m) == -EPROTO,
				      "message %zu truncated to %zu of %zu bytes accepted",
				      i, len, v[i].len);
		}
	}
}
END_TEST

START_TEST(trailing_rejected)
{
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++) {
		size_t full = v[i].len;

		for (size_t extra = 1; extra <= 64; extra++) {
			memset(v[i].b + full, extra == 1 ? 0 : 'z', extra);
			v[i].len = full + extra;
			ck_assert_msg(decode_raw(&v[i]) == -EPROTO,
				      "message %zu with %zu trailing bytes accepted", i, extra);
		}
	}
}
END_TEST

START_TEST(bad_magic)
{
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++)
		for (size_t byte = 0; byte < 4; byte++)
			for (int bit = 0; bit < 8; bit++) {
				struct raw r = v[i];

				r.b[byte] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(decode_raw(&r), -EPROTO);
				ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
			}
	/* little-endian magic is wrong too */
	struct raw r = v[0];
	r.b[0] = 0x50; r.b[1] = 0x54; r.b[2] = 0x4e; r.b[3] = 0x4f;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
}
END_TEST

START_TEST(bad_version)
{
	static const uint16_t vers[] = { 0, 2, 3, 0x0100, 0x8000, 0xffff };
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < sizeof(vers) / sizeof(vers[0]); j++) {
			struct raw r = v[i];

			put16(r.b + 4, vers[j]);
			ck_assert_int_eq(decode_raw(&r), -EPROTONOSUPPORT);
			ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTONOSUPPORT);
		}
}
END_TEST

START_TEST(unknown_type)
{
	static const uint16_t types[] = { 0, 4, 5, 0x0100, 0x0101, 0xffff };
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			struct raw r = v[i];

			put16(r.b + 6, types[j]);
			ck_assert_int_eq(decode_raw(&r), -EPROTO);
			ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
		}
}
END_TEST

/* a REQUEST body handed over as REFUSE (and back) must not decode */
START_TEST(type_swapped)
{
	struct raw r;

	raw_link(&r, PROTO_REQUEST, 0, "br0x", 4); /* body 9 bytes: in REFUSE range */
	put16(r.b + 6, PROTO_REFUSE);
	/* errno 0 */
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_refuse(&r, 1, "x", 1); /* body 7 bytes: in REQUEST range */
	put16(r.b + 6, PROTO_REQUEST);
	/* flags 1 (ok), n = 0 */
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
}
END_TEST

/* ------------------------------------------------------------------ */
/* body length bounds, per type */

struct bounds {
	uint16_t type;
	uint32_t min, max;
};

static const struct bounds bounds[] = {
	{ PROTO_REQUEST, 6, 20 },
	{ PROTO_GRANT, 6, 20 },
	{ PROTO_REFUSE, 7, 6 + PROTO_REASON_MAX },
};

START_TEST(hdr_body_bounds)
{
	for (size_t i = 0; i < 3; i++) {
		const struct bounds *b = &bounds[i];
		struct raw r;

		for (uint32_t blen = 0; blen <= b->max + 8; blen++) {
			long want = blen < b->min || blen > b->max ? -EPROTO : (long)blen;

			raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, b->type, blen);
			ck_assert_msg(hdr_exact(r.b, PROTO_HDR_LEN) == want,
				      "type %u body length %u", b->type, blen);
		}
	}
}
END_TEST

/* a full message whose header announces a body just out of bounds */
START_TEST(body_out_of_bounds)
{
	uint8_t body[PROTO_BODY_MAX + 8];
	struct raw r;

	memset(body, 'a', sizeof(body));
	for (size_t i = 0; i < 3; i++) {
		const struct bounds *b = &bounds[i];
		uint32_t lens[] = { 0, b->min - 1, b->max + 1, b->max + 2 };

		for (size_t j = 0; j < 4; j++) {
			uint32_t blen = lens[j];

			raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, b->type, blen);
			memcpy(r.b + PROTO_HDR_LEN, body, blen);
			/* make the inner length field agree with the body */
			if (b->type == PROTO_REFUSE && blen >= 6) {
				put32(r.b + 12, 1);
				put16(r.b + 16, (uint16_t)(blen - 6));
			} else if (b->type != PROTO_REFUSE && blen >= 5) {
				put32(r.b + 12, 0);
				r.b[16] = (uint8_t)(blen - 5);
			}
			r.len = PROTO_HDR_LEN + blen;
			ck_assert_msg(decode_raw(&r) == -EPROTO, "type %u body length %u",
				      b->type, blen);
		}
	}
}
END_TEST

START_TEST(hdr_length_huge)
{
	static const uint32_t huge[] = { 0xffffffffu, 0x80000000u, 0x7fffffffu, 0x10000u,
					 PROTO_BODY_MAX + 1 };
	struct raw v[10];
	size_t k = valid_set(v, 10);

	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < sizeof(huge) / sizeof(huge[0]); j++) {
			struct raw r = v[i];

			put32(r.b + 8, huge[j]);
			ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
			ck_assert_int_eq(decode_raw(&r), -EPROTO);
			r.len = PROTO_HDR_LEN;
			ck_assert_int_eq(decode_raw(&r), -EPROTO);
		}
}
END_TEST

/* header and inner length disagree: the body is exactly as long as the header says */
START_TEST(inner_length_mismatch)
{
	struct raw r;

	for (unsigned n = 1; n <= 15; n++)
		for (unsigned inner = 0; inner <= 255; inner++) {
			if (inner == n)
				continue;
			raw_link(&r, PROTO_GRANT, 0, name15, n);
			r.b[16] = (uint8_t)inner;
			ck_assert_msg(decode_raw(&r) == -EPROTO, "n %u inner %u", n, inner);
		}
	for (unsigned n = 1; n <= 40; n++) {
		static const uint16_t inner[] = { 0, 1, 39, 40, 41, 1024, 1025, 0xffff };

		for (size_t j = 0; j < sizeof(inner) / sizeof(inner[0]); j++) {
			if (inner[j] == n)
				continue;
			raw_refuse(&r, 1, reason_max, n);
			put16(r.b + 16, inner[j]);
			ck_assert_msg(decode_raw(&r) == -EPROTO, "n %u inner %u", n, inner[j]);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* REQUEST / GRANT bodies */

START_TEST(name_len_zero_or_16)
{
	char name16[32];
	struct raw r;

	memset(name16, 'a', sizeof(name16));

	for (uint16_t t = PROTO_REQUEST; t <= PROTO_GRANT; t++) {
		/* n = 0 with a body padded up to the minimum */
		raw_link(&r, t, 0, "", 0);
		ck_assert_int_eq(decode_raw(&r), -EPROTO); /* body 5 < min */
		raw_link(&r, t, 0, "a", 1);
		r.b[16] = 0;
		ck_assert_int_eq(decode_raw(&r), -EPROTO);
		/* 16 and more: consistent header, then capped header */
		for (unsigned n = 16; n <= 17; n++) {
			raw_link(&r, t, 0, name16, n);
			ck_assert_int_eq(decode_raw(&r), -EPROTO);
		}
		raw_link(&r, t, 0, name15, 15);
		r.b[16] = 16;
		ck_assert_int_eq(decode_raw(&r), -EPROTO);
		r.b[16] = 255;
		ck_assert_int_eq(decode_raw(&r), -EPROTO);
	}
}
END_TEST

START_TEST(nul_in_name)
{
	struct raw r;

	for (uint16_t t = PROTO_REQUEST; t <= PROTO_GRANT; t++)
		for (unsigned n = 1; n <= 15; n++)
			for (unsigned pos = 0; pos < n; pos++) {
				raw_link(&r, t, 0, name15, n);
				r.b[17 + pos] = '\0';
				ck_assert_msg(decode_raw(&r) == -EPROTO, "type %u n %u NUL at %u",
					      t, n, pos);
			}
}
END_TEST

START_TEST(unknown_flags)
{
	struct raw r;

	for (uint16_t t = PROTO_REQUEST; t <= PROTO_GRANT; t++) {
		for (int bit = 1; bit < 32; bit++) {
			raw_link(&r, t, 1u << bit, "br0", 3);
			ck_assert_msg(decode_raw(&r) == -EPROTO, "type %u bit %d", t, bit);
			raw_link(&r, t, (1u << bit) | PROTO_F_VNET_HDR, "br0", 3);
			ck_assert_msg(decode_raw(&r) == -EPROTO, "type %u bit %d + vnet", t, bit);
		}
		raw_link(&r, t, 0xffffffffu, "br0", 3);
		ck_assert_int_eq(decode_raw(&r), -EPROTO);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* REFUSE bodies */

START_TEST(refuse_errno)
{
	struct raw r;
	struct proto_msg m;

	raw_refuse(&r, 0, "x", 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	/* would be a negative int: must never decode */
	raw_refuse(&r, 0x80000000u, "x", 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_refuse(&r, 0xffffffffu, "x", 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	/* current bound: Linux errno values stop at 4095 (MAX_ERRNO) */
	raw_refuse(&r, 4096, "x", 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_refuse(&r, 4095, "x", 1);
	ck_assert_int_eq(decode_exact(r.b, r.len, &m), 0);
	ck_assert_int_eq(m.refuse.err, 4095);
}
END_TEST

START_TEST(refuse_reason_bad)
{
	struct raw r;

	/* n = 0, body padded to the minimum */
	raw_refuse(&r, 1, "", 0);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_refuse(&r, 1, "x", 1);
	put16(r.b + 16, 0);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	/* NUL or newline at each position, short and full-length */
	static const size_t lens[] = { 1, 2, 7, PROTO_REASON_MAX };
	for (size_t j = 0; j < 4; j++) {
		size_t n = lens[j];

		for (size_t pos = 0; pos < n; pos++) {
			if (n > 16 && pos > 3 && pos < n - 4 && pos != n / 2)
				continue;
			raw_refuse(&r, 1, reason_max, n);
			r.b[18 + pos] = '\0';
			ck_assert_msg(decode_raw(&r) == -EPROTO, "NUL at %zu of %zu", pos, n);
			r.b[18 + pos] = '\n';
			ck_assert_msg(decode_raw(&r) == -EPROTO, "newline at %zu of %zu", pos, n);
		}
	}
	/* 1025 bytes: over PROTO_REASON_MAX */
	static char reason1025[PROTO_REASON_MAX + 2];
	memset(reason1025, 'r', PROTO_REASON_MAX + 1);
	raw_refuse(&r, 1, reason1025, PROTO_REASON_MAX + 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
}
END_TEST

/* ------------------------------------------------------------------ */
/* proto_decode_hdr on its own */

START_TEST(decode_hdr_alone)
{
	struct raw r;

	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, PROTO_REQUEST, 8);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), 8);
	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, PROTO_GRANT, 20);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), 20);
	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, PROTO_REFUSE, PROTO_BODY_MAX);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), PROTO_BODY_MAX);

	/* anything but exactly PROTO_HDR_LEN bytes */
	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, PROTO_REQUEST, 8);
	for (size_t len = 0; len < PROTO_HDR_LEN; len++)
		ck_assert_int_eq(hdr_exact(r.b, len), -EPROTO);
	memset(r.b + PROTO_HDR_LEN, 0, 8);
	for (size_t len = PROTO_HDR_LEN + 1; len <= PROTO_HDR_LEN + 8; len++)
		ck_assert_int_eq(hdr_exact(r.b, len), -EPROTO);

	/* checked in order: magic, then version, then type, then length */
	raw_hdr(&r, 0, 2, 0, 0xffffffffu);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
	raw_hdr(&r, PROTO_MAGIC, 2, 0, 0xffffffffu);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTONOSUPPORT);
	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, 0, 8);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
	raw_hdr(&r, PROTO_MAGIC, PROTO_VERSION, PROTO_REQUEST, 0xffffffffu);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
	/* all zeroes, all ones */
	memset(r.b, 0, PROTO_HDR_LEN);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
	memset(r.b, 0xff, PROTO_HDR_LEN);
	ck_assert_int_eq(hdr_exact(r.b, PROTO_HDR_LEN), -EPROTO);
}
END_TEST

/* ------------------------------------------------------------------ */
/* encoder rejections */

static long encode_heap(const struct proto_msg *m, size_t cap)
{
	uint8_t *p = malloc(cap ? cap : 1);
	long rc;

	ck_assert_ptr_nonnull(p);
	rc = proto_encode(m, p, cap);
	free(p);
	return rc;
}

START_TEST(encode_rejects_link)
{
	struct proto_msg m;

	for (int t = PROTO_REQUEST; t <= PROTO_GRANT; t++) {
		m = mk_link(t, 0, "");
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		/* 16 bytes, no NUL anywhere in name[] */
		m = mk_link(t, 0, "");
		memset(m.link.name, 'a', IFNAMSIZ);
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		for (int bit = 1; bit < 32; bit++) {
			m = mk_link(t, 1u << bit, "br0");
			ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		}
		m = mk_link(t, 0xffffffffu, "br0");
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		/* still fine at 15 */
		m = mk_link(t, 0, name15);
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), PROTO_HDR_LEN + 5 + 15);
	}
}
END_TEST

START_TEST(encode_rejects_refuse)
{
	static struct proto_msg m;

	m = mk_refuse(0, "x");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(-1, "x");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(-EACCES, "x");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(4096, "x");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(EACCES, "");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(EACCES, "\n");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(EACCES, "two\nlines");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(EACCES, "trailing\n");
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m = mk_refuse(EACCES, reason_max);
	m.refuse.reason[PROTO_REASON_MAX - 1] = '\n';
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	/* 1025 bytes and no NUL in the whole reason[] */
	m = mk_refuse(EACCES, reason_max);
	m.refuse.reason[PROTO_REASON_MAX] = 'z';
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
}
END_TEST

START_TEST(encode_rejects_type_and_cap)
{
	struct proto_msg m = mk_link(PROTO_REQUEST, 0, "br0");

	m.type = (enum proto_type)0;
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m.type = (enum proto_type)4;
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
	m.type = (enum proto_type)-1;
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);

	/* cap is checked up front, even when the message would fit: heap-sized to cap */
	m = mk_link(PROTO_REQUEST, 0, "br0");
	for (size_t cap = 0; cap < PROTO_MSG_MAX; cap += (cap < 32 ? 1 : 97))
		ck_assert_int_eq(encode_heap(&m, cap), -ENOBUFS);
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX - 1), -ENOBUFS);
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), PROTO_HDR_LEN + 8);
	m = mk_refuse(EACCES, reason_max);
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX - 1), -ENOBUFS);
	ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), PROTO_MSG_MAX);
}
END_TEST

/* ------------------------------------------------------------------ */
/* bounded deterministic mutation */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: small, fixed, the same on every platform */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void mutate(struct raw *r)
{
	const size_t room = sizeof(r->b);
	unsigned ops = 1 + rnd() % 4;

	for (unsigned i = 0; i < ops; i++) {
		size_t pos = r->len ? rnd() % r->len : 0;

		switch (rnd() % 9) {
		case 0: /* flip a bit */
			if (r->len)
				r->b[pos] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* set a byte */
			if (r->len)
				r->b[pos] = (uint8_t)rnd();
			break;
		case 2: /* set an interesting byte */
			if (r->len) {
				static const uint8_t v[] = { 0, 1, '\n', '/', ':', ' ', 0x7f,
							     0x80, 0xff, 15, 16 };
				r->b[pos] = v[rnd() % sizeof(v)];
			}
			break;
		case 3: /* truncate */
			r->len = r->len ? rnd() % r->len : 0;
			break;
		case 4: /* extend with junk */
		{
			size_t add = 1 + rnd() % 16;

			if (r->len + add > room)
				add = room - r->len;
			for (size_t j = 0; j < add; j++)
				r->b[r->len + j] = (uint8_t)rnd();
			r->len += add;
			break;
		}
		case 5: /* header length: random, or made to match */
			if (r->len >= PROTO_HDR_LEN)
				put32(r->b + 8, rnd() % 2 ? rnd() : (uint32_t)(r->len - PROTO_HDR_LEN));
			break;
		case 6: /* type */
			if (r->len >= PROTO_HDR_LEN)
				put16(r->b + 6, (uint16_t)(rnd() % 5));
			break;
		case 7: /* inner length made to match the body */
			if (r->len >= PROTO_HDR_LEN + 6) {
				size_t body = r->len - PROTO_HDR_LEN;

				if (r->b[7] == PROTO_REFUSE)
					put16(r->b + 16, (uint16_t)(body - 6));
				else
					r->b[16] = (uint8_t)(body - 5);
			}
			break;
		case 8: /* inner length: random */
			if (r->len >= PROTO_HDR_LEN + 6) {
				if (rnd() % 2)
					put16(r->b + 16, (uint16_t)rnd());
				else
					r->b[16] = (uint8_t)(rnd() % 20);
			}
			break;
		}
	}
}

START_TEST(mutation_fuzz)
{
	enum { ITER = 100000 };
	struct raw seeds[10], r;
	size_t nseeds = valid_set(seeds, 10);
	unsigned accepted = 0, rejected = 0;

	rng_state = 0x6f6e746170ull; /* "ontap" */
	for (unsigned it = 0; it < ITER; it++) {
		struct proto_msg m;
		uint8_t out[PROTO_MSG_MAX];
		long olen;
		int rc;

		r = seeds[rnd() % nseeds];
		mutate(&r);
		memset(&m, 0x5a, sizeof(m));
		rc = decode_exact(r.b, r.len, &m);
		if (rc != 0) {
			ck_assert_msg(rc == -EPROTO || rc == -EPROTONOSUPPORT,
				      "iteration %u: unexpected error %d", it, rc);
			rejected++;
			continue;
		}
		accepted++;
		/* whatever decodes is a well-formed message that encodes to the same bytes */
		olen = proto_encode(&m, out, sizeof(out));
		ck_assert_msg(olen == (long)r.len, "iteration %u: re-encoded %ld bytes, had %zu",
			      it, olen, r.len);
		ck_assert_msg(memcmp(out, r.b, r.len) == 0, "iteration %u: re-encoding differs", it);
	}
	/* the loop must have exercised both sides */
	ck_assert_uint_gt(accepted, ITER / 100);
	ck_assert_uint_gt(rejected, ITER / 10);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("codec");
	TCase *fz = tcase_create("fuzz");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, roundtrip_request_grant);
	tcase_add_test(tc, roundtrip_refuse);
	tcase_add_test(tc, encode_known_bytes);
	tcase_add_test(tc, truncated_rejected);
	tcase_add_test(tc, trailing_rejected);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, bad_version);
	tcase_add_test(tc, unknown_type);
	tcase_add_test(tc, type_swapped);
	tcase_add_test(tc, hdr_body_bounds);
	tcase_add_test(tc, body_out_of_bounds);
	tcase_add_test(tc, hdr_length_huge);
	tcase_add_test(tc, inner_length_mismatch);
	tcase_add_test(tc, name_len_zero_or_16);
	tcase_add_test(tc, nul_in_name);
	tcase_add_test(tc, unknown_flags);
	tcase_add_test(tc, refuse_errno);
	tcase_add_test(tc, refuse_reason_bad);
	tcase_add_test(tc, decode_hdr_alone);
	tcase_add_test(tc, encode_rejects_link);
	tcase_add_test(tc, encode_rejects_refuse);
	tcase_add_test(tc, encode_rejects_type_and_cap);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(fz, setup, NULL);
	tcase_set_timeout(fz, 60); /* 100k iterations under ASan */
	tcase_add_test(fz, mutation_fuzz);
	suite_add_tcase(s, fz);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * The wire codec, byte by byte.  Expected encodings are built here by hand
 * from the layout in proto.h, not by the encoder, so a change of byte order
 * or offset in proto.c shows up as a failure.  Every decode is given a heap
 * copy of exactly len bytes, so under ASan a read past the end aborts.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "wire.h"
#include "testutil.h"

/* one message as raw bytes */
struct raw {
	size_t len;
	uint8_t b[PROTO_MSG_MAX + 64];
};

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

/* version 2 REQUEST as the spec lays it out */
static void raw_req2(struct raw *r, uint8_t kind, uint32_t flags, uint16_t queues,
		     const char *br, size_t n, const char *peer, size_t m)
{
	uint8_t *b = r->b + PROTO_HDR_LEN;

	raw_hdr(r, PROTO_MAGIC, PROTO_V2, PROTO_REQUEST, (uint32_t)(9 + n + m));
	b[0] = kind;
	put32(b + 1, flags);
	put16(b + 5, queues);
	b[7] = (uint8_t)n;
	memcpy(b + 8, br, n);
	b[8 + n] = (uint8_t)m;
	memcpy(b + 9 + n, peer, m);
	r->len = PROTO_HDR_LEN + 9 + n + m;
}

/* version 2 GRANT as the spec lays it out */
static void raw_grant2(struct raw *r, uint8_t kind, uint32_t flags, uint16_t nfds,
		       uint32_t ifindex, const char *name, size_t n, uint32_t peer_ifindex,
		       const char *peer, size_t m)
{
	uint8_t *b = r->b + PROTO_HDR_LEN;

	raw_hdr(r, PROTO_MAGIC, PROTO_V2, PROTO_GRANT, (uint32_t)(17 + n + m));
	b[0] = kind;
	put32(b + 1, flags);
	put16(b + 5, nfds);
	put32(b + 7, ifindex);
	b[11] = (uint8_t)n;
	memcpy(b + 12, name, n);
	put32(b + 12 + n, peer_ifindex);
	b[16 + n] = (uint8_t)m;
	memcpy(b + 17 + n, peer, m);
	r->len = PROTO_HDR_LEN + 17 + n + m;
}

#define VALID_MAX 24

/* a spread of valid messages, both versions, for the framing tests */
static size_t valid_set(struct raw *out, size_t max)
{
	size_t k = 0;

	ck_assert_uint_ge(max, 20);
	raw_link(&out[k++], PROTO_REQUEST, 0, "b", 1);
	raw_link(&out[k++], PROTO_REQUEST, PROTO_F_VNET_HDR, name15, 15);
	raw_link(&out[k++], PROTO_GRANT, 0, "t", 1);
	raw_link(&out[k++], PROTO_GRANT, PROTO_F_VNET_HDR, name15, 15);
	raw_link(&out[k++], PROTO_REQUEST, PROTO_F_VNET_HDR, "br0", 3);
	raw_refuse(&out[k++], 1, "x", 1);
	raw_refuse(&out[k++], EACCES, "bridge br0 not allowed", 22);
	raw_refuse(&out[k++], 4095, reason_max, PROTO_REASON_MAX);
	raw_req2(&out[k++], PROTO_KIND_TAP, 0, 1, "b", 1, "", 0);
	raw_req2(&out[k++], PROTO_KIND_TAP, PROTO_F_VNET_HDR, 4, "br0", 3, "", 0);
	raw_req2(&out[k++], PROTO_KIND_TAP, PROTO_F_VNET_HDR, PROTO_QUEUES_MAX, name15, 15, "", 0);
	raw_req2(&out[k++], PROTO_KIND_VETH, 0, 1, "br0", 3, "", 0);
	raw_req2(&out[k++], PROTO_KIND_VETH, 0, 1, name15, 15, name15, 15);
	raw_grant2(&out[k++], PROTO_KIND_TAP, 0, 1, 7, "tap0", 4, 0, "", 0);
	raw_grant2(&out[k++], PROTO_KIND_TAP, PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE, 4,
		   0xfffffffeu, name15, 15, 0, "", 0);
	raw_grant2(&out[k++], PROTO_KIND_TAP, PROTO_F_MULTI_QUEUE, 1, 3, "t", 1, 0, "", 0);
	raw_grant2(&out[k++], PROTO_KIND_VETH, 0, 0, 9, "veth0", 5, 2, "eth0", 4);
	raw_grant2(&out[k++], PROTO_KIND_VETH, 0, 0, 9, name15, 15, 0x01020304u, name15, 15);
	raw_refuse(&out[k], EPROTONOSUPPORT, "x", 1);
	put16(out[k++].b + 4, PROTO_V2);
	ck_assert_uint_le(k, max);
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
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	/* 2 is version 2, whose layouts differ: see the v2 tests */
	static const uint16_t vers[] = { 0, 3, 4, 0x0100, 0x0200, 0x8000, 0xffff };
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

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
	raw_hdr(&r, PROTO_MAGIC, 3, 0, 0xffffffffu);
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
	struct raw seeds[VALID_MAX], r;
	size_t nseeds = valid_set(seeds, VALID_MAX);
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

/* ------------------------------------------------------------------ */
/* version 2 */

static struct proto_msg mk_req2(enum proto_kind kind, uint32_t flags, uint16_t queues,
				const char *br, const char *peer)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.version = PROTO_V2;
	m.type = PROTO_REQUEST;
	m.link.kind = kind;
	m.link.flags = flags;
	m.link.queues = queues;
	memcpy(m.link.name, br, strlen(br));
	memcpy(m.link.peer_name, peer, strlen(peer));
	return m;
}

static struct proto_msg mk_grant2(enum proto_kind kind, uint32_t flags, uint16_t nfds,
				  uint32_t ifindex, const char *name, uint32_t peer_ifindex,
				  const char *peer)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.version = PROTO_V2;
	m.type = PROTO_GRANT;
	m.link.kind = kind;
	m.link.flags = flags;
	m.link.nfds = nfds;
	m.link.ifindex = ifindex;
	memcpy(m.link.name, name, strlen(name));
	m.link.peer_ifindex = peer_ifindex;
	memcpy(m.link.peer_name, peer, strlen(peer));
	return m;
}

/* the exact bytes of a version-2 REQUEST and GRANT, written out */
START_TEST(v2_known_bytes)
{
	static const uint8_t want_req[] = {
		0x4f, 0x4e, 0x54, 0x50, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0c,
		0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x03, 'b', 'r', '0', 0x00,
	};
	static const uint8_t want_grant[] = {
		0x4f, 0x4e, 0x54, 0x50, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x15,
		0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x01, 0x0a,
		0x04, 't', 'a', 'p', '0', 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t want_veth[] = {
		0x4f, 0x4e, 0x54, 0x50, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 'b', 'r', 0x03, 'e', 't', 'h',
	};
	struct proto_msg m = mk_req2(PROTO_KIND_TAP, PROTO_F_VNET_HDR, 4, "br0", ""), out;
	uint8_t buf[PROTO_MSG_MAX];

	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), sizeof(want_req));
	ck_assert_mem_eq(buf, want_req, sizeof(want_req));
	ck_assert_int_eq(decode_exact(want_req, sizeof(want_req), &out), 0);
	ck_assert_uint_eq(out.version, PROTO_V2);
	ck_assert_int_eq(out.type, PROTO_REQUEST);
	ck_assert_int_eq(out.link.kind, PROTO_KIND_TAP);
	ck_assert_uint_eq(out.link.flags, PROTO_F_VNET_HDR);
	ck_assert_uint_eq(out.link.queues, 4);
	ck_assert_str_eq(out.link.name, "br0");
	ck_assert_str_eq(out.link.peer_name, "");
	ck_assert_uint_eq(proto_fds(&out), 0);

	m = mk_grant2(PROTO_KIND_TAP, PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE, 4, 266, "tap0", 0, "");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), sizeof(want_grant));
	ck_assert_mem_eq(buf, want_grant, sizeof(want_grant));
	memset(&out, 0xa5, sizeof(out));
	ck_assert_int_eq(decode_exact(want_grant, sizeof(want_grant), &out), 0);
	ck_assert_uint_eq(out.version, PROTO_V2);
	ck_assert_int_eq(out.type, PROTO_GRANT);
	ck_assert_int_eq(out.link.kind, PROTO_KIND_TAP);
	ck_assert_uint_eq(out.link.flags, PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE);
	ck_assert_uint_eq(out.link.nfds, 4);
	ck_assert_uint_eq(out.link.ifindex, 266);
	ck_assert_str_eq(out.link.name, "tap0");
	ck_assert_uint_eq(out.link.peer_ifindex, 0);
	ck_assert_str_eq(out.link.peer_name, "");
	ck_assert_uint_eq(proto_fds(&out), 4);

	m = mk_req2(PROTO_KIND_VETH, 0, 1, "br", "eth");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), sizeof(want_veth));
	ck_assert_mem_eq(buf, want_veth, sizeof(want_veth));
	ck_assert_int_eq(decode_exact(want_veth, sizeof(want_veth), &out), 0);
	ck_assert_int_eq(out.link.kind, PROTO_KIND_VETH);
	ck_assert_str_eq(out.link.peer_name, "eth");
	ck_assert_uint_eq(proto_fds(&out), 1);
}
END_TEST

/* every valid message decodes, re-encodes to its bytes, and says its version */
START_TEST(v2_roundtrip_all)
{
	struct raw v[VALID_MAX];
	size_t k = valid_set(v, VALID_MAX);

	for (size_t i = 0; i < k; i++) {
		struct proto_msg m;
		uint8_t buf[PROTO_MSG_MAX];

		memset(&m, 0x5a, sizeof(m));
		ck_assert_int_eq(decode_raw(&v[i]), 0);
		ck_assert_int_eq(decode_exact(v[i].b, v[i].len, &m), 0);
		ck_assert_uint_eq(m.version, v[i].b[5]);
		ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), (long)v[i].len);
		ck_assert_mem_eq(buf, v[i].b, v[i].len);
	}
}
END_TEST

/* version 1 reads as one tap with one queue, and a version-0 struct writes version 1 */
START_TEST(v1_is_one_tap)
{
	struct proto_msg m = mk_link(PROTO_REQUEST, PROTO_F_VNET_HDR, "br0"), out;
	uint8_t buf[PROTO_MSG_MAX];
	long len;

	ck_assert_uint_eq(m.version, 0);
	len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(len, PROTO_HDR_LEN + 8);
	ck_assert_uint_eq(buf[5], PROTO_V1);
	ck_assert_int_eq(decode_exact(buf, (size_t)len, &out), 0);
	ck_assert_uint_eq(out.version, PROTO_V1);
	ck_assert_int_eq(out.link.kind, PROTO_KIND_TAP);
	ck_assert_uint_eq(out.link.queues, 1);
	ck_assert_uint_eq(proto_fds(&out), 0);
	/* and the decoded struct encodes as version 1 again */
	ck_assert_int_eq(proto_encode(&out, buf, sizeof(buf)), len);
	ck_assert_uint_eq(buf[5], PROTO_V1);

	m = mk_link(PROTO_GRANT, 0, "tap3");
	len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(decode_exact(buf, (size_t)len, &out), 0);
	ck_assert_uint_eq(out.link.nfds, 1);
	ck_assert_uint_eq(proto_fds(&out), 1);
	/* a version-1 GRANT has no ifindex: the encoder leaves it out */
	out.link.ifindex = 42;
	ck_assert_int_eq(proto_encode(&out, buf, sizeof(buf)), len);

	m = mk_refuse(EACCES, "no");
	len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(decode_exact(buf, (size_t)len, &out), 0);
	ck_assert_uint_eq(proto_fds(&out), 0);
}
END_TEST

/* what version 1 cannot say, its encoder refuses rather than drops */
START_TEST(v1_encode_rejects_v2_fields)
{
	struct proto_msg m;

	for (int t = PROTO_REQUEST; t <= PROTO_GRANT; t++) {
		m = mk_link(t, 0, "br0");
		m.link.queues = 2;
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		m = mk_link(t, 0, "br0");
		m.link.kind = PROTO_KIND_VETH;
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		m = mk_link(t, 0, "br0");
		strcpy(m.link.peer_name, "eth0");
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		m = mk_link(t, 0, "br0");
		m.link.peer_ifindex = 1;
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		m = mk_link(t, PROTO_F_MULTI_QUEUE, "br0");
		ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		for (unsigned v = 3; v < 8; v++) {
			m = mk_link(t, 0, "br0");
			m.version = v;
			ck_assert_int_eq(encode_heap(&m, PROTO_MSG_MAX), -EINVAL);
		}
	}
}
END_TEST

/* requests version 2 forbids: each must fail to decode, and to encode */
START_TEST(v2_request_rules)
{
	static const struct {
		uint8_t kind;
		uint32_t flags;
		uint16_t queues;
		const char *br, *peer;
	} bad[] = {
		{ 0, 0, 1, "br0", "" },
		{ 3, 0, 1, "br0", "" },
		{ 0xff, 0, 1, "br0", "" },
		{ PROTO_KIND_TAP, 0x2, 1, "br0", "" },
		{ PROTO_KIND_TAP, 0x80000000u, 1, "br0", "" },
		{ PROTO_KIND_TAP, 0xffffffffu, 1, "br0", "" },
		{ PROTO_KIND_TAP, 0, 0, "br0", "" },
		{ PROTO_KIND_TAP, 0, PROTO_QUEUES_MAX + 1, "br0", "" },
		{ PROTO_KIND_TAP, 0, 0xffff, "br0", "" },
		{ PROTO_KIND_TAP, 0, 1, "br0", "x" },
		{ PROTO_KIND_VETH, 0, 0, "br0", "" },
		{ PROTO_KIND_VETH, 0, 2, "br0", "eth0" },
		{ PROTO_KIND_VETH, PROTO_F_VNET_HDR, 1, "br0", "" },
		{ PROTO_KIND_VETH, 0x8, 1, "br0", "" },
		{ PROTO_KIND_VETH, PROTO_F_LXC_USERNET | PROTO_F_VNET_HDR, 1, "br0", "" },
		{ PROTO_KIND_TAP, PROTO_F_LXC_USERNET, 1, "br0", "" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct raw r;
		struct proto_msg m = mk_req2(bad[i].kind, bad[i].flags, bad[i].queues,
					     bad[i].br, bad[i].peer);

		raw_req2(&r, bad[i].kind, bad[i].flags, bad[i].queues, bad[i].br,
			 strlen(bad[i].br), bad[i].peer, strlen(bad[i].peer));
		ck_assert_msg(decode_raw(&r) == -EPROTO, "bad request %zu decoded", i);
		ck_assert_msg(encode_heap(&m, PROTO_MSG_MAX) == -EINVAL, "bad request %zu encoded", i);
	}
	/* the edges that are fine */
	{
		struct raw r;
		struct proto_msg m = mk_req2(PROTO_KIND_VETH, PROTO_F_LXC_USERNET, 1, "br0", "eth0");

		raw_req2(&r, PROTO_KIND_VETH, PROTO_F_LXC_USERNET, 1, "br0", 3, "eth0", 4);
		ck_assert_int_eq(decode_raw(&r), 0);
		ck_assert_int_gt(encode_heap(&m, PROTO_MSG_MAX), 0);
	}
	for (unsigned q = 1; q <= PROTO_QUEUES_MAX; q++) {
		struct raw r;

		raw_req2(&r, PROTO_KIND_TAP, 0, (uint16_t)q, "br0", 3, "", 0);
		ck_assert_int_eq(decode_raw(&r), 0);
	}
}
END_TEST

START_TEST(v2_grant_rules)
{
	static const struct {
		uint8_t kind;
		uint32_t flags;
		uint16_t nfds;
		uint32_t ifindex, peer_ifindex;
		const char *peer;
	} bad[] = {
		{ 0, 0, 1, 5, 0, "" },
		{ 3, 0, 1, 5, 0, "" },
		{ PROTO_KIND_TAP, 0, 1, 0, 0, "" },
		{ PROTO_KIND_TAP, 0, 0, 5, 0, "" },
		{ PROTO_KIND_TAP, PROTO_F_MULTI_QUEUE, PROTO_QUEUES_MAX + 1, 5, 0, "" },
		{ PROTO_KIND_TAP, 0, 2, 5, 0, "" },
		{ PROTO_KIND_TAP, PROTO_F_VNET_HDR, 4, 5, 0, "" },
		{ PROTO_KIND_TAP, 0x4, 1, 5, 0, "" },
		{ PROTO_KIND_TAP, 0x80000000u, 1, 5, 0, "" },
		{ PROTO_KIND_TAP, 0, 1, 5, 1, "" },
		{ PROTO_KIND_TAP, 0, 1, 5, 0, "x" },
		{ PROTO_KIND_VETH, 0, 1, 5, 2, "eth0" },
		{ PROTO_KIND_VETH, PROTO_F_VNET_HDR, 0, 5, 2, "eth0" },
		{ PROTO_KIND_VETH, PROTO_F_MULTI_QUEUE, 0, 5, 2, "eth0" },
		{ PROTO_KIND_VETH, 0, 0, 5, 0, "eth0" },
		{ PROTO_KIND_VETH, 0, 0, 5, 2, "" },
		{ PROTO_KIND_VETH, 0, 0, 0, 2, "eth0" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct raw r;
		struct proto_msg m = mk_grant2(bad[i].kind, bad[i].flags, bad[i].nfds,
					       bad[i].ifindex, "tap0", bad[i].peer_ifindex,
					       bad[i].peer);

		raw_grant2(&r, bad[i].kind, bad[i].flags, bad[i].nfds, bad[i].ifindex, "tap0", 4,
			   bad[i].peer_ifindex, bad[i].peer, strlen(bad[i].peer));
		ck_assert_msg(decode_raw(&r) == -EPROTO, "bad grant %zu decoded", i);
		ck_assert_msg(encode_heap(&m, PROTO_MSG_MAX) == -EINVAL, "bad grant %zu encoded", i);
	}
}
END_TEST

/* the inner lengths of version 2 against the body, with the header made to agree */
START_TEST(v2_inner_lengths)
{
	struct raw r;

	/* REQUEST: n reaching past the body, m reaching past it, m short of it */
	raw_req2(&r, PROTO_KIND_TAP, 0, 1, "br0", 3, "", 0);
	r.b[PROTO_HDR_LEN + 7] = 4;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 7] = 16;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 7] = 0;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_req2(&r, PROTO_KIND_VETH, 0, 1, "br0", 3, "eth0", 4);
	r.b[PROTO_HDR_LEN + 11] = 5;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 11] = 3;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 11] = 0xff;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	/* a NUL in either name */
	raw_req2(&r, PROTO_KIND_VETH, 0, 1, "b\0r", 3, "eth0", 4);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_req2(&r, PROTO_KIND_VETH, 0, 1, "br0", 3, "et\0h", 4);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	/* 16-byte names, the header agreeing: over 15 in either place */
	raw_req2(&r, PROTO_KIND_VETH, 0, 1, "abcdefghijklmnop", 16, "e", 1);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_req2(&r, PROTO_KIND_VETH, 0, 1, "b", 1, "abcdefghijklmnop", 16);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);

	/* GRANT: the same, around the peer ifindex */
	raw_grant2(&r, PROTO_KIND_TAP, 0, 1, 5, "tap0", 4, 0, "", 0);
	r.b[PROTO_HDR_LEN + 11] = 5;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 11] = 9;  /* the name eats the peer ifindex and m */
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 11] = 0;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_grant2(&r, PROTO_KIND_VETH, 0, 0, 5, "v0", 2, 2, "eth0", 4);
	r.b[PROTO_HDR_LEN + 18] = 5;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	r.b[PROTO_HDR_LEN + 18] = 3;
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_grant2(&r, PROTO_KIND_VETH, 0, 0, 5, "v\0", 2, 2, "eth0", 4);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
	raw_grant2(&r, PROTO_KIND_VETH, 0, 0, 5, "v0", 2, 2, "eth\0", 4);
	ck_assert_int_eq(decode_raw(&r), -EPROTO);
}
END_TEST

START_TEST(v2_hdr_bounds)
{
	static const struct bounds b2[] = {
		{ PROTO_REQUEST, 10, 39 },
		{ PROTO_GRANT, 18, 47 },
		{ PROTO_REFUSE, 7, 6 + PROTO_REASON_MAX },
	};

	for (size_t i = 0; i < 3; i++) {
		struct raw r;

		for (uint32_t blen = 0; blen <= b2[i].max + 8; blen++) {
			long want = blen < b2[i].min || blen > b2[i].max ? -EPROTO : (long)blen;

			raw_hdr(&r, PROTO_MAGIC, PROTO_V2, b2[i].type, blen);
			ck_assert_msg(hdr_exact(r.b, PROTO_HDR_LEN) == want,
				      "v2 type %u body length %u", b2[i].type, blen);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* wire.c: descriptors on a real socketpair */

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* sends m with n descriptors (dups of stdin's /dev/null-like pipe), receives with room max */
static int pass_fds(const struct proto_msg *m, size_t n, int *got, size_t max)
{
	int sv[2], p[2], fds[PROTO_QUEUES_MAX], r;
	struct proto_msg out;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_ge(fds[i] = dup(p[0]), 0);
	ck_assert_int_eq(wire_send(sv[1], m, fds, n), 0);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	close(p[0]);
	close(p[1]);
	close(sv[1]);
	r = wire_recv(sv[0], &out, got, max);
	close(sv[0]);
	return r;
}

START_TEST(wire_many_fds)
{
	struct proto_msg g = mk_grant2(PROTO_KIND_TAP, PROTO_F_MULTI_QUEUE, 4, 9, "tap0", 0, "");
	struct proto_msg g128 = mk_grant2(PROTO_KIND_TAP, PROTO_F_MULTI_QUEUE, PROTO_QUEUES_MAX,
					  9, "tap0", 0, "");
	struct proto_msg v1 = mk_link(PROTO_GRANT, 0, "tap0");
	struct proto_msg rq = mk_req2(PROTO_KIND_TAP, 0, 4, "br0", "");
	struct proto_msg veth = mk_req2(PROTO_KIND_VETH, 0, 1, "br0", "");
	int got[PROTO_QUEUES_MAX], before = open_fds();

	ck_assert_int_eq(pass_fds(&g, 4, got, PROTO_QUEUES_MAX), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(fcntl(got[i], F_GETFD), FD_CLOEXEC);
		close(got[i]);
	}
	ck_assert_int_eq(got[4], -1);
	ck_assert_int_eq(pass_fds(&g128, PROTO_QUEUES_MAX, got, PROTO_QUEUES_MAX),
			 PROTO_QUEUES_MAX);
	for (int i = 0; i < PROTO_QUEUES_MAX; i++)
		close(got[i]);
	ck_assert_int_eq(pass_fds(&v1, 1, got, 1), 1);
	close(got[0]);
	ck_assert_int_eq(pass_fds(&veth, 1, got, 1), 1);
	close(got[0]);
	ck_assert_int_eq(open_fds(), before);

	/* every mismatch is refused, and nothing that arrived stays open */
	ck_assert_int_eq(pass_fds(&g, 4, got, 2), -EBADMSG);       /* no room */
	ck_assert_int_eq(got[0], -1);
	ck_assert_int_eq(pass_fds(&g, 3, got, PROTO_QUEUES_MAX), -EBADMSG);  /* fewer */
	ck_assert_int_eq(pass_fds(&g, 5, got, PROTO_QUEUES_MAX), -EBADMSG);  /* more */
	ck_assert_int_eq(pass_fds(&g, 0, got, PROTO_QUEUES_MAX), -EBADMSG);
	ck_assert_int_eq(pass_fds(&v1, 2, got, 4), -EBADMSG);
	ck_assert_int_eq(pass_fds(&v1, 0, got, 4), -EBADMSG);
	ck_assert_int_eq(pass_fds(&rq, 1, NULL, 0), -EBADMSG);     /* a tap request has none */
	ck_assert_int_eq(pass_fds(&rq, 1, got, 1), -EBADMSG);
	ck_assert_int_eq(pass_fds(&veth, 0, got, 1), -EBADMSG);
	ck_assert_int_eq(pass_fds(&veth, 2, got, 2), -EBADMSG);
	ck_assert_int_eq(pass_fds(&rq, 0, NULL, 0), 0);
	ck_assert_int_eq(open_fds(), before);

	/* the sender refuses more than a message may carry */
	ck_assert_int_eq(wire_send(-1, &g, got, PROTO_QUEUES_MAX + 1), -EINVAL);
	ck_assert_int_eq(wire_send(-1, &g, NULL, 1), -EINVAL);
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
	tcase_add_test(tc, v2_known_bytes);
	tcase_add_test(tc, v2_roundtrip_all);
	tcase_add_test(tc, v1_is_one_tap);
	tcase_add_test(tc, v1_encode_rejects_v2_fields);
	tcase_add_test(tc, v2_request_rules);
	tcase_add_test(tc, v2_grant_rules);
	tcase_add_test(tc, v2_inner_lengths);
	tcase_add_test(tc, v2_hdr_bounds);
	tcase_add_test(tc, wire_many_fds);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(fz, setup, NULL);
	tcase_set_timeout(fz, 60); /* 100k iterations under ASan */
	tcase_add_test(fz, mutation_fuzz);
	suite_add_tcase(s, fz);
	return s;
}

ONTAP_CHECK_MAIN(proto_suite())

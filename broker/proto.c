/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>

#include "proto.h"

/* (min, max) body length per type; index is the type */
static const struct {
	uint32_t min, max;
} body_len[] = {
	[PROTO_REQUEST] = { 5 + 1, 5 + IFNAMSIZ - 1 },
	[PROTO_GRANT] = { 5 + 1, 5 + IFNAMSIZ - 1 },
	[PROTO_REFUSE] = { 6 + 1, 6 + PROTO_REASON_MAX },
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

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

long proto_decode_hdr(const uint8_t *buf, size_t len)
{
	uint16_t type;
	uint32_t blen;

	if (len != PROTO_HDR_LEN || get32(buf) != PROTO_MAGIC)
		return -EPROTO;
	if (get16(buf + 4) != PROTO_VERSION)
		return -EPROTONOSUPPORT;
	type = get16(buf + 6);
	if (type < PROTO_REQUEST || type > PROTO_REFUSE)
		return -EPROTO;
	blen = get32(buf + 8);
	if (blen < body_len[type].min || blen > body_len[type].max)
		return -EPROTO;
	return blen;
}

/* flags, then a 1-byte length and a name without NUL: REQUEST and GRANT */
static int decode_link(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	size_t n;

	msg->link.flags = get32(p);
	if (msg->link.flags & ~PROTO_F_VNET_HDR)
		return -EPROTO;
	n = p[4];
	if (n == 0 || n >= IFNAMSIZ || len != 5 + n || memchr(p + 5, '\0', n))
		return -EPROTO;
	memcpy(msg->link.name, p + 5, n);
	msg->link.name[n] = '\0';
	return 0;
}

static int decode_refuse(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	uint32_t err = get32(p);
	size_t n = get16(p + 4);

	if (err == 0 || err > 4095)
		return -EPROTO;
	if (n == 0 || n > PROTO_REASON_MAX || len != 6 + n ||
	    memchr(p + 6, '\0', n) || memchr(p + 6, '\n', n))
		return -EPROTO;
	msg->refuse.err = (int)err;
	memcpy(msg->refuse.reason, p + 6, n);
	msg->refuse.reason[n] = '\0';
	return 0;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg)
{
	long blen;

	if (len < PROTO_HDR_LEN)
		return -EPROTO;
	blen = proto_decode_hdr(buf, PROTO_HDR_LEN);
	if (blen < 0)
		return (int)blen;
	/* the header's length is the whole truth: nothing short, nothing trailing */
	if (len - PROTO_HDR_LEN != (size_t)blen)
		return -EPROTO;
	memset(msg, 0, sizeof(*msg));
	msg->type = get16(buf + 6);
	if (msg->type == PROTO_REFUSE)
		return decode_refuse(buf + PROTO_HDR_LEN, (size_t)blen, msg);
	return decode_link(buf + PROTO_HDR_LEN, (size_t)blen, msg);
}

static long encode_link(const struct proto_msg *msg, uint8_t *body)
{
	size_t n = strnlen(msg->link.name, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ || (msg->link.flags & ~PROTO_F_VNET_HDR))
		return -EINVAL;
	put32(body, msg->link.flags);
	body[4] = (uint8_t)n;
	memcpy(body + 5, msg->link.name, n);
	return (long)(5 + n);
}

static long encode_refuse(const struct proto_msg *msg, uint8_t *body)
{
	size_t n = strnlen(msg->refuse.reason, PROTO_REASON_MAX + 1);

	if (msg->refuse.err <= 0 || msg->refuse.err > 4095 || n == 0 ||
	    n > PROTO_REASON_MAX || memchr(msg->refuse.reason, '\n', n))
		return -EINVAL;
	put32(body, (uint32_t)msg->refuse.err);
	put16(body + 4, (uint16_t)n);
	memcpy(body + 6, msg->refuse.reason, n);
	return (long)(6 + n);
}

long proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap)
{
	long blen;

	if (cap < PROTO_MSG_MAX)
		return -ENOBUFS;
	switch (msg->type) {
	case PROTO_REQUEST:
	case PROTO_GRANT:
		blen = encode_link(msg, buf + PROTO_HDR_LEN);
		break;
	case PROTO_REFUSE:
		blen = encode_refuse(msg, buf + PROTO_HDR_LEN);
		break;
	default:
		return -EINVAL;
	}
	if (blen < 0)
		return blen;
	put32(buf, PROTO_MAGIC);
	put16(buf + 4, PROTO_VERSION);
	put16(buf + 6, (uint16_t)msg->type);
	put32(buf + 8, (uint32_t)blen);
	return PROTO_HDR_LEN + blen;
}

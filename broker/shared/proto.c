/* SPDX-License-Identifier: ISC */
/* Pure: the wire codec, shared by the broker (its workers decode) and every client. */
#include <errno.h>
#include <string.h>

#include "proto.h"

/* (min, max) body length per version and type */
static const struct {
	uint32_t min, max;
} body_len[3][4] = {
	[PROTO_V1] = {
		[PROTO_REQUEST] = { 5 + 1, 5 + IFNAMSIZ - 1 },
		[PROTO_GRANT] = { 5 + 1, 5 + IFNAMSIZ - 1 },
		[PROTO_REFUSE] = { 6 + 1, 6 + PROTO_REASON_MAX },
	},
	[PROTO_V2] = {
		[PROTO_REQUEST] = { 9 + 1, 9 + 2 * (IFNAMSIZ - 1) },
		[PROTO_GRANT] = { 17 + 1, 17 + 2 * (IFNAMSIZ - 1) },
		[PROTO_REFUSE] = { 6 + 1, 6 + PROTO_REASON_MAX },
	},
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
	uint16_t version, type;
	uint32_t blen;

	if (len != PROTO_HDR_LEN || get32(buf) != PROTO_MAGIC)
		return -EPROTO;
	version = get16(buf + 4);
	if (version != PROTO_V1 && version != PROTO_V2)
		return -EPROTONOSUPPORT;
	type = get16(buf + 6);
	if (type < PROTO_REQUEST || type > PROTO_REFUSE)
		return -EPROTO;
	blen = get32(buf + 8);
	if (blen < body_len[version][type].min || blen > body_len[version][type].max)
		return -EPROTO;
	return blen;
}

/* a 1-byte length at p[0], then that many name bytes, no NUL, within end */
static int get_name(const uint8_t *p, const uint8_t *end, size_t lo, char out[IFNAMSIZ])
{
	size_t n;

	if (p >= end)
		return -EPROTO;
	n = p[0];
	if (n < lo || n >= IFNAMSIZ || (size_t)(end - p - 1) < n || memchr(p + 1, '\0', n))
		return -EPROTO;
	memcpy(out, p + 1, n);
	out[n] = '\0';
	return (int)n;
}

/* version 1: flags, then a 1-byte length and a name, REQUEST and GRANT alike */
static int decode_link_v1(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	int n;

	msg->link.flags = get32(p);
	if (msg->link.flags & ~PROTO_F_VNET_HDR)
		return -EPROTO;
	n = get_name(p + 4, p + len, 1, msg->link.name);
	if (n < 0 || len != 5 + (size_t)n)
		return -EPROTO;
	msg->link.kind = PROTO_KIND_TAP;
	msg->link.queues = 1;   /* a GRANT: nfds, one tap fd */
	return 0;
}

/* what a version-2 REQUEST may say, kind by kind */
static int check_request_v2(const struct proto_msg *msg)
{
	const typeof(msg->link) *l = &msg->link;

	if (l->flags & ~(PROTO_F_VNET_HDR | PROTO_F_LXC_USERNET))
		return -EPROTO;
	if (l->kind == PROTO_KIND_TAP)
		return l->queues >= 1 && l->queues <= PROTO_QUEUES_MAX && !l->peer_name[0] &&
		       !(l->flags & PROTO_F_LXC_USERNET) ? 0 : -EPROTO;
	if (l->kind == PROTO_KIND_VETH)
		return l->queues == 1 && !(l->flags & PROTO_F_VNET_HDR) ? 0 : -EPROTO;
	return -EPROTO;
}

static int check_grant_v2(const struct proto_msg *msg)
{
	const typeof(msg->link) *l = &msg->link;

	if ((l->flags & ~(PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE)) || l->ifindex == 0)
		return -EPROTO;
	if (l->kind == PROTO_KIND_TAP)
		/* more than one queue exists only on a multiqueue tap */
		return l->nfds >= 1 && l->nfds <= PROTO_QUEUES_MAX &&
		       (l->nfds == 1 || (l->flags & PROTO_F_MULTI_QUEUE)) &&
		       l->peer_ifindex == 0 && !l->peer_name[0] ? 0 : -EPROTO;
	if (l->kind == PROTO_KIND_VETH)
		return l->nfds == 0 && l->flags == 0 && l->peer_ifindex > 0 && l->peer_name[0] ?
			0 : -EPROTO;
	return -EPROTO;
}

static int decode_request_v2(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	const uint8_t *end = p + len;
	int n, m;

	/* the header bounds len to 10..39: the fixed fields are there */
	msg->link.kind = p[0];
	msg->link.flags = get32(p + 1);
	msg->link.queues = get16(p + 5);
	n = get_name(p + 7, end, 1, msg->link.name);
	if (n < 0)
		return -EPROTO;
	m = get_name(p + 8 + n, end, 0, msg->link.peer_name);
	if (m < 0 || len != 9 + (size_t)n + (size_t)m)
		return -EPROTO;
	return check_request_v2(msg);
}

static int decode_grant_v2(const uint8_t *p, size_t len, struct proto_msg *msg)
{
	const uint8_t *end = p + len;
	int n, m;

	/* the header bounds len to 18..47: the fixed fields up to n are there */
	msg->link.kind = p[0];
	msg->link.flags = get32(p + 1);
	msg->link.nfds = get16(p + 5);
	msg->link.ifindex = get32(p + 7);
	n = get_name(p + 11, end, 1, msg->link.name);
	/* peer ifindex (4) and m (1) must both fit before the end */
	if (n < 0 || len < 17 + (size_t)n)
		return -EPROTO;
	msg->link.peer_ifindex = get32(p + 12 + n);
	m = get_name(p + 16 + n, end, 0, msg->link.peer_name);
	if (m < 0 || len != 17 + (size_t)n + (size_t)m)
		return -EPROTO;
	return check_grant_v2(msg);
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
	const uint8_t *body = buf + PROTO_HDR_LEN;
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
	msg->version = get16(buf + 4);
	msg->type = get16(buf + 6);
	if (msg->type == PROTO_REFUSE)
		return decode_refuse(body, (size_t)blen, msg);
	if (msg->version == PROTO_V1)
		return decode_link_v1(body, (size_t)blen, msg);
	if (msg->type == PROTO_REQUEST)
		return decode_request_v2(body, (size_t)blen, msg);
	return decode_grant_v2(body, (size_t)blen, msg);
}

/* a name for the wire: its length, or -EINVAL outside lo..15 */
static long name_len(const char name[IFNAMSIZ], size_t lo)
{
	size_t n = strnlen(name, IFNAMSIZ);

	return n < lo || n >= IFNAMSIZ ? -EINVAL : (long)n;
}

/* version 1 has no kind, queues, ifindex or peer: only what it can say */
static long encode_link_v1(const struct proto_msg *msg, uint8_t *body)
{
	const typeof(msg->link) *l = &msg->link;
	long n = name_len(l->name, 1);

	if (n < 0 || (l->flags & ~PROTO_F_VNET_HDR) ||
	    (l->kind != 0 && l->kind != PROTO_KIND_TAP) || l->queues > 1 ||
	    l->peer_ifindex != 0 || l->peer_name[0])
		return -EINVAL;
	put32(body, l->flags);
	body[4] = (uint8_t)n;
	memcpy(body + 5, l->name, (size_t)n);
	return 5 + n;
}

static long encode_request_v2(const struct proto_msg *msg, uint8_t *body)
{
	const typeof(msg->link) *l = &msg->link;
	long n = name_len(l->name, 1), m = name_len(l->peer_name, 0);

	if (n < 0 || m < 0 || check_request_v2(msg) < 0)
		return -EINVAL;
	body[0] = (uint8_t)l->kind;
	put32(body + 1, l->flags);
	put16(body + 5, l->queues);
	body[7] = (uint8_t)n;
	memcpy(body + 8, l->name, (size_t)n);
	body[8 + n] = (uint8_t)m;
	memcpy(body + 9 + n, l->peer_name, (size_t)m);
	return 9 + n + m;
}

static long encode_grant_v2(const struct proto_msg *msg, uint8_t *body)
{
	const typeof(msg->link) *l = &msg->link;
	long n = name_len(l->name, 1), m = name_len(l->peer_name, 0);

	if (n < 0 || m < 0 || check_grant_v2(msg) < 0)
		return -EINVAL;
	body[0] = (uint8_t)l->kind;
	put32(body + 1, l->flags);
	put16(body + 5, l->nfds);
	put32(body + 7, l->ifindex);
	body[11] = (uint8_t)n;
	memcpy(body + 12, l->name, (size_t)n);
	put32(body + 12 + n, l->peer_ifindex);
	body[16 + n] = (uint8_t)m;
	memcpy(body + 17 + n, l->peer_name, (size_t)m);
	return 17 + n + m;
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
	unsigned version = msg->version ? msg->version : PROTO_V1;
	uint8_t *body = buf + PROTO_HDR_LEN;
	long blen;

	if (cap < PROTO_MSG_MAX)
		return -ENOBUFS;
	if (version != PROTO_V1 && version != PROTO_V2)
		return -EINVAL;
	switch (msg->type) {
	case PROTO_REQUEST:
		blen = version == PROTO_V1 ? encode_link_v1(msg, body) : encode_request_v2(msg, body);
		break;
	case PROTO_GRANT:
		blen = version == PROTO_V1 ? encode_link_v1(msg, body) : encode_grant_v2(msg, body);
		break;
	case PROTO_REFUSE:
		blen = encode_refuse(msg, body);
		break;
	default:
		return -EINVAL;
	}
	if (blen < 0)
		return blen;
	put32(buf, PROTO_MAGIC);
	put16(buf + 4, (uint16_t)version);
	put16(buf + 6, (uint16_t)msg->type);
	put32(buf + 8, (uint32_t)blen);
	return PROTO_HDR_LEN + blen;
}

unsigned proto_fds(const struct proto_msg *msg)
{
	if (msg->type == PROTO_GRANT)
		return msg->version == PROTO_V2 ? msg->link.nfds : 1;
	if (msg->type == PROTO_REQUEST && msg->version == PROTO_V2)
		return msg->link.kind == PROTO_KIND_VETH ? 1 : 0;
	return 0;
}

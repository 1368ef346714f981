/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the wire codec (proto.c, versions 1 and 2) as both ends
 * use it, plus what
 * the broker does next with a decoded request (ifname.c, escape()).
 *
 * Properties checked on every input, beyond "no sanitizer report":
 *  - proto_decode_hdr() and proto_decode() agree on the header;
 *  - a message that decodes re-encodes to exactly the same bytes (the
 *    encoding is canonical, so nothing is lost or invented on the way);
 *  - the decoder's result does not depend on what was in msg before;
 *  - the input read as a struct proto_msg either fails to encode or
 *    encodes to something that decodes back to the same message;
 *  - ifname_valid() agrees with a transcription of the kernel's rule;
 *  - escape() never overflows and leaves only printable, unquoted ASCII
 *    (fuzz_escape.c checks the rule itself).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "ifname.h"
#include "proto.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* dev_valid_name() in net/core/dev.c, with the kernel's isspace() */
static bool model_ifname(const char *s, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') ||
		    c == 0xa0)
			return false;
	}
	return true;
}

static void check_clean(const uint8_t *in, size_t len, size_t cap)
{
	/* canaries on both sides catch a write past cap that ASan might not */
	char out[4 * 64 + 16];
	const char *s;

	if (cap > sizeof(out) - 8)
		cap = sizeof(out) - 8;
	memset(out, 0x5a, sizeof(out));
	escape(out + 4, cap, (const char *)in, len);
	s = out + 4;
	for (size_t i = 0; i < 4; i++)
		CHECK(out[i] == 0x5a);
	for (size_t i = 4 + cap; i < sizeof(out); i++)
		CHECK(out[i] == 0x5a);
	if (cap == 0)
		return;
	CHECK(strnlen(s, cap) < cap);
	for (const char *p = s; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f && *p != '"');
}

static void check_decoded(const uint8_t *data, size_t size, const struct proto_msg *m)
{
	uint8_t again[PROTO_MSG_MAX];
	long n = proto_encode(m, again, sizeof(again));

	CHECK(n == (long)size);
	CHECK(memcmp(again, data, size) == 0);
	CHECK(m->version == PROTO_V1 || m->version == PROTO_V2);
	CHECK(m->version == data[5]);
	switch (m->type) {
	case PROTO_REQUEST:
	case PROTO_GRANT: {
		size_t len = strnlen(m->link.name, IFNAMSIZ);
		size_t plen = strnlen(m->link.peer_name, IFNAMSIZ);

		CHECK(len > 0 && len < IFNAMSIZ);
		CHECK(plen < IFNAMSIZ);
		CHECK(ifname_valid(m->link.name, len) == model_ifname(m->link.name, len));
		CHECK(ifname_valid(m->link.peer_name, plen) == model_ifname(m->link.peer_name, plen));
		check_clean((const uint8_t *)m->link.name, len, 4 * IFNAMSIZ + 1);
		check_clean((const uint8_t *)m->link.peer_name, plen, 4 * IFNAMSIZ + 1);
		CHECK(m->link.kind == PROTO_KIND_TAP || m->link.kind == PROTO_KIND_VETH);
		CHECK(proto_fds(m) <= PROTO_QUEUES_MAX);
		if (m->type == PROTO_REQUEST) {
			/* a veth asks for lxc-usernet's decision, never a vnet header */
			CHECK((m->link.flags & ~(m->link.kind == PROTO_KIND_VETH ? PROTO_F_LXC_USERNET :
						 PROTO_F_VNET_HDR)) == 0);
			CHECK(m->link.queues >= 1 && m->link.queues <= PROTO_QUEUES_MAX);
			CHECK(proto_fds(m) == (m->link.kind == PROTO_KIND_VETH));
		} else {
			CHECK((m->link.flags & ~(PROTO_F_VNET_HDR | PROTO_F_MULTI_QUEUE)) == 0);
			CHECK(proto_fds(m) == m->link.nfds);
			CHECK(m->link.kind == PROTO_KIND_VETH ? m->link.nfds == 0 : m->link.nfds >= 1);
			if (m->version == PROTO_V2)
				CHECK(m->link.ifindex > 0);
		}
		if (m->version == PROTO_V1)
			CHECK(m->link.kind == PROTO_KIND_TAP && m->link.queues == 1 && plen == 0);
		break;
	}
	case PROTO_REFUSE:
		CHECK(m->refuse.err > 0 && m->refuse.err <= 4095);
		CHECK(strlen(m->refuse.reason) > 0 && strlen(m->refuse.reason) <= PROTO_REASON_MAX);
		CHECK(!strchr(m->refuse.reason, '\n'));
		break;
	default:
		abort();
	}
}

/* the input read as a message to send: encode must refuse it or round-trip */
static void check_encode(const uint8_t *data, size_t size)
{
	struct proto_msg m, back;
	uint8_t buf[PROTO_MSG_MAX];
	long n;

	memset(&m, 0, sizeof(m));
	if (size < 5)
		return;
	m.type = (enum proto_type)(data[0] % 5);
	m.version = (data[0] >> 3) % 4;     /* 0 (taken as 1), 1, 2, and 3 (refused) */
	data++;
	size--;
	if (m.type == PROTO_REFUSE) {
		m.refuse.err = (int)((uint32_t)data[0] << 8 | data[1]) - 16;
		memcpy(m.refuse.reason, data + 2,
		       size - 2 < sizeof(m.refuse.reason) ? size - 2 : sizeof(m.refuse.reason));
	} else if (size < 12) {
		m.link.flags = data[0] & 0x3;
		memcpy(m.link.name, data + 1, size - 1 < IFNAMSIZ ? size - 1 : IFNAMSIZ);
	} else {
		/* kind, flags, queues/nfds, ifindexes and two names, most of them small */
		m.link.flags = data[0] & 0x7;
		m.link.kind = (enum proto_kind)(data[1] % 4);
		m.link.queues = (uint16_t)(data[2] & 0x80 ? data[2] << 1 : data[2] % 6);
		m.link.ifindex = data[3] % 3;
		m.link.peer_ifindex = data[4] % 3;
		data += 5;
		size -= 5;
		memcpy(m.link.name, data + 1, data[0] % 17 < size - 1 ? data[0] % 17 : size - 1);
		if (data[0] % 17 < size - 1) {
			size_t at = 1 + data[0] % 17;

			memcpy(m.link.peer_name, data + at,
			       size - at < IFNAMSIZ ? size - at : IFNAMSIZ);
		}
	}
	n = proto_encode(&m, buf, sizeof(buf));
	CHECK(proto_encode(&m, buf, PROTO_MSG_MAX - 1) == -ENOBUFS);
	if (n < 0) {
		CHECK(n == -EINVAL);
		return;
	}
	CHECK(n >= PROTO_HDR_LEN + 6 && n <= PROTO_MSG_MAX);
	CHECK(proto_decode_hdr(buf, PROTO_HDR_LEN) == n - PROTO_HDR_LEN);
	CHECK(proto_decode(buf, (size_t)n, &back) == 0);
	CHECK(back.type == m.type);
	CHECK(back.version == (m.version ? m.version : PROTO_V1));
	if (m.type == PROTO_REFUSE) {
		CHECK(back.refuse.err == m.refuse.err);
		CHECK(strcmp(back.refuse.reason, m.refuse.reason) == 0);
	} else {
		CHECK(back.link.flags == m.link.flags);
		CHECK(strncmp(back.link.name, m.link.name, IFNAMSIZ) == 0);
		CHECK(strncmp(back.link.peer_name, m.link.peer_name, IFNAMSIZ) == 0);
		CHECK(back.link.kind == (m.link.kind ? m.link.kind : PROTO_KIND_TAP));
		/* version 1 has no queues field: one tap, one queue (GRANT: one fd) */
		CHECK(back.link.queues == (back.version == PROTO_V1 ? 1 : m.link.queues));
		/* only a version-2 GRANT carries ifindexes */
		if (back.version == PROTO_V2 && back.type == PROTO_GRANT) {
			CHECK(back.link.ifindex == m.link.ifindex);
			CHECK(back.link.peer_ifindex == m.link.peer_ifindex);
		} else {
			CHECK(back.link.ifindex == 0 && back.link.peer_ifindex == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg a, b;
	long hdr;
	int ra, rb;

	/* the decoders take (buf, len): give them an exact-size heap copy */
	uint8_t *buf = malloc(size ? size : 1);

	CHECK(buf);
	memcpy(buf, data, size);

	hdr = proto_decode_hdr(buf, size);
	if (size != PROTO_HDR_LEN)
		CHECK(hdr == -EPROTO);
	else
		CHECK(hdr == -EPROTO || hdr == -EPROTONOSUPPORT || (hdr >= 6 && hdr <= PROTO_BODY_MAX));

	memset(&a, 0x00, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	ra = proto_decode(buf, size, &a);
	rb = proto_decode(buf, size, &b);
	CHECK(ra == rb);
	CHECK(ra == 0 || ra == -EPROTO || ra == -EPROTONOSUPPORT);
	if (size >= PROTO_HDR_LEN) {
		long h = proto_decode_hdr(buf, PROTO_HDR_LEN);

		if (h < 0)
			CHECK(ra == h);
		else if ((size_t)h != size - PROTO_HDR_LEN)
			CHECK(ra == -EPROTO);
	} else {
		CHECK(ra == -EPROTO);
	}
	if (ra == 0) {
		CHECK(a.type == b.type);
		check_decoded(buf, size, &a);
		check_decoded(buf, size, &b);
	}

	check_encode(buf, size);
	check_clean(buf, size, size % 64);
	free(buf);
	return 0;
}

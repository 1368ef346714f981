/* SPDX-License-Identifier: ISC */
/*
 * The wire protocol between the clients (ontap-helper, ontap-tap) and
 * ontap-broker.  Shared by every program (broker/shared/ is the code on both
 * sides of the trust boundary); pure codec, no I/O (see wire.h for the
 * socket side).  ontap-protocol(7) is the user-facing description.
 *
 * Every message is a 12-byte header followed by a body, all integers
 * big-endian, so a client and a broker upgraded separately still agree:
 *
 *   offset size  field
 *   0      4     magic   0x4f4e5450 ("ONTP")
 *   4      2     version 1 or 2
 *   6      2     type    1 REQUEST, 2 GRANT, 3 REFUSE
 *   8      4     length  of the body in bytes (exact; nothing may follow)
 *
 * Version 1 (what qemu-bridge-helper's replacement speaks):
 * REQUEST  client -> broker, no fd
 *   0      4     flags   bit 0: the client wants IFF_VNET_HDR; others must be 0
 *   4      1     n       length of the bridge name, 1..15
 *   5      n     bridge  name bytes, no NUL
 * GRANT    broker -> client, one SCM_RIGHTS fd (the tap) on its first byte
 *   0      4     flags   bit 0: IFF_VNET_HDR is set on the tap; others 0
 *   4      1     n       length of the tap name, 1..15
 *   5      n     tap     name bytes, no NUL
 *
 * Version 2:
 * REQUEST  client -> broker
 *   0      1     kind    1 tap, 2 veth
 *   1      4     flags   bit 0: VNET_HDR wanted (tap only); others must be 0
 *   5      2     queues  tap: 1..PROTO_QUEUES_MAX (2+ is IFF_MULTI_QUEUE); veth: 1
 *   7      1     n       length of the bridge name, 1..15
 *   8      n     bridge  no NUL
 *   8+n    1     m       veth: name wanted in the target netns, 0..15 (0: the
 *                        broker's default); tap: 0
 *   9+n    m     peer    no NUL
 *   descriptors: tap none; veth exactly one, the target network namespace
 * GRANT    broker -> client
 *   0      1     kind    as requested
 *   1      4     flags   bit 0 VNET_HDR set, bit 1 MULTI_QUEUE set; others 0
 *   5      2     nfds    descriptors on this message: tap its queues (>= 1), veth 0
 *   7      4     ifindex host side: the tap or the veth's host end, > 0
 *   11     1     n       host-side name, 1..15
 *   12     n     name
 *   12+n   4     peer ifindex  veth: inside the target netns, > 0; tap: 0
 *   16+n   1     m       veth: 1..15; tap: 0
 *   17+n   m     peer name
 *   descriptors: exactly nfds, in one cmsg on the first byte
 *
 * REFUSE   broker -> client, no fd; the same body in both versions
 *   0      4     errno   Linux errno value, 1..4095
 *   4      2     n       length of the reason, 1..PROTO_REASON_MAX
 *   6      n     reason  one line of text for the user, no NUL, no newline
 *
 * One request per connection: the client sends REQUEST and the broker
 * answers with exactly one GRANT or REFUSE in the request's version, then
 * closes.  A refusal sent before the request could be read (overload, an
 * unreadable header) is version 1; clients accept a REFUSE of either
 * version.  A version-1 broker answers a version-2 request with a version-1
 * REFUSE, errno EPROTONOSUPPORT.  Identity never travels in a message; the
 * broker takes it from the socket (SO_PEERCRED).
 */
#ifndef ONTAP_PROTO_H
#define ONTAP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#define PROTO_MAGIC      0x4f4e5450u
#define PROTO_V1         1
#define PROTO_V2         2
/* the version-1 layout, the only one before version 2 (ontap-load's raw requests) */
#define PROTO_VERSION    PROTO_V1
#define PROTO_HDR_LEN    12
#define PROTO_REASON_MAX 1024
#define PROTO_BODY_MAX   (6 + PROTO_REASON_MAX)
#define PROTO_MSG_MAX    (PROTO_HDR_LEN + PROTO_BODY_MAX)

/*
 * Queues per tap: the kernel allows 256 (MAX_TAP_QUEUES) and one message
 * carries at most 253 descriptors (SCM_MAX_FD); 128 is the largest power
 * of two under both.
 */
#define PROTO_QUEUES_MAX 128

#define PROTO_F_VNET_HDR    0x1u
#define PROTO_F_MULTI_QUEUE 0x2u   /* GRANT, version 2 only */
/*
 * REQUEST, version 2, veth only: decide by lxc-usernet (read by the broker,
 * as the requester) instead of bridge.conf, and charge the veth to the line
 * that allowed it -- what ontap-lxc-user-nic asks for (ontap-protocol(7)).
 */
#define PROTO_F_LXC_USERNET 0x4u

enum proto_type {
	PROTO_REQUEST = 1,
	PROTO_GRANT = 2,
	PROTO_REFUSE = 3,
};

enum proto_kind {
	PROTO_KIND_TAP = 1,
	PROTO_KIND_VETH = 2,
};

struct proto_msg {
	/*
	 * Set by the decoder, read by the encoder.  0 encodes as 1, so code
	 * written before version 2 (`{ .type = PROTO_REQUEST }') keeps speaking 1.
	 */
	unsigned version;
	enum proto_type type;
	union {
		/*
		 * REQUEST and GRANT.  A version-1 message decodes as kind tap,
		 * one queue (GRANT: nfds 1), ifindex 0, no peer.
		 */
		struct {
			uint32_t flags;
			char name[IFNAMSIZ]; /* bridge (REQUEST) or host-side interface (GRANT) */
			enum proto_kind kind;
			union {
				uint16_t queues; /* REQUEST */
				uint16_t nfds;   /* GRANT */
			};
			uint32_t ifindex;       /* GRANT, version 2 */
			uint32_t peer_ifindex;  /* GRANT, veth */
			char peer_name[IFNAMSIZ]; /* veth: inside the target netns; "" for none */
		} link;
		struct {
			int err;
			char reason[PROTO_REASON_MAX + 1];
		} refuse;
	};
};

/*
 * Checks a header (exactly PROTO_HDR_LEN bytes) and returns the body length
 * it announces, or -EPROTO (bad magic, unknown type, body length out of
 * range for the type and version) or -EPROTONOSUPPORT (other version).
 */
long proto_decode_hdr(const uint8_t *buf, size_t len);

/* Decodes one whole message (header and body, exactly len bytes): 0 or -errno. */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg);

/* Encodes msg into buf (room for PROTO_MSG_MAX); returns its length or -errno. */
long proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap);

/*
 * How many descriptors a decoded msg must carry: a GRANT its nfds (1 in
 * version 1), a veth REQUEST 1, anything else 0.
 */
unsigned proto_fds(const struct proto_msg *msg);

#endif

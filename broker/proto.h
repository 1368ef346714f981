/* SPDX-License-Identifier: ISC */
/*
 * The wire protocol between a client (ontap-helper) and ontap-broker.
 * Shared by both programs; pure codec, no I/O (see wire.h for the socket side).
 *
 * Every message is a 12-byte header followed by a body, all integers
 * big-endian, so a helper and a broker upgraded separately still agree:
 *
 *   offset size  field
 *   0      4     magic   0x4f4e5450 ("ONTP")
 *   4      2     version 1
 *   6      2     type    1 REQUEST, 2 GRANT, 3 REFUSE
 *   8      4     length  of the body in bytes (exact; nothing may follow)
 *
 * REQUEST  client -> broker
 *   0      4     flags   bit 0: the client wants IFF_VNET_HDR; others must be 0
 *   4      1     n       length of the bridge name, 1..15
 *   5      n     bridge  name bytes, no NUL
 * GRANT    broker -> client, one SCM_RIGHTS fd (the tap) on its first byte
 *   0      4     flags   bit 0: IFF_VNET_HDR is set on the tap; others 0
 *   4      1     n       length of the tap name, 1..15
 *   5      n     tap     name bytes, no NUL
 * REFUSE   broker -> client, no fd
 *   0      4     errno   Linux errno value, > 0
 *   4      2     n       length of the reason, 1..PROTO_REASON_MAX
 *   6      n     reason  one line of text for the user, no NUL, no newline
 *
 * One request per connection: the client sends REQUEST and the broker
 * answers with exactly one GRANT or REFUSE, then closes.  Identity never
 * travels in a message; the broker takes it from the socket (SO_PEERCRED).
 */
#ifndef ONTAP_PROTO_H
#define ONTAP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#define PROTO_MAGIC      0x4f4e5450u
#define PROTO_VERSION    1
#define PROTO_HDR_LEN    12
#define PROTO_REASON_MAX 1024
#define PROTO_BODY_MAX   (6 + PROTO_REASON_MAX)
#define PROTO_MSG_MAX    (PROTO_HDR_LEN + PROTO_BODY_MAX)

#define PROTO_F_VNET_HDR 0x1u

enum proto_type {
	PROTO_REQUEST = 1,
	PROTO_GRANT = 2,
	PROTO_REFUSE = 3,
};

struct proto_msg {
	enum proto_type type;
	union {
		struct {
			uint32_t flags;
			char name[IFNAMSIZ]; /* bridge (REQUEST) or tap (GRANT) */
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
 * range for the type) or -EPROTONOSUPPORT (other version).
 */
long proto_decode_hdr(const uint8_t *buf, size_t len);

/* Decodes one whole message (header and body, exactly len bytes): 0 or -errno. */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg);

/* Encodes msg into buf (room for PROTO_MSG_MAX); returns its length or -errno. */
long proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap);

#endif

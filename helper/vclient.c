/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vclient.h"
#include "wire.h"

/* the broker answers within its own deadline; this only bounds a wedged one */
#define REPLY_TIMEOUT_S 60

static const char *socket_path(void)
{
	const char *path = getenv("ONTAP_SOCKET");

	return path && *path ? path : ONTAP_SOCKET_PATH;
}

static int connect_broker(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int s, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "broker socket path `%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-r));
		return r;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot reach ontap-broker at `%s': %s (is ontap-broker running?)",
			 path, strerror(-r));
		close(s);
		return r;
	}
	return s;
}

static int answer(const struct proto_msg *msg, const char *path, struct vclient_veth *out,
		  char *err, size_t errlen)
{
	if (msg->type == PROTO_REFUSE) {
		if (msg->version == PROTO_V1 && msg->refuse.err == EPROTONOSUPPORT)
			snprintf(err, errlen, "ontap-broker at `%s' is too old: it speaks protocol "
				 "version 1 only (this client needs version 2)", path);
		else
			snprintf(err, errlen, "%s", msg->refuse.reason);
		return -msg->refuse.err;
	}
	if (msg->type != PROTO_GRANT || msg->version != PROTO_V2 ||
	    msg->link.kind != PROTO_KIND_VETH) {
		snprintf(err, errlen, "bad answer from ontap-broker: not a veth grant");
		return -EPROTO;
	}
	out->ifindex = msg->link.ifindex;
	out->peer_ifindex = msg->link.peer_ifindex;
	memcpy(out->name, msg->link.name, IFNAMSIZ);
	memcpy(out->peer_name, msg->link.peer_name, IFNAMSIZ);
	return 0;
}

int vclient_veth(const char *bridge, const char *peer, int netns_fd, uint32_t flags,
		 struct vclient_veth *out, char *err, size_t errlen)
{
	struct proto_msg msg = { .version = PROTO_V2, .type = PROTO_REQUEST };
	const char *path = socket_path();
	int s, r, sent;

	msg.link.kind = PROTO_KIND_VETH;
	msg.link.flags = flags;
	msg.link.queues = 1;
	snprintf(msg.link.name, sizeof(msg.link.name), "%s", bridge);
	snprintf(msg.link.peer_name, sizeof(msg.link.peer_name), "%s", peer);
	s = connect_broker(path, err, errlen);
	if (s < 0)
		return s;
	sent = wire_send(s, &msg, &netns_fd, 1);
	/* the broker may have refused and closed before reading: its answer is queued */
	if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET) {
		snprintf(err, errlen, "cannot send the request to ontap-broker: %s", strerror(-sent));
		close(s);
		return sent;
	}
	/* a grant carries no descriptor; a stray one is closed and refused */
	r = wire_recv(s, &msg, NULL, 0);
	close(s);
	if (r == -EAGAIN)
		snprintf(err, errlen, "ontap-broker did not answer within %d s", REPLY_TIMEOUT_S);
	else if (r == -ECONNRESET)
		snprintf(err, errlen, "ontap-broker closed the connection without answering "
			 "(its log says why)");
	else if (r < 0)
		snprintf(err, errlen, "bad answer from ontap-broker: %s", strerror(-r));
	return r < 0 ? r : answer(&msg, path, out, err, errlen);
}

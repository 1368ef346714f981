/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_SERVE_H
#define ONTAP_SERVE_H

#include "acl.h"

struct broker_conf {
	const char *socket_path;
	const char *acl_path;
	enum acl_semantics semantics;
	unsigned deadline_s;    /* a whole request, from accept to reply */
};

/*
 * Serves the one request on a connected socket, replies, logs one line.
 * Runs in a process of its own (a worker), so that nothing a client does
 * can reach the listener; returns when done, never exits.
 */
void serve(int sock, const struct broker_conf *conf);

#endif

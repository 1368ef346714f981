/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_SERVE_H
#define ONTAP_SERVE_H

#include "conf.h"

/*
 * Serves the one request on a connected socket, replies, writes its audit
 * record.  Runs in a process of its own (a worker, or the whole broker in
 * --inetd mode), so that nothing a client does can reach the listener;
 * returns when done, never exits.
 */
/* done >= 0: the worker writes its pid there once it has answered. */
void serve(int sock, const struct broker_conf *conf, int done);

#endif

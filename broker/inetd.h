/* SPDX-License-Identifier: ISC */
/*
 * --inetd: one connection on standard input (s6-ipcserver, ucspi-unix
 * unixserver, systemd Accept=yes, a parent's socketpair).  The instance is
 * the request's privileged parent: it identifies the caller, forks one
 * worker that becomes the caller (worker.c), and, keeping only
 * CAP_NET_ADMIN and CAP_KILL from then on, bounds that worker with the
 * deadline and SIGKILL, makes the tap itself (maker.c) and records and
 * answers the request (answer.c).  So the requester can stop or rlimit its
 * worker but never the process that holds the quota lock or writes the
 * audit record.
 */
#ifndef ONTAP_INETD_H
#define ONTAP_INETD_H

#include "conf.h"

/* Serves the request on conn; returns when it is answered and the worker is gone. */
void inetd_serve(int conn, const struct broker_conf *conf);

#endif

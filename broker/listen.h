/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_LISTEN_H
#define ONTAP_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"

/*
 * Binds the broker's socket at path (making its directory, 0755, if need
 * be), with the given mode and group (-1: keep).  Refuses to take over a
 * socket another broker still answers on; removes a stale one.  Exits with
 * a message on failure.
 */
int listen_socket(const char *path, mode_t mode, gid_t group);

/*
 * The socket systemd passed (LISTEN_FDS/LISTEN_PID, Accept=no): its fd, or
 * -1 when not socket-activated.  Exits with a message when the passed fds
 * are not exactly one listening unix stream socket.
 */
int listen_activated(void);

/*
 * Accepts connections until SIGTERM or SIGINT, each served by a worker
 * process of its own, within conf's bounds (in flight, all users and per
 * user); reaps orphaned taps every conf->reap_interval_s.  On SIGHUP calls
 * reload(conf), which may change conf in place.  Returns when asked to stop,
 * after the requests in flight are done.
 */
void listen_loop(int lsock, struct broker_conf *conf, void (*reload)(struct broker_conf *));

#endif

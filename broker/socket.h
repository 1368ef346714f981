/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_SOCKET_H
#define ONTAP_SOCKET_H

#include <stdbool.h>
#include <sys/types.h>

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

#endif

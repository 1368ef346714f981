/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_LISTEN_H
#define ONTAP_LISTEN_H

#include <sys/stat.h>

/*
 * Binds the broker's socket at path (making its directory, 0755, if need
 * be) with the given mode.  Refuses to take over a socket another broker
 * still answers on; removes a stale one.  Exits with a message on failure.
 */
int listen_socket(const char *path, mode_t mode);

/*
 * Accepts connections until SIGTERM or SIGINT, each served by a worker
 * process of its own (at most max_workers at once).  Returns when asked
 * to stop, after in-flight workers finished.
 */
struct broker_conf;
void listen_loop(int lsock, const struct broker_conf *conf, unsigned max_workers);

#endif

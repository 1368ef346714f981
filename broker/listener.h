/* SPDX-License-Identifier: ISC */
/*
 * The listener: the broker's long-lived privileged process.  It accepts
 * connections, learns who is asking (peer.c), queues requests fairly
 * (fairq.c), hands each to a worker of the requester's exact identity
 * (worker.c; forked once per identity, reused until idle), gives allowed
 * requests to the maker (maker.c), and records and answers every request
 * itself (answer.c).  Nothing a requester can do to the processes that run
 * with its uid (stop, kill, rlimit them) holds the listener, another
 * user's capacity, the quota lock or an audit record: the listener ends an
 * overdue worker with SIGKILL (CAP_KILL) at the request's deadline.
 */
#ifndef ONTAP_LISTENER_H
#define ONTAP_LISTENER_H

#include "conf.h"

/*
 * Serves lsock until SIGTERM or SIGINT.  On SIGHUP calls reload(conf), which
 * may change conf in place.  Returns when asked to stop, once the requests
 * being served are answered (each within its deadline) and every child is
 * gone.
 */
void listen_loop(int lsock, struct broker_conf *conf, void (*reload)(struct broker_conf *));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * The end of every request, in the listener (or an --inetd instance's
 * privileged parent): its audit record, then the answer to the client.
 * Both happen in a process the requester cannot signal or rlimit, and a
 * grant goes out only once its record is written whole.
 */
#ifndef ONTAP_ANSWER_H
#define ONTAP_ANSWER_H

#include "maker.h"
#include "peer.h"
#include "worker.h"

/*
 * Records and answers a request on conn: granted with fds if made says so
 * (made->err == 0), else refused with made's or v's errno and reason.  id is
 * NULL when the caller could not be identified.  Closes nothing.  0, or
 * -errno when the grant could not be recorded or sent (it is then recorded
 * as refused, and the caller closes the fds: the tap goes away; a veth,
 * which no fd holds, the caller has deleted: maker_unmake()).  A veth's
 * GRANT is version 2 with no descriptor; its record has kind=veth.
 */
int answer(int conn, const struct identity *id, pid_t pid, const struct verdict *v,
	   const struct make_resp *made, const int *fds);

/* A refusal the listener itself decides (queue full, deadline, a worker gone). */
void answer_refuse(int conn, const struct identity *id, pid_t pid, struct verdict *v,
		   int err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * Fair queueing of requests, in the listener.  Pure: no I/O.
 *
 * Each accepted connection is a slot number.  A user (uid) has at most
 * `inflight_max' requests being served at once; the rest wait, first in
 * first out, and users take turns (round robin), so one user's burst, or
 * its idle and stopped connections, never stand in front of another user's
 * request.  A user may have at most `queued_max' waiting: past that, a
 * request is refused at once rather than held.
 */
#ifndef ONTAP_FAIRQ_H
#define ONTAP_FAIRQ_H

#include <stdbool.h>
#include <sys/types.h>

struct fq_user {
	uid_t uid;
	unsigned inflight;
	unsigned queued;
	int head, tail;        /* slots, -1: none */
};

struct fairq {
	unsigned cap;          /* slots 0..cap-1 */
	unsigned queued_max;   /* per user */
	int *next;             /* per slot: the next waiting slot of its user */
	struct fq_user *users; /* users with a request waiting or being served */
	unsigned nusers;
	unsigned turn;         /* the user whose turn comes next */
};

/* 0 or -ENOMEM. */
int fq_init(struct fairq *q, unsigned cap, unsigned queued_max);
void fq_free(struct fairq *q);

/* Queues slot for uid: 0, or -EAGAIN when uid has queued_max waiting already. */
int fq_push(struct fairq *q, uid_t uid, int slot);

/*
 * The next slot to serve: the oldest of the next user in turn who has one
 * waiting and fewer than inflight_max being served; that request now counts
 * as being served.  The slot, or -1 when nobody may go.
 */
int fq_pop(struct fairq *q, unsigned inflight_max);

/* A request of uid that was being served is done. */
void fq_done(struct fairq *q, uid_t uid);

/* Takes a waiting slot out of uid's queue (its deadline passed): 0 or -ENOENT. */
int fq_cancel(struct fairq *q, uid_t uid, int slot);

#endif

/* SPDX-License-Identifier: ISC */
/* Pure (no I/O), in the listener: who is served next (see fairq.h). */
#include <errno.h>
#include <stdlib.h>

#include "fairq.h"

int fq_init(struct fairq *q, unsigned cap, unsigned queued_max)
{
	q->cap = cap;
	q->queued_max = queued_max;
	q->nusers = 0;
	q->turn = 0;
	q->next = calloc(cap, sizeof(*q->next));
	q->users = calloc(cap, sizeof(*q->users));
	if (!q->next || !q->users) {
		fq_free(q);
		return -ENOMEM;
	}
	return 0;
}

void fq_free(struct fairq *q)
{
	free(q->next);
	free(q->users);
	q->next = NULL;
	q->users = NULL;
}

static struct fq_user *find(const struct fairq *q, uid_t uid)
{
	for (unsigned i = 0; i < q->nusers; i++)
		if (q->users[i].uid == uid)
			return &q->users[i];
	return NULL;
}

/* A user with nothing waiting or being served leaves the table. */
static void forget_if_idle(struct fairq *q, struct fq_user *u)
{
	unsigned i = (unsigned)(u - q->users);

	if (u->inflight || u->queued)
		return;
	q->users[i] = q->users[--q->nusers];
	if (q->turn >= q->nusers)
		q->turn = 0;
}

int fq_push(struct fairq *q, uid_t uid, int slot)
{
	struct fq_user *u = find(q, uid);

	if (slot < 0 || (unsigned)slot >= q->cap)
		return -EINVAL;
	if (!u) {
		/* at most one user per slot: there is always room */
		if (q->nusers == q->cap)
			return -EAGAIN;
		u = &q->users[q->nusers++];
		*u = (struct fq_user){ .uid = uid, .head = -1, .tail = -1 };
	}
	if (u->queued >= q->queued_max) {
		forget_if_idle(q, u);
		return -EAGAIN;
	}
	q->next[slot] = -1;
	if (u->tail >= 0)
		q->next[u->tail] = slot;
	else
		u->head = slot;
	u->tail = slot;
	u->queued++;
	return 0;
}

int fq_pop(struct fairq *q, unsigned inflight_max)
{
	for (unsigned k = 0; k < q->nusers; k++) {
		unsigned i = (q->turn + k) % q->nusers;
		struct fq_user *u = &q->users[i];
		int slot = u->head;

		if (slot < 0 || u->inflight >= inflight_max)
			continue;
		u->head = q->next[slot];
		if (u->head < 0)
			u->tail = -1;
		u->queued--;
		u->inflight++;
		q->turn = (i + 1) % q->nusers;
		return slot;
	}
	return -1;
}

void fq_done(struct fairq *q, uid_t uid)
{
	struct fq_user *u = find(q, uid);

	if (!u || !u->inflight)
		return;
	u->inflight--;
	forget_if_idle(q, u);
}

int fq_cancel(struct fairq *q, uid_t uid, int slot)
{
	struct fq_user *u = find(q, uid);
	int prev = -1;

	if (!u)
		return -ENOENT;
	for (int s = u->head; s >= 0; prev = s, s = q->next[s]) {
		if (s != slot)
			continue;
		if (prev < 0)
			u->head = q->next[s];
		else
			q->next[prev] = q->next[s];
		if (u->tail == s)
			u->tail = prev;
		u->queued--;
		forget_if_idle(q, u);
		return 0;
	}
	return -ENOENT;
}

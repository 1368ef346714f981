/* SPDX-License-Identifier: ISC */
/* Runs in the closer (see closer.h): the listener's uid, no capability. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "chan.h"
#include "closer.h"
#include "log.h"

/*
 * A teardown is mostly waiting (for RCU), and waits overlap: several at once
 * take hardly longer than one, so the taps of a burst go at the pace they
 * came.  Past this many, the main thread closes itself, and the listener's
 * sends pile up in the channel until it catches up.
 */
#define CLOSERS_MAX 16

struct batch {
	unsigned n;
	int fds[CLOSER_FDS_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned running;

static void close_batch(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		close(b->fds[i]);
	free(b);
}

static void *closer_thread(void *arg)
{
	close_batch(arg);
	pthread_mutex_lock(&lock);
	running--;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void dispatch(struct batch *b)
{
	pthread_attr_t attr;
	pthread_t t;
	bool spare;

	pthread_mutex_lock(&lock);
	spare = running < CLOSERS_MAX;
	running += spare;
	pthread_mutex_unlock(&lock);
	if (spare) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 << 10);
		spare = pthread_create(&t, &attr, closer_thread, b) == 0;
		pthread_attr_destroy(&attr);
		if (spare)
			return;
		pthread_mutex_lock(&lock);
		running--;
		pthread_mutex_unlock(&lock);
	}
	close_batch(b);
}

void closer_main(int chan)
{
	int r = caps_none();
	char byte;

	if (r < 0) {
		log_line("closer: cannot drop its capabilities: %s", strerror(-r));
		_exit(1);
	}
	for (;;) {
		struct batch *b = malloc(sizeof(*b));
		long got;

		if (!b)
			_exit(1);   /* the listener closes its descriptors itself meanwhile */
		got = chan_recv(chan, &byte, sizeof(byte), true, b->fds, CLOSER_FDS_MAX, &b->n,
				false);
		if (got == -ECONNRESET) {
			free(b);
			/* the descriptors still in threads go at exit, all the same */
			_exit(0);
		}
		dispatch(b);
	}
}

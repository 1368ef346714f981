/* SPDX-License-Identifier: ISC */
/* Runs in the closer (see closer.h): the listener's uid, no capability. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "chan.h"
#include "closer.h"
#include "log.h"

/*
 * A teardown is mostly waiting (for RCU), and waits overlap: several at once
 * take hardly longer than one, so the taps of a burst go at the pace they
 * came.  The threads are started once: a thread per batch cost more CPU than
 * the close it carried.  Each waits on the channel itself, and the kernel
 * gives each message to one of them; with all of them in teardowns, the
 * listener's sends pile up in the channel until one is free.
 */
#define CLOSERS 16

static void *closer_thread(void *arg)
{
	int chan = *(int *)arg;

	for (;;) {
		int fds[CLOSER_FDS_MAX];
		unsigned n = 0;
		char byte;
		long got = chan_recv(chan, &byte, sizeof(byte), true, fds, CLOSER_FDS_MAX, &n,
				     false);

		/* at end of file, or on an error that would only repeat */
		if (got < 0 && got != -EBADMSG && got != -EINTR)
			return NULL;
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
	}
}

void closer_main(int chan)
{
	static int fd;
	pthread_t t[CLOSERS];
	pthread_attr_t attr;
	unsigned started = 0;
	int r = caps_none();

	if (r < 0) {
		log_line("closer: cannot drop its capabilities: %s", strerror(-r));
		_exit(1);
	}
	fd = chan;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	while (started < CLOSERS && pthread_create(&t[started], &attr, closer_thread, &fd) == 0)
		started++;
	pthread_attr_destroy(&attr);
	if (!started)
		closer_thread(&fd);   /* one thread, this one, rather than none */
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

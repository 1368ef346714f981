/* SPDX-License-Identifier: ISC */
/*
 * Runs in the closer (see closer.h): the listener's uid, no capability;
 * closer_gate_new() and closer_gate_open() in the listener.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>

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
#define GATE_WAIT_MS 50
#define GATE_WAITS 20

struct closer_gate *closer_gate_new(void)
{
	void *p = mmap(NULL, sizeof(struct closer_gate), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void closer_gate_open(struct closer_gate *g, uint32_t seq)
{
	if (!g)
		return;
	atomic_store(&g->closed, seq);
	if (atomic_load(&g->waiting))
		syscall(SYS_futex, &g->closed, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Registered as waiting before each look, so that an open after it always wakes us. */
static void gate_wait(struct closer_gate *g, uint32_t seq)
{
	if (!g)
		return;
	atomic_fetch_add(&g->waiting, 1);
	for (int i = 0; i < GATE_WAITS; i++) {
		struct timespec ts = { 0, GATE_WAIT_MS * 1000 * 1000 };
		uint32_t now = atomic_load(&g->closed);

		if ((int32_t)(now - seq) >= 0)
			break;
		syscall(SYS_futex, &g->closed, FUTEX_WAIT, now, &ts, NULL, 0);
	}
	atomic_fetch_sub(&g->waiting, 1);
}

struct closer_args {
	int chan;
	struct closer_gate *gate;
};

static void *closer_thread(void *arg)
{
	const struct closer_args *a = arg;

	for (;;) {
		int fds[CLOSER_FDS_MAX];
		unsigned n = 0;
		uint32_t seq;
		long got = chan_recv(a->chan, &seq, sizeof(seq), true, fds, CLOSER_FDS_MAX, &n,
				     false);

		/* at end of file, or on an error that would only repeat */
		if (got < 0 && got != -EBADMSG && got != -EINTR)
			return NULL;
		if (n)
			gate_wait(a->gate, seq);
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
	}
}

void closer_main(int chan, struct closer_gate *g)
{
	static struct closer_args args;
	pthread_t t[CLOSERS];
	pthread_attr_t attr;
	unsigned started = 0;
	int r = caps_none();

	if (r < 0) {
		log_line("closer: cannot drop its capabilities: %s", strerror(-r));
		_exit(1);
	}
	args.chan = chan;
	args.gate = g;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	while (started < CLOSERS && pthread_create(&t[started], &attr, closer_thread, &args) == 0)
		started++;
	pthread_attr_destroy(&attr);
	if (!started)
		closer_thread(&args);   /* one thread, this one, rather than none */
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

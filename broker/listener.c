/* SPDX-License-Identifier: ISC */
/* Runs in the listener (see listener.h): root, or the broker's user, with
 * CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID and CAP_KILL; no requester can
 * signal or rlimit it.  The loop, accepting, workers and deadlines; its
 * side of the maker and the closer is listener_maker.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "chan.h"
#include "closer.h"
#include "fairq.h"
#include "listener.h"
#include "listener_state.h"
#include "log.h"
#include "maker.h"
#include "peer.h"
#include "worker.h"

static volatile sig_atomic_t stopping, reloading;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reloading = 1;
}

static void on_child(int sig)
{
	(void)sig;   /* only to interrupt ppoll(); reaping happens in the loop */
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The signals we act on stay blocked except inside ppoll(), so a SIGTERM can
 * never slip in between the check of `stopping' and the wait.
 */
static void set_signals(sigset_t *waitmask)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction hup = { .sa_handler = on_hup };
	struct sigaction chld = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGHUP, &hup, NULL);
	sigaction(SIGCHLD, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * A child keeps nothing of the listener's: no other user's connection, no
 * other worker's channel, the default signal handling of a plain program.
 */
static void become_child(struct listener *l)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	close(l->lsock);
	if (l->maker_chan >= 0)
		close(l->maker_chan);
	if (l->closer_chan >= 0)
		close(l->closer_chan);
	if (l->gate && !l->forking_closer)
		munmap(l->gate, sizeof(*l->gate));
	for (int i = 0; i < l->top; i++)
		if (l->c[i].state != C_FREE) {
			close(l->c[i].fd);
			if (l->c[i].nsfd >= 0)
				close(l->c[i].nsfd);
			for (unsigned k = 0; k < l->c[i].ntapfds; k++)
				close(l->c[i].tapfds[k]);
		}
	for (unsigned i = 0; i < l->nw; i++)
		close(l->w[i].chan);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &l->waitmask, NULL);
}

/*
 * A child on a channel of its own: its pid in the parent, 0 in the child
 * (which then keeps nothing of the listener's but *chan), or -errno.
 */
pid_t fork_child(struct listener *l, int *chan)
{
	int ch[2], r = chan_pair(ch);
	pid_t pid;

	if (r < 0)
		return r;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(ch[0]);
		close(ch[1]);
		return r;
	}
	close(ch[pid == 0 ? 0 : 1]);
	if (pid == 0)
		become_child(l);
	*chan = ch[pid == 0 ? 1 : 0];
	return pid;
}

/* ---- the end of a request ------------------------------------------------ */

void release(struct listener *l, int slot)
{
	struct conn *c = &l->c[slot];

	if (c->state != C_QUEUED)
		fq_done(&l->q, c->who.uid);
	close(c->fd);
	if (c->nsfd >= 0)
		close(c->nsfd);
	c->nsfd = -1;
	/* a tap may be made on them: its teardown is the closer's */
	hand_off(l, c->tapfds, c->ntapfds);
	free(c->tapfds);
	c->tapfds = NULL;
	c->ntapfds = 0;
	free(c->v);
	c->v = NULL;
	c->state = C_FREE;
	l->nconns--;
	while (l->top > 0 && l->c[l->top - 1].state == C_FREE)
		l->top--;
}

void refuse(struct listener *l, int slot, int err, const char *fmt, ...)
{
	struct conn *c = &l->c[slot];
	struct verdict *v = c->v ? c->v : calloc(1, sizeof(*v));
	va_list ap;

	if (!v) {
		log_line("out of memory: dropping uid %u's request", (unsigned)c->who.uid);
		release(l, slot);
		return;
	}
	c->v = v;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->err = err;
	answer(c->fd, c->who.uid == (uid_t)-1 ? NULL : &c->who, c->pid, v, NULL, NULL);
	release(l, slot);
}

/* ---- workers ------------------------------------------------------------- */

static void drop_worker(struct listener *l, unsigned i)
{
	struct worker *w = &l->w[i];

	/* stateless and the requester's: ended at once, stopped or not */
	kill(w->pid, SIGKILL);
	close(w->chan);
	if (w->conn >= 0)
		l->busy--;
	*w = l->w[--l->nw];
	if (i < l->nw && w->conn >= 0)
		l->c[w->conn].worker = (int)i;
}

static int spawn_worker(struct listener *l, const struct identity *who)
{
	struct worker *w;
	int chan;
	pid_t pid = fork_child(l, &chan);

	if (pid < 0)
		return (int)pid;
	if (pid == 0)
		worker_main(chan, who, l->conf);
	w = &l->w[l->nw];
	w->pid = pid;
	w->chan = chan;
	w->conn = -1;
	w->retire = false;
	w->who = *who;
	return (int)l->nw++;
}

/* An idle worker of exactly this identity, else a new one (making room if need be). */
static int worker_for(struct listener *l, const struct identity *who)
{
	int lru = -1;

	for (unsigned i = 0; i < l->nw; i++) {
		struct worker *w = &l->w[i];

		if (w->conn >= 0 || w->retire)
			continue;
		if (identity_equal(&w->who, who))
			return (int)i;
		if (lru < 0 || w->idle_since < l->w[lru].idle_since)
			lru = (int)i;
	}
	/* idle workers are a cache: the least recently used gives way */
	if (l->nw >= l->conf->max_requests && lru >= 0)
		drop_worker(l, (unsigned)lru);
	if (l->nw >= WORKERS_MAX)
		return -EAGAIN;
	return spawn_worker(l, who);
}

static void to_worker(struct listener *l, int slot)
{
	struct conn *c = &l->c[slot];
	int64_t left = c->deadline - now_ms();
	struct job job = { .id = c->seq, .deadline_ms = left > 0 ? (uint32_t)left : 0 };
	int i = worker_for(l, &c->who), r;

	c->state = C_WORKER;
	if (i < 0) {
		refuse(l, slot, -i, "cannot start a worker: %s", strerror(-i));
		return;
	}
	r = chan_send(l->w[i].chan, &job, sizeof(job), &c->fd, 1);
	if (r < 0) {
		drop_worker(l, (unsigned)i);
		refuse(l, slot, -r, "cannot hand the request to a worker: %s", strerror(-r));
		return;
	}
	l->w[i].conn = slot;
	c->worker = i;
	l->busy++;
}

static void dispatch(struct listener *l)
{
	int slot;

	while (l->busy < l->conf->max_requests &&
	       (slot = fq_pop(&l->q, l->conf->max_requests_per_user)) >= 0)
		to_worker(l, slot);
}

/* ---- verdicts ------------------------------------------------------------ */

static void from_worker(struct listener *l, unsigned i)
{
	struct worker *w = &l->w[i];
	struct verdict *v = malloc(sizeof(*v));
	int slot = w->conn, nsfd = -1;
	unsigned n = 0;
	long got;

	if (!v)
		return;   /* tried again at the next wakeup */
	got = chan_recv(w->chan, v, sizeof(*v), true, &nsfd, 1, &n, true);
	if (got == -EAGAIN) {
		free(v);
		return;
	}
	if (got < 0 || n == 0)
		nsfd = -1;
	/*
	 * A worker that breaks the protocol is ended: it is the requester's to
	 * lose.  A descriptor comes with an allowed veth verdict, and only there.
	 */
	if (got < 0 || verdict_check(v, l->c[slot].seq) < 0 ||
	    (n == 1) != (v->err == 0 && v->kind == PROTO_KIND_VETH)) {
		free(v);
		if (nsfd >= 0)
			close(nsfd);
		drop_worker(l, i);
		refuse(l, slot, EPROTO, "the worker serving this request failed (%s)",
		       got == -ECONNRESET ? "it ended" : "bad verdict");
		return;
	}
	w->conn = -1;
	w->idle_since = now_ms();
	l->busy--;
	if (w->retire)
		drop_worker(l, i);
	l->c[slot].v = v;
	l->c[slot].nsfd = nsfd;
	if (v->err == 0) {
		to_maker(l, slot);
		return;
	}
	answer(l->c[slot].fd, &l->c[slot].who, l->c[slot].pid, v, NULL, NULL);
	release(l, slot);
}

/* ---- accepting ----------------------------------------------------------- */

static int free_slot(struct listener *l)
{
	for (int i = 0; i < CONN_MAX; i++)
		if (l->c[i].state == C_FREE)
			return i;
	return -1;
}

static void accept_one(struct listener *l, int fd)
{
	int slot = free_slot(l), r;
	struct conn *c = &l->c[slot];
	struct peer *p = malloc(sizeof(*p));

	c->fd = fd;
	c->state = C_QUEUED;
	if (slot >= l->top)
		l->top = slot + 1;
	c->seq = ++l->seq;
	c->v = NULL;
	c->nsfd = -1;
	c->deadline = now_ms() + (int64_t)l->conf->deadline_s * 1000;
	l->nconns++;
	memset(&c->who, 0, sizeof(c->who));
	c->who.uid = (uid_t)-1;   /* not identified yet */
	r = p ? peer_get(fd, p) : -ENOMEM;
	if (r == 0) {
		c->pid = p->pid;
		r = peer_identity(p, &c->who);
	}
	free(p);
	if (r < 0) {
		/* queued nowhere, counted nowhere: release() only closes it */
		refuse(l, slot, -r, "cannot identify the caller: %s", strerror(-r));
		return;
	}
	if (fq_push(&l->q, c->who.uid, slot) < 0)
		refuse(l, slot, EAGAIN, "too many requests waiting for uid %u (at most %u)",
		       (unsigned)c->who.uid, QUEUE_PER_USER);
}

static void accept_some(struct listener *l)
{
	for (int k = 0; k < ACCEPT_BATCH && l->nconns < CONN_MAX; k++) {
		int fd = accept4(l->lsock, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(l, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			log_line("accept: %s", strerror(errno));
		return;
	}
}

/* ---- time ---------------------------------------------------------------- */

static void overdue(struct listener *l, int slot, int64_t now)
{
	struct conn *c = &l->c[slot];

	switch (c->state) {
	case C_QUEUED:
		if (now < c->deadline)
			return;
		fq_cancel(&l->q, c->who.uid, slot);
		refuse(l, slot, ETIMEDOUT, "waited %u s behind other requests of uid %u",
		       l->conf->deadline_s, (unsigned)c->who.uid);
		return;
	case C_WORKER:
		/* the worker refuses a stalled client at the deadline; past it, it is stuck */
		if (now < c->deadline + KILL_GRACE_MS)
			return;
		drop_worker(l, (unsigned)c->worker);
		refuse(l, slot, ETIMEDOUT, "no answer within %u s (the worker was ended)",
		       l->conf->deadline_s);
		return;
	case C_MAKER:
		if (now >= c->deadline)
			maker_failed(l, "it did not answer in time");
		return;
	case C_FREE:
		return;
	}
}

static int64_t next_wakeup(struct listener *l, int64_t now)
{
	int64_t t = l->conf->reap_orphans ? l->next_reap : now + 3600 * 1000;

	for (int i = 0; i < l->top; i++) {
		const struct conn *c = &l->c[i];

		if (c->state == C_QUEUED && c->deadline < t)
			t = c->deadline;
		if (c->state == C_WORKER && c->deadline + KILL_GRACE_MS < t)
			t = c->deadline + KILL_GRACE_MS;
		if (c->state == C_MAKER && c->deadline < t)
			t = c->deadline;
	}
	for (unsigned i = 0; i < l->nw; i++)
		if (l->w[i].conn < 0 && l->w[i].idle_since + WORKER_IDLE_MS < t)
			t = l->w[i].idle_since + WORKER_IDLE_MS;
	return t;
}

static void tick(struct listener *l)
{
	int64_t now = now_ms();

	for (int i = 0; i < l->top; i++)
		overdue(l, i, now);
	for (unsigned i = 0; i < l->nw; i++)
		if (l->w[i].conn < 0 && now >= l->w[i].idle_since + WORKER_IDLE_MS)
			drop_worker(l, i--);
	if (l->conf->reap_orphans && now >= l->next_reap) {
		struct maker_msg m = { .op = MAKER_REAP };
		int r = to_maker_op(l, &m, NULL, 0);

		if (r < 0)
			log_line("orphan reaper: %s", strerror(-r));
		l->next_reap = now + (int64_t)l->conf->reap_interval_s * 1000;
	}
}

/* ---- children ------------------------------------------------------------ */

static void reaped(struct listener *l, pid_t pid, int status)
{
	if (pid == l->closer) {
		/* started again when next needed */
		close(l->closer_chan);
		l->closer = 0;
		l->closer_chan = -1;
		return;
	}
	if (pid == l->maker) {
		l->maker = 0;
		maker_failed(l, WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "it exited");
		return;
	}
	for (unsigned i = 0; i < l->nw; i++) {
		int slot = l->w[i].conn;

		if (l->w[i].pid != pid)
			continue;
		/* workers the listener ended are gone from the table already */
		log_line("worker %d for uid %u ended %s %d", (int)pid, (unsigned)l->w[i].who.uid,
			 WIFSIGNALED(status) ? "by signal" : "with status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		drop_worker(l, i);
		if (slot >= 0)
			refuse(l, slot, EPROTO, "the worker serving this request ended");
		return;
	}
}

static void reap_children(struct listener *l)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(l, pid, status);
}

/*
 * Room for CONN_MAX connections, the workers' channels, and the queues of
 * every tap being made (each request at the maker holds max-queues
 * descriptors of /dev/net/tun here).
 */
static void raise_nofile(const struct broker_conf *conf)
{
	struct rlimit rl;
	rlim_t want = CONN_MAX + WORKERS_MAX + 64 + (rlim_t)conf->max_requests * conf->max_queues;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void reconfigure(struct listener *l, void (*reload)(struct broker_conf *))
{
	struct maker_msg *m = malloc(sizeof(*m));

	reload(l->conf);
	raise_nofile(l->conf);
	if (m) {
		m->op = MAKER_CONF;
		m->conf = *l->conf;
		if (l->maker_chan >= 0 && to_maker_op(l, m, NULL, 0) < 0)
			maker_failed(l, "it could not take the new configuration");
		free(m);
	}
	/* workers hold the configuration they were forked with */
	for (unsigned i = 0; i < l->nw; i++) {
		if (l->w[i].conn >= 0)
			l->w[i].retire = true;
		else
			drop_worker(l, i--);
	}
	l->next_reap = now_ms() + (int64_t)l->conf->reap_interval_s * 1000;
}

/* ---- the loop ------------------------------------------------------------ */

static void wait_events(struct listener *l, int64_t timeout)
{
	struct timespec ts = { .tv_sec = timeout / 1000, .tv_nsec = (timeout % 1000) * 1000000 };
	struct pollfd *pfd = l->pfd;
	pid_t *who = l->polled;
	unsigned n = 0, nw = l->nw;

	pfd[n] = (struct pollfd){ .fd = !stopping && l->nconns < CONN_MAX ? l->lsock : -1,
				  .events = POLLIN };
	who[n++] = -2;
	pfd[n] = (struct pollfd){ .fd = l->maker_chan, .events = POLLIN };
	who[n++] = -1;
	for (unsigned i = 0; i < nw; i++)
		if (l->w[i].conn >= 0) {
			pfd[n] = (struct pollfd){ .fd = l->w[i].chan, .events = POLLIN };
			who[n++] = l->w[i].pid;
		}
	if (ppoll(pfd, n, &ts, &l->waitmask) <= 0)
		return;
	if (pfd[1].revents)
		from_maker(l);
	for (unsigned k = 2; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		/* the table may have moved under earlier events: find the worker by pid */
		for (unsigned i = 0; i < l->nw; i++)
			if (l->w[i].pid == who[k] && l->w[i].conn >= 0) {
				from_worker(l, i);
				break;
			}
	}
	if (pfd[0].revents & POLLIN)
		accept_some(l);
}

static bool drained(struct listener *l)
{
	for (int i = 0; i < l->top; i++)
		if (l->c[i].state == C_QUEUED) {
			fq_cancel(&l->q, l->c[i].who.uid, i);
			refuse(l, i, ESHUTDOWN, "the broker is stopping");
		}
	return l->nconns == 0;
}

static void stop_children(struct listener *l)
{
	int64_t until = now_ms() + STOP_WAIT_MS;

	while (l->nw)
		drop_worker(l, 0);
	if (l->maker_chan >= 0)
		close(l->maker_chan);   /* the maker ends at end of file */
	l->maker_chan = -1;
	while (l->maker > 0 && now_ms() < until) {
		int status;

		if (waitpid(l->maker, &status, WNOHANG) == l->maker)
			l->maker = 0;
		else
			usleep(10 * 1000);
	}
	if (l->maker > 0)
		kill(l->maker, SIGKILL);
	/* the closer ends at end of file, once it has closed what it was given */
	if (l->closer_chan >= 0)
		close(l->closer_chan);
	l->closer_chan = -1;
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}


void listen_loop(int lsock, struct broker_conf *conf, void (*reload)(struct broker_conf *))
{
	struct listener *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		die("out of memory");
	l->lsock = lsock;
	l->conf = conf;
	l->maker_chan = -1;
	l->closer_chan = -1;
	l->c = calloc(CONN_MAX, sizeof(*l->c));
	l->w = calloc(WORKERS_MAX, sizeof(*l->w));
	l->pfd = calloc(WORKERS_MAX + 2, sizeof(*l->pfd));
	l->polled = calloc(WORKERS_MAX + 2, sizeof(*l->polled));
	if (!l->c || !l->w || !l->pfd || !l->polled || fq_init(&l->q, CONN_MAX, QUEUE_PER_USER) < 0)
		die("out of memory");
	raise_nofile(conf);
	set_signals(&l->waitmask);
	/* accepted in batches until EAGAIN */
	if (fcntl(lsock, F_SETFL, fcntl(lsock, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	/* before any fork: the closer, started again should it end, shares this page */
	l->gate = closer_gate_new();
	r = start_maker(l);
	if (r == 0)
		r = start_closer(l);
	if (r < 0)
		die("cannot start the maker and the closer: %s", strerror(-r));
	l->next_reap = now_ms();
	for (;;) {
		int64_t now;

		reap_children(l);
		if (reloading) {
			reloading = 0;
			reconfigure(l, reload);
		}
		tick(l);
		if (!stopping)
			dispatch(l);
		else if (drained(l))
			break;
		now = now_ms();
		wait_events(l, next_wakeup(l, now) > now ? next_wakeup(l, now) - now : 0);
	}
	stop_children(l);
	fq_free(&l->q);
	free(l->pfd);
	free(l->polled);
	free(l->c);
	free(l->w);
	free(l);
}

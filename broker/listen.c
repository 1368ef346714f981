/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "census.h"
#include "listen.h"
#include "log.h"
#include "serve.h"
#include "wire.h"

#define MAX_WORKERS 4096     /* the most max-requests may say */

struct worker {
	pid_t pid;
	uid_t uid;
	bool answered;       /* no longer counts against its uid */
};

struct listener {
	int lsock;
	int done[2];         /* workers write their pid here once they have answered */
	struct broker_conf *conf;
	sigset_t waitmask;
	unsigned n;
	struct worker w[MAX_WORKERS];
	pid_t reaper;
	time_t next_reap;
};

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

static void make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot create directory `%s': %s", dir, strerror(errno));
}

/* a socket file nobody answers on is left over from a broker that died */
static void remove_stale(const struct sockaddr_un *sa)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket: %s", strerror(errno));
	if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		die("another broker is listening on `%s'", sa->sun_path);
	if (errno == ECONNREFUSED && unlink(sa->sun_path) < 0 && errno != ENOENT)
		die("cannot remove stale socket `%s': %s", sa->sun_path, strerror(errno));
	close(s);
}

int listen_socket(const char *path, mode_t mode, gid_t group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path `%s' is too long", path);
	strcpy(sa.sun_path, path);
	make_parent_dir(path);
	remove_stale(&sa);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot bind `%s': %s", path, strerror(errno));
	/* the ACL decides who gets a tap; the socket's mode only who may ask */
	if (group != (gid_t)-1 && chown(path, (uid_t)-1, group) < 0)
		die("cannot chown `%s' to group %u: %s", path, (unsigned)group, strerror(errno));
	if (chmod(path, mode) < 0)
		die("cannot chmod `%s': %s", path, strerror(errno));
	if (listen(s, SOMAXCONN) < 0)
		die("cannot listen on `%s': %s", path, strerror(errno));
	return s;
}

int listen_activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0, domain = 0, acc = 0;
	socklen_t len = sizeof(int);

	if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1"))
		die("socket activation: LISTEN_FDS=%s, expected exactly one socket", fds);
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(3, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		die("socket activation: fd 3: %s", strerror(errno));
	if (type != SOCK_STREAM || domain != AF_UNIX || !acc)
		die("socket activation: fd 3 is not a listening unix stream socket (Accept=no)");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
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

/* In a child: back to default signal handling, as the child of a plain program. */
static void child_signals(const sigset_t *mask)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

static void reaped(struct listener *l, pid_t pid, int status)
{
	if (pid == l->reaper) {
		l->reaper = 0;
		return;
	}
	for (unsigned i = 0; i < l->n; i++) {
		if (l->w[i].pid != pid)
			continue;
		if (WIFSIGNALED(status))
			log_line("worker %d for uid %u ended by signal %d%s", (int)pid,
				 (unsigned)l->w[i].uid, WTERMSIG(status),
				 WTERMSIG(status) == SIGALRM ? " at its deadline" : "");
		l->w[i] = l->w[--l->n];
		return;
	}
}

static void drain_done(struct listener *l)
{
	pid_t pid;

	while (read(l->done[0], &pid, sizeof(pid)) == sizeof(pid))
		for (unsigned i = 0; i < l->n; i++)
			if (l->w[i].pid == pid)
				l->w[i].answered = true;
}

static void reap(struct listener *l, bool block)
{
	pid_t pid;
	int status;

	/* a worker says "answered" before it exits: read that before its pid is reused */
	drain_done(l);
	while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0)
		reaped(l, pid, status);
}

static unsigned in_flight(struct listener *l, uid_t uid)
{
	unsigned n = 0;

	drain_done(l);
	for (unsigned i = 0; i < l->n; i++)
		n += l->w[i].uid == uid && !l->w[i].answered;
	return n;
}

/* Refused before a worker exists: a short message to a fresh socket never blocks. */
static void turn_away(int c, uid_t uid, unsigned max)
{
	struct proto_msg msg = { .type = PROTO_REFUSE, .refuse.err = EAGAIN };
	char when[32];

	snprintf(msg.refuse.reason, sizeof(msg.refuse.reason),
		 "too many requests in flight for uid %u (at most %u)", (unsigned)uid, max);
	wire_send(c, &msg, NULL, 0);
	log_line("time=%s verdict=refuse uid=%u errno=%d reason=\"%s\"", log_time(when),
		 (unsigned)uid, EAGAIN, msg.refuse.reason);
}

static void spawn(struct listener *l, int c, uid_t uid)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_line("cannot fork a worker: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(l->lsock);
		close(l->done[0]);
		child_signals(&l->waitmask);
		serve(c, l->conf, l->done[1]);
		_exit(0);
	}
	l->w[l->n].pid = pid;
	l->w[l->n].uid = uid;
	l->w[l->n].answered = false;
	l->n++;
}

static void accept_one(struct listener *l)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int c = accept4(l->lsock, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_line("accept: %s", strerror(errno));
			usleep(100 * 1000);   /* out of resources: don't spin */
		}
		return;
	}
	/* the uid only for the per-user bound; the worker asks the kernel again */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		log_line("SO_PEERCRED: %s", strerror(errno));
	else if (in_flight(l, uc.uid) >= l->conf->max_requests_per_user)
		turn_away(c, uc.uid, l->conf->max_requests_per_user);
	else
		spawn(l, c, uc.uid);
	close(c);
}

static int reap_cb(const struct tap_entry *t, void *ctx)
{
	(void)ctx;
	/* persistent and nobody holds an fd: nobody can use it but its owner, later */
	if (!t->persist || t->attached)
		return 0;
	int r = census_delete(t->ifindex);
	log_line("orphan tap=%s ifindex=%u uid=%u pid=%d since=%lld: %s", t->name, t->ifindex,
		 t->owner.uid, t->owner.pid, (long long)t->owner.since,
		 r < 0 ? strerror(-r) : "removed");
	return 0;
}

/* The census runs in a child: a surprise in a netlink dump can't take the listener down. */
static void start_reaper(struct listener *l)
{
	pid_t pid;

	l->next_reap = time(NULL) + l->conf->reap_interval_s;
	if (!l->conf->reap_orphans || l->reaper)
		return;
	pid = fork();
	if (pid < 0) {
		log_line("cannot fork the orphan reaper: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int r;

		close(l->lsock);
		close(l->done[0]);
		close(l->done[1]);
		child_signals(&l->waitmask);
		alarm(l->conf->deadline_s);
		r = census_walk(reap_cb, NULL);
		if (r < 0)
			log_line("orphan reaper: %s", strerror(-r));
		_exit(0);
	}
	l->reaper = pid;
}

void listen_loop(int lsock, struct broker_conf *conf, void (*reload)(struct broker_conf *))
{
	struct listener *l = calloc(1, sizeof(*l));
	struct pollfd pfd = { .fd = lsock, .events = POLLIN };

	if (!l)
		die("out of memory");
	l->lsock = lsock;
	/* non-blocking both ways: a full pipe must never stall a worker's reply */
	if (pipe2(l->done, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	l->conf = conf;
	set_signals(&l->waitmask);
	if (fcntl(lsock, F_SETFL, fcntl(lsock, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	start_reaper(l);
	while (!stopping) {
		time_t now = time(NULL);
		struct timespec ts = { .tv_sec = l->next_reap > now ? l->next_reap - now : 0 };
		/*
		 * At the bound, wait for a worker to end (SIGCHLD); connections
		 * wait in the backlog.  The done pipe is not polled: it is only
		 * read when a connection comes (in_flight()), and a worker writes
		 * to it before it replies, so nobody is woken for it.
		 */
		int n;

		pfd.revents = 0;
		n = ppoll(&pfd, l->n < conf->max_requests ? 1 : 0, &ts, &l->waitmask);

		reap(l, false);
		if (reloading) {
			reloading = 0;
			reload(conf);
		}
		if (time(NULL) >= l->next_reap)
			start_reaper(l);
		if (n > 0 && (pfd.revents & POLLIN))
			accept_one(l);
	}
	reap(l, true);
	close(l->done[0]);
	close(l->done[1]);
	free(l);
}

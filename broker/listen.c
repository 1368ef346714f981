/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "serve.h"

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_child(int sig)
{
	(void)sig;   /* only to interrupt accept(); reaping happens in the loop */
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

int listen_socket(const char *path, mode_t mode)
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
	if (chmod(path, mode) < 0)
		die("cannot chmod `%s': %s", path, strerror(errno));
	if (listen(s, SOMAXCONN) < 0)
		die("cannot listen on `%s': %s", path, strerror(errno));
	return s;
}

/*
 * The signals we act on stay blocked except inside ppoll(), so a SIGTERM can
 * never slip in between the check of `stopping' and the wait.
 */
static void set_signals(sigset_t *waitmask)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction chld = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGCHLD, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static unsigned reap(bool block)
{
	unsigned n = 0;

	while (waitpid(-1, NULL, block ? 0 : WNOHANG) > 0)
		n++;
	return n;
}

static bool spawn(int lsock, int c, const struct broker_conf *conf, const sigset_t *mask)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_line("cannot fork a worker: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		close(lsock);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGCHLD, &dfl, NULL);
		sigprocmask(SIG_SETMASK, mask, NULL);
		serve(c, conf);
		_exit(0);
	}
	return true;
}

static void accept_one(int lsock, const struct broker_conf *conf, const sigset_t *mask,
		       unsigned *workers)
{
	int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_line("accept: %s", strerror(errno));
			usleep(100 * 1000);   /* out of resources: don't spin */
		}
		return;
	}
	if (spawn(lsock, c, conf, mask))
		(*workers)++;
	close(c);
}

void listen_loop(int lsock, const struct broker_conf *conf, unsigned max_workers)
{
	struct pollfd pfd = { .fd = lsock, .events = POLLIN };
	unsigned workers = 0;
	sigset_t waitmask;

	set_signals(&waitmask);
	if (fcntl(lsock, F_SETFL, fcntl(lsock, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	while (!stopping) {
		/* at the bound, wait for a worker to end; connections wait in the backlog */
		int n = ppoll(&pfd, workers < max_workers ? 1 : 0, NULL, &waitmask);

		workers -= reap(false);
		if (n > 0 && (pfd.revents & POLLIN))
			accept_one(lsock, conf, &waitmask, &workers);
	}
	reap(true);
}

/* SPDX-License-Identifier: ISC */
/*
 * pairparent: the clients and receivers tests/production.sh needs that no
 * Debian program provides.
 *
 *   pairparent [--as USER] [--env NAME=VALUE]... [COMMON] BRIDGE BROKER [ARG...]
 *       A parent that made a socketpair: the child execs BROKER (meant to be
 *       `ontap-broker --inetd ...') with its end on stdin and stdout; the
 *       parent sends one REQUEST and reports the answer, then the broker's
 *       exit status ("broker exit=N", or signal=N).  --as USER: the pair
 *       is made with USER's euid, egid and groups (what SO_PEERCRED reports
 *       for it), and the parent then becomes USER for good; the broker
 *       stays root.
 *       --env: set in the broker's environment only (what a super-server
 *       would claim about the peer).
 *   pairparent --connect SOCKET [--wait-line] [COMMON] BRIDGE|-
 *       Connects to a listening broker.  --wait-line: prints "connected",
 *       then waits for a line (or EOF) on stdin before going on; with
 *       BRIDGE "-" the connection is then closed ("closed").
 *   pairparent --recv SOCKET [--count N] [--timeout SECONDS]
 *       Binds a unix datagram socket (mode 0666) and prints each datagram
 *       as one line, bytes outside printable ASCII as \xNN, until N have
 *       come (default 1).  For NOTIFY_SOCKET and /dev/log.
 *
 *   COMMON: [--no-vnet] [--hold] [--timeout SECONDS]
 *   BRIDGE "-" (but for --wait-line's close) sends no request at all: the
 *   client just waits for the broker to answer or hang up.
 *
 * An answer is one line on stdout:
 *   grant tap=NAME vnet_hdr=N master=BRIDGE|- after_ms=MS
 *   refuse errno=N after_ms=MS reason=TEXT
 *   eof after_ms=MS               the broker closed without answering
 * --hold keeps a granted tap open until a line or EOF on stdin (in the
 * socketpair mode, after "broker exit=N" is printed).  Every wait
 * is bounded by --timeout (default 30 s).  Exit: 0 grant (or --recv done,
 * or "closed"), 1 refuse, 2 eof, 3 any other failure, 64 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "wire.h"

#define MAX_ENV     16
#define MAX_GROUPS  256
#define TIMEOUT_MAX 600

enum { EX_GRANT = 0, EX_REFUSE = 1, EX_EOF = 2, EX_FAIL = 3, EX_USAGE = 64 };

static struct {
	const char *as, *connect, *recv;
	const char *env[MAX_ENV];
	int nenv;
	bool wait_line, hold, vnet;
	long timeout_s, count;
} o = { .vnet = true, .timeout_s = 30, .count = 1 };

static struct timespec t0;
static int granted_fd = -1;

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"Usage: pairparent [--as USER] [--env NAME=VALUE]... [COMMON] BRIDGE BROKER [ARG...]\n"
		"       pairparent --connect SOCKET [--wait-line] [COMMON] BRIDGE|-\n"
		"       pairparent --recv SOCKET [--count N] [--timeout SECONDS]\n"
		"COMMON: [--no-vnet] [--hold] [--timeout SECONDS]\n");
	exit(EX_USAGE);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pairparent: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_FAIL);
}

static long number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

static long elapsed_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

/* waits for fd to become readable, within what is left of --timeout: 1, or 0 on timeout */
static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long left;
	int r;

	do {
		left = o.timeout_s * 1000 - elapsed_ms();
		r = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		fail("poll: %s", strerror(errno));
	return r;
}

/* a line or EOF on stdin, for --wait-line and --hold */
static void wait_stdin(void)
{
	char buf[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (wait_readable(STDIN_FILENO) > 0)
		(void)!read(STDIN_FILENO, buf, sizeof(buf));
}

static void report_grant(const struct proto_msg *m, int tapfd)
{
	char path[64 + IFNAMSIZ], link[PATH_MAX];
	const char *master = "-";
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", m->link.name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		master = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	}
	printf("grant tap=%s vnet_hdr=%d master=%s after_ms=%ld\n", m->link.name,
	       !!(m->link.flags & PROTO_F_VNET_HDR), master, elapsed_ms());
	fflush(stdout);
	granted_fd = tapfd;
}

/* --hold: the granted tap stays open until a line or EOF on stdin */
static void hold_tap(void)
{
	if (granted_fd < 0)
		return;
	if (o.hold)
		wait_stdin();
	close(granted_fd);
	granted_fd = -1;
}

/* Sends the request (unless bridge is "-"), prints the answer; the exit code. */
static int exchange(int sock, const char *bridge)
{
	struct proto_msg m = { .type = PROTO_REQUEST };
	int fd = -1, r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(bridge, "-")) {
		m.link.flags = o.vnet ? PROTO_F_VNET_HDR : 0;
		if (strlen(bridge) >= sizeof(m.link.name))
			fail("bridge name `%s' too long", bridge);
		strcpy(m.link.name, bridge);
		r = wire_send(sock, &m, NULL, 0);
		if (r < 0)
			fail("sending the request: %s", strerror(-r));
	}
	if (wait_readable(sock) == 0)
		fail("no answer within %ld s", o.timeout_s);
	r = wire_recv(sock, &m, &fd, 1);
	if (r == -ECONNRESET) {
		printf("eof after_ms=%ld\n", elapsed_ms());
		return EX_EOF;
	}
	if (r < 0)
		fail("receiving the answer: %s", strerror(-r));
	if (m.type == PROTO_REFUSE) {
		if (fd >= 0)
			fail("a refusal came with a descriptor");
		printf("refuse errno=%d after_ms=%ld reason=%s\n", m.refuse.err, elapsed_ms(),
		       m.refuse.reason);
		return EX_REFUSE;
	}
	if (m.type != PROTO_GRANT || fd < 0)
		fail("answer of type %d, descriptor %d", m.type, fd);
	report_grant(&m, fd);
	return EX_GRANT;
}

static void sockaddr_for(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		fail("socket path `%s' too long", path);
	strcpy(sa->sun_path, path);
}

static int do_connect(const char *bridge)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	sockaddr_for(o.connect, &sa);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect `%s': %s", o.connect, strerror(errno));
	if (o.wait_line) {
		printf("connected\n");
		fflush(stdout);
		wait_stdin();
		if (!strcmp(bridge, "-")) {
			close(s);
			printf("closed\n");
			return EX_GRANT;
		}
	}
	r = exchange(s, bridge);
	close(s);
	hold_tap();
	return r;
}

static void print_escaped(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	putchar('\n');
	fflush(stdout);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int do_recv(void)
{
	struct sigaction sa_term = { .sa_handler = on_term };
	static unsigned char buf[65536];
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = EX_FAIL;
	long got = 0;

	/* no SA_RESTART: a SIGTERM ends poll(), and the socket file is removed */
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGINT, &sa_term, NULL);
	sockaddr_for(o.recv, &sa);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("bind `%s': %s", o.recv, strerror(errno));
	/* a broker run as another user must be able to send */
	if (chmod(o.recv, 0666) < 0)
		fail("chmod `%s': %s", o.recv, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && got < o.count) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		long left = o.timeout_s * 1000 - elapsed_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			break;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0)
			continue;
		print_escaped(buf, (size_t)n);
		got++;
	}
	if (got == o.count)
		ret = EX_GRANT;
	else
		fprintf(stderr, "pairparent: %ld of %ld datagrams\n", got, o.count);
	unlink(o.recv);
	close(s);
	return ret;
}

/* USER's identity as SO_PEERCRED and SO_PEERGROUPS will report it */
struct ident {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

static void lookup(const char *name, struct ident *id)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
		fail("no such user `%s'", name);
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	id->ngroups = MAX_GROUPS;
	if (getgrouplist(name, pw->pw_gid, id->groups, &id->ngroups) < 0)
		fail("`%s' is in more than %d groups", name, MAX_GROUPS);
}

/*
 * The kernel records the creator's credentials in both ends of a
 * socketpair, so the pair is made with USER's effective ids.
 */
static void pair_as(const struct ident *id, int sv[2])
{
	if (setgroups((size_t)id->ngroups, id->groups) < 0 || setegid(id->gid) < 0 ||
	    seteuid(id->uid) < 0)
		fail("taking the identity of uid %u: %s", (unsigned)id->uid, strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(0, NULL) < 0)
		fail("back to root: %s", strerror(errno));
}

static void become(const struct ident *id)
{
	if (setgroups((size_t)id->ngroups, id->groups) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 || setresuid(id->uid, id->uid, id->uid) < 0)
		fail("becoming uid %u: %s", (unsigned)id->uid, strerror(errno));
	/* so that the broker's reader, as this user, may see /proc/PID/exe */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* the broker's exit status, waiting at most --timeout */
static void reap_broker(pid_t pid)
{
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			fail("waitpid: %s", strerror(errno));
		if (elapsed_ms() > o.timeout_s * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("broker killed: still running after %ld s\n", o.timeout_s);
			return;
		}
		usleep(20 * 1000);
	}
	if (WIFEXITED(status))
		printf("broker exit=%d\n", WEXITSTATUS(status));
	else
		printf("broker signal=%d\n", WTERMSIG(status));
}

static int do_pair(const char *bridge, char **argv)
{
	struct ident id;
	int sv[2], r;
	pid_t pid;

	if (o.as) {
		lookup(o.as, &id);
		pair_as(&id, sv);
	} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		fail("socketpair: %s", strerror(errno));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
			_exit(127);
		if (sv[1] > STDOUT_FILENO)
			close(sv[1]);
		for (int i = 0; i < o.nenv; i++)
			putenv((char *)o.env[i]);
		execv(argv[0], argv);
		fprintf(stderr, "pairparent: execv %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	if (o.as)
		become(&id);
	r = exchange(sv[0], bridge);
	close(sv[0]);
	/* the broker has answered and is done: its status comes before any hold */
	reap_broker(pid);
	fflush(stdout);
	hold_tap();
	return r;
}

int main(int argc, char *argv[])
{
	int i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "--as") && more)
			o.as = argv[++i];
		else if (!strcmp(a, "--env") && more && o.nenv < MAX_ENV && strchr(argv[i + 1], '='))
			o.env[o.nenv++] = argv[++i];
		else if (!strcmp(a, "--connect") && more)
			o.connect = argv[++i];
		else if (!strcmp(a, "--recv") && more)
			o.recv = argv[++i];
		else if (!strcmp(a, "--count") && more)
			o.count = number(argv[++i], 1, 1000);
		else if (!strcmp(a, "--timeout") && more)
			o.timeout_s = number(argv[++i], 1, TIMEOUT_MAX);
		else if (!strcmp(a, "--wait-line"))
			o.wait_line = true;
		else if (!strcmp(a, "--hold"))
			o.hold = true;
		else if (!strcmp(a, "--no-vnet"))
			o.vnet = false;
		else
			usage();
	}
	if (!!o.connect + !!o.recv > 1 || ((o.connect || o.recv) && (o.as || o.nenv)) ||
	    (o.wait_line && !o.connect))
		usage();
	if (o.recv) {
		if (i != argc)
			usage();
		return do_recv();
	}
	if (o.connect) {
		if (argc - i != 1)
			usage();
		return do_connect(argv[i]);
	}
	if (argc - i < 2 || argv[i + 1][0] != '/')
		usage();
	return do_pair(argv[i], argv + i + 1);
}

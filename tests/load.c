/* SPDX-License-Identifier: ISC */
/*
 * ontap-load: load and fault injection against a running ontap-broker,
 * talking the wire protocol directly (proto.h, wire.h).  Run as root in a
 * test network namespace (tests/load.sh): clients drop to the identities
 * given with --user before they connect, so the broker sees real users.
 *
 *   ontap-load MODE --socket PATH --user UID:GID[:G,G..] [--user ...] [options]
 *
 *   flood       --requests N --concurrency C: N requests, C at a time, the
 *               users taking turns; every grant's tap is checked (TUNGETIFF,
 *               master).  --broker-pid P: its RSS (--rss-slack-kb, default
 *               1024), fds and workers before and
 *               after.  --kill-broker-after MS: SIGKILL P then, and judge
 *               what clients saw (clients stop 300 ms after the kill; N is
 *               then only a cap); with --kill-tree, its workers and their
 *               children too, all at once (a supervisor killing the group).
 *   idle        --idle N --hold S [--drip MS] [--legit-user U] [--max-latency MS]:
 *               N connections from the first user that send nothing (or a
 *               byte every MS), reopened when the broker drops them, for S
 *               seconds; meanwhile the legit user asks every --every MS.
 *   malformed   [--garbage N]: truncated, oversized, wrong version, trailing
 *               bytes, 1-byte writes, descriptors sent to the broker, clients
 *               that close early; the broker must keep serving.
 *   killpoints  [--rounds R]: a client killed at every point of the exchange;
 *               no tap may survive it.
 *   probe       [--timeout-ms MS]: asks until granted; prints how long it took.
 *
 * Output: "RESULT PASS|FAIL what" per check, "FIGURE name key=value..." for
 * the numbers, "# ..." for the rest.  Exit 0 iff no check failed.  Every
 * loop is bounded in count and time; every child is killed by pid at the
 * end if it is still there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "wire.h"
#include "testutil.h"

#define MAX_USERS    32
#define MAX_GROUPS   16
#define MAX_CHILDREN 512
#define MAX_LAT      100000

/* ---- options ---------------------------------------------------------- */

struct ident {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MAX_GROUPS];
};

static struct {
	const char *socket;
	const char *bridge;
	struct ident users[MAX_USERS];
	int nusers;
	struct ident legit;
	bool have_legit;
	long requests, concurrency, max_seconds;
	pid_t broker_pid;
	long kill_after_ms;
	bool kill_tree;
	long idle, hold_s, drip_ms, every_ms, max_latency_ms;
	long garbage, rounds, timeout_ms;
	long rss_slack_kb;
	unsigned seed;
} opt = {
	.bridge = "br0",
	.requests = 1000, .concurrency = 64, .max_seconds = 600,
	.kill_after_ms = -1,
	.idle = 1000, .hold_s = 12, .drip_ms = 0, .every_ms = 500, .max_latency_ms = 2000,
	.garbage = 50, .rounds = 3, .timeout_ms = 10000, .seed = 1, .rss_slack_kb = 1024,
};

static int failures;

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT %s ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("ontap-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		fatal("%s: `%s' is not a number in [%ld, %ld]", what, s, min, max);
	return v;
}

static void parse_ident(const char *s, struct ident *id)
{
	char buf[512], *save = NULL, *tok;
	int field = 0;

	if (strlen(s) >= sizeof(buf))
		fatal("--user `%s': too long", s);
	strcpy(buf, s);
	memset(id, 0, sizeof(*id));
	for (tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save), field++) {
		if (field == 0) {
			id->uid = (uid_t)num(tok, 1, INT_MAX, "uid");
		} else if (field == 1) {
			id->gid = (gid_t)num(tok, 0, INT_MAX, "gid");
		} else if (field == 2) {
			char *save2 = NULL;

			for (char *g = strtok_r(tok, ",", &save2); g; g = strtok_r(NULL, ",", &save2)) {
				if (id->ngroups == MAX_GROUPS)
					fatal("--user `%s': more than %d groups", s, MAX_GROUPS);
				id->groups[id->ngroups++] = (gid_t)num(g, 0, INT_MAX, "group");
			}
		} else {
			fatal("--user `%s': UID:GID[:G,G...]", s);
		}
	}
	if (field < 2)
		fatal("--user `%s': UID:GID[:G,G...]", s);
}

/* ---- time, processes, identities --------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void become(const struct ident *id)
{
	if (setgroups((size_t)id->ngroups, id->groups) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 || setresuid(id->uid, id->uid, id->uid) < 0)
		fatal("cannot become %u:%u: %s", id->uid, id->gid, strerror(errno));
	if (getuid() != id->uid || geteuid() != id->uid || getegid() != id->gid)
		fatal("identity did not stick");
}

static void *shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	return p;
}

/* fork a child that runs fn(arg) as id and _exits; the pid, or fatal */
static pid_t child(const struct ident *id, void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		if (id)
			become(id);
		/* after become(): a change of credentials clears it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		fn(arg);
		_exit(0);
	}
	return pid;
}

/*
 * Reaps the given children, waiting until deadline (ms, monotonic); any
 * still running then is killed by pid.  Returns how many had to be killed.
 */
static int reap_all(pid_t *pids, int n, double deadline)
{
	int left = 0, killed = 0;

	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			left++;
	while (left > 0) {
		for (int i = 0; i < n; i++) {
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
				pids[i] = 0;
				left--;
			}
		}
		if (left == 0)
			break;
		if (now_ms() > deadline) {
			for (int i = 0; i < n; i++) {
				if (pids[i] > 0) {
					kill(pids[i], SIGKILL);
					waitpid(pids[i], NULL, 0);
					pids[i] = 0;
					killed++;
				}
			}
			break;
		}
		sleep_ms(5);
	}
	return killed;
}

/* ---- the kernel's view ------------------------------------------------- */

static int count_taps(void)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;
	int n = 0;

	if (!d)
		fatal("/sys/class/net: %s", strerror(errno));
	while ((e = readdir(d))) {
		char path[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", e->d_name);
		if (access(path, F_OK) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* waits up to ms for the number of taps to drop to base; the time it took, or -1 */
static double taps_settle(int base, double ms)
{
	double t0 = now_ms();

	for (;;) {
		if (count_taps() <= base)
			return now_ms() - t0;
		if (now_ms() - t0 > ms)
			return -1;
		sleep_ms(5);
	}
}

/* the tap behind fd is the one named, of the right kind, on the bridge */
static bool tap_ok(int fd, const char *name, bool vnet, const char *bridge)
{
	struct ifreq ifr;
	char path[300], link[PATH_MAX];
	const char *base;
	ssize_t n;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || strcmp(ifr.ifr_name, name) != 0)
		return false;
	if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI)) != (IFF_TAP | IFF_NO_PI))
		return false;
	if (!!(ifr.ifr_flags & IFF_VNET_HDR) != vnet)
		return false;
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	base = strrchr(link, '/');
	return strcmp(base ? base + 1 : link, bridge) == 0;
}

struct broker_state {
	long rss_kb;
	int fds;
	int children;
};

static bool broker_state(pid_t pid, struct broker_state *st)
{
	char path[300], line[256];
	FILE *f;
	DIR *d;
	struct dirent *e;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "VmRSS: %ld", &st->rss_kb);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			st->fds++;
	closedir(d);
	/* workers: processes whose parent is the broker */
	d = opendir("/proc");
	if (!d)
		return false;
	while ((e = readdir(d))) {
		int ppid = 0;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f)) {
			char *rp = strrchr(line, ')');

			if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
				st->children++;
		}
		fclose(f);
	}
	closedir(d);
	return true;
}

/* root and every process below it, found through /proc's parent links */
static int descendants(pid_t root, pid_t *out, int max)
{
	static pid_t pid[65536], ppid[65536];
	int n = 0, found = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		fatal("/proc: %s", strerror(errno));
	while ((e = readdir(d)) && n < 65536) {
		char path[300], line[512], *rp;
		FILE *f;
		int pp;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) && (rp = strrchr(line, ')')) &&
		    sscanf(rp + 2, "%*c %d", &pp) == 1) {
			pid[n] = atoi(e->d_name);
			ppid[n++] = pp;
		}
		fclose(f);
	}
	closedir(d);
	out[found++] = root;
	for (int i = 0; i < found; i++)
		for (int j = 0; j < n && found < max; j++)
			if (ppid[j] == out[i])
				out[found++] = pid[j];
	return found;
}

/* ---- one exchange ------------------------------------------------------ */

enum outcome {
	O_GRANT, O_REFUSE, O_CLOSED, O_TIMEOUT, O_CONNREFUSED, O_NOSOCK, O_PROTO,
	O_BADTAP, O_OTHER, O__N
};

static const char *const oname[O__N] = {
	"grant", "refuse", "closed", "timeout", "connrefused", "nosocket", "protocol",
	"badtap", "other",
};

struct reply {
	enum outcome o;
	int err;                          /* the refusal's errno, or the failure's */
	char reason[PROTO_REASON_MAX + 1];
	char tap[IFNAMSIZ];
	bool vnet;
	int fd;
};

static void set_timeouts(int s, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* a connected socket, or -1 with r->o set */
static int dial(struct reply *r, long timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		fatal("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.socket);
	set_timeouts(s, timeout_ms);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r->err = errno;
		r->o = errno == ECONNREFUSED ? O_CONNREFUSED
		     : errno == ENOENT ? O_NOSOCK
		     : errno == EAGAIN ? O_TIMEOUT : O_OTHER;
		close(s);
		return -1;
	}
	return s;
}

static void read_reply(int s, struct reply *r)
{
	struct proto_msg msg;
	int fd = -1, e = wire_recv(s, &msg, &fd, 1);

	r->fd = -1;
	if (e == -EAGAIN || e == -EWOULDBLOCK) {
		r->o = O_TIMEOUT;
	} else if (e == -ECONNRESET || e == -EPIPE) {
		r->o = O_CLOSED;
	} else if (e < 0) {
		r->o = O_PROTO;
		r->err = -e;
	} else if (msg.type == PROTO_REFUSE) {
		r->o = fd >= 0 ? O_PROTO : O_REFUSE;
		r->err = msg.refuse.err;
		snprintf(r->reason, sizeof(r->reason), "%s", msg.refuse.reason);
	} else if (msg.type == PROTO_GRANT && fd >= 0) {
		r->o = O_GRANT;
		memcpy(r->tap, msg.link.name, IFNAMSIZ);
		r->vnet = msg.link.flags & PROTO_F_VNET_HDR;
		r->fd = fd;
		return;
	} else {
		r->o = O_PROTO;
	}
	if (fd >= 0)
		close(fd);
}

/* one whole request for bridge; on a grant the tap is checked and r->fd kept */
static void request(const char *bridge, bool vnet, long timeout_ms, struct reply *r)
{
	struct proto_msg msg = { .type = PROTO_REQUEST };
	int s, e;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	s = dial(r, timeout_ms);
	if (s < 0)
		return;
	msg.link.flags = vnet ? PROTO_F_VNET_HDR : 0;
	snprintf(msg.link.name, sizeof(msg.link.name), "%s", bridge);
	e = wire_send(s, &msg, NULL, 0);
	if (e < 0 && e != -EPIPE && e != -ECONNRESET) {
		r->o = O_OTHER;
		r->err = -e;
		close(s);
		return;
	}
	/*
	 * Even when sending failed: a broker that turns a client away may
	 * answer and close before the request is sent; the answer is there.
	 */
	read_reply(s, r);
	close(s);
	if (r->o == O_GRANT && !tap_ok(r->fd, r->tap, vnet, bridge)) {
		r->o = O_BADTAP;
		close(r->fd);
		r->fd = -1;
	}
}

static void drop(struct reply *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* ---- statistics -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* sorts lat in place; p in [0, 100] */
static double pct(double *lat, long n, double p)
{
	long i;

	if (n <= 0)
		return 0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	i = (long)ceil(p / 100.0 * (double)n) - 1;
	if (i < 0)
		i = 0;
	return lat[i < n ? i : n - 1];
}

/* ---- flood ------------------------------------------------------------- */

struct flood_shared {
	long next;
	double start, kill_at;          /* ms, monotonic; kill_at 0 until killed */
	long count[O__N];
	double lat[MAX_LAT];
	double begin[MAX_LAT];
	unsigned char outcome[MAX_LAT];
	char first_refusal[PROTO_REASON_MAX + 1];
};

static struct flood_shared *fs;

static void flood_worker(void *arg)
{
	(void)arg;
	for (;;) {
		long i = __atomic_fetch_add(&fs->next, 1, __ATOMIC_RELAXED);
		struct reply r;
		double t0;

		if (i >= opt.requests || now_ms() - fs->start > (double)opt.max_seconds * 1000)
			return;
		/* with a kill: go on until it, and a little after to see what clients get */
		if (fs->kill_at > 0 && now_ms() - fs->kill_at > 300)
			return;
		t0 = now_ms();
		request(opt.bridge, i % 2 == 0, 15000, &r);
		drop(&r);
		fs->begin[i] = t0;
		fs->lat[i] = now_ms() - t0;
		fs->outcome[i] = (unsigned char)r.o;
		__atomic_fetch_add(&fs->count[r.o], 1, __ATOMIC_RELAXED);
		if (r.o == O_REFUSE && !fs->first_refusal[0])
			snprintf(fs->first_refusal, sizeof(fs->first_refusal), "%s", r.reason);
	}
}

static void print_counts(const char *name, const long *count)
{
	printf("FIGURE %s", name);
	for (int o = 0; o < O__N; o++)
		printf(" %s=%ld", oname[o], count[o]);
	putchar('\n');
	fflush(stdout);
}

static void mode_flood(void)
{
	pid_t pids[MAX_CHILDREN];
	struct broker_state before = { 0 }, after = { 0 };
	int base = count_taps(), killed;
	double elapsed, settle, *lat;
	long done = 0, n = 0;

	if (opt.requests > MAX_LAT || opt.concurrency > MAX_CHILDREN)
		fatal("at most %d requests and %d clients", MAX_LAT, MAX_CHILDREN);
	if (opt.broker_pid > 0 && !broker_state(opt.broker_pid, &before))
		fatal("broker pid %d: no such process", (int)opt.broker_pid);
	fs = shared(sizeof(*fs));
	fs->start = now_ms();
	for (long i = 0; i < opt.concurrency; i++)
		pids[i] = child(&opt.users[i % opt.nusers], flood_worker, NULL);
	if (opt.kill_after_ms >= 0) {
		sleep_ms((double)opt.kill_after_ms);
		if (opt.kill_tree) {
			static pid_t tree[4096];
			int ntree;

			/* stopped, it forks no new worker while its tree is listed */
			kill(opt.broker_pid, SIGSTOP);
			ntree = descendants(opt.broker_pid, tree, 4096);
			fs->kill_at = now_ms();
			for (int i = 0; i < ntree; i++)
				kill(tree[i], SIGKILL);
			note("broker %d and %d processes below it killed with SIGKILL after %ld ms",
			     (int)opt.broker_pid, ntree - 1, opt.kill_after_ms);
		} else {
			fs->kill_at = now_ms();
			if (kill(opt.broker_pid, SIGKILL) < 0)
				fatal("kill %d: %s", (int)opt.broker_pid, strerror(errno));
			note("broker %d killed with SIGKILL after %ld ms", (int)opt.broker_pid,
			     opt.kill_after_ms);
		}
		waitpid(opt.broker_pid, NULL, WNOHANG);
	}
	killed = reap_all(pids, (int)opt.concurrency,
			  fs->start + (double)opt.max_seconds * 1000 + 30000);
	elapsed = now_ms() - fs->start;
	settle = taps_settle(base, 15000);

	for (int o = 0; o < O__N; o++)
		done += fs->count[o];
	lat = malloc(sizeof(double) * (size_t)(done ? done : 1));
	if (!lat)
		fatal("out of memory");
	for (long i = 0; i < done && i < opt.requests; i++)
		lat[n++] = fs->lat[i];
	printf("FIGURE flood requests=%ld done=%ld concurrency=%ld users=%d granted=%ld failed=%ld"
	       " seconds=%.1f rate=%.0f/s p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
	       opt.requests, done, opt.concurrency, opt.nusers, fs->count[O_GRANT],
	       done - fs->count[O_GRANT], elapsed / 1000, (double)done / (elapsed / 1000),
	       pct(lat, n, 50), pct(lat, n, 99), pct(lat, n, 100));
	print_counts("flood_outcomes", fs->count);
	if (fs->first_refusal[0])
		note("first refusal: %s", fs->first_refusal);
	result(killed == 0, "flood: every client finished in time (%d killed)", killed);

	if (opt.kill_after_ms < 0) {
		result(done == opt.requests && fs->count[O_GRANT] == opt.requests,
		       "flood: %ld of %ld requests granted, tap checked (%ld failures)",
		       fs->count[O_GRANT], opt.requests, done - fs->count[O_GRANT]);
	} else {
		/* each request judged by when it started relative to the SIGKILL */
		long before_ok = 0, before_n = 0, after_n = 0, after_clear = 0, after_closed = 0;
		long grants_after = 0;
		double slowest_after = 0, slowest_inflight = 0;

		for (long i = 0; i < done && i < opt.requests; i++) {
			double end = fs->begin[i] + fs->lat[i];

			if (end < fs->kill_at) {
				/* answered: a grant, or a refusal such as a per-user bound */
				before_n++;
				before_ok += fs->outcome[i] == O_GRANT || fs->outcome[i] == O_REFUSE;
			} else if (fs->begin[i] >= fs->kill_at) {
				after_n++;
				/*
				 * kill() returns before the listener's socket is gone: a
				 * connect() in that gap lands in the backlog, which is then
				 * closed.  Both are a clear, immediate error to a client.
				 */
				after_clear += fs->outcome[i] == O_CONNREFUSED;
				after_closed += fs->outcome[i] == O_CLOSED;
				if (fs->lat[i] > slowest_after)
					slowest_after = fs->lat[i];
			} else {
				/* in flight at the kill: served by a surviving worker, or dropped */
				grants_after += fs->outcome[i] == O_GRANT;
				if (end - fs->kill_at > slowest_inflight)
					slowest_inflight = end - fs->kill_at;
			}
		}
		printf("FIGURE sigkill before=%ld before_answered=%ld inflight=%ld inflight_granted=%ld"
		       " inflight_slowest_ms=%.1f after=%ld after_connrefused=%ld after_closed=%ld"
		       " after_slowest_ms=%.1f\n",
		       before_n, before_ok, done - before_n - after_n, grants_after, slowest_inflight,
		       after_n, after_clear, after_closed, slowest_after);
		fflush(stdout);
		result(before_n > 0 && before_ok == before_n,
		       "sigkill: all %ld requests finished before the kill were answered (%ld)",
		       before_n, before_ok);
		result(after_n > 0 && after_clear + after_closed == after_n,
		       "sigkill: all %ld requests made after the kill got ECONNREFUSED (%ld) or a"
		       " closed connection (%ld)", after_n, after_clear, after_closed);
		result(slowest_after < 1000, "sigkill: each of them within 1 s (slowest %.1f ms)",
		       slowest_after);
		result(slowest_inflight < 2000,
		       "sigkill: requests in flight at the kill ended within 2 s (slowest %.1f ms)",
		       slowest_inflight);
	}
	printf("FIGURE taps base=%d after=%d settle_ms=%.0f\n", base, count_taps(), settle);
	result(settle >= 0, "flood: no tap left once all clients closed (%d, base %d)",
	       count_taps(), base);
	if (opt.broker_pid > 0 && opt.kill_after_ms < 0) {
		/* idle workers stay (reused for their identity), one channel each */
		broker_state(opt.broker_pid, &after);
		printf("FIGURE broker rss_kb_before=%ld rss_kb_after=%ld fds_before=%d fds_after=%d"
		       " workers_after=%d\n", before.rss_kb, after.rss_kb, before.fds, after.fds,
		       after.children);
		fflush(stdout);
		result(after.fds - after.children == before.fds - before.children,
		       "flood: broker holds %d fds after, %d before, but one channel per child"
		       " (%d children after, %d before)", after.fds, before.fds, after.children,
		       before.children);
		result(after.rss_kb <= before.rss_kb + opt.rss_slack_kb,
		       "flood: broker RSS %ld kB after, %ld kB before (at most +%ld kB)",
		       after.rss_kb, before.rss_kb, opt.rss_slack_kb);
		/* the maker, the closer, and at most max-requests (64 by default) idle workers */
		result(after.children <= 66, "flood: at most 64 idle workers, the maker and the closer (%d)",
		       after.children);
	}
	free(lat);
	munmap(fs, sizeof(*fs));
}

/* ---- idle flood -------------------------------------------------------- */

struct idle_shared {
	int ready;               /* the attacker has its connections open */
	int done;                /* the attacker has closed them */
	double end;              /* ms, monotonic: the attack stops */
	long opened, closed_by_broker, backlog_full, max_open;
	double max_life;         /* ms: the longest a connection lived */
	long nlegit, legit_ok;
	double legit_lat[4096];
	unsigned char legit_o[4096];
	double after_lat;
	int after_o;
};

static struct idle_shared *is;

struct iconn {
	int fd;
	double opened, next_drip;
	size_t sent;
};

static uint8_t idle_req[PROTO_MSG_MAX];
static size_t idle_req_len;

static void iconn_open(struct iconn *c, long *nopen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	c->fd = -1;
	if (s < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.socket);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EAGAIN)
			is->backlog_full++;
		close(s);
		return;
	}
	c->fd = s;
	c->opened = now_ms();
	c->next_drip = c->opened + (double)opt.drip_ms;
	c->sent = 0;
	is->opened++;
	if (++*nopen > is->max_open)
		is->max_open = *nopen;
}

static void iconn_close(struct iconn *c, long *nopen, bool by_broker)
{
	double life = now_ms() - c->opened;

	close(c->fd);
	c->fd = -1;
	--*nopen;
	if (by_broker) {
		is->closed_by_broker++;
		if (life > is->max_life)
			is->max_life = life;
	}
}

static void idle_attacker(void *arg)
{
	long n = opt.idle, nopen = 0, reopen_budget = 0;
	struct iconn *c = calloc((size_t)n, sizeof(*c));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	double last_refill = now_ms();

	(void)arg;
	if (!c || !p)
		fatal("out of memory");
	for (long i = 0; i < n; i++)
		iconn_open(&c[i], &nopen);
	__atomic_store_n(&is->ready, 1, __ATOMIC_RELEASE);
	while (now_ms() < is->end) {
		double t = now_ms();

		/* reopening is paced (at most 200/s), so the attack is a load, not a spin */
		reopen_budget += (long)((t - last_refill) / 5);
		if (reopen_budget > 200)
			reopen_budget = 200;
		last_refill = t;
		for (long i = 0; i < n; i++) {
			p[i].fd = c[i].fd;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 50) < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		t = now_ms();
		for (long i = 0; i < n; i++) {
			if (c[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				iconn_close(&c[i], &nopen, true);
			} else if (c[i].fd >= 0 && opt.drip_ms > 0 && t >= c[i].next_drip &&
				   c[i].sent < idle_req_len) {
				if (send(c[i].fd, idle_req + c[i].sent, 1, MSG_NOSIGNAL) == 1)
					c[i].sent++;
				c[i].next_drip = t + (double)opt.drip_ms;
			}
			if (c[i].fd < 0 && reopen_budget > 0) {
				reopen_budget--;
				iconn_open(&c[i], &nopen);
			}
		}
	}
	for (long i = 0; i < n; i++)
		if (c[i].fd >= 0)
			iconn_close(&c[i], &nopen, false);
	__atomic_store_n(&is->done, 1, __ATOMIC_RELEASE);
}

static void idle_legit(void *arg)
{
	double give_up = now_ms() + 30000;
	struct reply r;

	(void)arg;
	while (!__atomic_load_n(&is->ready, __ATOMIC_ACQUIRE) && now_ms() < give_up)
		sleep_ms(10);
	sleep_ms(200);   /* let the broker's workers fill up with the attacker's connections */
	while (now_ms() + (double)opt.max_latency_ms < is->end && is->nlegit < 4096) {
		double t0 = now_ms();

		request(opt.bridge, true, opt.max_latency_ms, &r);
		drop(&r);
		is->legit_lat[is->nlegit] = now_ms() - t0;
		is->legit_o[is->nlegit] = (unsigned char)r.o;
		is->legit_ok += r.o == O_GRANT;
		is->nlegit++;
		sleep_ms((double)opt.every_ms - (now_ms() - t0));
	}
	while (!__atomic_load_n(&is->done, __ATOMIC_ACQUIRE) && now_ms() < give_up + 60000)
		sleep_ms(10);
	{
		double t0 = now_ms();

		request(opt.bridge, true, 10000, &r);
		drop(&r);
		is->after_lat = now_ms() - t0;
		is->after_o = r.o;
	}
}

static void mode_idle(void)
{
	struct proto_msg m = { .type = PROTO_REQUEST, .link.flags = PROTO_F_VNET_HDR };
	struct rlimit rl = { (rlim_t)opt.idle + 64, (rlim_t)opt.idle + 64 };
	pid_t pids[2];
	long counts[O__N] = { 0 };
	double lat[4096], worst;
	int base = count_taps();
	long n;

	if (!opt.have_legit)
		fatal("idle needs --legit-user");
	snprintf(m.link.name, sizeof(m.link.name), "%s", opt.bridge);
	idle_req_len = (size_t)proto_encode(&m, idle_req, sizeof(idle_req));
	/* the attacker holds opt.idle sockets at once: raise the limit while root */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fatal("setrlimit(RLIMIT_NOFILE, %ld): %s", opt.idle + 64, strerror(errno));
	is = shared(sizeof(*is));
	is->end = now_ms() + (double)opt.hold_s * 1000;
	pids[0] = child(&opt.users[0], idle_attacker, NULL);
	pids[1] = child(&opt.legit, idle_legit, NULL);
	reap_all(pids, 2, is->end + 90000);

	n = is->nlegit;
	for (long i = 0; i < n; i++) {
		lat[i] = is->legit_lat[i];
		counts[is->legit_o[i]]++;
	}
	worst = pct(lat, n, 100);
	printf("FIGURE idle connections=%ld drip_ms=%ld hold_s=%ld opened=%ld max_open=%ld"
	       " closed_by_broker=%ld backlog_full=%ld longest_life_ms=%.0f\n",
	       opt.idle, opt.drip_ms, opt.hold_s, is->opened, is->max_open, is->closed_by_broker,
	       is->backlog_full, is->max_life);
	printf("FIGURE idle_legit requests=%ld granted=%ld p50_ms=%.1f max_ms=%.1f after_ms=%.1f"
	       " after=%s\n", n, is->legit_ok, pct(lat, n, 50), worst, is->after_lat,
	       oname[is->after_o]);
	print_counts("idle_legit_outcomes", counts);
	result(is->max_open >= opt.idle * 9 / 10, "idle: %ld of %ld connections held at once",
	       is->max_open, opt.idle);
	result(n > 0 && is->legit_ok == n && worst <= (double)opt.max_latency_ms,
	       "idle: %ld of %ld legitimate requests granted during the flood, slowest %.0f ms"
	       " (limit %ld ms)", is->legit_ok, n, worst, opt.max_latency_ms);
	if (opt.drip_ms > 0)
		result(is->closed_by_broker > 0 && is->max_life < 12500,
		       "idle: a client dripping a byte every %ld ms is cut off at the deadline"
		       " (longest %.0f ms, %ld cut)", opt.drip_ms, is->max_life, is->closed_by_broker);
	result(is->after_o == O_GRANT && is->after_lat < 3000,
	       "idle: served at once after the flood (%s in %.0f ms)", oname[is->after_o],
	       is->after_lat);
	result(taps_settle(base, 5000) >= 0, "idle: no tap left");
	munmap(is, sizeof(*is));
}

/* ---- malformed traffic ------------------------------------------------- */

/* header + REQUEST body by hand, so that any field can be wrong */
static size_t raw_request(uint8_t *b, uint32_t magic, uint16_t ver, uint16_t type,
			  uint32_t flags, const char *name, size_t n)
{
	put32(b, magic);
	put16(b + 4, ver);
	put16(b + 6, type);
	put32(b + 8, (uint32_t)(5 + n));
	put32(b + 12, flags);
	b[16] = (uint8_t)n;
	memcpy(b + 17, name, n);
	return 17 + n;
}

static size_t good_request(uint8_t *b)
{
	return raw_request(b, PROTO_MAGIC, PROTO_VERSION, PROTO_REQUEST, PROTO_F_VNET_HDR,
			   opt.bridge, strlen(opt.bridge));
}

/* sendmsg with n descriptors (copies of fdv[0]) on the first byte */
static ssize_t send_fds(int s, const void *buf, size_t len, const int *fdv, int n)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
		for (int i = 0; i < n; i++)
			memcpy(CMSG_DATA(c) + (size_t)i * sizeof(int), &fdv[0], sizeof(int));
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL);
}

enum expect {
	X_REFUSE,        /* a REFUSE message (errno given, or any if 0) */
	X_REFUSE_CLOSE,  /* a REFUSE, or the connection closed */
	X_GRANT,         /* served normally */
	X_NONE,          /* the client goes away: nothing to read */
};

struct mcase {
	const char *name;
	enum expect x;
	int err;                        /* for X_REFUSE: the errno expected, 0 any */
	/* does its thing on a connected socket; returns false if it could not */
	bool (*act)(int s, const struct mcase *mc);
	uint8_t bytes[64];
	size_t len;
	bool shut;                      /* shutdown(SHUT_WR) after the bytes */
};

static bool act_bytes(int s, const struct mcase *mc)
{
	if (mc->len && send(s, mc->bytes, mc->len, MSG_NOSIGNAL) != (ssize_t)mc->len)
		return false;
	if (mc->shut)
		shutdown(s, SHUT_WR);
	return true;
}

static bool act_huge(int s, const struct mcase *mc)
{
	static uint8_t junk[1 << 20];

	(void)mc;
	memset(junk, 'A', sizeof(junk));
	set_timeouts(s, 1000);
	/* the broker stops reading after the bad header: the rest may not go out */
	send(s, junk, sizeof(junk), MSG_NOSIGNAL);
	set_timeouts(s, 3000);
	return true;
}

static bool act_bytewise(int s, const struct mcase *mc)
{
	uint8_t b[64];
	size_t n = good_request(b);

	(void)mc;
	for (size_t i = 0; i < n; i++) {
		if (send(s, b + i, 1, MSG_NOSIGNAL) != 1)
			return false;
		sleep_ms(20);
	}
	return true;
}

static bool act_trailing_later(int s, const struct mcase *mc)
{
	uint8_t b[128];
	size_t n = good_request(b);

	(void)mc;
	n += good_request(b + n);
	return send(s, b, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* one descriptor, or several, or one riding on a later byte */
static bool send_with_fds(int s, int nfds, size_t at)
{
	uint8_t b[64];
	size_t n = good_request(b);
	int pfd[2];
	char c;
	bool ok;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return false;
	ok = (at == 0 || send(s, b, at, MSG_NOSIGNAL) == (ssize_t)at) &&
	     send_fds(s, b + at, n - at, &pfd[1], nfds) == (ssize_t)(n - at);
	close(pfd[1]);
	if (ok) {
		struct reply r;

		read_reply(s, &r);
		/* no copy of the write end may survive in the broker: EOF, not a block */
		set_timeouts(pfd[0], 0);
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		for (int i = 0; i < 200 && read(pfd[0], &c, 1) < 0 && errno == EAGAIN; i++)
			sleep_ms(10);
		ok = read(pfd[0], &c, 1) == 0;
		result(ok, "malformed: the descriptor(s) sent to the broker are closed by it");
		result(r.o == O_REFUSE, "malformed: %d fd(s) on byte %zu: refused (%s: %s)",
		       nfds, at, oname[r.o], r.reason);
		drop(&r);
		ok = true;
	}
	close(pfd[0]);
	return ok;
}

static bool act_fd1(int s, const struct mcase *mc) { (void)mc; return send_with_fds(s, 1, 0); }
static bool act_fd8(int s, const struct mcase *mc) { (void)mc; return send_with_fds(s, 8, 0); }
static bool act_fd_late(int s, const struct mcase *mc) { (void)mc; return send_with_fds(s, 1, 14); }

/*
 * A version-2 veth request with its namespace descriptor, as the protocol
 * wants it, but the namespace is the broker's own (this process runs in
 * it): refused (EPERM) before any policy is read, and the descriptor closed
 * on the way (worker, listener) like every other.
 */
static bool act_veth(int s, const struct mcase *mc)
{
	static const uint8_t b[] = { 0x4f, 0x4e, 0x54, 0x50, 0, 2, 0, 1, 0, 0, 0, 12,
				     2, 0, 0, 0, 0, 0, 1, 3, 'b', 'r', '0', 0 };
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct reply r;

	(void)mc;
	if (ns < 0 || send_fds(s, b, sizeof(b), &ns, 1) != (ssize_t)sizeof(b)) {
		if (ns >= 0)
			close(ns);
		return false;
	}
	close(ns);
	read_reply(s, &r);
	result(r.o == O_REFUSE && r.err == EPERM && strstr(r.reason, "broker's own network namespace"),
	       "malformed: a version-2 veth request into the broker's namespace: refused, EPERM "
	       "(%s %d: %s)", oname[r.o], r.err, r.reason);
	drop(&r);
	return true;
}

/* the broker's own socket, sent to it: a descriptor that could make a cycle */
static bool act_fd_socket(int s, const struct mcase *mc)
{
	uint8_t b[64];
	size_t n = good_request(b);
	struct reply r;

	(void)mc;
	if (send_fds(s, b, n, &s, 1) != (ssize_t)n)
		return false;
	read_reply(s, &r);
	result(r.o == O_REFUSE, "malformed: its own socket sent to the broker: refused (%s)",
	       oname[r.o]);
	drop(&r);
	return true;
}

static bool act_close_mid(int s, const struct mcase *mc)
{
	uint8_t b[64];

	(void)mc;
	good_request(b);
	return send(s, b, 7, MSG_NOSIGNAL) == 7;   /* the caller closes */
}

static bool act_close_before_reply(int s, const struct mcase *mc)
{
	uint8_t b[64];
	size_t n = good_request(b);

	(void)mc;
	return send(s, b, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static bool act_shut_rd(int s, const struct mcase *mc)
{
	uint8_t b[64];
	size_t n = good_request(b);

	(void)mc;
	shutdown(s, SHUT_RD);
	return send(s, b, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* sends a valid request and holds the unread reply (and its tap) for a while */
static bool act_hold_unread(int s, const struct mcase *mc)
{
	uint8_t b[64];
	size_t n = good_request(b);
	struct pollfd p = { .fd = s, .events = POLLIN };

	(void)mc;
	if (send(s, b, n, MSG_NOSIGNAL) != (ssize_t)n)
		return false;
	poll(&p, 1, 3000);
	sleep_ms(500);
	return true;
}

#define HDR(m, v, t, l) \
	(m) >> 24, ((m) >> 16) & 0xff, ((m) >> 8) & 0xff, (m) & 0xff, \
	(v) >> 8, (v) & 0xff, (t) >> 8, (t) & 0xff, \
	(l) >> 24, ((l) >> 16) & 0xff, ((l) >> 8) & 0xff, (l) & 0xff
#define ONTP 0x4f4e5450u
#define BR0 0, 0, 0, 1, 3, 'b', 'r', '0'

static const struct mcase mcases[] = {
	{ "nothing, then EOF", X_REFUSE_CLOSE, 0, act_bytes, { 0 }, 0, true },
	{ "5 bytes of a header, then EOF", X_REFUSE_CLOSE, 0, act_bytes, { 'O', 'N', 'T', 'P', 0 }, 5, true },
	{ "a header and 3 bytes of its body, then EOF", X_REFUSE_CLOSE, 0, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0 }, 15, true },
	{ "body length 0xffffffff (no body follows)", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 0xffffffffu) }, 12, false },
	{ "body length 21 (one over the maximum)", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 21) }, 12, false },
	{ "1 MiB of junk", X_REFUSE_CLOSE, 0, act_huge, { 0 }, 0, false },
	{ "wrong magic", X_REFUSE, EPROTO, act_bytes, { HDR(0x4f4e5451u, 1, 1, 8), BR0 }, 20, false },
	{ "version 0", X_REFUSE, EPROTONOSUPPORT, act_bytes, { HDR(ONTP, 0, 1, 8), BR0 }, 20, false },
	{ "version 3", X_REFUSE, EPROTONOSUPPORT, act_bytes, { HDR(ONTP, 3, 1, 8), BR0 }, 20, false },
	/* version 2's REQUEST is laid out otherwise: 8 bytes are below its minimum */
	{ "version 2 with a version-1 body", X_REFUSE, EPROTO, act_bytes, { HDR(ONTP, 2, 1, 8), BR0 }, 20, false },
	{ "version 0xffff", X_REFUSE, EPROTONOSUPPORT, act_bytes, { HDR(ONTP, 0xffff, 1, 8), BR0 }, 20, false },
	{ "type 0", X_REFUSE, EPROTO, act_bytes, { HDR(ONTP, 1, 0, 8), BR0 }, 20, false },
	/* a GRANT carries its tap's descriptor: without one it is malformed before its type matters */
	{ "type GRANT sent to the broker", X_REFUSE, EBADMSG, act_bytes, { HDR(ONTP, 1, 2, 8), BR0 }, 20, false },
	{ "type REFUSE sent to the broker", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 3, 8), 0, 0, 0, 13, 0, 2, 'n', 'o' }, 20, false },
	{ "type 4", X_REFUSE, EPROTO, act_bytes, { HDR(ONTP, 1, 4, 8), BR0 }, 20, false },
	{ "unknown flag bit", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 3, 3, 'b', 'r', '0' }, 20, false },
	{ "name length 0", X_REFUSE, EPROTO, act_bytes, { HDR(ONTP, 1, 1, 5), 0, 0, 0, 1, 0 }, 17, false },
	{ "name length larger than the body", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 9, 'b', 'r', '0' }, 20, false },
	{ "name length smaller than the body", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 2, 'b', 'r', '0' }, 20, false },
	{ "NUL in the name", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 3, 'b', 0, '0' }, 20, false },
	{ "name \"..\"", X_REFUSE, EINVAL, act_bytes,
	  { HDR(ONTP, 1, 1, 7), 0, 0, 0, 1, 2, '.', '.' }, 19, false },
	{ "name with '/'", X_REFUSE, EINVAL, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 3, 'b', '/', '0' }, 20, false },
	{ "name with a newline", X_REFUSE, EINVAL, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 3, 'b', '\n', '0' }, 20, false },
	{ "name with 0xa0", X_REFUSE, EINVAL, act_bytes,
	  { HDR(ONTP, 1, 1, 8), 0, 0, 0, 1, 3, 'b', 0xa0, '0' }, 20, false },
	{ "a request, then a trailing byte", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 1, 1, 8), BR0, 'X' }, 21, false },
	{ "two requests in one write", X_REFUSE, EPROTO, act_trailing_later, { 0 }, 0, false },
	{ "a request split into 1-byte writes", X_GRANT, 0, act_bytewise, { 0 }, 0, false },
	{ "a request, then EOF (its writing side shut)", X_GRANT, 0, act_bytes,
	  { HDR(ONTP, 1, 1, 8), BR0 }, 20, true },
	/* version 2: kind tap (1), flags, queues, "br0", no peer; or veth (2) */
	{ "a version-2 tap request, 1 queue", X_GRANT, 0, act_bytes,
	  { HDR(ONTP, 2, 1, 12), 1, 0, 0, 0, 1, 0, 1, 3, 'b', 'r', '0', 0 }, 24, false },
	{ "a version-2 request for 0 queues", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 2, 1, 12), 1, 0, 0, 0, 0, 0, 0, 3, 'b', 'r', '0', 0 }, 24, false },
	{ "a version-2 request for 129 queues", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 2, 1, 12), 1, 0, 0, 0, 0, 0, 129, 3, 'b', 'r', '0', 0 }, 24, false },
	{ "a version-2 request for 128 queues, over max-queues", X_REFUSE, EINVAL, act_bytes,
	  { HDR(ONTP, 2, 1, 12), 1, 0, 0, 0, 0, 0, 128, 3, 'b', 'r', '0', 0 }, 24, false },
	{ "a version-2 tap request naming a peer", X_REFUSE, EPROTO, act_bytes,
	  { HDR(ONTP, 2, 1, 13), 1, 0, 0, 0, 0, 0, 1, 3, 'b', 'r', '0', 1, 'x' }, 25, false },
	{ "a version-2 veth request without its namespace", X_REFUSE, EBADMSG, act_bytes,
	  { HDR(ONTP, 2, 1, 12), 2, 0, 0, 0, 0, 0, 1, 3, 'b', 'r', '0', 0 }, 24, false },
	{ "a version-2 veth request with its namespace", X_NONE, 0, act_veth, { 0 }, 0, false },
	{ "a request with one fd", X_NONE, 0, act_fd1, { 0 }, 0, false },
	{ "a request with 8 fds", X_NONE, 0, act_fd8, { 0 }, 0, false },
	{ "a request with an fd on its body", X_NONE, 0, act_fd_late, { 0 }, 0, false },
	{ "a request carrying the client's own socket", X_NONE, 0, act_fd_socket, { 0 }, 0, false },
	{ "closes mid-request", X_NONE, 0, act_close_mid, { 0 }, 0, false },
	{ "closes before reading the reply", X_NONE, 0, act_close_before_reply, { 0 }, 0, false },
	{ "shuts its reading side, then asks", X_NONE, 0, act_shut_rd, { 0 }, 0, false },
	{ "leaves the reply (and tap) unread for a while, then closes", X_NONE, 0, act_hold_unread,
	  { 0 }, 0, false },
};

/* a legitimate request still works, and no tap is left behind */
static void still_serving(const char *after, int base)
{
	struct reply r;
	double t0 = now_ms(), lat, settle;

	request(opt.bridge, true, 5000, &r);
	lat = now_ms() - t0;
	drop(&r);
	settle = taps_settle(base, 3000);
	result(r.o == O_GRANT && lat < 2000 && settle >= 0,
	       "malformed: after \"%s\": still serving (%s in %.0f ms), no tap left (%d, base %d)",
	       after, oname[r.o], lat, count_taps(), base);
}

static void run_case(const struct mcase *mc, int base)
{
	struct reply r = { .fd = -1 };
	double t0 = now_ms(), lat;
	int s = dial(&r, 3000);

	if (s < 0) {
		result(false, "malformed: %s: cannot connect (%s)", mc->name, strerror(r.err));
		return;
	}
	if (!mc->act(s, mc)) {
		result(false, "malformed: %s: could not send (%s)", mc->name, strerror(errno));
		close(s);
		return;
	}
	if (mc->x == X_NONE) {
		close(s);
		still_serving(mc->name, base);
		return;
	}
	read_reply(s, &r);
	lat = now_ms() - t0;
	close(s);
	switch (mc->x) {
	case X_GRANT:
		result(r.o == O_GRANT && tap_ok(r.fd, r.tap, true, opt.bridge),
		       "malformed: %s: granted (%s) in %.0f ms", mc->name, oname[r.o], lat);
		break;
	case X_REFUSE:
		result(r.o == O_REFUSE && (mc->err == 0 || r.err == mc->err) && lat < 2000,
		       "malformed: %s: refused with errno %d in %.0f ms (%s %d: %s)", mc->name,
		       mc->err, lat, oname[r.o], r.err, r.reason);
		break;
	default:
		result((r.o == O_REFUSE || r.o == O_CLOSED) && lat < 2000,
		       "malformed: %s: refused or closed in %.0f ms (%s: %s)", mc->name, lat,
		       oname[r.o], r.reason);
		break;
	}
	drop(&r);
	still_serving(mc->name, base);
}

static uint32_t rnd(void)
{
	/* xorshift32: the same garbage on every run */
	opt.seed ^= opt.seed << 13;
	opt.seed ^= opt.seed >> 17;
	opt.seed ^= opt.seed << 5;
	return opt.seed;
}

/* random mutations of a valid request: anything but a clean answer fails */
static void garbage(int base)
{
	long grants = 0, clean = 0, bad = 0;
	double worst = 0;

	for (long i = 0; i < opt.garbage; i++) {
		uint8_t b[96];
		size_t n = good_request(b);
		struct reply r = { .fd = -1 };
		double t0 = now_ms(), lat;
		int s, k = 1 + (int)(rnd() % 4);

		while (k--) {
			uint32_t v = rnd();

			switch (v % 4) {
			case 0: if (n) b[v / 4 % n] = (uint8_t)(v >> 16); break;
			case 1: if (n) n = v / 4 % n; break;
			case 2: if (n < sizeof(b)) b[n++] = (uint8_t)(v >> 8); break;
			default: b[4 + v / 4 % 8] ^= (uint8_t)(1u << (v >> 28 & 7)); break;
			}
		}
		s = dial(&r, 3000);
		if (s < 0) {
			bad++;
			continue;
		}
		if (n)
			send(s, b, n, MSG_NOSIGNAL);
		shutdown(s, SHUT_WR);
		read_reply(s, &r);
		lat = now_ms() - t0;
		close(s);
		if (lat > worst)
			worst = lat;
		if (r.o == O_GRANT)
			grants++;
		else if ((r.o == O_REFUSE || r.o == O_CLOSED) && lat < 2000)
			clean++;
		else
			bad++;
		drop(&r);
	}
	printf("FIGURE garbage cases=%ld refused_or_closed=%ld granted=%ld other=%ld slowest_ms=%.0f\n",
	       opt.garbage, clean, grants, bad, worst);
	fflush(stdout);
	result(bad == 0, "malformed: %ld mutated requests: each refused, closed or (if still valid)"
	       " granted, promptly (%ld otherwise)", opt.garbage, bad);
	still_serving("mutated requests", base);
}

static void malformed_client(void *arg)
{
	int base = *(int *)arg;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++)
		run_case(&mcases[i], base);
	garbage(base);
	_exit(failures ? 1 : 0);
}

static void mode_malformed(void)
{
	int base = count_taps(), status = 0;
	pid_t pid = child(&opt.users[0], malformed_client, &base);
	pid_t pids[1] = { pid };

	/* results are printed by the child; its exit status says whether any failed */
	if (waitpid(pid, &status, 0) == pid) {
		pids[0] = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	reap_all(pids, 1, now_ms());
}

/* ---- a client killed at every point ------------------------------------ */

enum kpoint {
	K_CONNECTED, K_PART_HEADER, K_HEADER, K_REQUEST, K_REQUEST_RANDOM, K_REPLY_WAITING,
	K_FIRST_BYTE, K_GRANTED, K__N
};

static const char *const kname[K__N] = {
	"after connect", "after 5 bytes of the header", "after the header",
	"right after the whole request", "0-30 ms after the request (broker at work)",
	"with the reply unread in its socket", "after reading the reply's first byte (fd taken)",
	"holding the granted tap",
};

static void killed_client(void *arg)
{
	enum kpoint k = *(enum kpoint *)arg;
	uint8_t b[64];
	size_t n = good_request(b);
	struct reply r = { .fd = -1 };
	int s = dial(&r, 5000);

	if (s < 0)
		_exit(3);
	switch (k) {
	case K_CONNECTED:
		break;
	case K_PART_HEADER:
		send(s, b, 5, MSG_NOSIGNAL);
		break;
	case K_HEADER:
		send(s, b, PROTO_HDR_LEN, MSG_NOSIGNAL);
		break;
	case K_REQUEST:
		send(s, b, n, MSG_NOSIGNAL);
		break;
	case K_REQUEST_RANDOM:
		send(s, b, n, MSG_NOSIGNAL);
		sleep_ms(rnd() % 31);
		break;
	case K_REPLY_WAITING: {
		struct pollfd p = { .fd = s, .events = POLLIN };

		send(s, b, n, MSG_NOSIGNAL);
		poll(&p, 1, 5000);
		break;
	}
	case K_FIRST_BYTE: {
		struct one_fd got;

		send(s, b, n, MSG_NOSIGNAL);
		recv_one_fd(s, &got);   /* the fd is ours now: the kill must close it */
		break;
	}
	case K_GRANTED:
		send(s, b, n, MSG_NOSIGNAL);
		read_reply(s, &r);
		if (r.o != O_GRANT)
			_exit(4);
		break;
	default:
		break;
	}
	raise(SIGKILL);
	_exit(5);
}

/* a client killed from outside, ms after it started */
static void sleepy_client(void *arg)
{
	(void)arg;
	uint8_t b[64];
	size_t n = good_request(b);
	struct reply r = { .fd = -1 };
	int s = dial(&r, 5000);

	if (s >= 0 && send(s, b, n, MSG_NOSIGNAL) == (ssize_t)n)
		read_reply(s, &r);
	sleep_ms(10000);
	_exit(0);
}

static void mode_killpoints(void)
{
	int base = count_taps();
	double worst_all = 0;

	for (int k = 0; k < K__N; k++) {
		int left = 0, bad_exit = 0;
		double worst = 0;

		for (long round = 0; round < opt.rounds; round++) {
			pid_t pid = child(&opt.users[round % opt.nusers], killed_client, &k);
			int status;
			double t;

			waitpid(pid, &status, 0);
			if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
				bad_exit++;
			t = taps_settle(base, 5000);
			if (t < 0)
				left++;
			else if (t > worst)
				worst = t;
			rnd();
		}
		if (worst > worst_all)
			worst_all = worst;
		result(left == 0 && bad_exit == 0,
		       "killpoints: client killed %s (%ld times): no tap survives (slowest to go %.0f ms%s)",
		       kname[k], opt.rounds, worst, bad_exit ? ", but the client did not get that far" : "");
	}
	{
		/* killed from outside at 0, 1, 2, ... ms: lands anywhere in the broker's work */
		int left = 0;
		long steps = opt.rounds * 10;

		for (long d = 0; d < steps; d++) {
			pid_t pid = child(&opt.users[d % opt.nusers], sleepy_client, NULL);
			double t;

			sleep_ms((double)(d % 40));
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			t = taps_settle(base, 5000);
			if (t < 0)
				left++;
			else if (t > worst_all)
				worst_all = t;
		}
		result(left == 0, "killpoints: client killed from outside 0..39 ms into the exchange"
		       " (%ld times): no tap survives", steps);
	}
	printf("FIGURE killpoints rounds=%ld points=%d slowest_tap_gone_ms=%.0f\n", opt.rounds,
	       K__N + 1, worst_all);
	fflush(stdout);
	{
		struct reply r;

		request(opt.bridge, true, 5000, &r);
		drop(&r);
		result(r.o == O_GRANT, "killpoints: the broker still serves (%s)", oname[r.o]);
	}
}

/* ---- probe ------------------------------------------------------------- */

static void probe_client(void *arg)
{
	double t0 = *(double *)arg, end = t0 + (double)opt.timeout_ms;
	struct reply r = { .o = O_OTHER };
	long tries = 0;

	while (now_ms() < end) {
		tries++;
		request(opt.bridge, true, 5000, &r);
		drop(&r);
		if (r.o == O_GRANT)
			break;
		sleep_ms(5);
	}
	printf("FIGURE probe ms=%.1f tries=%ld outcome=%s\n", now_ms() - t0, tries, oname[r.o]);
	fflush(stdout);
	_exit(r.o == O_GRANT ? 0 : 1);
}

static void mode_probe(void)
{
	double t0 = now_ms();
	int status = 0;
	pid_t pid = child(&opt.users[0], probe_client, &t0);

	waitpid(pid, &status, 0);
	result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "probe: granted within %ld ms", opt.timeout_ms);
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "Usage: ontap-load flood|idle|malformed|killpoints|probe --socket PATH"
			" --user UID:GID[:G,...] [--user ...] [options] (see load.c)\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "user", required_argument, NULL, 'u' },
		{ "legit-user", required_argument, NULL, 'L' },
		{ "requests", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "max-seconds", required_argument, NULL, 'M' },
		{ "broker-pid", required_argument, NULL, 'p' },
		{ "kill-broker-after", required_argument, NULL, 'k' },
		{ "kill-tree", no_argument, NULL, 'K' },
		{ "idle", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'H' },
		{ "drip", required_argument, NULL, 'd' },
		{ "every", required_argument, NULL, 'e' },
		{ "max-latency", required_argument, NULL, 'l' },
		{ "garbage", required_argument, NULL, 'g' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "rss-slack-kb", required_argument, NULL, 'R' },
		{ 0 }
	};
	const char *mode;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt.socket = optarg; break;
		case 'b': opt.bridge = optarg; break;
		case 'u':
			if (opt.nusers == MAX_USERS)
				fatal("at most %d users", MAX_USERS);
			parse_ident(optarg, &opt.users[opt.nusers++]);
			break;
		case 'L': parse_ident(optarg, &opt.legit); opt.have_legit = true; break;
		case 'n': opt.requests = num(optarg, 1, MAX_LAT, "--requests"); break;
		case 'c': opt.concurrency = num(optarg, 1, MAX_CHILDREN, "--concurrency"); break;
		case 'M': opt.max_seconds = num(optarg, 1, 7200, "--max-seconds"); break;
		case 'p': opt.broker_pid = (pid_t)num(optarg, 2, INT_MAX, "--broker-pid"); break;
		case 'k': opt.kill_after_ms = num(optarg, 0, 600000, "--kill-broker-after"); break;
		case 'K': opt.kill_tree = true; break;
		case 'i': opt.idle = num(optarg, 1, 20000, "--idle"); break;
		case 'H': opt.hold_s = num(optarg, 1, 3600, "--hold"); break;
		case 'd': opt.drip_ms = num(optarg, 0, 600000, "--drip"); break;
		case 'e': opt.every_ms = num(optarg, 1, 600000, "--every"); break;
		case 'l': opt.max_latency_ms = num(optarg, 1, 600000, "--max-latency"); break;
		case 'g': opt.garbage = num(optarg, 0, 1000000, "--garbage"); break;
		case 'r': opt.rounds = num(optarg, 1, 100000, "--rounds"); break;
		case 't': opt.timeout_ms = num(optarg, 1, 600000, "--timeout-ms"); break;
		case 'R': opt.rss_slack_kb = num(optarg, 0, 1 << 24, "--rss-slack-kb"); break;
		default: usage();
		}
	}
	if (optind != argc || !opt.socket || opt.nusers == 0)
		usage();
	if (strlen(opt.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		fatal("--socket: path too long");
	if (geteuid() != 0)
		fatal("must run as root: clients take the identities given with --user");
	if (opt.kill_after_ms >= 0 && opt.broker_pid <= 0)
		fatal("--kill-broker-after needs --broker-pid");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(mode, "flood"))
		mode_flood();
	else if (!strcmp(mode, "idle"))
		mode_idle();
	else if (!strcmp(mode, "malformed"))
		mode_malformed();
	else if (!strcmp(mode, "killpoints"))
		mode_killpoints();
	else if (!strcmp(mode, "probe"))
		mode_probe();
	else
		usage();
	return failures ? 1 : 0;
}

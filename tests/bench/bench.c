/* SPDX-License-Identifier: ISC */
/*
 * ontap-bench: latency and throughput of bridge helpers called exactly as
 * qemu calls them (socketpair, fork, close every fd but 0-2 and N,
 * execv "--use-vnet --fd=N --br=B", recvmsg one byte + one fd, waitpid),
 * several helpers measured in one run and interleaved, so that drift on a
 * shared machine hits all of them alike:
 *   seq    N calls of each, call by call (A B A B ..., the order rotating);
 *   conc   N calls of each by C caller processes (C qemus starting at once),
 *          in rounds of 4C calls, the helpers taking turns round by round;
 *   scale  M calls of each, as seq, with L taps already on the bridge.
 * It runs against the broker's default limits (ontap.conf(5)): one user
 * makes every call, so at most max-requests-per-user (8) of a burst are
 * served at once and the rest wait in the broker's queue; and no more than C
 * of ontap's taps exist at once, far under the default tap quota (128 a
 * user): every caller closes each tap as soon as it has it (untimed).
 *
 *   ontap-bench [-n N] [-c C,C..] [-s L,L..] [-m M] [-b BRIDGE] [-x TRIVIAL]
 *               [-k BROKER_PID].. [-p seq,conc,scale] NAME=HELPER..
 *
 * The first NAME=HELPER is the one under test, the last the reference: the
 * target ratios are first / last.  Each -k is the pid of the broker behind
 * the helper of the same rank (the first -k, the first helper): its RSS and
 * CPU per request are reported.
 *
 * Run as the unprivileged user the helpers serve.  With CAP_NET_ADMIN in the
 * effective set (an ambient capability: tests/bench/run.sh), the floor is
 * measured too, the kernel's part of a tap done in-process (its latency and
 * the CPU it costs this thread), and the taps that sit on the bridge for the
 * scaling phase are made that way; without it there is no floor and no
 * scaling phase.  No helper ever gets that capability: the ambient set is
 * cleared before every exec.
 *
 * A received tap is closed outside the timed path: tearing one down costs the
 * kernel ~15 ms (RCU grace periods under the rtnl lock), which would
 * otherwise be charged to whichever call comes next.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_bridge.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "../testutil.h"

#define MAX_RUNNERS 12
#define MAX_LEVELS 8
#define MAX_CONCS 8

/* ---- options ----------------------------------------------------------- */

struct runner;
typedef int (*call_fn)(struct runner *, int *tapfd, double *cpu_us);

struct runner {
	const char *name;
	const char *path;          /* a helper or the trivial program; NULL: in-process */
	call_fn call;
};

static struct {
	unsigned n, m;
	unsigned conc[MAX_CONCS], nconc;
	unsigned levels[MAX_LEVELS], nlevels;
	const char *bridge, *trivial, *phases;
	pid_t broker[MAX_RUNNERS];     /* -k, in the order of the helpers they serve */
	unsigned nbrokers;
	struct runner helper[MAX_RUNNERS];
	unsigned nhelpers;
	bool have_cap;
} opt = {
	.n = 500, .m = 100, .bridge = "br0", .trivial = "/bin/true", .phases = "seq,conc,scale",
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: ontap-bench [-n N] [-c C,C..] [-s L,L..] [-m M] [-b BRIDGE] [-x TRIVIAL]\n"
		"                   [-k BROKER_PID] [-p seq,conc,scale] NAME=HELPER...\n");
	exit(2);
}

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fputs("ontap-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned parse_uint(const char *s, unsigned min, unsigned max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < (long)min || v > (long)max)
		die("`%s': expected a number from %u to %u", s, min, max);
	return (unsigned)v;
}

static unsigned parse_list(char *s, unsigned *out, unsigned cap, unsigned min, unsigned max)
{
	unsigned n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == cap)
			die("at most %u values in a list", cap);
		out[n++] = parse_uint(tok, min, max);
	}
	if (!n)
		usage();
	return n;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- calling a program the way qemu does ------------------------------- */

/* the descriptor a helper sends, as qemu takes it (testutil.h); -1 with none or a truncated one */
static int recv_fd(int sock)
{
	struct one_fd r;
	int fd = recv_one_fd(sock, &r);

	if (fd >= 0 && (r.flags & MSG_CTRUNC)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Between fork and exec only system calls, as qemu (a threaded program) must.
 * close_range is what qemu's loop over every fd up to _SC_OPEN_MAX amounts to.
 */
static void __attribute__((noreturn)) exec_child(const char *path, char *const argv[], int fd)
{
	/* the ambient CAP_NET_ADMIN is the floor's, never a helper's */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	execv(path, argv);
	_exit(127);
}

/* One call the way qemu makes it: the fd received (or -1), the child's CPU and status. */
static int run_child(struct runner *r, int *tapfd, double *cpu_us, int *status)
{
	char fdarg[32], brarg[IFNAMSIZ + 8];
	char *argv[] = { (char *)r->path, "--use-vnet", fdarg, brarg, NULL };
	struct rusage ru;
	int sv[2];
	pid_t pid;

	*tapfd = -1;
	*cpu_us = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	snprintf(fdarg, sizeof(fdarg), "--fd=%d", sv[1]);
	snprintf(brarg, sizeof(brarg), "--br=%s", opt.bridge);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0)
		exec_child(r->path, argv, sv[1]);
	close(sv[1]);
	*tapfd = recv_fd(sv[0]);
	close(sv[0]);
	while (wait4(pid, status, 0, &ru) < 0 && errno == EINTR)
		;
	*cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	return 0;
}

/* Success: the helper exited 0 and an fd came (qemu: anything else fails). */
static int call_exec(struct runner *r, int *tapfd, double *cpu_us)
{
	int status, e = run_child(r, tapfd, cpu_us, &status);

	if (e < 0)
		return e;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && *tapfd >= 0 ? 0 : -EIO;
}

/* The trivial program: the same fork and exec; success is a clean exit. */
static int call_trivial(struct runner *r, int *tapfd, double *cpu_us)
{
	int status, e = run_child(r, tapfd, cpu_us, &status);

	if (e < 0)
		return e;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- the floor: the kernel's work for one tap, in-process --------------- */

static int ctl_sock = -1, nl_sock = -1;
static unsigned br_mtu, br_ifindex;

static int tun_open(char name[IFNAMSIZ])
{
	struct ifreq ifr = { .ifr_name = "tap%d" };
	unsigned features = 0;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (features & IFF_VNET_HDR);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	return fd;
}

/*
 * This thread's CPU so far, user + system (the kernel's work done in-process
 * is system time); the clock, not getrusage: it brings the running thread's
 * count up to date, where getrusage lags by up to a tick.
 */
static double thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* What qemu-bridge-helper asks of the kernel, one ioctl at a time. */
static int floor_ioctl_do(int *tapfd)
{
	struct ifreq ifr = { 0 };
	char name[IFNAMSIZ];
	int fd;

	*tapfd = fd = tun_open(name);
	if (fd < 0)
		return fd;
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	ifr.ifr_mtu = (int)br_mtu;
	if (ioctl(ctl_sock, SIOCSIFMTU, &ifr) < 0 || ioctl(ctl_sock, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	if (ioctl(ctl_sock, SIOCSIFHWADDR, &ifr) < 0 || ioctl(ctl_sock, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	{
		struct ifreq br = { .ifr_ifindex = ifr.ifr_ifindex };

		snprintf(br.ifr_name, IFNAMSIZ, "%s", opt.bridge);
		if (ioctl(ctl_sock, SIOCBRADDIF, &br) < 0)
			return -errno;
	}
	if (ioctl(ctl_sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(ctl_sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int floor_ioctl(struct runner *r, int *tapfd, double *cpu_us)
{
	double c0 = thread_cpu_us();
	int e = floor_ioctl_do(tapfd);

	(void)r;
	*cpu_us = thread_cpu_us() - c0;
	return e;
}

static void nl_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* What ontap-broker's maker asks of the kernel: TUNSETIFF, then one RTM_NEWLINK. */
static int floor_netlink_do(int *tapfd)
{
	union {
		char buf[512];
		struct nlmsghdr h;
	} req = { 0 }, ack;
	struct nlmsghdr *h = &req.h;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct ifreq ifr = { 0 };
	char name[IFNAMSIZ];
	ssize_t n;
	int fd;

	*tapfd = fd = tun_open(name);
	if (fd < 0)
		return fd;
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 || ioctl(ctl_sock, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	h->nlmsg_type = RTM_NEWLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi->ifi_index = ifr.ifr_ifindex;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	nl_attr(h, IFLA_MTU, &br_mtu, sizeof(br_mtu));
	nl_attr(h, IFLA_ADDRESS, ifr.ifr_hwaddr.sa_data, 6);
	nl_attr(h, IFLA_MASTER, &br_ifindex, sizeof(br_ifindex));
	if (send(nl_sock, h, h->nlmsg_len, 0) < 0)
		return -errno;
	n = recv(nl_sock, &ack, sizeof(ack), 0);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ack.h.nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(&ack.h))->error;
}

static int floor_netlink(struct runner *r, int *tapfd, double *cpu_us)
{
	double c0 = thread_cpu_us();
	int e = floor_netlink_do(tapfd);

	(void)r;
	*cpu_us = thread_cpu_us() - c0;
	return e;
}

static bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

static void floor_init(void)
{
	struct ifreq ifr = { 0 };

	ctl_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl_sock < 0)
		die("socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", opt.bridge);
	if (ioctl(ctl_sock, SIOCGIFMTU, &ifr) < 0)
		die("bridge `%s': %s", opt.bridge, strerror(errno));
	br_mtu = (unsigned)ifr.ifr_mtu;
	br_ifindex = if_nametoindex(opt.bridge);
	opt.have_cap = have_net_admin();
	if (!opt.have_cap)
		return;
	nl_sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl_sock < 0)
		die("netlink: %s", strerror(errno));
}

/* ---- results ------------------------------------------------------------- */

struct series {
	double *us;
	unsigned n, cap, fail;
	double cpu_us;     /* the called process's own CPU (wait4), summed */
	double wall_us;    /* concurrent: the rounds' wall time, summed */
	int first_err;
};

static void series_add(struct series *s, double us, double cpu, int err)
{
	if (err) {
		s->fail++;
		if (!s->first_err)
			s->first_err = err;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->us = realloc(s->us, s->cap * sizeof(*s->us));
		if (!s->us)
			die("out of memory");
	}
	s->us[s->n++] = us;
	s->cpu_us += cpu;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* nearest rank */
static double pct(struct series *s, double q)
{
	size_t k;

	if (!s->n)
		return NAN;
	qsort(s->us, s->n, sizeof(*s->us), cmp_double);
	k = (size_t)ceil(q * s->n);
	return s->us[k ? k - 1 : 0];
}

static void series_free(struct series *s)
{
	free(s->us);
	memset(s, 0, sizeof(*s));
}

struct verdict {
	const char *what;
	double got, target;
	bool le;           /* met iff got <= target (else got >= target) */
};

static struct verdict verdicts[32];
static unsigned nverdicts;

static void target(const char *what, double got, double tgt, bool le)
{
	if (nverdicts < sizeof(verdicts) / sizeof(verdicts[0]))
		verdicts[nverdicts++] = (struct verdict){ what, got, tgt, le };
}

/* ---- the broker, from /proc ------------------------------------------- */

/*
 * A broker is its listener and the listener's children (the maker, the
 * workers, the closer): their CPU is the sum of each one's threads' run time
 * (/proc/PID/task/TID/schedstat, in ns: utime and stime in /proc/PID/stat
 * are in clock ticks, 10 ms, too coarse for a few hundred requests), plus
 * the listener's cutime + cstime, which hold the children that have ended
 * and been reaped (in ticks; in steady state none has: workers are reused).
 * Children are read before the listener: one that ends in between is
 * counted twice (never missed), and the number of live children is reported
 * beside the figure.
 */
struct broker_stat {
	double cpu_us;
	unsigned children;
};

/* the run time of pid's threads, in µs; -1 if it is gone */
static int proc_runtime(pid_t pid, double *us)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	*us = 0;
	while ((e = readdir(d))) {
		unsigned long long ns;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;   /* a thread that ended meanwhile: its time is its process's */
		if (fscanf(f, "%llu", &ns) == 1)
			*us += (double)ns / 1e3;
		fclose(f);
	}
	closedir(d);
	return 0;
}

/* pid's ppid, and its threads' run time + cutime + cstime, in µs; -1 if it is gone */
static int proc_cpu(pid_t pid, pid_t *ppid, double *cpu_us)
{
	char path[64], buf[1024], *p;
	long long cut, cst;
	double run;
	int pp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "pid (comm)": state is field 3, ppid 4; cutime, cstime are fields 16, 17 */
	if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %lld %lld",
			 &pp, &cut, &cst) != 3)
		return -1;
	if (proc_runtime(pid, &run) < 0)
		return -1;
	*ppid = pp;
	*cpu_us = run + (double)(cut + cst) * 1e6 / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static int broker_read(pid_t listener, struct broker_stat *b)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	double cpu;
	pid_t ppid;

	memset(b, 0, sizeof(*b));
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == listener)
			continue;
		if (proc_cpu((pid_t)pid, &ppid, &cpu) == 0 && ppid == listener) {
			b->cpu_us += cpu;
			b->children++;
		}
	}
	closedir(d);
	if (proc_cpu(listener, &ppid, &cpu) < 0)
		return -1;
	b->cpu_us += cpu;
	return 0;
}

static struct broker_stat broker_at[MAX_RUNNERS];
static double broker_calls_at[MAX_RUNNERS];
static double total_calls[MAX_RUNNERS + 3];

/* the kernel's own CPU for one tap (the maker's way, in-process), from the sequential phase */
static double kernel_cpu_us = NAN;

/* a worker ended at a phase's end is reaped (and its CPU counted) shortly after */
static void broker_mark(void)
{
	usleep(200 * 1000);
	for (unsigned i = 0; i < opt.nbrokers; i++) {
		if (broker_read(opt.broker[i], &broker_at[i]) < 0)
			die("broker pid %d: cannot read /proc", (int)opt.broker[i]);
		broker_calls_at[i] = total_calls[i];
	}
}

/* Since the last mark, each broker's CPU per request (NAN: none) and requests; then a new mark. */
static void broker_delta(double per[MAX_RUNNERS], double n[MAX_RUNNERS])
{
	struct broker_stat then[MAX_RUNNERS];
	double calls[MAX_RUNNERS];

	memcpy(then, broker_at, sizeof(then));
	memcpy(calls, broker_calls_at, sizeof(calls));
	broker_mark();
	for (unsigned i = 0; i < opt.nbrokers; i++) {
		n[i] = broker_calls_at[i] - calls[i];
		per[i] = n[i] > 0 ? (broker_at[i].cpu_us - then[i].cpu_us) / n[i] : NAN;
	}
}

/* Since the last mark, printed; the first broker's CPU per request (NAN: none). */
static double broker_report(const char *what)
{
	double per[MAX_RUNNERS], n[MAX_RUNNERS];

	broker_delta(per, n);
	for (unsigned i = 0; i < opt.nbrokers; i++) {
		printf("  broker CPU, %s: %.0f µs per request (%.0f requests; listener + %u children "
		       "at the end)", what, per[i], n[i], broker_at[i].children);
		if (!isnan(kernel_cpu_us))
			printf("; kernel's tap work in-process %.0f µs: %.2fx", kernel_cpu_us,
			       per[i] / kernel_cpu_us);
		putchar('\n');
	}
	return opt.nbrokers ? per[0] : NAN;
}

/* ---- the rest of the machine ------------------------------------------------ */

/*
 * What else ran meanwhile, the number that says how much to trust a table
 * from a shared machine: all CPU time spent (/proc/stat) minus our own (us,
 * our reaped children and theirs: callers, helpers, the tap holder; the
 * brokers and theirs).  Kernel threads working for us (softirqs, the RCU
 * behind a tap's teardown) count as others'.
 */
struct cpu_mark {
	double busy_s, total_s, own_s;
};

static void cpu_mark(struct cpu_mark *m)
{
	unsigned long long v[8] = { 0 };
	double tck = (double)sysconf(_SC_CLK_TCK);
	struct rusage self, kids;
	FILE *f = fopen("/proc/stat", "re");

	memset(m, 0, sizeof(*m));
	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		die("cannot read /proc/stat");
	fclose(f);
	/* user nice system idle iowait irq softirq steal */
	m->busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tck;
	m->total_s = m->busy_s + (double)(v[3] + v[4]) / tck;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	m->own_s = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			    kids.ru_stime.tv_sec) +
		   (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			    kids.ru_stime.tv_usec) / 1e6;
	for (unsigned i = 0; i < opt.nbrokers; i++) {
		struct broker_stat b;

		if (broker_read(opt.broker[i], &b) == 0)
			m->own_s += b.cpu_us / 1e6;
	}
}

static struct cpu_mark phase_start;

/* "others used X% of the machine" since the phase began */
static void print_others(void)
{
	struct cpu_mark now;
	double span;

	cpu_mark(&now);
	span = now.total_s - phase_start.total_s;
	if (span > 0)
		printf("  (meanwhile: this benchmark %.0f%%, other processes %.0f%% of all %ld CPUs)\n",
		       100 * (now.own_s - phase_start.own_s) / span,
		       100 * ((now.busy_s - phase_start.busy_s) - (now.own_s - phase_start.own_s)) / span,
		       sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---- phases ---------------------------------------------------------------- */

static struct runner runners[MAX_RUNNERS + 3];
static unsigned nrunners;

/*
 * A tap is closed a few calls later, untimed: the teardown is the kernel's
 * (~15 ms), and a broker's worker may still hold its copy for a moment after
 * the helper exits; closed at once, the last reference, and the teardown,
 * would be the worker's.  qemu holds a tap for as long as the VM runs.
 */
#define CLOSE_LAG 4
static int lagging[CLOSE_LAG] = { -1, -1, -1, -1 };
static unsigned lag_next;

static void close_later(int fd)
{
	if (lagging[lag_next] >= 0)
		close(lagging[lag_next]);
	lagging[lag_next] = fd;
	lag_next = (lag_next + 1) % CLOSE_LAG;
}

static void close_lagging(void)
{
	for (unsigned i = 0; i < CLOSE_LAG; i++)
		close_later(-1);
}

static void one_call(unsigned k, struct series *s)
{
	double cpu, t0 = now_us(), t1;
	int fd, e = runners[k].call(&runners[k], &fd, &cpu);

	t1 = now_us();
	total_calls[k]++;
	series_add(s, t1 - t0, cpu, e);
	close_later(fd);
}

/* N rounds; in round i every runner is called once, starting at runner i mod K */
static void sequential(unsigned n, unsigned k, struct series *s)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < k; j++)
			one_call((i + j) % k, &s[(i + j) % k]);
	close_lagging();
}

/*
 * A concurrent round: C caller processes, as C qemus starting at once (not
 * threads: their forks would queue on one address space's lock), take call
 * numbers from a shared counter.  Each closes the tap it got as soon as the
 * call is timed, so no more than C taps of a helper exist at once: the
 * broker's default tap quota (128 a user) is never what is measured.  The
 * teardown's cost (the rtnl lock, RCU) falls on the calls still running, for
 * both helpers alike.
 */
struct round {
	atomic_uint next;
	unsigned n;
	double t_end;         /* when the last call ended */
	struct {
		double us, cpu;
		int err;
	} call[];
};

static void __attribute__((noreturn)) caller(struct round *r, unsigned k, int go, int done)
{
	unsigned i;
	char b;

	/* a netlink socket of its own: the callers' acks on one shared socket would mix */
	if (nl_sock >= 0) {
		close(nl_sock);
		nl_sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	}
	(void)!read(go, &b, 1);   /* EOF: everyone starts */
	while ((i = atomic_fetch_add(&r->next, 1)) < r->n) {
		double t0 = now_us(), t1;
		int fd;

		r->call[i].err = runners[k].call(&runners[k], &fd, &r->call[i].cpu);
		t1 = now_us();
		r->call[i].us = t1 - t0;
		if (t1 > r->t_end)
			r->t_end = t1;   /* a race between callers costs at most a few µs of wall time */
		if (fd >= 0)
			close(fd);
	}
	(void)!write(done, "", 1);
	_exit(0);
}

/* One round: n calls of one runner by c processes; wall time from the start signal to the last. */
static void round_run(unsigned k, unsigned n, unsigned c, struct series *s)
{
	size_t size = sizeof(struct round) + n * sizeof(((struct round *)0)->call[0]);
	struct round *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int go[2], done[2], status;
	pid_t pid[256];
	double t0;
	char b;

	if (r == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	r->n = n;
	atomic_init(&r->next, 0);
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (unsigned t = 0; t < c; t++) {
		pid[t] = fork();
		if (pid[t] < 0)
			die("fork: %s", strerror(errno));
		if (pid[t] == 0) {
			close(go[1]);
			close(done[0]);
			caller(r, k, go[0], done[1]);
		}
	}
	close(go[0]);
	close(done[1]);
	usleep(10 * 1000);   /* all of them waiting at the start */
	t0 = now_us();
	close(go[1]);
	for (unsigned t = 0; t < c; t++)
		if (read(done[0], &b, 1) != 1)
			die("a caller process died");
	s->wall_us += r->t_end - t0;
	for (unsigned i = 0; i < n; i++)
		series_add(s, r->call[i].us, r->call[i].cpu, r->call[i].err);
	total_calls[k] += n;
	close(done[0]);
	for (unsigned t = 0; t < c; t++)
		while (waitpid(pid[t], &status, 0) < 0 && errno == EINTR)
			;
	munmap(r, size);
	/* untimed: the last teardowns end before the next round starts */
	usleep(50 * 1000);
}

/*
 * N calls of each of the first m runners (the helpers, then the kernel
 * floors) at concurrency C, in rounds of 4C, runners alternating
 */
static void concurrent(unsigned n, unsigned c, unsigned m, struct series *s)
{
	unsigned per = 4 * c, done = 0, i = 0;

	while (done < n) {
		unsigned take = n - done < per ? n - done : per;

		for (unsigned j = 0; j < m; j++) {
			unsigned h = (i + j) % m;

			round_run(h, take, c, &s[h]);
		}
		done += take;
		i++;
	}
}

/* ---- output ---------------------------------------------------------------- */

static void row(const char *label, struct series *s, bool rate)
{
	double calls = s->n + s->fail;

	printf("  %-28s %8.0f %8.0f %8.0f %8.0f %6u", label, pct(s, 0.50), pct(s, 0.90),
	       pct(s, 0.99), pct(s, 1.0), s->fail);
	if (s->n)
		printf(" %9.0f", s->cpu_us / s->n);
	else
		printf(" %9s", "-");
	if (rate)
		printf(" %9.0f", s->wall_us > 0 ? calls * 1e6 / s->wall_us : 0);
	if (s->first_err)
		printf("  (first error: %s)", strerror(-s->first_err));
	putchar('\n');
}

static void header(const char *title, bool rate)
{
	printf("\n%s\n  %-28s %8s %8s %8s %8s %6s %9s%s\n", title, "latency, µs", "p50", "p90",
	       "p99", "max", "fail", "cpu/call", rate ? "   calls/s" : "");
}

static void load_avg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "re");

	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "?\n");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void print_verdicts(void)
{
	if (!nverdicts)
		return;
	printf("\ntargets (%s vs %s, same run)\n", opt.helper[0].name,
	       opt.helper[opt.nhelpers - 1].name);
	for (unsigned i = 0; i < nverdicts; i++) {
		struct verdict *v = &verdicts[i];
		bool met = v->le ? v->got <= v->target : v->got >= v->target;

		printf("  %-46s %8.2f  target %s %-6g %s\n", v->what, v->got, v->le ? "<=" : ">=",
		       v->target, isnan(v->got) ? "n/a" : met ? "met" : "NOT MET");
	}
}

/* ---- the phases, reported ---------------------------------------------------- */

/* ontap's p50 over the floor of a helper: exec of a static trivial program + the kernel's tap work */
static void floor_ratio(struct series *s)
{
	unsigned kf = opt.nhelpers, kx = nrunners - 1;
	double kernel = fmin(pct(&s[kf], 0.5), pct(&s[kf + 1], 0.5)), exec = pct(&s[kx], 0.5);

	printf("  p50 / (exec floor p50 + the cheaper kernel floor p50 = %.0f + %.0f µs):", exec,
	       kernel);
	for (unsigned k = 0; k < opt.nhelpers; k++)
		printf("  %s %.2f", runners[k].name, pct(&s[k], 0.5) / (exec + kernel));
	putchar('\n');
	target("sequential p50 / (exec + kernel floors)", pct(&s[0], 0.5) / (exec + kernel), 1.3,
	       true);
}

static void ratios(struct series *s, bool rate)
{
	unsigned ref = opt.nhelpers - 1;

	if (opt.nhelpers < 2)
		return;
	printf("  ratio %s / %s: p50 %.2f, p99 %.2f", runners[0].name, runners[ref].name,
	       pct(&s[0], 0.5) / pct(&s[ref], 0.5), pct(&s[0], 0.99) / pct(&s[ref], 0.99));
	if (rate && s[0].wall_us > 0 && s[ref].wall_us > 0)
		printf(", calls/s %.2f", ((s[0].n + s[0].fail) / s[0].wall_us) /
					 ((s[ref].n + s[ref].fail) / s[ref].wall_us));
	putchar('\n');
}

static void phase_seq(void)
{
	struct series s[MAX_RUNNERS + 3] = { 0 };
	unsigned ref = opt.nhelpers - 1, kf = opt.nhelpers;
	double cpu;

	broker_mark();
	cpu_mark(&phase_start);
	sequential(opt.n, nrunners, s);
	header("sequential: N calls each, interleaved call by call, each tap closed after its call (untimed)",
	       false);
	for (unsigned k = 0; k < nrunners; k++)
		row(runners[k].name, &s[k], false);
	print_others();
	ratios(s, false);
	if (opt.have_cap) {
		floor_ratio(s);
		if (s[kf + 1].n)
			kernel_cpu_us = s[kf + 1].cpu_us / s[kf + 1].n;
	}
	cpu = broker_report("sequential, steady state");
	if (opt.nhelpers > 1) {
		target("sequential p50 ratio", pct(&s[0], 0.5) / pct(&s[ref], 0.5), 0.45, true);
		target("sequential p99 ratio", pct(&s[0], 0.99) / pct(&s[ref], 0.99), 0.5, true);
	}
	if (opt.nbrokers && opt.have_cap)
		target("broker CPU per request / kernel's tap work", cpu / kernel_cpu_us, 1.5, true);
	for (unsigned k = 0; k < nrunners; k++)
		series_free(&s[k]);
}

static void phase_conc(void)
{
	for (unsigned i = 0; i < opt.nconc; i++) {
		struct series s[MAX_RUNNERS + 3] = { 0 };
		unsigned c = opt.conc[i], ref = opt.nhelpers - 1, kf = opt.nhelpers;
		/* with the kernel floors: what the kernel alone takes, C callers at once */
		unsigned m = opt.have_cap ? opt.nhelpers + 2 : opt.nhelpers;
		char title[160], what[64];

		broker_mark();
		cpu_mark(&phase_start);
		concurrent(opt.n, c, m, s);
		snprintf(title, sizeof(title),
			 "concurrent: N calls each by %u caller processes, rounds of %u alternating, each tap closed once received (untimed)",
			 c, 4 * c);
		header(title, true);
		for (unsigned k = 0; k < m; k++)
			row(runners[k].name, &s[k], true);
		print_others();
		ratios(s, true);
		if (m > opt.nhelpers && opt.nhelpers > 1)
			printf("  the cheaper kernel floor's p50 / %s's p50: %.2f\n", runners[ref].name,
			       fmin(pct(&s[kf], 0.5), pct(&s[kf + 1], 0.5)) / pct(&s[ref], 0.5));
		snprintf(what, sizeof(what), "%u-way", c);
		broker_report(what);
		if (opt.nhelpers > 1 && c == 16)
			target("16-way p50 ratio", pct(&s[0], 0.5) / pct(&s[ref], 0.5), 0.4, true);
		if (c == 16 || c == 64) {
			snprintf(what, sizeof(what), "%u-way failures (%s)", c, opt.helper[0].name);
			target(strdup(what), s[0].fail, 0, true);
		}
		for (unsigned k = 0; k < m; k++)
			series_free(&s[k]);
	}
}

/*
 * The taps that sit on the bridge live in a child of their own, as a VM's
 * taps live in its qemu: held by us, they would make every fork of ours copy,
 * and every child close, a thousand more descriptors.  The child makes them
 * in-process, with CAP_NET_ADMIN, the way qemu-bridge-helper does: they are
 * the kernel's load on the bridge, nobody's helper's, and made through the
 * broker a thousand taps of one user would be (rightly) refused by its
 * default quota of 128, which counts only the taps ontap made.  Told a count,
 * the child answers the count it holds (or -errno); at EOF it exits, and the
 * kernel tears them all down.
 */
struct holder {
	pid_t pid;
	int cmd, ack;
};

static void __attribute__((noreturn)) holder_main(int cmd, int ack)
{
	int *fds = NULL, have = 0, want, e = 0;

	while (read(cmd, &want, sizeof(want)) == sizeof(want) && want >= have) {
		fds = realloc(fds, ((size_t)want + 1) * sizeof(int));
		if (!fds)
			_exit(1);
		for (; have < want && e == 0; have++) {
			double cpu;

			e = floor_ioctl(NULL, &fds[have], &cpu);
		}
		if (write(ack, e ? &e : &have, sizeof(int)) != sizeof(int) || e)
			_exit(1);
	}
	_exit(0);
}

static void holder_start(struct holder *h)
{
	int c[2], a[2];

	if (pipe2(c, O_CLOEXEC) < 0 || pipe2(a, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	h->pid = fork();
	if (h->pid < 0)
		die("fork: %s", strerror(errno));
	if (h->pid == 0) {
		close(c[1]);
		close(a[0]);
		holder_main(c[0], a[1]);
	}
	close(c[0]);
	close(a[1]);
	h->cmd = c[1];
	h->ack = a[0];
}

static void holder_fill(struct holder *h, unsigned want)
{
	int w = (int)want, got;

	if (write(h->cmd, &w, sizeof(w)) != sizeof(w) || read(h->ack, &got, sizeof(got)) != sizeof(got))
		die("the child holding the taps died");
	if (got < 0)
		die("cannot put %u taps on the bridge: %s", want, strerror(-got));
}

static void holder_stop(struct holder *h)
{
	int status;

	close(h->cmd);
	close(h->ack);
	while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
}

static void phase_scale(void)
{
	struct series s[MAX_LEVELS][MAX_RUNNERS + 3] = { 0 };
	double p50[MAX_LEVELS][MAX_RUNNERS + 3], floor50[MAX_LEVELS];
	double bcpu[MAX_LEVELS][MAX_RUNNERS], bn[MAX_RUNNERS];
	unsigned nfloors = 2, kf = opt.nhelpers;
	struct holder h;

	if (!opt.have_cap) {
		printf("\nscaling: skipped (the taps on the bridge are made in-process: no CAP_NET_ADMIN)\n");
		return;
	}
	cpu_mark(&phase_start);
	holder_start(&h);
	for (unsigned l = 0; l < opt.nlevels; l++) {
		double t0 = now_us();

		holder_fill(&h, opt.levels[l]);
		fprintf(stderr, "ontap-bench: %u taps on %s (%.1f s to add), %u calls each\n",
			opt.levels[l], opt.bridge, (now_us() - t0) / 1e6, opt.m);
		broker_mark();
		sequential(opt.m, nrunners, s[l]);
		broker_delta(bcpu[l], bn);
	}
	fprintf(stderr, "ontap-bench: closing the taps on the bridge\n");
	holder_stop(&h);
	printf("\nscaling: M=%u calls each (interleaved) with L taps already on the bridge "
	       "(held by another process)\n", opt.m);
	for (unsigned l = 0; l < opt.nlevels; l++) {
		char title[64];

		snprintf(title, sizeof(title), "L = %u", opt.levels[l]);
		header(title, false);
		for (unsigned k = 0; k < nrunners; k++) {
			p50[l][k] = pct(&s[l][k], 0.5);
			row(runners[k].name, &s[l][k], false);
		}
		/* the kernel's own cost at this size: the cheaper of its two ways */
		floor50[l] = nfloors ? fmin(p50[l][kf], p50[l][kf + 1]) : 0;
	}
	print_others();
	if (opt.nlevels > 1) {
		unsigned last = opt.nlevels - 1;

		printf("\n  p50 at L=%u / p50 at L=%u:", opt.levels[last], opt.levels[0]);
		for (unsigned k = 0; k < nrunners; k++)
			printf("  %s %.2f", runners[k].name, p50[last][k] / p50[0][k]);
		putchar('\n');
		if (nfloors) {
			printf("  above the kernel floor (p50 - floor p50), µs, L = ");
			for (unsigned l = 0; l < opt.nlevels; l++)
				printf("%s%u", l ? "/" : "", opt.levels[l]);
			putchar(':');
			for (unsigned k = 0; k < opt.nhelpers; k++) {
				printf("  %s", runners[k].name);
				for (unsigned l = 0; l < opt.nlevels; l++)
					printf("%s%.0f", l ? "/" : " ", p50[l][k] - floor50[l]);
			}
			putchar('\n');
		}
	}
	for (unsigned i = 0; i < opt.nbrokers; i++) {
		printf("  broker CPU per request (%s), µs, L = ", opt.helper[i].name);
		for (unsigned l = 0; l < opt.nlevels; l++)
			printf("%s%u", l ? "/" : "", opt.levels[l]);
		putchar(':');
		for (unsigned l = 0; l < opt.nlevels; l++)
			printf("%s%.0f", l ? "/" : " ", bcpu[l][i]);
		putchar('\n');
	}
	for (unsigned l = 0; l < opt.nlevels; l++)
		for (unsigned k = 0; k < nrunners; k++)
			series_free(&s[l][k]);
}

static bool phase(const char *name)
{
	const char *p = opt.phases;
	size_t len = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == opt.phases || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return true;
		p += len;
	}
	return false;
}

static void parse_args(int argc, char *argv[])
{
	int c;

	while ((c = getopt(argc, argv, "n:c:s:m:b:x:k:p:")) != -1) {
		switch (c) {
		case 'n': opt.n = parse_uint(optarg, 1, 1000000); break;
		case 'c': opt.nconc = parse_list(optarg, opt.conc, MAX_CONCS, 1, 256); break;
		/* a Linux bridge takes at most 1023 ports (BR_MAX_PORTS), some of ours included */
		case 's': opt.nlevels = parse_list(optarg, opt.levels, MAX_LEVELS, 0, 1000); break;
		case 'm': opt.m = parse_uint(optarg, 1, 1000000); break;
		case 'b': opt.bridge = optarg; break;
		case 'x': opt.trivial = optarg; break;
		case 'k':
			if (opt.nbrokers == MAX_RUNNERS)
				usage();
			opt.broker[opt.nbrokers++] = (pid_t)parse_uint(optarg, 1, INT_MAX);
			break;
		case 'p': opt.phases = optarg; break;
		default: usage();
		}
	}
	if (!opt.nconc) {
		opt.conc[0] = 16;
		opt.conc[1] = 64;
		opt.nconc = 2;
	}
	if (!opt.nlevels) {
		opt.levels[0] = 1;
		opt.levels[1] = 100;
		opt.levels[2] = 1000;
		opt.nlevels = 3;
	}
	if (strlen(opt.bridge) >= IFNAMSIZ)
		die("bridge name too long");
	for (; optind < argc; optind++) {
		char *eq = strchr(argv[optind], '=');

		if (!eq || eq == argv[optind] || !eq[1] || opt.nhelpers == MAX_RUNNERS)
			usage();
		*eq = '\0';
		opt.helper[opt.nhelpers++] = (struct runner){ argv[optind], eq + 1, call_exec };
	}
	if (!opt.nhelpers)
		usage();
}

/* as many fds as we may: every tap on the bridge is held by us */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char *argv[])
{
	char la0[128], la1[128];
	sigset_t chld;

	parse_args(argc, argv);
	raise_nofile();
	/* qemu ignores SIGPIPE and runs the helper with SIGCHLD blocked */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	floor_init();

	for (unsigned k = 0; k < opt.nhelpers; k++)
		runners[nrunners++] = opt.helper[k];
	if (opt.have_cap) {
		runners[nrunners++] = (struct runner){ "floor: kernel, ioctls", NULL, floor_ioctl };
		runners[nrunners++] = (struct runner){ "floor: kernel, 1 NEWLINK", NULL, floor_netlink };
	}
	runners[nrunners++] = (struct runner){ "floor: exec trivial", opt.trivial, call_trivial };

	load_avg(la0, sizeof(la0));
	/* warm the page cache and the broker; untimed, uncounted */
	{
		struct series warm[MAX_RUNNERS + 3] = { 0 };

		sequential(10, nrunners, warm);
		for (unsigned k = 0; k < nrunners; k++) {
			if (warm[k].fail)
				die("%s fails while warming up (%s): see its stderr above",
				    runners[k].name, strerror(-warm[k].first_err));
			series_free(&warm[k]);
		}
	}
	broker_mark();
	printf("ontap-bench: N=%u, bridge %s, uid %u, trivial program %s%s\n", opt.n, opt.bridge,
	       (unsigned)getuid(), opt.trivial,
	       opt.have_cap ? "" : " (no CAP_NET_ADMIN: no kernel floor)");
	printf("load average at start: %s\n", la0);
	printf("cpu/call: the called process's own user+system time (wait4); the floors done in-process:\n"
	       "  this thread's (CLOCK_THREAD_CPUTIME_ID); the broker's below each table: its listener and\n"
	       "  all its children's threads' run time (/proc/PID/task/TID/schedstat), and the reaped\n"
	       "  children's (the listener's cutime+cstime)\n");
	fflush(stdout);

	if (phase("seq"))
		phase_seq();
	fflush(stdout);
	if (phase("conc"))
		phase_conc();
	fflush(stdout);
	if (phase("scale"))
		phase_scale();
	load_avg(la1, sizeof(la1));
	printf("\nload average at end: %s\n", la1);
	print_verdicts();
	return 0;
}

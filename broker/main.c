/* SPDX-License-Identifier: ISC */
/*
 * ontap-broker: the privileged half of ontap.  It takes requests for taps on
 * a unix socket, decides them with qemu's bridge.conf read as the requester,
 * and hands the tap's fd back.  See ontap-broker(8).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "aclfile.h"
#include "caps.h"
#include "census.h"
#include "escape.h"
#include "ifname.h"
#include "inetd.h"
#include "listener.h"
#include "log.h"
#include "netns.h"
#include "socket.h"

enum mode { MODE_LISTEN, MODE_INETD, MODE_CHECK, MODE_CHECK_CONFIG, MODE_LIST };

struct opts {
	enum mode mode;
	const char *config;
	bool config_given;
	const char *socket, *acl, *pidfile;
	mode_t socket_mode;
	gid_t socket_group;
	bool daemon;
	bool activated;     /* the socket came from systemd (LISTEN_FDS) */
	int ready_fd;
};

static struct opts o = {
	.config = ONTAP_CONF_PATH,
	.socket_mode = 0666,
	.socket_group = (gid_t)-1,
	.ready_fd = -1,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ontap-broker [--config PATH] [--socket PATH] [--acl PATH]\n"
		   "                    [--socket-mode MODE] [--socket-group GROUP]\n"
		   "                    [--daemon --pidfile PATH] [--ready-fd N]\n"
		   "       ontap-broker --inetd [--config PATH] [--acl PATH]\n"
		   "       ontap-broker --check [--config PATH] [--acl PATH]\n"
		   "       ontap-broker --check-config [--config PATH]\n"
		   "       ontap-broker --list\n"
		   "Defaults: config %s, socket %s, acl %s.\n"
		   "Under systemd socket activation (LISTEN_FDS) the passed socket is used.\n",
		ONTAP_CONF_PATH, ONTAP_SOCKET_PATH, ONTAP_ACL_PATH);
}

static int user_id(const char *name, unsigned *id)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return -ENOENT;
	*id = pw->pw_uid;
	return 0;
}

static int group_id(const char *name, unsigned *id)
{
	struct group *gr = getgrnam(name);

	if (!gr)
		return -ENOENT;
	*id = gr->gr_gid;
	return 0;
}

static const struct conf_resolver resolver = { user_id, group_id };

/* The CPUs online now: the default bound on queues per tap (ontap.conf(5)). */
static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > PROTO_QUEUES_MAX ? PROTO_QUEUES_MAX : (unsigned)n;
}

/* Defaults, then the file (a missing default file is fine), then the command line. */
static int load_conf(struct broker_conf *c, char *err, size_t errlen)
{
	struct acl_file f;
	int r;

	conf_defaults(c);
	conf_default_queues(c, online_cpus());
	r = aclfile_loader.load(NULL, o.config, &f);
	if (r == -ENOENT && !o.config_given)
		goto cli;
	if (r < 0) {
		snprintf(err, errlen, "cannot read `%s': %s", o.config, strerror(-r));
		return r;
	}
	r = conf_parse(c, f.buf, f.len, o.config, &resolver, err, errlen);
	aclfile_loader.release(NULL, &f);
	if (r < 0)
		return r;
cli:
	if (o.socket && snprintf(c->socket_path, sizeof(c->socket_path), "%s", o.socket) >=
			(int)sizeof(c->socket_path)) {
		snprintf(err, errlen, "socket path `%s' is too long", o.socket);
		return -ENAMETOOLONG;
	}
	if (o.acl && snprintf(c->acl_path, sizeof(c->acl_path), "%s", o.acl) >=
			(int)sizeof(c->acl_path)) {
		snprintf(err, errlen, "acl path is too long");
		return -ENAMETOOLONG;
	}
	if (c->acl_path[0] != '/') {
		/* the ACL is read by a child in the requester's identity: no cwd games */
		snprintf(err, errlen, "acl `%.256s': must be an absolute path", c->acl_path);
		return -EINVAL;
	}
	return 0;
}

static void apply_logging(const struct broker_conf *c)
{
	if (c->log == SINK_SYSLOG)
		log_to_syslog(c->syslog_ident, c->syslog_facility);
	else
		log_to_stderr();
}

static int check_lock(const struct broker_conf *c, char *err, size_t errlen);

/* SIGHUP: the new file wholly, or the old configuration untouched. */
static void reload(struct broker_conf *c)
{
	static struct broker_conf fresh;
	char err[512];

	if (load_conf(&fresh, err, sizeof(err)) < 0 || check_lock(&fresh, err, sizeof(err)) < 0) {
		log_line("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (!o.activated && strcmp(fresh.socket_path, c->socket_path))
		log_line("reload: a new socket path takes a restart; keeping %s", c->socket_path);
	memcpy(fresh.socket_path, c->socket_path, sizeof(fresh.socket_path));
	*c = fresh;
	apply_logging(c);
	log_line("reloaded %s", o.config);
}

static void parse_mode(const char *s)
{
	char *end;
	long v = strtol(s, &end, 8);

	if (!*s || *end || v < 0 || v > 0777)
		die("--socket-mode `%s': expected an octal mode such as 0660", s);
	o.socket_mode = (mode_t)v;
}

static void parse_group(const char *s)
{
	unsigned id;
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s >= '0' && *s <= '9' && !*end && v < (gid_t)-1)
		o.socket_group = (gid_t)v;
	else if (group_id(s, &id) == 0)
		o.socket_group = id;
	else
		die("--socket-group `%s': no such group", s);
}

static void parse_ready_fd(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 3 || v > 1024 || fcntl((int)v, F_GETFD) < 0)
		die("--ready-fd `%s': not an open descriptor above 2", s);
	o.ready_fd = (int)v;
}

static void parse_opts(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "acl", required_argument, NULL, 'a' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "inetd", no_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'C' },
		{ "check-config", no_argument, NULL, 'K' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; o.config_given = true; break;
		case 's': o.socket = optarg; break;
		case 'a': o.acl = optarg; break;
		case 'm': parse_mode(optarg); break;
		case 'g': parse_group(optarg); break;
		case 'd': o.daemon = true; break;
		case 'p': o.pidfile = optarg; break;
		case 'r': parse_ready_fd(optarg); break;
		case 'i': o.mode = MODE_INETD; break;
		case 'C': o.mode = MODE_CHECK; break;
		case 'K': o.mode = MODE_CHECK_CONFIG; break;
		case 'l': o.mode = MODE_LIST; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'V': printf("ontap-broker (ontap) %s\n", ONTAP_VERSION); exit(EXIT_SUCCESS);
		default: usage(stderr); exit(EXIT_FAILURE);
		}
	}
	if (optind != argc)
		die("unexpected argument `%s' (see --help)", argv[optind]);
	if (o.daemon && !o.pidfile)
		die("--daemon needs --pidfile");
}

/* systemd's socket activation (sd_listen_fds(3)): the socket is fd 3 */
static bool activated_here(void)
{
	const char *pid = getenv("LISTEN_PID");

	return pid && getenv("LISTEN_FDS") && strtol(pid, NULL, 10) == getpid();
}

static int close_from(unsigned lo, unsigned hi)
{
	DIR *d;
	struct dirent *e;

	if (close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
	/* kernels before 5.9, or a seccomp filter without it: the open ones, from /proc */
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		unsigned long fd = strtoul(e->d_name, &end, 10);

		if (*end == '\0' && e->d_name[0] != '.' && fd >= lo && fd <= hi &&
		    (int)fd != dirfd(d))
			close((int)fd);
	}
	closedir(d);
	return 0;
}

/*
 * Whatever started the broker (a shell, a supervisor, a test) may have left
 * descriptors open without O_CLOEXEC.  Every worker would inherit them, and a
 * worker becomes the requester: they would be the requester's to use.  So
 * all go, but 0-2, the socket systemd passed (fd 3), and --ready-fd's; in
 * --inetd mode the connection is stdin.
 */
static void close_inherited(void)
{
	unsigned keep[2], n = 0, lo = 3;
	int r = 0;

	if (activated_here())
		keep[n++] = 3;
	/* in ascending order: --ready-fd is 3 or more */
	if (o.ready_fd > 3 || (o.ready_fd == 3 && n == 0))
		keep[n++] = (unsigned)o.ready_fd;
	for (unsigned i = 0; i < n && r == 0; i++) {
		if (keep[i] > lo)
			r = close_from(lo, keep[i] - 1);
		lo = keep[i] + 1;
	}
	if (r == 0)
		r = close_from(lo, ~0U);
	if (r < 0)
		die("cannot close the descriptors inherited from the caller: %s", strerror(-r));
}

static void write_pidfile(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		die("cannot write pidfile `%s': %s", path, strerror(errno));
	if (write(fd, buf, (size_t)n) != n || close(fd) < 0)
		die("cannot write pidfile `%s': %s", path, strerror(errno));
}

/* The parent returns only once the child is listening and its pidfile exists. */
static void daemonize(const char *pidfile)
{
	int p[2], null;
	char ok;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &ok, 1) == 1 ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	close(p[0]);
	if (setsid() < 0)
		die("setsid: %s", strerror(errno));
	write_pidfile(pidfile);
	if (chdir("/") < 0)
		die("chdir /: %s", strerror(errno));
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		die("/dev/null: %s", strerror(errno));
	if (null > STDERR_FILENO)
		close(null);
	if (write(p[1], "", 1) != 1)
		die("cannot tell the parent we are up: %s", strerror(errno));
	close(p[1]);
}

/* sd_notify(3)'s READY=1, and s6's readiness: a newline on a descriptor. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[64];
	int s, n;

	if (o.ready_fd >= 0) {
		if (write(o.ready_fd, "\n", 1) != 1)
			log_line("--ready-fd %d: %s", o.ready_fd, strerror(errno));
		close(o.ready_fd);
	}
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	n = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d", (int)getpid());
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path))) < 0)
		log_line("NOTIFY_SOCKET `%s': %s", path, strerror(errno));
	if (s >= 0)
		close(s);
	unsetenv("NOTIFY_SOCKET");
}

/* The names --check has looked at, so each bridge is warned about once. */
struct pin_check {
	char (*seen)[IFNAMSIZ];
	size_t n, cap;
};

static bool seen_before(struct pin_check *pc, const char *name)
{
	void *p;

	for (size_t i = 0; i < pc->n; i++)
		if (!strcmp(pc->seen[i], name))
			return true;
	if (pc->n == pc->cap) {
		p = realloc(pc->seen, (pc->cap ? 2 * pc->cap : 16) * sizeof(*pc->seen));
		if (!p)
			return false;   /* at worst a second warning */
		pc->seen = p;
		pc->cap = pc->cap ? 2 * pc->cap : 16;
	}
	memcpy(pc->seen[pc->n++], name, IFNAMSIZ);
	return false;
}

/* 3 (NET_ADDR_SET) once an address was set explicitly; -1 if unknown */
static int addr_assign_type(const char *name)
{
	char path[64], buf[16];
	int fd, type = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/addr_assign_type", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		char *end;
		long v;

		buf[n] = '\0';
		v = strtol(buf, &end, 10);
		if (end != buf && (*end == '\n' || *end == '\0') && v >= 0 && v < 256)
			type = (int)v;
	}
	return type;
}

/*
 * A bridge whose address was never set follows its lowest port's MAC, and a
 * tap's holder may set the tap's MAC with no capability (SIOCSIFHWADDR): so
 * whoever gets a tap on it can move the bridge's own address.
 */
static void pin_cb(void *ctx, const char *name, size_t len, const char *file, size_t line)
{
	char br[IFNAMSIZ], shown[ESCAPE_SIZE(IFNAMSIZ)], where[ESCAPE_SIZE(256)], path[64];
	struct stat st;
	int type;

	/* validated first: the name goes into a /sys path */
	if (!ifname_valid(name, len))
		return;
	memcpy(br, name, len);
	br[len] = '\0';
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", br);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || seen_before(ctx, br))
		return;
	type = addr_assign_type(br);
	if (type == 3)
		return;
	escape_str(shown, sizeof(shown), br);
	escape(where, sizeof(where), file, strlen(file));
	fprintf(stderr, "ontap-broker: warning: %s:%zu: bridge `%s' follows its ports' MAC address "
		"(addr_assign_type %d), which anyone given a tap on it can set; give it an address "
		"of its own: ip link set %s address ADDRESS\n", where, line, shown, type, shown);
}

/* Warns, never fails: the configuration is valid, the bridge is the admin's to fix. */
static void warn_unpinned(const struct broker_conf *c)
{
	struct pin_check pc = { 0 };
	struct acl_result res;

	acl_names(&aclfile_loader, c->acl_path, pin_cb, &pc, &res);
	free(pc.seen);
}

static int check_files(const struct broker_conf *c)
{
	struct acl_result res;

	/* as root: every include is seen, so every error in it is found */
	if (acl_check(&aclfile_loader, c->acl_path, "-", c->semantics, &res) == ACL_ERROR) {
		fprintf(stderr, "ontap-broker: %s\n", res.msg);
		return EXIT_FAILURE;
	}
	if (access(o.config, F_OK) == 0)
		printf("%s: ok\n", o.config);
	else
		printf("%s: absent, every setting has its default\n", o.config);
	printf("%s: ok\n", c->acl_path);
	warn_unpinned(c);
	return EXIT_SUCCESS;
}

static int list_cb(const struct tap_entry *t, void *ctx)
{
	char br[IF_NAMESIZE] = "-", when[32];
	struct passwd *pw = getpwuid(t->owner.uid);
	time_t since = (time_t)t->owner.since;
	struct tm tm;

	(void)ctx;
	if (t->master)
		if_indextoname(t->master, br);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&since, &tm));
	printf("%-15s %-15s %-12s %7d  %s  %s%s\n", t->name, br,
	       pw ? pw->pw_name : "?", t->owner.pid, when,
	       /* a veth has no holder: it lives as long as its namespace */
	       t->kind == CENSUS_VETH ? "veth" : t->attached ? "attached" : "detached",
	       t->persist ? ",persistent" : "");
	return 0;
}

static int list_taps(void)
{
	int r;

	printf("%-15s %-15s %-12s %7s  %-20s  %s\n", "INTERFACE", "BRIDGE", "USER", "PID", "SINCE", "STATE");
	r = census_walk(list_cb, NULL);
	if (r < 0)
		fprintf(stderr, "ontap-broker: cannot list taps: %s\n", strerror(-r));
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * With quotas, every request takes the lock file; find out now, not at the
 * first request, that it cannot be made.
 */
static int check_lock(const struct broker_conf *c, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	if (c->nquotas == 0 && c->max_taps_default == CONF_UNLIMITED)
		return 0;
	snprintf(dir, sizeof(dir), "%s", c->lock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory `%.256s' for the lock file: %s",
				 dir, strerror(errno));
			return -1;
		}
	}
	fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock file `%.256s': %s", c->lock_path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static void serve_stdin(struct broker_conf *c)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);

	/* s6-ipcserver, unixserver, systemd Accept=yes, or a parent's socketpair */
	if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    domain != AF_UNIX || type != SOCK_STREAM)
		die("--inetd: standard input is not a connected unix stream socket");
	signal(SIGPIPE, SIG_IGN);
	caps_restrict();
	inetd_serve(STDIN_FILENO, c);
}

int main(int argc, char *argv[])
{
	static struct broker_conf conf;
	char err[512];
	int lsock;

	parse_opts(argc, argv);
	close_inherited();
	/* strftime() would read /etc/localtime in every worker; once, here */
	tzset();
	if (o.mode == MODE_LIST)
		return list_taps();
	if (load_conf(&conf, err, sizeof(err)) < 0)
		die("%s", err);
	if (o.mode == MODE_CHECK)
		return check_files(&conf);
	/* exactly what SIGHUP would take: ontap.conf and its lock file, not the ACL */
	if (o.mode == MODE_CHECK_CONFIG) {
		if (check_lock(&conf, err, sizeof(err)) < 0)
			die("%s", err);
		printf("%s: ok\n", access(o.config, F_OK) == 0 ? o.config : "(no file) defaults");
		return EXIT_SUCCESS;
	}
	apply_logging(&conf);
	if (check_lock(&conf, err, sizeof(err)) < 0)
		die("%s", err);
	/* what a veth's target namespace is checked against, in every process after this */
	if (netns_host_init(err, sizeof(err)) < 0)
		die("%s", err);
	if (o.mode == MODE_INETD) {
		serve_stdin(&conf);
		return EXIT_SUCCESS;
	}
	/* refuse to start before leaving a socket file behind */
	caps_check();
	lsock = listen_activated();
	o.activated = lsock >= 0;
	if (o.activated)
		snprintf(conf.socket_path, sizeof(conf.socket_path), "(socket activation, fd %d)", lsock);
	else
		lsock = listen_socket(conf.socket_path, o.socket_mode, o.socket_group);
	/* before --daemon says we are up: a missing capability is a failed start */
	caps_restrict();
	if (o.daemon)
		daemonize(o.pidfile);
	else if (o.pidfile)
		write_pidfile(o.pidfile);
	log_line("listening on %s, acl %s", conf.socket_path, conf.acl_path);
	notify_ready();
	listen_loop(lsock, &conf, reload);
	if (!o.activated)
		unlink(conf.socket_path);
	if (o.pidfile)
		unlink(o.pidfile);
	log_line("stopped");
	return EXIT_SUCCESS;
}

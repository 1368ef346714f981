/* SPDX-License-Identifier: ISC */
/*
 * ontap-broker: the privileged half of ontap.  It takes requests for taps on
 * a unix socket, decides them with qemu's bridge.conf read as the requester,
 * and hands the tap's fd back.  See ontap-broker(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "listen.h"
#include "log.h"
#include "serve.h"

#define DEADLINE_S  10
#define MAX_WORKERS 128

struct opts {
	struct broker_conf conf;
	const char *pidfile;
	bool daemon;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ontap-broker [--socket PATH] [--acl PATH] [--daemon --pidfile PATH]\n"
		   "  --socket PATH   listen here (default %s)\n"
		   "  --acl PATH      the bridge.conf to decide with (default %s)\n"
		   "  --daemon        go to the background once listening\n"
		   "  --pidfile PATH  write the broker's pid here\n",
		ONTAP_SOCKET_PATH, ONTAP_ACL_PATH);
}

static void parse_opts(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "acl", required_argument, NULL, 'a' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->conf.socket_path = optarg; break;
		case 'a': o->conf.acl_path = optarg; break;
		case 'd': o->daemon = true; break;
		case 'p': o->pidfile = optarg; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'V': printf("ontap-broker (ontap) %s\n", ONTAP_VERSION); exit(EXIT_SUCCESS);
		default: usage(stderr); exit(EXIT_FAILURE);
		}
	}
	if (optind != argc)
		die("unexpected argument `%s' (see --help)", argv[optind]);
	/* the ACL is read by a child in the requester's identity: no cwd games */
	if (o->conf.acl_path[0] != '/')
		die("--acl `%s': must be an absolute path", o->conf.acl_path);
	if (o->daemon && !o->pidfile)
		die("--daemon needs --pidfile");
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
	int p[2];
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
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		die("/dev/null: %s", strerror(errno));
	if (null > STDERR_FILENO)
		close(null);
	if (write(p[1], "", 1) != 1)
		die("cannot tell the parent we are up: %s", strerror(errno));
	close(p[1]);
}

int main(int argc, char *argv[])
{
	struct opts o = {
		.conf = {
			.socket_path = ONTAP_SOCKET_PATH,
			.acl_path = ONTAP_ACL_PATH,
			.semantics = ACL_DENY_WINS,
			.deadline_s = DEADLINE_S,
		},
	};
	int lsock;

	parse_opts(argc, argv, &o);
	lsock = listen_socket(o.conf.socket_path, 0666);
	if (o.daemon)
		daemonize(o.pidfile);
	else if (o.pidfile)
		write_pidfile(o.pidfile);
	caps_restrict();
	log_line("listening on %s, acl %s", o.conf.socket_path, o.conf.acl_path);
	listen_loop(lsock, &o.conf, MAX_WORKERS);
	unlink(o.conf.socket_path);
	if (o.pidfile)
		unlink(o.pidfile);
	log_line("stopped");
	return EXIT_SUCCESS;
}

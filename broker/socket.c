/* SPDX-License-Identifier: ISC */
/* Runs in the listener at start-up: the socket it serves. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "socket.h"

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

/* SPDX-License-Identifier: ISC */
/*
 * qemu-call: runs a bridge helper the way its callers do (qemu-contract.md
 * section 1), then reports the tap it got as the kernel sees it.
 *
 *   qemu-call [--libvirt] [--no-vnet] [--hold SECONDS] [--persist] [--owner UID]
 *             HELPER BRIDGE
 *
 * Default: qemu's way (socketpair, fork, close all fds but 0-2 and the
 * child's end, SIGCHLD blocked, SIGPIPE ignored, "--use-vnet --fd=N --br=B",
 * or "/bin/sh -c" when HELPER has a space or tab).  --libvirt: libvirt's
 * argv order without a shell and its strict receive checks.
 *
 * Success: one line on stdout, the fd held for --hold SECONDS (-1: until a
 * line or EOF on stdin), exit 0.  Failure: exit 1.  The helper's exit
 * status is always reported on stderr as "helper exit=N".
 *
 * --persist and --owner UID do to the received tap what any holder of its
 * fd may, with no capability: TUNSETPERSIST (the tap outlives the fd) and
 * TUNSETOWNER, before the line is printed (so the line says they are done).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* --hold -1 still ends: no test may hang forever on a forgotten client */
#define HOLD_MAX_S 600
/* longer arguments are refused, never truncated */
#define BRIDGE_MAX 200

static bool libvirt, vnet = true, persist;
static long owner = -1;

static void usage(void)
{
	fprintf(stderr, "Usage: qemu-call [--libvirt] [--no-vnet] [--hold SECONDS] [--persist]\n"
			"                 [--owner UID] HELPER BRIDGE\n");
	exit(2);
}

static void close_all_but(int keep)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/* The child side: never returns. */
static void run_helper(const char *helper, const char *bridge, int fd)
{
	char fdarg[32], brarg[BRIDGE_MAX + 8], cmd[PATH_MAX + BRIDGE_MAX + 64];
	const char *argv[6];
	int n = 0;

	close_all_but(fd);
	snprintf(fdarg, sizeof(fdarg), "--fd=%d", fd);
	snprintf(brarg, sizeof(brarg), "--br=%s", bridge);
	argv[n++] = helper;
	if (libvirt) {
		/* libvirt: PATH [--use-vnet] --br=B --fd=N, never a shell */
		if (vnet)
			argv[n++] = "--use-vnet";
		argv[n++] = brarg;
		argv[n++] = fdarg;
	} else if (strpbrk(helper, " \t")) {
		/* qemu: a helper "with arguments" goes through the shell, B unquoted */
		bool has_br = strstr(helper, "--br=") != NULL;

		snprintf(cmd, sizeof(cmd), "%s%s %s%s%s", helper, vnet ? " --use-vnet" : "",
			 fdarg, has_br ? "" : " ", has_br ? "" : brarg);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		fprintf(stderr, "qemu-call: execl /bin/sh: %s\n", strerror(errno));
		_exit(127);
	} else {
		if (vnet)
			argv[n++] = "--use-vnet";
		argv[n++] = fdarg;
		argv[n++] = brarg;
	}
	argv[n] = NULL;
	execv(helper, (char *const *)argv);
	fprintf(stderr, "qemu-call: execv %s: %s\n", helper, strerror(errno));
	_exit(127);
}

/*
 * One byte with room for one fd.  qemu takes the first SCM_RIGHTS cmsg of
 * the right size; libvirt insists on exactly one such cmsg.
 */
static int receive_fd(int sock)
{
	struct one_fd r;
	int fd = recv_one_fd(sock, &r);

	if (r.n < 0) {
		fprintf(stderr, "qemu-call: recvmsg: %s\n", strerror(r.err));
		return -1;
	}
	if (r.n == 0) {
		fprintf(stderr, "qemu-call: helper closed the socket without sending\n");
		return -1;
	}
	if ((r.flags & MSG_CTRUNC) || (libvirt && (r.ncmsg != 1 || fd < 0))) {
		fprintf(stderr, "qemu-call: bad control message (%d cmsg, flags %#x)\n",
			r.ncmsg, (unsigned)r.flags);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0)
		fprintf(stderr, "qemu-call: no descriptor received\n");
	return fd;
}

/* Everything from the kernel: the fd's tun flags, then the link itself. */
static int describe(int tapfd)
{
	struct ifreq ifr = { 0 };
	char path[64 + IFNAMSIZ], link[PATH_MAX] = "-";
	const char *master = link;
	const unsigned char *mac;
	int s, mtu, vh;
	ssize_t n;

	if (ioctl(tapfd, TUNGETIFF, &ifr) < 0) {
		fprintf(stderr, "qemu-call: TUNGETIFF: %s\n", strerror(errno));
		return -1;
	}
	vh = !!(ifr.ifr_flags & IFF_VNET_HDR);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		fprintf(stderr, "qemu-call: SIOCGIFMTU %s: %s\n", ifr.ifr_name, strerror(errno));
		goto fail;
	}
	mtu = ifr.ifr_mtu;
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "qemu-call: SIOCGIFHWADDR: %s\n", strerror(errno));
		goto fail;
	}
	mac = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "qemu-call: SIOCGIFFLAGS: %s\n", strerror(errno));
		goto fail;
	}
	close(s);
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", ifr.ifr_name);
	/* no master: "-"; else the link's last component, "../brX" */
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		master = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	}
	printf("tap=%s mtu=%d mac=%02x:%02x:%02x:%02x:%02x:%02x up=%d master=%s vnet_hdr=%d\n",
	       ifr.ifr_name, mtu, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       !!(ifr.ifr_flags & IFF_UP), master, vh);
	fflush(stdout);
	return 0;
fail:
	if (s >= 0)
		close(s);
	return -1;
}

static void hold(long seconds)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char buf[256];

	if (seconds >= 0) {
		sleep((unsigned)seconds);
		return;
	}
	/* one line or EOF; read() may return a partial line, which is enough */
	if (poll(&p, 1, HOLD_MAX_S * 1000) > 0)
		(void)!read(0, buf, sizeof(buf));
}

/* What the fd holder may do to the tap without any capability. */
static int adopt(int tapfd)
{
	if (persist && ioctl(tapfd, TUNSETPERSIST, 1L) < 0) {
		fprintf(stderr, "qemu-call: TUNSETPERSIST: %s\n", strerror(errno));
		return -1;
	}
	if (owner >= 0 && ioctl(tapfd, TUNSETOWNER, owner) < 0) {
		fprintf(stderr, "qemu-call: TUNSETOWNER %ld: %s\n", owner, strerror(errno));
		return -1;
	}
	return 0;
}

static long parse_owner(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v >= (long)UINT32_MAX)
		usage();
	return v;
}

static long parse_hold(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -1 || v > HOLD_MAX_S)
		usage();
	return v;
}

int main(int argc, char *argv[])
{
	const char *helper, *bridge;
	sigset_t chld, old;
	long hold_s = 0;
	int sv[2], fd, status, i;
	pid_t pid;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--libvirt"))
			libvirt = true;
		else if (!strcmp(argv[i], "--no-vnet"))
			vnet = false;
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold_s = parse_hold(argv[++i]);
		else if (!strcmp(argv[i], "--persist"))
			persist = true;
		else if (!strcmp(argv[i], "--owner") && i + 1 < argc)
			owner = parse_owner(argv[++i]);
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	helper = argv[i];
	bridge = argv[i + 1];
	if (strlen(helper) >= PATH_MAX || strlen(bridge) > BRIDGE_MAX)
		usage();

	/* qemu ignores SIGPIPE and blocks SIGCHLD around the helper: both are inherited */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("qemu-call: socketpair");
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("qemu-call: fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		run_helper(helper, bridge, sv[1]);
	}
	close(sv[1]);
	fd = receive_fd(sv[0]);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFEXITED(status))
		fprintf(stderr, "helper exit=%d\n", WEXITSTATUS(status));
	else
		fprintf(stderr, "helper signal=%d\n", WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || fd < 0) {
		/* qemu: "bridge helper failed" even if an fd arrived */
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (adopt(fd) < 0 || describe(fd) < 0) {
		close(fd);
		return 1;
	}
	hold(hold_s);
	close(fd);
	return 0;
}

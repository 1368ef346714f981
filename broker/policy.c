/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aclfile.h"
#include "policy.h"

static void __attribute__((noreturn))
reader(int out, const struct peer *p, const char *acl_path, const char *bridge,
       enum acl_semantics sem, unsigned timeout_s)
{
	struct policy_answer ans;
	char proc[32];
	ssize_t n;
	int r;

	pid_t worker = getppid();

	/* the parent gives up at timeout_s and says so; this is the backstop */
	alarm(timeout_s + 1);
	memset(&ans, 0, sizeof(ans));
	r = peer_become(p);
	/*
	 * Try to outlive no worker.  Asked for after the identity change, which
	 * would clear it; but the kernel checks it like a kill() from the dying
	 * worker, which has no CAP_KILL over this uid, so the alarm above is
	 * what really bounds a reader stuck on a slow disk.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != worker)
		_exit(1);
	if (r < 0) {
		ans.acl.verdict = ACL_ERROR;
		ans.acl.err = -r;
		snprintf(ans.acl.msg, sizeof(ans.acl.msg), "cannot take the requester's identity: %s",
			 strerror(-r));
	} else {
		acl_check(&aclfile_loader, acl_path, bridge, sem, &ans.acl);
		snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)p->pid);
		n = readlink(proc, ans.exe, sizeof(ans.exe) - 1);
		ans.exe[n > 0 ? n : 0] = '\0';
	}
	/* fits in PIPE_BUF, so one write is all or nothing */
	_exit(write(out, &ans, sizeof(ans)) == (ssize_t)sizeof(ans) ? 0 : 1);
}

static int read_result(int in, unsigned timeout_s, struct policy_answer *res)
{
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, (int)timeout_s * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	do
		n = read(in, res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*res) ? 0 : -EPROTO;
}

static void fail_closed(struct acl_result *res, int err, const char *what)
{
	res->verdict = ACL_ERROR;
	res->err = err;
	snprintf(res->msg, sizeof(res->msg), "cannot evaluate the acl: %s: %s", what,
		 strerror(err));
}

enum acl_verdict policy_check(const struct peer *p, const char *acl_path,
			      const char *bridge, enum acl_semantics sem,
			      unsigned timeout_s, struct policy_answer *ans)
{
	_Static_assert(sizeof(struct policy_answer) <= PIPE_BUF, "one atomic write");
	struct acl_result *res = &ans->acl;
	int fds[2], status, r;
	pid_t pid;

	memset(ans, 0, sizeof(*ans));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fail_closed(res, errno, "pipe");
		return res->verdict;
	}
	pid = fork();
	if (pid < 0) {
		fail_closed(res, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		reader(fds[1], p, acl_path, bridge, sem, timeout_s);
	}
	close(fds[1]);
	fds[1] = -1;
	r = read_result(fds[0], timeout_s, ans);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		fail_closed(res, -r, r == -ETIMEDOUT ? "reading the files took too long" : "reader");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_closed(res, EPROTO, "reader failed");
	else if ((unsigned)res->verdict > ACL_ERROR)
		fail_closed(res, EPROTO, "reader answered nonsense");
	res->msg[sizeof(res->msg) - 1] = '\0';
	ans->exe[sizeof(ans->exe) - 1] = '\0';
out:
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return res->verdict;
}

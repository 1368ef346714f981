/* SPDX-License-Identifier: ISC */
/* Runs in a worker that is already the requester (see policy.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aclfile.h"
#include "policy.h"

enum acl_verdict policy_check(pid_t pid, const char *acl_path, const char *bridge,
			      enum acl_semantics sem, struct policy_answer *ans)
{
	char proc[32];
	ssize_t n;

	memset(ans, 0, sizeof(*ans));
	acl_check(&aclfile_loader, acl_path, bridge, sem, &ans->acl);
	/* as the requester: the broker's own uid could not see it without CAP_SYS_PTRACE */
	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	n = readlink(proc, ans->exe, sizeof(ans->exe) - 1);
	ans->exe[n > 0 ? n : 0] = '\0';
	ans->acl.msg[sizeof(ans->acl.msg) - 1] = '\0';
	return ans->acl.verdict;
}

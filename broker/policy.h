/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_POLICY_H
#define ONTAP_POLICY_H

#include <sys/types.h>

#include "acl.h"

/*
 * Decides a request for bridge with the ACL at acl_path.  The caller must
 * already be the requester (identity_become()), so the files' modes decide
 * what it can see exactly as they would for its own programs; any trouble
 * reading them is ACL_ERROR, never an allow.  Being the requester, it may
 * also read /proc/PID/exe of the requesting process for the audit record.
 */
struct policy_answer {
	struct acl_result acl;
	char exe[256];   /* the requester's executable, for the audit record, or "" */
};

enum acl_verdict policy_check(pid_t pid, const char *acl_path, const char *bridge,
			      enum acl_semantics sem, struct policy_answer *ans);

#endif

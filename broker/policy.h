/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_POLICY_H
#define ONTAP_POLICY_H

#include "acl.h"
#include "peer.h"

/*
 * Decides p's request for bridge with the ACL at acl_path, read by a child
 * that has become p (peer_become()), so the files' modes decide what p can
 * see exactly as they would for p's own programs.  Never fails open: any
 * trouble in the child is ACL_ERROR.  Gives up after timeout_s seconds.
 * Being the requester, the child may also read /proc/PID/exe of the
 * requesting process, which the broker itself could not without
 * CAP_SYS_PTRACE.
 */
struct policy_answer {
	struct acl_result acl;
	char exe[256];   /* the requester's executable, for the audit record, or "" */
};

enum acl_verdict policy_check(const struct peer *p, const char *acl_path,
			      const char *bridge, enum acl_semantics sem,
			      unsigned timeout_s, struct policy_answer *ans);

#endif

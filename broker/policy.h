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
 */
enum acl_verdict policy_check(const struct peer *p, const char *acl_path,
			      const char *bridge, enum acl_semantics sem,
			      unsigned timeout_s, struct acl_result *res);

#endif

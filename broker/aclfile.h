/* SPDX-License-Identifier: ISC */
/*
 * The real bridge.conf loader: reads a file with whatever identity the
 * calling process has.  The broker runs it in a process that already holds
 * the requester's uid, gid and groups, so a file the requester cannot read
 * is invisible here too; this module does no identity work of its own.
 */
#ifndef ONTAP_ACLFILE_H
#define ONTAP_ACLFILE_H

#include "acl.h"

extern const struct acl_loader aclfile_loader;

#endif

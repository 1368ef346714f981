/* SPDX-License-Identifier: ISC */
/*
 * Is a network-namespace descriptor a client sent one it may have an
 * interface made in?  Runs in a worker, as the requester with no
 * capability, and again in the maker (or an --inetd parent): only ioctls on
 * descriptors it was given or opened at start, never a path or a pid the
 * client named (the shape of lxc-user-nic's CVE-2017-5985).
 */
#ifndef ONTAP_NETNS_H
#define ONTAP_NETNS_H

#include <stddef.h>
#include <sys/types.h>

/* The broker's own network and user namespaces, as (st_dev, st_ino). */
struct netns_ref {
	dev_t net_dev, user_dev;
	ino_t net_ino, user_ino;
};

/*
 * Records the namespaces of the calling process (/proc/self/ns/net and
 * /proc/self/ns/user), to be called at start, as the broker: 0 or -errno,
 * err gets a line.
 */
int netns_ref_self(struct netns_ref *ref, char *err, size_t errlen);

/*
 * netns_ref_self() once for the whole broker, at start-up, before any
 * worker or maker is forked (they inherit it): a worker, being the
 * requester and not dumpable, could not read /proc/self/ns.  0 or -errno.
 */
int netns_host_init(char *err, size_t errlen);

/* What netns_host_init() recorded (all zero before it). */
const struct netns_ref *netns_host(void);

/*
 * 0 iff fd is a network namespace (fstatfs NSFS_MAGIC, NS_GET_NSTYPE ==
 * CLONE_NEWNET) other than ref's, whose owning user namespace is not ref's
 * own (the host's) and was created by uid (NS_GET_USERNS, NS_GET_OWNER_UID).
 * Otherwise -errno: -EBADF / -EINVAL (not a netns file), -EPERM (the
 * broker's own, the host's, or another user's), and err gets a line for the
 * user.  *owner gets the owning namespace's owner uid when known, else -1.
 */
int netns_check(int fd, const struct netns_ref *ref, uid_t uid, long *owner,
		char *err, size_t errlen);

#endif

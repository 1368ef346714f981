/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "netns.h"

static int stat_path(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int netns_ref_self(struct netns_ref *ref, char *err, size_t errlen)
{
	int r = stat_path("/proc/self/ns/net", &ref->net_dev, &ref->net_ino);

	if (r == 0)
		r = stat_path("/proc/self/ns/user", &ref->user_dev, &ref->user_ino);
	if (r < 0)
		snprintf(err, errlen, "cannot stat the broker's own namespaces in /proc/self/ns: %s",
			 strerror(-r));
	return r;
}

static struct netns_ref host_ns;

int netns_host_init(char *err, size_t errlen)
{
	return netns_ref_self(&host_ns, err, errlen);
}

const struct netns_ref *netns_host(void)
{
	return &host_ns;
}

/* the owner of the user namespace that owns netns fd: 0 or -errno */
static int owner_of(int fd, const struct netns_ref *ref, uid_t *owner, int *host)
{
	struct stat st;
	int ufd = ioctl(fd, NS_GET_USERNS);
	int r = 0;

	if (ufd < 0)
		return -errno;
	if (fstat(ufd, &st) < 0 || ioctl(ufd, NS_GET_OWNER_UID, owner) < 0)
		r = -errno;
	else
		*host = st.st_dev == ref->user_dev && st.st_ino == ref->user_ino;
	close(ufd);
	return r;
}

int netns_check(int fd, const struct netns_ref *ref, uid_t uid, long *owner,
		char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;
	uid_t o = 0;
	int type, host = 0, r;

	*owner = -1;
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "the namespace descriptor is unusable: %s", strerror(-r));
		return r;
	}
	/* O_PATH descriptors pass fstatfs but not ioctl: refused as not a namespace */
	type = sfs.f_type == NSFS_MAGIC ? ioctl(fd, NS_GET_NSTYPE) : -1;
	if (type != CLONE_NEWNET) {
		snprintf(err, errlen, "the descriptor sent is not a network namespace "
			 "(open /proc/PID/ns/net or a bind-mounted netns file)");
		return -EINVAL;
	}
	if (st.st_dev == ref->net_dev && st.st_ino == ref->net_ino) {
		snprintf(err, errlen, "the target is the broker's own network namespace "
			 "(the host's): refused");
		return -EPERM;
	}
	r = owner_of(fd, ref, &o, &host);
	if (r < 0) {
		snprintf(err, errlen, "cannot find who owns the target network namespace: %s",
			 strerror(-r));
		return r;
	}
	*owner = (long)o;
	/*
	 * Owned by the broker's own user namespace: made by root (unshare -n,
	 * ip netns add), whatever uid the requester has.  Only a namespace whose
	 * user namespace the requester created is theirs to add interfaces to.
	 */
	if (host) {
		snprintf(err, errlen, "the target network namespace belongs to the host "
			 "(its user namespace is the broker's), not to uid %u: refused", (unsigned)uid);
		return -EPERM;
	}
	if (o != uid) {
		snprintf(err, errlen, "the target network namespace belongs to uid %u, not to uid %u: "
			 "refused", (unsigned)o, (unsigned)uid);
		return -EPERM;
	}
	return 0;
}

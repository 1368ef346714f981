/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caps.h"
#include "peer.h"

static int peer_groups(int sock, struct peer *p)
{
	socklen_t len = 64 * sizeof(gid_t);

	/* bounded: the kernel says how much room it needs on ERANGE */
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(p->groups, len ? len : 1);

		if (!g)
			return -ENOMEM;
		p->groups = g;
		if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			p->ngroups = (int)(len / sizeof(gid_t));
			return 0;
		}
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

int peer_get(int sock, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(p, 0, sizeof(*p));
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc))
		return -EPROTO;
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	return peer_groups(sock, p);
}

void peer_free(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

const char *peer_groups_str(const struct peer *p, char *out, size_t cap)
{
	size_t o = 0;

	if (cap)
		out[0] = '\0';
	for (int i = 0; i < p->ngroups && o < cap; i++) {
		int n = snprintf(out + o, cap - o, "%s%u", i ? "," : "", (unsigned)p->groups[i]);

		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return out;
}

int peer_become(const struct peer *p)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int err;

	/*
	 * Leaving uid 0 would empty every capability set; CAP_NET_ADMIN is
	 * kept through the switch and everything else dropped right after.
	 */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups((size_t)p->ngroups, p->groups) < 0 ||
	    setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	/*
	 * Explicitly, not by the uid change: the broker may run as a non-root
	 * user given capabilities by its supervisor, and a requester may be
	 * root.  Only CAP_NET_ADMIN is left, which opens no file: so
	 * CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER can never make an
	 * unreadable ACL readable, nor CAP_SETUID lead back to the broker's uid.
	 */
	err = caps_net_admin_only();
	if (err < 0)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* read back what we set, rather than trusting it */
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != p->uid || e != p->uid || s != p->uid ||
	    rg != p->gid || eg != p->gid || sg != p->gid)
		return -EPERM;
	/*
	 * Whatever fs.suid_dumpable says: the requester, whose uid this process
	 * now has, must not ptrace it, read its memory or take its fds.
	 */
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ? -errno : 0;
}

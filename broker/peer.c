/* SPDX-License-Identifier: ISC */
/* Runs in the listener (and an --inetd instance): identity; identity_become() in a new worker. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "peer.h"

#define OVERFLOW_GID 65534

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
	len = sizeof(p->groups);
	/* ERANGE: more than PEER_GROUPS_MAX; we won't serve a partial set */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) < 0)
		return errno == ERANGE ? -E2BIG : -errno;
	p->ngroups = (int)(len / sizeof(gid_t));
	return 0;
}

bool peer_nested(pid_t pid)
{
	static const char initial[] = "0 0 4294967295";
	char path[32], buf[128], *s = buf, *d = buf;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* "         0          0 4294967295\n", spaces squeezed */
	for (; *s; s++)
		if (*s != ' ' || (d > buf && d[-1] != ' '))
			*d++ = *s;
	*d = '\0';
	return strcmp(buf, initial) != 0 && strcmp(buf, "0 0 4294967295\n") != 0;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static int add_group(struct identity *id, gid_t g)
{
	for (int i = 0; i < id->ngroups; i++)
		if (id->groups[i] == g)
			return 0;
	if (id->ngroups == PEER_GROUPS_MAX)
		return -E2BIG;
	id->groups[id->ngroups++] = g;
	return 0;
}

/* The account's groups as the database has them (what initgroups(3) would give). */
static int db_lookup(uid_t uid, gid_t *groups, int *ngroups, gid_t *primary)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int got = PEER_GROUPS_MAX;

	*primary = OVERFLOW_GID;
	*ngroups = 0;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return 0;
	*primary = pw.pw_gid;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &got) < 0)
		return -E2BIG;
	*ngroups = got;
	return 0;
}

/*
 * The listener asks the database for every connection, and with NSS modules
 * beyond files (systemd, sss) that costs more than the rest of a request.
 * Answers are kept a few seconds, and all dropped as soon as /etc/passwd or
 * /etc/group changes: a group change in those files applies to the next
 * request; one in another source within DB_CACHE_MS.
 */
#define DB_CACHE_MS  5000
#define DB_CACHE_LEN 32

struct db_entry {
	uid_t uid;
	gid_t primary;
	int ngroups;
	int64_t at;
	gid_t groups[PEER_GROUPS_MAX];
};

static struct db_entry db_cache[DB_CACHE_LEN];
static unsigned db_cached;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool db_files_changed(void)
{
	static const char *const files[] = { "/etc/passwd", "/etc/group" };
	static struct stat seen[2];
	bool changed = false;

	for (int i = 0; i < 2; i++) {
		struct stat st;

		if (stat(files[i], &st) < 0)
			memset(&st, 0, sizeof(st));
		if (st.st_ino != seen[i].st_ino || st.st_size != seen[i].st_size ||
		    st.st_mtim.tv_sec != seen[i].st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != seen[i].st_mtim.tv_nsec)
			changed = true;
		seen[i] = st;
	}
	return changed;
}

static const struct db_entry *db_groups(uid_t uid, int *err)
{
	int64_t now = mono_ms();
	struct db_entry *e = NULL;

	*err = 0;
	if (db_files_changed())
		db_cached = 0;
	for (unsigned i = 0; i < db_cached; i++) {
		if (db_cache[i].uid == uid && now - db_cache[i].at < DB_CACHE_MS)
			return &db_cache[i];
		if (db_cache[i].uid == uid || !e || db_cache[i].at < e->at)
			e = &db_cache[i];
	}
	if (db_cached < DB_CACHE_LEN)
		e = &db_cache[db_cached++];
	*err = db_lookup(uid, e->groups, &e->ngroups, &e->primary);
	if (*err < 0) {
		db_cached = 0;   /* nothing half-made stays */
		return NULL;
	}
	e->uid = uid;
	e->at = now;
	return e;
}

/* gid and groups of p, all of them already the database's own */
static bool within_db(const struct peer *p, const struct db_entry *db)
{
	if (p->gid != db->primary)
		return false;
	for (int i = 0; i < p->ngroups; i++) {
		int k = 0;

		while (k < db->ngroups && db->groups[k] != p->groups[i])
			k++;
		if (k == db->ngroups)
			return false;
	}
	return true;
}

int peer_identity(const struct peer *p, struct identity *id)
{
	const struct db_entry *db;
	int r;

	memset(id, 0, sizeof(*id));
	id->uid = p->uid;
	db = db_groups(p->uid, &r);
	if (!db)
		return r;
	/*
	 * Nested or not, a peer that shows only its account's own gid and groups
	 * gets the same identity: /proc is read only when the answer matters.
	 */
	id->nested = !within_db(p, db) && peer_nested(p->pid);
	id->gid = id->nested ? db->primary : p->gid;
	for (int i = 0; i < db->ngroups && r == 0; i++)
		r = add_group(id, db->groups[i]);
	for (int i = 0; !id->nested && i < p->ngroups && r == 0; i++)
		r = add_group(id, p->groups[i]);
	if (r < 0)
		return r;
	qsort(id->groups, (size_t)id->ngroups, sizeof(gid_t), cmp_gid);
	return 0;
}

bool identity_equal(const struct identity *a, const struct identity *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->nested == b->nested &&
	       a->ngroups == b->ngroups &&
	       !memcmp(a->groups, b->groups, (size_t)a->ngroups * sizeof(gid_t));
}

bool identity_in_group(const struct identity *id, gid_t gid)
{
	if (id->gid == gid)
		return true;
	return bsearch(&gid, id->groups, (size_t)id->ngroups, sizeof(gid_t), cmp_gid) != NULL;
}

bool identity_admits(const struct identity *id, const struct peer *p)
{
	if (p->uid != id->uid)
		return false;
	if (id->nested)
		return true;
	if (p->gid != id->gid)
		return false;
	for (int i = 0; i < p->ngroups; i++)
		if (!identity_in_group(id, p->groups[i]))
			return false;
	return true;
}

const char *identity_groups_str(const struct identity *id, char *out, size_t cap)
{
	size_t o = 0;

	if (cap)
		out[0] = '\0';
	for (int i = 0; i < id->ngroups && o < cap; i++) {
		int n = snprintf(out + o, cap - o, "%s%u", i ? "," : "", (unsigned)id->groups[i]);

		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return out;
}

int identity_become(const struct identity *id)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int err;

	if (setgroups((size_t)id->ngroups, id->groups) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		return -errno;
	/*
	 * Explicitly, not by the uid change: the broker may run as a non-root
	 * user given capabilities by its supervisor, and a requester may be
	 * root.  No capability is left: so no CAP_DAC_OVERRIDE can make an
	 * unreadable ACL readable, and nothing leads back to the broker's uid.
	 */
	err = caps_none();
	if (err < 0)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* read back what we set, rather than trusting it */
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != id->uid || e != id->uid || s != id->uid ||
	    rg != id->gid || eg != id->gid || sg != id->gid)
		return -EPERM;
	/*
	 * Whatever fs.suid_dumpable says: the requester, whose uid this process
	 * now has, must not ptrace it, read its memory or take its fds.
	 */
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ? -errno : 0;
}

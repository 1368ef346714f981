/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vethreq.h"

/* the whole file, or -errno; *buf is malloc'd */
static int slurp(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	ssize_t n = 0;
	int r = 0;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;       /* a FIFO or a device would hang or never end */
	else if (st.st_size > VETHREQ_USERNET_MAX)
		r = -EFBIG;
	else if (!(*buf = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	for (*len = 0; r == 0; *len += (size_t)n) {
		n = read(fd, *buf + *len, (size_t)st.st_size + 1 - *len);
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		if (*len + (size_t)n > (size_t)st.st_size)
			r = -EFBIG;    /* grew while read */
	}
	close(fd);
	if (r < 0) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

/* The requester's names, as lxc-user-nic finds its caller's (getpwuid, getgrgid). */
static int names(const struct peer *p, char **user, char ***groups, size_t *ng)
{
	struct passwd *pw = getpwuid(p->uid);

	*ng = 0;
	*groups = calloc((size_t)p->ngroups + 1, sizeof(**groups));
	if (!pw || !*groups)
		return pw ? -ENOMEM : -ENOENT;
	*user = strdup(pw->pw_name);
	if (!*user)
		return -ENOMEM;
	for (int i = 0; i < p->ngroups; i++) {
		struct group *gr = getgrgid(p->groups[i]);

		/* a gid with no name can match no @GROUP line */
		if (gr && !((*groups)[(*ng)++] = strdup(gr->gr_name)))
			return -ENOMEM;
	}
	return 0;
}

static void free_names(char *user, char **groups, size_t ng)
{
	for (size_t i = 0; i < ng; i++)
		free(groups[i]);
	free(groups);
	free(user);
}

int vethreq_usernet(const char *path, const struct peer *p, const char *bridge,
		    struct vethreq_usernet *u, char *reason, size_t len)
{
	struct usernet_query q = { .type = "veth", .bridge = bridge };
	char *user = NULL, **groups = NULL, *buf = NULL;
	size_t ng = 0, n = 0;
	int r;

	u->n = 0;
	r = names(p, &user, &groups, &ng);
	if (r < 0) {
		snprintf(reason, len, "cannot find the name of uid %u or of its groups: %s",
			 (unsigned)p->uid, strerror(-r));
		goto out;
	}
	r = slurp(path, &buf, &n);
	if (r == -ENOENT || r == -EACCES) {
		snprintf(reason, len, "no lxc-usernet entry for user `%s' (%s: %s)", user, path,
			 strerror(-r));
		r = -ENOENT;
		goto out;
	}
	if (r < 0) {
		snprintf(reason, len, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	q.user = user;
	q.groups = (const char *const *)groups;
	q.ngroups = ng;
	r = usernet_match(buf, n, &q, u->e, USERNET_MATCH_MAX, &u->n);
	if (r < 0)
		snprintf(reason, len, "%s: more than %d lines apply to user `%s' on `%s'", path,
			 USERNET_MATCH_MAX, user, bridge);
	else if (u->n == 0) {
		snprintf(reason, len, "no lxc-usernet entry for user `%s', type veth, bridge `%s' in %s",
			 user, bridge, path);
		r = -ENOENT;
	} else {
		snprintf(reason, len, "allowed by `%s veth %s %d' at %s:%u", u->e[0].name, bridge,
			 u->e[0].count, path, u->e[0].line);
	}
out:
	free(buf);
	free_names(user, groups, ng);
	return r;
}

struct used {
	const struct vethreq_usernet *u;
	unsigned bridge;
	unsigned n[USERNET_MATCH_MAX];
};

static int used_cb(const struct tap_entry *t, void *ctx)
{
	struct used *c = ctx;

	if (t->kind != CENSUS_VETH || t->master != c->bridge || !t->owner.lxc[0])
		return 0;
	for (size_t i = 0; i < c->u->n; i++)
		c->n[i] += !strcmp(t->owner.lxc, c->u->e[i].name);
	return 0;
}

int vethreq_charge(const struct vethreq_usernet *u, unsigned bridge, census_walker *walk,
		   char *lxc, char *reason, size_t len)
{
	struct used c = { .u = u, .bridge = bridge };
	int r = walk(used_cb, &c);

	if (r < 0) {
		snprintf(reason, len, "cannot count veths: %s", strerror(-r));
		return r;
	}
	r = usernet_pick(u->e, u->n, c.n);
	if (r < 0) {
		snprintf(reason, len, "Quota reached: every lxc-usernet entry that applies is used "
			 "(first: `%s' at line %u, %u of %d)", u->e[0].name, u->e[0].line, c.n[0],
			 u->e[0].count);
		return -EDQUOT;
	}
	if (strlen(u->e[r].name) >= CENSUS_LXC_MAX)
		return -ENAMETOOLONG;  /* cannot be: a field is at most 99 bytes */
	strcpy(lxc, u->e[r].name);
	snprintf(reason, len, "allowed by `%s veth ... %d' at line %u (%u in use)", u->e[r].name,
		 u->e[r].count, u->e[r].line, c.n[r]);
	return 0;
}

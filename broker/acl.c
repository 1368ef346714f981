/* SPDX-License-Identifier: ISC */
/*
 * bridge.conf: the grammar of qemu-bridge-helper, evaluated without I/O.
 *
 * Kept from the reference, on purpose: lines are split on the first ' ' and
 * only failing that on the first '\t'; there are no trailing comments; an
 * allow/deny argument is any string under IFNAMSIZ bytes, so a rule naming
 * something that is not an interface name is accepted and never matches; an
 * include this user cannot see is skipped silently.
 *
 * Changed from the reference, on purpose:
 *  - a line is handled whole whatever its length (the reference's fgets()
 *    into a fixed buffer turns the tail of a long line into a new line);
 *    a NUL byte in a line is an error instead of silently ending it;
 *  - an error in an included file fails the whole check closed (qemu prints
 *    it and keeps the rules read so far);
 *  - includes are bounded (ACL_MAX_DEPTH) and loops are reported, where the
 *    reference recurses until it runs out of file descriptors;
 *  - a relative include resolves against the including file's directory,
 *    not against whatever the caller's cwd happens to be;
 *  - names are compared as (buf, len), never truncated (CVE-2019-13164).
 *
 * The caller validates the bridge name (ifname_valid()) before asking;
 * here it is only compared byte for byte.
 */
#include "acl.h"
#include "escape.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file currently being read; the chain of parents is the include stack. */
struct acl_frame {
	const struct acl_frame *parent;
	const char *path;
	uint64_t id;
	unsigned depth;             /* 0 for the main file */
	size_t lineno;
};

/* The rule that would decide, as "`allow br0' at FILE:LINE". */
struct acl_hit {
	bool seen;
	char why[ACL_MSG_MAX];
};

struct acl_ctx {
	const struct acl_loader *loader;
	const char *main_path;
	const char *bridge;
	size_t bridge_len;
	enum acl_semantics semantics;
	struct acl_result *res;
	struct acl_hit allow, deny; /* deny-wins: first match; last-match: latest */
	unsigned includes;          /* include lines followed so far */
	bool last_allows;           /* last-match: the latest matching rule allows */
	acl_name_fn names;          /* acl_names(): told every rule's name */
	void *names_ctx;
};

/* One non-comment line, cut the way qemu-bridge-helper cuts it. */
struct acl_line {
	const char *cmd;
	size_t cmd_len;
	const char *arg;
	size_t arg_len;
};

/* A bounded message buffer; always NUL-terminated, silently truncated. */
struct msgbuf {
	char *buf;
	size_t cap;
	size_t len;
};

static void mb_init(struct msgbuf *mb, char *buf, size_t cap)
{
	mb->buf = buf;
	mb->cap = cap;
	mb->len = 0;
	buf[0] = '\0';
}

/* Only for our own text and numbers: file content goes through mb_bytes(). */
__attribute__((format(printf, 2, 3)))
static void mb_printf(struct msgbuf *mb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (mb->len + 1 >= mb->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(mb->buf + mb->len, mb->cap - mb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	mb->len += (size_t)n;
	if (mb->len >= mb->cap)
		mb->len = mb->cap - 1;
}

/*
 * Bytes from a file, a path or the bridge name end up in logs, audit
 * records and the user's terminal: they go through ontap's one escaper
 * (escape.h), so they can neither forge a record nor drive a terminal, and
 * the message reads back unambiguously.  Cut short, a message never ends in
 * half an escape.
 */
static void mb_bytes(struct msgbuf *mb, const char *s, size_t n)
{
	if (mb->len + 1 >= mb->cap)
		return;
	escape(mb->buf + mb->len, mb->cap - mb->len, s, n);
	mb->len += strlen(mb->buf + mb->len);
}

static void mb_str(struct msgbuf *mb, const char *s)
{
	mb_bytes(mb, s, strlen(s));
}

/*
 * A piece of a line quoted in an error.  Lines may be of any length; cut
 * the quote short so that what follows it (a length, say) survives the
 * truncation of the whole message.
 */
#define ACL_QUOTE_MAX 64

static void mb_quote(struct msgbuf *mb, const char *s, size_t n)
{
	mb_bytes(mb, s, n > ACL_QUOTE_MAX ? ACL_QUOTE_MAX : n);
	if (n > ACL_QUOTE_MAX)
		mb_printf(mb, "...");
}

static bool acl_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool token_is(const char *buf, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(buf, word, len) == 0;
}

/*
 * Marks the check as failed and starts its message with where it failed;
 * the caller appends the problem and returns -err.  An error located in the
 * main file keeps the reference's wording in front, which is what users and
 * scripts grep for.
 */
static void fail_at(struct acl_ctx *c, const struct acl_frame *fr, int err,
		    struct msgbuf *mb)
{
	c->res->verdict = ACL_ERROR;
	c->res->err = err;
	mb_init(mb, c->res->msg, sizeof(c->res->msg));
	/* the user must learn that the request failed, not only where the file is wrong */
	mb_printf(mb, fr->depth == 0 ? "failed to parse default acl file `"
				     : "refused: error in an acl file included by `");
	mb_str(mb, c->main_path);
	mb_printf(mb, "': ");
	mb_str(mb, fr->path);
	mb_printf(mb, ":%zu: ", fr->lineno);
}

/*
 * Cuts a line (no '\n', no NUL) into command and argument.  Returns 1 for a
 * blank or comment line, 0 for a command, -EINVAL when there is no separator.
 */
static int split_line(const char *line, size_t len, struct acl_line *out)
{
	const char *p = line, *end = line + len, *sep;

	while (p < end && acl_isspace(*p))
		p++;
	if (p == end || *p == '#')
		return 1;
	/* The reference looks for a tab only when the line has no space at all. */
	sep = memchr(p, ' ', (size_t)(end - p));
	if (!sep)
		sep = memchr(p, '\t', (size_t)(end - p));
	if (!sep)
		return -EINVAL;
	out->cmd = p;
	out->cmd_len = (size_t)(sep - p);
	p = sep + 1;
	while (p < end && acl_isspace(*p))
		p++;
	while (end > p && acl_isspace(end[-1]))
		end--;
	out->arg = p;
	out->arg_len = (size_t)(end - p);
	return 0;
}

static void record_hit(struct acl_ctx *c, const struct acl_frame *fr,
		       const struct acl_line *l, bool allows)
{
	struct acl_hit *h = allows ? &c->allow : &c->deny;
	struct msgbuf mb;

	c->last_allows = allows;
	/* Deny-wins reports the first rule of each kind; last-match the latest. */
	if (h->seen && c->semantics == ACL_DENY_WINS)
		return;
	h->seen = true;
	mb_init(&mb, h->why, sizeof(h->why));
	mb_printf(&mb, "`%s ", allows ? "allow" : "deny");
	mb_bytes(&mb, l->arg, l->arg_len);
	mb_printf(&mb, "' at ");
	mb_str(&mb, fr->path);
	mb_printf(&mb, ":%zu", fr->lineno);
}

static int do_rule(struct acl_ctx *c, const struct acl_frame *fr,
		   const struct acl_line *l, bool allows)
{
	struct msgbuf mb;

	if (l->arg_len >= IFNAMSIZ) {
		fail_at(c, fr, EINVAL, &mb);
		mb_printf(&mb, "name `");
		mb_quote(&mb, l->arg, l->arg_len);
		mb_printf(&mb, "' too long: %zu", l->arg_len);
		return -EINVAL;
	}
	if (c->names && !token_is(l->arg, l->arg_len, "all"))
		c->names(c->names_ctx, l->arg, l->arg_len, fr->path, fr->lineno);
	if (token_is(l->arg, l->arg_len, "all") ||
	    (l->arg_len == c->bridge_len && memcmp(l->arg, c->bridge, l->arg_len) == 0))
		record_hit(c, fr, l, allows);
	return 0;
}

/*
 * A relative include is taken from the including file's directory; with no
 * '/' in that path there is no directory to speak of and the path is kept.
 * An empty argument is kept empty: it names nothing, so it is skipped like
 * any file that cannot be opened, as in the reference.
 */
static int resolve_include(const char *base, const char *arg, size_t arg_len, char **out)
{
	const char *slash = strrchr(base, '/');
	size_t dir_len = 0;
	char *p;

	if (arg_len > 0 && arg[0] != '/' && slash)
		dir_len = (size_t)(slash - base) + 1;
	p = malloc(dir_len + arg_len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, base, dir_len);
	memcpy(p + dir_len, arg, arg_len);
	p[dir_len + arg_len] = '\0';
	*out = p;
	return 0;
}

static int load_file(const struct acl_loader *loader, const char *path, struct acl_file *f)
{
	int r;

	memset(f, 0, sizeof(*f));
	r = loader->load(loader->ctx, path, f);
	if (r > 0)
		r = -EIO;               /* a loader bug must not read as success */
	if (r < 0)
		return r;
	/* The loader enforces the bound; this keeps a loader bug from mattering. */
	if (f->len > ACL_FILE_MAX || (f->len > 0 && !f->buf)) {
		loader->release(loader->ctx, f);
		return -EFBIG;
	}
	return 0;
}

static bool cannot_see(int r)
{
	return r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -EPERM;
}

static int parse_file(struct acl_ctx *c, struct acl_frame *fr, const struct acl_file *f);

/* Loads, checks and reads an include whose path is already resolved. */
static int include_file(struct acl_ctx *c, const struct acl_frame *fr, const char *path)
{
	struct acl_frame child = { fr, path, 0, fr->depth + 1, 0 };
	const struct acl_frame *up;
	struct acl_file f;
	struct msgbuf mb;
	int r;

	r = load_file(c->loader, path, &f);
	if (cannot_see(r))
		return 0;       /* per-group files: invisible to this user */
	if (r < 0) {
		fail_at(c, fr, -r, &mb);
		mb_printf(&mb, "include `");
		mb_quote(&mb, path, strlen(path));
		mb_printf(&mb, "': %s", strerror(-r));
		return r;
	}
	for (up = fr; up; up = up->parent) {
		if (up->id == f.id) {
			fail_at(c, fr, ELOOP, &mb);
			mb_printf(&mb, "include loop: `");
			mb_str(&mb, path);
			mb_printf(&mb, "' is already being read");
			r = -ELOOP;
			goto out;
		}
	}
	child.id = f.id;
	r = parse_file(c, &child, &f);
out:
	c->loader->release(c->loader->ctx, &f);
	return r;
}

static int do_include(struct acl_ctx *c, const struct acl_frame *fr, const struct acl_line *l)
{
	struct msgbuf mb;
	char *path = NULL;
	int r;

	/*
	 * Checked before anything is opened, so the policy is rejected for
	 * every user alike, whichever files each of them can read.
	 */
	if (fr->depth >= ACL_MAX_DEPTH) {
		fail_at(c, fr, ELOOP, &mb);
		mb_printf(&mb, "includes nested deeper than %d", ACL_MAX_DEPTH);
		return -ELOOP;
	}
	/* depth alone still allows fan-out**8 files: bound the whole walk too */
	if (++c->includes > ACL_MAX_INCLUDES) {
		fail_at(c, fr, ELOOP, &mb);
		mb_printf(&mb, "more than %d includes in all", ACL_MAX_INCLUDES);
		return -ELOOP;
	}
	r = resolve_include(fr->path, l->arg, l->arg_len, &path);
	if (r < 0) {
		fail_at(c, fr, -r, &mb);
		mb_printf(&mb, "include: %s", strerror(-r));
		return r;
	}
	r = include_file(c, fr, path);
	free(path);
	return r;
}

static int do_line(struct acl_ctx *c, const struct acl_frame *fr, const char *line, size_t len)
{
	struct acl_line l;
	struct msgbuf mb;
	int r;

	if (memchr(line, '\0', len)) {
		fail_at(c, fr, EINVAL, &mb);
		mb_printf(&mb, "NUL byte in line");
		return -EINVAL;
	}
	r = split_line(line, len, &l);
	if (r > 0)
		return 0;
	if (r < 0) {
		fail_at(c, fr, EINVAL, &mb);
		mb_printf(&mb, "Invalid config line: ");
		mb_quote(&mb, line, len);
		return -EINVAL;
	}
	if (token_is(l.cmd, l.cmd_len, "allow"))
		return do_rule(c, fr, &l, true);
	if (token_is(l.cmd, l.cmd_len, "deny"))
		return do_rule(c, fr, &l, false);
	if (token_is(l.cmd, l.cmd_len, "include"))
		return do_include(c, fr, &l);
	fail_at(c, fr, EINVAL, &mb);
	mb_printf(&mb, "Unknown command `");
	mb_quote(&mb, l.cmd, l.cmd_len);
	mb_printf(&mb, "'");
	return -EINVAL;
}

/* Lines end at '\n' only; the last one may lack it. */
static int parse_file(struct acl_ctx *c, struct acl_frame *fr, const struct acl_file *f)
{
	size_t pos = 0;

	while (pos < f->len) {
		const char *nl = memchr(f->buf + pos, '\n', f->len - pos);
		size_t end = nl ? (size_t)(nl - f->buf) : f->len;
		int r;

		fr->lineno++;
		r = do_line(c, fr, f->buf + pos, end - pos);
		if (r < 0)
			return r;
		pos = end + 1;
	}
	return 0;
}

static int parse_main(struct acl_ctx *c)
{
	struct acl_frame fr = { NULL, c->main_path, 0, 0, 0 };
	struct acl_file f;
	struct msgbuf mb;
	int r;

	r = load_file(c->loader, c->main_path, &f);
	if (r < 0) {
		c->res->verdict = ACL_ERROR;
		c->res->err = -r;
		mb_init(&mb, c->res->msg, sizeof(c->res->msg));
		mb_printf(&mb, "failed to parse default acl file `");
		mb_str(&mb, c->main_path);
		mb_printf(&mb, "': %s", strerror(-r));
		return r;
	}
	fr.id = f.id;
	r = parse_file(c, &fr, &f);
	c->loader->release(c->loader->ctx, &f);
	return r;
}

static void decide(struct acl_ctx *c)
{
	const struct acl_hit *h = NULL;
	struct msgbuf mb;

	if (c->semantics == ACL_DENY_WINS)
		h = c->deny.seen ? &c->deny : c->allow.seen ? &c->allow : NULL;
	else if (c->allow.seen || c->deny.seen)
		h = c->last_allows ? &c->allow : &c->deny;

	c->res->err = 0;
	c->res->verdict = h == &c->allow ? ACL_ALLOW : ACL_DENY;
	mb_init(&mb, c->res->msg, sizeof(c->res->msg));
	if (h == &c->allow) {
		mb_printf(&mb, "allowed by %s", h->why);
	} else if (h) {
		mb_printf(&mb, "access denied by acl file: %s", h->why);
	} else {
		mb_printf(&mb, "access denied by acl file: no rule allows `");
		mb_str(&mb, c->bridge);
		mb_printf(&mb, "'");
	}
}

enum acl_verdict acl_check(const struct acl_loader *loader, const char *main_path,
			   const char *bridge, enum acl_semantics semantics,
			   struct acl_result *res)
{
	struct acl_ctx c = { 0 };

	if (!res)
		return ACL_ERROR;
	res->verdict = ACL_ERROR;
	res->err = EINVAL;
	snprintf(res->msg, sizeof(res->msg), "acl: invalid arguments");
	if (!loader || !loader->load || !loader->release || !main_path || !bridge ||
	    (semantics != ACL_DENY_WINS && semantics != ACL_LAST_MATCH))
		return ACL_ERROR;

	c.loader = loader;
	c.main_path = main_path;
	c.bridge = bridge;
	c.bridge_len = strlen(bridge);
	c.semantics = semantics;
	c.res = res;
	if (parse_main(&c) == 0)
		decide(&c);
	return res->verdict;
}

int acl_names(const struct acl_loader *loader, const char *main_path, acl_name_fn fn,
	      void *ctx, struct acl_result *res)
{
	struct acl_ctx c = { 0 };
	struct msgbuf mb;
	int r;

	if (!res)
		return -EINVAL;
	res->verdict = ACL_ERROR;
	res->err = EINVAL;
	snprintf(res->msg, sizeof(res->msg), "acl: invalid arguments");
	if (!loader || !loader->load || !loader->release || !main_path || !fn)
		return -EINVAL;

	c.loader = loader;
	c.main_path = main_path;
	c.bridge = "";          /* matches no rule but `all': no decision is wanted */
	c.semantics = ACL_DENY_WINS;
	c.res = res;
	c.names = fn;
	c.names_ctx = ctx;
	r = parse_main(&c);
	if (r < 0)
		return r;
	res->verdict = ACL_ALLOW;
	res->err = 0;
	mb_init(&mb, res->msg, sizeof(res->msg));
	mb_printf(&mb, "read `");
	mb_str(&mb, main_path);
	mb_printf(&mb, "' and its includes");
	return 0;
}

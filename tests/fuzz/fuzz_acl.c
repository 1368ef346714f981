/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: bridge.conf parsing and decision (acl.c), under both
 * semantics, with every file coming from the input through an in-memory
 * loader.
 *
 * Input:
 *   BRIDGE '\n'                    the name asked for (up to a NUL)
 *   then files, each a line "@@ PATH" followed by its content up to the
 *   next line that starts with "@@ " (or the end).  The first file is the
 *   main one; with no "@@ " line at all, the rest is the main file
 *   "/etc/qemu/bridge.conf".  A content starting with
 *     "!e" X   makes load() fail with the X-th errno of errs[] below
 *              (the last entries are loader bugs: a positive return, and
 *              a NULL buffer with a non-zero length);
 *     "!=" X   makes the file an alias (same id: a hard link) of file X.
 *   Any other path loads as -ENOENT.
 *
 * Properties, beyond "no sanitizer report" and "no timeout":
 *  - the result has the documented shape: a non-empty, NUL-terminated,
 *    printable-ASCII message; err > 0 exactly for ACL_ERROR;
 *  - every load() is matched by a release(), and no more than
 *    ACL_MAX_DEPTH + 1 files are ever held at once;
 *  - an error does not depend on the semantics: both give the same
 *    verdict, errno and message;
 *  - the message starts the way users and scripts expect for the verdict.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_FILES 32

struct memfile {
	char *path;
	const char *data;
	size_t len;
	int err;           /* load() returns this (0: the content) */
	bool null_buf;     /* loader bug: len > 0, buf NULL */
	uint64_t id;
};

struct memfs {
	struct memfile f[MAX_FILES];
	size_t n;
	long loads, releases, open, max_open;
};

static const int errs[] = {
	ENOENT, ENOTDIR, EACCES, EPERM, EISDIR, EINVAL, EFBIG, EIO, ENOMEM,
	ENAMETOOLONG, ELOOP, EMFILE, ETIMEDOUT,
	-1,        /* loader bug: a positive return */
	0,         /* loader bug: NULL buffer, non-zero length */
};
#define NERRS (sizeof(errs) / sizeof(errs[0]))

static int mem_load(void *ctx, const char *path, struct acl_file *f)
{
	struct memfs *fs = ctx;

	for (size_t i = 0; i < fs->n; i++) {
		const struct memfile *m = &fs->f[i];

		if (strcmp(m->path, path) != 0)
			continue;
		if (m->err)
			return m->err;
		f->buf = m->null_buf ? NULL : m->data;
		f->len = m->len;
		f->id = m->id;
		f->priv = fs;
		fs->loads++;
		if (++fs->open > fs->max_open)
			fs->max_open = fs->open;
		return 0;
	}
	return -ENOENT;
}

static void mem_release(void *ctx, struct acl_file *f)
{
	struct memfs *fs = ctx;

	CHECK(f->priv == fs);
	CHECK(fs->open > 0);
	fs->open--;
	fs->releases++;
}

/* the start of the next line beginning with "@@ ", or end */
static const uint8_t *next_section(const uint8_t *p, const uint8_t *end)
{
	if (end - p >= 3 && memcmp(p, "@@ ", 3) == 0)
		return p;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return end;
		p = nl + 1;
		if (end - p >= 3 && memcmp(p, "@@ ", 3) == 0)
			return p;
	}
	return end;
}

static void add_file(struct memfs *fs, const uint8_t *path, size_t plen,
		     const uint8_t *data, size_t len)
{
	struct memfile *m = &fs->f[fs->n];

	m->path = strndup((const char *)path, plen);   /* a NUL in it cuts it, like a C path */
	CHECK(m->path);
	m->data = (const char *)data;
	m->len = len;
	m->id = fs->n;
	if (len >= 3 && data[0] == '!' && data[1] == 'e') {
		int e = errs[data[2] % NERRS];

		if (e == 0)
			m->null_buf = true;
		else
			m->err = e < 0 ? 1 : -e;
	} else if (len >= 3 && data[0] == '!' && data[1] == '=') {
		m->id = data[2] % (fs->n + 1);
	}
	fs->n++;
}

static void build_fs(struct memfs *fs, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s = next_section(p, end);

	if (s != p) {
		static const char main_path[] = "/etc/qemu/bridge.conf";

		add_file(fs, (const uint8_t *)main_path, sizeof(main_path) - 1, p, (size_t)(s - p));
		p = s;
	}
	while (p < end && fs->n < MAX_FILES) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *body = nl ? nl + 1 : end;

		s = next_section(body, end);
		add_file(fs, p + 3, (size_t)((nl ? nl : end) - (p + 3)), body, (size_t)(s - body));
		p = s;
	}
}

static void check_shape(const struct acl_result *res, enum acl_verdict v)
{
	size_t len = strnlen(res->msg, sizeof(res->msg));

	CHECK(v == res->verdict);
	CHECK(v == ACL_ALLOW || v == ACL_DENY || v == ACL_ERROR);
	CHECK(len > 0 && len < sizeof(res->msg));
	for (size_t i = 0; i < len; i++)
		CHECK(res->msg[i] >= 0x20 && res->msg[i] < 0x7f);
	if (v == ACL_ERROR)
		CHECK(res->err > 0);
	else
		CHECK(res->err == 0);
	if (v == ACL_ALLOW)
		CHECK(strncmp(res->msg, "allowed by `allow ", 18) == 0);
	if (v == ACL_DENY)
		CHECK(strncmp(res->msg, "access denied by acl file: ", 27) == 0);
}

static enum acl_verdict run(struct memfs *fs, const char *bridge, enum acl_semantics sem,
			    struct acl_result *res)
{
	struct acl_loader loader = { mem_load, mem_release, fs };
	enum acl_verdict v;

	fs->loads = fs->releases = fs->open = fs->max_open = 0;
	memset(res, 0x41, sizeof(*res));
	v = acl_check(&loader, fs->f[0].path, bridge, sem, res);
	CHECK(fs->open == 0 && fs->loads == fs->releases);
	CHECK(fs->max_open <= ACL_MAX_DEPTH + 1);
	check_shape(res, v);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memfs fs;
	struct acl_result dw, lm;
	enum acl_verdict vdw, vlm;
	const uint8_t *nl, *end;
	uint8_t *copy;
	char *bridge;

	if (size > 64 * 1024)
		return -1;
	/* an exact-size copy, so ASan sees any read past a file's end */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	end = copy + size;
	nl = memchr(copy, '\n', size);
	bridge = strndup((const char *)copy, nl ? (size_t)(nl - copy) : size);
	CHECK(bridge);
	memset(&fs, 0, sizeof(fs));
	build_fs(&fs, nl ? nl + 1 : end, end);
	if (fs.n == 0)
		add_file(&fs, (const uint8_t *)"/etc/qemu/bridge.conf", 21, end, 0);

	vdw = run(&fs, bridge, ACL_DENY_WINS, &dw);
	vlm = run(&fs, bridge, ACL_LAST_MATCH, &lm);
	CHECK((vdw == ACL_ERROR) == (vlm == ACL_ERROR));
	if (vdw == ACL_ERROR) {
		CHECK(dw.err == lm.err);
		CHECK(strcmp(dw.msg, lm.msg) == 0);
	}
	/* no rule matched at all: both say so, in the same words */
	if (vdw == ACL_DENY && strstr(dw.msg, ": no rule allows `"))
		CHECK(vlm == ACL_DENY && strcmp(dw.msg, lm.msg) == 0);

	for (size_t i = 0; i < fs.n; i++)
		free(fs.f[i].path);
	free(bridge);
	free(copy);
	return 0;
}

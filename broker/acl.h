/* SPDX-License-Identifier: ISC */
/*
 * bridge.conf: parsing and decision.  Pure logic: files come through a
 * loader, so the same code runs in the broker (files opened with the
 * requester's identity, see aclfile.c) and in unit tests (files in memory).
 *
 * Grammar and decision are qemu-bridge-helper's; what differs is listed in
 * acl.c and in bridge.conf(5).
 */
#ifndef ONTAP_ACL_H
#define ONTAP_ACL_H

#include <stddef.h>
#include <stdint.h>

#define ACL_MAX_DEPTH 8            /* includes below the main file */
#define ACL_MAX_INCLUDES 256       /* include lines followed in one check */
#define ACL_FILE_MAX  (1u << 20)   /* bytes in one file */
#define ACL_MSG_MAX   512

enum acl_semantics {
	ACL_DENY_WINS,   /* qemu: allowed iff an allow matches and no deny does */
	ACL_LAST_MATCH,  /* the 2009 design: the last matching rule decides */
};

enum acl_verdict {
	ACL_ALLOW,
	ACL_DENY,
	ACL_ERROR,       /* the request must be refused: the policy is unreadable */
};

struct acl_file {
	const char *buf;
	size_t len;
	uint64_t id;     /* same file <=> same id (the loader uses st_dev/st_ino) */
	void *priv;      /* the loader's own */
};

struct acl_loader {
	/*
	 * Reads a whole file: 0, or -errno.  -ENOENT, -ENOTDIR, -EACCES and
	 * -EPERM mean "this user cannot see it" (an include is then skipped);
	 * -EISDIR a directory, -EINVAL another non-regular file, -EFBIG a file
	 * over ACL_FILE_MAX bytes.
	 */
	int (*load)(void *ctx, const char *path, struct acl_file *f);
	void (*release)(void *ctx, struct acl_file *f);
	void *ctx;
};

struct acl_result {
	enum acl_verdict verdict;
	int err;                  /* errno behind an ACL_ERROR */
	char msg[ACL_MSG_MAX];    /* why: the rule that decided, or the error with file:line */
};

enum acl_verdict acl_check(const struct acl_loader *loader, const char *main_path,
			   const char *bridge, enum acl_semantics semantics,
			   struct acl_result *res);

/*
 * Called for each allow or deny rule that names an interface (not `all'),
 * in file order, includes in place: the name as written (len bytes, not
 * NUL-terminated, not validated), the file and line of the rule.
 */
typedef void (*acl_name_fn)(void *ctx, const char *name, size_t len, const char *file,
			    size_t line);

/*
 * Reads the ACL as acl_check() does, every include the loader can see, and
 * reports the names its rules give.  0, or -errno with res->msg saying what
 * is wrong where (as acl_check()'s ACL_ERROR); res->verdict is ACL_ERROR
 * then, ACL_ALLOW otherwise (no request was decided).
 */
int acl_names(const struct acl_loader *loader, const char *main_path, acl_name_fn fn,
	      void *ctx, struct acl_result *res);

#endif

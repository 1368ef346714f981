/* SPDX-License-Identifier: ISC */
/*
 * bridge.conf grammar and decision (acl.c) through an in-memory loader, and
 * the real loader (aclfile.c) against files in a temporary directory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acl.h"
#include "aclfile.h"
#include "escape.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- in-memory loader ------------------------------------------------- */

/*
 * One file: its content, or the errno load() returns for it.  The id is the
 * table index, or same_as - 1 to make an alias (a hard link or symlink).
 * Paths absent from the table load as -ENOENT.
 */
struct memfile {
	const char *path;
	const char *data;
	size_t len;
	int err;
	int same_as;
};

#define F(p, s)        { .path = (p), .data = (s), .len = sizeof(s) - 1 }
#define FERR(p, e)     { .path = (p), .err = (e) }
#define FALIAS(p, s, i) { .path = (p), .data = (s), .len = sizeof(s) - 1, .same_as = (i) + 1 }

struct memfs {
	const struct memfile *files;
	size_t n;
	int *open;        /* per file: loads minus releases */
	int loads, releases;
	char log[8192];   /* every path asked for, one per line */
};

static int mem_load(void *ctx, const char *path, struct acl_file *f)
{
	struct memfs *fs = ctx;
	size_t i;

	if (strlen(fs->log) + strlen(path) + 2 < sizeof(fs->log)) {
		strcat(fs->log, path);
		strcat(fs->log, "\n");
	}
	for (i = 0; i < fs->n; i++) {
		if (strcmp(fs->files[i].path, path) != 0)
			continue;
		if (fs->files[i].err)
			return -fs->files[i].err;
		f->buf = fs->files[i].data;
		f->len = fs->files[i].len;
		f->id = fs->files[i].same_as ? (uint64_t)(fs->files[i].same_as - 1) : i;
		f->priv = &fs->open[i];
		fs->open[i]++;
		fs->loads++;
		return 0;
	}
	return -ENOENT;
}

static void mem_release(void *ctx, struct acl_file *f)
{
	struct memfs *fs = ctx;
	int *open = f->priv;

	ck_assert_ptr_nonnull(open);
	ck_assert_int_gt(*open, 0);
	(*open)--;
	fs->releases++;
}

/* Properties every result must have, whatever the verdict. */
static void check_result_shape(const struct acl_result *res)
{
	size_t i, len = strnlen(res->msg, sizeof(res->msg));

	ck_assert_uint_lt(len, sizeof(res->msg));
	ck_assert_uint_gt(len, 0);
	for (i = 0; i < len; i++)
		ck_assert_msg(res->msg[i] >= 0x20 && res->msg[i] < 0x7f,
			      "unsanitised byte 0x%02x in msg", (unsigned char)res->msg[i]);
	/* escape.h's text: no '"', every '\\' an escape, so it fits a quoted field as is */
	ck_assert_msg(escape_is_text(res->msg, len), "not escaped text: %s", res->msg);
	if (res->verdict == ACL_ERROR)
		ck_assert_int_gt(res->err, 0);
	else
		ck_assert_int_eq(res->err, 0);
}

/* Runs acl_check() with files[0] as the main file; the log goes to *log. */
static enum acl_verdict run_log(const struct memfile *files, size_t n, const char *bridge,
				enum acl_semantics sem, struct acl_result *res, char *log)
{
	struct memfs *fs = calloc(1, sizeof(*fs));
	struct acl_loader loader = { mem_load, mem_release, fs };
	enum acl_verdict v;
	size_t i;

	ck_assert_ptr_nonnull(fs);
	fs->files = files;
	fs->n = n;
	fs->open = calloc(n, sizeof(*fs->open));
	ck_assert_ptr_nonnull(fs->open);
	memset(res, 0x55, sizeof(*res));
	v = acl_check(&loader, files[0].path, bridge, sem, res);
	ck_assert_int_eq(v, res->verdict);
	ck_assert_int_eq(fs->loads, fs->releases);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(fs->open[i], 0);
	check_result_shape(res);
	if (log)
		strcpy(log, fs->log);
	free(fs->open);
	free(fs);
	return v;
}

static void expect_at(int line, const struct memfile *files, size_t n, const char *bridge,
		      enum acl_semantics sem, enum acl_verdict want, int want_err,
		      const char *want_msg)
{
	struct acl_result res;
	enum acl_verdict v = run_log(files, n, bridge, sem, &res, NULL);

	ck_assert_msg(v == want, "line %d: bridge `%s' sem %d: verdict %d, want %d (%s)",
		      line, bridge, sem, v, want, res.msg);
	if (want == ACL_ERROR)
		ck_assert_msg(res.err == want_err, "line %d: err %d, want %d (%s)",
			      line, res.err, want_err, res.msg);
	if (want_msg)
		ck_assert_msg(strcmp(res.msg, want_msg) == 0, "line %d:\n got `%s'\nwant `%s'",
			      line, res.msg, want_msg);
}

#define DW ACL_DENY_WINS
#define LM ACL_LAST_MATCH
/* Verdict, and the message unless NULL, under one semantics. */
#define EXPECT(t, br, sem, v, msg) expect_at(__LINE__, t, ARRAY_SIZE(t), br, sem, v, 0, msg)
/* The same verdict and message under both semantics. */
#define EXPECT2(t, br, v, msg) do { EXPECT(t, br, DW, v, msg); EXPECT(t, br, LM, v, msg); } while (0)
#define ALLOWED(t, br) EXPECT2(t, br, ACL_ALLOW, NULL)
#define DENIED(t, br) EXPECT2(t, br, ACL_DENY, NULL)
/* An error under both semantics, with its errno and message. */
#define FAILS(t, e, msg) do { \
	expect_at(__LINE__, t, ARRAY_SIZE(t), "br0", DW, ACL_ERROR, e, msg); \
	expect_at(__LINE__, t, ARRAY_SIZE(t), "br0", LM, ACL_ERROR, e, msg); \
} while (0)

#define M "/etc/qemu/bridge.conf"
#define PFX "failed to parse default acl file `" M "': " M ":"
#define NORULE(br) "access denied by acl file: no rule allows `" br "'"

/* ---- grammar ------------------------------------------------------------ */

START_TEST(comments_and_blank_lines)
{
	const struct memfile t[] = {
		F(M, "# comment\n\n   \n\t\t# indented comment\n#allow br1\n \v\f\r\nallow br0\n"),
	};
	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":7");
	EXPECT2(t, "br1", ACL_DENY, NORULE("br1"));
}
END_TEST

START_TEST(leading_whitespace)
{
	const struct memfile t[] = { F(M, "  \t\v\f\rallow br0\n") };
	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":1");
}
END_TEST

START_TEST(crlf)
{
	const struct memfile t[] = { F(M, "# c\r\nallow br0\r\ndeny br1\r\n\r\n") };
	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":2");
	EXPECT2(t, "br1", ACL_DENY, "access denied by acl file: `deny br1' at " M ":3");
	DENIED(t, "br0\r");
}
END_TEST

START_TEST(tab_separator)
{
	const struct memfile tab[] = { F(M, "allow\tbr0\n") };
	const struct memfile tabs[] = { F(M, "allow\t\t\tbr0\t\t\n") };
	const struct memfile space_tab[] = { F(M, "allow \t br0\n") };
	const struct memfile deny_tab[] = { F(M, "allow\tbr0\ndeny\tall\n") };

	EXPECT2(tab, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":1");
	ALLOWED(tabs, "br0");
	ALLOWED(space_tab, "br0");
	DENIED(deny_tab, "br0");
}
END_TEST

/* A space anywhere on the line is the separator, even after a tab. */
START_TEST(space_beats_tab)
{
	const struct memfile t1[] = { F(M, "allow\tbr0 x\n") };
	const struct memfile t2[] = { F(M, "allow\t\tbr0 \n") };
	const struct memfile t3[] = { F(M, "include\tx.conf \n"), F("/etc/qemu/x.conf", "allow br0") };

	FAILS(t1, EINVAL, PFX "1: Unknown command `allow\\x09br0'");
	FAILS(t2, EINVAL, PFX "1: Unknown command `allow\\x09\\x09br0'");
	FAILS(t3, EINVAL, PFX "1: Unknown command `include\\x09x.conf'");
}
END_TEST

START_TEST(no_separator)
{
	const struct memfile t1[] = { F(M, "allow br0\nallow\n") };
	const struct memfile t2[] = { F(M, "allowbr0") };
	const struct memfile t3[] = { F(M, "   include\n") };
	const struct memfile t4[] = { F(M, "allow\r\n") };
	const struct memfile t5[] = { F(M, "allow br0\ninclude x.conf\n"),
				      F("/etc/qemu/x.conf", "\n\ndeny\n") };

	FAILS(t1, EINVAL, PFX "2: Invalid config line: allow");
	FAILS(t2, EINVAL, PFX "1: Invalid config line: allowbr0");
	FAILS(t3, EINVAL, PFX "1: Invalid config line:    include");
	FAILS(t4, EINVAL, PFX "1: Invalid config line: allow\\x0d");
	FAILS(t5, EINVAL, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/x.conf:3: Invalid config line: deny");
}
END_TEST

START_TEST(unknown_command_main)
{
	const struct memfile t1[] = { F(M, "permit br0\n") };
	const struct memfile t2[] = { F(M, "Allow br0\n") };
	const struct memfile t3[] = { F(M, "allow br0\nDENY all\n") };
	const struct memfile t4[] = { F(M, "Include x.conf\n"), F("/etc/qemu/x.conf", "") };
	const struct memfile t5[] = { F(M, "allows br0\n") };

	FAILS(t1, EINVAL, PFX "1: Unknown command `permit'");
	FAILS(t2, EINVAL, PFX "1: Unknown command `Allow'");
	FAILS(t3, EINVAL, PFX "2: Unknown command `DENY'");
	FAILS(t4, EINVAL, PFX "1: Unknown command `Include'");
	FAILS(t5, EINVAL, PFX "1: Unknown command `allows'");
}
END_TEST

START_TEST(unknown_command_include)
{
	const struct memfile t[] = {
		F(M, "allow br0\ninclude inc.conf\n"),
		F("/etc/qemu/inc.conf", "# x\nbogus x\n"),
	};
	FAILS(t, EINVAL, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/inc.conf:2: Unknown command `bogus'");
}
END_TEST

START_TEST(name_length_main)
{
	const struct memfile ok[] = { F(M, "allow abcdefghijklmno\n") };
	const struct memfile allow16[] = { F(M, "allow br0\nallow abcdefghijklmnop\n") };
	const struct memfile deny16[] = { F(M, "deny abcdefghijklmnop\n") };

	EXPECT2(ok, "abcdefghijklmno", ACL_ALLOW, "allowed by `allow abcdefghijklmno' at " M ":1");
	/* No truncation: the 16-byte name does not match its 15-byte prefix. */
	DENIED(ok, "abcdefghijklmnop");
	DENIED(ok, "abcdefghijklmn");
	FAILS(allow16, EINVAL, PFX "2: name `abcdefghijklmnop' too long: 16");
	FAILS(deny16, EINVAL, PFX "1: name `abcdefghijklmnop' too long: 16");
}
END_TEST

START_TEST(name_length_include)
{
	const struct memfile ok[] = {
		F(M, "include inc.conf\n"), F("/etc/qemu/inc.conf", "allow abcdefghijklmno"),
	};
	const struct memfile bad[] = {
		F(M, "allow br0\ninclude inc.conf\n"),
		F("/etc/qemu/inc.conf", "allow br0\ndeny  abcdefghijklmnop \r\n"),
	};

	EXPECT2(ok, "abcdefghijklmno", ACL_ALLOW,
		"allowed by `allow abcdefghijklmno' at /etc/qemu/inc.conf:1");
	FAILS(bad, EINVAL, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/inc.conf:2: name `abcdefghijklmnop' too long: 16");
}
END_TEST

START_TEST(trailing_comment_is_name)
{
	const struct memfile t1[] = { F(M, "allow br0 # x\n") };
	const struct memfile t2[] = { F(M, "allow br0\ndeny all # nobody\n") };

	DENIED(t1, "br0");
	EXPECT2(t1, "br0 # x", ACL_ALLOW, "allowed by `allow br0 # x' at " M ":1");
	/* "all # nobody" is a (never matching) name, not `deny all'. */
	ALLOWED(t2, "br0");
	DENIED(t2, "br1");
}
END_TEST

START_TEST(empty_argument)
{
	const struct memfile t[] = { F(M, "allow \ndeny\t\ndeny \t \r\nallow br0\n") };
	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":4");
	DENIED(t, "br1");
}
END_TEST

START_TEST(nul_byte)
{
	static const char rule[] = "allow br0\nallow b\0r1\n";
	static const char comment[] = "# a \0 comment\nallow br0\n";
	static const char inc[] = "allow\0br1";
	const struct memfile t1[] = { { .path = M, .data = rule, .len = sizeof(rule) - 1 } };
	const struct memfile t2[] = { { .path = M, .data = comment, .len = sizeof(comment) - 1 } };
	const struct memfile t3[] = { F(M, "allow br0\ninclude i.conf\n"),
				      { .path = "/etc/qemu/i.conf", .data = inc, .len = sizeof(inc) - 1 } };

	FAILS(t1, EINVAL, PFX "2: NUL byte in line");
	FAILS(t2, EINVAL, PFX "1: NUL byte in line");
	FAILS(t3, EINVAL, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/i.conf:1: NUL byte in line");
}
END_TEST

START_TEST(last_line_without_newline)
{
	const struct memfile t[] = { F(M, "deny br1\nallow br0") };
	const struct memfile inc[] = { F(M, "include i.conf"), F("/etc/qemu/i.conf", "allow br1") };

	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":2");
	EXPECT2(inc, "br1", ACL_ALLOW, "allowed by `allow br1' at /etc/qemu/i.conf:1");
}
END_TEST

START_TEST(empty_file)
{
	const struct memfile empty[] = { F(M, "") };
	const struct memfile comments[] = { F(M, "# nothing\n\n") };

	EXPECT2(empty, "br0", ACL_DENY, NORULE("br0"));
	EXPECT2(comments, "br0", ACL_DENY, NORULE("br0"));
}
END_TEST

static char *repeat(const char *head, const char *unit, size_t total, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), len = hl;
	char *s = malloc(hl + total + ul + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	while (len < hl + total) {
		memcpy(s + len, unit, ul);
		len += ul;
	}
	memcpy(s + len, tail, tl + 1);
	return s;
}

/* A fixed line buffer would cut these lines and read their tails as rules. */
START_TEST(very_long_lines)
{
	char *comment = repeat("#", " allow evil", 100 * 1024, "\nallow br0\n");
	char *name = repeat("allow ", "x", 100 * 1024, "\nallow br0\n");
	char *evil = repeat("allow ", "x", 4096 - 6, "allow evil\n");
	const struct memfile t1[] = { { .path = M, .data = comment, .len = strlen(comment) } };
	const struct memfile t2[] = { { .path = M, .data = name, .len = strlen(name) } };
	const struct memfile t3[] = { { .path = M, .data = evil, .len = strlen(evil) } };
	struct acl_result res;

	EXPECT2(t1, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":2");
	DENIED(t1, "evil");
	ck_assert_int_eq(run_log(t2, 1, "br0", DW, &res, NULL), ACL_ERROR);
	ck_assert_int_eq(res.err, EINVAL);
	ck_assert_str_eq(res.msg, PFX "1: name `" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			 "...' too long: 102400");
	ck_assert_int_eq(run_log(t3, 1, "evil", DW, &res, NULL), ACL_ERROR);
	ck_assert_ptr_nonnull(strstr(res.msg, "' too long: 4100"));
	free(comment);
	free(name);
	free(evil);
}
END_TEST

/* ---- decision ------------------------------------------------------------ */

START_TEST(allow_all)
{
	const struct memfile t[] = { F(M, "allow all\n") };

	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow all' at " M ":1");
	ALLOWED(t, "virbr0");
	ALLOWED(t, "x");
}
END_TEST

START_TEST(deny_all_wins_any_order)
{
	const struct memfile before[] = { F(M, "deny all\nallow br0\n") };
	const struct memfile after[] = { F(M, "allow br0\ndeny all\n") };
	const struct memfile all_all[] = { F(M, "allow all\ndeny all\nallow all\n") };

	EXPECT(before, "br0", DW, ACL_DENY, "access denied by acl file: `deny all' at " M ":1");
	EXPECT(after, "br0", DW, ACL_DENY, "access denied by acl file: `deny all' at " M ":2");
	EXPECT(all_all, "br0", DW, ACL_DENY, "access denied by acl file: `deny all' at " M ":2");
	EXPECT(before, "br1", DW, ACL_DENY, NULL);
}
END_TEST

START_TEST(deny_name_wins)
{
	const struct memfile t1[] = { F(M, "allow all\ndeny br0\n") };
	const struct memfile t2[] = { F(M, "deny br0\nallow all\nallow br0\n") };
	const struct memfile t3[] = { F(M, "allow br0\nallow all\n") };

	EXPECT(t1, "br0", DW, ACL_DENY, "access denied by acl file: `deny br0' at " M ":2");
	EXPECT(t1, "br1", DW, ACL_ALLOW, "allowed by `allow all' at " M ":1");
	EXPECT(t2, "br0", DW, ACL_DENY, "access denied by acl file: `deny br0' at " M ":1");
	EXPECT(t2, "br1", DW, ACL_ALLOW, NULL);
	/* The first allow that matched is the one reported. */
	EXPECT(t3, "br0", DW, ACL_ALLOW, "allowed by `allow br0' at " M ":1");
}
END_TEST

START_TEST(deny_in_include_wins)
{
	const struct memfile t[] = {
		F(M, "allow all\ninclude d.conf\n"), F("/etc/qemu/d.conf", "deny br0\n"),
	};
	EXPECT(t, "br0", DW, ACL_DENY, "access denied by acl file: `deny br0' at /etc/qemu/d.conf:1");
	EXPECT(t, "br1", DW, ACL_ALLOW, NULL);
}
END_TEST

START_TEST(default_deny)
{
	const struct memfile t[] = { F(M, "allow br1\ndeny br2\n") };
	EXPECT2(t, "br0", ACL_DENY, NORULE("br0"));
}
END_TEST

START_TEST(exact_case_sensitive_match)
{
	const struct memfile t[] = { F(M, "allow br0\n") };
	static const char *const miss[] = { "BR0", "Br0", "br", "br00", "br0 ", " br0", "" };
	size_t i;

	ALLOWED(t, "br0");
	for (i = 0; i < ARRAY_SIZE(miss); i++)
		DENIED(t, miss[i]);
}
END_TEST

START_TEST(last_match_order)
{
	const struct memfile t1[] = { F(M, "allow all\ndeny br0\n") };
	const struct memfile t2[] = { F(M, "deny br0\nallow all\n") };
	const struct memfile t3[] = { F(M, "allow br0\ndeny all\nallow br0\n") };
	const struct memfile t4[] = {
		F(M, "allow br1\ninclude x.conf\ndeny br1\nallow br2\n"),
		F("/etc/qemu/x.conf", "deny all\nallow br1\n"),
	};

	EXPECT(t1, "br0", LM, ACL_DENY, "access denied by acl file: `deny br0' at " M ":2");
	EXPECT(t1, "br1", LM, ACL_ALLOW, "allowed by `allow all' at " M ":1");
	EXPECT(t2, "br0", LM, ACL_ALLOW, "allowed by `allow all' at " M ":2");
	EXPECT(t3, "br0", LM, ACL_ALLOW, "allowed by `allow br0' at " M ":3");
	EXPECT(t3, "br1", LM, ACL_DENY, "access denied by acl file: `deny all' at " M ":2");
	/* Includes are expanded in place. */
	EXPECT(t4, "br1", LM, ACL_DENY, "access denied by acl file: `deny br1' at " M ":3");
	EXPECT(t4, "br0", LM, ACL_DENY, "access denied by acl file: `deny all' at /etc/qemu/x.conf:1");
	EXPECT(t4, "br2", LM, ACL_ALLOW, "allowed by `allow br2' at " M ":4");
}
END_TEST

START_TEST(error_after_rules)
{
	const struct memfile t1[] = { F(M, "allow br0\nfoo bar\n") };
	const struct memfile t2[] = { F(M, "deny all\nallow\n") };

	FAILS(t1, EINVAL, PFX "2: Unknown command `foo'");
	FAILS(t2, EINVAL, PFX "2: Invalid config line: allow");
}
END_TEST

/* ---- includes ------------------------------------------------------------ */

START_TEST(include_unseen_skipped)
{
	static const int errs[] = { EACCES, EPERM, ENOTDIR, ENOENT };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		const struct memfile t[] = {
			F(M, "allow br0\ninclude alice.conf\ninclude missing.conf\nallow br2\n"),
			FERR("/etc/qemu/alice.conf", errs[i]),
		};
		EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":1");
		EXPECT2(t, "br2", ACL_ALLOW, "allowed by `allow br2' at " M ":4");
		DENIED(t, "br1");
	}
}
END_TEST

START_TEST(include_error_fails_closed)
{
	static const int errs[] = { EISDIR, EINVAL, EFBIG, EIO, ENOMEM, ENAMETOOLONG };
	char msg[ACL_MSG_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		const struct memfile t[] = {
			F(M, "allow br0\ninclude alice.conf\n"),
			FERR("/etc/qemu/alice.conf", errs[i]),
		};
		const struct memfile nested[] = {
			F(M, "allow br0\ninclude a.conf\n"),
			F("/etc/qemu/a.conf", "\ninclude /srv/b.conf\n"),
			FERR("/srv/b.conf", errs[i]),
		};

		snprintf(msg, sizeof(msg), PFX "2: include `/etc/qemu/alice.conf': %s",
			 strerror(errs[i]));
		FAILS(t, errs[i], msg);
		snprintf(msg, sizeof(msg), "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/a.conf:2: include `/srv/b.conf': %s",
			 strerror(errs[i]));
		FAILS(nested, errs[i], msg);
	}
}
END_TEST

/* qemu prints an error in an include and goes on; we refuse. */
START_TEST(error_in_include_fails_closed)
{
	const struct memfile t[] = {
		F(M, "allow br0\ninclude inc.conf\nallow br2\n"),
		F("/etc/qemu/inc.conf", "allow br1\nallow\n"),
	};
	FAILS(t, EINVAL, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/inc.conf:2: Invalid config line: allow");
	expect_at(__LINE__, t, ARRAY_SIZE(t), "br1", DW, ACL_ERROR, EINVAL, NULL);
	expect_at(__LINE__, t, ARRAY_SIZE(t), "br2", LM, ACL_ERROR, EINVAL, NULL);
}
END_TEST

START_TEST(relative_include)
{
	const struct memfile t[] = {
		F(M, "include sub/a.conf\n"),
		F("/etc/qemu/sub/a.conf", "include  b.conf \r\ninclude /abs/c.conf\ninclude ../x.conf\n"),
		F("/etc/qemu/sub/b.conf", "allow br0\n"),
		F("/abs/c.conf", "include d.conf\n"),
		F("/abs/d.conf", "allow br1\n"),
		F("/etc/qemu/sub/../x.conf", "allow br2\n"),
		F("/etc/qemu/b.conf", "deny all\n"),   /* the wrong b.conf */
		F("b.conf", "deny all\n"),             /* the cwd's b.conf */
	};
	char log[8192];
	struct acl_result res;

	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at /etc/qemu/sub/b.conf:1");
	EXPECT2(t, "br1", ACL_ALLOW, "allowed by `allow br1' at /abs/d.conf:1");
	EXPECT2(t, "br2", ACL_ALLOW, "allowed by `allow br2' at /etc/qemu/sub/../x.conf:1");
	run_log(t, ARRAY_SIZE(t), "br0", DW, &res, log);
	ck_assert_str_eq(log, M "\n/etc/qemu/sub/a.conf\n/etc/qemu/sub/b.conf\n/abs/c.conf\n"
			 "/abs/d.conf\n/etc/qemu/sub/../x.conf\n");
}
END_TEST

START_TEST(relative_include_no_dir)
{
	const struct memfile bare[] = { F("bridge.conf", "include a.conf\n"), F("a.conf", "allow br0") };
	const struct memfile root[] = { F("/bridge.conf", "include a.conf\n"), F("/a.conf", "allow br0") };
	const struct memfile rel[] = { F("conf/bridge.conf", "include a.conf\n"),
				       F("conf/a.conf", "allow br0") };

	EXPECT2(bare, "br0", ACL_ALLOW, "allowed by `allow br0' at a.conf:1");
	EXPECT2(root, "br0", ACL_ALLOW, "allowed by `allow br0' at /a.conf:1");
	EXPECT2(rel, "br0", ACL_ALLOW, "allowed by `allow br0' at conf/a.conf:1");
}
END_TEST

/* An empty path names nothing: skipped like a file that is not there. */
START_TEST(include_empty_path)
{
	const struct memfile t[] = { F(M, "include \ninclude\t\r\nallow br0\n"),
				     F("/etc/qemu/", "deny all\n") };
	char log[8192];
	struct acl_result res;

	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at " M ":3");
	run_log(t, ARRAY_SIZE(t), "br0", DW, &res, log);
	ck_assert_str_eq(log, M "\n\n\n");
}
END_TEST

/* files[i] = /d/fi, each including the next; the last one allows br0. */
static struct memfile *chain(unsigned last, char (*paths)[16], char (*texts)[32])
{
	struct memfile *t = calloc(last + 1, sizeof(*t));
	unsigned i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i <= last; i++) {
		snprintf(paths[i], 16, "/d/f%u", i % 100);
		if (i < last)
			snprintf(texts[i], 32, "# %u\ninclude f%u\n", i % 100, (i + 1) % 100);
		else
			snprintf(texts[i], 32, "allow br0\n");
		t[i].path = paths[i];
		t[i].data = texts[i];
		t[i].len = strlen(texts[i]);
	}
	return t;
}

START_TEST(depth_bound)
{
	char paths[ACL_MAX_DEPTH + 2][16], texts[ACL_MAX_DEPTH + 2][32];
	struct memfile *ok = chain(ACL_MAX_DEPTH, paths, texts);
	struct memfile *deep;

	ck_assert_int_eq(ACL_MAX_DEPTH, 8);
	expect_at(__LINE__, ok, ACL_MAX_DEPTH + 1, "br0", DW, ACL_ALLOW, 0,
		  "allowed by `allow br0' at /d/f8:1");
	expect_at(__LINE__, ok, ACL_MAX_DEPTH + 1, "br0", LM, ACL_ALLOW, 0, NULL);
	free(ok);

	deep = chain(ACL_MAX_DEPTH + 1, paths, texts);
	expect_at(__LINE__, deep, ACL_MAX_DEPTH + 2, "br0", DW, ACL_ERROR, ELOOP,
		  "refused: error in an acl file included by `/d/f0': " "/d/f8:2: includes nested deeper than 8");
	expect_at(__LINE__, deep, ACL_MAX_DEPTH + 2, "br0", LM, ACL_ERROR, ELOOP, NULL);
	/* Rejected for every user, even one who cannot read the ninth file. */
	deep[ACL_MAX_DEPTH + 1].err = EACCES;
	expect_at(__LINE__, deep, ACL_MAX_DEPTH + 2, "br0", DW, ACL_ERROR, ELOOP,
		  "refused: error in an acl file included by `/d/f0': " "/d/f8:2: includes nested deeper than 8");
	free(deep);
}
END_TEST

START_TEST(self_include_loop)
{
	const struct memfile t[] = { F(M, "allow br0\ninclude bridge.conf\n") };
	FAILS(t, ELOOP, PFX "2: include loop: `/etc/qemu/bridge.conf' is already being read");
}
END_TEST

START_TEST(include_loop_a_b_a)
{
	const struct memfile t[] = {
		F(M, "allow br0\ninclude a.conf\n"),
		F("/etc/qemu/a.conf", "include b.conf\n"),
		F("/etc/qemu/b.conf", "allow br1\ninclude a.conf\n"),
	};
	FAILS(t, ELOOP, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/b.conf:2: include loop: `/etc/qemu/a.conf' is already being read");
}
END_TEST

/* Loops are found by file identity, whatever path leads back. */
START_TEST(include_loop_by_id)
{
	const struct memfile t[] = {
		F(M, "include a.conf\n"),
		F("/etc/qemu/a.conf", "include /etc/qemu/../qemu/bridge.conf\n"),
		FALIAS("/etc/qemu/../qemu/bridge.conf", "include a.conf\n", 0),
	};
	FAILS(t, ELOOP, "refused: error in an acl file included by `/etc/qemu/bridge.conf': " "/etc/qemu/a.conf:1: include loop: "
	      "`/etc/qemu/../qemu/bridge.conf' is already being read");
}
END_TEST

START_TEST(diamond_is_not_a_loop)
{
	const struct memfile t[] = {
		F(M, "include a.conf\ninclude b.conf\ninclude a.conf\ninclude c.conf\n"),
		F("/etc/qemu/a.conf", "include c.conf\n"),
		F("/etc/qemu/b.conf", "include c.conf\ninclude c.conf\n"),
		F("/etc/qemu/c.conf", "allow br0\n"),
	};
	char log[8192];
	struct acl_result res;

	EXPECT2(t, "br0", ACL_ALLOW, "allowed by `allow br0' at /etc/qemu/c.conf:1");
	run_log(t, ARRAY_SIZE(t), "br0", LM, &res, log);
	ck_assert_str_eq(log, M "\n/etc/qemu/a.conf\n/etc/qemu/c.conf\n/etc/qemu/b.conf\n"
			 "/etc/qemu/c.conf\n/etc/qemu/c.conf\n/etc/qemu/a.conf\n"
			 "/etc/qemu/c.conf\n/etc/qemu/c.conf\n");
}
END_TEST

/* ---- main file --------------------------------------------------------- */

START_TEST(main_file_errors)
{
	const struct memfile missing[] = { F("/etc/qemu/other.conf", "allow all") };
	const struct memfile eacces[] = { FERR(M, EACCES) };
	const struct memfile eisdir[] = { FERR(M, EISDIR) };
	struct acl_result res;
	struct acl_loader l = { mem_load, mem_release, NULL };
	struct memfs fs = { .files = missing, .n = 1, .open = (int[1]){ 0 } };

	l.ctx = &fs;
	ck_assert_int_eq(acl_check(&l, M, "br0", DW, &res), ACL_ERROR);
	ck_assert_int_eq(res.err, ENOENT);
	ck_assert_str_eq(res.msg, "failed to parse default acl file `" M "': No such file or directory");
	ck_assert_int_eq(fs.loads, 0);
	FAILS(eacces, EACCES, "failed to parse default acl file `" M "': Permission denied");
	FAILS(eisdir, EISDIR, "failed to parse default acl file `" M "': Is a directory");
}
END_TEST

/* A loader that breaks its contract must not be trusted. */
START_TEST(oversized_file_from_loader)
{
	char *big = calloc(ACL_FILE_MAX + 1, 1);
	const struct memfile t[] = { { .path = M, .data = big, .len = ACL_FILE_MAX + 1 } };
	const struct memfile inc[] = { F(M, "include big\n"),
				       { .path = "/etc/qemu/big", .data = big, .len = ACL_FILE_MAX + 1 } };

	ck_assert_ptr_nonnull(big);
	FAILS(t, EFBIG, "failed to parse default acl file `" M "': File too large");
	FAILS(inc, EFBIG, PFX "1: include `/etc/qemu/big': File too large");
	free(big);
}
END_TEST

START_TEST(bad_arguments)
{
	const struct memfile t[] = { F(M, "allow all") };
	struct memfs fs = { .files = t, .n = 1, .open = (int[1]){ 0 } };
	struct acl_loader l = { mem_load, mem_release, &fs };
	struct acl_loader noload = { NULL, mem_release, &fs };
	struct acl_result res;

	ck_assert_int_eq(acl_check(&l, M, "br0", DW, NULL), ACL_ERROR);
	ck_assert_int_eq(acl_check(NULL, M, "br0", DW, &res), ACL_ERROR);
	ck_assert_int_eq(res.err, EINVAL);
	ck_assert_int_eq(acl_check(&noload, M, "br0", DW, &res), ACL_ERROR);
	ck_assert_int_eq(acl_check(&l, NULL, "br0", DW, &res), ACL_ERROR);
	ck_assert_int_eq(acl_check(&l, M, NULL, DW, &res), ACL_ERROR);
	ck_assert_int_eq(acl_check(&l, M, "br0", (enum acl_semantics)42, &res), ACL_ERROR);
	ck_assert_int_eq(fs.loads, 0);
	ck_assert_int_eq(acl_check(&l, M, "br0", LM, &res), ACL_ALLOW);
	ck_assert_int_eq(fs.loads, fs.releases);
}
END_TEST

/* ---- the examples of the contract --------------------------------------- */

#define SEED_MAIN F(M, "deny all\nallow br0\ninclude alice.conf\ninclude bob.conf\n")
#define ALICE F("/etc/qemu/alice.conf", "allow br1\n")
#define BOB F("/etc/qemu/bob.conf", "allow br2\n")

START_TEST(seed_example_deny_wins)
{
	const struct memfile alice[] = { SEED_MAIN, ALICE, FERR("/etc/qemu/bob.conf", EACCES) };
	const struct memfile both[] = { SEED_MAIN, ALICE, BOB };
	const struct memfile neither[] = { SEED_MAIN, FERR("/etc/qemu/alice.conf", EACCES),
					   FERR("/etc/qemu/bob.conf", EACCES) };
	static const char *const bridges[] = { "br0", "br1", "br2", "br3" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bridges); i++) {
		EXPECT(alice, bridges[i], DW, ACL_DENY,
		       "access denied by acl file: `deny all' at " M ":1");
		EXPECT(both, bridges[i], DW, ACL_DENY, NULL);
		EXPECT(neither, bridges[i], DW, ACL_DENY, NULL);
	}
}
END_TEST

START_TEST(seed_example_last_match)
{
	const struct memfile alice[] = { SEED_MAIN, ALICE, FERR("/etc/qemu/bob.conf", EACCES) };
	const struct memfile neither[] = { SEED_MAIN, FERR("/etc/qemu/alice.conf", EACCES),
					   FERR("/etc/qemu/bob.conf", EACCES) };

	EXPECT(alice, "br0", LM, ACL_ALLOW, "allowed by `allow br0' at " M ":2");
	EXPECT(alice, "br1", LM, ACL_ALLOW, "allowed by `allow br1' at /etc/qemu/alice.conf:1");
	EXPECT(alice, "br2", LM, ACL_DENY, "access denied by acl file: `deny all' at " M ":1");
	EXPECT(alice, "br3", LM, ACL_DENY, NULL);
	EXPECT(neither, "br0", LM, ACL_ALLOW, "allowed by `allow br0' at " M ":2");
	EXPECT(neither, "br1", LM, ACL_DENY, NULL);
	EXPECT(neither, "br2", LM, ACL_DENY, NULL);
}
END_TEST

START_TEST(qemu_per_group_example)
{
	const struct memfile readable[] = {
		F(M, "allow br0\ninclude /etc/qemu/alice.conf\n"), ALICE,
	};
	const struct memfile unreadable[] = {
		F(M, "allow br0\ninclude /etc/qemu/alice.conf\n"), FERR("/etc/qemu/alice.conf", EACCES),
	};

	EXPECT(readable, "br0", DW, ACL_ALLOW, "allowed by `allow br0' at " M ":1");
	EXPECT(readable, "br1", DW, ACL_ALLOW, "allowed by `allow br1' at /etc/qemu/alice.conf:1");
	EXPECT(readable, "br2", DW, ACL_DENY, NORULE("br2"));
	EXPECT(unreadable, "br0", DW, ACL_ALLOW, "allowed by `allow br0' at " M ":1");
	EXPECT(unreadable, "br1", DW, ACL_DENY, NORULE("br1"));
}
END_TEST

/* ---- acl_names(): what --check looks at ----------------------------------- */

struct names_seen {
	char text[1024];   /* "NAME@FILE:LINE;" for each call */
	size_t len;
};

static void names_cb(void *ctx, const char *name, size_t len, const char *file, size_t line)
{
	struct names_seen *ns = ctx;
	int n = snprintf(ns->text + ns->len, sizeof(ns->text) - ns->len, "%.*s@%s:%zu;",
			 (int)len, name, file, line);

	ck_assert_int_gt(n, 0);
	ns->len += (size_t)n;
	ck_assert_uint_lt(ns->len, sizeof(ns->text));
}

static int names_of(const struct memfile *files, size_t n, struct names_seen *ns,
		    struct acl_result *res)
{
	struct memfs *fs = calloc(1, sizeof(*fs));
	struct acl_loader loader = { mem_load, mem_release, fs };
	int r;

	ck_assert_ptr_nonnull(fs);
	fs->files = files;
	fs->n = n;
	fs->open = calloc(n, sizeof(*fs->open));
	ck_assert_ptr_nonnull(fs->open);
	memset(ns, 0, sizeof(*ns));
	r = acl_names(&loader, files[0].path, names_cb, ns, res);
	ck_assert_int_eq(fs->loads, fs->releases);
	check_result_shape(res);
	free(fs->open);
	free(fs);
	return r;
}

START_TEST(names_listed)
{
	const struct memfile t[] = {
		F(M, "# c\nallow br0\ndeny all\ninclude /etc/qemu/i.conf\ndeny br-secret\n"
		     "allow all\ninclude /etc/qemu/hidden.conf\n"),
		F("/etc/qemu/i.conf", "allow br1\nallow br0\nallow a\"b\n"),
		FERR("/etc/qemu/hidden.conf", EACCES),
	};
	const struct memfile bad[] = {
		F(M, "allow br0\ninclude /etc/qemu/bad.conf\n"),
		F("/etc/qemu/bad.conf", "frob br9\n"),
	};
	const struct memfile none[] = { F(M, "allow all\n") };
	struct names_seen ns;
	struct acl_result res;

	ck_assert_int_eq(names_of(t, ARRAY_SIZE(t), &ns, &res), 0);
	ck_assert_int_eq(res.verdict, ACL_ALLOW);
	/* in file order, includes in place, duplicates and all; `all' is no name */
	ck_assert_str_eq(ns.text, "br0@" M ":2;br1@/etc/qemu/i.conf:1;br0@/etc/qemu/i.conf:2;"
				  "a\"b@/etc/qemu/i.conf:3;br-secret@" M ":5;");
	ck_assert_int_eq(names_of(bad, ARRAY_SIZE(bad), &ns, &res), -EINVAL);
	ck_assert_int_eq(res.verdict, ACL_ERROR);
	ck_assert_ptr_nonnull(strstr(res.msg, "/etc/qemu/bad.conf:1: Unknown command `frob'"));
	ck_assert_int_eq(names_of(none, ARRAY_SIZE(none), &ns, &res), 0);
	ck_assert_str_eq(ns.text, "");
}
END_TEST

/* ---- messages ------------------------------------------------------------ */

START_TEST(messages_sanitised)
{
	const struct memfile t1[] = { F(M, "allow br\x7f\nallow a\\b\n") };
	const struct memfile t2[] = { F(M, "\x1b[31mevil x\n") };
	const struct memfile t3[] = { F(M, "include a\x01" "b\n"), FERR("/etc/qemu/a\x01" "b", EISDIR) };

	EXPECT2(t1, "br\x7f", ACL_ALLOW, "allowed by `allow br\\x7f' at " M ":1");
	EXPECT2(t1, "a\\b", ACL_ALLOW, "allowed by `allow a\\x5cb' at " M ":2");
	EXPECT2(t1, "br\x01\x1b[0m\xc3\xa9", ACL_DENY,
		NORULE("br\\x01\\x1b[0m\\xc3\\xa9"));
	FAILS(t2, EINVAL, PFX "1: Unknown command `\\x1b[31mevil'");
	FAILS(t3, EISDIR, PFX "1: include `/etc/qemu/a\\x01b': Is a directory");
}
END_TEST

/* escape.h's rule: a '"' in a rule cannot end the reason="..." field of a record */
START_TEST(messages_quote_escaped)
{
	const struct memfile t1[] = { F(M, "deny a\"b\nallow all\n") };

	EXPECT(t1, "a\"b", DW, ACL_DENY, "access denied by acl file: `deny a\\x22b' at " M ":1");
}
END_TEST

START_TEST(messages_truncated)
{
	char *text = repeat("include ", "p", 2000, "\n");
	char path[2100];
	const struct memfile t[] = { { .path = M, .data = text, .len = strlen(text) },
				     { .path = path, .err = EIO } };
	struct acl_result res;

	snprintf(path, sizeof(path), "/etc/qemu/%s", text + 8);
	path[strlen(path) - 1] = '\0';
	ck_assert_int_eq(run_log(t, 2, "br0", DW, &res, NULL), ACL_ERROR);
	ck_assert_int_eq(res.err, EIO);
	/* the path is cut short, so that the errno after it survives */
	ck_assert_int_eq(strncmp(res.msg, PFX "1: include `/etc/qemu/ppp", strlen(PFX) + 25), 0);
	ck_assert_msg(strstr(res.msg, "...': Input/output error"), "%s", res.msg);
	free(text);
}
END_TEST

/* ---- aclfile_loader on real files -------------------------------------- */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/check_acl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
}

static const char *tmp_path(struct tmp *t, const char *name)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	return t->path;
}

static void tmp_write(struct tmp *t, const char *name, const char *text, mode_t mode)
{
	int fd = open(tmp_path(t, name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Removes the directory and what the tests put in it (one level of subdirs). */
static void tmp_cleanup(struct tmp *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			ck_assert_int_eq(unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR), 0);
	}
	closedir(d);
	ck_assert_int_eq(rmdir(t->dir), 0);
}

static int af_load(const char *path, struct acl_file *f)
{
	memset(f, 0, sizeof(*f));
	return aclfile_loader.load(aclfile_loader.ctx, path, f);
}

START_TEST(aclfile_regular)
{
	struct tmp t;
	struct acl_file f, g, h, e;
	char other[128];

	tmp_init(&t);
	tmp_write(&t, "a.conf", "allow br0\n", 0644);
	tmp_write(&t, "b.conf", "allow br0\n", 0644);
	tmp_write(&t, "empty", "", 0644);
	strcpy(other, tmp_path(&t, "a.conf"));
	ck_assert_int_eq(link(other, tmp_path(&t, "link")), 0);
	strcpy(other, tmp_path(&t, "b.conf"));

	ck_assert_int_eq(af_load(tmp_path(&t, "a.conf"), &f), 0);
	ck_assert_uint_eq(f.len, 10);
	ck_assert_int_eq(memcmp(f.buf, "allow br0\n", 10), 0);
	ck_assert_int_eq(af_load(tmp_path(&t, "link"), &g), 0);
	ck_assert_uint_eq(f.id, g.id);
	ck_assert_int_eq(af_load(other, &h), 0);
	ck_assert_uint_ne(f.id, h.id);
	ck_assert_int_eq(af_load(tmp_path(&t, "empty"), &e), 0);
	ck_assert_uint_eq(e.len, 0);
	aclfile_loader.release(aclfile_loader.ctx, &f);
	ck_assert_ptr_null(f.buf);
	ck_assert_uint_eq(f.len, 0);
	aclfile_loader.release(aclfile_loader.ctx, &g);
	aclfile_loader.release(aclfile_loader.ctx, &h);
	aclfile_loader.release(aclfile_loader.ctx, &e);
	tmp_cleanup(&t);
}
END_TEST

START_TEST(aclfile_not_regular)
{
	struct tmp t;
	struct acl_file f;

	tmp_init(&t);
	tmp_write(&t, "file", "x", 0644);
	ck_assert_int_eq(mkdir(tmp_path(&t, "dir"), 0755), 0);
	ck_assert_int_eq(mkfifo(tmp_path(&t, "fifo"), 0644), 0);
	alarm(3);       /* a blocking open of the FIFO must fail the test */
	ck_assert_int_eq(af_load(tmp_path(&t, "fifo"), &f), -EINVAL);
	alarm(0);
	ck_assert_int_eq(af_load(tmp_path(&t, "dir"), &f), -EISDIR);
	ck_assert_int_eq(af_load("/dev/null", &f), -EINVAL);
	ck_assert_int_eq(af_load(tmp_path(&t, "missing"), &f), -ENOENT);
	ck_assert_int_eq(af_load(tmp_path(&t, "file/x"), &f), -ENOTDIR);
	ck_assert_int_eq(af_load("", &f), -ENOENT);
	tmp_cleanup(&t);
}
END_TEST

START_TEST(aclfile_size_bound)
{
	struct tmp t;
	struct acl_file f;
	int fd;

	tmp_init(&t);
	fd = open(tmp_path(&t, "max"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, ACL_FILE_MAX), 0);
	close(fd);
	ck_assert_int_eq(af_load(t.path, &f), 0);
	ck_assert_uint_eq(f.len, ACL_FILE_MAX);
	aclfile_loader.release(aclfile_loader.ctx, &f);

	fd = open(tmp_path(&t, "over"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, ACL_FILE_MAX + 1), 0);
	close(fd);
	ck_assert_int_eq(af_load(t.path, &f), -EFBIG);
	tmp_cleanup(&t);
}
END_TEST

/* st_size is 0 here: the loader must read to EOF, not trust it. */
START_TEST(aclfile_size_is_a_hint)
{
	struct acl_file f;

	ck_assert_int_eq(af_load("/proc/self/status", &f), 0);
	ck_assert_uint_gt(f.len, 256);
	ck_assert_int_eq(strncmp(f.buf, "Name:", 5), 0);
	aclfile_loader.release(aclfile_loader.ctx, &f);
}
END_TEST

/*
 * A file that reports st_size 0 yet holds more than ACL_FILE_MAX bytes: the
 * environment of a child given 1.2 MB of it (in strings under the kernel's
 * 128 KiB per-string limit).  Polled, because until the child's execve()
 * the file shows our own small environment.
 */
START_TEST(aclfile_growth_bound)
{
	static char vars[10][120 * 1024];
	char *envp[11] = { NULL }, *argv[] = { "sleep", "10", NULL }, path[64];
	struct acl_file f;
	pid_t pid;
	int i, r = 0, status;

	for (i = 0; i < 10; i++) {
		memset(vars[i], 'v', sizeof(vars[i]) - 1);
		vars[i][0] = 'A' + i;
		vars[i][1] = '=';
		envp[i] = vars[i];
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	for (i = 0; i < 200 && (r = af_load(path, &f)) != -EFBIG; i++) {
		if (r == 0)
			aclfile_loader.release(aclfile_loader.ctx, &f);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;         /* no execve (E2BIG under a small stack limit): no test */
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(r, -EFBIG);
}
END_TEST

/* Root reads anything, so as root the check runs in a child as nobody. */
START_TEST(aclfile_unreadable)
{
	struct tmp t;
	struct acl_file f;
	pid_t pid;
	int status;

	tmp_init(&t);
	tmp_write(&t, "secret", "allow br1\n", 0);
	if (geteuid() != 0) {
		ck_assert_int_eq(af_load(t.path, &f), -EACCES);
		tmp_cleanup(&t);
		return;
	}
	ck_assert_int_eq(chmod(t.dir, 0711), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(77);
		_exit(af_load(t.path, &f) == -EACCES ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) != 77)
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	tmp_cleanup(&t);
}
END_TEST

START_TEST(aclfile_with_acl_check)
{
	struct tmp t;
	struct acl_result res;
	char main_path[128];

	tmp_init(&t);
	strcpy(main_path, tmp_path(&t, "bridge.conf"));
	tmp_write(&t, "bridge.conf", "allow br0\ninclude alice.conf\ninclude missing.conf\n", 0644);
	tmp_write(&t, "alice.conf", "allow br1\r\n", 0640);
	tmp_write(&t, "fifo.conf", "include fifo\n", 0644);
	tmp_write(&t, "dir.conf", "include dir\n", 0644);
	tmp_write(&t, "loop.conf", "include link.conf\n", 0644);
	ck_assert_int_eq(mkfifo(tmp_path(&t, "fifo"), 0644), 0);
	ck_assert_int_eq(mkdir(tmp_path(&t, "dir"), 0755), 0);
	ck_assert_int_eq(symlink("loop.conf", tmp_path(&t, "link.conf")), 0);

	ck_assert_int_eq(acl_check(&aclfile_loader, main_path, "br1", DW, &res), ACL_ALLOW);
	ck_assert_ptr_nonnull(strstr(res.msg, "alice.conf:1"));
	ck_assert_int_eq(acl_check(&aclfile_loader, main_path, "br2", DW, &res), ACL_DENY);

	alarm(3);
	ck_assert_int_eq(acl_check(&aclfile_loader, tmp_path(&t, "fifo.conf"), "br0", DW, &res),
			 ACL_ERROR);
	alarm(0);
	ck_assert_int_eq(res.err, EINVAL);
	ck_assert_int_eq(acl_check(&aclfile_loader, tmp_path(&t, "dir.conf"), "br0", DW, &res),
			 ACL_ERROR);
	ck_assert_int_eq(res.err, EISDIR);
	ck_assert_int_eq(acl_check(&aclfile_loader, tmp_path(&t, "loop.conf"), "br0", DW, &res),
			 ACL_ERROR);
	ck_assert_int_eq(res.err, ELOOP);
	ck_assert_ptr_nonnull(strstr(res.msg, "include loop: `"));
	tmp_cleanup(&t);
}
END_TEST

/* ---- runner --------------------------------------------------------------- */

static Suite *acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *grammar = tcase_create("grammar");
	TCase *decision = tcase_create("decision");
	TCase *include = tcase_create("include");
	TCase *examples = tcase_create("examples");
	TCase *loader = tcase_create("aclfile");

	tcase_add_test(grammar, comments_and_blank_lines);
	tcase_add_test(grammar, leading_whitespace);
	tcase_add_test(grammar, crlf);
	tcase_add_test(grammar, tab_separator);
	tcase_add_test(grammar, space_beats_tab);
	tcase_add_test(grammar, no_separator);
	tcase_add_test(grammar, unknown_command_main);
	tcase_add_test(grammar, unknown_command_include);
	tcase_add_test(grammar, name_length_main);
	tcase_add_test(grammar, name_length_include);
	tcase_add_test(grammar, trailing_comment_is_name);
	tcase_add_test(grammar, empty_argument);
	tcase_add_test(grammar, nul_byte);
	tcase_add_test(grammar, last_line_without_newline);
	tcase_add_test(grammar, empty_file);
	tcase_add_test(grammar, very_long_lines);
	tcase_add_test(grammar, main_file_errors);
	tcase_add_test(grammar, oversized_file_from_loader);
	tcase_add_test(grammar, bad_arguments);
	tcase_add_test(grammar, messages_sanitised);
	tcase_add_test(grammar, messages_quote_escaped);
	tcase_add_test(grammar, names_listed);
	tcase_add_test(grammar, messages_truncated);

	tcase_add_test(decision, allow_all);
	tcase_add_test(decision, deny_all_wins_any_order);
	tcase_add_test(decision, deny_name_wins);
	tcase_add_test(decision, deny_in_include_wins);
	tcase_add_test(decision, default_deny);
	tcase_add_test(decision, exact_case_sensitive_match);
	tcase_add_test(decision, last_match_order);
	tcase_add_test(decision, error_after_rules);

	tcase_add_test(include, include_unseen_skipped);
	tcase_add_test(include, include_error_fails_closed);
	tcase_add_test(include, error_in_include_fails_closed);
	tcase_add_test(include, relative_include);
	tcase_add_test(include, relative_include_no_dir);
	tcase_add_test(include, include_empty_path);
	tcase_add_test(include, depth_bound);
	tcase_add_test(include, self_include_loop);
	tcase_add_test(include, include_loop_a_b_a);
	tcase_add_test(include, include_loop_by_id);
	tcase_add_test(include, diamond_is_not_a_loop);

	tcase_add_test(examples, seed_example_deny_wins);
	tcase_add_test(examples, seed_example_last_match);
	tcase_add_test(examples, qemu_per_group_example);

	tcase_add_test(loader, aclfile_regular);
	tcase_add_test(loader, aclfile_not_regular);
	tcase_add_test(loader, aclfile_size_bound);
	tcase_add_test(loader, aclfile_size_is_a_hint);
	tcase_add_test(loader, aclfile_growth_bound);
	tcase_add_test(loader, aclfile_unreadable);
	tcase_add_test(loader, aclfile_with_acl_check);

	suite_add_tcase(s, grammar);
	suite_add_tcase(s, decision);
	suite_add_tcase(s, include);
	suite_add_tcase(s, examples);
	suite_add_tcase(s, loader);
	return s;
}

ONTAP_CHECK_MAIN(acl_suite())

/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: lxc-usernet (usernet.c), which the broker reads as the
 * requester for lxc-usernet veth requests.  The file is the admin's, but a
 * parser that reads past its buffer or misreads a line would turn a
 * malformed file into a grant.
 *
 * Properties, beyond "no sanitizer report":
 *  - usernet_match() returns 0 or -E2BIG, at most max entries, in
 *    increasing line order, each line within the input's line count;
 *  - every entry names the user or "@" and one of the groups, and is at
 *    most USERNET_FIELD_MAX bytes;
 *  - usernet_pick() returns an index of an entry with room, or -ENOENT
 *    exactly when nothing matched, or -EDQUOT.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usernet.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = { "users", "g" };
	const struct usernet_query q = {
		.user = "u", .groups = groups, .ngroups = 2, .type = "veth", .bridge = "br0",
	};
	struct usernet_entry e[8];
	unsigned used[8], lines = 1;
	size_t n = 99;
	char *buf;
	int r;

	if (size > 8192)
		return -1;
	buf = malloc(size ? size : 1);   /* exact size: no NUL to lean on */
	CHECK(buf);
	memcpy(buf, data, size);
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	r = usernet_match(buf, size, &q, e, 8, &n);
	CHECK(r == 0 || r == -E2BIG);
	CHECK(n <= 8);
	for (size_t i = 0; i < n; i++) {
		CHECK(strlen(e[i].name) <= USERNET_FIELD_MAX);
		CHECK(!strcmp(e[i].name, "u") || !strcmp(e[i].name, "@users") ||
		      !strcmp(e[i].name, "@g"));
		CHECK(e[i].line >= 1 && e[i].line <= lines);
		CHECK(i == 0 || e[i].line > e[i - 1].line);
		used[i] = size ? data[i % size] % 4 : 0;
	}
	if (r == 0) {
		r = usernet_pick(e, n, used);
		CHECK(r == -ENOENT ? n == 0 : r == -EDQUOT || (r >= 0 && (size_t)r < n));
		if (r >= 0)
			CHECK(e[r].count > 0 && used[r] < (unsigned)e[r].count);
	}
	free(buf);
	return 0;
}

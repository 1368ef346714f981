/* SPDX-License-Identifier: ISC */
/*
 * bridge-probe: broker/bridge.c's two calls, from the command line, for
 * tests/security.sh (in its own network namespace).
 *
 *   bridge-probe resolve NAME            -> "RC CANONICAL IFINDEX" on stdout
 *   bridge-probe recheck NAME IFINDEX    -> "RC" on stdout
 *
 * RC is the call's return value (0 or -errno) as an errno name or 0; the
 * message for the user, when there is one, goes to stderr.  Exit 0 once a
 * call was made, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static const char *errname(int r)
{
	switch (-r) {
	case 0: return "0";
	case ENODEV: return "ENODEV";
	case ESTALE: return "ESTALE";
	case EMEDIUMTYPE: return "EMEDIUMTYPE";
	default: return strerror(-r);
	}
}

int main(int argc, char *argv[])
{
	struct bridge br = { 0 };
	char err[512] = "";
	int r;

	if (argc == 3 && !strcmp(argv[1], "resolve")) {
		r = bridge_resolve(argv[2], &br, err, sizeof(err));
		printf("%s %s %u\n", errname(r), br.name, br.ifindex);
	} else if (argc == 4 && !strcmp(argv[1], "recheck") && strlen(argv[2]) < sizeof(br.name)) {
		char *end;
		unsigned long ix = strtoul(argv[3], &end, 10);

		if (*end || !*argv[3] || ix == 0 || ix > 0xffffffffUL)
			return 2;
		strcpy(br.name, argv[2]);
		br.ifindex = (unsigned)ix;
		r = bridge_recheck(&br, err, sizeof(err));
		printf("%s\n", errname(r));
	} else {
		fprintf(stderr, "usage: bridge-probe resolve NAME | recheck NAME IFINDEX\n");
		return 2;
	}
	if (err[0])
		fprintf(stderr, "%s\n", err);
	return 0;
}

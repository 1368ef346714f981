/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static bool parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return false;
	*fd = (int)v;
	return true;
}

enum args_action args_parse(int argc, char *const argv[], struct args *a)
{
	const char *br = NULL, *fd = NULL;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--use-vnet"))
			a->use_vnet = true;
		else if (!strncmp(argv[i], "--br=", 5))
			br = argv[i] + 5;
		else if (!strncmp(argv[i], "--fd=", 5))
			fd = argv[i] + 5;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return ARGS_HELP;
		else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			return ARGS_VERSION;
		else
			return ARGS_USAGE;
	}
	if (!br || !fd)
		return ARGS_USAGE;
	if (strlen(br) >= sizeof(a->bridge)) {
		a->bad = br;
		return ARGS_TOO_LONG;
	}
	strcpy(a->bridge, br);
	if (!parse_fd(fd, &a->fd)) {
		a->bad = fd;
		return ARGS_BAD_FD;
	}
	return ARGS_RUN;
}

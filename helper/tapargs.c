/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifname.h"
#include "proto.h"
#include "tapargs.h"

static enum tapargs_action usage(struct tapargs *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum tapargs_action usage(struct tapargs *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	return TAPARGS_USAGE;
}

/* decimal, lo..hi, nothing else: no sign, no space, no base prefix */
static bool number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/*
 * `--name VALUE' or `--name=VALUE' at argv[*i]: 1 and *val (advancing *i
 * past a separate value), 0 if argv[*i] is another option, -1 if the value
 * is missing.
 */
static int valued(const char *name, int argc, char *const argv[], int *i, const char **val)
{
	size_t n = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, n))
		return 0;
	if (arg[n] == '=') {
		*val = arg + n + 1;
		return 1;
	}
	if (arg[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* one option at argv[*i]: -1 and a->why set on a usage error */
static int option(int argc, char *const argv[], int *i, struct tapargs *a,
		  enum tapargs_action *act)
{
	const char *arg = argv[*i], *val;
	long v;
	int r;

	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		*act = TAPARGS_HELP;
		return 1;
	}
	if (!strcmp(arg, "--version") || !strcmp(arg, "-V")) {
		*act = TAPARGS_VERSION;
		return 1;
	}
	if (!strcmp(arg, "--vnet-hdr")) {
		a->vnet_hdr = true;
		return 0;
	}
	if ((r = valued("--queues", argc, argv, i, &val)) != 0) {
		if (r < 0)
			return usage(a, "--queues needs a number"), -1;
		if (!number(val, 1, PROTO_QUEUES_MAX, &v))
			return usage(a, "--queues `%.32s': not a number from 1 to %d", val,
				     PROTO_QUEUES_MAX), -1;
		a->queues = (unsigned)v;
		return 0;
	}
	if ((r = valued("--fd", argc, argv, i, &val)) != 0) {
		if (r < 0)
			return usage(a, "--fd needs a number"), -1;
		/* 0, 1 and 2 are PROG's stdin, stdout and stderr */
		if (!number(val, 3, TAPARGS_FD_MAX, &v))
			return usage(a, "--fd `%.32s': not a number from 3 to %d", val,
				     TAPARGS_FD_MAX), -1;
		a->fd = (int)v;
		return 0;
	}
	return usage(a, "unknown option `%.64s'", arg), -1;
}

enum tapargs_action tapargs_parse(int argc, char *const argv[], struct tapargs *a)
{
	enum tapargs_action act = TAPARGS_RUN;
	const char *br;
	size_t n;
	int i;

	memset(a, 0, sizeof(*a));
	a->queues = 1;
	a->fd = TAPARGS_FD_DEFAULT;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (option(argc, argv, &i, a, &act) < 0)
			return TAPARGS_USAGE;
		if (act != TAPARGS_RUN)
			return act;
	}
	if (i >= argc)
		return usage(a, "missing BRIDGE and PROG");
	if (i + 1 >= argc)
		return usage(a, "missing PROG");
	br = argv[i];
	n = strlen(br);
	if (n >= IFNAMSIZ)
		return usage(a, "bridge name too long: %zu bytes, at most %d", n, IFNAMSIZ - 1);
	/* the kernel's rule: the broker would refuse it, say so before asking */
	if (!ifname_valid(br, n))
		return usage(a, "invalid bridge name");
	memcpy(a->bridge, br, n + 1);
	/* the last descriptor's number must fit too */
	if (a->fd > TAPARGS_FD_MAX - (int)a->queues + 1)
		return usage(a, "--fd %d with %u queues goes past %d", a->fd, a->queues,
			     TAPARGS_FD_MAX);
	a->prog = argv + i + 1;
	return TAPARGS_RUN;
}

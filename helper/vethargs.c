/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ifname.h"
#include "vethargs.h"

static enum vargs_action usage(const char **err, const char **bad, const char *why,
			       const char *arg)
{
	*err = why;
	*bad = arg;
	return VARGS_USAGE;
}

/* an interface name into out, or false: never cut */
static bool ifname(const char *s, char out[IFNAMSIZ])
{
	size_t n = strlen(s);

	if (!ifname_valid(s, n))
		return false;
	memcpy(out, s, n + 1);
	return true;
}

/* a pid: decimal digits only, 1..INT_MAX */
static bool pid_arg(const char *s, int *pid)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > INT_MAX)
		return false;
	*pid = (int)v;
	return true;
}

/* "--opt VALUE" or "--opt=VALUE": the value, or NULL (and *i advanced) */
static const char *optval(int argc, char *const argv[], int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], opt))
		return NULL;
	if (*i + 1 >= argc)
		return "";     /* caught as empty below */
	return argv[++*i];
}

enum vargs_action veth_args_parse(int argc, char *const argv[], struct veth_args *a)
{
	const char *v, *bridge = NULL, *pid = NULL;
	bool dashdash = false;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!dashdash && !strcmp(s, "--help"))
			return VARGS_HELP;
		if (!dashdash && !strcmp(s, "--version"))
			return VARGS_VERSION;
		if (!dashdash && !strcmp(s, "--")) {
			dashdash = true;
		} else if (!dashdash && (v = optval(argc, argv, &i, "--name"))) {
			if (!ifname(v, a->name))
				return usage(&a->err, &a->bad, "--name: not a valid interface name", v);
		} else if (!dashdash && (v = optval(argc, argv, &i, "--netns"))) {
			if (!*v)
				return usage(&a->err, &a->bad, "--netns: a path is needed", NULL);
			a->netns = v;
		} else if (!dashdash && (v = optval(argc, argv, &i, "--pid"))) {
			if (!pid_arg(v, &a->pid))
				return usage(&a->err, &a->bad, "--pid: not a process id", v);
			pid = v;
		} else if (!dashdash && s[0] == '-' && s[1]) {
			return usage(&a->err, &a->bad, "unknown option", s);
		} else if (bridge) {
			return usage(&a->err, &a->bad, "one bridge only", s);
		} else {
			bridge = s;
		}
	}
	if (a->netns && pid)
		return usage(&a->err, &a->bad, "--netns and --pid exclude each other", NULL);
	if (!bridge)
		return usage(&a->err, &a->bad, "a bridge is needed", NULL);
	if (!ifname(bridge, a->bridge))
		return usage(&a->err, &a->bad, "not a valid bridge name", bridge);
	return VARGS_RUN;
}

enum vargs_action lxc_args_parse(int argc, char *const argv[], struct lxc_args *a)
{
	memset(a, 0, sizeof(*a));
	/* lxc-user-nic: fewer than 6 or more than 7 arguments is the usage */
	if (argc < 7 || argc > 8)
		return usage(&a->err, &a->bad, "wrong number of arguments", NULL);
	if (!strcmp(argv[1], "create"))
		a->cmd = LXC_CREATE;
	else if (!strcmp(argv[1], "delete"))
		a->cmd = LXC_DELETE;
	else
		return usage(&a->err, &a->bad, "unknown command", NULL);
	a->lxcpath = argv[2];
	a->name = argv[3];
	a->type = argv[5];
	if (a->cmd == LXC_CREATE && !pid_arg(argv[4], &a->pid))
		return usage(&a->err, &a->bad, "Could not read pid", argv[4]);
	if (a->cmd == LXC_DELETE)
		a->netns = argv[4];
	if (!ifname(argv[6], a->bridge))
		return usage(&a->err, &a->bad, "not a valid bridge name", argv[6]);
	if (argc == 8 && !ifname(argv[7], a->nic))
		return usage(&a->err, &a->bad, "not a valid interface name", argv[7]);
	return VARGS_RUN;
}

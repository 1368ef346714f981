/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: ontap-helper's argv (args.c).  The input, split on NUL
 * bytes, is argv[1..]; argv[0] is "ontap-helper".  qemu interpolates the
 * bridge name into a shell command line unquoted, so any bytes can arrive.
 *
 * Properties, beyond "no sanitizer report": args_parse() agrees with a
 * model written from qemu-contract.md section 2 -- the action, and for
 * ARGS_RUN the bridge, the fd and --use-vnet; `bad' points into argv.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_ARGS 64

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* decimal digits only, at least one, value <= INT_MAX */
static bool model_fd(const char *s, int *out)
{
	long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	*out = (int)v;
	return true;
}

static enum args_action model(int argc, char **argv, struct args *m)
{
	const char *br = NULL, *fd = NULL;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--use-vnet"))
			m->use_vnet = true;
		else if (starts(argv[i], "--br="))
			br = argv[i] + 5;
		else if (starts(argv[i], "--fd="))
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
	if (strlen(br) >= IFNAMSIZ) {
		m->bad = br;
		return ARGS_TOO_LONG;
	}
	memcpy(m->bridge, br, strlen(br) + 1);
	if (!model_fd(fd, &m->fd)) {
		m->bad = fd;
		return ARGS_BAD_FD;
	}
	return ARGS_RUN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	char *copy = malloc(size + 1);
	int argc = 0;
	struct args a, m;
	enum args_action got, want;

	CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = "ontap-helper";
	for (size_t pos = 0; pos <= size && argc <= MAX_ARGS;) {
		size_t len = strlen(copy + pos);

		argv[argc++] = copy + pos;
		pos += len + 1;
	}
	if (size == 0)
		argc = 1;   /* no arguments at all */
	argv[argc] = NULL;

	memset(&a, 0x5a, sizeof(a));
	got = args_parse(argc, argv, &a);
	want = model(argc, argv, &m);
	CHECK(got == want);
	switch (got) {
	case ARGS_RUN:
		CHECK(strlen(a.bridge) < IFNAMSIZ);
		CHECK(strcmp(a.bridge, m.bridge) == 0);
		CHECK(a.fd == m.fd && a.fd >= 0);
		CHECK(a.use_vnet == m.use_vnet);
		break;
	case ARGS_TOO_LONG:
	case ARGS_BAD_FD:
		CHECK(a.bad == m.bad);
		CHECK(a.bad >= copy && a.bad <= copy + size);
		break;
	default:
		break;
	}
	free(copy);
	return 0;
}

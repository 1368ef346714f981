/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_ARGS_H
#define ONTAP_ARGS_H

#include <stdbool.h>
#include <net/if.h>

enum args_action {
	ARGS_RUN,
	ARGS_HELP,
	ARGS_VERSION,
	ARGS_USAGE,      /* unknown argument, or --br= / --fd= missing */
	ARGS_TOO_LONG,   /* the bridge name is IFNAMSIZ bytes or more: a->bad */
	ARGS_BAD_FD,     /* --fd= is not a decimal number in [0, INT_MAX]: a->bad */
};

struct args {
	bool use_vnet;
	int fd;
	char bridge[IFNAMSIZ];
	const char *bad;
};

/*
 * qemu-bridge-helper's argv: --use-vnet, --br=NAME, --fd=N in any order,
 * the last --br=/--fd= winning; the name's length is judged only after the
 * whole argv is accepted, as the reference does.  No I/O.
 */
enum args_action args_parse(int argc, char *const argv[], struct args *a);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * ontap-tap's command line and exit statuses.  Pure, no I/O.
 *
 *   ontap-tap [--queues N] [--vnet-hdr] [--fd FD] BRIDGE PROG [ARG...]
 *
 * Options come before BRIDGE (`--opt VALUE' or `--opt=VALUE'; `--' ends
 * them); everything from PROG on is PROG's, untouched.
 */
#ifndef ONTAP_TAPARGS_H
#define ONTAP_TAPARGS_H

#include <stdbool.h>
#include <net/if.h>

/* s6's convention: 100 usage, 111 temporary; 1 a refusal that will stand */
#define TAP_EXIT_PERMANENT 1
#define TAP_EXIT_USAGE     100
#define TAP_EXIT_TEMPORARY 111
#define TAP_EXIT_EXEC      126   /* PROG found but could not be run, as sh does */
#define TAP_EXIT_NOTFOUND  127   /* PROG not found */

#define TAPARGS_FD_DEFAULT 3
#define TAPARGS_FD_MAX     (1 << 20)  /* far above any RLIMIT_NOFILE a distribution sets */

enum tapargs_action {
	TAPARGS_RUN,
	TAPARGS_HELP,
	TAPARGS_VERSION,
	TAPARGS_USAGE,   /* a->why says what is wrong */
};

struct tapargs {
	unsigned queues;         /* 1..PROTO_QUEUES_MAX */
	bool vnet_hdr;
	int fd;                  /* the first descriptor's number, 3..TAPARGS_FD_MAX */
	char bridge[IFNAMSIZ];   /* valid by the kernel's rule (ifname_valid()) */
	char *const *prog;       /* PROG and its arguments, NULL-terminated (argv's tail) */
	char why[160];           /* TAPARGS_USAGE: one line, no program name */
};

enum tapargs_action tapargs_parse(int argc, char *const argv[], struct tapargs *a);

#endif

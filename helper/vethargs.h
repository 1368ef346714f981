/* SPDX-License-Identifier: ISC */
/*
 * The command lines of ontap-veth and ontap-lxc-user-nic.  Pure: no I/O,
 * strings checked, numbers range-checked, names rejected (never cut) when
 * they are not interface names.
 */
#ifndef ONTAP_VETHARGS_H
#define ONTAP_VETHARGS_H

#include <net/if.h>

enum vargs_action {
	VARGS_RUN,
	VARGS_HELP,
	VARGS_VERSION,
	VARGS_USAGE,     /* err says what was wrong */
};

/* ontap-veth [--name IFNAME] [--netns PATH | --pid PID] BRIDGE */
struct veth_args {
	char bridge[IFNAMSIZ];
	char name[IFNAMSIZ];   /* "" for the broker's default, eth0 */
	const char *netns;     /* NULL: --pid or the caller's own */
	int pid;               /* 0 when not given */
	const char *err;       /* VARGS_USAGE: what was wrong */
	const char *bad;       /* and the argument it was about, or NULL */
};

enum vargs_action veth_args_parse(int argc, char *const argv[], struct veth_args *a);

/*
 * lxc-user-nic's: create LXCPATH NAME PID TYPE BRIDGE [NICNAME]
 *                 delete LXCPATH NAME NETNS-PATH TYPE BRIDGE [NICNAME]
 * (6 or 7 arguments after the program, as lxc-user-nic counts them).
 */
enum lxc_cmd { LXC_CREATE, LXC_DELETE };

struct lxc_args {
	enum lxc_cmd cmd;
	const char *lxcpath, *name, *type;
	int pid;               /* create */
	const char *netns;     /* delete: /proc/PID/ns/net */
	char bridge[IFNAMSIZ];
	char nic[IFNAMSIZ];    /* "" when not given: the container's eth%d */
	const char *err;
	const char *bad;
};

enum vargs_action lxc_args_parse(int argc, char *const argv[], struct lxc_args *a);

#endif

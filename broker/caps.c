/* SPDX-License-Identifier: ISC */
/* Runs at start-up (caps_restrict), and in each child as it drops to what it keeps (caps_only). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "caps.h"
#include "log.h"

static const struct {
	int cap;
	const char *name, *why;
} needed[] = {
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "to create taps and attach them to bridges" },
	{ CAP_SETUID, "CAP_SETUID", "to serve each request as the requesting user" },
	{ CAP_SETGID, "CAP_SETGID", "to serve each request with the requester's groups" },
	{ CAP_KILL, "CAP_KILL", "to end a worker, which runs as the requester, at its deadline" },
};

#define NNEEDED (sizeof(needed) / sizeof(needed[0]))

void caps_check(void)
{
	capng_get_caps_process();
	for (unsigned i = 0; i < NNEEDED; i++)
		if (!capng_have_capability(CAPNG_PERMITTED, (unsigned)needed[i].cap))
			die("missing capability %s, needed %s: run as root or grant it",
			    needed[i].name, needed[i].why);
}

void caps_restrict(void)
{
	capng_select_t what = CAPNG_SELECT_CAPS;

	caps_check();
	/* the bounding set can only shrink with CAP_SETPCAP; a supervisor may have done it */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP))
		what = CAPNG_SELECT_BOTH;
	capng_clear(what);
	for (unsigned i = 0; i < NNEEDED; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
			     (what == CAPNG_SELECT_BOTH ? CAPNG_BOUNDING_SET : 0),
			     (unsigned)needed[i].cap);
	if (capng_apply(what) < 0)
		die("cannot drop capabilities (libcap-ng capng_apply failed)");
	capng_get_caps_process();
	for (unsigned i = 0; i < NNEEDED; i++)
		if (!capng_have_capability(CAPNG_EFFECTIVE, (unsigned)needed[i].cap))
			die("capability %s lost while dropping the others", needed[i].name);
}

/*
 * Raw capget/capset off the start-up path: libcap-ng resets its state in a
 * forked process and would parse /proc twice to rebuild it.
 */
int caps_only(uint64_t want)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		data[i].effective = data[i].permitted = (uint32_t)(want >> (32 * i));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	/* ambient capabilities would survive an exec; none may be left */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	/* read back what we set, rather than trusting it */
	memset(data, 0xff, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != (uint32_t)(want >> (32 * i)) ||
		    data[i].permitted != (uint32_t)(want >> (32 * i)) || data[i].inheritable)
			return -EPERM;
	return 0;
}

int caps_net_admin_only(void)
{
	return caps_only(CAPS_BIT(CAP_NET_ADMIN));
}

int caps_none(void)
{
	return caps_only(0);
}

/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "caps.h"
#include "log.h"

static const struct {
	int cap;
	const char *name, *why;
} needed[] = {
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "to create taps and attach them to bridges" },
	{ CAP_SETUID, "CAP_SETUID", "to read the acl as the requesting user" },
	{ CAP_SETGID, "CAP_SETGID", "to read the acl with the requester's groups" },
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

int caps_drop_identity(void)
{
	capng_get_caps_process();
	if (capng_updatev(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID, CAP_SETGID, -1) < 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	return 0;
}

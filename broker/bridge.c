/* SPDX-License-Identifier: ISC */
/* Runs in a worker that is already the requester: RTM_GETLINK reads only. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "bridge.h"
#include "escape.h"
#include "rtnl.h"

struct link_info {
	unsigned ifindex;
	unsigned mtu;
	bool is_bridge;
	bool have_name;
	char name[IFNAMSIZ];
};

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		li->is_bridge = !strcmp(mnl_attr_get_str(a), "bridge");
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME: {
		/* the canonical name, never an altname: bounded and NUL-terminated, or refused */
		size_t n = mnl_attr_get_payload_len(a);
		const char *s = mnl_attr_get_payload(a);

		if (n == 0 || n > IFNAMSIZ || s[n - 1] != '\0' || strlen(s) != n - 1)
			return MNL_CB_ERROR;
		memcpy(li->name, s, n);
		li->have_name = true;
		break;
	}
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		li->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		mnl_attr_parse_nested(a, linkinfo_cb, li);
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_info *li = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	li->ifindex = (unsigned)ifi->ifi_index;
	return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, li);
}

/* One link, by name (altnames match too) or by ifindex: 0 or -errno. */
static int get_link(const char *name, unsigned ifindex, struct link_info *li)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_GETLINK, NLM_F_ACK, ifindex);
	int r;

	memset(li, 0, sizeof(*li));
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = rtnl_once(nlh, link_cb, li, NULL);
	if (r == 0 && (!li->ifindex || !li->have_name))
		r = li->ifindex ? -EPROTO : -ENODEV;
	return r;
}

int bridge_resolve(const char *asked, struct bridge *br, char *err, size_t errlen)
{
	char shown[ESCAPE_SIZE(IFNAMSIZ)];
	struct link_info li;
	int r = get_link(asked, 0, &li);

	memset(br, 0, sizeof(*br));
	snprintf(br->name, sizeof(br->name), "%s", r == 0 ? li.name : asked);
	escape_str(shown, sizeof(shown), asked);
	if (r < 0) {
		/* the reference's words, which users and scripts know */
		snprintf(err, errlen, "failed to get mtu of bridge `%s': %s", shown, strerror(-r));
		return r;
	}
	br->ifindex = li.ifindex;
	br->mtu = li.mtu;
	if (!li.is_bridge) {
		snprintf(err, errlen, "`%s' is not a bridge", shown);
		return -EMEDIUMTYPE;
	}
	return 0;
}

int bridge_recheck(const struct bridge *br, char *err, size_t errlen)
{
	char shown[ESCAPE_SIZE(IFNAMSIZ)], now[ESCAPE_SIZE(IFNAMSIZ)];
	struct link_info li;
	int r = get_link(NULL, br->ifindex, &li);

	escape_str(shown, sizeof(shown), br->name);
	if (r < 0) {
		snprintf(err, errlen, "bridge `%s' (ifindex %u) went away while the tap was made: %s",
			 shown, br->ifindex, strerror(-r));
		return r;
	}
	if (strcmp(li.name, br->name)) {
		snprintf(err, errlen, "bridge `%s' (ifindex %u) was renamed `%s' while the tap was made",
			 shown, br->ifindex, escape_str(now, sizeof(now), li.name));
		return -ESTALE;
	}
	if (!li.is_bridge) {
		snprintf(err, errlen, "`%s' (ifindex %u) is no longer a bridge", shown, br->ifindex);
		return -EMEDIUMTYPE;
	}
	return 0;
}

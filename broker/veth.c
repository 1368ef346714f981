/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "rtnl.h"
#include "veth.h"

/* a host-end name is drawn again this often when it is taken */
#define VETH_NAME_TRIES 8

static int random_name(char name[IFNAMSIZ], unsigned char mac[ETH_ALEN])
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6 + ETH_ALEN - 1];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno;
	memcpy(name, "veth", 4);
	for (int i = 0; i < 6; i++)
		name[4 + i] = set[rnd[i] % (sizeof(set) - 1)];
	name[10] = '\0';
	/* locally administered, unicast, and high: a bridge takes its lowest port MAC */
	mac[0] = 0xfe;
	memcpy(mac + 1, rnd + 6, ETH_ALEN - 1);
	return 0;
}

/*
 * One RTM_NEWLINK makes both ends, the peer straight in the target netns
 * (IFLA_NET_NS_FD in the peer's own ifinfomsg): it never exists on the host,
 * and the kernel undoes both if either cannot be registered.
 */
static int add_pair(const struct bridge *br, int netns_fd, const char *name,
		    const unsigned char mac[ETH_ALEN], const char *peer, char *ext)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_NEWLINK,
					     NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
	struct nlattr *linkinfo, *data, *peerinfo;
	struct ifinfomsg *pifi;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, ETH_ALEN, mac);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return rtnl_once(nlh, NULL, NULL, ext);
}

struct found {
	unsigned ifindex, link;
	int32_t nsid;               /* the peer's netns, as the host numbers it */
	bool has_link, has_nsid, is_veth;
	char name[IFNAMSIZ];
};

static int info_cb(const struct nlattr *a, void *data)
{
	struct found *f = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
		f->is_veth = rtnl_attr_is(a, "veth");
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct found *f = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
		    strlen(mnl_attr_get_str(a)) >= IFNAMSIZ)
			return MNL_CB_ERROR;
		strcpy(f->name, mnl_attr_get_str(a));
		break;
	case IFLA_LINK_NETNSID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		f->nsid = (int32_t)mnl_attr_get_u32(a);
		f->has_nsid = true;
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		f->link = mnl_attr_get_u32(a);
		f->has_link = true;
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		mnl_attr_parse_nested(a, info_cb, f);
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct found *f = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	f->ifindex = (unsigned)ifi->ifi_index;
	return mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, f);
}

/* The host end by name: its ifindex and, through IFLA_LINK, its peer's. */
static int lookup(const char *name, struct found *f)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_GETLINK, NLM_F_ACK, 0);
	int r;

	memset(f, 0, sizeof(*f));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = rtnl_once(nlh, link_cb, f, NULL);
	return r == 0 && !f->ifindex ? -ENODEV : r;
}

/*
 * The peer's name as its namespace has it: the request may have been a
 * template ("eth%d", what LXC asks for when no name is configured).  Read by
 * ifindex through the netns id the kernel gave the peer's namespace when the
 * pair was made (IFLA_LINK_NETNSID): no setns, which would need CAP_SYS_ADMIN.
 */
static int read_peer_name(const struct found *host, char name[IFNAMSIZ])
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_GETLINK, NLM_F_ACK, host->link);
	struct found f;
	int r;

	if (!host->has_nsid || !host->link)
		return -ENODEV;
	memset(&f, 0, sizeof(f));
	mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (uint32_t)host->nsid);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = rtnl_once(nlh, link_cb, &f, NULL);
	if (r == 0 && (f.ifindex != host->link || !f.name[0] || !f.is_veth))
		r = -ENODEV;
	if (r == 0)
		memcpy(name, f.name, IFNAMSIZ);
	return r;
}

/* only where the ifindex could not be learnt */
static void delete_by_name(const char *name)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_DELLINK, NLM_F_ACK, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	rtnl_once(nlh, NULL, NULL, NULL);
}

/* Alias, master and up in one message, once the pair is attributed. */
static int attach(const struct bridge *br, unsigned ifindex, const char *alias, char *ext)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_NEWLINK, NLM_F_ACK, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	/* rtnl_newlink() ignores IFLA_IFALIAS when it creates a link */
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	mnl_attr_put_u32(nlh, IFLA_MASTER, br->ifindex);
	return rtnl_once(nlh, NULL, NULL, ext);
}

/* Creates the pair under a fresh host name: 0 or -errno, v->name set. */
static int create(const struct bridge *br, int netns_fd, struct veth *v, char *err, size_t errlen)
{
	unsigned char mac[ETH_ALEN];
	char ext[RTNL_EXT_MAX];
	struct found f;
	int r = -EEXIST;

	for (int i = 0; i < VETH_NAME_TRIES && r == -EEXIST; i++) {
		r = random_name(v->name, mac);
		if (r < 0) {
			snprintf(err, errlen, "cannot draw a veth name: getrandom: %s", strerror(-r));
			return r;
		}
		r = add_pair(br, netns_fd, v->name, mac, v->peer_name, ext);
		/* EEXIST is either name: only a peer name taken in the namespace is final */
		if (r == -EEXIST && lookup(v->name, &f) == -ENODEV) {
			snprintf(err, errlen, "cannot create `%s' in the target network namespace: "
				 "an interface of that name exists there", v->peer_name);
			return r;
		}
	}
	if (r < 0)
		snprintf(err, errlen, "failed to create veth pair `%s'/`%s': %s%s",
			 v->name, v->peer_name, strerror(-r), ext);
	return r;
}

int veth_create(const struct bridge *br, int netns_fd, const char *peer_name, const char *alias,
		struct veth *v, char *err, size_t errlen)
{
	char ext[RTNL_EXT_MAX];
	struct found f;
	int r;

	memset(v, 0, sizeof(*v));
	snprintf(v->peer_name, sizeof(v->peer_name), "%s",
		 peer_name && *peer_name ? peer_name : VETH_PEER_DEFAULT);
	r = create(br, netns_fd, v, err, errlen);
	if (r < 0)
		return r;
	r = lookup(v->name, &f);
	if (r < 0) {
		snprintf(err, errlen, "cannot find the veth `%s' just made: %s", v->name, strerror(-r));
		delete_by_name(v->name);
		return r;
	}
	if (!f.is_veth) {
		/* replaced between two messages (only CAP_NET_ADMIN can): not ours to delete */
		snprintf(err, errlen, "the veth `%s' just made is gone", v->name);
		return -ENODEV;
	}
	v->ifindex = f.ifindex;
	/* IFLA_LINK is left out when the peer's ifindex equals ours */
	if (!f.has_link)
		f.link = f.ifindex;
	v->peer_ifindex = f.link;
	r = read_peer_name(&f, v->peer_name);
	if (r < 0) {
		snprintf(err, errlen, "cannot read back the name of the veth's peer (ifindex %u) "
			 "in the target network namespace: %s", f.link, strerror(-r));
		veth_delete(v->ifindex);
		return r;
	}
	r = attach(br, v->ifindex, alias, ext);
	if (r < 0) {
		snprintf(err, errlen, "failed to add interface `%s' to bridge `%s' (up): %s%s",
			 v->name, br->name, strerror(-r), ext);
		veth_delete(v->ifindex);
	}
	return r;
}

int veth_delete(unsigned ifindex)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	return rtnl_once(rtnl_link_msg(buf, RTM_DELLINK, NLM_F_ACK, ifindex), NULL, NULL, NULL);
}

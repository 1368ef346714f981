/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/if_ether.h>
#include <libmnl/libmnl.h>

#include "tap.h"

/* a link message with stats skipped fits easily; a request needs far less */
#define RTNL_RECV_BUF 16384
#define RTNL_REQ_BUF  512

/* What one netlink exchange learns: the link asked about, or why it failed. */
struct talk {
	unsigned ifindex;
	unsigned mtu;
	bool is_bridge;
	char ext[128];   /* the kernel's extended ack message, if it gave one */
};

static int open_rtnl(struct mnl_socket **nl)
{
	int one = 1;

	*nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!*nl)
		return -errno;
	/* the kernel's own words for a refused change end up in the user's message */
	mnl_socket_setsockopt(*nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(*nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(*nl);
		return r;
	}
	return 0;
}

static int extack_cb(const struct nlattr *a, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int err_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	const char *msg = NULL;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	/* NETLINK_CAP_ACK: the TLVs follow the bare nlmsgerr */
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(*e), extack_cb, &msg);
	if (msg)
		snprintf(t->ext, sizeof(t->ext), " (%s)", msg);
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct talk *t = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		t->is_bridge = !strcmp(mnl_attr_get_str(a), "bridge");
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct talk *t = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		t->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		mnl_attr_parse_nested(a, linkinfo_cb, t);
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	t->ifindex = (unsigned)ifi->ifi_index;
	return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, t);
}

/* One request, its answer: 0 or -errno (t->ext may then say more). */
static int rtnl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, struct talk *t)
{
	char buf[RTNL_RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = err_cb };
	unsigned portid = mnl_socket_get_portid(nl);
	unsigned seq = nlh->nlmsg_seq = (unsigned)time(NULL);
	ssize_t n;
	int r;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* bounded by the kernel: one answer, or an ack, then MNL_CB_STOP */
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		r = mnl_cb_run2(buf, (size_t)n, seq, portid, link_cb, t, ctl, NLMSG_MIN_TYPE);
	} while (r == MNL_CB_OK);
	return r < 0 ? -errno : 0;
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, unsigned ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

int bridge_lookup(const char *name, struct bridge *br, char *err, size_t errlen)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_ACK, 0);
	struct talk t = { 0 };
	struct mnl_socket *nl;
	int r;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = open_rtnl(&nl);
	if (r < 0) {
		snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		return r;
	}
	r = rtnl_talk(nl, nlh, &t);
	mnl_socket_close(nl);
	if (r == 0 && !t.ifindex)
		r = -ENODEV;
	if (r < 0) {
		snprintf(err, errlen, "failed to get mtu of bridge `%s': %s", name, strerror(-r));
		return r;
	}
	if (!t.is_bridge) {
		snprintf(err, errlen, "`%s' is not a bridge", name);
		return -EMEDIUMTYPE;
	}
	br->ifindex = t.ifindex;
	br->mtu = t.mtu;
	snprintf(br->name, sizeof(br->name), "%s", name);
	return 0;
}

static int open_tun(bool want_vnet, struct tap *t, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_name = "tap%d" };
	unsigned features = 0;

	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		snprintf(err, errlen, "failed to open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (want_vnet && (features & IFF_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "failed to create tun device: %s", strerror(errno));
		return -errno;
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	t->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	return 0;
}

/* The kernel's random MAC with a high first octet, so the bridge keeps its own. */
static int tap_mac(const struct tap *t, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(t->fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	mac[0] = 0xfe;
	return 0;
}

/* MTU, MAC, master and up in one RTM_NEWLINK: the kernel applies them in that order */
static int attach(struct mnl_socket *nl, const struct bridge *br, const struct tap *t,
		  const unsigned char mac[ETH_ALEN], struct talk *tk)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_ACK, t->ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, ETH_ALEN, mac);
	mnl_attr_put_u32(nlh, IFLA_MASTER, br->ifindex);
	return rtnl_talk(nl, nlh, tk);
}

static int tap_setup(const struct bridge *br, struct tap *t, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	unsigned char mac[ETH_ALEN];
	struct talk tk = { 0 };
	struct mnl_socket *nl;
	int r = tap_mac(t, mac);

	if (r < 0) {
		snprintf(err, errlen, "failed to get MAC address of device `%s': %s", t->name, strerror(-r));
		return r;
	}
	r = open_rtnl(&nl);
	if (r < 0) {
		snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		return r;
	}
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(mnl_socket_get_fd(nl), SIOCGIFINDEX, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "failed to get index of device `%s': %s", t->name, strerror(-r));
		goto out;
	}
	t->ifindex = (unsigned)ifr.ifr_ifindex;
	r = attach(nl, br, t, mac, &tk);
	if (r < 0)
		snprintf(err, errlen, "failed to add interface `%s' to bridge `%s' (mtu %u, up): %s%s",
			 t->name, br->name, br->mtu, strerror(-r), tk.ext);
out:
	mnl_socket_close(nl);
	return r;
}

int tap_create(const struct bridge *br, bool want_vnet, struct tap *t, char *err, size_t errlen)
{
	int r;

	memset(t, 0, sizeof(*t));
	r = open_tun(want_vnet, t, err, errlen);
	if (r == 0)
		r = tap_setup(br, t, err, errlen);
	/* not persistent: closing the only fd makes the tap vanish */
	if (r < 0 && t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	return r;
}

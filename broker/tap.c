/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "tap.h"

int tap_open(struct tap *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "failed to open /dev/net/tun: %s", strerror(e));
		return -e;
	}
	return 0;
}

static int set_iff(bool want_vnet, struct tap *t, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_name = "tap%d" };
	unsigned features = 0;

	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (want_vnet && (features & IFF_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "failed to create tun device: %s", strerror(e));
		return -e;
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

/*
 * MTU, MAC, alias, master and up in one RTM_NEWLINK: one round trip, and
 * do_setlink() applies the MTU before the master, so the bridge never
 * shrinks to a default MTU on the way.
 */
static int attach(struct mnl_socket *nl, const struct bridge *br, const struct tap *t,
		  const unsigned char mac[ETH_ALEN], const char *alias, char *ext)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_NEWLINK, NLM_F_ACK, t->ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, ETH_ALEN, mac);
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	mnl_attr_put_u32(nlh, IFLA_MASTER, br->ifindex);
	return rtnl_talk(nl, nlh, NULL, NULL, ext);
}

static int tap_setup(const struct bridge *br, struct tap *t, const char *alias,
		     char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	unsigned char mac[ETH_ALEN];
	char ext[RTNL_EXT_MAX];
	struct mnl_socket *nl;
	int r = tap_mac(t, mac);

	if (r < 0) {
		snprintf(err, errlen, "failed to get MAC address of device `%s': %s", t->name, strerror(-r));
		return r;
	}
	r = rtnl_shared(&nl);
	if (r < 0) {
		snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		return r;
	}
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(mnl_socket_get_fd(nl), SIOCGIFINDEX, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "failed to get index of device `%s': %s", t->name, strerror(-r));
		return r;
	}
	t->ifindex = (unsigned)ifr.ifr_ifindex;
	r = attach(nl, br, t, mac, alias, ext);
	if (r < 0)
		snprintf(err, errlen, "failed to add interface `%s' to bridge `%s' (mtu %u, up): %s%s",
			 t->name, br->name, br->mtu, strerror(-r), ext);
	return r;
}

int tap_create(const struct bridge *br, bool want_vnet, const char *alias, struct tap *t,
	       char *err, size_t errlen)
{
	int r = set_iff(want_vnet, t, err, errlen);

	if (r == 0)
		r = tap_setup(br, t, alias, err, errlen);
	/* not persistent: closing the only fd makes the tap vanish */
	if (r < 0 && t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	return r;
}

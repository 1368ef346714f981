/* SPDX-License-Identifier: ISC */
/*
 * Runs in the maker (or an --inetd instance's privileged parent): CAP_NET_ADMIN;
 * tap_open() in the listener too.
 */
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

int tap_open(int *fds, unsigned n, char *err, size_t errlen)
{
	if (n == 0 || n > PROTO_QUEUES_MAX) {
		snprintf(err, errlen, "cannot open %u queues", n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		fds[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;

			snprintf(err, errlen, "failed to open /dev/net/tun: %s", strerror(e));
			while (i > 0)
				close(fds[--i]);
			return -e;
		}
	}
	return 0;
}

void tap_adopt(struct tap *t, const int *fds, unsigned n)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < PROTO_QUEUES_MAX; i++)
		t->fds[i] = i < n ? fds[i] : -1;
	t->nfds = n < PROTO_QUEUES_MAX ? n : PROTO_QUEUES_MAX;
}

void tap_close(struct tap *t)
{
	while (t->nfds > 0) {
		t->nfds--;
		close(t->fds[t->nfds]);
		t->fds[t->nfds] = -1;
	}
}

/*
 * The first queue makes the tap (the kernel picks tap%d); each further one
 * attaches to it by that name with the same flags, which the kernel
 * requires of every queue of a multiqueue tap.
 */
static int set_iff(bool want_vnet, struct tap *t, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_name = "tap%d" };
	unsigned features = 0;
	short flags = IFF_TAP | IFF_NO_PI;

	if (ioctl(t->fds[0], TUNGETFEATURES, &features) < 0)
		features = 0;
	if (want_vnet && (features & IFF_VNET_HDR))
		flags |= IFF_VNET_HDR;
	if (t->nfds >= 2)
		flags |= IFF_MULTI_QUEUE;
	for (unsigned i = 0; i < t->nfds; i++) {
		ifr.ifr_flags = flags;
		if (ioctl(t->fds[i], TUNSETIFF, &ifr) < 0) {
			int e = errno;

			if (i == 0)
				snprintf(err, errlen, "failed to create tun device: %s", strerror(e));
			else
				snprintf(err, errlen, "failed to attach queue %u of %u to `%s': %s",
					 i + 1, t->nfds, t->name, strerror(e));
			return -e;
		}
		if (i == 0) {
			memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
			t->name[IFNAMSIZ - 1] = '\0';
		}
	}
	t->vnet_hdr = flags & IFF_VNET_HDR;
	t->multi_queue = flags & IFF_MULTI_QUEUE;
	return 0;
}

/* The kernel's random MAC with a high first octet, so the bridge keeps its own. */
static int tap_mac(const struct tap *t, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(t->fds[0], SIOCGIFHWADDR, &ifr) < 0)
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
	int r = -EBADF;

	if (t->nfds)
		r = set_iff(want_vnet, t, err, errlen);
	else
		snprintf(err, errlen, "no /dev/net/tun descriptor to make a tap with");
	if (r == 0)
		r = tap_setup(br, t, alias, err, errlen);
	/* not persistent: closing every queue's fd makes the tap vanish */
	if (r < 0)
		tap_close(t);
	return r;
}

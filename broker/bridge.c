/* SPDX-License-Identifier: ISC */
/* Runs in a worker that is already the requester, and in the maker: interface ioctls that only read. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "bridge.h"
#include "escape.h"
#include "ifreq.h"

struct link_info {
	unsigned ifindex;
	unsigned mtu;
	bool is_bridge;
	char name[IFNAMSIZ];
};

/*
 * Any socket takes the interface ioctls; one, kept, serves every lookup of
 * the process.  They answer from the kernel's tables without building a
 * message: a bridge's RTM_GETLINK answer is some 1.5 kB of attributes, and
 * cost several times more.
 */
static int ctl_sock(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd;
}

/*
 * Ifindexes seen to be bridges.  ETHTOOL_GDRVINFO is the one lookup here
 * that takes the kernel's rtnl lock, which every tap's creation and
 * teardown on the host hold, through RCU grace periods: under load a
 * request would wait behind them for it.  An ifindex is handed out in turn
 * and an interface's kind never changes (see bridge_recheck()), so once
 * seen to be a bridge, that ifindex is a bridge for as long as it exists.
 */
#define BRIDGES_SEEN 8
static unsigned bridges_seen[BRIDGES_SEEN];
static unsigned bridges_next;

static bool seen_bridge(unsigned ifindex)
{
	for (unsigned i = 0; i < BRIDGES_SEEN; i++)
		if (bridges_seen[i] == ifindex)
			return true;
	return false;
}

static int driver_is_bridge(int s, const char *name, bool *yes)
{
	struct ethtool_drvinfo drv = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&drv };
	int r = ifreq_by_name(s, SIOCETHTOOL, name, &ifr);

	if (r < 0 && r != -EOPNOTSUPP)
		return r;
	drv.driver[sizeof(drv.driver) - 1] = '\0';
	*yes = r == 0 && !strcmp(drv.driver, "bridge");
	return 0;
}

/*
 * One link, by name (an altname matches too): its ifindex, canonical name,
 * MTU and whether its driver is the bridge's.  Each ioctl names the link
 * anew, so the name is looked up once more at the end: a link renamed
 * meanwhile is -EAGAIN, never another link's answers.  0 or -errno.
 */
static int get_link(const char *name, struct link_info *li)
{
	struct ifreq ifr = { 0 };
	unsigned ifindex;
	int s = ctl_sock(), r;

	memset(li, 0, sizeof(*li));
	if (s < 0)
		return -errno;
	r = ifreq_by_name(s, SIOCGIFINDEX, name, &ifr);
	if (r < 0)
		return r;
	ifindex = (unsigned)ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = (int)ifindex;
	if (ioctl(s, SIOCGIFNAME, &ifr) < 0)
		return -errno;
	memcpy(li->name, ifr.ifr_name, IFNAMSIZ);
	li->name[IFNAMSIZ - 1] = '\0';
	li->ifindex = ifindex;
	r = ifreq_by_name(s, SIOCGIFMTU, li->name, &ifr);
	if (r < 0)
		return r;
	li->mtu = (unsigned)ifr.ifr_mtu;
	li->is_bridge = seen_bridge(ifindex);
	if (!li->is_bridge && (r = driver_is_bridge(s, li->name, &li->is_bridge)) < 0)
		return r;
	r = ifreq_by_name(s, SIOCGIFINDEX, li->name, &ifr);
	if (r < 0 || (unsigned)ifr.ifr_ifindex != ifindex)
		return r < 0 && r != -ENODEV ? r : -EAGAIN;
	if (li->is_bridge && !seen_bridge(ifindex))
		bridges_seen[bridges_next++ % BRIDGES_SEEN] = ifindex;
	return 0;
}

int bridge_resolve(const char *asked, struct bridge *br, char *err, size_t errlen)
{
	char shown[ESCAPE_SIZE(IFNAMSIZ)];
	struct link_info li;
	int r = get_link(asked, &li);

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

/*
 * By ifindex alone: the kernel hands out ifindexes in turn, never again
 * until 2^31 of them are used, and an interface's kind never changes, so
 * the same name at the same ifindex is the same bridge (only root, who may
 * attach any tap anywhere, can make an interface at a chosen ifindex).
 * One ioctl that reads under RCU: the maker, serial, takes the kernel's
 * rtnl lock only to make the tap.
 */
int bridge_recheck(const struct bridge *br, char *err, size_t errlen)
{
	char shown[ESCAPE_SIZE(IFNAMSIZ)], now[ESCAPE_SIZE(IFNAMSIZ)];
	struct ifreq ifr = { .ifr_ifindex = (int)br->ifindex };
	int s = ctl_sock();

	escape_str(shown, sizeof(shown), br->name);
	if (s < 0 || ioctl(s, SIOCGIFNAME, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "bridge `%s' (ifindex %u) went away while the tap was made: %s",
			 shown, br->ifindex, strerror(e));
		return -e;
	}
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	if (strcmp(ifr.ifr_name, br->name)) {
		snprintf(err, errlen, "bridge `%s' (ifindex %u) was renamed `%s' while the tap was made",
			 shown, br->ifindex, escape_str(now, sizeof(now), ifr.ifr_name));
		return -ESTALE;
	}
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * The little of the kernel's ABI the clients use: TUNGETIFF and rtnetlink's
 * RTM_GETLINK.  From <linux/...> where the C library's headers have them
 * (glibc builds); spelled out where they do not: Debian's musl headers,
 * which the static clients are built with, have no linux/ directory.  These
 * are fixed kernel ABI (include/uapi/linux/if_tun.h, netlink.h,
 * rtnetlink.h, if_link.h).
 */
#ifndef ONTAP_LINUX_ABI_H
#define ONTAP_LINUX_ABI_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#if __has_include(<linux/rtnetlink.h>)
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#else
#define TUNGETIFF       _IOR('T', 210, unsigned int)
#define IFF_TAP         0x0002
#define IFF_MULTI_QUEUE 0x0100

#define NETLINK_ROUTE   0
#define NLM_F_REQUEST   0x01
#define NLMSG_ERROR     0x2
#define RTM_NEWLINK     16
#define RTM_GETLINK     18
#define IFLA_MASTER     10

struct sockaddr_nl {
	sa_family_t nl_family;
	unsigned short nl_pad;
	uint32_t nl_pid;
	uint32_t nl_groups;
};

struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type;
	uint16_t nlmsg_flags;
	uint32_t nlmsg_seq;
	uint32_t nlmsg_pid;
};

struct nlmsgerr {
	int error;
	struct nlmsghdr msg;
};

struct ifinfomsg {
	unsigned char ifi_family;
	unsigned char __ifi_pad;
	unsigned short ifi_type;
	int ifi_index;
	unsigned ifi_flags;
	unsigned ifi_change;
};

struct rtattr {
	unsigned short rta_len;
	unsigned short rta_type;
};
#endif

/* netlink's 4-byte alignment of messages and attributes */
#define ONTAP_NL_ALIGN(n) (((n) + 3u) & ~3u)

#endif

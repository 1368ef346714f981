/* SPDX-License-Identifier: ISC */
/* Talking rtnetlink through libmnl: one request, its answers, its ack. */
#ifndef ONTAP_RTNL_H
#define ONTAP_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#define RTNL_REQ_BUF 512
#define RTNL_EXT_MAX 128

int rtnl_open(struct mnl_socket **nl);

/*
 * Whether string attribute a holds exactly s, its NUL included: read within
 * the attribute's own length, whatever it holds (MNL_TYPE_STRING checks no
 * terminator).
 */
bool rtnl_attr_is(const struct nlattr *a, const char *s);

/* A link request (RTM_GETLINK, RTM_NEWLINK, RTM_DELLINK) in buf. */
struct nlmsghdr *rtnl_link_msg(char *buf, uint16_t type, uint16_t flags, unsigned ifindex);

/*
 * Sends nlh and runs cb on every answer until the ack or NLMSG_DONE: 0 or
 * -errno.  ext (RTNL_EXT_MAX bytes, may be NULL) gets the kernel's extended
 * ack text, " (like this)", or "".
 */
int rtnl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char *ext);

/* This process's own rtnetlink socket, opened on first use and kept. */
int rtnl_shared(struct mnl_socket **nl);

/* rtnl_talk() on the shared socket. */
int rtnl_once(struct nlmsghdr *nlh, mnl_cb_t cb, void *data, char *ext);

#endif

/* SPDX-License-Identifier: ISC */
/* Runs in the maker (quotas, the orphan reaper), and for --list: rtnetlink dumps, no request bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include "census.h"
#include "rtnl.h"

/* "ontap/1 uid=U gid=G pid=P since=T groups=G1,G2[ lxc=NAME]" */
#define ALIAS_TAG "ontap/1 "

int census_alias_format(const struct tap_owner *o, char *buf, size_t cap)
{
	size_t off;
	int n = snprintf(buf, cap, ALIAS_TAG "uid=%u gid=%u pid=%d since=%" PRId64 " groups=",
			 o->uid, o->gid, o->pid, o->since);

	if (n < 0 || (size_t)n >= cap || o->ngroups > CENSUS_MAX_GROUPS)
		return -ENAMETOOLONG;
	off = (size_t)n;
	for (unsigned i = 0; i < o->ngroups; i++) {
		n = snprintf(buf + off, cap - off, "%s%u", i ? "," : "", o->groups[i]);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENAMETOOLONG;
		off += (size_t)n;
	}
	if (o->lxc[0]) {
		size_t k = strnlen(o->lxc, sizeof(o->lxc));

		if (k == sizeof(o->lxc) || strpbrk(o->lxc, " \t"))
			return -EINVAL;
		n = snprintf(buf + off, cap - off, " lxc=%s", o->lxc);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENAMETOOLONG;
	}
	return 0;
}

/* " lxc=NAME" to the end: 1..CENSUS_LXC_MAX-1 bytes, no space, tab or NUL */
static int lxc_field(const char *p, const char *end, struct tap_owner *o)
{
	size_t n;

	if ((size_t)(end - p) < 5 || memcmp(p, " lxc=", 5))
		return -EINVAL;
	p += 5;
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(o->lxc) || memchr(p, ' ', n) || memchr(p, '\t', n) ||
	    memchr(p, '\0', n))
		return -EINVAL;
	memcpy(o->lxc, p, n);
	o->lxc[n] = '\0';
	return 0;
}

/* a decimal number in [0, max] at *p, advancing *p */
static int num(const char **p, const char *end, int64_t max, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';

		/* checked before the multiplication: no signed overflow, ever */
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

static int field(const char **p, const char *end, const char *key, int64_t max, int64_t *out)
{
	size_t k = strlen(key);

	if ((size_t)(end - *p) < k || memcmp(*p, key, k))
		return -EINVAL;
	*p += k;
	if (num(p, end, max, out) < 0)
		return -EINVAL;
	if (*p < end && **p == ' ')
		(*p)++;
	return 0;
}

int census_alias_parse(const char *buf, size_t len, struct tap_owner *o)
{
	const char *p = buf, *end = buf + len;
	int64_t uid, gid, pid, since, g;

	memset(o, 0, sizeof(*o));
	if (len < sizeof(ALIAS_TAG) - 1 || memcmp(buf, ALIAS_TAG, sizeof(ALIAS_TAG) - 1))
		return -ENOENT;
	p += sizeof(ALIAS_TAG) - 1;
	if (field(&p, end, "uid=", UINT32_MAX, &uid) || field(&p, end, "gid=", UINT32_MAX, &gid) ||
	    field(&p, end, "pid=", INT32_MAX, &pid) || field(&p, end, "since=", INT64_MAX, &since))
		return -EINVAL;
	if ((size_t)(end - p) < 7 || memcmp(p, "groups=", 7))
		return -EINVAL;
	p += 7;
	while (p < end && *p != ' ') {
		if (o->ngroups == CENSUS_MAX_GROUPS || num(&p, end, UINT32_MAX, &g) < 0)
			return -EINVAL;
		o->groups[o->ngroups++] = (unsigned)g;
		if (p < end && *p == ' ')
			break;
		if (p < end && *p++ != ',')
			return -EINVAL;
		if ((p == end || *p == ' ') && p[-1] == ',')
			return -EINVAL;
	}
	if (p < end && lxc_field(p, end, o) < 0)
		return -EINVAL;
	o->uid = (unsigned)uid;
	o->gid = (unsigned)gid;
	o->pid = (int)pid;
	o->since = since;
	return 0;
}

/* one link message being read: what census_link_parse() needs besides the entry */
struct link {
	struct tap_entry *t;
	bool is_tun, is_veth, has_alias;
};

static int tun_data_cb(const struct nlattr *a, void *data)
{
	struct link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_TUN_PERSIST:
		if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
			l->t->persist = mnl_attr_get_u8(a);
		break;
	}
	return MNL_CB_OK;
}

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct link *l = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND) {
		l->is_tun = rtnl_attr_is(a, "tun");
		l->is_veth = rtnl_attr_is(a, "veth");
	} else if (mnl_attr_get_type(a) == IFLA_INFO_DATA && mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(a, tun_data_cb, l);
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct link *l = data;
	struct tap_entry *t = l->t;
	size_t n;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(t->name, sizeof(t->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_CARRIER:
		/*
		 * tun turns carrier on when an fd attaches and off when the last
		 * one goes; IFLA_TUN_NUM_QUEUES is only reported for multi-queue
		 * taps.  A holder may drop carrier itself (TUNSETCARRIER): that only
		 * ever exposes its own persistent tap to the reaper.
		 */
		if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
			t->attached = mnl_attr_get_u8(a);
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			t->master = mnl_attr_get_u32(a);
		break;
	case IFLA_IFALIAS:
		n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
		l->has_alias = census_alias_parse(mnl_attr_get_str(a), n, &t->owner) == 0;
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
			mnl_attr_parse_nested(a, linkinfo_cb, l);
		break;
	}
	return MNL_CB_OK;
}

int census_link_parse(const struct nlmsghdr *nlh, struct tap_entry *t)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link l = { .t = t };

	memset(t, 0, sizeof(*t));
	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EBADMSG;
	/* a bridge's news about its port (AF_BRIDGE) is not the link's own state */
	if (ifi->ifi_family != AF_UNSPEC)
		return -EPFNOSUPPORT;
	if (ifi->ifi_index <= 0)
		return -EBADMSG;
	t->ifindex = (unsigned)ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &l);
	if (l.is_veth) {
		/* IFLA_CARRIER of a veth is its peer's state, not a holder */
		t->kind = CENSUS_VETH;
		t->attached = t->persist = false;
	}
	return (l.is_tun || l.is_veth) && l.has_alias;
}

struct walk {
	int (*fn)(const struct tap_entry *t, void *ctx);
	void *ctx;
	int ret;
	struct tap_entry t;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;

	/* keep reading to the end of the dump even once fn has said stop */
	if (nlh->nlmsg_type == RTM_NEWLINK && census_link_parse(nlh, &w->t) == 1 && w->ret == 0)
		w->ret = w->fn(&w->t, w->ctx);
	return MNL_CB_OK;
}

int census_walk(int (*fn)(const struct tap_entry *t, void *ctx), void *ctx)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rtnl_link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0);
	struct walk *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = rtnl_once(nlh, dump_cb, w, NULL);
	if (r == 0)
		r = w->ret;
	free(w);
	return r;
}

int census_delete(unsigned ifindex)
{
	char buf[RTNL_REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	return rtnl_once(rtnl_link_msg(buf, RTM_DELLINK, NLM_F_ACK, ifindex), NULL, NULL, NULL);
}

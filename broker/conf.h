/* SPDX-License-Identifier: ISC */
/*
 * The broker's own configuration, ontap.conf(5): one `key value...' per
 * line, '#' starts a comment line.  Pure parsing: names of users and groups
 * are resolved through a callback, so tests and fuzzers need no databases.
 */
#ifndef ONTAP_CONF_H
#define ONTAP_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "acl.h"
#include "proto.h"

#define CONF_MAX_QUOTAS 64
#define CONF_FILE_MAX   (64u << 10)
#define CONF_UNLIMITED  UINT_MAX
#define CONF_QUEUES_CPU_CAP 16   /* the default max-queues is the CPUs, at most this */

enum log_sink { SINK_STDERR, SINK_SYSLOG };

struct quota_rule {
	bool group;          /* else a user */
	unsigned id;         /* uid or gid */
	unsigned max;        /* live taps */
};

struct broker_conf {
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char acl_path[PATH_MAX];
	char lock_path[PATH_MAX];       /* serialises quota count + creation */
	enum acl_semantics semantics;
	unsigned deadline_s;            /* a whole request, from accept to reply */
	unsigned max_requests;          /* in flight, all users together */
	unsigned max_requests_per_user;
	unsigned max_taps_default;      /* per user without a rule of its own */
	unsigned max_queues;            /* per tap, 1..PROTO_QUEUES_MAX */
	unsigned nquotas;
	struct quota_rule quotas[CONF_MAX_QUOTAS];
	bool reap_orphans;
	unsigned reap_interval_s;
	enum log_sink log;
	int syslog_facility;
	char syslog_ident[32];
};

struct conf_resolver {
	/* 0 and the id, or -ENOENT */
	int (*user)(const char *name, unsigned *uid);
	int (*group)(const char *name, unsigned *gid);
};

/* Every default; max-queues is 1 until conf_default_queues() says otherwise. */
void conf_defaults(struct broker_conf *c);

/*
 * The default max-queues for a machine with ncpus CPUs: one queue per CPU
 * (what a VM with a vCPU each can use), at most CONF_QUEUES_CPU_CAP.  The
 * count is a parameter so that the parser stays pure; main.c passes it
 * after conf_defaults() and before conf_parse().
 */
void conf_default_queues(struct broker_conf *c, unsigned ncpus);

/*
 * Parses a whole file's bytes into c (which holds the defaults or the values
 * so far).  0, or -errno with "FILE:LINE: problem" in err.
 */
int conf_parse(struct broker_conf *c, const char *buf, size_t len, const char *file,
	       const struct conf_resolver *res, char *err, size_t errlen);

/* The quota that applies to a uid (its own rule, else the default). */
unsigned conf_user_quota(const struct broker_conf *c, unsigned uid);

#endif

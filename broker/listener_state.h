/* SPDX-License-Identifier: ISC */
/*
 * The listener's state, shared by the two files that run in it:
 * listener.c (the loop, accepting, fair queueing, workers, deadlines) and
 * listener_maker.c (the maker and the closer as the listener sees them).
 */
#ifndef ONTAP_LISTENER_STATE_H
#define ONTAP_LISTENER_STATE_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "fairq.h"
#include "maker.h"
#include "peer.h"
#include "worker.h"

/*
 * Connections held at once: waiting and being served.  A user may have
 * QUEUE_PER_USER waiting (a 64-way burst fits with room to spare); past
 * that, its requests are refused at once instead of held.
 */
#define CONN_MAX        2048
#define QUEUE_PER_USER  128
#define WORKERS_MAX     4096    /* the most max-requests may say */
#define WORKER_IDLE_MS  30000   /* an unused worker ends after this */
#define KILL_GRACE_MS   1000    /* past the deadline, before SIGKILL */
#define MAKER_GRACE_MS  5000    /* the maker's work is the kernel's: bounded */
#define ACCEPT_BATCH    32
#define STOP_WAIT_MS    2000

enum cstate { C_FREE, C_QUEUED, C_WORKER, C_MAKER };

struct conn {
	int fd;
	enum cstate state;
	uint32_t seq;
	pid_t pid;
	int worker;                  /* while C_WORKER */
	int64_t deadline;            /* ms, CLOCK_MONOTONIC */
	struct verdict *v;           /* while C_MAKER */
	int nsfd;                    /* a veth's namespace, from its verdict to the maker; -1 */
	int *tapfds;                 /* a tap's queues: ours, kept while the maker makes it on its copies */
	unsigned ntapfds;
	struct identity who;
};

struct worker {
	pid_t pid;
	int chan;
	int conn;                    /* the slot it serves, -1: idle */
	int64_t idle_since;
	bool retire;                 /* the configuration changed: end after this request */
	struct identity who;
};

struct listener {
	int lsock;
	struct broker_conf *conf;
	sigset_t waitmask;
	struct conn *c;
	unsigned nconns;
	int top;                     /* past the last slot in use: the scans stop there */
	struct fairq q;
	struct worker *w;
	unsigned nw, busy;
	pid_t maker;
	int maker_chan;
	pid_t closer;
	int closer_chan;
	struct closer_gate *gate;    /* shared with the closer (closer.h) */
	uint32_t handed;             /* hand-overs to the closer so far */
	bool forking_closer;         /* the child being forked is the closer: it keeps the gate */
	int64_t next_reap;
	uint32_t seq;
	struct pollfd *pfd;          /* room for every worker's channel and two */
	pid_t *polled;               /* whose channel each pfd is */
};

/* listener.c */
int64_t now_ms(void);
/* A child on a channel of its own: its pid in the parent, 0 in the child, or -errno. */
pid_t fork_child(struct listener *l, int *chan);
/* The request in slot is over: its connection closed, its slot and its uid's share freed. */
void release(struct listener *l, int slot);
/* Records and answers a refusal, then release(). */
void refuse(struct listener *l, int slot, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* listener_maker.c */
int start_maker(struct listener *l);
/* Every request at the maker refused, and the maker ended: it is started again when needed. */
void maker_failed(struct listener *l, const char *why);
int to_maker_op(struct listener *l, const struct maker_msg *m, const int *fds, unsigned nfds);
/* slot's allowed verdict to the maker (or a refusal). */
void to_maker(struct listener *l, int slot);
/* The maker's answer: recorded and sent to its client. */
void from_maker(struct listener *l);
int start_closer(struct listener *l);
/* Closes tap descriptors, the last close (and the tap's teardown) left to the closer. */
void hand_off(struct listener *l, int *fds, unsigned n);

#endif

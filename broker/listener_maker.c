/* SPDX-License-Identifier: ISC */
/*
 * Runs in the listener (see listener.h and listener_state.h): the maker and
 * the closer as the listener sees them.  Allowed verdicts go out to the
 * maker; taps come back, are recorded, answered, and their descriptors
 * closed or handed to the closer.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "answer.h"
#include "chan.h"
#include "closer.h"
#include "listener_state.h"
#include "log.h"
#include "tap.h"

/* ---- the closer ---------------------------------------------------------- */

int start_closer(struct listener *l)
{
	int chan;
	pid_t pid;

	l->forking_closer = true;
	pid = fork_child(l, &chan);
	l->forking_closer = false;
	if (pid < 0)
		return (int)pid;
	if (pid == 0)
		closer_main(chan, l->gate);
	l->closer = pid;
	l->closer_chan = chan;
	return 0;
}

/*
 * Closes tap descriptors the listener handed out: the closer takes the last
 * reference, and with it the kernel's teardown, when the client has none;
 * it closes its copies only once the gate says ours are closed.  Should the
 * closer be gone or full, the listener closes them itself.
 */
void hand_off(struct listener *l, int *fds, unsigned n)
{
	uint32_t seq = l->handed + 1;
	int r = -ESRCH;

	if (n && l->closer_chan < 0)
		start_closer(l);
	if (n && l->closer_chan >= 0) {
		r = chan_send(l->closer_chan, &seq, sizeof(seq), fds, n);
		if (r < 0)
			log_line("closer: cannot hand %u descriptors over: %s", n, strerror(-r));
	}
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	if (r == 0) {
		l->handed = seq;
		closer_gate_open(l->gate, seq);
	}
}

/*
 * True while the client has not taken the answer yet: the message still
 * holds its own reference to each descriptor in it, so the listener's close
 * cannot be the last, and costs no teardown; no handing off is needed.
 */
static bool unread(int sock)
{
	int n = 0;

	return ioctl(sock, SIOCOUTQ, &n) == 0 && n > 0;
}

/* ---- the maker ----------------------------------------------------------- */

void maker_failed(struct listener *l, const char *why)
{
	for (int i = 0; i < l->top; i++)
		if (l->c[i].state == C_MAKER)
			refuse(l, i, EIO, "the broker could not make the interface: %s", why);
	if (l->maker > 0)
		kill(l->maker, SIGKILL);
	if (l->maker_chan >= 0)
		close(l->maker_chan);
	l->maker = 0;
	l->maker_chan = -1;
}

int start_maker(struct listener *l)
{
	int chan;
	pid_t pid = fork_child(l, &chan);

	if (pid < 0)
		return (int)pid;
	if (pid == 0)
		maker_main(chan, l->conf);
	l->maker = pid;
	l->maker_chan = chan;
	return 0;
}

/* fds: a tap's queues or a veth's namespace, with its MAKER_MAKE only */
int to_maker_op(struct listener *l, const struct maker_msg *m, const int *fds, unsigned nfds)
{
	if (l->maker_chan < 0) {
		int r = start_maker(l);

		if (r < 0)
			return r;
	}
	return chan_send(l->maker_chan, m, maker_msg_len(m->op), fds, nfds);
}

/*
 * A tap's /dev/net/tun descriptors are opened here and kept until the
 * maker's answer, the maker making the tap on its copies: the maker's
 * copies are then never the last, and no teardown ever runs in the maker,
 * which every request waits for.  Ours go to the client, then are closed
 * (the answer unread) or handed to the closer.
 */
static int open_queues(struct conn *c, unsigned n, char *why, size_t whylen)
{
	int r;

	c->tapfds = malloc(n * sizeof(int));
	if (!c->tapfds)
		return -ENOMEM;
	r = tap_open(c->tapfds, n, why, whylen);
	if (r < 0) {
		free(c->tapfds);
		c->tapfds = NULL;
		return r;
	}
	c->ntapfds = n;
	return 0;
}

void to_maker(struct listener *l, int slot)
{
	struct conn *c = &l->c[slot];
	struct maker_msg *m = malloc(sizeof(*m));
	unsigned n = c->v->kind == PROTO_KIND_VETH ? 0 : c->v->queues;
	char why[PROTO_REASON_MAX + 1] = "";
	int r = m ? 0 : -ENOMEM;

	if (r == 0 && n)
		r = open_queues(c, n, why, sizeof(why));
	if (r == 0) {
		m->op = maker_req_fill(l->conf, &c->who, c->pid, c->seq, c->v, &m->lxc);
		r = n ? to_maker_op(l, m, c->tapfds, n) :
			to_maker_op(l, m, &c->nsfd, c->nsfd >= 0 ? 1 : 0);
	}
	free(m);
	/* the maker has its own copy now, or never will */
	if (c->nsfd >= 0)
		close(c->nsfd);
	c->nsfd = -1;
	if (r < 0) {
		if (why[0])
			refuse(l, slot, -r, "%s", why);
		else
			refuse(l, slot, -r, "the broker could not make the interface: %s",
			       strerror(-r));
		return;
	}
	c->state = C_MAKER;
	/* the maker answers in order; its own bound is the deadline plus a grace */
	c->deadline = now_ms() + (int64_t)l->conf->deadline_s * 1000 + MAKER_GRACE_MS;
}

/*
 * A veth whose grant could not be sent: no fd holds it, so closing nothing
 * removes it; the maker, which alone may, deletes it.
 */
static void unmake(struct listener *l, const struct make_resp *made)
{
	struct maker_msg m = { .op = MAKER_UNMAKE };
	int r;

	m.unmake.ifindex = made->ifindex;
	memcpy(m.unmake.name, made->name, sizeof(m.unmake.name));
	r = to_maker_op(l, &m, NULL, 0);
	if (r < 0)
		log_line("cannot have veth %s (ifindex %u) deleted after a failed grant: %s",
			 made->name, made->ifindex, strerror(-r));
}

void from_maker(struct listener *l)
{
	struct make_resp resp;
	unsigned n;
	/* the maker sends no descriptor: the tap's are ours already */
	long got = chan_recv(l->maker_chan, &resp, sizeof(resp), true, NULL, 0, &n, true);

	if (got == -EAGAIN)
		return;
	if (got < 0) {
		maker_failed(l, got == -ECONNRESET ? "it ended" : strerror((int)-got));
		return;
	}
	for (int i = 0; i < l->top; i++) {
		struct conn *c = &l->c[i];
		bool veth;

		if (c->state != C_MAKER || c->seq != resp.id)
			continue;
		veth = c->v->kind == PROTO_KIND_VETH;
		/* a grant of exactly the queues we opened (a veth's: none) */
		if (resp.err == 0 && resp.nfds != (veth ? 0 : c->ntapfds)) {
			resp.err = EPROTO;
			snprintf(resp.reason, sizeof(resp.reason), "internal error: %u descriptors",
				 resp.nfds);
		}
		resp.reason[sizeof(resp.reason) - 1] = '\0';
		resp.name[sizeof(resp.name) - 1] = '\0';
		if (answer(c->fd, &c->who, c->pid, c->v, &resp, c->tapfds) < 0) {
			if (resp.err == 0 && veth)
				unmake(l, &resp);
		} else if (resp.err == 0 && c->ntapfds && unread(c->fd)) {
			/* the grant unread holds the tap: no teardown in our close */
			for (unsigned k = 0; k < c->ntapfds; k++)
				close(c->tapfds[k]);
			c->ntapfds = 0;
		}
		/* what is left of ours goes to the closer */
		release(l, i);
		break;
	}
}

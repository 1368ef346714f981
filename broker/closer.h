/* SPDX-License-Identifier: ISC */
/*
 * The closer: a child of the listener with its uid and no capability, that
 * closes the tap descriptors the listener has handed out.  When a client has
 * already closed its tap (or died), the broker's descriptor is the last, and
 * closing it runs the kernel's teardown of the tap, tens of milliseconds of
 * waiting (rcu_barrier()) that must not stall the listener, which serves
 * everyone: the listener gives its descriptors to the closer instead, with a
 * send that never blocks.
 */
#ifndef ONTAP_CLOSER_H
#define ONTAP_CLOSER_H

#include <stdatomic.h>
#include <stdint.h>

#define CLOSER_FDS_MAX 253   /* SCM_MAX_FD */

/*
 * The closer must not close a descriptor before the listener has closed its
 * own copy, or the listener's close would be the last and run the teardown
 * after all; a sender is easily preempted by the very receiver its send
 * wakes.  So each hand-over is numbered, the listener says in a page the two
 * share up to which number it has closed its copies, and a closer thread
 * waits for that (1 s at most: a listener gone meanwhile holds no copy).
 */
struct closer_gate {
	_Atomic uint32_t closed;    /* the listener's copies are closed up to this hand-over */
	_Atomic uint32_t waiting;   /* closer threads asleep on it */
};

/* The listener, before the closer's first fork: a page shared with it, or NULL (no waiting then). */
struct closer_gate *closer_gate_new(void);
/* The listener, once its copies of hand-over seq are closed. */
void closer_gate_open(struct closer_gate *g, uint32_t seq);

/*
 * The closer process: drops every capability, closes what comes on chan
 * (hand-overs: a uint32_t number and the descriptors), each once g says the
 * listener has closed its copies, until chan is closed.
 */
void closer_main(int chan, struct closer_gate *g) __attribute__((noreturn));

#endif

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

#define CLOSER_FDS_MAX 253   /* SCM_MAX_FD */

/* The closer process: drops every capability, closes what comes on chan until it is closed. */
void closer_main(int chan) __attribute__((noreturn));

#endif

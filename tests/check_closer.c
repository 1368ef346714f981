/* SPDX-License-Identifier: ISC */
/*
 * The closers (closer.c), with pipes standing in for taps: a descriptor's
 * last close shows as end of file at the pipe's read end.  The closer
 * process closes what it is handed only once the gate says the listener's
 * own copy is closed (else the listener's close could be the last).
 */
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "closer.h"

/* true once every write end of the pipe whose read end is fd is closed, within ms */
static bool eof_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 0;
}

/* a closer process on a channel of its own: its pid; *chan is ours */
static pid_t start(struct closer_gate *g, int *chan)
{
	int ch[2];
	pid_t pid;

	ck_assert_int_eq(chan_pair(ch), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ch[0]);
		closer_main(ch[1], g);
	}
	close(ch[1]);
	*chan = ch[0];
	return pid;
}

static void stop(pid_t pid, int chan)
{
	int status;

	close(chan);   /* end of file: the closer ends */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(closer_waits_for_the_gate)
{
	struct closer_gate *g = closer_gate_new();
	uint32_t seq = 1;
	int chan, p[2];
	pid_t pid;

	ck_assert_ptr_nonnull(g);
	pid = start(g, &chan);   /* first: it must not inherit the pipe */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(chan, &seq, sizeof(seq), &p[1], 1), 0);
	close(p[1]);
	ck_assert_msg(!eof_within(p[0], 300), "the closer closed before the gate said so");
	closer_gate_open(g, seq);
	ck_assert_msg(eof_within(p[0], 5000), "the closer did not close once the gate opened");
	stop(pid, chan);
	close(p[0]);
}
END_TEST

START_TEST(closer_gate_already_open)
{
	struct closer_gate *g = closer_gate_new();
	uint32_t seq = 41;
	int chan, p[2];
	pid_t pid;

	ck_assert_ptr_nonnull(g);
	closer_gate_open(g, 42);   /* later hand-overs' copies closed: so this one's too */
	pid = start(g, &chan);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(chan, &seq, sizeof(seq), &p[1], 1), 0);
	close(p[1]);
	ck_assert_msg(eof_within(p[0], 5000), "the closer waited for a gate already open");
	stop(pid, chan);
	close(p[0]);
}
END_TEST

START_TEST(closer_gate_wraps)
{
	struct closer_gate *g = closer_gate_new();
	uint32_t seq = 2;
	int chan, p[2];
	pid_t pid;

	ck_assert_ptr_nonnull(g);
	closer_gate_open(g, UINT32_MAX);   /* just before the count wraps to 0, 1, 2 */
	pid = start(g, &chan);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(chan, &seq, sizeof(seq), &p[1], 1), 0);
	close(p[1]);
	ck_assert_msg(!eof_within(p[0], 300), "hand-over 2 after a wrap counted as closed");
	closer_gate_open(g, 2);
	ck_assert(eof_within(p[0], 5000));
	stop(pid, chan);
	close(p[0]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("closer");
	TCase *tc = tcase_create("closer");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, closer_waits_for_the_gate);
	tcase_add_test(tc, closer_gate_already_open);
	tcase_add_test(tc, closer_gate_wraps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

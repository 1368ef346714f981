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

/*
 * A closer process, the gate already at `open', given hand-over seq: the
 * write end of a pipe, ours closed at once, so that its copy is the last.
 */
struct run {
	struct closer_gate *g;
	pid_t pid;
	int chan;
	int rd;     /* the pipe's read end: end of file once the closer closed its copy */
};

static void hand_one(struct run *r, uint32_t open, uint32_t seq)
{
	int ch[2], p[2];

	r->g = closer_gate_new();
	ck_assert_ptr_nonnull(r->g);
	closer_gate_open(r->g, open);
	ck_assert_int_eq(chan_pair(ch), 0);
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		close(ch[0]);
		closer_main(ch[1], r->g);
	}
	close(ch[1]);
	r->chan = ch[0];
	/* after the fork: the closer must not inherit the pipe */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(r->chan, &seq, sizeof(seq), &p[1], 1), 0);
	close(p[1]);
	r->rd = p[0];
}

static void finish(struct run *r)
{
	int status;

	close(r->chan);   /* end of file: the closer ends */
	ck_assert_int_eq(waitpid(r->pid, &status, 0), r->pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(r->rd);
}

START_TEST(closer_waits_for_the_gate)
{
	struct run r;

	hand_one(&r, 0, 1);
	ck_assert_msg(!eof_within(r.rd, 300), "the closer closed before the gate said so");
	closer_gate_open(r.g, 1);
	ck_assert_msg(eof_within(r.rd, 5000), "the closer did not close once the gate opened");
	finish(&r);
}
END_TEST

START_TEST(closer_gate_already_open)
{
	struct run r;

	/* later hand-overs' copies closed: so this one's too */
	hand_one(&r, 42, 41);
	ck_assert_msg(eof_within(r.rd, 5000), "the closer waited for a gate already open");
	finish(&r);
}
END_TEST

START_TEST(closer_gate_wraps)
{
	struct run r;

	/* just before the count wraps to 0, 1, 2 */
	hand_one(&r, UINT32_MAX, 2);
	ck_assert_msg(!eof_within(r.rd, 300), "hand-over 2 after a wrap counted as closed");
	closer_gate_open(r.g, 2);
	ck_assert(eof_within(r.rd, 5000));
	finish(&r);
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

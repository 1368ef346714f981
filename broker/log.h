/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_LOG_H
#define ONTAP_LOG_H

#include <stddef.h>

/* Where lines go: stderr (the default; for s6-log, journald) or syslog. */
void log_to_syslog(const char *ident, int facility);
void log_to_stderr(void);

/* One line on stderr, prefixed with the program name. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * An audit record: log_line() that says whether the line went out whole:
 * 0, or -errno (-EFBIG: cut short).  With syslog, 0 once handed to syslog(3).
 */
int log_record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Start-up failures only: a line, then exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The audit records' time: UTC, ISO 8601, to the second. */
const char *log_time(char out[32]);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_LOG_H
#define ONTAP_LOG_H

#include <stddef.h>

/* Where lines go: stderr (the default; for s6-log, journald) or syslog. */
void log_to_syslog(const char *ident, int facility);
void log_to_stderr(void);

/* One line on stderr, prefixed with the program name. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failures only: a line, then exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies client- or file-supplied bytes into out for logging: printable
 * ASCII as is, everything else (and '"' and '\\') as \xNN; always
 * NUL-terminated, cut short (never overflowing) when out is too small.
 */
const char *log_clean(char *out, size_t cap, const char *in, size_t len);

#endif

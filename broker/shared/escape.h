/* SPDX-License-Identifier: ISC */
/*
 * The one way ontap shows bytes it did not write itself (file content,
 * paths, interface names, executables) in a log line, an audit record, a
 * reply or a terminal.  Pure: no I/O.
 *
 * The rule, for every byte: 0x20..0x7e except '"' and '\' stand for
 * themselves; every other byte, '"' and '\' included, is written \xNN (two
 * lowercase hex digits).  So the output is printable ASCII, never holds a
 * '"' (a quoted field cannot be closed from inside), and a '\' always starts
 * an escape: the output reads back to exactly the input.
 */
#ifndef ONTAP_ESCAPE_H
#define ONTAP_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* The most one input byte takes in the output. */
#define ESCAPE_MAX_PER_BYTE 4
/* A buffer that holds the whole escape of n bytes, with its NUL. */
#define ESCAPE_SIZE(n) (ESCAPE_MAX_PER_BYTE * (n) + 1)

/*
 * Writes in's len bytes, escaped, into out (cap bytes).  out is always
 * NUL-terminated (when cap > 0); when it is too small, the output stops
 * before the first byte whose whole escape does not fit, so an escape is
 * never cut in two.  Returns the number of input bytes written (len when
 * all of them fit).
 */
size_t escape(char *out, size_t cap, const char *in, size_t len);

/* escape() of a NUL-terminated string; returns out, for use in printf. */
const char *escape_str(char *out, size_t cap, const char *in);

/*
 * Whether s (n bytes) is text escape() could have written: printable
 * ASCII, no '"', every '\' followed by 'x' and two lowercase hex digits.
 * Messages made of ontap's own words and escaped pieces are such text.
 */
bool escape_is_text(const char *s, size_t n);

/*
 * Copies a message (ontap's own words with outside bytes already escaped)
 * into out for a quoted field: text escape_is_text() accepts is kept as it
 * is, and any byte that could not have come from escape() -- '"', a control
 * or non-ASCII byte, a '\' that does not start \xNN -- is escaped, so that a
 * message whose maker forgot to escape something still cannot end its
 * field.  Always NUL-terminated; never cuts an escape in two.
 */
const char *escape_msg(char *out, size_t cap, const char *in);

#endif

/* SPDX-License-Identifier: ISC */
/* Runs in every broker process; audit records are written by the listener alone (answer.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool to_syslog;
static char syslog_ident[32];   /* openlog() keeps the pointer */

void log_to_syslog(const char *ident, int facility)
{
	if (to_syslog)
		closelog();
	snprintf(syslog_ident, sizeof(syslog_ident), "%s", ident);
	/* LOG_NDELAY: connect now, while /dev/log is still reachable */
	openlog(syslog_ident, LOG_PID | LOG_NDELAY, facility);
	to_syslog = true;
}

void log_to_stderr(void)
{
	if (to_syslog)
		closelog();
	to_syslog = false;
}

static int __attribute__((format(printf, 1, 0))) vline(const char *fmt, va_list ap)
{
	ssize_t w;
	char buf[4096];
	size_t n = to_syslog ? 0 : (size_t)snprintf(buf, sizeof(buf), "ontap-broker: ");
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);

	n = m < 0 ? n : n + (size_t)m;
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (to_syslog) {
		buf[n] = '\0';
		syslog(LOG_NOTICE, "%s", buf);
		return 0;
	}
	buf[n++] = '\n';
	/* one write per line, so lines of concurrent writers never interleave */
	do
		w = write(STDERR_FILENO, buf, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EFBIG;
}

void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

int log_record(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vline(fmt, ap);
	va_end(ap);
	return r;
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

const char *log_time(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	if (!strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm)))
		out[0] = '\0';
	return out;
}

/* log.c: one-line log records to stderr.
 * Each record is formatted into one buffer and written with a single write()
 * so that lines from several threads or processes never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_BYTES 2048
#define LOG_PROGNAME_BYTES 32

static char log_progname[LOG_PROGNAME_BYTES] = "tether";
static enum log_level log_min = LOG_LVL_INFO;

void log_init(const char *progname, enum log_level min_level)
{
	if (progname != NULL && progname[0] != '\0')
		snprintf(log_progname, sizeof(log_progname), "%s", progname);
	log_min = min_level;
}

static const char *log_level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return "debug";
	case LOG_LVL_INFO: return "info";
	case LOG_LVL_WARN: return "warn";
	case LOG_LVL_ERROR: return "error";
	}
	return "?";
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[LOG_LINE_BYTES];
	va_list ap;
	int n, m;
	size_t len, i;

	if (lvl < log_min)
		return;
	n = snprintf(line, sizeof(line), "%s[%ld] %s: ", log_progname,
	             (long)getpid(), log_level_name(lvl));
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* A record is one line: control characters from untrusted text must not
	 * forge extra log lines. */
	for (i = (size_t)n; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
}

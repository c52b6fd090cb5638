/* log.c: one-line log records to stderr.
 * Each record is formatted into one buffer and written with a single write()
 * so that lines from several threads or processes never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

#define LOG_MSG_BYTES 2048
#define LOG_PROGNAME_BYTES 32
#define LOG_TS_BYTES 64
/* A JSON record: the escaped message (each byte at most "\xNN", then its
 * backslash doubled by JSON) plus the other members. */
#define LOG_JSON_BYTES (2 * TEXT_ESCAPED_BYTES(LOG_MSG_BYTES) + 256)

static char log_progname[LOG_PROGNAME_BYTES] = "tether";
static enum log_level log_min = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FMT_TEXT;
static int log_journal;               /* stderr is journald's stream */

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connects to a
 * service's stdout/stderr. Only when stderr is that very file are priority
 * prefixes right: a daemon started from a shell inside a unit, or with its
 * stderr sent elsewhere, writes plain lines. */
static int log_journal_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, enum log_level min_level)
{
	if (progname != NULL && progname[0] != '\0')
		snprintf(log_progname, sizeof(log_progname), "%s", progname);
	log_min = min_level;
	log_journal = log_journal_detect();
}

void log_set_format(enum log_format fmt)
{
	log_fmt = fmt;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcasecmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
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

/* sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
static int log_journal_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return 7;
	case LOG_LVL_INFO: return 6;
	case LOG_LVL_WARN: return 4;
	case LOG_LVL_ERROR: return 3;
	}
	return 6;
}

/* "2026-12-05T10:40:01.123Z" */
static void log_timestamp(char out[LOG_TS_BYTES])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL) {
		snprintf(out, LOG_TS_BYTES, "-");
		return;
	}
	snprintf(out, LOG_TS_BYTES, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (long)(ts.tv_nsec / 1000000) % 1000);
}

static void log_write(const char *line, size_t len)
{
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
}

/* The message as a JSON string body: text_escape_display first (valid
 * UTF-8, controls shown as \xNN, so nothing forges a line or breaks a JSON
 * parser), then JSON's own escapes for '"' and '\'. On the heap: worker
 * threads log too, and 20 kB is more than their stacks should spare. */
static void log_json(enum log_level lvl, const char *prefix, const char *ts,
                     const char *msg)
{
	char *esc = malloc(TEXT_ESCAPED_BYTES(LOG_MSG_BYTES));
	char *line = malloc(LOG_JSON_BYTES);
	size_t n, i;
	int k;

	if (esc == NULL || line == NULL)
		goto out;
	text_escape_display(msg, esc, TEXT_ESCAPED_BYTES(LOG_MSG_BYTES));
	k = snprintf(line, LOG_JSON_BYTES, "%s{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"%s\","
	             "\"pid\":%ld,\"msg\":\"", prefix, ts, log_level_name(lvl), log_progname,
	             (long)getpid());
	if (k < 0 || (size_t)k >= LOG_JSON_BYTES)
		goto out;
	n = (size_t)k;
	for (i = 0; esc[i] != '\0' && n + 8 < LOG_JSON_BYTES; i++) {
		if (esc[i] == '"' || esc[i] == '\\')
			line[n++] = '\\';
		line[n++] = esc[i];
	}
	memcpy(line + n, "\"}\n", 3);
	log_write(line, n + 3);
out:
	free(esc);
	free(line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_MSG_BYTES], line[LOG_MSG_BYTES + 128], ts[LOG_TS_BYTES], prefix[8] = "";
	va_list ap;
	int n, m;
	size_t len, i;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		msg[0] = '\0';
	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", log_journal_priority(lvl));
	log_timestamp(ts);
	if (log_fmt == LOG_FMT_JSON) {
		log_json(lvl, prefix, ts, msg);
		return;
	}
	/* journald stamps each record itself. */
	n = snprintf(line, sizeof(line), "%s%s%s%s[%ld] %s: ", prefix, log_journal ? "" : ts,
	             log_journal ? "" : " ", log_progname, (long)getpid(), log_level_name(lvl));
	if (n < 0 || (size_t)n >= sizeof(line) / 2)
		return;
	len = (size_t)n + strlen(msg);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	memcpy(line + n, msg, len - (size_t)n);
	/* A record is one line: control characters from untrusted text must not
	 * forge extra log lines. */
	for (i = (size_t)n; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\n';
	log_write(line, len);
}

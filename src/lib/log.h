/* log.h: one-line log records to stderr.
 * A record is "TIME PROG[PID] LEVEL: message", TIME in UTC (RFC 3339 with
 * milliseconds). Under systemd (JOURNAL_STREAM names the very file stderr
 * is) the time is left to journald and the line starts with the sd-daemon
 * priority prefix ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), so
 * `journalctl -p warning` selects by level. With LOG_FMT_JSON each record
 * is one JSON object instead (ts, level, prog, pid, msg), with the same
 * prefix under journald. */
#ifndef TETHER_LOG_H
#define TETHER_LOG_H

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

/* Also looks again at JOURNAL_STREAM and stderr (cheap; safe on reload). */
void log_init(const char *progname, enum log_level min_level);
/* Text (the default) or JSON records from now on. */
void log_set_format(enum log_format fmt);
/* "text" or "json" (a config value) to *out; -1 for anything else. */
int log_format_parse(const char *s, enum log_format *out);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif

/* agentclock.c: learning, logging and keeping the offset from the server's
 * clock. */
#include "agentclock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bounds.h"
#include "clockoff.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "tls.h"

static int64_t agentclock_saved_ms;     /* what clock.json holds */
static int agentclock_have_saved;
static int64_t agentclock_logged_ms;
static int agentclock_have_logged;

static int64_t agentclock_abs(int64_t v)
{
	return v < 0 ? -v : v;
}

static int64_t agentclock_tls_now(int *known)
{
	*known = clockoff_known();
	return clockoff_now();
}

static int agentclock_read(const char *path, int64_t *offset_ms)
{
	char buf[AGENTCLOCK_MAX_FILE_BYTES];
	json_t *o = NULL, *v;
	ssize_t n;
	int fd, rc = TE_ERR_INVALID;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return TE_ERR_IO;
	if ((size_t)n >= sizeof(buf))
		return TE_ERR_TOO_LONG;
	o = json_loadb(buf, (size_t)n, 0, NULL);
	v = json_object_get(o, "offset_ms");
	if (json_is_object(o) && json_is_integer(v) &&
	    json_integer_value(v) <= CLOCKOFF_MAX_S * 1000 &&
	    json_integer_value(v) >= -CLOCKOFF_MAX_S * 1000) {
		*offset_ms = (int64_t)json_integer_value(v);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static int agentclock_write(const char *path, int64_t offset_ms)
{
	char text[160];
	int len;

	len = snprintf(text, sizeof(text), "{\"offset_ms\":%lld,\"learned_at\":%lld}\n",
	               (long long)offset_ms, (long long)clockoff_now());
	if (len < 0 || (size_t)len >= sizeof(text))
		return TE_ERR_TOO_LONG;
	return file_replace(path, text, (size_t)len);
}

static void agentclock_log(int64_t offset_ms, const char *how)
{
	int64_t s = clockoff_offset_s();
	char what[64];

	clockoff_describe(s, what, sizeof(what));
	if (s == 0)
		log_info("clock: %s: this device's clock agrees with the server's", how);
	else
		log_msg(agentclock_abs(s) > CLOCK_SKEW_WARN_S ? LOG_LVL_WARN : LOG_LVL_INFO,
		        "clock: %s: this device's clock is %s %s the server's (offset %+lld ms);"
		        " tickets and certificates are judged by the server's clock", how, what,
		        s > 0 ? "behind" : "ahead of", (long long)offset_ms);
	agentclock_logged_ms = offset_ms;
	agentclock_have_logged = 1;
}

void agentclock_start(const struct agent_conf *conf)
{
	char path[AGENT_PATH_BYTES];
	int64_t off = 0;
	int rc;

	tls_set_clock(agentclock_tls_now);
	if (agentconf_state_path(conf, AGENTCLOCK_FILE, path, sizeof(path)) != 0)
		return;
	rc = agentclock_read(path, &off);
	if (rc == TE_ERR_NOT_FOUND) {
		log_info("clock: no offset from the server's clock kept yet (%s); the first"
		         " ping learns it", path);
		return;
	}
	if (rc != 0 || clockoff_set_ms(off) != 0) {
		log_warn("clock: %s is unreadable (%s); ignored until the next ping", path,
		         te_strerror(rc));
		return;
	}
	agentclock_saved_ms = off;
	agentclock_have_saved = 1;
	agentclock_log(off, "kept offset");
}

void agentclock_learned(const struct agent_conf *conf, int64_t offset_ms)
{
	char path[AGENT_PATH_BYTES];
	int rc;

	if (clockoff_set_ms(offset_ms) != 0)
		return;
	if (!agentclock_have_logged ||
	    agentclock_abs(offset_ms - agentclock_logged_ms) >= AGENTCLOCK_LOG_STEP_MS)
		agentclock_log(offset_ms, "learned from the server");
	if (agentclock_have_saved &&
	    agentclock_abs(offset_ms - agentclock_saved_ms) < AGENTCLOCK_SAVE_STEP_MS)
		return;
	if (agentconf_state_path(conf, AGENTCLOCK_FILE, path, sizeof(path)) != 0)
		return;
	if ((rc = agentclock_write(path, offset_ms)) != 0) {
		log_warn("clock: cannot keep the offset in %s: %s", path, te_strerror(rc));
		return;
	}
	agentclock_saved_ms = offset_ms;
	agentclock_have_saved = 1;
}

void agentclock_ticket_why(int64_t iat, int64_t exp, int64_t skew_s, int64_t now,
                           char *out, size_t outsz)
{
	int64_t local_skew = clockoff_offset_s();
	char gap[64], off[64];

	clockoff_describe(local_skew, off, sizeof(off));
	if (now < iat - skew_s) {
		clockoff_describe(iat - now, gap, sizeof(gap));
		if (!clockoff_known())
			snprintf(out, outsz, "ticket rejected: expired (not valid for another %s by"
			         " this device's clock: a clock skew; no offset from the server's"
			         " clock learned yet)", gap);
		else
			snprintf(out, outsz, "ticket rejected: expired (not valid for another %s by"
			         " the server's clock, as corrected: a clock skew; this device's"
			         " clock is %s %s the server's)", gap, off,
			         local_skew >= 0 ? "behind" : "ahead of");
		return;
	}
	clockoff_describe(now - exp, gap, sizeof(gap));
	if (!clockoff_known())
		snprintf(out, outsz, "ticket rejected: expired (%s ago by this device's clock, which"
		         " has no offset from the server's learned yet: a clock %s ahead of the"
		         " server's would explain it)", gap, gap);
	else
		snprintf(out, outsz, "ticket rejected: expired (%s ago by the server's clock; this"
		         " device's clock is %s %s it, corrected)", gap, off,
		         local_skew >= 0 ? "behind" : "ahead of");
}

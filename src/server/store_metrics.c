/* store_metrics.c: the SQLite backend's counts for /metrics and /healthz
 * (store.h): sessions by state, the pending notifications, a read probe. */
#include "store_sqlite_int.h"

#include <stdio.h>

#include "err.h"

int store_session_state_counts(struct store *st, store_count_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	char state[32];
	int rc, step;

	if ((rc = store_prep(st, "SELECT state, count(*) FROM sessions GROUP BY state", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_col(s, 0, state, sizeof(state));
		cb(state, sqlite3_column_int64(s, 1), arg);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "session counts");
	store_finish(st, s);
	return rc;
}

/* One integer from a one-row query. */
static int store_count(struct store *st, const char *sql, const char *what, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, what);
	store_finish(st, s);
	return rc;
}

int store_notify_pending_count(struct store *st, int64_t *out)
{
	return store_count(st, "SELECT count(*) FROM notifications WHERE state = 'pending'",
	                   "notification backlog", out);
}

int store_probe(struct store *st)
{
	int64_t seq;

	return store_count(st, "SELECT coalesce(max(seq), 0) FROM audit", "health probe", &seq);
}

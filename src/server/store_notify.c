/* store_notify.c: the SQLite backend's notifications outbox (store.h,
 * migration 6). notify.c queues rows here and records each delivery
 * attempt; `tether-server notify list` reads them back. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define STORE_NOTIFY_COLS "id, event, site, body, state, created_at, attempts," \
	" next_at, delivered_at, last_error, done_via"

static void store_notify_row(sqlite3_stmt *s, struct store_notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(s, 0);
	store_col(s, 1, n->event, sizeof(n->event));
	store_col(s, 2, n->site, sizeof(n->site));
	store_col(s, 3, n->body, sizeof(n->body));
	store_col(s, 4, n->state, sizeof(n->state));
	n->created_at = sqlite3_column_int64(s, 5);
	n->attempts = sqlite3_column_int(s, 6);
	n->next_at = sqlite3_column_int64(s, 7);
	n->delivered_at = sqlite3_column_int64(s, 8);
	store_col(s, 9, n->last_error, sizeof(n->last_error));
	n->done_via = sqlite3_column_int(s, 10);
}

int store_notify_add(struct store *st, const char *event, const char *site,
                     int64_t now, store_notify_body_fn body_fn, void *arg,
                     int64_t *id)
{
	return store_notify_add_noticed(st, event, site, now, body_fn, arg, NULL, NULL, id);
}

int store_notify_add_noticed(struct store *st, const char *event, const char *site,
                             int64_t now, store_notify_body_fn body_fn, void *arg,
                             const char *record, const char *state, int64_t *id)
{
	const char *v[] = { event, site };
	char *body = NULL;
	int rc;

	*id = 0;
	if (strlen(event) >= STORE_NOTIFY_EVENT_BYTES || strlen(site) >= MAX_NAME_BYTES)
		return TE_ERR_TOO_LONG;
	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_run(st, "INSERT INTO notifications(event, site, body, state,"
	                        " created_at, attempts, next_at, delivered_at, last_error)"
	                        " VALUES(?1, ?2, '{}', 'pending', ?3, 0, ?3, 0, '')",
	                    v, 2, &now, 1, NULL)) != 0)
		goto out;
	*id = sqlite3_last_insert_rowid(st->db);
	if ((body = body_fn(*id, now, arg)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if (strlen(body) >= STORE_NOTIFY_BODY_BYTES) {
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	{
		const char *t[] = { body };
		rc = store_run(st, "UPDATE notifications SET body = ?1 WHERE id = ?2", t, 1, id, 1,
		               NULL);
	}
	if (rc == 0 && record != NULL) {
		const char *t[] = { record, state };
		rc = store_run(st, "INSERT INTO record_notices(record, state, notification)"
		               " VALUES (?1, ?2, ?3)", t, 2, id, 1, NULL);
	}
out:
	free(body);
	rc = store_end(st, rc);
	if (rc != 0)
		*id = 0;
	return rc;
}

/* Run a query expected to return at most one notification row. */
static int store_notify_one(struct store *st, const char *sql, int64_t param,
                            struct store_notification *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, param);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		store_notify_row(s, out);
		rc = 0;
	} else {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "notification");
	}
	store_finish(st, s);
	return rc;
}

int store_notify_due(struct store *st, int64_t now, struct store_notification *out)
{
	return store_notify_one(st, "SELECT " STORE_NOTIFY_COLS " FROM notifications"
	                            " WHERE state = 'pending' AND next_at <= ?1"
	                            " ORDER BY next_at, id LIMIT 1", now, out);
}

int store_notify_get(struct store *st, int64_t id, struct store_notification *out)
{
	return store_notify_one(st, "SELECT " STORE_NOTIFY_COLS " FROM notifications"
	                            " WHERE id = ?1", id, out);
}

int store_notify_next_at(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT MIN(next_at) FROM notifications"
	                         " WHERE state = 'pending'", &s)) != 0)
		return rc;
	if (sqlite3_step(s) != SQLITE_ROW)
		rc = store_fail(st, "notification next_at");
	else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
		rc = TE_ERR_NOT_FOUND;
	else
		*out = sqlite3_column_int64(s, 0);
	store_finish(st, s);
	return rc;
}

int store_notify_attempted(struct store *st, int64_t id, const char *state,
                           int attempts, int done_via, int64_t now, int64_t next_at,
                           const char *last_error,
                           const struct store_audit_entry *audit)
{
	const char *v[] = { state, last_error };
	const int64_t iv[] = { attempts, next_at, now, id, done_via };

	/* id is the key: the update changes one row, or none when the row is
	 * gone or no longer pending. */
	return store_run_audited(st, "UPDATE notifications SET state = ?1, last_error = ?2,"
	                             " attempts = ?3, next_at = ?4, done_via = ?7,"
	                             " delivered_at = CASE WHEN ?1 = 'delivered' THEN ?5 ELSE 0 END"
	                             " WHERE id = ?6 AND state = 'pending'", v, 2, iv, 5,
	                         TE_ERR_MISMATCH, audit);
}

int store_notify_each(struct store *st, store_notify_cb cb, void *arg)
{
	struct store_notification *n;
	sqlite3_stmt *s = NULL;
	int rc, step;

	/* The row is large (the body): keep it off the stack. */
	if ((n = malloc(sizeof(*n))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_prep(st, "SELECT " STORE_NOTIFY_COLS " FROM notifications"
	                         " ORDER BY id", &s)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_notify_row(s, n);
		if ((rc = cb(n, arg)) != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = store_fail(st, "notifications");
out:
	store_finish(st, s);
	free(n);
	return rc;
}

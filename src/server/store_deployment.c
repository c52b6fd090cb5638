/* store_deployment.c: deployments in waves (migration 23) in the SQLite
 * backend of store.h. */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int store_deployment_put(struct store *st, const char *id, const char *state, const char *body,
                         int64_t created_at, int64_t now, const struct store_audit_entry *audit)
{
	const char *t[] = { id, state, body };
	const int64_t iv[] = { created_at, now };

	return store_run_audited(st, "INSERT INTO deployments(id, state, body, created_at,"
	                             " updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO"
	                             " UPDATE SET state = ?2, body = ?3, updated_at = ?5",
	                         t, 3, iv, 2, 0, audit);
}

int store_deployment_get(struct store *st, const char *id, char **body,
                         char state[STORE_DEPLOY_STATE_BYTES])
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*body = NULL;
	if ((rc = store_prep(st, "SELECT state, body FROM deployments WHERE id = ?1", &s)) != 0)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(s, 1);

		store_col(s, 0, state, STORE_DEPLOY_STATE_BYTES);
		rc = (*body = strdup(b != NULL ? b : "")) != NULL ? 0 : TE_ERR_NOMEM;
	} else {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "reading a deployment");
	}
	store_finish(st, s);
	return rc;
}

int store_deployment_each(struct store *st, const char *state, long limit,
                          store_deployment_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT id, state, body FROM deployments WHERE (?1 IS NULL OR"
	                         " state = ?1) ORDER BY created_at DESC, id LIMIT ?2", &s)) != 0)
		return rc;
	if (state != NULL)
		sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *stt = (const char *)sqlite3_column_text(s, 1);
		const char *body = (const char *)sqlite3_column_text(s, 2);

		if ((rc = cb(id != NULL ? id : "", stt != NULL ? stt : "", body != NULL ? body : "",
		             arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "reading deployments");
out:
	store_finish(st, s);
	return rc;
}

int store_activity_batch_counts(struct store *st, const char *batch,
                                store_batch_count_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT state, COUNT(*) FROM activities WHERE batch = ?1"
	                         " GROUP BY state", &s)) != 0)
		return rc;
	sqlite3_bind_text(s, 1, batch, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);

		if ((rc = cb(state != NULL ? state : "", sqlite3_column_int64(s, 1), arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "counting a batch's activities");
out:
	store_finish(st, s);
	return rc;
}

/* store_activity.c: the maintenance queue's activities (migration 21) in
 * the SQLite backend of store.h. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define STORE_ACT_COLS "id, batch, device, site, kind, name, input, reason, created_by," \
	" own_window, state, why, decided_by, retry_of, envelope, created_at, not_before," \
	" not_after, envelope_exp, released_at, started_at, ended_at, updated_at, exit_code," \
	" output"

static void store_activity_row(sqlite3_stmt *s, struct store_activity *a)
{
	memset(a, 0, sizeof(*a));
	store_col(s, 0, a->id, sizeof(a->id));
	store_col(s, 1, a->batch, sizeof(a->batch));
	store_col(s, 2, a->device, sizeof(a->device));
	store_col(s, 3, a->site, sizeof(a->site));
	store_col(s, 4, a->kind, sizeof(a->kind));
	store_col(s, 5, a->name, sizeof(a->name));
	store_col(s, 6, a->input, sizeof(a->input));
	store_col(s, 7, a->reason, sizeof(a->reason));
	store_col(s, 8, a->created_by, sizeof(a->created_by));
	store_col(s, 9, a->window, sizeof(a->window));
	store_col(s, 10, a->state, sizeof(a->state));
	store_col(s, 11, a->why, sizeof(a->why));
	store_col(s, 12, a->decided_by, sizeof(a->decided_by));
	store_col(s, 13, a->retry_of, sizeof(a->retry_of));
	store_col(s, 14, a->envelope, sizeof(a->envelope));
	a->created_at = sqlite3_column_int64(s, 15);
	a->not_before = sqlite3_column_int64(s, 16);
	a->not_after = sqlite3_column_int64(s, 17);
	a->envelope_exp = sqlite3_column_int64(s, 18);
	a->released_at = sqlite3_column_int64(s, 19);
	a->started_at = sqlite3_column_int64(s, 20);
	a->ended_at = sqlite3_column_int64(s, 21);
	a->updated_at = sqlite3_column_int64(s, 22);
	a->exit_code = sqlite3_column_int64(s, 23);
	store_col(s, 24, a->output, sizeof(a->output));
}

int store_activity_add(struct store *st, const struct store_activity *a,
                       const struct store_audit_entry *audit)
{
	const char *t[] = { a->id, a->batch, a->device, a->site, a->kind, a->name, a->input,
	                    a->reason, a->created_by, a->window, a->state, a->why, a->retry_of };
	const int64_t iv[] = { a->created_at, a->not_before, a->not_after, a->updated_at };

	return store_run_audited(st, "INSERT INTO activities(id, batch, device, site, kind, name,"
	                             " input, reason, created_by, own_window, state, why, retry_of,"
	                             " created_at, not_before, not_after, updated_at) VALUES (?1,"
	                             " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	                             " ?16, ?17)", t, 13, iv, 4, 0, audit);
}

static int store_activity_rows(struct store *st, sqlite3_stmt *s, store_activity_cb cb,
                               void *arg, int *found)
{
	struct store_activity *a = malloc(sizeof(*a));
	int rc = 0, step;

	if (a == NULL) {
		store_finish(st, s);
		return TE_ERR_NOMEM;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_activity_row(s, a);
		if (found != NULL)
			(*found)++;
		if ((rc = cb(a, arg)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_fail(st, "reading activities");
	store_finish(st, s);
	free(a);
	return rc;
}

static int store_activity_copy(const struct store_activity *a, void *arg)
{
	memcpy(arg, a, sizeof(*a));
	return 0;
}

/* Run sql (STORE_ACT_COLS rows) with n text parameters and then ni int64. */
static int store_activity_query(struct store *st, const char *sql, const char *const *t, int n,
                                const int64_t *iv, int ni, store_activity_cb cb, void *arg,
                                int *found)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if (n > 0 && (rc = store_bind_texts(st, s, 1, t, n)) != 0) {
		store_finish(st, s);
		return rc;
	}
	for (int i = 0; i < ni; i++)
		sqlite3_bind_int64(s, n + i + 1, iv[i]);
	return store_activity_rows(st, s, cb, arg, found);
}

int store_activity_get(struct store *st, const char *id, struct store_activity *out)
{
	int found = 0, rc;

	rc = store_activity_query(st, "SELECT " STORE_ACT_COLS " FROM activities WHERE id = ?",
	                          &id, 1, NULL, 0, store_activity_copy, out, &found);
	return rc != 0 ? rc : found ? 0 : TE_ERR_NOT_FOUND;
}

int store_activity_update(struct store *st, const struct store_activity *a, const char *from,
                          const struct store_audit_entry *audit)
{
	const char *t[] = { a->id, from, a->state, a->why, a->decided_by, a->envelope,
	                    a->output };
	const int64_t iv[] = { a->envelope_exp, a->released_at, a->started_at, a->ended_at,
	                       a->updated_at, a->exit_code };

	return store_run_audited(st, "UPDATE activities SET state = ?3, why = ?4, decided_by = ?5,"
	                             " envelope = ?6, output = ?7, envelope_exp = ?8,"
	                             " released_at = ?9, started_at = ?10, ended_at = ?11,"
	                             " updated_at = ?12, exit_code = ?13 WHERE id = ?1 AND"
	                             " state = ?2", t, 7, iv, 6, TE_ERR_MISMATCH, audit);
}

int store_activity_each(struct store *st, const struct store_activity_filter *f,
                        store_activity_cb cb, void *arg)
{
	const char *t[] = { f->device ? f->device : "", f->site ? f->site : "",
	                    f->state ? f->state : "", f->batch ? f->batch : "",
	                    f->created_by ? f->created_by : "" };
	int64_t iv[] = { f->since, f->limit > 0 && f->limit <= STORE_ACT_LIST_MAX ? f->limit :
	                 STORE_ACT_LIST_MAX, f->until };

	return store_activity_query(st, "SELECT " STORE_ACT_COLS " FROM activities WHERE"
	                                " (?1 = '' OR device = ?1) AND (?2 = '' OR site = ?2) AND"
	                                " (?3 = '' OR state = ?3) AND (?4 = '' OR batch = ?4) AND"
	                                " (?5 = '' OR created_by = ?5) AND created_at >= ?6 AND"
	                                " (?8 = 0 OR created_at < ?8)"
	                                " ORDER BY created_at DESC, id LIMIT ?7", t, 5, iv, 3, cb,
	                            arg, NULL);
}

int store_activity_open_page(struct store *st, int64_t after_at, const char *after_id,
                             char (*ids)[ACTENV_ID_BYTES], int64_t *created, size_t max,
                             size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*n = 0;
	if ((rc = store_prep(st, "SELECT id, created_at FROM activities WHERE state IN"
	                         " ('awaiting_approval', 'queued', 'released') AND"
	                         " (created_at > ?2 OR (created_at = ?2 AND id > ?1))"
	                         " ORDER BY created_at, id LIMIT ?3", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &after_id, 1)) != 0) {
		store_finish(st, s);
		return rc;
	}
	sqlite3_bind_int64(s, 2, after_at);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		store_col(s, 0, ids[*n], ACTENV_ID_BYTES);
		created[*n] = sqlite3_column_int64(s, 1);
		(*n)++;
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		rc = store_fail(st, "reading the open activities");
	store_finish(st, s);
	return rc;
}

int store_activity_each_released(struct store *st, const char *device,
                                 store_activity_cb cb, void *arg)
{
	return store_activity_query(st, "SELECT " STORE_ACT_COLS " FROM activities WHERE"
	                                " device = ? AND state = 'released' ORDER BY released_at,"
	                                " id LIMIT 16", &device, 1, NULL, 0, cb, arg, NULL);
}

int store_activity_each_changed(struct store *st, int64_t since, int limit,
                                store_activity_cb cb, void *arg)
{
	const int64_t iv[] = { since, limit };

	return store_activity_query(st, "SELECT " STORE_ACT_COLS " FROM activities WHERE"
	                                " updated_at >= ? ORDER BY updated_at, id LIMIT ?", NULL, 0,
	                            iv, 2, cb, arg, NULL);
}

int store_file_set_activity(struct store *st, int64_t file, const char *activity)
{
	const int64_t iv[] = { file };

	return store_run(st, "UPDATE device_files SET activity = ?1 WHERE id = ?2", &activity, 1,
	                 iv, 1, NULL);
}

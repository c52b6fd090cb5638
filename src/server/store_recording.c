/* store_recording.c: a session's shell recordings (migration 16). The
 * files are under DIR/recordings/SESSION/ (api_recording.c); a row is
 * added only once its file is whole and its SHA-256 checked. */
#include "store_sqlite_int.h"

#include <string.h>

#include "err.h"

int store_recording_add(struct store *st, const char *session,
                        const struct store_recording *rec)
{
	const char *t[] = { session, rec->name, rec->sha256 };
	int64_t iv[] = { rec->size, rec->stored_at };

	return store_run(st, "INSERT INTO session_recordings(session, name, sha256, size,"
	                     " stored_at) VALUES (?1, ?2, ?3, ?4, ?5)", t, 3, iv, 2, NULL);
}

static void store_recording_row(sqlite3_stmt *s, struct store_recording *out)
{
	store_col(s, 0, out->name, sizeof(out->name));
	out->size = sqlite3_column_int64(s, 1);
	store_col(s, 2, out->sha256, sizeof(out->sha256));
	out->stored_at = sqlite3_column_int64(s, 3);
}

int store_recording_get(struct store *st, const char *session, const char *name,
                        struct store_recording *out)
{
	const char *t[] = { session, name };
	sqlite3_stmt *s = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	if ((rc = store_prep(st, "SELECT name, size, sha256, stored_at FROM session_recordings"
	                         " WHERE session = ?1 AND name = ?2", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) == 0) {
		step = sqlite3_step(s);
		if (step == SQLITE_ROW)
			store_recording_row(s, out);
		else
			rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND
			                         : store_fail(st, "reading a recording");
	}
	store_finish(st, s);
	return rc;
}

int store_recording_each(struct store *st, const char *session, store_recording_cb cb,
                         void *arg)
{
	struct store_recording rec;
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT name, size, sha256, stored_at FROM session_recordings"
	                         " WHERE session = ?1 ORDER BY length(name), name", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &session, 1)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_recording_row(s, &rec);
		if ((rc = cb(&rec, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "reading a session's recordings");
out:
	store_finish(st, s);
	return rc;
}

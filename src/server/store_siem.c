/* store_siem.c: the audit trail read in order for the SIEM export, and
 * each sink's cursor (migration 18). */
#include "store_sqlite_int.h"

#include <string.h>

#include "err.h"

int store_audit_after(struct store *st, int64_t after, int64_t limit, store_audit_cb cb,
                      void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc = 0, step;

	if ((rc = store_prep(st, "SELECT seq, ts, actor, action, detail, prev, hash"
	                         " FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct audit_record rec;
		const char *t;

		memset(&rec, 0, sizeof(rec));
		rec.seq = sqlite3_column_int64(s, 0);
		store_col(s, 1, rec.ts, sizeof(rec.ts));
		rec.actor = (t = (const char *)sqlite3_column_text(s, 2)) != NULL ? t : "";
		rec.action = (t = (const char *)sqlite3_column_text(s, 3)) != NULL ? t : "";
		rec.detail = (t = (const char *)sqlite3_column_text(s, 4)) != NULL ? t : "";
		store_col(s, 5, rec.prev, sizeof(rec.prev));
		store_col(s, 6, rec.hash, sizeof(rec.hash));
		if ((rc = cb(&rec, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "reading the audit trail for export");
out:
	store_finish(st, s);
	return rc;
}

int store_siem_cursor(struct store *st, const char *sink, int64_t *seq)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*seq = 0;
	if ((rc = store_prep(st, "SELECT seq FROM siem_cursors WHERE sink = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &sink, 1)) == 0) {
		step = sqlite3_step(s);
		if (step == SQLITE_ROW)
			*seq = sqlite3_column_int64(s, 0);
		else if (step != SQLITE_DONE)
			rc = store_fail(st, "reading a SIEM cursor");
	}
	store_finish(st, s);
	return rc;
}

int store_siem_cursor_set(struct store *st, const char *sink, int64_t seq)
{
	int64_t iv[] = { seq };

	return store_run(st, "INSERT INTO siem_cursors(sink, seq) VALUES (?1, ?2)"
	                     " ON CONFLICT(sink) DO UPDATE SET seq = ?2", &sink, 1, iv, 1, NULL);
}

/* store_advisory.c: imported OSV advisories (migration 22). */
#include "store_sqlite_int.h"

#include "err.h"

int store_advisory_put(struct store *st, const char *id, const char *modified,
                       const char *body, int64_t now)
{
	const char *t[] = { id, modified, body };
	int64_t iv[] = { now };

	return store_run(st, "INSERT INTO advisories(id, modified, body, imported_at)"
	                     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE"
	                     " SET modified = ?2, body = ?3, imported_at = ?4", t, 3, iv, 1, NULL);
}

int store_advisory_each(struct store *st, store_advisory_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT id, body FROM advisories ORDER BY id", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *body = (const char *)sqlite3_column_text(s, 1);

		if ((rc = cb(id != NULL ? id : "", body != NULL ? body : "", arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "reading the advisories");
out:
	store_finish(st, s);
	return rc;
}

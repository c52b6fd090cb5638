/* store_devstatus.c: each device's latest status, its history of changes
 * and its error codes (migration 17). */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static void store_devstatus_row(sqlite3_stmt *s, struct store_devstatus *out)
{
	store_col(s, 0, out->health, sizeof(out->health));
	store_col(s, 1, out->status, sizeof(out->status));
	out->reported_at = sqlite3_column_int64(s, 2);
	out->changed_at = sqlite3_column_int64(s, 3);
}

int store_devstatus_get(struct store *st, const char *serial, struct store_devstatus *out)
{
	return store_devstatus_read(st, serial, 1, out);
}

int store_devstatus_read(struct store *st, const char *serial, int with_status,
                         struct store_devstatus *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	out->health[0] = out->status[0] = '\0';
	out->reported_at = out->changed_at = 0;
	if ((rc = store_prep(st, with_status ?
	                     "SELECT health, status, reported_at, changed_at FROM device_status"
	                     " WHERE serial = ?" :
	                     "SELECT health, '', reported_at, changed_at FROM device_status"
	                     " WHERE serial = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) == 0) {
		step = sqlite3_step(s);
		if (step == SQLITE_ROW)
			store_devstatus_row(s, out);
		else
			rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND
			                         : store_fail(st, "reading a device's status");
	}
	store_finish(st, s);
	return rc;
}

static int store_devstatus_changes(struct store *st, const char *serial, int64_t now,
                                   const struct store_devstatus *cur,
                                   const struct devstatus_error *added, size_t nadded,
                                   const char (*cleared)[DEVSTATUS_CODE_BYTES],
                                   size_t ncleared, int64_t keep_from)
{
	const char *t[3] = { serial, cur->health, cur->status };
	int64_t iv[2] = { now, 0 };
	size_t i;
	int rc;

	if ((rc = store_run(st, "INSERT INTO device_status_history(serial, health, status, at)"
	                        " VALUES (?1, ?2, ?3, ?4)", t, 3, iv, 1, NULL)) != 0)
		return rc;
	for (i = 0; i < nadded && rc == 0; i++) {
		t[1] = added[i].code;
		iv[0] = added[i].since > 0 ? added[i].since : now;
		rc = store_run(st, "INSERT INTO device_errors(serial, code, first_seen)"
		                   " VALUES (?1, ?2, ?3)", t, 2, iv, 1, NULL);
	}
	for (i = 0; i < ncleared && rc == 0; i++) {
		t[1] = cleared[i];
		iv[0] = now;
		rc = store_run(st, "UPDATE device_errors SET cleared_at = ?3 WHERE serial = ?1"
		                   " AND code = ?2 AND cleared_at = 0", t, 2, iv, 1, NULL);
	}
	iv[0] = keep_from;
	if (rc == 0)
		rc = store_run(st, "DELETE FROM device_status_history WHERE serial = ?1 AND at < ?2",
		               t, 1, iv, 1, NULL);
	if (rc == 0)
		rc = store_run(st, "DELETE FROM device_errors WHERE serial = ?1 AND cleared_at > 0"
		                   " AND cleared_at < ?2", t, 1, iv, 1, NULL);
	return rc;
}

int store_devstatus_put(struct store *st, const char *serial, int64_t now,
                        const struct store_devstatus *cur, int changed,
                        const struct devstatus_error *added, size_t nadded,
                        const char (*cleared)[DEVSTATUS_CODE_BYTES], size_t ncleared,
                        int64_t keep_from)
{
	const char *t[] = { serial, cur->health, cur->status };
	int64_t iv[] = { now };
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, changed ?
	               "INSERT INTO device_status(serial, health, status, reported_at, changed_at)"
	               " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(serial) DO UPDATE SET"
	               " health = ?2, status = ?3, reported_at = ?4, changed_at = ?4" :
	               "INSERT INTO device_status(serial, health, status, reported_at, changed_at)"
	               " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(serial) DO UPDATE SET"
	               " health = ?2, status = ?3, reported_at = ?4", t, 3, iv, 1, NULL);
	if (rc == 0 && changed)
		rc = store_devstatus_changes(st, serial, now, cur, added, nadded, cleared, ncleared,
		                             keep_from);
	return store_end(st, rc);
}

int store_devstatus_history(struct store *st, const char *serial, store_devstatus_cb cb,
                            void *arg)
{
	struct store_devstatus *h;
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((h = malloc(sizeof(*h))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_prep(st, "SELECT health, status, at, at FROM device_status_history"
	                         " WHERE serial = ? ORDER BY at DESC, id DESC LIMIT 20", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_devstatus_row(s, h);
		if ((rc = cb(h, arg)) != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = store_fail(st, "reading a device's status history");
out:
	store_finish(st, s);
	free(h);
	return rc;
}

int store_device_errors(struct store *st, const char *serial, store_device_error_cb cb,
                        void *arg)
{
	struct store_device_error e;
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT code, first_seen, cleared_at FROM device_errors"
	                         " WHERE serial = ? ORDER BY cleared_at = 0 DESC,"
	                         " first_seen DESC, id DESC LIMIT 50", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_col(s, 0, e.code, sizeof(e.code));
		e.first_seen = sqlite3_column_int64(s, 1);
		e.cleared_at = sqlite3_column_int64(s, 2);
		if ((rc = cb(&e, arg)) != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = store_fail(st, "reading a device's errors");
out:
	store_finish(st, s);
	return rc;
}

int store_devstatus_prune(struct store *st, int64_t keep_from)
{
	int64_t iv[] = { keep_from };
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, "DELETE FROM device_status_history WHERE at < ?1", NULL, 0, iv, 1,
	               NULL);
	if (rc == 0)
		rc = store_run(st, "DELETE FROM device_errors WHERE cleared_at > 0 AND"
		                   " cleared_at < ?1", NULL, 0, iv, 1, NULL);
	return store_end(st, rc);
}

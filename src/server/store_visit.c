/* store_visit.c: a visit's further connections (migration 15). Each
 * connection after a session's first gets a number and a device-leg
 * ticket, which waits here until the device's ping carries it. */
#include "store_sqlite_int.h"

#include <stdlib.h>

#include "err.h"

int store_visit_next(struct store *st, const char *session, int64_t *conn)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*conn = 0;
	if ((rc = store_prep(st, "SELECT COALESCE(MAX(conn), 0) + 1 FROM session_conns"
	                         " WHERE session = ?1", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &session, 1)) == 0) {
		if (sqlite3_step(s) == SQLITE_ROW)
			*conn = sqlite3_column_int64(s, 0);
		else
			rc = store_fail(st, "reading a session's connections");
	}
	store_finish(st, s);
	if (rc == 0 && *conn > STORE_VISIT_MAX_CONNS)
		rc = TE_ERR_TOO_LONG;
	return rc;
}

int store_visit_add(struct store *st, const char *session, int64_t conn, const char *relay,
                    const char *device_ticket, int64_t now)
{
	const char *t[] = { session, relay, device_ticket };
	int64_t iv[] = { conn, now };

	return store_run(st, "INSERT INTO session_conns(session, relay, device_ticket, conn,"
	                     " created_at) VALUES (?1, ?2, ?3, ?4, ?5)", t, 3, iv, 2, NULL);
}

int store_visit_each_pending(struct store *st, const char *session, store_visit_cb cb,
                             void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT conn, relay, device_ticket FROM session_conns"
	                         " WHERE session = ?1 AND delivered_at = 0 ORDER BY conn",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &session, 1)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *relay = (const char *)sqlite3_column_text(s, 1);
		const char *ticket = (const char *)sqlite3_column_text(s, 2);

		if ((rc = cb(session, sqlite3_column_int64(s, 0), relay ? relay : "",
		             ticket ? ticket : "", arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "reading a session's connections");
out:
	store_finish(st, s);
	return rc;
}

int store_visit_delivered(struct store *st, const char *session, int64_t conn, int64_t now)
{
	int64_t iv[] = { now, conn };

	/* The ticket is not kept once it is on its way. */
	return store_run(st, "UPDATE session_conns SET delivered_at = ?2, device_ticket = ''"
	                     " WHERE session = ?1 AND conn = ?3", &session, 1, iv, 2, NULL);
}

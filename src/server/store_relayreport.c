/* store_relayreport.c: ids of relay event reports already taken (migration
 * 10), so that a report the relay sends
 * again (its acknowledgement was lost, or it restarted before removing it
 * from its spool) is answered without a second audit record. */
#include "store_sqlite_int.h"

#include "err.h"

#define STORE_RELAY_REPORT_KEEP_S (30 * 24 * 3600)  /* ids older are forgotten */

int store_relay_report_seen(struct store *st, const char *relay, const char *id)
{
	const char *t[] = { relay, id };
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT 1 FROM relay_reports WHERE relay = ?1 AND id = ?2",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) == 0) {
		rc = sqlite3_step(s);
		rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 :
		     store_fail(st, "reading relay report ids");
	}
	store_finish(st, s);
	return rc;
}

int store_relay_report_done(struct store *st, const char *relay, const char *id, int64_t now)
{
	const char *t[] = { relay, id };
	int64_t at = now, old = now - STORE_RELAY_REPORT_KEEP_S;
	int rc;

	if ((rc = store_run(st, "INSERT OR IGNORE INTO relay_reports(relay, id, at)"
	                    " VALUES (?1, ?2, ?3)", t, 2, &at, 1, NULL)) != 0)
		return rc;
	return store_run(st, "DELETE FROM relay_reports WHERE at < ?1", NULL, 0, &old, 1, NULL);
}

/* store_anchor.c: the SQLite backend's audit anchors (store.h): for each
 * device and each relay, the highest audit-log head it reported and the last
 * rollback below it that was audited (migrations 2 and 3).
 *
 * Devices and relays keep the same columns in their own table, so one
 * helper per operation serves both; the kind only picks fixed SQL text (no
 * SQL is ever built from data). */
#include "store_sqlite_int.h"

#include "err.h"

/* Fixed statements for one kind. Parameters: ?1 head seq, ?2 head hash,
 * ?3 the row's key; raise_sql for relays also ?4 open seq, ?5 open hash. */
struct store_anchor_kind {
	const char *raise_sql;
	const char *rollback_sql;
};

/* The seq test is in the raise statement, so the anchor only ever rises even
 * if two writers race. */
static const struct store_anchor_kind store_anchor_device = {
	"UPDATE devices SET audit_seq = ?1, audit_hash = ?2"
	" WHERE serial = ?3 AND audit_seq < ?1",
	"UPDATE devices SET audit_rollback_seq = ?1,"
	" audit_rollback_hash = ?2 WHERE serial = ?3 AND"
	" NOT (audit_rollback_seq = ?1 AND audit_rollback_hash = ?2)",
};

static const struct store_anchor_kind store_anchor_relay = {
	"UPDATE relays SET audit_seq = ?1, audit_hash = ?2,"
	" audit_open_seq = ?4, audit_open_hash = ?5"
	" WHERE name = ?3 AND audit_seq < ?1",
	"UPDATE relays SET audit_rollback_seq = ?1,"
	" audit_rollback_hash = ?2 WHERE name = ?3 AND"
	" NOT (audit_rollback_seq = ?1 AND audit_rollback_hash = ?2)",
};

/* Raise key's anchor to head (and, for a relay, store open with it). */
static int store_anchor_raise(struct store *st, const struct store_anchor_kind *k,
                              const char *key, const struct store_audit_head *head,
                              const struct store_audit_head *open)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { head->hash, key, open != NULL ? open->hash : NULL };
	int rc;

	if ((rc = store_prep(st, k->raise_sql, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, head->seq);
	rc = store_bind_texts(st, s, 2, v, 2);
	if (rc == 0 && open != NULL) {
		sqlite3_bind_int64(s, 4, open->seq);
		rc = store_bind_texts(st, s, 5, v + 2, 1);
	}
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

/* Remember head as key's latest rollback and append audit, in one
 * transaction; TE_ERR_EXISTS when that head is already the remembered one
 * (or there is no such row), and nothing is written then. */
static int store_anchor_rollback(struct store *st, const struct store_anchor_kind *k,
                                 const char *key, const struct store_audit_head *head,
                                 const struct store_audit_entry *audit)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { head->hash, key };
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_prep(st, k->rollback_sql, &s)) != 0)
		goto out;
	sqlite3_bind_int64(s, 1, head->seq);
	if ((rc = store_bind_texts(st, s, 2, v, 2)) == 0)
		rc = store_step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = TE_ERR_EXISTS;    /* already recorded (or no such row) */
	if (rc == 0)
		rc = store_audit_opt(st, audit);
out:
	store_finish(st, s);
	return store_end(st, rc);
}

int store_device_audit_anchor(struct store *st, const char *serial,
                              const struct store_audit_head *head)
{
	return store_anchor_raise(st, &store_anchor_device, serial, head, NULL);
}

int store_device_audit_rollback(struct store *st, const char *serial,
                                const struct store_audit_head *head,
                                const struct store_audit_entry *audit)
{
	return store_anchor_rollback(st, &store_anchor_device, serial, head, audit);
}

int store_relay_audit_anchor(struct store *st, const char *name,
                             const struct store_audit_head *head,
                             const struct store_audit_head *open)
{
	return store_anchor_raise(st, &store_anchor_relay, name, head, open);
}

int store_relay_audit_rollback(struct store *st, const char *name,
                               const struct store_audit_head *head,
                               const struct store_audit_entry *audit)
{
	return store_anchor_rollback(st, &store_anchor_relay, name, head, audit);
}

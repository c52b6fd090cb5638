/* store_checkpoint.c: the SQLite backend's signed audit checkpoints
 * (store.h, migration 7), and the reads of the chain they are checked
 * against. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_int.h"

#include "err.h"

int store_audit_head(struct store *st, int64_t *seq, char hash[SHA256_HEX_BYTES])
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*seq = 0;
	snprintf(hash, SHA256_HEX_BYTES, "%s", AUDIT_GENESIS_HASH);
	if ((rc = store_prep(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &s)) != 0)
		return rc;
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		store_col(s, 1, hash, SHA256_HEX_BYTES);
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : store_fail(st, "audit head");
	store_finish(st, s);
	return rc;
}

int store_audit_hash_at(struct store *st, int64_t seq, char hash[SHA256_HEX_BYTES])
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	hash[0] = '\0';
	if ((rc = store_prep(st, "SELECT hash FROM audit WHERE seq = ?1", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, seq);
	if ((step = sqlite3_step(s)) == SQLITE_ROW)
		store_col(s, 0, hash, SHA256_HEX_BYTES);
	rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? TE_ERR_NOT_FOUND :
	     store_fail(st, "audit record");
	store_finish(st, s);
	return rc;
}

int store_checkpoint_add(struct store *st, const struct checkpoint *cp)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { cp->server, cp->hash, cp->sig };
	int rc;

	if ((rc = store_prep(st, "INSERT INTO audit_checkpoints(seq, server, hash, time, sig)"
	                         " VALUES(?1, ?2, ?3, ?4, ?5)", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, cp->seq);
	sqlite3_bind_int64(s, 4, cp->time);
	if ((rc = store_bind_texts(st, s, 2, v, 2)) == 0 &&
	    (rc = store_bind_texts(st, s, 5, v + 2, 1)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

static void store_checkpoint_row(sqlite3_stmt *s, struct checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->seq = sqlite3_column_int64(s, 0);
	store_col(s, 1, cp->server, sizeof(cp->server));
	store_col(s, 2, cp->hash, sizeof(cp->hash));
	cp->time = sqlite3_column_int64(s, 3);
	store_col(s, 4, cp->sig, sizeof(cp->sig));
}

#define STORE_CP_SELECT "SELECT seq, server, hash, time, sig FROM audit_checkpoints"

int store_checkpoint_latest(struct store *st, struct checkpoint *cp)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	memset(cp, 0, sizeof(*cp));
	if ((rc = store_prep(st, STORE_CP_SELECT " ORDER BY seq DESC LIMIT 1", &s)) != 0)
		return rc;
	if ((step = sqlite3_step(s)) == SQLITE_ROW)
		store_checkpoint_row(s, cp);
	rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? TE_ERR_NOT_FOUND :
	     store_fail(st, "checkpoint latest");
	store_finish(st, s);
	return rc;
}

int store_checkpoint_each(struct store *st, store_checkpoint_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	struct checkpoint cp;
	int rc, step;

	if ((rc = store_prep(st, STORE_CP_SELECT " ORDER BY seq", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_checkpoint_row(s, &cp);
		if ((rc = cb(&cp, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "checkpoint list");
out:
	store_finish(st, s);
	return rc;
}

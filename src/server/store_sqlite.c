/* store_sqlite.c: the SQLite backend of store.h.
 *
 * WAL journal with synchronous=FULL (docs/architecture.md: a commit is on
 * disk before it is acknowledged), foreign keys on, a busy timeout, a
 * schema_version table with numbered migrations, and bound parameters only:
 * no SQL text is ever built from data. Everything that changes more than one row, or a row and the
 * audit chain, runs in one IMMEDIATE transaction. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define STORE_BUSY_TIMEOUT_MS 5000

/* Migration N brings the schema from version N-1 to N. Append only. */
static const char *const store_migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE users(name TEXT PRIMARY KEY, role TEXT NOT NULL,"
	" level INTEGER NOT NULL, region TEXT NOT NULL, pwhash TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE api_tokens(hash TEXT PRIMARY KEY,"
	" user TEXT NOT NULL REFERENCES users(name), created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE devices(serial TEXT PRIMARY KEY, customer TEXT NOT NULL,"
	" product TEXT NOT NULL, status TEXT NOT NULL,"
	" cert_fp TEXT NOT NULL DEFAULT '', ssh_hostkey TEXT NOT NULL DEFAULT '',"
	" last_seen INTEGER NOT NULL DEFAULT 0,"
	" agent_version TEXT NOT NULL DEFAULT '',"
	" services TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL);"
	"CREATE TABLE enroll_tokens(hash TEXT PRIMARY KEY,"
	" serial TEXT NOT NULL REFERENCES devices(serial),"
	" expires_at INTEGER NOT NULL, used_at INTEGER);"
	"CREATE TABLE relays(name TEXT PRIMARY KEY, host TEXT NOT NULL,"
	" device_port INTEGER NOT NULL, client_port INTEGER NOT NULL,"
	" cert_fp TEXT NOT NULL);"
	"CREATE TABLE sessions(id TEXT PRIMARY KEY,"
	" device TEXT NOT NULL REFERENCES devices(serial),"
	" user TEXT NOT NULL REFERENCES users(name), reason TEXT NOT NULL,"
	" services TEXT NOT NULL, state TEXT NOT NULL,"
	" end_reason TEXT NOT NULL DEFAULT '', relay TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" started_at INTEGER NOT NULL DEFAULT 0,"
	" client_ticket INTEGER NOT NULL DEFAULT 0,"
	" device_notified INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_device ON sessions(device, state);"
	"CREATE TABLE audit(seq INTEGER PRIMARY KEY, ts TEXT NOT NULL,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,"
	" prev TEXT NOT NULL, hash TEXT NOT NULL);",
	/* 2: each device's audit-log anchor (the highest head it reported) and
	 * the last rollback below it that was audited */
	"ALTER TABLE devices ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN audit_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE devices ADD COLUMN audit_rollback_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN audit_rollback_hash TEXT NOT NULL DEFAULT '';",
	/* 3: each relay's audit-log anchor, the head its log had when the run
	 * that raised the anchor opened it, and the last rollback audited */
	"ALTER TABLE relays ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE relays ADD COLUMN audit_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE relays ADD COLUMN audit_open_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE relays ADD COLUMN audit_open_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE relays ADD COLUMN audit_rollback_seq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE relays ADD COLUMN audit_rollback_hash TEXT NOT NULL DEFAULT '';",
	/* 4: accounts and MFA (store_account.c): forced password change, token
	 * scope and last use, TOTP secrets (sealed) with the last accepted
	 * step, hashed recovery codes, login failure counters and locks */
	"ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';"
	"ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX api_tokens_user ON api_tokens(user, revoked);"
	"CREATE TABLE user_totp(user TEXT PRIMARY KEY REFERENCES users(name),"
	" secret_box TEXT NOT NULL, enrolled INTEGER NOT NULL DEFAULT 0,"
	" last_step INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
	"CREATE TABLE recovery_codes(user TEXT NOT NULL REFERENCES users(name),"
	" hash TEXT NOT NULL, used_at INTEGER, PRIMARY KEY(user, hash));"
	"CREATE TABLE login_failures(kind TEXT NOT NULL, key TEXT NOT NULL,"
	" failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,"
	" last_failure_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(kind, key));",
	/* 5: sites and policy: customer sites with their contract, remote switch
	 * and approval mode; the site of each device and customer user; the
	 * specialists' product certifications; what each session was granted,
	 * its limits, and the customer's part in it (store_site.c) */
	"CREATE TABLE sites(name TEXT PRIMARY KEY, customer TEXT NOT NULL,"
	" contract_until TEXT NOT NULL, remote_enabled INTEGER NOT NULL DEFAULT 1,"
	" remote_changed_by TEXT NOT NULL DEFAULT '',"
	" remote_reason TEXT NOT NULL DEFAULT '',"
	" approval_mode TEXT NOT NULL DEFAULT 'none', created_at INTEGER NOT NULL);"
	"ALTER TABLE devices ADD COLUMN site TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN site TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE certifications(user TEXT NOT NULL REFERENCES users(name),"
	" product TEXT NOT NULL, expires_on TEXT NOT NULL, PRIMARY KEY(user, product));"
	"ALTER TABLE sessions ADD COLUMN actions TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE sessions ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN site TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN max_s INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN idle_s INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN customer TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN customer_deadline INTEGER NOT NULL DEFAULT 0;",
	/* 6: the notifications outbox (store_notify.c) */
	"CREATE TABLE notifications(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" event TEXT NOT NULL, site TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,"
	" state TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
	" delivered_at INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '', done_via INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX notifications_due ON notifications(state, next_at);",
	/* 7: signed checkpoints of the audit chain's head (store_checkpoint.c) */
	("CREATE TABLE audit_checkpoints(seq INTEGER PRIMARY KEY, server TEXT NOT NULL,"
	 " hash TEXT NOT NULL, time INTEGER NOT NULL, sig TEXT NOT NULL);"),
	/* 8: one-time enrollment codes (store_invite.c); a user row with
	 * pwhash '' has no password until the code is used */
	"CREATE TABLE user_invites(user TEXT PRIMARY KEY REFERENCES users(name),"
	" hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" used_at INTEGER NOT NULL DEFAULT 0);",
	/* 9: the device clock's offset from the server's, as the agent reports it */
	"ALTER TABLE devices ADD COLUMN clock_offset_s INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN clock_reported_at INTEGER NOT NULL DEFAULT 0;",
	/* 10: relay event report ids already taken (store_relayreport.c) */
	"CREATE TABLE relay_reports(relay TEXT NOT NULL, id TEXT NOT NULL,"
	" at INTEGER NOT NULL, PRIMARY KEY(relay, id));"
	"CREATE INDEX relay_reports_at ON relay_reports(at);",
	/* 11: the administrator's lifecycle (store_admin.c): disabled users;
	 * regions in upper case, as policy.conf names them; the registry of
	 * product families, seeded from what devices and certifications use
	 * already; revocations counted per device, so that the count still
	 * only grows when a revoked device is enrolled again */
	"ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"
	"UPDATE users SET region = upper(region);"
	"CREATE TABLE products(name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO products(name, created_at)"
	" SELECT DISTINCT product, strftime('%s','now') FROM devices;"
	"INSERT OR IGNORE INTO products(name, created_at)"
	" SELECT DISTINCT product, strftime('%s','now') FROM certifications;"
	"ALTER TABLE devices ADD COLUMN revocations INTEGER NOT NULL DEFAULT 0;"
	"UPDATE devices SET revocations = 1 WHERE status = 'revoked';",
	/* 12: when the password login a token descends from was made, carried
	 * over by renewals (store_admin.c) */
	"ALTER TABLE api_tokens ADD COLUMN auth_at INTEGER NOT NULL DEFAULT 0;"
	"UPDATE api_tokens SET auth_at = created_at;",
	/* 13: the diagnostics and file areas each device's agent reports in its
	 * ping, as JSON arrays of names; '' until it has reported them */
	"ALTER TABLE devices ADD COLUMN diags TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE devices ADD COLUMN files TEXT NOT NULL DEFAULT '';",
	/* 14: how often a consented session moved off a relay its legs could
	 * not use (relaymove.c); bounded per session */
	"ALTER TABLE sessions ADD COLUMN relay_moves INTEGER NOT NULL DEFAULT 0;",
	/* 15: a visit's further connections (store_visit.c): the device leg's
	 * ticket waits here until a ping carries it, then is blanked */
	"CREATE TABLE session_conns(session TEXT NOT NULL REFERENCES sessions(id),"
	" conn INTEGER NOT NULL, relay TEXT NOT NULL, device_ticket TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, delivered_at INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(session, conn));",
	/* 16: a session's shell recordings, kept whole and verified under
	 * DIR/recordings/SESSION/ (store_recording.c, api_recording.c) */
	"CREATE TABLE session_recordings(session TEXT NOT NULL REFERENCES sessions(id),"
	" name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,"
	" stored_at INTEGER NOT NULL, PRIMARY KEY(session, name));",
	/* 17: each device's latest status (devstatus.h), its history of
	 * changes of state, and its error codes with when each was first seen
	 * and cleared (store_devstatus.c) */
	"CREATE TABLE device_status(serial TEXT PRIMARY KEY REFERENCES devices(serial),"
	" health TEXT NOT NULL, status TEXT NOT NULL, reported_at INTEGER NOT NULL,"
	" changed_at INTEGER NOT NULL);"
	"CREATE TABLE device_status_history(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" serial TEXT NOT NULL REFERENCES devices(serial), at INTEGER NOT NULL,"
	" health TEXT NOT NULL, status TEXT NOT NULL);"
	"CREATE INDEX device_status_history_serial ON device_status_history(serial, at);"
	"CREATE INDEX device_status_history_at ON device_status_history(at);"
	"CREATE TABLE device_errors(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" serial TEXT NOT NULL REFERENCES devices(serial), code TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, cleared_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX device_errors_serial ON device_errors(serial, cleared_at);",
	/* 18: how far each SIEM export has taken the audit trail (siem.c) */
	"CREATE TABLE siem_cursors(sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
	/* 19: data files collected from devices, kept content-addressed under
	 * DIR/files/blobs (store_files.c, api_files.c); a refused one has
	 * size 0 and its reason */
	"CREATE TABLE device_files(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" device TEXT NOT NULL REFERENCES devices(serial), collection TEXT NOT NULL,"
	" path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,"
	" mtime INTEGER NOT NULL, collected_at INTEGER NOT NULL, stored_at INTEGER NOT NULL,"
	" refused TEXT NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX device_files_key ON device_files(device, collection, path,"
	" collected_at);"
	"CREATE INDEX device_files_sha ON device_files(sha256);"
	"CREATE INDEX device_files_stored ON device_files(stored_at);",
	/* 20: service records (records.c): which state of which record a
	 * notification went out for, written with the notification in one
	 * transaction; the sessions changed since the cursor are looked at,
	 * and an upgraded deployment starts from now, not its whole history */
	"CREATE TABLE record_notices(record TEXT NOT NULL, state TEXT NOT NULL,"
	" notification INTEGER NOT NULL, PRIMARY KEY(record, state));"
	"CREATE INDEX sessions_updated ON sessions(updated_at);"
	"INSERT INTO siem_cursors(sink, seq) SELECT 'records', coalesce(max(updated_at), 0)"
	" FROM sessions;",
	/* 21: the maintenance queue (store_activity.c, activity.c): activities
	 * with their signed envelope once released and their result; a site's
	 * change control and maintenance windows; a data file's activity */
	"CREATE TABLE activities(id TEXT PRIMARY KEY, batch TEXT NOT NULL,"
	" device TEXT NOT NULL REFERENCES devices(serial), site TEXT NOT NULL,"
	" kind TEXT NOT NULL, name TEXT NOT NULL, input TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL, created_by TEXT NOT NULL, own_window TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL, why TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '',"
	" retry_of TEXT NOT NULL DEFAULT '', envelope TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" envelope_exp INTEGER NOT NULL DEFAULT 0, released_at INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER NOT NULL DEFAULT 0, ended_at INTEGER NOT NULL DEFAULT 0,"
	" updated_at INTEGER NOT NULL, exit_code INTEGER NOT NULL DEFAULT -1,"
	" output TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX activities_device ON activities(device, created_at);"
	"CREATE INDEX activities_state ON activities(state, created_at);"
	"CREATE INDEX activities_updated ON activities(updated_at);"
	"ALTER TABLE sites ADD COLUMN change_control TEXT NOT NULL DEFAULT 'none';"
	"ALTER TABLE sites ADD COLUMN cc_kinds TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sites ADD COLUMN windows TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sites ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';"
	"ALTER TABLE device_files ADD COLUMN activity TEXT NOT NULL DEFAULT '';",
	/* 22: fleet advisories (store_advisory.c): OSV documents an
	 * administrator imported, one row per id, the newest import kept */
	"CREATE TABLE advisories(id TEXT PRIMARY KEY, modified TEXT NOT NULL DEFAULT '',"
	" body TEXT NOT NULL, imported_at INTEGER NOT NULL);",
	/* 23: deployments in waves (store_deployment.c, rollout.c): the plan
	 * and its progress as one JSON body, the state beside it to find the
	 * running ones */
	"CREATE TABLE deployments(id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE INDEX deployments_state ON deployments(state, created_at);"
	"CREATE INDEX activities_batch ON activities(batch);",
};
#define STORE_N_MIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

void store_note_failure(struct store *st, int code)
{
	st->failures++;
	st->last_code = code & 0xff;
}

int store_fail(struct store *st, const char *what)
{
	store_note_failure(st, sqlite3_extended_errcode(st->db));
	log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	return TE_ERR_STORE;
}

unsigned long store_failures(const struct store *st)
{
	return st != NULL ? st->failures : 0;
}

int store_failure_busy(const struct store *st)
{
	return st != NULL && (st->last_code == SQLITE_BUSY || st->last_code == SQLITE_LOCKED);
}

const char *store_failure_reason(const struct store *st)
{
	switch (st != NULL ? st->last_code : SQLITE_ERROR) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "the database is locked by another process";
	case SQLITE_FULL:
		return "the server's disk is full";
	case SQLITE_IOERR:
		return "the database cannot be read or written (I/O error)";
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return "the database cannot be written";
	case SQLITE_NOMEM:
		return "the server is out of memory";
	default:
		return "the database failed";
	}
}

void store_set_busy_ms(struct store *st, int ms)
{
	sqlite3_busy_timeout(st->db, ms);
}

/* FNV-1a of the SQL text. */
static uint32_t store_sql_hash(const char *sql)
{
	uint32_t h = 2166136261u;

	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 16777619u;
	return h;
}

int store_prep(struct store *st, const char *sql, sqlite3_stmt **out)
{
	uint32_t h = store_sql_hash(sql);
	struct store_stmt_slot *slot = &st->stmts[h % STORE_STMT_SLOTS];

	if (slot->stmt != NULL && !slot->busy && slot->hash == h &&
	    strcmp(sqlite3_sql(slot->stmt), sql) == 0) {
		slot->busy = 1;
		*out = slot->stmt;
		return 0;
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return store_fail(st, "prepare");
	}
	return 0;
}

void store_finish(struct store *st, sqlite3_stmt *s)
{
	const char *sql = s != NULL ? sqlite3_sql(s) : NULL;
	uint32_t h;
	struct store_stmt_slot *slot;

	if (sql == NULL) {
		sqlite3_finalize(s);
		return;
	}
	h = store_sql_hash(sql);
	slot = &st->stmts[h % STORE_STMT_SLOTS];
	/* reset ends its read of the database (a half-read SELECT holds it),
	 * whatever the last step returned; its bindings must not outlive it
	 * (they may be secrets). */
	if (slot->stmt == s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		slot->busy = 0;
		return;
	}
	if (slot->busy) {            /* the slot's own is out: this one goes */
		sqlite3_finalize(s);
		return;
	}
	sqlite3_finalize(slot->stmt);   /* the newest SQL keeps the slot */
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	slot->stmt = s;
	slot->hash = h;
	slot->busy = 0;
}

/* Every kept statement, before the database closes (a schema change needs
 * nothing: prepare_v3's statements are prepared again by SQLite). */
static void store_stmts_free(struct store *st)
{
	for (size_t i = 0; i < STORE_STMT_SLOTS; i++) {
		sqlite3_finalize(st->stmts[i].stmt);
		st->stmts[i].stmt = NULL;
		st->stmts[i].busy = 0;
	}
}

int store_bind_texts(struct store *st, sqlite3_stmt *s, int first,
                     const char *const *v, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = v[i] ? sqlite3_bind_text(s, first + i, v[i], -1, SQLITE_TRANSIENT)
		              : sqlite3_bind_null(s, first + i);
		if (rc != SQLITE_OK)
			return store_fail(st, "bind");
	}
	return 0;
}

void store_col(sqlite3_stmt *s, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

int store_step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		/* The caller says what is duplicated in words; SQLite's own
		 * sentence ("UNIQUE constraint failed: users.name") is for
		 * debugging only. */
		log_debug("store: constraint: %s", sqlite3_errmsg(st->db));
		return TE_ERR_EXISTS;
	}
	return store_fail(st, "step");
}

int store_run(struct store *st, const char *sql, const char *const *t, int n,
              const int64_t *iv, int ni, int *changes)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, n)) != 0)
		goto out;
	for (int i = 0; i < ni; i++)
		sqlite3_bind_int64(s, n + 1 + i, iv[i]);
	if ((rc = store_step_done(st, s)) == 0 && changes != NULL)
		*changes = sqlite3_changes(st->db);
out:
	store_finish(st, s);
	return rc;
}

int store_run_audited(struct store *st, const char *sql, const char *const *t, int n,
                      const int64_t *iv, int ni, int none_rc,
                      const struct store_audit_entry *audit)
{
	int rc, changes = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, sql, t, n, iv, ni, &changes);
	if (rc == 0 && changes == 0)
		rc = none_rc;
	if (rc == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

int store_match_hash(struct store *st, sqlite3_stmt *s, const char *hash,
                     char match[SHA256_HEX_BYTES], const char *what)
{
	char cand[SHA256_HEX_BYTES];
	int step;

	match[0] = '\0';
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_col(s, 0, cand, sizeof(cand));
		if (secret_equal_str(cand, hash))
			memcpy(match, cand, SHA256_HEX_BYTES);
	}
	if (step != SQLITE_DONE)
		return store_fail(st, what);
	return match[0] == '\0' ? TE_ERR_DENIED : 0;
}

static int store_exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	int code;

	if ((code = sqlite3_exec(st->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		store_note_failure(st, code);
		log_error("store: %s", msg ? msg : "exec failed");
		sqlite3_free(msg);
		return TE_ERR_STORE;
	}
	return 0;
}

int store_begin(struct store *st) { return store_exec(st, "BEGIN IMMEDIATE"); }

int store_end(struct store *st, int rc)
{
	if (rc == 0)
		return store_exec(st, "COMMIT");
	(void)store_exec(st, "ROLLBACK");
	return rc;
}

int store_schema_version(struct store *st, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT COALESCE(MAX(version),0) FROM schema_version", &s)) != 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = 0;
	} else {
		rc = store_fail(st, "schema_version");
	}
	store_finish(st, s);
	return rc;
}

static int store_migrate(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int version = 0, rc;

	if ((rc = store_exec(st, "CREATE TABLE IF NOT EXISTS schema_version("
	                         "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")) != 0)
		return rc;
	if ((rc = store_schema_version(st, &version)) != 0)
		return rc;
	if (version > (int)STORE_N_MIGRATIONS) {
		log_error("store: database schema %d is newer than this program (%d)",
		          version, (int)STORE_N_MIGRATIONS);
		return TE_ERR_STORE;
	}
	for (int v = version + 1; v <= (int)STORE_N_MIGRATIONS; v++) {
		if ((rc = store_begin(st)) != 0)
			return rc;
		rc = store_exec(st, store_migrations[v - 1]);
		if (rc == 0)
			rc = store_prep(st, "INSERT INTO schema_version(version, applied_at)"
			                    " VALUES(?, strftime('%s','now'))", &s);
		if (rc == 0) {
			sqlite3_bind_int(s, 1, v);
			rc = store_step_done(st, s);
		}
		store_finish(st, s);
		s = NULL;
		if ((rc = store_end(st, rc)) != 0)
			return rc;
		log_info("store: applied migration %d", v);
	}
	return 0;
}

int store_open(const char *path, struct store **out)
{
	struct store *st;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return TE_ERR_NOMEM;
	/* One thread uses a handle: the event loop (the password pool's threads
	 * and the signer never touch the store), so SQLite's own mutexes are
	 * only cost. */
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("store: cannot open %s: %s", path,
		          st->db ? sqlite3_errmsg(st->db) : "out of memory");
		rc = TE_ERR_STORE;
		goto out;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if ((rc = store_exec(st, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	                         " PRAGMA synchronous=FULL;")) != 0)
		goto out;
	if ((rc = store_migrate(st)) != 0)
		goto out;
	*out = st;
	st = NULL;
out:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_stmts_free(st);
	sqlite3_close(st->db);
	free(st);
}

/* ---- audit chain ---- */

/* Append inside an open transaction. */
static int store_audit_append_row(struct store *st, const char *actor,
                                  const char *action, const char *detail)
{
	sqlite3_stmt *s = NULL;
	char prev[SHA256_HEX_BYTES] = AUDIT_GENESIS_HASH;
	char hash[SHA256_HEX_BYTES], ts[AUDIT_TS_BYTES];
	int64_t seq = 1;
	int rc;

	if ((rc = store_prep(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &s)) != 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW) {
		seq = sqlite3_column_int64(s, 0) + 1;
		store_col(s, 1, prev, sizeof(prev));
	}
	store_finish(st, s);
	s = NULL;
	audit_now(ts);
	if ((rc = audit_chain_hash(seq, ts, actor, action, detail, prev, hash)) != 0)
		return rc;
	if ((rc = store_prep(st, "INSERT INTO audit(seq, ts, actor, action, detail, prev, hash)"
	                         " VALUES(?,?,?,?,?,?,?)", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, seq);
	{
		const char *v[] = { ts, actor, action, detail, prev, hash };
		rc = store_bind_texts(st, s, 2, v, 6);
	}
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

/* With who ran an admin command, when that was set (store_origin.c). */
static int store_audit_append_tx(struct store *st, const char *actor,
                                 const char *action, const char *detail)
{
	char *with_origin = store_audit_with_origin(detail);
	int rc;

	rc = store_audit_append_row(st, actor, action, with_origin ? with_origin : detail);
	free(with_origin);
	return rc;
}

int store_audit_append(struct store *st, const char *actor, const char *action,
                       const char *detail)
{
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_audit_append_tx(st, actor, action, detail ? detail : "");
	return store_end(st, rc);
}

int store_audit_opt(struct store *st, const struct store_audit_entry *a)
{
	if (a == NULL)
		return 0;
	return store_audit_append_tx(st, a->actor, a->action, a->detail ? a->detail : "");
}

int store_audit_each(struct store *st, store_audit_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT seq, ts, actor, action, detail, prev, hash"
	                         " FROM audit ORDER BY seq", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct audit_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.seq = sqlite3_column_int64(s, 0);
		store_col(s, 1, rec.ts, sizeof(rec.ts));
		rec.actor = (const char *)sqlite3_column_text(s, 2);
		rec.action = (const char *)sqlite3_column_text(s, 3);
		rec.detail = (const char *)sqlite3_column_text(s, 4);
		store_col(s, 5, rec.prev, sizeof(rec.prev));
		store_col(s, 6, rec.hash, sizeof(rec.hash));
		if (!rec.actor) rec.actor = "";
		if (!rec.action) rec.action = "";
		if (!rec.detail) rec.detail = "";
		if ((rc = cb(&rec, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "audit list");
out:
	store_finish(st, s);
	return rc;
}

/* ---- users and tokens ---- */

int store_user_add(struct store *st, const struct store_user *u)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "INSERT INTO users(name, role, level, region, pwhash, created_at)"
	                         " VALUES(?,?,?,?,?,?)", &s)) != 0)
		return rc;
	{
		const char *v[] = { u->name, u->role };
		rc = store_bind_texts(st, s, 1, v, 2);
	}
	sqlite3_bind_int(s, 3, u->level);
	if (rc == 0) {
		const char *v[] = { u->region, u->pwhash };
		rc = store_bind_texts(st, s, 4, v, 2);
	}
	sqlite3_bind_int64(s, 6, u->created_at);
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

int store_user_get(struct store *st, const char *name, struct store_user *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT name, role, level, region, pwhash, created_at, site,"
	                         " disabled FROM users WHERE name = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &name, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		store_col(s, 0, out->name, sizeof(out->name));
		store_col(s, 1, out->role, sizeof(out->role));
		out->level = sqlite3_column_int(s, 2);
		store_col(s, 3, out->region, sizeof(out->region));
		store_col(s, 4, out->pwhash, sizeof(out->pwhash));
		out->created_at = sqlite3_column_int64(s, 5);
		store_col(s, 6, out->site, sizeof(out->site));
		out->disabled = sqlite3_column_int(s, 7) != 0;
	} else {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "user get");
	}
out:
	store_finish(st, s);
	return rc;
}

int store_token_add(struct store *st, const char *hash, const char *user,
                    int64_t now, int64_t expires_at)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { hash, user };
	int rc;

	if ((rc = store_prep(st, "INSERT INTO api_tokens(hash, user, created_at, expires_at)"
	                         " VALUES(?,?,?,?)", &s)) != 0)
		return rc;
	rc = store_bind_texts(st, s, 1, v, 2);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, expires_at);
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

/* The lookup is by the token's hash, so timing reveals nothing usable about
 * the token itself. */
int store_token_user(struct store *st, const char *hash, int64_t now,
                     char user[MAX_NAME_BYTES])
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT user, expires_at, revoked FROM api_tokens"
	                         " WHERE hash = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &hash, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "token get");
		goto out;
	}
	if (sqlite3_column_int(s, 2) != 0)
		rc = TE_ERR_DENIED;
	else if (sqlite3_column_int64(s, 1) <= now)
		rc = TE_ERR_EXPIRED;
	else
		store_col(s, 0, user, MAX_NAME_BYTES);
out:
	store_finish(st, s);
	return rc;
}

int store_token_revoke(struct store *st, const char *hash)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "UPDATE api_tokens SET revoked = 1 WHERE hash = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &hash, 1)) == 0)
		rc = store_step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = TE_ERR_NOT_FOUND;
	store_finish(st, s);
	return rc;
}

/* ---- devices ---- */

int store_device_add(struct store *st, const struct store_device *d)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { d->serial, d->customer, d->product, d->status };
	int rc;

	if ((rc = store_prep(st, "INSERT INTO devices(serial, customer, product, status,"
	                         " created_at) VALUES(?,?,?,?,?)", &s)) != 0)
		return rc;
	rc = store_bind_texts(st, s, 1, v, 4);
	sqlite3_bind_int64(s, 5, d->created_at);
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

#define STORE_DEVICE_COLS "serial, customer, product, status, cert_fp, ssh_hostkey," \
	" last_seen, agent_version, services, created_at, audit_seq, audit_hash," \
	" audit_rollback_seq, audit_rollback_hash, site, clock_offset_s, clock_reported_at," \
	" diags, files"

static void store_device_row(sqlite3_stmt *s, struct store_device *d)
{
	memset(d, 0, sizeof(*d));
	store_col(s, 0, d->serial, sizeof(d->serial));
	store_col(s, 1, d->customer, sizeof(d->customer));
	store_col(s, 2, d->product, sizeof(d->product));
	store_col(s, 3, d->status, sizeof(d->status));
	store_col(s, 4, d->cert_fp, sizeof(d->cert_fp));
	store_col(s, 5, d->ssh_hostkey, sizeof(d->ssh_hostkey));
	d->last_seen = sqlite3_column_int64(s, 6);
	store_col(s, 7, d->agent_version, sizeof(d->agent_version));
	store_col(s, 8, d->services, sizeof(d->services));
	d->created_at = sqlite3_column_int64(s, 9);
	d->audit_head.seq = sqlite3_column_int64(s, 10);
	store_col(s, 11, d->audit_head.hash, sizeof(d->audit_head.hash));
	d->audit_rollback.seq = sqlite3_column_int64(s, 12);
	store_col(s, 13, d->audit_rollback.hash, sizeof(d->audit_rollback.hash));
	store_col(s, 14, d->site, sizeof(d->site));
	d->clock_offset_s = sqlite3_column_int64(s, 15);
	d->clock_reported_at = sqlite3_column_int64(s, 16);
	store_col(s, 17, d->diags, sizeof(d->diags));
	store_col(s, 18, d->files, sizeof(d->files));
}

int store_device_get(struct store *st, const char *serial, struct store_device *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT " STORE_DEVICE_COLS " FROM devices WHERE serial = ?",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		store_device_row(s, out);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "device get");
out:
	store_finish(st, s);
	return rc;
}

int store_device_revoked_count(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	if ((rc = store_prep(st, "SELECT coalesce(sum(revocations), 0) FROM devices",
	                     &s)) != 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, "device revoked count");
	store_finish(st, s);
	return rc;
}

/* Step s (finalized here), calling cb for each device row. */
static int store_device_rows(struct store *st, sqlite3_stmt *s, store_device_cb cb, void *arg)
{
	struct store_device *d;
	int rc = 0, step;

	if ((d = malloc(sizeof(*d))) == NULL) {
		store_finish(st, s);
		return TE_ERR_NOMEM;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_device_row(s, d);
		if ((rc = cb(d, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "device list");
out:
	store_finish(st, s);
	free(d);
	return rc;
}

int store_device_each(struct store *st, store_device_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_DEVICE_COLS " FROM devices ORDER BY serial",
	                     &s)) != 0)
		return rc;
	return store_device_rows(st, s, cb, arg);
}

int store_device_page(struct store *st, const char *site, const char *after, int64_t limit,
                      store_device_cb cb, void *arg)
{
	const char *t[] = { after, site };
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_DEVICE_COLS " FROM devices WHERE serial > ?1"
	                         " AND (?2 IS NULL OR site = ?2) ORDER BY serial LIMIT ?3",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) != 0) {
		store_finish(st, s);
		return rc;
	}
	sqlite3_bind_int64(s, 3, limit);
	return store_device_rows(st, s, cb, arg);
}

int store_device_set_enrolled(struct store *st, const char *serial,
                              const char *cert_fp, const char *ssh_hostkey,
                              const struct store_audit_entry *audit)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { cert_fp, ssh_hostkey, serial };
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_prep(st, "UPDATE devices SET status = 'enrolled', cert_fp = ?,"
	                         " ssh_hostkey = ? WHERE serial = ? AND status <> 'revoked'", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, v, 3)) == 0)
		rc = store_step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = TE_ERR_NOT_FOUND;
	if (rc == 0)
		rc = store_audit_opt(st, audit);
out:
	store_finish(st, s);
	return store_end(st, rc);
}

int store_device_seen(struct store *st, const char *serial, int64_t now,
                      const char *agent_version, const char *services_json)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { agent_version, services_json, serial };
	int rc;

	if ((rc = store_prep(st, "UPDATE devices SET last_seen = ?1, agent_version = COALESCE(?2, agent_version),"
	                         " services = COALESCE(?3, services) WHERE serial = ?4", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, now);
	if ((rc = store_bind_texts(st, s, 2, v, 3)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

int store_device_offers(struct store *st, const char *serial, const char *diags_json,
                        const char *files_json)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { diags_json, files_json, serial };
	int rc;

	if ((rc = store_prep(st, "UPDATE devices SET diags = COALESCE(?1, diags),"
	                         " files = COALESCE(?2, files) WHERE serial = ?3", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, v, 3)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

int store_device_clock(struct store *st, const char *serial, int64_t offset_s,
                       int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "UPDATE devices SET clock_offset_s = ?1, clock_reported_at = ?2"
	                         " WHERE serial = ?3", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, offset_s);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = store_bind_texts(st, s, 3, &serial, 1)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

int store_device_revoke(struct store *st, const char *serial,
                        const struct store_audit_entry *audit)
{
	sqlite3_stmt *s = NULL;
	struct store_device *d = NULL;
	int rc;

	if ((d = malloc(sizeof(*d))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_begin(st)) != 0)
		goto out_free;
	if ((rc = store_device_get(st, serial, d)) != 0)
		goto out;
	if (strcmp(d->status, "revoked") == 0) {
		rc = TE_ERR_EXISTS;
		goto out;
	}
	if ((rc = store_prep(st, "UPDATE devices SET status = 'revoked',"
	                         " revocations = revocations + 1 WHERE serial = ?", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	s = NULL;
	/* An unused enrollment token must not bring the serial back. */
	if (rc == 0 && (rc = store_prep(st, "UPDATE enroll_tokens SET used_at ="
	                                    " strftime('%s','now') WHERE serial = ? AND"
	                                    " used_at IS NULL", &s)) == 0 &&
	    (rc = store_bind_texts(st, s, 1, &serial, 1)) == 0)
		rc = store_step_done(st, s);
	if (rc == 0)
		rc = store_audit_opt(st, audit);
out:
	store_finish(st, s);
	rc = store_end(st, rc);
out_free:
	free(d);
	return rc;
}

/* ---- enrollment tokens ---- */

int store_enroll_token_add(struct store *st, const char *hash, const char *serial,
                           int64_t expires_at)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { hash, serial };
	int rc;

	if ((rc = store_prep(st, "INSERT INTO enroll_tokens(hash, serial, expires_at)"
	                         " VALUES(?,?,?)", &s)) != 0)
		return rc;
	rc = store_bind_texts(st, s, 1, v, 2);
	sqlite3_bind_int64(s, 3, expires_at);
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

/* The candidate tokens are looked up by serial and every one is compared in
 * constant time, so the database index never acts as a token oracle. */
int store_enroll_token_use(struct store *st, const char *serial,
                           const char *hash, int64_t now)
{
	sqlite3_stmt *s = NULL;
	char match[SHA256_HEX_BYTES];
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_prep(st, "SELECT hash FROM enroll_tokens WHERE serial = ?"
	                         " AND used_at IS NULL AND expires_at > ?", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, &serial, 1)) != 0)
		goto out;
	sqlite3_bind_int64(s, 2, now);
	if ((rc = store_match_hash(st, s, hash, match, "enroll token")) != 0)
		goto out;
	store_finish(st, s);
	s = NULL;
	{
		const char *v[] = { match };
		rc = store_run(st, "UPDATE enroll_tokens SET used_at = ?2 WHERE hash = ?1",
		               v, 1, &now, 1, NULL);
	}
out:
	store_finish(st, s);
	return store_end(st, rc);
}

/* ---- relays ---- */

int store_relay_add(struct store *st, const struct store_relay *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "INSERT INTO relays(name, host, device_port, client_port,"
	                         " cert_fp) VALUES(?1,?2,?4,?5,?3)", &s)) != 0)
		return rc;
	{
		const char *v[] = { r->name, r->host, r->cert_fp };
		rc = store_bind_texts(st, s, 1, v, 3);
	}
	sqlite3_bind_int(s, 4, r->device_port);
	sqlite3_bind_int(s, 5, r->client_port);
	if (rc == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

#define STORE_RELAY_COLS "name, host, device_port, client_port, cert_fp, audit_seq," \
	" audit_hash, audit_open_seq, audit_open_hash, audit_rollback_seq, audit_rollback_hash"

static void store_relay_row(sqlite3_stmt *s, struct store_relay *r)
{
	memset(r, 0, sizeof(*r));
	store_col(s, 0, r->name, sizeof(r->name));
	store_col(s, 1, r->host, sizeof(r->host));
	r->device_port = sqlite3_column_int(s, 2);
	r->client_port = sqlite3_column_int(s, 3);
	store_col(s, 4, r->cert_fp, sizeof(r->cert_fp));
	r->audit_head.seq = sqlite3_column_int64(s, 5);
	store_col(s, 6, r->audit_head.hash, sizeof(r->audit_head.hash));
	r->audit_open.seq = sqlite3_column_int64(s, 7);
	store_col(s, 8, r->audit_open.hash, sizeof(r->audit_open.hash));
	r->audit_rollback.seq = sqlite3_column_int64(s, 9);
	store_col(s, 10, r->audit_rollback.hash, sizeof(r->audit_rollback.hash));
}

int store_relay_get(struct store *st, const char *name, struct store_relay *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT " STORE_RELAY_COLS
	                         " FROM relays WHERE name = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &name, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		store_relay_row(s, out);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "relay get");
out:
	store_finish(st, s);
	return rc;
}

int store_relay_list(struct store *st, struct store_relay *out, size_t max, size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc, step = SQLITE_DONE;

	*n = 0;
	if ((rc = store_prep(st, "SELECT " STORE_RELAY_COLS
	                         " FROM relays ORDER BY name", &s)) != 0)
		return rc;
	while (*n < max && (step = sqlite3_step(s)) == SQLITE_ROW)
		store_relay_row(s, &out[(*n)++]);
	if (*n < max && step != SQLITE_DONE)
		rc = store_fail(st, "relay list");
	store_finish(st, s);
	return rc;
}

/* ---- sessions ---- */

#define STORE_SESSION_COLS "id, device, user, reason, services, state, end_reason," \
	" relay, created_at, updated_at, started_at, client_ticket, device_notified," \
	" actions, escalation, site, max_s, idle_s, customer, customer_deadline, relay_moves"
#define STORE_OPEN_STATES "('awaiting_customer','awaiting_consent','consented','active')"

static void store_session_row(sqlite3_stmt *s, struct store_session *x)
{
	memset(x, 0, sizeof(*x));
	store_col(s, 0, x->id, sizeof(x->id));
	store_col(s, 1, x->device, sizeof(x->device));
	store_col(s, 2, x->user, sizeof(x->user));
	store_col(s, 3, x->reason, sizeof(x->reason));
	store_col(s, 4, x->services, sizeof(x->services));
	store_col(s, 5, x->state, sizeof(x->state));
	store_col(s, 6, x->end_reason, sizeof(x->end_reason));
	store_col(s, 7, x->relay, sizeof(x->relay));
	x->created_at = sqlite3_column_int64(s, 8);
	x->updated_at = sqlite3_column_int64(s, 9);
	x->started_at = sqlite3_column_int64(s, 10);
	x->client_ticket = sqlite3_column_int(s, 11);
	x->device_notified = sqlite3_column_int(s, 12);
	store_col(s, 13, x->actions, sizeof(x->actions));
	x->escalation = sqlite3_column_int(s, 14);
	store_col(s, 15, x->site, sizeof(x->site));
	x->max_s = sqlite3_column_int64(s, 16);
	x->idle_s = sqlite3_column_int64(s, 17);
	store_col(s, 18, x->customer, sizeof(x->customer));
	x->customer_deadline = sqlite3_column_int64(s, 19);
	x->relay_moves = sqlite3_column_int(s, 20);
}

int store_session_add(struct store *st, const struct store_session *x,
                      const struct store_audit_entry *audit)
{
	sqlite3_stmt *s = NULL;
	const char *v[] = { x->id, x->device, x->user, x->reason, x->services, x->state };
	const char *w[] = { x->actions[0] ? x->actions : "[]", x->site, x->customer };
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_prep(st, "INSERT INTO sessions(id, device, user, reason, services,"
	                         " state, created_at, updated_at, actions, site, customer,"
	                         " escalation, max_s, idle_s, customer_deadline)"
	                         " VALUES(?,?,?,?,?,?,?7,?7,?8,?9,?10,?11,?12,?13,?14)",
	                     &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, v, 6)) != 0 ||
	    (rc = store_bind_texts(st, s, 8, w, 3)) != 0)
		goto out;
	sqlite3_bind_int64(s, 7, x->created_at);
	sqlite3_bind_int(s, 11, x->escalation);
	sqlite3_bind_int64(s, 12, x->max_s);
	sqlite3_bind_int64(s, 13, x->idle_s);
	sqlite3_bind_int64(s, 14, x->customer_deadline);
	if ((rc = store_step_done(st, s)) == 0)
		rc = store_audit_opt(st, audit);
out:
	store_finish(st, s);
	return store_end(st, rc);
}

/* Run a one-text-parameter session query and return its first row. */
static int store_session_one(struct store *st, const char *sql, const char *param,
                             struct store_session *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &param, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		store_session_row(s, out);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "session get");
out:
	store_finish(st, s);
	return rc;
}

int store_session_get(struct store *st, const char *id, struct store_session *out)
{
	return store_session_one(st, "SELECT " STORE_SESSION_COLS " FROM sessions WHERE id = ?",
	                         id, out);
}

int store_session_open_for_device(struct store *st, const char *serial,
                                  struct store_session *out)
{
	return store_session_one(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                             " WHERE device = ? AND state IN " STORE_OPEN_STATES
	                             " ORDER BY created_at LIMIT 1", serial, out);
}

static int store_session_each(struct store *st, const char *sql, const char *param,
                              store_session_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	struct store_session *x;
	int rc, step;

	if ((x = malloc(sizeof(*x))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_prep(st, sql, &s)) != 0)
		goto out;
	if (param != NULL && (rc = store_bind_texts(st, s, 1, &param, 1)) != 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_session_row(s, x);
		if ((rc = cb(x, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "session list");
out:
	store_finish(st, s);
	free(x);
	return rc;
}

int store_session_each_unnoticed(struct store *st, int64_t since, store_session_cb cb,
                                 void *arg)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", (long long)since);
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions s"
	                              " WHERE updated_at >= CAST(?1 AS INTEGER) AND NOT EXISTS"
	                              " (SELECT 1 FROM record_notices n WHERE n.record = s.id"
	                              " AND n.state = s.state) ORDER BY updated_at, rowid LIMIT 100",
	                          t, cb, arg);
}

int store_session_each_record(struct store *st, const struct store_record_filter *f,
                              store_session_cb cb, void *arg)
{
	const char *t[] = { f->device[0] ? f->device : NULL, f->site[0] ? f->site : NULL,
	                    f->user[0] ? f->user : NULL };
	struct store_session *x;
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((x = malloc(sizeof(*x))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_prep(st, "SELECT " STORE_SESSION_COLS " FROM sessions WHERE"
	                         " (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR site = ?2) AND"
	                         " (?3 IS NULL OR user = ?3) AND created_at >= ?4 AND"
	                         " created_at < ?5 ORDER BY created_at DESC, rowid DESC LIMIT ?6",
	                     &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, t, 3)) != 0)
		goto out;
	sqlite3_bind_int64(s, 4, f->since);
	sqlite3_bind_int64(s, 5, f->until > 0 ? f->until : INT64_MAX);
	sqlite3_bind_int64(s, 6, f->limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_session_row(s, x);
		if ((rc = cb(x, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "record list");
out:
	store_finish(st, s);
	free(x);
	return rc;
}

int store_session_each_open(struct store *st, store_session_cb cb, void *arg)
{
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE state IN " STORE_OPEN_STATES
	                              " ORDER BY created_at", NULL, cb, arg);
}

int store_session_each_for_device(struct store *st, const char *serial,
                                  store_session_cb cb, void *arg)
{
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE device = ? AND (state IN " STORE_OPEN_STATES
	                              " OR device_notified = 0) ORDER BY created_at",
	                          serial, cb, arg);
}

int store_session_each_for_user(struct store *st, const char *user,
                                store_session_cb cb, void *arg)
{
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE user = ?1 AND (state IN " STORE_OPEN_STATES
	                              " OR rowid IN (SELECT rowid FROM sessions WHERE user = ?1"
	                              " ORDER BY created_at DESC, rowid DESC LIMIT "
	                              STORE_RECENT_SESSIONS_STR ")) ORDER BY created_at, rowid",
	                          user, cb, arg);
}

int store_session_each_recent_for_device(struct store *st, const char *serial,
                                         store_session_cb cb, void *arg)
{
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE device = ? ORDER BY created_at DESC, rowid DESC"
	                              " LIMIT " STORE_RECENT_SESSIONS_STR, serial, cb, arg);
}

int store_session_each_open_at_site(struct store *st, const char *site,
                                    store_session_cb cb, void *arg)
{
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE state IN " STORE_OPEN_STATES " AND device IN"
	                              " (SELECT serial FROM devices WHERE site = ?)"
	                              " ORDER BY created_at", site, cb, arg);
}

int store_session_each_awaiting_customer(struct store *st, const char *site,
                                         store_session_cb cb, void *arg)
{
	if (site == NULL)
		return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
		                              " WHERE state = 'awaiting_customer'"
		                              " ORDER BY created_at", NULL, cb, arg);
	return store_session_each(st, "SELECT " STORE_SESSION_COLS " FROM sessions"
	                              " WHERE state = 'awaiting_customer' AND site = ?"
	                              " ORDER BY created_at", site, cb, arg);
}

int store_session_set_state(struct store *st, const char *id, const char *from,
                            const char *to, const char *end_reason,
                            const char *relay, int64_t now,
                            const struct store_audit_entry *audit)
{
	const char *v[] = { to, end_reason ? end_reason : "", relay, id, from };
	int rc;

	/* started_at is set on the move to active; relay only when given. */
	rc = store_run_audited(st, "UPDATE sessions SET state = ?1, end_reason = ?2,"
	                           " relay = COALESCE(?3, relay), updated_at = ?6,"
	                           " started_at = CASE WHEN ?1 = 'active' THEN ?6"
	                           " ELSE started_at END WHERE id = ?4 AND state = ?5",
	                       v, 5, &now, 1, TE_ERR_MISMATCH, audit);
	if (rc == 0 && st->session_hook != NULL)
		st->session_hook(st->session_hook_arg, id);
	return rc;
}

void store_on_session_change(struct store *st, store_session_hook_fn fn, void *arg)
{
	st->session_hook = fn;
	st->session_hook_arg = arg;
}

int store_session_move_relay(struct store *st, const char *id, const char *from,
                             const char *to, int max_moves, int64_t now,
                             const struct store_audit_entry *audit)
{
	const char *v[] = { id, from, to };
	const int64_t iv[] = { now, max_moves };

	int rc;

	/* A new relay needs a new client leg: the claim starts again. */
	rc = store_run_audited(st, "UPDATE sessions SET relay = ?3, updated_at = ?4,"
	                           " relay_moves = relay_moves + 1, client_ticket = 0"
	                           " WHERE id = ?1 AND relay = ?2 AND state = 'consented'"
	                           " AND relay_moves < ?5",
	                       v, 3, iv, 2, TE_ERR_MISMATCH, audit);
	if (rc == 0 && st->session_hook != NULL)
		st->session_hook(st->session_hook_arg, id);
	return rc;
}

static int store_session_flag(struct store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &id, 1)) == 0)
		rc = store_step_done(st, s);
	store_finish(st, s);
	return rc;
}

int store_session_claim_client_ticket(struct store *st, const char *id)
{
	int rc = store_session_flag(st, "UPDATE sessions SET client_ticket = 1"
	                                " WHERE id = ? AND client_ticket = 0", id);

	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = TE_ERR_EXISTS;
	return rc;
}

int store_session_mark_notified(struct store *st, const char *id)
{
	return store_session_flag(st, "UPDATE sessions SET device_notified = 1 WHERE id = ?", id);
}

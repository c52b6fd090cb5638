/* test_store.c: the SQLite store: migrations, CRUD, tokens, sessions and
 * the audit chain (including an edit made behind the store's back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"
#include "err.h"
#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open(f->path, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	store_close(f->st);
	const char *sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void add_user_and_device(struct store *st)
{
	struct store_user u = { .name = "alice", .role = "specialist", .level = 2,
	                        .region = "US", .pwhash = "$argon2id$fake", .created_at = 1 };
	struct store_device d = { .serial = "SN1", .customer = "H", .product = "inj",
	                          .status = "registered", .created_at = 1 };

	assert_int_equal(store_user_add(st, &u), 0);
	assert_int_equal(store_device_add(st, &d), 0);
}

static void test_migrations_apply_to_fresh_db(void **state)
{
	struct fixture *f = *state;
	struct store *again = NULL;
	int v = 0;

	assert_int_equal(store_schema_version(f->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	/* Reopening an up-to-date database applies nothing and keeps the version. */
	assert_int_equal(store_open(f->path, &again), 0);
	assert_int_equal(store_schema_version(again, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	store_close(again);
}

static void test_user_crud(void **state)
{
	struct fixture *f = *state;
	struct store_user u;

	add_user_and_device(f->st);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.role, "specialist");
	assert_int_equal(u.level, 2);
	assert_string_equal(u.region, "US");
	assert_int_equal(store_user_get(f->st, "bob", &u), TE_ERR_NOT_FOUND);
	u.level = 1;
	assert_int_equal(store_user_add(f->st, &u), TE_ERR_EXISTS);
}

static int count_cb(const struct store_device *d, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_device_crud(void **state)
{
	struct fixture *f = *state;
	struct store_device d;
	int n = 0;

	add_user_and_device(f->st);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.status, "registered");
	assert_string_equal(d.services, "[]");
	assert_int_equal(store_device_set_enrolled(f->st, "SN1", "ab12", "ssh-ed25519 AAAA", NULL), 0);
	assert_int_equal(store_device_seen(f->st, "SN1", 50, "0.1.0", "[{\"name\":\"http\",\"port\":80}]"), 0);
	assert_int_equal(store_device_seen(f->st, "SN1", 60, NULL, NULL), 0);   /* keeps both */
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.status, "enrolled");
	assert_string_equal(d.cert_fp, "ab12");
	assert_string_equal(d.agent_version, "0.1.0");
	assert_string_equal(d.services, "[{\"name\":\"http\",\"port\":80}]");
	assert_int_equal(d.last_seen, 60);
	assert_int_equal(store_device_set_enrolled(f->st, "SN9", "x", "y", NULL), TE_ERR_NOT_FOUND);
	assert_int_equal(store_device_each(f->st, count_cb, &n), 0);
	assert_int_equal(n, 1);
}

static void test_api_tokens(void **state)
{
	struct fixture *f = *state;
	char user[MAX_NAME_BYTES];

	add_user_and_device(f->st);
	assert_int_equal(store_token_add(f->st, "h1", "alice", 100, 200), 0);
	assert_int_equal(store_token_user(f->st, "h1", 150, user), 0);
	assert_string_equal(user, "alice");
	assert_int_equal(store_token_user(f->st, "h1", 200, user), TE_ERR_EXPIRED);
	assert_int_equal(store_token_user(f->st, "nope", 150, user), TE_ERR_NOT_FOUND);
	assert_int_equal(store_token_revoke(f->st, "h1"), 0);
	assert_int_equal(store_token_user(f->st, "h1", 150, user), TE_ERR_DENIED);
	/* A token for a user that does not exist violates the foreign key. */
	assert_int_equal(store_token_add(f->st, "h2", "mallory", 100, 200), TE_ERR_EXISTS);
}

static void test_enroll_token_single_use_bound_to_serial(void **state)
{
	struct fixture *f = *state;
	struct store_device d2 = { .serial = "SN2", .customer = "H", .product = "inj",
	                           .status = "registered" };

	add_user_and_device(f->st);
	assert_int_equal(store_device_add(f->st, &d2), 0);
	assert_int_equal(store_enroll_token_add(f->st, "tokhash", "SN1", 1000), 0);
	assert_int_equal(store_enroll_token_use(f->st, "SN2", "tokhash", 10), TE_ERR_DENIED);
	assert_int_equal(store_enroll_token_use(f->st, "SN1", "tokhash", 1000), TE_ERR_DENIED);
	assert_int_equal(store_enroll_token_use(f->st, "SN1", "tokhash", 10), 0);
	assert_int_equal(store_enroll_token_use(f->st, "SN1", "tokhash", 11), TE_ERR_DENIED);
}

static void test_relays(void **state)
{
	struct fixture *f = *state;
	struct store_relay r = { .name = "r1", .host = "127.0.0.1", .device_port = 1,
	                         .client_port = 2, .cert_fp = "ff" }, out[4];
	size_t n = 0;

	assert_int_equal(store_relay_add(f->st, &r), 0);
	assert_int_equal(store_relay_add(f->st, &r), TE_ERR_EXISTS);
	assert_int_equal(store_relay_get(f->st, "r1", &out[0]), 0);
	assert_int_equal(out[0].device_port, 1);
	assert_int_equal(out[0].client_port, 2);
	assert_string_equal(out[0].cert_fp, "ff");
	assert_int_equal(store_relay_list(f->st, out, 4, &n), 0);
	assert_int_equal(n, 1);
}

static void test_session_crud_and_cas(void **state)
{
	struct fixture *f = *state;
	struct store_session s = { .id = "0123456789abcdef0123456789abcdef", .device = "SN1",
	                           .user = "alice", .reason = "TCK-1", .services = "[\"http\"]",
	                           .state = "awaiting_consent", .created_at = 10 }, got;
	struct store_audit_entry a = { "alice", "session_request", "{}" };

	add_user_and_device(f->st);
	assert_int_equal(store_session_add(f->st, &s, &a), 0);
	assert_int_equal(store_session_open_for_device(f->st, "SN1", &got), 0);
	assert_string_equal(got.id, s.id);
	assert_int_equal(store_session_set_state(f->st, s.id, "awaiting_consent", "consented",
	                                         "", "r1", 20, NULL), 0);
	/* A stale 'from' loses the race. */
	assert_int_equal(store_session_set_state(f->st, s.id, "awaiting_consent", "refused",
	                                         "x", NULL, 21, NULL), TE_ERR_MISMATCH);
	assert_int_equal(store_session_set_state(f->st, s.id, "consented", "active", "", NULL,
	                                         30, NULL), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_string_equal(got.state, "active");
	assert_string_equal(got.relay, "r1");
	assert_int_equal(got.started_at, 30);
	assert_int_equal(store_session_claim_client_ticket(f->st, s.id), 0);
	assert_int_equal(store_session_claim_client_ticket(f->st, s.id), TE_ERR_EXISTS);
	assert_int_equal(store_session_set_state(f->st, s.id, "active", "ended", "done", NULL,
	                                         40, NULL), 0);
	assert_int_equal(store_session_open_for_device(f->st, "SN1", &got), TE_ERR_NOT_FOUND);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_string_equal(got.end_reason, "done");
	assert_int_equal(got.device_notified, 0);
	assert_int_equal(store_session_mark_notified(f->st, s.id), 0);
	assert_int_equal(store_session_get(f->st, "nope", &got), TE_ERR_NOT_FOUND);
}

static int feed_cb(const struct audit_record *rec, void *arg)
{
	(void)audit_verifier_feed(arg, rec);
	return 0;
}

static void verify(struct store *st, struct audit_verifier *v)
{
	audit_verifier_init(v);
	assert_int_equal(store_audit_each(st, feed_cb, v), 0);
}

static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_audit_chain_detects_edit_and_delete(void **state)
{
	struct fixture *f = *state;
	struct audit_verifier v;

	for (int i = 0; i < 5; i++)
		assert_int_equal(store_audit_append(f->st, "alice", "login", "{\"n\":1}"), 0);
	verify(f->st, &v);
	assert_int_equal(v.failed, 0);
	assert_int_equal(v.count, 5);

	raw_sql(f->path, "UPDATE audit SET detail = '{\"n\":2}' WHERE seq = 3");
	verify(f->st, &v);
	assert_int_not_equal(v.failed, 0);
	assert_int_equal(v.bad_seq, 3);
}

static void test_audit_chain_detects_deleted_row(void **state)
{
	struct fixture *f = *state;
	struct audit_verifier v;

	for (int i = 0; i < 4; i++)
		assert_int_equal(store_audit_append(f->st, "bob", "logout", "{}"), 0);
	raw_sql(f->path, "DELETE FROM audit WHERE seq = 2");
	verify(f->st, &v);
	assert_int_not_equal(v.failed, 0);
}

static struct store_audit_head head(int64_t seq, char c)
{
	struct store_audit_head h = { .seq = seq };

	memset(h.hash, c, 64);
	h.hash[64] = '\0';
	return h;
}

static int64_t audit_count(struct store *st)
{
	struct audit_verifier v;

	verify(st, &v);
	assert_int_equal(v.failed, 0);
	return v.count;
}

static void test_device_audit_anchor_never_lowers(void **state)
{
	struct fixture *f = *state;
	struct store_audit_head h5 = head(5, 'a'), h3 = head(3, 'b'), h5b = head(5, 'c');
	struct store_device d;

	add_user_and_device(f->st);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_int_equal(d.audit_head.seq, 0);
	assert_string_equal(d.audit_head.hash, "");
	assert_string_equal(d.audit_rollback.hash, "");
	assert_int_equal(store_device_audit_anchor(f->st, "SN1", &h5), 0);
	/* Lower or equal seqs change nothing, whatever their hash. */
	assert_int_equal(store_device_audit_anchor(f->st, "SN1", &h3), 0);
	assert_int_equal(store_device_audit_anchor(f->st, "SN1", &h5b), 0);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_int_equal(d.audit_head.seq, 5);
	assert_string_equal(d.audit_head.hash, h5.hash);
}

static void test_device_audit_rollback_once_per_head(void **state)
{
	struct fixture *f = *state;
	struct store_audit_head h9 = head(9, 'a'), h7 = head(7, 'b'), h8 = head(8, 'c');
	struct store_audit_entry a = { "server", "device_audit_rollback", "{\"device\":\"SN1\"}" };
	struct store_device d;

	add_user_and_device(f->st);
	assert_int_equal(store_device_audit_anchor(f->st, "SN1", &h9), 0);
	assert_int_equal(store_device_audit_rollback(f->st, "SN1", &h7, &a), 0);
	assert_int_equal(audit_count(f->st), 1);
	/* The same head again (every later ping) is not audited again. */
	assert_int_equal(store_device_audit_rollback(f->st, "SN1", &h7, &a), TE_ERR_EXISTS);
	assert_int_equal(audit_count(f->st), 1);
	/* A different one is. */
	assert_int_equal(store_device_audit_rollback(f->st, "SN1", &h8, &a), 0);
	assert_int_equal(audit_count(f->st), 2);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_int_equal(d.audit_head.seq, 9);              /* never lowered */
	assert_string_equal(d.audit_head.hash, h9.hash);
	assert_int_equal(d.audit_rollback.seq, 8);
	assert_string_equal(d.audit_rollback.hash, h8.hash);
}

/* Revocation is one audited change, refused for an unknown serial and not
 * repeated for a device already revoked; the sessions are left alone. */
static void test_device_revoke(void **state)
{
	struct fixture *f = *state;
	struct store_audit_entry a = { "admin", "device_revoke", "{\"serial\":\"SN1\"}" };
	struct store_session s = { .id = "0123456789abcdef0123456789abcdef", .device = "SN1",
	                           .user = "alice", .reason = "r", .services = "[]",
	                           .state = "active", .created_at = 1 };
	struct store_session got;
	struct store_device d;

	add_user_and_device(f->st);
	assert_int_equal(store_session_add(f->st, &s, NULL), 0);
	assert_int_equal(store_enroll_token_add(f->st, "tok", "SN1", 1000), 0);
	assert_int_equal(store_device_revoke(f->st, "SN9", &a), TE_ERR_NOT_FOUND);
	assert_int_equal(audit_count(f->st), 0);
	assert_int_equal(store_device_revoke(f->st, "SN1", &a), 0);
	assert_int_equal(audit_count(f->st), 1);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.status, "revoked");
	assert_string_equal(d.customer, "H");
	assert_int_equal(store_device_revoke(f->st, "SN1", &a), TE_ERR_EXISTS);
	assert_int_equal(audit_count(f->st), 1);
	assert_int_equal(store_session_open_for_device(f->st, "SN1", &got), 0);
	assert_string_equal(got.state, "active");
	/* Re-enrollment is not supported: the unused token is spent, and the
	 * enrolled state cannot be set over revoked. */
	assert_int_equal(store_enroll_token_use(f->st, "SN1", "tok", 10), TE_ERR_DENIED);
	assert_int_equal(store_device_set_enrolled(f->st, "SN1", "fp", "key", NULL), TE_ERR_NOT_FOUND);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.status, "revoked");
}

/* What migration 3 added, to make a version-2 database. */
/* What migrations 5 (sites and policy), 6 (notifications), 7 (audit
 * checkpoints) and 8 (enrollment codes) add, dropped so that a test can go
 * back to an older schema and migrate again. */
#define LATER_DROP_MIGRATIONS DEPLOY_DROP_MIGRATION_23 ADVISORIES_DROP_MIGRATION_22 \
	QUEUE_DROP_MIGRATION_21 \
	"DROP TABLE sites; DROP TABLE certifications;" \
	"ALTER TABLE devices DROP COLUMN site; ALTER TABLE users DROP COLUMN site;" \
	"ALTER TABLE sessions DROP COLUMN actions;" \
	"ALTER TABLE sessions DROP COLUMN escalation;" \
	"ALTER TABLE sessions DROP COLUMN site; ALTER TABLE sessions DROP COLUMN max_s;" \
	"ALTER TABLE sessions DROP COLUMN idle_s;" \
	"ALTER TABLE sessions DROP COLUMN customer;" \
	"ALTER TABLE sessions DROP COLUMN customer_deadline;" \
	"DROP TABLE notifications; DROP TABLE audit_checkpoints; DROP TABLE user_invites;" \
	CLOCK_DROP_MIGRATION_9 REPORTS_DROP_MIGRATION_10 ADMIN_DROP_MIGRATIONS_11_12 \
	OFFERS_DROP_MIGRATION_13 MOVES_DROP_MIGRATION_14 \
	VISIT_DROP_MIGRATION_15 RECORDINGS_DROP_MIGRATION_16 STATUS_DROP_MIGRATION_17 \
	RECORDS_DROP_MIGRATION_20 FILES_DROP_MIGRATION_19 SIEM_DROP_MIGRATION_18
/* 13: the diagnostics and file areas a device reports */
#define OFFERS_DROP_MIGRATION_13 \
	"ALTER TABLE devices DROP COLUMN diags; ALTER TABLE devices DROP COLUMN files;"
/* 9: the device clock's offset */
#define CLOCK_DROP_MIGRATION_9 \
	"ALTER TABLE devices DROP COLUMN clock_offset_s;" \
	"ALTER TABLE devices DROP COLUMN clock_reported_at;"
/* 11: disabled users, the product registry, revocations per device;
 * 12: the tokens' password login time */
#define ADMIN_DROP_MIGRATIONS_11_12 \
	"ALTER TABLE users DROP COLUMN disabled; DROP TABLE products;" \
	"ALTER TABLE devices DROP COLUMN revocations;" \
	"ALTER TABLE api_tokens DROP COLUMN auth_at;"
/* 10: relay event report ids already taken */
#define REPORTS_DROP_MIGRATION_10 "DROP TABLE relay_reports;"
/* 14: relay moves of a consented session */
#define MOVES_DROP_MIGRATION_14 "ALTER TABLE sessions DROP COLUMN relay_moves;"
/* 15: a visit's further connections */
#define VISIT_DROP_MIGRATION_15 "DROP TABLE session_conns;"
/* 16: shell recordings */
#define RECORDINGS_DROP_MIGRATION_16 "DROP TABLE session_recordings;"
/* 21: the maintenance queue, change control and a file's activity */
/* 22: fleet advisories */
#define DEPLOY_DROP_MIGRATION_23 "DROP TABLE deployments; DROP INDEX activities_batch;"
#define ADVISORIES_DROP_MIGRATION_22 "DROP TABLE advisories;"
/* 21: the maintenance queue */
#define QUEUE_DROP_MIGRATION_21 "DROP TABLE activities;" \
	"ALTER TABLE sites DROP COLUMN change_control; ALTER TABLE sites DROP COLUMN cc_kinds;" \
	"ALTER TABLE sites DROP COLUMN windows; ALTER TABLE sites DROP COLUMN timezone;" \
	"ALTER TABLE device_files DROP COLUMN activity;"
/* 20: service record notices */
#define RECORDS_DROP_MIGRATION_20 "DROP TABLE record_notices; DROP INDEX sessions_updated;" \
	"DELETE FROM siem_cursors WHERE sink = 'records';"
/* 19: data files */
#define FILES_DROP_MIGRATION_19 "DROP TABLE device_files;"
/* 18: SIEM cursors */
#define SIEM_DROP_MIGRATION_18 "DROP TABLE siem_cursors;"
/* 17: device status, its history and error codes */
#define STATUS_DROP_MIGRATION_17 \
	"DROP TABLE device_status; DROP TABLE device_status_history; DROP TABLE device_errors;"
#define RELAY_DROP_MIGRATION_3 \
	"ALTER TABLE relays DROP COLUMN audit_seq;" \
	"ALTER TABLE relays DROP COLUMN audit_hash;" \
	"ALTER TABLE relays DROP COLUMN audit_open_seq;" \
	"ALTER TABLE relays DROP COLUMN audit_open_hash;" \
	"ALTER TABLE relays DROP COLUMN audit_rollback_seq;" \
	"ALTER TABLE relays DROP COLUMN audit_rollback_hash;"

/* Undo migration 4 (accounts), so that an older schema can be rebuilt. */
#define ACCOUNT_DROP_MIGRATION_4 \
	"DROP TABLE login_failures; DROP TABLE recovery_codes; DROP TABLE user_totp;" \
	"DROP INDEX api_tokens_user;" \
	"ALTER TABLE api_tokens DROP COLUMN last_used_at;" \
	"ALTER TABLE api_tokens DROP COLUMN scope;" \
	"ALTER TABLE users DROP COLUMN must_change_password;"

/* Migration 11 upgrades a version-10 database: regions in upper case,
 * the products devices use registered, a revoked device counted once. */
static void test_migration_11_admin(void **state)
{
	struct fixture *f = *state;
	struct store_user u;
	int64_t n = 0;
	int v = 0;

	add_user_and_device(f->st);
	assert_int_equal(store_device_revoke(f->st, "SN1", NULL), 0);
	store_close(f->st);
	f->st = NULL;
	raw_sql(f->path, DEPLOY_DROP_MIGRATION_23 ADVISORIES_DROP_MIGRATION_22 QUEUE_DROP_MIGRATION_21 RECORDS_DROP_MIGRATION_20 FILES_DROP_MIGRATION_19 SIEM_DROP_MIGRATION_18 STATUS_DROP_MIGRATION_17 RECORDINGS_DROP_MIGRATION_16 VISIT_DROP_MIGRATION_15 MOVES_DROP_MIGRATION_14 OFFERS_DROP_MIGRATION_13 ADMIN_DROP_MIGRATIONS_11_12
	                 "UPDATE users SET region = 'us';"
	                 "DELETE FROM schema_version WHERE version >= 11;");
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_schema_version(f->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.region, "US");
	assert_int_equal(u.disabled, 0);
	assert_int_equal(store_product_get(f->st, "inj"), 0);
	assert_int_equal(store_product_get(f->st, "other"), TE_ERR_NOT_FOUND);
	assert_int_equal(store_device_revoked_count(f->st, &n), 0);
	assert_int_equal(n, 1);
}

/* Disable revokes tokens and refuses twice; products are unique; a reissue
 * makes a revoked device enrollable with a new token while the revocation
 * count keeps growing; a relay is removed once. */
static void test_admin_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct store_relay r = { .name = "r1", .host = "h", .device_port = 1, .client_port = 2,
	                         .cert_fp = "ff" };
	struct store_audit_entry a = { "admin", "x", "{}" };
	struct store_device d;
	struct store_user u;
	int64_t n = 0;
	int revoked = -1;

	add_user_and_device(f->st);
	assert_int_equal(store_token_add(f->st, "t1", "alice", 1, 1000), 0);
	assert_int_equal(store_user_set_disabled(f->st, "alice", 1, &revoked, &a), 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(store_user_set_disabled(f->st, "alice", 1, &revoked, &a), TE_ERR_EXISTS);
	assert_int_equal(store_user_set_disabled(f->st, "nobody", 1, &revoked, &a), TE_ERR_NOT_FOUND);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_int_equal(u.disabled, 1);
	assert_int_equal(store_user_set_disabled(f->st, "alice", 0, NULL, &a), 0);
	snprintf(u.region, sizeof(u.region), "DE");
	u.level = 3;
	assert_int_equal(store_user_update(f->st, &u, &a), 0);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.region, "DE");
	assert_int_equal(u.level, 3);

	assert_int_equal(store_product_add(f->st, "injector", 1, &a), 0);
	assert_int_equal(store_product_add(f->st, "injector", 1, &a), TE_ERR_EXISTS);
	assert_int_equal(store_product_count(f->st, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(store_device_set_enrolled(f->st, "SN1", "aa", "ssh-ed25519 AAAA", NULL), 0);
	assert_int_equal(store_device_revoke(f->st, "SN1", NULL), 0);
	assert_int_equal(store_device_reissue(f->st, "SN1", "newtok", 4000000000, &a), 0);
	assert_int_equal(store_device_reissue(f->st, "SN9", "x", 4000000000, &a), TE_ERR_NOT_FOUND);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.status, "registered");
	assert_string_equal(d.cert_fp, "");
	assert_int_equal(store_enroll_token_use(f->st, "SN1", "newtok", 1), 0);
	assert_int_equal(store_device_set_enrolled(f->st, "SN1", "bb", "ssh-ed25519 AAAA", NULL), 0);
	assert_int_equal(store_device_revoke(f->st, "SN1", NULL), 0);
	assert_int_equal(store_device_revoked_count(f->st, &n), 0);
	assert_int_equal(n, 2);

	assert_int_equal(store_relay_add(f->st, &r), 0);
	assert_int_equal(store_relay_remove(f->st, "r1", &a), 0);
	assert_int_equal(store_relay_remove(f->st, "r1", &a), TE_ERR_NOT_FOUND);
}

/* The relay anchor rises only (with the open head of the run that raised
 * it); a rollback is audited once per distinct head, the anchor untouched. */
static void test_relay_audit_anchor_and_rollback(void **state)
{
	struct fixture *f = *state;
	struct store_relay r = { .name = "r1", .host = "127.0.0.1", .device_port = 1,
	                         .client_port = 2, .cert_fp = "ff" }, got;
	struct store_audit_head h9 = head(9, 'a'), h7 = head(7, 'b'), h5 = head(5, 'c');
	struct store_audit_head o1 = head(1, 'd'), o2 = head(2, 'e');
	struct store_audit_entry a = { "server", "relay_audit_rollback", "{\"relay\":\"r1\"}" };

	assert_int_equal(store_relay_add(f->st, &r), 0);
	assert_int_equal(store_relay_get(f->st, "r1", &got), 0);
	assert_int_equal(got.audit_head.seq, 0);
	assert_string_equal(got.audit_rollback.hash, "");
	assert_int_equal(store_relay_audit_anchor(f->st, "r1", &h9, &o1), 0);
	assert_int_equal(store_relay_audit_anchor(f->st, "r1", &h7, &o2), 0);   /* lower: no change */
	assert_int_equal(store_relay_get(f->st, "r1", &got), 0);
	assert_int_equal(got.audit_head.seq, 9);
	assert_string_equal(got.audit_head.hash, h9.hash);
	assert_int_equal(got.audit_open.seq, 1);
	assert_string_equal(got.audit_open.hash, o1.hash);
	assert_int_equal(store_relay_audit_rollback(f->st, "r1", &h7, &a), 0);
	assert_int_equal(store_relay_audit_rollback(f->st, "r1", &h7, &a), TE_ERR_EXISTS);
	assert_int_equal(audit_count(f->st), 1);
	assert_int_equal(store_relay_audit_rollback(f->st, "r1", &h5, &a), 0);
	assert_int_equal(audit_count(f->st), 2);
	assert_int_equal(store_relay_get(f->st, "r1", &got), 0);
	assert_int_equal(got.audit_head.seq, 9);
	assert_int_equal(got.audit_rollback.seq, 5);
	assert_string_equal(got.audit_rollback.hash, h5.hash);
	assert_int_equal(store_relay_audit_rollback(f->st, "nope", &h5, &a), TE_ERR_EXISTS);
}

static int count_cp(const struct checkpoint *cp, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Checkpoints: one per seq, the latest by seq; the head and a record's hash
 * read back as the chain holds them. */
static void test_audit_checkpoints(void **state)
{
	struct fixture *f = *state;
	struct checkpoint cp, got;
	char hash[SHA256_HEX_BYTES], at[SHA256_HEX_BYTES];
	int64_t seq = -1;
	int n = 0;

	assert_int_equal(store_audit_head(f->st, &seq, hash), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hash, AUDIT_GENESIS_HASH);
	assert_int_equal(store_checkpoint_latest(f->st, &got), TE_ERR_NOT_FOUND);
	assert_int_equal(store_audit_append(f->st, "t", "one", "{}"), 0);
	assert_int_equal(store_audit_append(f->st, "t", "two", "{}"), 0);
	assert_int_equal(store_audit_head(f->st, &seq, hash), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(store_audit_hash_at(f->st, 2, at), 0);
	assert_string_equal(at, hash);
	assert_int_equal(store_audit_hash_at(f->st, 3, at), TE_ERR_NOT_FOUND);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.server, sizeof(cp.server), "srv");
	cp.seq = 2;
	snprintf(cp.hash, sizeof(cp.hash), "%s", hash);
	cp.time = 1700000000;
	memset(cp.sig, 'a', sizeof(cp.sig) - 1);
	assert_int_equal(store_checkpoint_add(f->st, &cp), 0);
	assert_int_equal(store_checkpoint_add(f->st, &cp), TE_ERR_EXISTS);
	cp.seq = 1;
	assert_int_equal(store_checkpoint_add(f->st, &cp), 0);
	assert_int_equal(store_checkpoint_latest(f->st, &got), 0);
	assert_int_equal(got.seq, 2);
	assert_string_equal(got.hash, hash);
	assert_string_equal(got.sig, cp.sig);
	assert_int_equal(store_checkpoint_each(f->st, count_cp, &n), 0);
	assert_int_equal(n, 2);
}

/* A relay event report id is taken once; another relay's same id is its own. */
static void test_relay_report_ids(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_relay_report_seen(f->st, "r1", "abc"), 0);
	assert_int_equal(store_relay_report_done(f->st, "r1", "abc", 1700000000), 0);
	assert_int_equal(store_relay_report_seen(f->st, "r1", "abc"), 1);
	assert_int_equal(store_relay_report_done(f->st, "r1", "abc", 1700000001), 0);
	assert_int_equal(store_relay_report_seen(f->st, "r2", "abc"), 0);
	/* Ids are forgotten after 30 days. */
	assert_int_equal(store_relay_report_done(f->st, "r2", "new", 1700000000 + 31 * 86400), 0);
	assert_int_equal(store_relay_report_seen(f->st, "r1", "abc"), 0);
}

/* A version-2 database keeps its relays and gains empty anchors. */
static void test_migration_3_upgrades_a_version_2_database(void **state)
{
	struct fixture *f = *state;
	struct store_relay r = { .name = "r1", .host = "127.0.0.1", .device_port = 1,
	                         .client_port = 2, .cert_fp = "ff" }, got;
	int v = 0;

	assert_int_equal(store_relay_add(f->st, &r), 0);
	store_close(f->st);
	f->st = NULL;
	raw_sql(f->path, LATER_DROP_MIGRATIONS ACCOUNT_DROP_MIGRATION_4 RELAY_DROP_MIGRATION_3
	                 "DELETE FROM schema_version WHERE version >= 3;");
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_schema_version(f->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_relay_get(f->st, "r1", &got), 0);
	assert_string_equal(got.cert_fp, "ff");
	assert_int_equal(got.audit_head.seq, 0);
	assert_string_equal(got.audit_rollback.hash, "");
}

/* A version-8 database keeps its devices, which have no clock offset
 * reported until their agents ping; a report is then kept. */
static void test_migration_9_device_clock(void **state)
{
	struct fixture *f = *state;
	struct store_device d;
	int v = 0;

	add_user_and_device(f->st);
	store_close(f->st);
	f->st = NULL;
	raw_sql(f->path, DEPLOY_DROP_MIGRATION_23 ADVISORIES_DROP_MIGRATION_22 QUEUE_DROP_MIGRATION_21 RECORDS_DROP_MIGRATION_20 FILES_DROP_MIGRATION_19 SIEM_DROP_MIGRATION_18 STATUS_DROP_MIGRATION_17 RECORDINGS_DROP_MIGRATION_16 VISIT_DROP_MIGRATION_15 MOVES_DROP_MIGRATION_14 OFFERS_DROP_MIGRATION_13
	        ADMIN_DROP_MIGRATIONS_11_12 REPORTS_DROP_MIGRATION_10 CLOCK_DROP_MIGRATION_9
	        "DELETE FROM schema_version WHERE version >= 9;");
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_schema_version(f->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_int_equal(d.clock_reported_at, 0);
	assert_int_equal(store_device_clock(f->st, "SN1", -3600, 1700000000), 0);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_int_equal(d.clock_offset_s, -3600);
	assert_int_equal(d.clock_reported_at, 1700000000);
	/* Migration 13: nothing offered is known until the agent reports it. */
	assert_string_equal(d.diags, "");
	assert_int_equal(store_device_offers(f->st, "SN1", "[\"df\"]", NULL), 0);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.diags, "[\"df\"]");
	assert_string_equal(d.files, "");
}

/* A database made before migration 2 keeps its devices and gains an empty
 * anchor. */
static void test_migration_2_upgrades_a_version_1_database(void **state)
{
	struct fixture *f = *state;
	struct store_device d;
	int v = 0;

	add_user_and_device(f->st);
	store_close(f->st);
	f->st = NULL;
	raw_sql(f->path, LATER_DROP_MIGRATIONS "ALTER TABLE devices DROP COLUMN audit_seq;"
	                 "ALTER TABLE devices DROP COLUMN audit_hash;"
	                 "ALTER TABLE devices DROP COLUMN audit_rollback_seq;"
	                 "ALTER TABLE devices DROP COLUMN audit_rollback_hash;"
	                 ACCOUNT_DROP_MIGRATION_4 RELAY_DROP_MIGRATION_3
	                 "DELETE FROM schema_version WHERE version >= 2;");
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_schema_version(f->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_device_get(f->st, "SN1", &d), 0);
	assert_string_equal(d.customer, "H");
	assert_int_equal(d.audit_head.seq, 0);
}

static int count_sessions(const struct store_session *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/* Sites, the site of devices and users, certifications, and what a session
 * carries from the policy (migration 5). */
static void test_sites_and_certifications(void **state)
{
	struct fixture *f = *state;
	struct store_site s = { .name = "st-a", .customer = "Hospital A",
	                        .contract_until = "2030-01-31", .remote_enabled = 1,
	                        .approval_mode = "none", .created_at = 5 }, got;
	struct store_audit_entry a = { "admin", "site_add", "{}" };
	struct store_session x, back;
	struct store_device dev;
	struct store_user user;
	char until[STORE_DATE_BYTES];
	int n = 0;

	add_user_and_device(f->st);
	assert_int_equal(store_site_add(f->st, &s, &a), 0);
	assert_int_equal(store_site_add(f->st, &s, NULL), TE_ERR_EXISTS);
	assert_int_equal(store_site_get(f->st, "st-a", &got), 0);
	assert_string_equal(got.contract_until, "2030-01-31");
	assert_true(got.remote_enabled);
	assert_int_equal(store_site_get(f->st, "st-b", &got), TE_ERR_NOT_FOUND);
	got.remote_enabled = 0;
	snprintf(got.remote_changed_by, sizeof(got.remote_changed_by), "carol");
	snprintf(got.approval_mode, sizeof(got.approval_mode), "all");
	assert_int_equal(store_site_update(f->st, &got, NULL), 0);
	assert_int_equal(store_site_get(f->st, "st-a", &got), 0);
	assert_false(got.remote_enabled);
	assert_string_equal(got.remote_changed_by, "carol");
	assert_string_equal(got.approval_mode, "all");
	snprintf(got.name, sizeof(got.name), "st-b");
	assert_int_equal(store_site_update(f->st, &got, NULL), TE_ERR_NOT_FOUND);

	assert_int_equal(store_device_get(f->st, "SN1", &dev), 0);
	assert_string_equal(dev.site, "");
	assert_int_equal(store_device_set_site(f->st, "SN1", "st-a", NULL), 0);
	assert_int_equal(store_device_get(f->st, "SN1", &dev), 0);
	assert_string_equal(dev.site, "st-a");
	assert_int_equal(store_device_set_site(f->st, "SN9", "st-a", NULL), TE_ERR_NOT_FOUND);
	assert_int_equal(store_user_set_site(f->st, "alice", "st-a", NULL), 0);
	assert_int_equal(store_user_get(f->st, "alice", &user), 0);
	assert_string_equal(user.site, "st-a");

	assert_int_equal(store_cert_get(f->st, "alice", "inj", until), TE_ERR_NOT_FOUND);
	assert_int_equal(store_cert_set(f->st, "alice", "inj", "2027-06-30", NULL), 0);
	assert_int_equal(store_cert_set(f->st, "alice", "inj", "2028-06-30", NULL), 0);
	assert_int_equal(store_cert_get(f->st, "alice", "inj", until), 0);
	assert_string_equal(until, "2028-06-30");
	assert_int_not_equal(store_cert_set(f->st, "nobody", "inj", "2028-06-30", NULL), 0);

	/* A session keeps what it was granted and the customer's window. */
	memset(&x, 0, sizeof(x));
	snprintf(x.id, sizeof(x.id), "%032d", 7);
	snprintf(x.device, sizeof(x.device), "SN1");
	snprintf(x.user, sizeof(x.user), "alice");
	snprintf(x.reason, sizeof(x.reason), "T-1");
	snprintf(x.services, sizeof(x.services), "[\"http\"]");
	snprintf(x.actions, sizeof(x.actions), "[\"shell\"]");
	snprintf(x.state, sizeof(x.state), "awaiting_customer");
	snprintf(x.site, sizeof(x.site), "st-a");
	snprintf(x.customer, sizeof(x.customer), "approval");
	x.escalation = 1;
	x.max_s = 600;
	x.idle_s = 60;
	x.customer_deadline = 99;
	x.created_at = 10;
	assert_int_equal(store_session_add(f->st, &x, NULL), 0);
	assert_int_equal(store_session_get(f->st, x.id, &back), 0);
	assert_string_equal(back.actions, "[\"shell\"]");
	assert_string_equal(back.customer, "approval");
	assert_string_equal(back.site, "st-a");
	assert_int_equal(back.escalation, 1);
	assert_int_equal(back.max_s, 600);
	assert_int_equal(back.idle_s, 60);
	assert_int_equal(back.customer_deadline, 99);
	/* awaiting_customer is open: the device is busy and the site lists it. */
	assert_int_equal(store_session_open_for_device(f->st, "SN1", &back), 0);
	assert_int_equal(store_session_each_open_at_site(f->st, "st-a", count_sessions, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_session_each_open_at_site(f->st, "st-b", count_sessions, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_session_each_awaiting_customer(f->st, "st-a", count_sessions, &n), 0);
	assert_int_equal(store_session_each_awaiting_customer(f->st, NULL, count_sessions, &n), 0);
	assert_int_equal(store_session_each_awaiting_customer(f->st, "st-b", count_sessions, &n), 0);
	assert_int_equal(n, 2);
}

static int deploy_count_cb(const char *id, const char *state, const char *body, void *arg)
{
	int *n = arg;

	(void)body;
	assert_true(strcmp(id, "d1") == 0 || strcmp(id, "d2") == 0);
	assert_true(strcmp(state, "running") == 0 || strcmp(state, "done") == 0);
	(*n)++;
	return 0;
}

/* Deployments (migration 23): one row per id, replaced in place, found by
 * state; the per-batch counts of activities. */
static void test_deployments(void **state)
{
	struct fixture *f = *state;
	struct store_audit_entry a = { "rel", "deployment_created", "{}" };
	char st[STORE_DEPLOY_STATE_BYTES], *body = NULL;
	int n = 0;

	assert_int_equal(store_deployment_put(f->st, "d1", "running", "{\"v\":1}", 100, 100, &a), 0);
	assert_int_equal(store_deployment_put(f->st, "d2", "running", "{}", 200, 200, NULL), 0);
	assert_int_equal(store_deployment_put(f->st, "d1", "done", "{\"v\":2}", 999, 300, NULL), 0);
	assert_int_equal(store_deployment_get(f->st, "d1", &body, st), 0);
	assert_string_equal(body, "{\"v\":2}");
	assert_string_equal(st, "done");
	free(body);
	assert_int_equal(store_deployment_get(f->st, "d9", &body, st), TE_ERR_NOT_FOUND);
	assert_int_equal(store_deployment_each(f->st, "running", 10, deploy_count_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_deployment_each(f->st, NULL, 10, deploy_count_cb, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_deployment_each(f->st, NULL, 1, deploy_count_cb, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deployments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations_apply_to_fresh_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enroll_token_single_use_bound_to_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_crud_and_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_detects_edit_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_detects_deleted_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_audit_anchor_never_lowers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_audit_rollback_once_per_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_9_device_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_2_upgrades_a_version_1_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_11_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_audit_anchor_and_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_3_upgrades_a_version_2_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_report_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sites_and_certifications, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* store_account.c: the SQLite backend's accounts and MFA (store.h, migration
 * 4): forced password changes, token scope and idle time, sealed TOTP
 * secrets with the last accepted step, hashed recovery codes and login
 * failure counters. Changes that touch several rows or the audit chain run
 * in one IMMEDIATE transaction. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int store_account_get(struct store *st, const char *user, struct store_account *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	if ((rc = store_prep(st, "SELECT u.must_change_password, t.enrolled, t.last_step,"
	                         " t.secret_box FROM users u LEFT JOIN user_totp t"
	                         " ON t.user = u.name WHERE u.name = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &user, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->must_change_password = sqlite3_column_int(s, 0) != 0;
		if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
			out->totp_enrolled = sqlite3_column_int(s, 1) != 0;
			out->totp_pending = !out->totp_enrolled;
			out->totp_last_step = sqlite3_column_int64(s, 2);
			store_col(s, 3, out->totp_box, sizeof(out->totp_box));
		}
	} else {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "account get");
	}
out:
	store_finish(st, s);
	return rc;
}

/* ---- tokens ---- */

int store_token_add_scoped(struct store *st, const char *hash, const char *user,
                           const char *scope, int64_t now, int64_t expires_at)
{
	const char *t[] = { hash, user, scope };
	const int64_t iv[] = { now, expires_at };

	return store_run(st, "INSERT INTO api_tokens(hash, user, scope, created_at,"
	                     " expires_at, last_used_at, auth_at) VALUES(?1,?2,?3,?4,?5,?4,?4)",
	                 t, 3, iv, 2, NULL);
}

int store_token_use(struct store *st, const char *hash, int64_t now, int64_t idle_s,
                    char user[MAX_NAME_BYTES], char scope[STORE_SCOPE_BYTES])
{
	sqlite3_stmt *s = NULL;
	int64_t exp, last;
	int rc = 0, step;

	/* The check is a read: it needs no write lock, so a database another
	 * process holds still lets tokens be checked (docs/architecture.md). */
	if ((rc = store_prep(st, "SELECT user, scope, expires_at, revoked, last_used_at"
	                         " FROM api_tokens WHERE hash = ?", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, &hash, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "token use");
		goto out;
	}
	store_col(s, 0, user, MAX_NAME_BYTES);
	store_col(s, 1, scope, STORE_SCOPE_BYTES);
	exp = sqlite3_column_int64(s, 2);
	last = sqlite3_column_int64(s, 4);
	if (sqlite3_column_int(s, 3) != 0)
		rc = TE_ERR_DENIED;
	else if (exp <= now)
		rc = TE_ERR_EXPIRED;
	else if (idle_s > 0 && now - last > idle_s)
		rc = TE_ERR_TIMEOUT;
	store_finish(st, s);
	s = NULL;
	if (rc == 0 || rc == TE_ERR_TIMEOUT) {
		/* An idle token is dead for good, not only until its next use. A
		 * last use that cannot be written (the database locked) does not
		 * change the verdict: the token only looks idle sooner. */
		const int64_t iv[] = { now };
		(void)store_run(st, rc == 0 ?
		                "UPDATE api_tokens SET last_used_at = ?2 WHERE hash = ?1" :
		                "UPDATE api_tokens SET revoked = 1 WHERE hash = ?1 AND ?2 > 0",
		                &hash, 1, iv, 1, NULL);
	}
out:
	store_finish(st, s);
	if (rc != 0) {
		user[0] = '\0';
		scope[0] = '\0';
	}
	return rc;
}

/* Revoke inside the caller's transaction. */
static int store_token_revoke_user_tx(struct store *st, const char *user, int *count)
{
	int n = 0, rc;

	/* Expired tokens are dead already: count only the live ones. */
	rc = store_run(st, "UPDATE api_tokens SET revoked = 1 WHERE user = ? AND"
	                   " revoked = 0 AND expires_at > CAST(strftime('%s','now')"
	                   " AS INTEGER)", &user, 1, NULL, 0, &n);
	if (count != NULL)
		*count = n;
	return rc;
}

int store_token_revoke_user(struct store *st, const char *user, int *count,
                            const struct store_audit_entry *audit)
{
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_token_revoke_user_tx(st, user, count)) == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

/* ---- passwords ---- */

int store_password_set(struct store *st, const char *user, const char *pwhash,
                       int must_change, int *revoked,
                       const struct store_audit_entry *audit)
{
	const char *t[] = { user, pwhash };
	const int64_t iv[] = { must_change ? 1 : 0 };
	int rc, n = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, "UPDATE users SET pwhash = ?2, must_change_password = ?3"
	                   " WHERE name = ?1", t, 2, iv, 1, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_NOT_FOUND;
	if (rc == 0)
		rc = store_token_revoke_user_tx(st, user, revoked);
	if (rc == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

/* ---- TOTP and recovery codes ---- */

int store_totp_set_pending(struct store *st, const char *user, const char *box,
                           int64_t now)
{
	const char *t[] = { user, box };
	const int64_t iv[] = { now };
	int rc, n = 0;

	/* Replaces only an unconfirmed secret: an enrolled one stays. */
	rc = store_run(st, "INSERT INTO user_totp(user, secret_box, created_at)"
	                   " VALUES(?1,?2,?3) ON CONFLICT(user) DO UPDATE SET"
	                   " secret_box = excluded.secret_box, created_at ="
	                   " excluded.created_at, last_step = 0 WHERE enrolled = 0",
	               t, 2, iv, 1, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_EXISTS;
	return rc;
}

int store_totp_confirm(struct store *st, const char *user, int64_t step,
                       char hashes[][SHA256_HEX_BYTES], int n,
                       const struct store_audit_entry *audit)
{
	const int64_t iv[] = { step };
	int rc, changed = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, "UPDATE user_totp SET enrolled = 1, last_step = ?2"
	                   " WHERE user = ?1 AND enrolled = 0", &user, 1, iv, 1, &changed);
	if (rc == 0 && changed == 0)
		rc = TE_ERR_EXISTS;
	if (rc == 0)
		rc = store_run(st, "DELETE FROM recovery_codes WHERE user = ?", &user, 1,
		               NULL, 0, NULL);
	for (int i = 0; rc == 0 && i < n; i++) {
		const char *t[] = { user, hashes[i] };
		rc = store_run(st, "INSERT INTO recovery_codes(user, hash) VALUES(?,?)",
		               t, 2, NULL, 0, NULL);
	}
	if (rc == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

int store_totp_accept_step(struct store *st, const char *user, int64_t step)
{
	const int64_t iv[] = { step };
	int rc, n = 0;

	/* The comparison is in the statement: two logins racing with one code
	 * cannot both win. */
	rc = store_run(st, "UPDATE user_totp SET last_step = ?2 WHERE user = ?1 AND"
	                   " enrolled = 1 AND last_step < ?2", &user, 1, iv, 1, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_REPLAY;
	return rc;
}

/* Count user's unused recovery codes inside the transaction. */
static int store_recovery_left(struct store *st, const char *user, int *left)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*left = 0;
	if ((rc = store_prep(st, "SELECT count(*) FROM recovery_codes WHERE user = ? AND"
	                         " used_at IS NULL", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &user, 1)) == 0) {
		if (sqlite3_step(s) == SQLITE_ROW)
			*left = sqlite3_column_int(s, 0);
		else
			rc = store_fail(st, "recovery count");
	}
	store_finish(st, s);
	return rc;
}

int store_recovery_use(struct store *st, const char *user, const char *hash,
                       int64_t now, int *left, const struct store_audit_entry *audit)
{
	sqlite3_stmt *s = NULL;
	char match[SHA256_HEX_BYTES];
	int rc;

	*left = 0;
	if ((rc = store_begin(st)) != 0)
		return rc;
	/* Compare every unused code in constant time rather than look the hash
	 * up by index. */
	if ((rc = store_prep(st, "SELECT hash FROM recovery_codes WHERE user = ? AND"
	                         " used_at IS NULL", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, &user, 1)) != 0)
		goto out;
	if ((rc = store_match_hash(st, s, hash, match, "recovery codes")) != 0)
		goto out;
	store_finish(st, s);
	s = NULL;
	{
		const char *t[] = { user, match };
		const int64_t iv[] = { now };
		rc = store_run(st, "UPDATE recovery_codes SET used_at = ?3 WHERE user = ?1"
		                   " AND hash = ?2 AND used_at IS NULL", t, 2, iv, 1, NULL);
	}
	if (rc == 0)
		rc = store_recovery_left(st, user, left);
	if (rc == 0)
		rc = store_audit_opt(st, audit);
out:
	store_finish(st, s);
	return store_end(st, rc);
}

int store_mfa_reset(struct store *st, const char *user, int *revoked,
                    const struct store_audit_entry *audit)
{
	int rc, n = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	rc = store_run(st, "DELETE FROM user_totp WHERE user = ?", &user, 1, NULL, 0, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_NOT_FOUND;
	if (rc == 0)
		rc = store_run(st, "DELETE FROM recovery_codes WHERE user = ?", &user, 1,
		               NULL, 0, NULL);
	if (rc == 0)
		rc = store_token_revoke_user_tx(st, user, revoked);
	if (rc == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

/* ---- login failures ---- */

int store_login_locked(struct store *st, const char *kind, const char *key,
                       int64_t now, int64_t *until)
{
	sqlite3_stmt *s = NULL;
	const char *t[] = { kind, key };
	int rc, step;

	*until = 0;
	if ((rc = store_prep(st, "SELECT locked_until FROM login_failures WHERE kind = ?"
	                         " AND key = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		int64_t u = sqlite3_column_int64(s, 0);
		if (u > now) {
			*until = u;
			rc = TE_ERR_LOCKED;
		}
	} else if (step != SQLITE_DONE) {
		rc = store_fail(st, "login locked");
	}
out:
	store_finish(st, s);
	return rc;
}

/* base*2^(failures-max), capped at max_s, without overflow. */
static int64_t store_lock_seconds(const struct store_lock_policy *p, int failures)
{
	int64_t secs = p->base_s;

	for (int i = p->max_failures; i < failures && secs < p->max_s; i++)
		secs *= 2;
	return secs < p->max_s ? secs : p->max_s;
}

int store_login_fail(struct store *st, const char *kind, const char *key, int64_t now,
                     const struct store_lock_policy *p, int *failures, int64_t *until)
{
	sqlite3_stmt *s = NULL;
	const char *t[] = { kind, key };
	int64_t last = 0;
	int rc, step, n = 0;

	*failures = 0;
	*until = 0;
	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_prep(st, "SELECT failures, last_failure_at FROM login_failures"
	                         " WHERE kind = ? AND key = ?", &s)) != 0)
		goto out;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		n = sqlite3_column_int(s, 0);
		last = sqlite3_column_int64(s, 1);
	} else if (step != SQLITE_DONE) {
		rc = store_fail(st, "login fail");
		goto out;
	}
	store_finish(st, s);
	s = NULL;
	/* A counter left alone longer than the longest lock starts again, so
	 * failures spread over months never add up to a lock. */
	if (last > 0 && now - last > p->max_s)
		n = 0;
	n++;
	if (n >= p->max_failures)
		*until = now + store_lock_seconds(p, n);
	{
		const int64_t iv[] = { n, *until, now };
		rc = store_run(st, "INSERT INTO login_failures(kind, key, failures,"
		                   " locked_until, last_failure_at) VALUES(?1,?2,?3,?4,?5)"
		                   " ON CONFLICT(kind, key) DO UPDATE SET failures = ?3,"
		                   " locked_until = ?4, last_failure_at = ?5", t, 2, iv, 3, NULL);
	}
	*failures = n;
out:
	store_finish(st, s);
	return store_end(st, rc);
}

int store_login_clear(struct store *st, const char *kind, const char *key)
{
	const char *t[] = { kind, key };
	int rc, n = 0;

	rc = store_run(st, "DELETE FROM login_failures WHERE kind = ? AND key = ?",
	               t, 2, NULL, 0, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_NOT_FOUND;
	return rc;
}

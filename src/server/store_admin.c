/* store_admin.c: what the administrator's lifecycle commands change
 * (migration 11) in the SQLite backend of store.h: users listed, updated,
 * disabled and enabled; the registry of product families; relays removed;
 * devices made enrollable again. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int store_user_each(struct store *st, store_user_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	struct store_user u;
	int rc, step;

	if ((rc = store_prep(st, "SELECT name, role, level, region, created_at, site, disabled"
	                         " FROM users ORDER BY name", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		store_col(s, 0, u.name, sizeof(u.name));
		store_col(s, 1, u.role, sizeof(u.role));
		u.level = sqlite3_column_int(s, 2);
		store_col(s, 3, u.region, sizeof(u.region));
		u.created_at = sqlite3_column_int64(s, 4);
		store_col(s, 5, u.site, sizeof(u.site));
		u.disabled = sqlite3_column_int(s, 6) != 0;
		if ((rc = cb(&u, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "user list");
out:
	store_finish(st, s);
	return rc;
}

int store_user_update(struct store *st, const struct store_user *u,
                      const struct store_audit_entry *audit)
{
	const char *v[] = { u->role, u->region, u->site, u->name };
	const int64_t iv[] = { u->level };

	return store_run_audited(st, "UPDATE users SET role = ?1, region = ?2, site = ?3,"
	                             " level = ?5 WHERE name = ?4", v, 4, iv, 1,
	                         TE_ERR_NOT_FOUND, audit);
}

int store_user_set_disabled(struct store *st, const char *name, int disabled,
                            int *revoked, const struct store_audit_entry *audit)
{
	const char *v[] = { name };
	const int64_t iv[] = { disabled ? 1 : 0 };
	struct store_user u;
	int rc, changes = 0;

	if (revoked != NULL)
		*revoked = 0;
	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_user_get(st, name, &u)) != 0)
		goto out;
	if (u.disabled == (disabled ? 1 : 0)) {
		rc = TE_ERR_EXISTS;
		goto out;
	}
	if ((rc = store_run(st, "UPDATE users SET disabled = ?2 WHERE name = ?1", v, 1, iv, 1,
	                    NULL)) != 0)
		goto out;
	if (disabled && (rc = store_run(st, "UPDATE api_tokens SET revoked = 1 WHERE user = ?1"
	                                    " AND revoked = 0", v, 1, NULL, 0, &changes)) != 0)
		goto out;
	if (revoked != NULL)
		*revoked = changes;
	rc = store_audit_opt(st, audit);
out:
	secret_wipe(&u, sizeof(u));
	return store_end(st, rc);
}

int store_product_add(struct store *st, const char *name, int64_t now,
                      const struct store_audit_entry *audit)
{
	const int64_t iv[] = { now };

	return store_run_audited(st, "INSERT INTO products(name, created_at) VALUES(?1, ?2)",
	                         &name, 1, iv, 1, 0, audit);
}

int store_product_get(struct store *st, const char *name)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT 1 FROM products WHERE name = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &name, 1)) == 0) {
		step = sqlite3_step(s);
		rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? TE_ERR_NOT_FOUND :
		     store_fail(st, "product get");
	}
	store_finish(st, s);
	return rc;
}

int store_product_each(struct store *st, store_product_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	char name[STORE_TEXT_BYTES];
	int rc, step;

	if ((rc = store_prep(st, "SELECT name, created_at FROM products ORDER BY name", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_col(s, 0, name, sizeof(name));
		if ((rc = cb(name, sqlite3_column_int64(s, 1), arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "product list");
out:
	store_finish(st, s);
	return rc;
}

int store_product_count(struct store *st, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	if ((rc = store_prep(st, "SELECT count(*) FROM products", &s)) != 0)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		rc = store_fail(st, "product count");
	store_finish(st, s);
	return rc;
}

int store_relay_remove(struct store *st, const char *name,
                       const struct store_audit_entry *audit)
{
	return store_run_audited(st, "DELETE FROM relays WHERE name = ?1", &name, 1, NULL, 0,
	                         TE_ERR_NOT_FOUND, audit);
}

int store_device_reissue(struct store *st, const char *serial, const char *hash,
                         int64_t expires_at, const struct store_audit_entry *audit)
{
	const char *v[] = { serial }, *tv[] = { hash, serial };
	const int64_t iv[] = { expires_at };
	int rc, changes = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_run(st, "UPDATE devices SET status = 'registered', cert_fp = ''"
	                        " WHERE serial = ?1", v, 1, NULL, 0, &changes)) != 0)
		goto out;
	if (changes == 0) {
		rc = TE_ERR_NOT_FOUND;
		goto out;
	}
	if ((rc = store_run(st, "UPDATE enroll_tokens SET used_at = strftime('%s','now')"
	                        " WHERE serial = ?1 AND used_at IS NULL", v, 1, NULL, 0,
	                    NULL)) != 0 ||
	    (rc = store_run(st, "INSERT INTO enroll_tokens(hash, serial, expires_at)"
	                        " VALUES(?1, ?2, ?3)", tv, 2, iv, 1, NULL)) != 0)
		goto out;
	rc = store_audit_opt(st, audit);
out:
	return store_end(st, rc);
}

int store_token_renew_get(struct store *st, const char *hash, char user[MAX_NAME_BYTES],
                          char scope[STORE_SCOPE_BYTES], int64_t *auth_at)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT user, scope, revoked, auth_at FROM api_tokens"
	                         " WHERE hash = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &hash, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "token renew get");
		goto out;
	}
	store_col(s, 0, user, MAX_NAME_BYTES);
	store_col(s, 1, scope, STORE_SCOPE_BYTES);
	*auth_at = sqlite3_column_int64(s, 3);
	if (sqlite3_column_int(s, 2) != 0)
		rc = TE_ERR_DENIED;
out:
	store_finish(st, s);
	return rc;
}

int store_token_renewed(struct store *st, const char *new_hash, const char *old_hash,
                        int64_t auth_at, const struct store_audit_entry *audit)
{
	const char *tn[] = { new_hash }, *to[] = { old_hash };
	const int64_t iv[] = { auth_at };
	int rc, changes = 0;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_run(st, "UPDATE api_tokens SET revoked = 1 WHERE hash = ?1 AND"
	                        " revoked = 0", to, 1, NULL, 0, &changes)) != 0)
		goto out;
	if (changes == 0) {
		rc = TE_ERR_DENIED;
		goto out;
	}
	if ((rc = store_run(st, "UPDATE api_tokens SET auth_at = ?2 WHERE hash = ?1", tn, 1,
	                    iv, 1, NULL)) != 0)
		goto out;
	rc = store_audit_opt(st, audit);
out:
	return store_end(st, rc);
}

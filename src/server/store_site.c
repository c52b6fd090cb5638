/* store_site.c: customer sites, the site of devices and users, and product
 * certifications (migration 5) in the SQLite backend of store.h. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define STORE_SITE_COLS "name, customer, contract_until, remote_enabled," \
	" remote_changed_by, remote_reason, approval_mode, created_at, change_control, cc_kinds," \
	" windows, timezone"

static void store_site_row(sqlite3_stmt *s, struct store_site *x)
{
	memset(x, 0, sizeof(*x));
	store_col(s, 0, x->name, sizeof(x->name));
	store_col(s, 1, x->customer, sizeof(x->customer));
	store_col(s, 2, x->contract_until, sizeof(x->contract_until));
	x->remote_enabled = sqlite3_column_int(s, 3);
	store_col(s, 4, x->remote_changed_by, sizeof(x->remote_changed_by));
	store_col(s, 5, x->remote_reason, sizeof(x->remote_reason));
	store_col(s, 6, x->approval_mode, sizeof(x->approval_mode));
	x->created_at = sqlite3_column_int64(s, 7);
	store_col(s, 8, x->change_control, sizeof(x->change_control));
	store_col(s, 9, x->cc_kinds, sizeof(x->cc_kinds));
	store_col(s, 10, x->windows, sizeof(x->windows));
	store_col(s, 11, x->timezone, sizeof(x->timezone));
}

int store_site_add(struct store *st, const struct store_site *x,
                   const struct store_audit_entry *audit)
{
	const char *v[] = { x->name, x->customer, x->contract_until, x->approval_mode };
	const int64_t iv[] = { x->remote_enabled, x->created_at };

	return store_run_audited(st, "INSERT INTO sites(name, customer, contract_until,"
	                             " approval_mode, remote_enabled, created_at)"
	                             " VALUES(?,?,?,?,?,?)", v, 4, iv, 2, 0, audit);
}

int store_site_get(struct store *st, const char *name, struct store_site *out)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT " STORE_SITE_COLS " FROM sites WHERE name = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &name, 1)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		store_site_row(s, out);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "site get");
out:
	store_finish(st, s);
	return rc;
}

int store_site_update(struct store *st, const struct store_site *x,
                      const struct store_audit_entry *audit)
{
	const char *v[] = { x->contract_until, x->approval_mode, x->remote_changed_by,
	                    x->remote_reason, x->name, x->change_control, x->cc_kinds,
	                    x->windows, x->timezone };
	const int64_t iv[] = { x->remote_enabled };

	return store_run_audited(st, "UPDATE sites SET contract_until = ?1, approval_mode = ?2,"
	                             " remote_changed_by = ?3, remote_reason = ?4,"
	                             " change_control = ?6, cc_kinds = ?7, windows = ?8,"
	                             " timezone = ?9, remote_enabled = ?10 WHERE name = ?5",
	                         v, 9, iv, 1, TE_ERR_NOT_FOUND, audit);
}

int store_site_each(struct store *st, store_site_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	struct store_site x;
	int rc, step;

	if ((rc = store_prep(st, "SELECT " STORE_SITE_COLS " FROM sites ORDER BY name", &s)) != 0)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_site_row(s, &x);
		if ((rc = cb(&x, arg)) != 0)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(st, "site list");
out:
	store_finish(st, s);
	return rc;
}

/* One text column of one row by n text keys; what names it in a log line. */
static int store_site_lookup(struct store *st, const char *sql, const char *const *keys,
                             int n, char *out, size_t outsz, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, sql, &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, keys, n)) != 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		store_col(s, 0, out, outsz);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, what);
out:
	store_finish(st, s);
	return rc;
}

int store_device_set_site(struct store *st, const char *serial, const char *site,
                          const struct store_audit_entry *audit)
{
	const char *v[] = { site, serial };

	return store_run_audited(st, "UPDATE devices SET site = ? WHERE serial = ?", v, 2,
	                         NULL, 0, TE_ERR_NOT_FOUND, audit);
}

int store_user_set_site(struct store *st, const char *name, const char *site,
                        const struct store_audit_entry *audit)
{
	const char *v[] = { site, name };

	return store_run_audited(st, "UPDATE users SET site = ? WHERE name = ?", v, 2, NULL, 0,
	                         TE_ERR_NOT_FOUND, audit);
}

int store_cert_set(struct store *st, const char *user, const char *product,
                   const char *expires_on, const struct store_audit_entry *audit)
{
	const char *v[] = { user, product, expires_on };

	return store_run_audited(st, "INSERT INTO certifications(user, product, expires_on)"
	                             " VALUES(?,?,?) ON CONFLICT(user, product)"
	                             " DO UPDATE SET expires_on = excluded.expires_on",
	                         v, 3, NULL, 0, 0, audit);
}

int store_cert_get(struct store *st, const char *user, const char *product,
                   char expires_on[STORE_DATE_BYTES])
{
	const char *v[] = { user, product };

	return store_site_lookup(st, "SELECT expires_on FROM certifications"
	                             " WHERE user = ? AND product = ?", v, 2,
	                         expires_on, STORE_DATE_BYTES, "certification get");
}

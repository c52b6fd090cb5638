/* store_invite.c: the SQLite backend's one-time enrollment codes (store.h,
 * migration 8). An administrator issues a code instead of a password; the
 * user spends it once to choose their own. */
#include "store_sqlite_int.h"

#include <string.h>

#include "err.h"
#include "secret.h"

int store_invite_issue(struct store *st, const char *user, const char *hash, int64_t now,
                       int64_t expires_at, int *revoked,
                       const struct store_audit_entry *audit)
{
	const char *t[] = { user, hash };
	const int64_t iv[] = { now, expires_at };
	int rc, n = 0;

	if (revoked != NULL)
		*revoked = 0;
	if ((rc = store_begin(st)) != 0)
		return rc;
	/* The old password stops working now: whoever holds the code sets the
	 * next one. */
	rc = store_run(st, "UPDATE users SET pwhash = '', must_change_password = 0"
	                   " WHERE name = ?1", t, 1, NULL, 0, &n);
	if (rc == 0 && n == 0)
		rc = TE_ERR_NOT_FOUND;
	if (rc == 0)
		rc = store_run(st, "UPDATE api_tokens SET revoked = 1 WHERE user = ?1 AND"
		                   " revoked = 0", t, 1, NULL, 0, revoked);
	if (rc == 0)
		rc = store_run(st, "INSERT OR REPLACE INTO user_invites(user, hash, created_at,"
		                   " expires_at, used_at) VALUES(?1, ?2, ?3, ?4, 0)",
		               t, 2, iv, 2, NULL);
	if (rc == 0)
		rc = store_audit_opt(st, audit);
	return store_end(st, rc);
}

/* The user's code: its hash, expiry and use (0: unused). */
static int store_invite_get(struct store *st, const char *user, char hash[SHA256_HEX_BYTES],
                            int64_t *expires_at, int64_t *used_at)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	if ((rc = store_prep(st, "SELECT hash, expires_at, used_at FROM user_invites"
	                         " WHERE user = ?", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &user, 1)) == 0) {
		step = sqlite3_step(s);
		if (step == SQLITE_ROW) {
			store_col(s, 0, hash, SHA256_HEX_BYTES);
			*expires_at = sqlite3_column_int64(s, 1);
			*used_at = sqlite3_column_int64(s, 2);
		} else {
			rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "invite get");
		}
	}
	store_finish(st, s);
	return rc;
}

int store_invite_use(struct store *st, const char *user, const char *hash, int64_t now,
                     const char *pwhash, const struct store_audit_entry *audit)
{
	char want[SHA256_HEX_BYTES] = "";
	int64_t expires_at = 0, used_at = 0;
	int rc;

	if ((rc = store_begin(st)) != 0)
		return rc;
	if ((rc = store_invite_get(st, user, want, &expires_at, &used_at)) != 0)
		goto out;
	if (!secret_equal_str(want, hash))
		rc = TE_ERR_DENIED;
	else if (used_at != 0)
		rc = TE_ERR_REPLAY;
	else if (now >= expires_at)
		rc = TE_ERR_EXPIRED;
	if (rc != 0 || pwhash == NULL)
		goto out;
	{
		const char *t[] = { user, pwhash };
		const int64_t iv[] = { now };

		rc = store_run(st, "UPDATE user_invites SET used_at = ?2 WHERE user = ?1",
		               t, 1, iv, 1, NULL);
		if (rc == 0)
			rc = store_run(st, "UPDATE users SET pwhash = ?2, must_change_password = 0"
			                   " WHERE name = ?1", t, 2, NULL, 0, NULL);
	}
	if (rc == 0)
		rc = store_audit_opt(st, audit);
out:
	secret_wipe(want, sizeof(want));
	return store_end(st, rc);
}

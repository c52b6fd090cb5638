/* test_store_account.c: the store's accounts and MFA (store_account.c) and
 * the TOTP sealing key (mfakey.c): token scope, idle and expiry, revocation
 * of all a user's tokens, password change with revocation, TOTP enrollment
 * and replay refusal, one-time recovery codes, and lockout with backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "mfakey.h"
#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_user u = { .name = "alice", .role = "specialist", .level = 2,
	                        .region = "US", .pwhash = "$argon2id$old", .created_at = 1 };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_account.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_user_add(f->st, &u), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[192];
	const char *sfx[] = { "t.db", "t.db-wal", "t.db-shm", "mfa/totp.key", "mfa" };

	store_close(f->st);
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, sfx[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_token_scope_idle_expiry(void **state)
{
	struct fixture *f = *state;
	char user[MAX_NAME_BYTES], scope[STORE_SCOPE_BYTES];

	assert_int_equal(store_token_add_scoped(f->st, "h1", "alice", STORE_SCOPE_SETUP, 100, 1000), 0);
	assert_int_equal(store_token_use(f->st, "h1", 110, 30, user, scope), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(scope, "setup");
	/* each use moves the idle clock */
	assert_int_equal(store_token_use(f->st, "h1", 139, 30, user, scope), 0);
	assert_int_equal(store_token_use(f->st, "h1", 169, 30, user, scope), 0);
	/* idle: refused and dead for good */
	assert_int_equal(store_token_use(f->st, "h1", 170 + 30, 30, user, scope), TE_ERR_TIMEOUT);
	assert_int_equal(store_token_use(f->st, "h1", 171, 30, user, scope), TE_ERR_DENIED);
	/* expiry */
	assert_int_equal(store_token_add_scoped(f->st, "h2", "alice", STORE_SCOPE_FULL, 100, 150), 0);
	assert_int_equal(store_token_use(f->st, "h2", 149, 0, user, scope), 0);
	assert_string_equal(scope, "full");
	assert_int_equal(store_token_use(f->st, "h2", 150, 0, user, scope), TE_ERR_EXPIRED);
	assert_int_equal(store_token_use(f->st, "nope", 100, 0, user, scope), TE_ERR_NOT_FOUND);
}

static void test_revoke_user_and_password_set(void **state)
{
	struct fixture *f = *state;
	struct store_audit_entry a = { "admin", "password_reset", "{\"user\":\"alice\"}" };
	struct store_account acct;
	struct store_user u;
	char user[MAX_NAME_BYTES], scope[STORE_SCOPE_BYTES];
	int64_t far = (int64_t)time(NULL) + 3600;
	int n = -1;

	assert_int_equal(store_token_add_scoped(f->st, "t1", "alice", "full", 1, far), 0);
	assert_int_equal(store_token_add_scoped(f->st, "t2", "alice", "full", 1, far), 0);
	assert_int_equal(store_token_add_scoped(f->st, "t3", "alice", "full", 1, 2), 0); /* expired */
	assert_int_equal(store_token_revoke_user(f->st, "alice", &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_token_use(f->st, "t1", 10, 0, user, scope), TE_ERR_DENIED);
	assert_int_equal(store_token_add_scoped(f->st, "t4", "alice", "full", 1, far), 0);
	assert_int_equal(store_password_set(f->st, "alice", "$argon2id$new", 1, &n, &a), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_token_use(f->st, "t4", 10, 0, user, scope), TE_ERR_DENIED);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.pwhash, "$argon2id$new");
	assert_int_equal(store_account_get(f->st, "alice", &acct), 0);
	assert_int_equal(acct.must_change_password, 1);
	assert_int_equal(store_password_set(f->st, "nobody", "x", 0, &n, NULL), TE_ERR_NOT_FOUND);
	assert_int_equal(store_account_get(f->st, "nobody", &acct), TE_ERR_NOT_FOUND);
}

static void test_totp_enroll_replay_recovery(void **state)
{
	struct fixture *f = *state;
	char hashes[2][SHA256_HEX_BYTES] = { "aa", "bb" };
	struct store_account a;
	int left = -1, n = -1;

	assert_int_equal(store_account_get(f->st, "alice", &a), 0);
	assert_false(a.totp_enrolled);
	assert_false(a.totp_pending);
	assert_int_equal(store_totp_set_pending(f->st, "alice", "box1", 10), 0);
	assert_int_equal(store_totp_set_pending(f->st, "alice", "box2", 11), 0);   /* replaced */
	assert_int_equal(store_account_get(f->st, "alice", &a), 0);
	assert_true(a.totp_pending);
	assert_string_equal(a.totp_box, "box2");
	/* no step is accepted before enrollment */
	assert_int_equal(store_totp_accept_step(f->st, "alice", 5), TE_ERR_REPLAY);
	assert_int_equal(store_totp_confirm(f->st, "alice", 100, hashes, 2, NULL), 0);
	assert_int_equal(store_totp_confirm(f->st, "alice", 101, hashes, 2, NULL), TE_ERR_EXISTS);
	assert_int_equal(store_totp_set_pending(f->st, "alice", "box3", 12), TE_ERR_EXISTS);
	assert_int_equal(store_account_get(f->st, "alice", &a), 0);
	assert_true(a.totp_enrolled);
	assert_false(a.totp_pending);
	assert_string_equal(a.totp_box, "box2");
	assert_int_equal(a.totp_last_step, 100);
	assert_int_equal(store_totp_accept_step(f->st, "alice", 100), TE_ERR_REPLAY);
	assert_int_equal(store_totp_accept_step(f->st, "alice", 99), TE_ERR_REPLAY);
	assert_int_equal(store_totp_accept_step(f->st, "alice", 101), 0);
	assert_int_equal(store_totp_accept_step(f->st, "alice", 101), TE_ERR_REPLAY);
	assert_int_equal(store_recovery_use(f->st, "alice", "aa", 5, &left, NULL), 0);
	assert_int_equal(left, 1);
	assert_int_equal(store_recovery_use(f->st, "alice", "aa", 6, &left, NULL), TE_ERR_DENIED);
	assert_int_equal(store_recovery_use(f->st, "alice", "cc", 6, &left, NULL), TE_ERR_DENIED);
	assert_int_equal(store_mfa_reset(f->st, "alice", &n, NULL), 0);
	assert_int_equal(store_recovery_use(f->st, "alice", "bb", 7, &left, NULL), TE_ERR_DENIED);
	assert_int_equal(store_account_get(f->st, "alice", &a), 0);
	assert_false(a.totp_enrolled);
	assert_int_equal(store_mfa_reset(f->st, "alice", &n, NULL), TE_ERR_NOT_FOUND);
}

static void test_lockout_backoff(void **state)
{
	struct fixture *f = *state;
	const struct store_lock_policy p = { 3, 60, 300 };
	int64_t until = 0;
	int n = 0;

	for (int i = 1; i <= 2; i++) {
		assert_int_equal(store_login_fail(f->st, "user", "bob", 1000, &p, &n, &until), 0);
		assert_int_equal(n, i);
		assert_int_equal(until, 0);
	}
	assert_int_equal(store_login_locked(f->st, "user", "bob", 1000, &until), 0);
	assert_int_equal(store_login_fail(f->st, "user", "bob", 1000, &p, &n, &until), 0);
	assert_int_equal(until, 1060);                  /* base */
	assert_int_equal(store_login_locked(f->st, "user", "bob", 1059, &until), TE_ERR_LOCKED);
	assert_int_equal(until, 1060);
	assert_int_equal(store_login_locked(f->st, "user", "bob", 1060, &until), 0);
	assert_int_equal(store_login_locked(f->st, "addr", "bob", 1000, &until), 0); /* other kind */
	assert_int_equal(store_login_fail(f->st, "user", "bob", 1100, &p, &n, &until), 0);
	assert_int_equal(until, 1100 + 120);            /* doubled */
	assert_int_equal(store_login_fail(f->st, "user", "bob", 1300, &p, &n, &until), 0);
	assert_int_equal(until, 1300 + 240);
	assert_int_equal(store_login_fail(f->st, "user", "bob", 1600, &p, &n, &until), 0);
	assert_int_equal(until, 1600 + 300);            /* capped at max_s */
	assert_int_equal(store_login_fail(f->st, "user", "bob", 1900, &p, &n, &until), 0);
	assert_int_equal(until, 1900 + 300);
	/* a counter quiet for longer than max_s starts again */
	assert_int_equal(store_login_fail(f->st, "user", "bob", 9000, &p, &n, &until), 0);
	assert_int_equal(n, 1);
	assert_int_equal(until, 0);
	assert_int_equal(store_login_clear(f->st, "user", "bob"), 0);
	assert_int_equal(store_login_clear(f->st, "user", "bob"), TE_ERR_NOT_FOUND);
}

static void test_mfakey_seal_open(void **state)
{
	struct fixture *f = *state;
	uint8_t key[MFAKEY_BYTES], again[MFAKEY_BYTES], out[64];
	const uint8_t secret[20] = "12345678901234567890";
	char box[STORE_BOX_BYTES], path[192], err[256];
	struct stat sb;
	size_t n = 0;

	assert_int_equal(mfakey_ensure(f->dir, key, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, MFAKEY_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(mfakey_ensure(f->dir, again, err, sizeof(err)), 0);
	assert_memory_equal(key, again, MFAKEY_BYTES);   /* loaded, not remade */
	assert_int_equal(mfakey_seal(key, secret, sizeof(secret), box), 0);
	assert_null(strstr(box, "3132333435"));          /* not the hex of the secret */
	assert_int_equal(mfakey_open(key, box, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(secret));
	assert_memory_equal(out, secret, n);
	box[strlen(box) - 1] ^= 1;                       /* tampered */
	assert_int_not_equal(mfakey_open(key, box, out, sizeof(out), &n), 0);
	assert_int_equal(mfakey_open(key, "zz", out, sizeof(out), &n), TE_ERR_INVALID);
	again[0] ^= 1;                                   /* another key */
	box[strlen(box) - 1] ^= 1;
	assert_int_equal(mfakey_open(again, box, out, sizeof(out), &n), TE_ERR_SIGNATURE);
	/* a key readable by others is refused */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mfakey_ensure(f->dir, again, err, sizeof(err)), TE_ERR_INVALID);
	assert_non_null(strstr(err, "0600"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_scope_idle_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_user_and_password_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_enroll_replay_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockout_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mfakey_seal_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_invite.c: one-time enrollment codes (invite.c, store_invite.c): the
 * code's form and hashing, its life, and the store's single use, expiry and
 * constant-time match, with the password removed and tokens revoked at
 * issue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "invite.h"
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

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_invite.XXXXXX");
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
	const char *sfx[] = { "t.db", "t.db-wal", "t.db-shm" };

	store_close(f->st);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_ttl(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(invite_parse_ttl("24h", &t), 0);
	assert_int_equal(t, 24 * 3600);
	assert_int_equal(invite_parse_ttl("90m", &t), 0);
	assert_int_equal(t, 5400);
	assert_int_equal(invite_parse_ttl("7d", &t), 0);
	assert_int_equal(t, 7 * 86400);
	assert_int_equal(invite_parse_ttl("3600", &t), 0);
	assert_int_equal(invite_parse_ttl("60s", &t), 0);
	assert_int_equal(invite_parse_ttl("59s", &t), TE_ERR_INVALID);   /* under a minute */
	assert_int_equal(invite_parse_ttl("31d", &t), TE_ERR_INVALID);   /* over 30 days */
	assert_int_equal(invite_parse_ttl("0", &t), TE_ERR_INVALID);
	assert_int_equal(invite_parse_ttl("-5h", &t), TE_ERR_INVALID);
	assert_int_equal(invite_parse_ttl("2w", &t), TE_ERR_INVALID);
	assert_int_equal(invite_parse_ttl("2hh", &t), TE_ERR_INVALID);
	assert_int_equal(invite_parse_ttl("99999999999999999999h", &t), TE_ERR_INVALID);
	assert_int_equal(invite_parse_ttl("", &t), TE_ERR_INVALID);
}

static void test_code_hash_normalizes(void **state)
{
	char a[SHA256_HEX_BYTES], b[SHA256_HEX_BYTES];

	(void)state;
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQR", a), 0);
	assert_int_equal(invite_code_hash("abcd efgh jklm npqr", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(invite_code_hash("ABCDEFGHJKLMNPQR", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQ", b), TE_ERR_INVALID);   /* short */
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQRS", b), TE_ERR_INVALID); /* long */
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQ0", b), TE_ERR_INVALID);  /* 0 */
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQ!", b), TE_ERR_INVALID);
}

static void test_issue_and_use_once(void **state)
{
	struct fixture *f = *state;
	struct store_audit_entry used = { "alice", "enrollment_code_used", "{}" };
	char shown[INVITE_CODE_TEXT_BYTES], hash[SHA256_HEX_BYTES], other[SHA256_HEX_BYTES];
	char user[MAX_NAME_BYTES], scope[STORE_SCOPE_BYTES];
	struct store_user u;
	int64_t exp = 0;

	assert_int_equal(store_token_add_scoped(f->st, "t1", "alice", "full", 1, 5000), 0);
	assert_int_equal(invite_issue(f->st, "admin", "alice", "invite", 1000, 3600, shown, &exp), 0);
	assert_int_equal(exp, 4600);
	assert_int_equal(strlen(shown), INVITE_CODE_TEXT_BYTES - 1);
	assert_true(shown[4] == '-' && shown[9] == '-' && shown[14] == '-');
	/* issuing removed the password and revoked the token */
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.pwhash, "");
	assert_int_equal(store_token_use(f->st, "t1", 10, 0, user, scope), TE_ERR_DENIED);

	assert_int_equal(invite_code_hash(shown, hash), 0);
	assert_int_equal(invite_code_hash("ABCD-EFGH-JKLM-NPQR", other), 0);
	assert_int_equal(store_invite_use(f->st, "alice", other, 1001, "$pw", &used), TE_ERR_DENIED);
	assert_int_equal(store_invite_use(f->st, "bob", hash, 1001, "$pw", &used), TE_ERR_NOT_FOUND);
	assert_int_equal(store_invite_use(f->st, "alice", hash, 1001, "$argon2id$mine", &used), 0);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.pwhash, "$argon2id$mine");
	/* once only, and the password it set stays */
	assert_int_equal(store_invite_use(f->st, "alice", hash, 1002, "$argon2id$thief", &used),
	                 TE_ERR_REPLAY);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.pwhash, "$argon2id$mine");
	assert_int_equal(store_invite_issue(f->st, "nobody", hash, 1, 2, NULL, NULL), TE_ERR_NOT_FOUND);
}

static void test_expired_and_replaced(void **state)
{
	struct fixture *f = *state;
	char first[INVITE_CODE_TEXT_BYTES], second[INVITE_CODE_TEXT_BYTES];
	char h1[SHA256_HEX_BYTES], h2[SHA256_HEX_BYTES];
	struct store_user u;
	int64_t exp = 0;

	assert_int_equal(invite_issue(f->st, "admin", "alice", "user_add", 1000, 60, first, &exp), 0);
	assert_int_equal(invite_code_hash(first, h1), 0);
	assert_int_equal(store_invite_use(f->st, "alice", h1, 1060, "$pw", NULL), TE_ERR_EXPIRED);
	assert_int_equal(store_user_get(f->st, "alice", &u), 0);
	assert_string_equal(u.pwhash, "");
	/* a new code replaces the old one, which no longer works */
	assert_int_equal(invite_issue(f->st, "admin", "alice", "invite", 2000, 60, second, &exp), 0);
	assert_string_not_equal(first, second);
	assert_int_equal(invite_code_hash(second, h2), 0);
	assert_int_equal(store_invite_use(f->st, "alice", h1, 2001, "$pw", NULL), TE_ERR_DENIED);
	assert_int_equal(store_invite_use(f->st, "alice", h2, 2059, "$pw", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_code_hash_normalizes),
		cmocka_unit_test_setup_teardown(test_issue_and_use_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_and_replaced, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

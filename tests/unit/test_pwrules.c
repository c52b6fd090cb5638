/* test_pwrules.c: the password rules and the embedded common-password list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bounds.h"
#include "err.h"
#include "pwrules.h"

static int check(const char *user, const char *pw, const char *old, const char *want)
{
	char why[PWRULES_WHY_BYTES] = "";
	int rc = pwrules_check(user, pw, old, why, sizeof(why));

	if (want == NULL)
		return rc == 0 && why[0] == '\0';
	return rc == TE_ERR_INVALID && strstr(why, want) != NULL;
}

static void test_length(void **state)
{
	(void)state;
	assert_true(check("alice", "Xk3#vq9!Lm2", NULL, "too short"));        /* 11 */
	assert_true(check("alice", "Xk3#vq9!Lm2Z", NULL, NULL));              /* 12 */
	assert_true(check("alice", "", NULL, "too short"));
	/* characters, not bytes: 11 two-byte letters are still too short */
	assert_true(check("alice", "\xc3\xa9\xc3\xa8\xc3\xa0\xc3\xb9\xc3\xa9\xc3\xa8\xc3\xa0"
	                           "\xc3\xb9\xc3\xa9\xc3\xa8\xc3\xa0", NULL, "too short"));
}

static void test_common_list(void **state)
{
	(void)state;
	assert_true(pwrules_is_common("password1234"));
	assert_true(pwrules_is_common("PASSWORD1234"));
	assert_true(pwrules_is_common("QwertyUiop123"));
	assert_true(pwrules_is_common("123456789012"));
	assert_true(pwrules_is_common("iloveyou1234"));
	assert_true(pwrules_is_common("correcthorsebatterystaple"));
	assert_false(pwrules_is_common("password123"));       /* a prefix of an entry */
	assert_false(pwrules_is_common("password12345x"));    /* an entry plus more */
	assert_false(pwrules_is_common("Xk3#vq9!Lm2Z"));
	assert_false(pwrules_is_common(""));
	assert_true(check("alice", "Password1234", NULL, "too common"));
	assert_true(check("alice", "zzzzzzzzzzzzzzzz", NULL, "too common"));
	assert_true(check("alice", "abababababab", NULL, "too common"));
}

static void test_user_name_and_old(void **state)
{
	(void)state;
	assert_true(check("alice", "my-ALICE-pass-99", NULL, "contains the user name"));
	assert_true(check("Bob.S", "x-bob.s-strong-77", NULL, "contains the user name"));
	assert_true(check("alice", "Xk3#vq9!Lm2Z", "Xk3#vq9!Lm2Z", "same as the old one"));
	assert_true(check("alice", "Xk3#vq9!Lm2Z", "Xk3#vq9!Lm2z", NULL));
	assert_true(check("alice", "Xk3#vq9!Lm2Z", NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_common_list),
		cmocka_unit_test(test_user_name_and_old),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

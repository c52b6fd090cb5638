/* test_secret.c: hashes, tokens, constant-time compares, argon2id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "secret.h"

static void test_sha256_known_answer(void **state)
{
	char hex[SHA256_HEX_BYTES];

	(void)state;
	assert_int_equal(secret_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(secret_sha256_hex("", 0, hex), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_tokens_are_fresh(void **state)
{
	char a[TOKEN_TEXT_BYTES], b[TOKEN_TEXT_BYTES];

	(void)state;
	assert_int_equal(secret_token_new(a), 0);
	assert_int_equal(secret_token_new(b), 0);
	assert_int_equal(strlen(a), TOKEN_TEXT_BYTES - 1);
	assert_int_equal(secret_equal_str(a, b), 0);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	                 strlen(a));
}

static void test_secret_equal(void **state)
{
	(void)state;
	assert_int_equal(secret_equal("abcd", "abcd", 4), 1);
	assert_int_equal(secret_equal("abcd", "abce", 4), 0);
	assert_int_equal(secret_equal("x", "y", 0), 1);
	assert_int_equal(secret_equal_str("deadbeef", "deadbeef"), 1);
	assert_int_equal(secret_equal_str("deadbeef", "deadbeee"), 0);
	assert_int_equal(secret_equal_str("deadbeef", "deadbee"), 0);
	assert_int_equal(secret_equal_str("", ""), 1);
	assert_int_equal(secret_equal_str(NULL, "a"), 0);
}

static void test_wipe(void **state)
{
	char buf[8] = "secret!";
	const char zero[8] = { 0 };

	(void)state;
	secret_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));
	secret_wipe(NULL, 4);
}

static void test_pwhash_verify(void **state)
{
	char hash[PWHASH_BYTES], hash2[PWHASH_BYTES];

	(void)state;
	assert_int_equal(secret_pwhash("correct horse battery", hash), 0);
	assert_true(strncmp(hash, "$argon2id$", 10) == 0);
	assert_int_equal(secret_pwverify(hash, "correct horse battery"), 0);
	assert_int_equal(secret_pwverify(hash, "correct horse batterx"), TE_ERR_DENIED);
	assert_int_equal(secret_pwverify(hash, ""), TE_ERR_DENIED);
	/* Salted: the same password hashes differently each time. */
	assert_int_equal(secret_pwhash("correct horse battery", hash2), 0);
	assert_string_not_equal(hash, hash2);
	assert_int_equal(secret_pwverify("not a hash", "x"), TE_ERR_DENIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answer),
		cmocka_unit_test(test_tokens_are_fresh),
		cmocka_unit_test(test_secret_equal),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_pwhash_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

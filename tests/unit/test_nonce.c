/* test_nonce.c: the relay's single-use nonce set (src/relay/nonce.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "err.h"
#include "nonce.h"

static void test_second_use_is_replay(void **state)
{
	struct relay_nonces *n;

	assert_int_equal(relay_nonces_new(0, &n), 0);
	assert_int_equal(relay_nonces_use(n, "00112233445566778899aabbccddeeff", 160, 100), 0);
	assert_int_equal(relay_nonces_use(n, "00112233445566778899aabbccddeeff", 160, 150), TE_ERR_REPLAY);
	assert_int_equal(relay_nonces_use(n, "ffeeddccbbaa99887766554433221100", 160, 150), 0);
	assert_int_equal(relay_nonces_count(n), 2);
	relay_nonces_free(n);
}

static void test_expired_nonces_are_forgotten(void **state)
{
	struct relay_nonces *n;

	assert_int_equal(relay_nonces_new(0, &n), 0);
	assert_int_equal(relay_nonces_use(n, "aa", 160, 100), 0);
	relay_nonces_prune(n, 161);
	assert_int_equal(relay_nonces_count(n), 0);
	relay_nonces_free(n);
}

static void test_bounded(void **state)
{
	struct relay_nonces *n;
	char s[16];
	int i;

	assert_int_equal(relay_nonces_new(8, &n), 0);
	for (i = 0; i < 8; i++) {
		snprintf(s, sizeof(s), "n%d", i);
		assert_int_equal(relay_nonces_use(n, s, 200, 100), 0);
	}
	assert_int_equal(relay_nonces_use(n, "n-extra", 200, 100), TE_ERR_TOO_LONG);
	/* Once they expire there is room again. */
	assert_int_equal(relay_nonces_use(n, "n-extra", 300, 201), 0);
	assert_int_equal(relay_nonces_use(n, "", 300, 201), TE_ERR_INVALID);
	relay_nonces_free(n);
	relay_nonces_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_use_is_replay),
		cmocka_unit_test(test_expired_nonces_are_forgotten),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

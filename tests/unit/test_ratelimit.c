/* test_ratelimit.c: per-address token buckets (src/server/ratelimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "ratelimit.h"

static void test_burst_then_refill(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(60, 3, &rl), 0);   /* one a second */
	assert_int_equal(ratelimit_take(rl, "192.0.2.1", 1000), 0);
	assert_int_equal(ratelimit_take(rl, "192.0.2.1", 1000), 0);
	assert_int_equal(ratelimit_take(rl, "192.0.2.1", 1000), 0);
	assert_int_equal(ratelimit_take(rl, "192.0.2.1", 1000), 1);
	/* Another address has its own bucket. */
	assert_int_equal(ratelimit_take(rl, "192.0.2.2", 1000), 0);
	/* A second later one token is back, and only one. */
	assert_int_equal(ratelimit_take(rl, "192.0.2.1", 2000), 0);
	assert_true(ratelimit_take(rl, "192.0.2.1", 2000) >= 1);
	ratelimit_free(rl);
}

static void test_retry_after_counts_up(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(1, 1, &rl), 0);   /* one a minute */
	assert_int_equal(ratelimit_take(rl, "a", 0), 0);
	assert_int_equal(ratelimit_take(rl, "a", 0), 60);
	assert_int_equal(ratelimit_take(rl, "a", 30000), 30);
	ratelimit_free(rl);
}

static void test_table_is_bounded(void **state)
{
	struct ratelimit *rl;
	char a[32];

	assert_int_equal(ratelimit_new(1, 1, &rl), 0);
	for (int i = 0; i < RATELIMIT_MAX_ADDRS + 10; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		assert_int_equal(ratelimit_take(rl, a, i), 0);
	}
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_retry_after_counts_up),
		cmocka_unit_test(test_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

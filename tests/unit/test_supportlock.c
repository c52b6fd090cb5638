/* test_supportlock.c: the support account's lockout arithmetic and record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "supportlock.h"

static const struct supportlock_policy P = { 3, 60, 3600 };

static void test_lock_seconds(void **state)
{
	assert_int_equal(supportlock_lock_s(&P, 0), 0);
	assert_int_equal(supportlock_lock_s(&P, 2), 0);
	assert_int_equal(supportlock_lock_s(&P, 3), 60);
	assert_int_equal(supportlock_lock_s(&P, 4), 120);
	assert_int_equal(supportlock_lock_s(&P, 8), 1920);
	assert_int_equal(supportlock_lock_s(&P, 9), 3600);
	assert_int_equal(supportlock_lock_s(&P, SUPPORTLOCK_MAX_COUNT), 3600);
}

static void test_remaining(void **state)
{
	struct supportlock l = { 3, 1000 };

	assert_int_equal(supportlock_remaining(&P, &l, 1000), 60);
	assert_int_equal(supportlock_remaining(&P, &l, 1059), 1);
	assert_int_equal(supportlock_remaining(&P, &l, 1060), 0);
	assert_int_equal(supportlock_remaining(&P, &l, 500), 60);   /* clock back */
	l.failures = 2;
	assert_int_equal(supportlock_remaining(&P, &l, 1000), 0);
}

static void test_fail(void **state)
{
	struct supportlock l = { 0, 0 };

	supportlock_fail(&P, &l, 100);
	supportlock_fail(&P, &l, 200);
	assert_int_equal(l.failures, 2);
	assert_int_equal(l.last_failure_at, 200);
	/* a run left alone longer than the longest lock starts again */
	supportlock_fail(&P, &l, 200 + 3601);
	assert_int_equal(l.failures, 1);
}

static void test_parse_format(void **state)
{
	struct supportlock l = { 4, 1700000000 }, r;
	char buf[SUPPORTLOCK_TEXT_BYTES];
	int n;

	n = supportlock_format(&l, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(supportlock_parse(buf, (size_t)n, &r), 0);
	assert_int_equal(r.failures, 4);
	assert_int_equal(r.last_failure_at, 1700000000);
	assert_int_equal(supportlock_parse("", 0, &r), 0);
	assert_int_equal(r.failures, 0);
	assert_int_equal(supportlock_parse("5\n", 2, &r), 0);           /* earlier versions */
	assert_int_equal(r.failures, 5);
	assert_int_equal(r.last_failure_at, 0);
	assert_int_equal(supportlock_parse("5", 1, &r), TE_ERR_INVALID);
	assert_int_equal(supportlock_parse("-1\n", 3, &r), TE_ERR_INVALID);
	assert_int_equal(supportlock_parse("5\nx", 3, &r), TE_ERR_INVALID);
	assert_int_equal(supportlock_parse("9999999999999999999\n", 20, &r), TE_ERR_INVALID);
	assert_int_equal(supportlock_parse("2000000\n", 8, &r), TE_ERR_INVALID);
	assert_int_equal(supportlock_parse("failures 1 last_failure_at\n", 27, &r),
	                 TE_ERR_INVALID);
	assert_int_equal(r.failures, 0);
	assert_int_equal(supportlock_format(&l, buf, 8), TE_ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_seconds),
		cmocka_unit_test(test_remaining),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_parse_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

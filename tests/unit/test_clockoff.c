/* test_clockoff.c: the offset from the server's clock and the corrected now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "clockoff.h"
#include "err.h"

/* A device 1 h slow, an answer held 25 s, 200 ms on the wire both ways. */
static void test_estimate_adds_half_the_round_trip(void **state)
{
	int64_t server = 1700000000000LL, recv = server - 3600000 + 100, off = 0;

	(void)state;
	assert_int_equal(clockoff_estimate(25200, recv, server, 25000, &off), 0);
	assert_int_equal(off, 3600000);
}

/* A hold longer than what the device measured counts no round trip. */
static void test_estimate_hold_beyond_elapsed(void **state)
{
	int64_t off = 1;

	(void)state;
	assert_int_equal(clockoff_estimate(100, 1700000000000LL, 1700000010000LL, 500, &off), 0);
	assert_int_equal(off, 10000);
}

static void test_estimate_refuses_nonsense(void **state)
{
	int64_t off = 1;

	(void)state;
	assert_int_equal(clockoff_estimate(-1, 1000, 1000, 0, &off), TE_ERR_INVALID);
	assert_int_equal(clockoff_estimate(10, 1000, 1000, -5, &off), TE_ERR_INVALID);
	assert_int_equal(clockoff_estimate(10, 1000, 0, 0, &off), TE_ERR_INVALID);
	assert_int_equal(clockoff_estimate(10, 1000, 1000, CLOCKOFF_MAX_HELD_MS + 1, &off),
	                 TE_ERR_INVALID);
	/* beyond CLOCKOFF_MAX_S apart */
	assert_int_equal(clockoff_estimate(10, 1000, (CLOCKOFF_MAX_S + 10) * 1000, 0, &off),
	                 TE_ERR_INVALID);
	assert_int_equal(off, 0);
}

static void test_now_follows_the_offset(void **state)
{
	int64_t own;

	(void)state;
	clockoff_clear();
	assert_int_equal(clockoff_known(), 0);
	assert_int_equal(clockoff_offset_s(), 0);
	own = clockoff_now();
	assert_int_equal(clockoff_set_ms(-7200400), 0);
	assert_int_equal(clockoff_known(), 1);
	assert_int_equal(clockoff_offset_s(), -7200);
	assert_true(clockoff_now() - own <= -7199 && clockoff_now() - own >= -7202);
	assert_int_equal(clockoff_set_ms((CLOCKOFF_MAX_S + 1) * 1000), TE_ERR_INVALID);
	assert_int_equal(clockoff_offset_s(), -7200);
	clockoff_clear();
}

static void test_describe(void **state)
{
	char b[64];

	(void)state;
	clockoff_describe(-10, b, sizeof(b));
	assert_string_equal(b, "10 s");
	clockoff_describe(3600, b, sizeof(b));
	assert_string_equal(b, "1 h 0 min");
	clockoff_describe(172500, b, sizeof(b));
	assert_string_equal(b, "1 day 23 h");
	clockoff_describe(2 * 86400, b, sizeof(b));
	assert_string_equal(b, "2 days 0 h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_estimate_adds_half_the_round_trip),
		cmocka_unit_test(test_estimate_hold_beyond_elapsed),
		cmocka_unit_test(test_estimate_refuses_nonsense),
		cmocka_unit_test(test_now_follows_the_offset),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

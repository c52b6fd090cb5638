/* test_rollout.c: how a deployment's devices fall into its waves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rollout.h"

static void test_wave_ends(void **state)
{
	const int std[] = { 1, 10, 50, 100 }, halves[] = { 50, 100 }, one[] = { 100 };

	(void)state;
	/* 200 devices: 2, then up to 20, 100, 200 */
	assert_int_equal(rollout_wave_end(std, 4, 0, 200), 2);
	assert_int_equal(rollout_wave_end(std, 4, 1, 200), 20);
	assert_int_equal(rollout_wave_end(std, 4, 2, 200), 100);
	assert_int_equal(rollout_wave_end(std, 4, 3, 200), 200);
	/* a share rounds up: 1 % of 3 devices is one device, never none */
	assert_int_equal(rollout_wave_end(std, 4, 0, 3), 1);
	assert_int_equal(rollout_wave_end(std, 4, 1, 3), 1);
	assert_int_equal(rollout_wave_end(std, 4, 2, 3), 2);
	assert_int_equal(rollout_wave_end(std, 4, 3, 3), 3);
	/* one device: the first wave has it */
	assert_int_equal(rollout_wave_end(std, 4, 0, 1), 1);
	assert_int_equal(rollout_wave_end(halves, 2, 0, 2), 1);
	assert_int_equal(rollout_wave_end(halves, 2, 1, 2), 2);
	assert_int_equal(rollout_wave_end(one, 1, 0, 7), 7);
	/* the last wave is every device, whatever its share says */
	assert_int_equal(rollout_wave_end(halves, 2, 5, 9), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wave_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

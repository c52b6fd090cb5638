/* test_osv.c: an OSV advisory's ranges decide which versions it affects
 * and which version fixes each; listed versions too; bad input refused
 * with why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "osv.h"

static void load(const char *text, struct osv *a)
{
	char why[256];
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	assert_int_equal(osv_from_json(j, a, why, sizeof(why)), 0);
	json_decref(j);
}

static void test_ranges(void **state)
{
	struct osv a;
	const char *fixed;

	(void)state;
	load("{\"id\":\"TETHER-2026-1\",\"summary\":\"pump overflow\",\"affected\":[{\"package\":"
	     "{\"name\":\"pump-fw\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	     "\"1.0\"},{\"fixed\":\"1.5\"},{\"introduced\":\"2.0\"},{\"fixed\":\"2.3\"}]}]}]}", &a);
	assert_string_equal(a.id, "TETHER-2026-1");
	assert_false(osv_affects(&a, "pump-fw", "0.9", &fixed));
	assert_true(osv_affects(&a, "pump-fw", "1.2", &fixed));
	assert_string_equal(fixed, "1.5");
	assert_false(osv_affects(&a, "pump-fw", "1.5", &fixed));
	assert_false(osv_affects(&a, "pump-fw", "1.10", &fixed));   /* 1.10 > 1.5 */
	assert_true(osv_affects(&a, "pump-fw", "2.1", &fixed));
	assert_string_equal(fixed, "2.3");
	assert_false(osv_affects(&a, "pump-fw", "2.3", &fixed));
	assert_false(osv_affects(&a, "other", "2.1", &fixed));
}

static void test_open_and_last_affected(void **state)
{
	struct osv a;
	const char *fixed;

	(void)state;
	load("{\"id\":\"X-1\",\"affected\":[{\"package\":{\"name\":\"libfoo\"},\"ranges\":[{\"type\":"
	     "\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"last_affected\":\"1.0.4\"}]}],"
	     "\"versions\":[\"7.7\"]},{\"package\":{\"name\":\"libbar\"},\"ranges\":[{\"type\":"
	     "\"SEMVER\",\"events\":[{\"introduced\":\"0\"}]}]}]}", &a);
	assert_true(osv_affects(&a, "libfoo", "1.0.4", &fixed));
	assert_string_equal(fixed, "");
	assert_false(osv_affects(&a, "libfoo", "1.0.5", &fixed));
	assert_true(osv_affects(&a, "libfoo", "7.7", &fixed));       /* listed */
	assert_true(osv_affects(&a, "libbar", "99", &fixed));        /* no fix known */
}

static void test_refused(void **state)
{
	struct osv a;
	char why[256];
	const char *bad[] = {
		"[]",
		"{\"affected\":[{\"package\":{\"name\":\"x\"}}]}",                 /* no id */
		"{\"id\":\"A\"}",                                                   /* nothing affected */
		"{\"id\":\"A\",\"affected\":[{\"package\":{}}]}",                   /* no name */
		"{\"id\":\"A\",\"affected\":[{\"package\":{\"name\":\"x\"},\"ranges\":[{\"type\":"
		"\"SEMVER\",\"events\":[{\"fixed\":\"1\\u001b[2J\"}]}]}]}",          /* escape in version */
		"{\"id\":\"A\",\"affected\":[{\"package\":{\"name\":\"x\"},\"ranges\":[{\"type\":"
		"\"SEMVER\",\"events\":[{\"patched\":\"1\"}]}]}]}",                 /* unknown event */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);

		assert_non_null(j);
		assert_int_not_equal(osv_from_json(j, &a, why, sizeof(why)), 0);
		assert_true(why[0] != '\0');
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_open_and_last_affected),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

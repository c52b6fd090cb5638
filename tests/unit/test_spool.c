/* test_spool.c: the relay's durable report spool (src/relay/spool.c). */
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
#include "spool.h"

struct seen {
	int n;
	uint64_t ids[8];
	char bodies[8][32];
};

static int collect(void *arg, uint64_t id, char *body)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->ids[s->n] = id;
		snprintf(s->bodies[s->n], sizeof(s->bodies[0]), "%s", body);
		s->n++;
	}
	free(body);
	return 0;
}

static char top[64];

static void make_dir(char *dir, size_t sz)
{
	snprintf(top, sizeof(top), "/tmp/test_spool.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(dir, sz, "%s/reports", top);
}

/* Items come back in the order written, across a reopen; removed ones and
 * temporary files (a write cut by a crash) do not. */
static void test_order_remove_reopen(void **state)
{
	char dir[128], path[256], cmd[128];
	struct spool *sp = NULL;
	struct seen s;
	uint64_t a, b, c, d;
	FILE *f;

	make_dir(dir, sizeof(dir));
	assert_int_equal(spool_open(dir, NULL, &sp), 0);
	assert_int_equal(spool_put(sp, "one", 3, &a), 0);
	assert_int_equal(spool_put(sp, "two", 3, &b), 0);
	assert_int_equal(spool_put(sp, "three", 5, &c), 0);
	assert_true(a < b && b < c);
	assert_int_equal(spool_remove(sp, b), 0);
	assert_int_equal(spool_remove(sp, b), 0);   /* already gone: fine */
	spool_free(sp);

	snprintf(path, sizeof(path), "%s/%020llu.report.tmp", dir, (unsigned long long)(c + 5));
	assert_non_null(f = fopen(path, "w"));
	fputs("torn", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/not-a-report", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);

	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_open(dir, NULL, &sp), 0);
	assert_int_equal(spool_load(sp, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.ids[0] == a && s.ids[1] == c);
	assert_string_equal(s.bodies[0], "one");
	assert_string_equal(s.bodies[1], "three");
	snprintf(path, sizeof(path), "%s/%020llu.report.tmp", dir, (unsigned long long)(c + 5));
	assert_int_not_equal(access(path, F_OK), 0);
	/* New ids continue past every name seen, the torn one included. */
	assert_int_equal(spool_put(sp, "four", 4, &d), 0);
	assert_true(d > c + 5);
	spool_free(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

static void test_item_bound(void **state)
{
	char dir[128], cmd[128];
	static char big[SPOOL_MAX_ITEM_BYTES + 1];
	struct spool *sp = NULL;
	uint64_t id;

	make_dir(dir, sizeof(dir));
	assert_int_equal(spool_open(dir, NULL, &sp), 0);
	assert_int_equal(spool_put(sp, big, sizeof(big), &id), TE_ERR_TOO_LONG);
	spool_free(sp);
	spool_free(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_remove_reopen),
		cmocka_unit_test(test_item_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

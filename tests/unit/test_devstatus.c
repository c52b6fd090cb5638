/* test_devstatus.c: the device status object (lib devstatus.c): bounds and
 * refusals, canonical form, history comparison and version order; the
 * agent's merge of its own facts (devreport.c); the server's alert lists
 * (srvconf.c) and the store's status, history, error rows and retention
 * (store_devstatus.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devreport.h"
#include "devstatus.h"
#include "err.h"
#include "srvconf.h"
#include "store.h"

static int parse(const char *text, struct devstatus *s, char *why, size_t whysz)
{
	return devstatus_parse(text, strlen(text), s, why, whysz);
}

static void test_parse_full_and_canonical(void **state)
{
	struct devstatus s;
	char why[160], text[DEVSTATUS_JSON_BYTES];

	(void)state;
	assert_int_equal(parse("{\"versions\": {\"zeta\": \"1\", \"alpha\": \"2.0\"},"
	                       " \"errors\": [{\"code\": \"E-9\"}, {\"code\": \"E-1\", \"since\": 5}],"
	                       " \"health\": \"warning\", \"counters\": {\"n\": 3},"
	                       " \"uptime_s\": 7, \"disk_free_mb\": 8, \"note\": \"hi\"}",
	                       &s, why, sizeof(why)), 0);
	assert_int_equal(s.health, DEVSTATUS_WARNING);
	assert_int_equal(s.nerrors, 2);
	assert_string_equal(s.errors[0].code, "E-1");      /* sorted */
	assert_int_equal(s.errors[0].since, 5);
	assert_int_equal(s.errors[1].since, 0);
	assert_string_equal(s.versions[0].name, "alpha");
	assert_string_equal(devstatus_version(&s, "zeta"), "1");
	assert_null(devstatus_version(&s, "beta"));
	assert_int_equal(devstatus_text(&s, text, sizeof(text)), 0);
	assert_string_equal(text, "{\"counters\":{\"n\":3},\"disk_free_mb\":8,\"errors\":"
	                    "[{\"code\":\"E-1\",\"since\":5},{\"code\":\"E-9\"}],\"health\":"
	                    "\"warning\",\"note\":\"hi\",\"uptime_s\":7,\"versions\":"
	                    "{\"alpha\":\"2.0\",\"zeta\":\"1\"}}");
	assert_int_equal(parse("{}", &s, why, sizeof(why)), 0);
	assert_int_equal(s.health, DEVSTATUS_UNKNOWN);
	assert_int_equal(s.uptime_s, -1);
}

static void test_parse_refusals(void **state)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "[]", "JSON object" },
		{ "{\"health\": \"on fire\"}", "health must be ok" },
		{ "{\"colour\": 1}", "unknown field \"colour\"" },
		{ "{\"errors\": [{\"code\": \"E 1\"}]}", "errors[0]" },
		{ "{\"errors\": [{\"code\": \"E1\"}, {\"code\": \"E1\"}]}", "listed twice" },
		{ "{\"errors\": [{\"code\": \"E1\", \"since\": -1}]}", "errors[0]" },
		{ "{\"errors\": [{\"code\": \"E1\", \"x\": 1}]}", "errors[0]" },
		{ "{\"counters\": {\"n\": -1}}", "counters" },
		{ "{\"counters\": {\"a b\": 1}}", "counters" },
		{ "{\"counters\": {\"n\": 1.5}}", "counters" },
		{ "{\"versions\": {\"fw\": \"1 2\"}}", "versions" },
		{ "{\"versions\": {\"fw\": 2}}", "versions" },
		{ "{\"note\": \"a\\u202eb\"}", "note must be displayable" },
		{ "{\"uptime_s\": \"5\"}", "uptime_s must be" },
		{ "{\"health\": \"ok\", \"health\": \"fault\"}", "not JSON" },
		{ "{\"health\": ", "not JSON" },
	};
	struct devstatus s;
	char why[160], big[DEVSTATUS_MAX_INPUT + 64], *p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_not_equal(parse(bad[i].text, &s, why, sizeof(why)), 0);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: why is \"%s\", expected \"%s\"", bad[i].text, why, bad[i].why);
		assert_int_equal(s.nerrors, 0);   /* nothing half-filled */
	}
	/* 33 errors: over the bound. */
	p = big + sprintf(big, "{\"errors\": [");
	for (int i = 0; i < DEVSTATUS_MAX_ERRORS + 1; i++)
		p += sprintf(p, "%s{\"code\": \"E%d\"}", i ? "," : "", i);
	sprintf(p, "]}");
	assert_int_equal(parse(big, &s, why, sizeof(why)), TE_ERR_TOO_LONG);
	/* Input over DEVSTATUS_MAX_INPUT bytes. */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &s, why, sizeof(why)), TE_ERR_TOO_LONG);
}

static void test_same_state(void **state)
{
	struct devstatus a, b;
	char why[160];

	(void)state;
	assert_int_equal(parse("{\"health\":\"ok\",\"errors\":[{\"code\":\"E1\",\"since\":1}],"
	                       "\"counters\":{\"n\":1},\"versions\":{\"fw\":\"1\"},\"uptime_s\":1}",
	                       &a, why, sizeof(why)), 0);
	/* Counters, uptime, since and the note change without a new state. */
	assert_int_equal(parse("{\"health\":\"ok\",\"errors\":[{\"code\":\"E1\",\"since\":9}],"
	                       "\"counters\":{\"n\":2},\"versions\":{\"fw\":\"1\"},\"uptime_s\":9,"
	                       "\"note\":\"x\"}", &b, why, sizeof(why)), 0);
	assert_true(devstatus_same_state(&a, &b));
	assert_int_equal(parse("{\"health\":\"ok\",\"errors\":[{\"code\":\"E2\"}],"
	                       "\"versions\":{\"fw\":\"1\"}}", &b, why, sizeof(why)), 0);
	assert_false(devstatus_same_state(&a, &b));
	assert_int_equal(parse("{\"health\":\"ok\",\"errors\":[{\"code\":\"E1\"}],"
	                       "\"versions\":{\"fw\":\"2\"}}", &b, why, sizeof(why)), 0);
	assert_false(devstatus_same_state(&a, &b));
	assert_int_equal(parse("{\"health\":\"fault\",\"errors\":[{\"code\":\"E1\"}],"
	                       "\"versions\":{\"fw\":\"1\"}}", &b, why, sizeof(why)), 0);
	assert_false(devstatus_same_state(&a, &b));
}

static void test_vercmp(void **state)
{
	static const struct { const char *a, *b; int sign; } cases[] = {
		{ "2.10", "2.9", 1 }, { "2.3", "2.3.1", -1 }, { "2.3.1", "2.3.1", 0 },
		{ "002.09", "2.9", 0 }, { "1.0a", "1.0b", -1 }, { "1.0", "1.0a", -1 },
		{ "10", "9", 1 }, { "1.a", "1.1", -1 }, { "99999999999999999999", "1", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = devstatus_vercmp(cases[i].a, cases[i].b);
		int back = devstatus_vercmp(cases[i].b, cases[i].a);

		if ((r > 0) - (r < 0) != cases[i].sign || (back > 0) - (back < 0) != -cases[i].sign)
			fail_msg("vercmp(%s, %s) = %d, back %d", cases[i].a, cases[i].b, r, back);
	}
}

/* The agent's merge: since from the last status, the command's part kept
 * when a run fails, its own version always there. */
static void test_devreport_merge(void **state)
{
	struct devstatus prev, cmd, out;
	char why[160];

	(void)state;
	assert_int_equal(parse("{\"health\":\"fault\",\"errors\":[{\"code\":\"E1\",\"since\":100},"
	                       "{\"code\":\"E2\",\"since\":50}],\"versions\":{\"zz\":\"1\"}}",
	                       &prev, why, sizeof(why)), 0);
	assert_int_equal(parse("{\"health\":\"fault\",\"errors\":[{\"code\":\"E1\"},"
	                       "{\"code\":\"E3\"},{\"code\":\"E2\",\"since\":60}]}", &cmd, why,
	                       sizeof(why)), 0);
	devreport_merge(&prev, &cmd, NULL, 10, 20, 1000, &out);
	assert_int_equal(devstatus_error(&out, "E1")->since, 100);  /* kept */
	assert_int_equal(devstatus_error(&out, "E3")->since, 1000); /* first seen now */
	assert_int_equal(devstatus_error(&out, "E2")->since, 60);   /* the command's own */
	assert_string_equal(devstatus_version(&out, DEVREPORT_AGENT_COMPONENT), TETHER_VERSION);
	assert_null(devstatus_version(&out, "zz"));                 /* the command's set */
	assert_int_equal(out.uptime_s, 10);
	assert_int_equal(out.disk_free_mb, 20);
	/* A failed run: the last good part stands, with the note. */
	devreport_merge(&prev, NULL, "status command exited with status 3", 11, 21, 1001, &out);
	assert_int_equal(out.health, DEVSTATUS_FAULT);
	assert_int_equal(out.nerrors, 2);
	assert_string_equal(devstatus_version(&out, "zz"), "1");
	assert_string_equal(out.note, "status command exited with status 3");
	/* No command at all: only the agent's facts. */
	devreport_merge(NULL, NULL, NULL, 1, 2, 3, &out);
	assert_int_equal(out.health, DEVSTATUS_UNKNOWN);
	assert_int_equal(out.nerrors, 0);
	assert_int_equal(out.nversions, 1);
}

static void test_alert_match(void **state)
{
	static struct srvconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.alerts[0].product, sizeof(c.alerts[0].product), "injector");
	snprintf(c.alerts[0].list, sizeof(c.alerts[0].list), "fault, E-1*  E-77");
	snprintf(c.alerts[1].product, sizeof(c.alerts[1].product), "scanner");
	snprintf(c.alerts[1].list, sizeof(c.alerts[1].list), "*");
	c.nalerts = 2;
	assert_true(srvconf_alert_match(&c, "injector", "fault"));
	assert_false(srvconf_alert_match(&c, "injector", "warning"));
	assert_true(srvconf_alert_match(&c, "injector", "E-101"));
	assert_true(srvconf_alert_match(&c, "injector", "E-77"));
	assert_false(srvconf_alert_match(&c, "injector", "E-7"));
	assert_false(srvconf_alert_match(&c, "injector", "E-770"));
	assert_true(srvconf_alert_match(&c, "scanner", "X"));
	assert_false(srvconf_alert_match(&c, "scanner", "fault"));  /* "*" is codes only */
	assert_false(srvconf_alert_match(&c, "pump", "fault"));
}

/* ---- the store ------------------------------------------------------------ */

struct store_fix {
	char dir[64], path[128];
	struct store *st;
};

static int count_cb(const struct store_devstatus *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static int err_cb(const struct store_device_error *e, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s:%lld:%lld ", e->code, (long long)e->first_seen,
	         (long long)e->cleared_at);
	return 0;
}

static void test_store_status(void **state)
{
	struct store_fix f;
	struct store_device d = { .serial = "SN1", .customer = "H", .product = "inj",
	                          .status = "registered", .created_at = 1 };
	struct store_devstatus *row = calloc(1, sizeof(*row)), *got = calloc(1, sizeof(*got));
	struct devstatus_error added[2] = { { "E1", 90 }, { "E2", 0 } };
	char cleared[1][DEVSTATUS_CODE_BYTES] = { "E1" }, errs[256] = "";
	int n = 0;

	(void)state;
	snprintf(f.dir, sizeof(f.dir), "/tmp/test_devstatus.XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/t.db", f.dir);
	assert_int_equal(store_open(f.path, &f.st), 0);
	assert_int_equal(store_device_add(f.st, &d), 0);
	assert_int_equal(store_devstatus_get(f.st, "SN1", got), TE_ERR_NOT_FOUND);

	snprintf(row->health, sizeof(row->health), "fault");
	snprintf(row->status, sizeof(row->status), "{\"health\":\"fault\"}");
	assert_int_equal(store_devstatus_put(f.st, "SN1", 100, row, 1, added, 2, NULL, 0, 0), 0);
	/* An unchanged report moves reported_at only, and adds no history. */
	assert_int_equal(store_devstatus_put(f.st, "SN1", 150, row, 0, NULL, 0, NULL, 0, 0), 0);
	assert_int_equal(store_devstatus_get(f.st, "SN1", got), 0);
	assert_int_equal(got->reported_at, 150);
	assert_int_equal(got->changed_at, 100);
	assert_int_equal(store_devstatus_history(f.st, "SN1", count_cb, &n), 0);
	assert_int_equal(n, 1);
	/* E1 cleared at 200. */
	assert_int_equal(store_devstatus_put(f.st, "SN1", 200, row, 1, NULL, 0,
	                                     (const char (*)[DEVSTATUS_CODE_BYTES])cleared, 1, 0),
	                 0);
	assert_int_equal(store_device_errors(f.st, "SN1", err_cb, errs), 0);
	assert_string_equal(errs, "E2:100:0 E1:90:200 ");    /* active first */
	/* Retention: history and cleared errors before 150 go; active stay. */
	assert_int_equal(store_devstatus_put(f.st, "SN1", 300, row, 1, NULL, 0, NULL, 0, 250), 0);
	n = 0;
	assert_int_equal(store_devstatus_history(f.st, "SN1", count_cb, &n), 0);
	assert_int_equal(n, 1);                               /* only the one at 300 */
	errs[0] = '\0';
	assert_int_equal(store_device_errors(f.st, "SN1", err_cb, errs), 0);
	assert_string_equal(errs, "E2:100:0 ");
	assert_int_equal(store_devstatus_prune(f.st, 1000), 0);
	n = 0;
	assert_int_equal(store_devstatus_history(f.st, "SN1", count_cb, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_devstatus_get(f.st, "SN1", got), 0);  /* the latest stays */

	store_close(f.st);
	for (const char *sfx = ""; sfx != NULL; sfx = strcmp(sfx, "") == 0 ? "-wal" :
	                                              strcmp(sfx, "-wal") == 0 ? "-shm" : NULL) {
		char p[160];

		snprintf(p, sizeof(p), "%s%s", f.path, sfx);
		unlink(p);
	}
	rmdir(f.dir);
	free(row);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full_and_canonical),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_same_state),
		cmocka_unit_test(test_vercmp),
		cmocka_unit_test(test_devreport_merge),
		cmocka_unit_test(test_alert_match),
		cmocka_unit_test(test_store_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

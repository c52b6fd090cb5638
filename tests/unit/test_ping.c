/* test_ping.c: back-off bounds and the ping body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "bounds.h"
#include "clockoff.h"
/* src/server also has a ping.h; name ours by path. */
#include "../../src/agent/ping.h"
#include "agentconf.h"

static void test_backoff_bounds(void **state)
{
	unsigned r;
	int f, d, prev_cap = 0, lo1, hi1;

	for (f = 1; f < 40; f++) {
		int lo = 1 << 30, hi = 0;
		for (r = 0; r < 200; r++) {
			d = ping_backoff_ms(f, r * 2654435761u);
			assert_true(d >= BACKOFF_MIN_S * 500 && d <= BACKOFF_MAX_S * 1000);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		assert_true(hi >= prev_cap / 2);
		prev_cap = hi;
	}
	assert_int_equal(ping_backoff_ms(100, 0xffffffffu) <= BACKOFF_MAX_S * 1000, 1);
	/* the first retry is spread too: not every agent exactly 1 s later */
	lo1 = 1 << 30, hi1 = 0;
	for (r = 0; r < 200; r++) {
		d = ping_backoff_ms(1, r * 2654435761u);
		lo1 = d < lo1 ? d : lo1;
		hi1 = d > hi1 ? d : hi1;
	}
	assert_true(lo1 >= 500 && hi1 <= 1000 && hi1 - lo1 >= 300);
}

static void test_body(void **state)
{
	const char *text = "state_dir = /tmp/x\nlongpoll = no\nservice.http = 127.0.0.1:8080\n"
	                   "diag.uptime = /usr/bin/uptime\nfiles.logs = /var/log\n";
	struct agent_conf *c = NULL;
	char err[128], *body;
	json_t *o;

	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	body = ping_body(c);
	assert_non_null(body);
	o = json_loads(body, 0, NULL);
	assert_non_null(o);
	assert_true(json_is_false(json_object_get(o, "wait")));
	assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(json_object_get(o, "services"), 0), "port")), 8080);
	/* The audit head for the server's anchor (genesis when there is no log). */
	assert_true(json_is_integer(json_object_get(json_object_get(o, "audit_head"), "seq")));
	assert_int_equal(strlen(json_string_value(json_object_get(
		json_object_get(o, "audit_head"), "hash"))), 64);
	assert_null(json_object_get(o, "clock_offset_s"));
	/* Its diagnostics and file areas, by name only. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "diags"), 0)),
	                    "uptime");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "files"), 0)),
	                    "logs");
	assert_null(strstr(body, "/var/log"));
	json_decref(o);
	free(body);
	/* Once an offset is known it is reported, rounded to seconds. */
	assert_int_equal(clockoff_set_ms(-3600400), 0);
	body = ping_body_wait(c, 1);
	o = json_loads(body, 0, NULL);
	assert_true(json_is_true(json_object_get(o, "wait")));
	assert_int_equal(json_integer_value(json_object_get(o, "clock_offset_s")), -3600);
	clockoff_clear();
	/* direct: no hold asked, the server's applies */
	assert_null(json_object_get(o, "hold_s"));
	json_decref(o);
	free(body);
	agentconf_free(c);
}

/* Through a proxy a held ping asks for the proxy's hold; an unheld one
 * asks nothing. */
static void test_body_proxy_hold(void **state)
{
	const char *text = "state_dir = /tmp/x\nserver = https://127.0.0.1:8443\n"
	                   "proxy = http://127.0.0.1:3128\n";
	struct agent_conf *c = NULL;
	char err[128], *body;
	json_t *o;

	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	body = ping_body_wait(c, 1);
	o = json_loads(body, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(o, "hold_s")), LONGPOLL_PROXY_HOLD_S);
	json_decref(o);
	free(body);
	body = ping_body_wait(c, 0);
	o = json_loads(body, 0, NULL);
	assert_null(json_object_get(o, "hold_s"));
	json_decref(o);
	free(body);
	agentconf_free(c);
}

/* The wait for a held answer follows the hold the server says, or the
 * shorter one asked for, plus the margin; unknown or out of bounds, the
 * old fixed timeout. */
static void test_timeout(void **state)
{
	assert_int_equal(ping_timeout_s(0, 0), HTTP_TIMEOUT_S);
	assert_int_equal(ping_timeout_s(150, 0), 150 + LONGPOLL_MARGIN_S);
	assert_int_equal(ping_timeout_s(150, 25), 25 + LONGPOLL_MARGIN_S);
	assert_int_equal(ping_timeout_s(10, 25), 10 + LONGPOLL_MARGIN_S);
	assert_int_equal(ping_timeout_s(LONGPOLL_MAX_S + 1, 0), HTTP_TIMEOUT_S);
	assert_true(ping_timeout_s(LONGPOLL_HOLD_S, 0) > LONGPOLL_HOLD_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_proxy_hold),
		cmocka_unit_test(test_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

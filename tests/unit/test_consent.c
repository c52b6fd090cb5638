/* test_consent.c: the consent socket's request parser and event parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "consent.h"
#include "err.h"

static int parse(const char *s, struct consent_line *l)
{
	return consent_parse_line(s, strlen(s), l);
}

static void test_list(void **state)
{
	struct consent_line l;

	assert_int_equal(parse("LIST\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_LIST);
	assert_string_equal(l.id, "");
	assert_int_equal(parse("LIST", &l), 0);
	assert_int_equal(parse("LIST\r\n", &l), 0);
}

static void test_status_watch(void **state)
{
	struct consent_line l;

	assert_int_equal(parse("STATUS\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_STATUS);
	assert_string_equal(l.id, "");
	assert_int_equal(parse("WATCH\r\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_WATCH);
	assert_string_equal(l.id, "");
	assert_int_not_equal(parse("WATCH x\n", &l), 0);
	assert_int_not_equal(parse("STATUS x\n", &l), 0);
	assert_int_not_equal(parse("watch\n", &l), 0);
	assert_int_not_equal(parse("WATCH\nWATCH\n", &l), 0);
}

/* The worker's exit status names the limit that ended a session. */
static void test_worker_end_reason(void **state)
{
	assert_string_equal(consent_worker_end_reason(6 << 8), "idle timeout");
	assert_string_equal(consent_worker_end_reason(7 << 8), "maximum duration reached");
	assert_string_equal(consent_worker_end_reason(0), "tunnel closed");
	assert_string_equal(consent_worker_end_reason(4 << 8), "tunnel closed");
	assert_string_equal(consent_worker_end_reason(9), "tunnel closed");  /* SIGKILL */
}

static void test_verbs_with_id(void **state)
{
	struct consent_line l;

	assert_int_equal(parse("ACCEPT abc-123_X.y\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_ACCEPT);
	assert_string_equal(l.id, "abc-123_X.y");
	assert_int_equal(parse("DENY s1\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_DENY);
	assert_int_equal(parse("END s1\n", &l), 0);
	assert_int_equal(l.cmd, CONSENT_CMD_END);
}

static void test_rejects_malformed(void **state)
{
	static const char *bad[] = {
		"", "\n", "list\n", "LIST x\n", "ACCEPT\n", "ACCEPT \n",
		"ACCEPT a b\n", "ACCEPT  a\n", "ACCEPT a/b\n", "ACCEPT ../x\n",
		"REMOVE x\n", "ACCEPT x\nLIST\n", "LIST\n\n", "ACCEPTX x\n",
		"VERYLONGVERBNAMEXX x\n", "END \xff\n",
	};
	struct consent_line l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(parse(bad[i], &l), 0);
}

static void test_embedded_nul(void **state)
{
	struct consent_line l;

	assert_int_not_equal(consent_parse_line("ACCEPT a\0b\n", 11, &l), 0);
}

static void test_bounds(void **state)
{
	char line[MAX_CONSENT_LINE_BYTES + 8];
	struct consent_line l;

	memset(line, 'a', sizeof(line));
	memcpy(line, "ACCEPT ", 7);
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(consent_parse_line(line, sizeof(line), &l), TE_ERR_TOO_LONG);
	/* An id longer than MAX_NAME_BYTES - 1 is refused even in a short line. */
	memset(line, 'a', MAX_NAME_BYTES + 7);
	memcpy(line, "ACCEPT ", 7);
	line[MAX_NAME_BYTES + 7] = '\n';
	assert_int_not_equal(consent_parse_line(line, MAX_NAME_BYTES + 8, &l), 0);
	memset(line, 'a', MAX_NAME_BYTES + 6);
	memcpy(line, "ACCEPT ", 7);
	line[MAX_NAME_BYTES + 6] = '\n';
	assert_int_equal(consent_parse_line(line, MAX_NAME_BYTES + 7, &l), 0);
}

static void test_event_parse(void **state)
{
	const char *j = "{\"type\":\"session_request\",\"session\":\"S1\",\"user\":"
	                "\"alice\",\"level\":2,\"region\":\"US\",\"reason\":\"TCK-1\","
	                "\"services\":[\"http\",\"ssh\"],\"consent_timeout_s\":90}";
	struct consent_event ev;

	assert_int_equal(consent_event_parse(j, strlen(j), &ev), 0);
	assert_string_equal(ev.session, "S1");
	assert_string_equal(ev.user, "alice");
	assert_int_equal(ev.level, 2);
	assert_string_equal(ev.region, "US");
	assert_string_equal(ev.reason, "TCK-1");
	assert_int_equal(ev.nservices, 2);
	assert_string_equal(ev.services[1], "ssh");
	assert_int_equal(ev.timeout_s, 90);
	assert_string_equal(ev.actions, "");
}

static void test_event_actions(void **state)
{
	const char *j = "{\"session\":\"S1\",\"user\":\"alice\",\"actions\":"
	                "[\"shell\",\"diag:uptime\",\"patient_records\"]}";
	char big[1200];
	struct consent_event ev;
	size_t n;

	assert_int_equal(consent_event_parse(j, strlen(j), &ev), 0);
	assert_string_equal(ev.actions, "shell,diag:uptime,patient_records");
	j = "{\"session\":\"S1\",\"user\":\"a\",\"actions\":[\"a,b\"]}";
	assert_int_not_equal(consent_event_parse(j, strlen(j), &ev), 0);
	j = "{\"session\":\"S1\",\"user\":\"a\",\"actions\":\"shell\"}";
	assert_int_not_equal(consent_event_parse(j, strlen(j), &ev), 0);
	j = "{\"session\":\"S1\",\"user\":\"a\",\"actions\":[\"\"]}";
	assert_int_not_equal(consent_event_parse(j, strlen(j), &ev), 0);
	/* more than MAX_ACTIONS_BYTES in all is refused, not cut */
	n = (size_t)snprintf(big, sizeof(big), "{\"session\":\"S1\",\"user\":\"a\",\"actions\":[");
	while (n < sizeof(big) - 80)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"diag:abcdefghijklmnopqrst\",");
	snprintf(big + n, sizeof(big) - n, "\"shell\"]}");
	assert_int_not_equal(consent_event_parse(big, strlen(big), &ev), 0);
}

static void test_event_parse_rejects(void **state)
{
	static const char *bad[] = {
		"", "[]", "{}", "{\"session\":\"S1\"}",
		"{\"session\":\"a b\",\"user\":\"u\"}",
		"{\"session\":1,\"user\":\"u\"}",
		"{\"session\":\"S\",\"user\":\"u\",\"services\":\"http\"}",
		"{\"session\":\"S\",\"user\":\"u\",\"services\":[1]}",
		/* what would spoof the operator's screen (lib text.h) */
		"{\"session\":\"S\",\"user\":\"u\",\"reason\":\"TCK \\u202egnp.exe\"}",
		"{\"session\":\"S\",\"user\":\"u\",\"reason\":\"a \\u009b2J\"}",
		"{\"session\":\"S\",\"user\":\"u\\u200f\"}",
		"{\"session\":\"S\",\"user\":\"u\",\"region\":\"US\\u2066\"}",
		"{\"session\":\"S\",\"user\":\"u\",\"services\":[\"ht\\u202etp\"]}",
	};
	struct consent_event ev;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(consent_event_parse(bad[i], strlen(bad[i]), &ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_status_watch),
		cmocka_unit_test(test_worker_end_reason),
		cmocka_unit_test(test_verbs_with_id),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_event_parse),
		cmocka_unit_test(test_event_actions),
		cmocka_unit_test(test_event_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_siem.c: the SIEM export's record formats (src/server/siem.c): the
 * JSON line and the RFC 5425 frame of an RFC 5424 message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "siem.h"

static struct audit_record rec(const char *action, const char *detail)
{
	struct audit_record r = { .seq = 42, .ts = "2026-12-06T21:58:49Z", .actor = "alice",
	                          .action = action, .detail = detail };

	memset(r.prev, 'a', 64);
	memset(r.hash, 'b', 64);
	return r;
}

static void test_json(void **state)
{
	struct audit_record r = rec("login", "{\"user\":\"alice\"}");
	char *text = siem_json(&r);
	json_t *o;

	(void)state;
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	assert_non_null(o = json_loads(text, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "detail"), "user")),
	                    "alice");
	json_decref(o);
	free(text);
	/* A detail that is not JSON is kept as a string; no raw control byte
	 * or non-ASCII reaches the line. */
	r = rec("note", "plain \x1b[31m text \xc3\xa9");
	text = siem_json(&r);
	assert_non_null(text);
	for (const char *p = text; *p; p++)
		assert_true(*p >= 32 && *p < 127);
	assert_non_null(o = json_loads(text, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(o, "detail")),
	                    "plain \x1b[31m text \xc3\xa9");
	json_decref(o);
	free(text);
}

static void test_frame(void **state)
{
	struct audit_record r = rec("session_end", "{}");
	size_t len, n;
	char *f = siem_frame(&r, "tether.example.org", 77, &len), *sp, *msg;

	(void)state;
	assert_non_null(f);
	/* "LEN SP MSG" with LEN the message's exact length. */
	n = strtoul(f, &sp, 10);
	assert_int_equal(*sp, ' ');
	assert_int_equal(n, len - (size_t)(sp + 1 - f));
	msg = sp + 1;
	assert_memory_equal(msg, "<85>1 2026-12-06T21:58:49Z tether.example.org tether-server 77 "
	                    "session_end [tether@32473 seq=\"42\" hash=\"bbbb", 104);
	assert_non_null(memmem(msg, n, "] \xef\xbb\xbf{\"seq\":42", 13));
	free(f);
	/* An action that is no MSGID (too long, or a space) becomes "-". */
	r = rec("an action name that is far too long for a msgid", "{}");
	f = siem_frame(&r, "h o", 1, &len);
	assert_non_null(f);
	assert_non_null(strstr(f, " h_o tether-server 1 - [tether@32473"));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

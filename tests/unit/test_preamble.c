/* test_preamble.c: the relay's preamble parser (src/relay/preamble.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bounds.h"
#include "err.h"
#include "preamble.h"

static int parse(const char *line, struct preamble *p)
{
	return relay_preamble_parse(line, strlen(line), p);
}

static void test_good_device_line(void **state)
{
	struct preamble p;

	assert_int_equal(parse("TETHER/1 device abc_DEF-123.sig-_x\n", &p), 0);
	assert_int_equal(p.leg, TICKET_LEG_DEVICE);
	assert_string_equal(p.ticket, "abc_DEF-123.sig-_x");
	assert_int_equal(p.ticket_len, strlen("abc_DEF-123.sig-_x"));
	assert_null(p.why);
}

static void test_good_client_line(void **state)
{
	struct preamble p;

	assert_int_equal(parse("TETHER/1 client x.y\n", &p), 0);
	assert_int_equal(p.leg, TICKET_LEG_CLIENT);
	assert_string_equal(p.ticket, "x.y");
}

static void test_health_line(void **state)
{
	struct preamble p;

	assert_int_equal(parse("TETHER/1 health\n", &p), 0);
	assert_int_equal(p.health, 1);
	assert_int_equal(p.ticket_len, 0);
	assert_null(p.why);
	/* A ticket line is never taken for the health question. */
	assert_int_equal(parse("TETHER/1 device abc\n", &p), 0);
	assert_int_equal(p.health, 0);
}

static void test_malformed_lines(void **state)
{
	static const char *const bad[] = {
		"\n",
		"TETHER/1\n",
		"TETHER/1 \n",
		"TETHER/1 device\n",
		"TETHER/1 device \n",
		"TETHER/2 device abc\n",
		"tether/1 device abc\n",
		"TETHER/1  device abc\n",      /* two spaces */
		"TETHER/1 device  abc\n",
		"TETHER/1 device abc \n",      /* trailing space */
		"TETHER/1 device abc def\n",   /* extra field */
		"TETHER/1 device abc\r\n",     /* CR is not part of the protocol */
		" TETHER/1 device abc\n",
		"TETHER/1\tdevice abc\n",
		"TETHER/1 device ab+c\n",      /* not base64url */
		"TETHER/1 device ab/c\n",
		"TETHER/1 device ab=\n",
		"GET / HTTP/1.1\n",
		"TETHER/1 health \n",         /* the health question is the whole line */
		"TETHER/1 health abc\n",
		"TETHER/1 healthy\n",
		"TETHER/1 health\r\n",
		"TETHER/1  health\n",
		"TETHER/1 Health\n",
	};
	struct preamble p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.why = NULL;
		assert_int_not_equal(parse(bad[i], &p), 0);
		assert_non_null(p.why);
	}
}

static void test_wrong_leg_word(void **state)
{
	struct preamble p;

	assert_int_equal(parse("TETHER/1 server abc\n", &p), TE_ERR_INVALID);
	assert_int_equal(parse("TETHER/1 DEVICE abc\n", &p), TE_ERR_INVALID);
	assert_int_equal(parse("TETHER/1 devices abc\n", &p), TE_ERR_INVALID);
	assert_int_equal(parse("TETHER/1 averyveryverylongword abc\n", &p), TE_ERR_INVALID);
	assert_non_null(strstr(p.why, "leg"));
}

static void test_missing_newline(void **state)
{
	struct preamble p;

	assert_int_equal(parse("TETHER/1 device abc", &p), TE_ERR_TRUNCATED);
	assert_int_equal(relay_preamble_parse("", 0, &p), TE_ERR_TRUNCATED);
	assert_int_equal(relay_preamble_parse(NULL, 0, &p), TE_ERR_INVALID);
}

static void test_embedded_nul(void **state)
{
	static const char line[] = "TETHER/1 device ab\0cd\n";
	struct preamble p;

	assert_int_not_equal(relay_preamble_parse(line, sizeof(line) - 1, &p), 0);
}

/* A line "TETHER/1 client " + ticket of n characters + "\n". */
static char *line_with_ticket(size_t n, size_t *len)
{
	const char *head = "TETHER/1 client ";
	size_t hl = strlen(head);
	char *s = malloc(hl + n + 2);

	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, 'A', n);
	s[hl + n] = '\n';
	s[hl + n + 1] = '\0';
	*len = hl + n + 1;
	return s;
}

static void test_ticket_bounds(void **state)
{
	struct preamble p;
	size_t len;
	char *s;

	s = line_with_ticket(MAX_TICKET_BYTES, &len);
	assert_int_equal(relay_preamble_parse(s, len, &p), 0);
	assert_int_equal(p.ticket_len, MAX_TICKET_BYTES);
	free(s);

	s = line_with_ticket(MAX_TICKET_BYTES + 1, &len);
	assert_int_equal(relay_preamble_parse(s, len, &p), TE_ERR_TOO_LONG);
	free(s);
}

static void test_line_too_long(void **state)
{
	struct preamble p;
	size_t len;
	char *s;

	s = line_with_ticket(MAX_PREAMBLE_BYTES, &len);
	assert_true(len > MAX_PREAMBLE_BYTES);
	assert_int_equal(relay_preamble_parse(s, len, &p), TE_ERR_TOO_LONG);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_device_line),
		cmocka_unit_test(test_good_client_line),
		cmocka_unit_test(test_health_line),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_wrong_leg_word),
		cmocka_unit_test(test_missing_newline),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_ticket_bounds),
		cmocka_unit_test(test_line_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

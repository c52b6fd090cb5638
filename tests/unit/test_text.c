/* test_text.c: the displayable-text checker and escaper (src/lib/text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "text.h"

static void refused(const char *s, const char *want_why)
{
	const char *why = NULL;

	assert_int_equal(text_check_display(s, 256, &why), TE_ERR_INVALID);
	assert_non_null(why);
	assert_non_null(strstr(why, want_why));
}

static void test_plain_and_international_text_accepted(void **state)
{
	const char *why = "x";

	(void)state;
	assert_int_equal(text_check_display("TCK-4711 pump alarm, bay 3", 256, &why), 0);
	assert_null(why);
	assert_int_equal(text_check_display("", 256, NULL), 0);
	/* Grüße, Ελληνικά, 日本, an emoji, Arabic and Hebrew letters themselves */
	assert_int_equal(text_check_display("Gr\xc3\xbc\xc3\x9f" "e \xce\x95\xce\xbb "
	                                    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 "
	                                    "\xd8\xb9 \xd7\x90", 256, NULL), 0);
}

static void test_controls_refused(void **state)
{
	(void)state;
	refused("line\nbreak", "control character");
	refused("tab\there", "control character");
	refused("esc \x1b[31m", "control character");
	refused("del \x7f", "DEL");
	refused("csi \xc2\x9b" "31m", "C1 control");
	refused("nel \xc2\x85", "C1 control");
	refused("first C1 \xc2\x80", "C1 control");
	refused("last C1 \xc2\x9f", "C1 control");
	/* U+00A0, just past C1, is an ordinary (no-break) space */
	assert_int_equal(text_check_display("nbsp \xc2\xa0", 256, NULL), 0);
}

static void test_bidi_refused(void **state)
{
	(void)state;
	refused("TCK \xe2\x80\xae" "gnp.exe", "override");      /* U+202E RLO */
	refused("\xe2\x80\xaa", "override");                     /* U+202A LRE */
	refused("\xe2\x81\xa6", "isolate");                      /* U+2066 LRI */
	refused("\xe2\x81\xa9", "isolate");                      /* U+2069 PDI */
	refused("\xe2\x80\x8e", "mark");                         /* U+200E LRM */
	refused("\xe2\x80\x8f", "mark");                         /* U+200F RLM */
	refused("\xd8\x9c", "mark");                             /* U+061C ALM */
	refused("\xe2\x80\xa8", "separator");                    /* U+2028 */
	/* neighbours stay allowed: U+202F, U+206A, U+200D (ZWJ) */
	assert_int_equal(text_check_display("\xe2\x80\xaf \xe2\x81\xaa \xe2\x80\x8d", 256, NULL), 0);
}

static void test_bad_utf8_refused(void **state)
{
	(void)state;
	refused("lone \x9b", "UTF-8");                 /* raw C1 byte, 8-bit CSI */
	refused("cut \xe2\x80", "UTF-8");              /* truncated at the end */
	refused("\xc0\xaf", "UTF-8");                  /* overlong '/' */
	refused("\xe0\x80\xaf", "UTF-8");              /* overlong, 3 bytes */
	refused("\xed\xa0\x80", "UTF-8");              /* surrogate U+D800 */
	refused("\xf4\x90\x80\x80", "UTF-8");          /* past U+10FFFF */
	refused("\xff", "UTF-8");
	refused("\xe2\x28\xae", "UTF-8");              /* bad continuation */
}

static void test_length_bound(void **state)
{
	char s[300];
	const char *why;

	(void)state;
	memset(s, 'a', sizeof(s));
	s[255] = '\0';
	assert_int_equal(text_check_display(s, 256, NULL), 0);
	s[255] = 'a';
	s[256] = '\0';
	assert_int_equal(text_check_display(s, 256, &why), TE_ERR_TOO_LONG);
	assert_string_equal(why, "too long");
}

static void test_escape_makes_it_visible(void **state)
{
	char out[TEXT_ESCAPED_BYTES(64)];

	(void)state;
	assert_string_equal(text_escape_display("TCK \xe2\x80\xae" "gnp.exe", out, sizeof(out)),
	                    "TCK \\u202egnp.exe");
	assert_string_equal(text_escape_display("a\xc2\x9b" "31m", out, sizeof(out)), "a\\u009b31m");
	assert_string_equal(text_escape_display("raw\x9b", out, sizeof(out)), "raw\\x9b");
	assert_string_equal(text_escape_display("nl\n\x1b\x7f", out, sizeof(out)), "nl\\x0a\\x1b\\x7f");
	/* a backslash is doubled, so "\u202e" typed as text cannot pose as an escape */
	assert_string_equal(text_escape_display("a\\u202e", out, sizeof(out)), "a\\\\u202e");
	assert_string_equal(text_escape_display("Gr\xc3\xbc\xc3\x9f" "e", out, sizeof(out)),
	                    "Gr\xc3\xbc\xc3\x9f" "e");
	assert_int_equal(text_check_display(out, sizeof(out), NULL), 0);
}

static void test_escape_truncates_at_a_whole_piece(void **state)
{
	char out[8];

	(void)state;
	/* "ab" fits, "\u202e" (6 bytes) would not: it is left out whole */
	assert_string_equal(text_escape_display("ab\xe2\x80\xae" "cd", out, sizeof(out)), "ab");
	assert_string_equal(text_escape_display("\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", out, sizeof(out)),
	                    "\xc3\xbc\xc3\xbc\xc3\xbc");
	assert_string_equal(text_escape_display("x", out, 1), "");
	/* the worst case fits TEXT_ESCAPED_BYTES */
	{
		char big[TEXT_ESCAPED_BYTES(4)];
		assert_string_equal(text_escape_display("\x01\x02\x03\x04", big, sizeof(big)),
		                    "\\x01\\x02\\x03\\x04");
	}
}

static void test_next_line(void **state)
{
	const char *p = "one\n\nthree-is-long\nfour";
	char line[6];

	(void)state;
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 1);
	assert_string_equal(line, "one");
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 1);
	assert_string_equal(line, "");
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 1);
	assert_string_equal(line, "three");          /* cut, the rest skipped */
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 1);
	assert_string_equal(line, "four");
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 0);
	p = "end\n";
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 1);
	assert_int_equal(text_next_line(&p, line, sizeof(line)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_international_text_accepted),
		cmocka_unit_test(test_controls_refused),
		cmocka_unit_test(test_bidi_refused),
		cmocka_unit_test(test_bad_utf8_refused),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_escape_makes_it_visible),
		cmocka_unit_test(test_escape_truncates_at_a_whole_piece),
		cmocka_unit_test(test_next_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

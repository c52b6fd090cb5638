/* test_log.c: log record formats (src/lib/log.c): the timestamp, the
 * journald prefix only when JOURNAL_STREAM names stderr, JSON records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Run the logger with stderr sent to a temporary file; return what it wrote. */
static char *capture(const char *journal, enum log_format fmt, enum log_level lvl,
                     const char *msg)
{
	char path[] = "/tmp/test_log.XXXXXX", js[64];
	static char out[8192];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (journal == NULL)
		unsetenv("JOURNAL_STREAM");
	else if (strcmp(journal, "self") == 0) {
		snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
	} else
		setenv("JOURNAL_STREAM", journal, 1);
	dup2(fd, STDERR_FILENO);
	log_init("test", LOG_LVL_DEBUG);
	log_set_format(fmt);
	log_msg(lvl, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n > 0);
	out[n] = '\0';
	close(fd);
	unlink(path);
	log_set_format(LOG_FMT_TEXT);
	unsetenv("JOURNAL_STREAM");
	log_init("test", LOG_LVL_INFO);
	return out;
}

static void test_text_has_timestamp(void **state)
{
	const char *s = capture(NULL, LOG_FMT_TEXT, LOG_LVL_WARN, "hello\nforged");
	unsigned y, mo, d, h, mi, se, ms;
	char z;

	(void)state;
	assert_int_equal(sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &y, &mo, &d, &h, &mi, &se,
	                        &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_non_null(strstr(s, " test["));
	assert_non_null(strstr(s, "] warn: hello?forged\n"));
}

static void test_journal_prefix_only_for_its_stream(void **state)
{
	(void)state;
	assert_memory_equal(capture("self", LOG_FMT_TEXT, LOG_LVL_ERROR, "x"), "<3>test[", 8);
	assert_memory_equal(capture("self", LOG_FMT_TEXT, LOG_LVL_WARN, "x"), "<4>test[", 8);
	assert_memory_equal(capture("self", LOG_FMT_TEXT, LOG_LVL_INFO, "x"), "<6>test[", 8);
	assert_memory_equal(capture("self", LOG_FMT_TEXT, LOG_LVL_DEBUG, "x"), "<7>test[", 8);
	/* Another file, or garbage: no prefix. */
	assert_int_not_equal(capture("1:2", LOG_FMT_TEXT, LOG_LVL_ERROR, "x")[0], '<');
	assert_int_not_equal(capture("junk", LOG_FMT_TEXT, LOG_LVL_ERROR, "x")[0], '<');
}

static void test_json_escapes(void **state)
{
	const char *s = capture(NULL, LOG_FMT_JSON, LOG_LVL_INFO, "a \"q\" \\ b\nc");

	(void)state;
	assert_memory_equal(s, "{\"ts\":\"", 7);
	assert_non_null(strstr(s, "\"level\":\"info\",\"prog\":\"test\",\"pid\":"));
	assert_non_null(strstr(s, "\"msg\":\"a \\\"q\\\" \\\\\\\\ b\\\\x0ac\"}\n"));
	assert_memory_equal(capture("self", LOG_FMT_JSON, LOG_LVL_ERROR, "x"), "<3>{\"ts\"", 8);
	assert_int_equal(log_format_parse("json", &(enum log_format){ 0 }), 0);
	assert_int_equal(log_format_parse("xml", &(enum log_format){ 0 }), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_has_timestamp),
		cmocka_unit_test(test_journal_prefix_only_for_its_stream),
		cmocka_unit_test(test_json_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

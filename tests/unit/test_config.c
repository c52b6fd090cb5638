/* test_config.c: the config parser refuses anything it does not understand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bounds.h"
#include "config.h"
#include "err.h"

static const char *const agent_keys[] = {
	"server", "serial", "state_dir", "consent_timeout_s", "proxy", "user",
	"longpoll", "service.", NULL
};

static int parse(const char *text, struct config **cfg, char *err, size_t errsz)
{
	return config_parse(text, strlen(text), "agent.conf", agent_keys, cfg, err, errsz);
}

static void test_good_file(void **state)
{
	const char *text =
		"# tether-agent\n"
		"server = https://127.0.0.1:8443\n"
		"\n"
		"   serial=SN-0001   \n"
		"state_dir = /var/lib/tether-agent   # comment after value\n"
		"proxy = http://u:pa#ss@h:3128\n"
		"user =\n"
		"consent_timeout_s = 90\r\n"
		"\t# indented comment\n"
		"longpoll = yes";
	struct config *cfg = NULL;
	char err[256];
	long v = 0;

	(void)state;
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_non_null(cfg);
	assert_string_equal(config_get(cfg, "server", NULL), "https://127.0.0.1:8443");
	assert_string_equal(config_get(cfg, "serial", NULL), "SN-0001");
	assert_string_equal(config_get(cfg, "state_dir", NULL), "/var/lib/tether-agent");
	assert_string_equal(config_get(cfg, "proxy", NULL), "http://u:pa#ss@h:3128");
	assert_string_equal(config_get(cfg, "user", "x"), "");
	assert_string_equal(config_get(cfg, "longpoll", NULL), "yes");
	assert_string_equal(config_get(cfg, "service.http", "absent"), "absent");
	assert_int_equal(config_get_int(cfg, "consent_timeout_s", 120, 1, 3600, &v, err,
	                                sizeof(err)), 0);
	assert_int_equal(v, 90);
	config_free(cfg);
	config_free(NULL);
}

static void test_unknown_key_names_line(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse("server = x\n# c\nsevrer = y\n", &cfg, err, sizeof(err)),
	                 TE_ERR_NOT_FOUND);
	assert_null(cfg);
	assert_string_equal(err, "agent.conf:3: unknown key 'sevrer'");
}

static void test_over_long_line(void **state)
{
	struct config *cfg = NULL;
	char err[256];
	char *text = malloc(MAX_CONFIG_LINE_BYTES + 32);

	(void)state;
	assert_non_null(text);
	strcpy(text, "server = ");
	memset(text + 9, 'a', MAX_CONFIG_LINE_BYTES);
	strcpy(text + 9 + MAX_CONFIG_LINE_BYTES, "\n");
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), TE_ERR_TOO_LONG);
	assert_null(cfg);
	assert_non_null(strstr(err, "agent.conf:1:"));
	free(text);
}

static void test_over_long_file(void **state)
{
	struct config *cfg = NULL;
	char err[256];
	size_t len = MAX_CONFIG_FILE_BYTES + 1;
	char *text = malloc(len);

	(void)state;
	assert_non_null(text);
	memset(text, '\n', len);
	assert_int_equal(config_parse(text, len, "big.conf", agent_keys, &cfg, err, sizeof(err)),
	                 TE_ERR_TOO_LONG);
	assert_null(cfg);
	free(text);
}

static void test_missing_equals(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse("server = x\nserial SN-1\n", &cfg, err, sizeof(err)),
	                 TE_ERR_INVALID);
	assert_null(cfg);
	assert_non_null(strstr(err, "agent.conf:2:"));
	assert_int_equal(parse("= value\n", &cfg, err, sizeof(err)), TE_ERR_INVALID);
	assert_non_null(strstr(err, "agent.conf:1:"));
}

static void test_duplicate_key(void **state)
{
	struct config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(parse("serial = a\nserial = b\n", &cfg, err, sizeof(err)),
	                 TE_ERR_EXISTS);
	assert_null(cfg);
	assert_string_equal(err, "agent.conf:2: duplicate key 'serial'");
}

static void test_nul_and_control_bytes(void **state)
{
	const char text[] = "serial = a\0b\n";
	struct config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(config_parse(text, sizeof(text) - 1, "x", agent_keys, &cfg, err,
	                              sizeof(err)), TE_ERR_INVALID);
	assert_int_equal(parse("serial = a\x1b[2Jb\n", &cfg, err, sizeof(err)), TE_ERR_INVALID);
	assert_null(cfg);
}

static void test_integer_range(void **state)
{
	struct config *cfg = NULL;
	char err[256];
	long v = 7;

	(void)state;
	assert_int_equal(parse("consent_timeout_s = 5000\nserial = 12abc\nserver = "
	                       "99999999999999999999999\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_get_int(cfg, "consent_timeout_s", 120, 1, 3600, &v, err,
	                                sizeof(err)), TE_ERR_INVALID);
	assert_string_equal(err, "agent.conf:1: consent_timeout_s must be an integer in [1, 3600]");
	assert_int_equal(v, 7);
	assert_int_equal(config_get_int(cfg, "serial", 0, 0, 100, &v, err, sizeof(err)),
	                 TE_ERR_INVALID);
	assert_non_null(strstr(err, "agent.conf:2:"));
	assert_int_equal(config_get_int(cfg, "server", 0, 0, 100, &v, err, sizeof(err)),
	                 TE_ERR_INVALID);
	/* Absent: the default. */
	assert_int_equal(config_get_int(cfg, "longpoll", 42, 0, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	config_free(cfg);
}

struct seen {
	char keys[4][64];
	size_t n;
};

static void collect(const char *key, const char *value, void *arg)
{
	struct seen *s = arg;

	(void)value;
	if (s->n < 4)
		snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
}

static void test_prefix_keys(void **state)
{
	struct config *cfg = NULL;
	struct seen s = { .n = 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse("service.http = 127.0.0.1:8080\nserial = a\n"
	                       "service.dicom = 127.0.0.1:104\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "service.http", NULL), "127.0.0.1:8080");
	assert_int_equal(config_each_prefix(cfg, "service.", collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "service.http");
	assert_string_equal(s.keys[1], "service.dicom");
	assert_int_equal(config_each_prefix(cfg, "nothing.", NULL, NULL), 0);
	/* Each key remembers its line, for messages about its value. */
	assert_int_equal(config_line(cfg, "service.http"), 1);
	assert_int_equal(config_line(cfg, "service.dicom"), 3);
	assert_int_equal(config_line(cfg, "service.none"), 0);
	config_free(cfg);
	/* The prefix alone is not a key. */
	assert_int_equal(parse("service. = x\n", &cfg, err, sizeof(err)), TE_ERR_NOT_FOUND);
	assert_int_equal(parse("services = x\n", &cfg, err, sizeof(err)), TE_ERR_NOT_FOUND);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/tether-test-config-XXXXXX";
	struct config *cfg = NULL;
	char err[256];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "serial = SN-9\n", 14), 14);
	close(fd);
	assert_int_equal(config_load(path, agent_keys, &cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "serial", NULL), "SN-9");
	config_free(cfg);
	unlink(path);
	assert_int_equal(config_load(path, agent_keys, &cfg, err, sizeof(err)), TE_ERR_NOT_FOUND);
	assert_null(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_unknown_key_names_line),
		cmocka_unit_test(test_over_long_line),
		cmocka_unit_test(test_over_long_file),
		cmocka_unit_test(test_missing_equals),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_nul_and_control_bytes),
		cmocka_unit_test(test_integer_range),
		cmocka_unit_test(test_prefix_keys),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

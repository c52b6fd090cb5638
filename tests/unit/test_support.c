/* test_support.c: support password storage, verification and lockout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentconf.h"
#include "bounds.h"
#include "err.h"
#include "support.h"

static struct agent_conf *conf_in_tmp(void)
{
	char dir[] = "/tmp/test_support.XXXXXX", text[256], err[128];
	struct agent_conf *c = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "state_dir = %s\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	return c;
}

static void cleanup(struct agent_conf *c)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->state_dir);
	assert_int_equal(system(cmd), 0);
	agentconf_free(c);
}

static void test_store_and_verify(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	char path[600];
	struct stat st;

	assert_int_equal(support_store(c, "short"), TE_ERR_INVALID);
	assert_int_equal(support_store(c, "correct horse battery"), 0);
	snprintf(path, sizeof(path), "%s/support.hash", c->state_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(support_verify(c, "correct horse battery"), 0);
	assert_int_equal(support_verify(c, "wrong password!!"), TE_ERR_DENIED);
	assert_int_equal(support_failures(c), 1);
	/* success resets the counter */
	assert_int_equal(support_verify(c, "correct horse battery"), 0);
	assert_int_equal(support_failures(c), 0);
	cleanup(c);
}

static void test_lockout(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	int i;

	assert_int_equal(support_store(c, "correct horse battery"), 0);
	for (i = 1; i < SUPPORT_MAX_FAILURES; i++)
		assert_int_equal(support_verify(c, "nope nope nope"), TE_ERR_DENIED);
	assert_int_equal(support_verify(c, "nope nope nope"), TE_ERR_LOCKED);
	/* locked: even the right password fails */
	assert_int_equal(support_verify(c, "correct horse battery"), TE_ERR_LOCKED);
	/* a new password (support-password) unlocks */
	assert_int_equal(support_store(c, "another long password"), 0);
	assert_int_equal(support_verify(c, "another long password"), 0);
	cleanup(c);
}

static void test_generate(void **state)
{
	char a[64], b[64];

	assert_int_equal(support_generate(a, sizeof(a)), 0);
	assert_int_equal(support_generate(b, sizeof(b)), 0);
	assert_true(strlen(a) >= PASSWORD_MIN_CHARS);
	assert_string_not_equal(a, b);
}

static void test_read_password(void **state)
{
	int p[2];
	char pw[16];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "secret\r\nrest", 12), 12);
	close(p[1]);
	assert_int_equal(support_read_password(p[0], pw, sizeof(pw)), 0);
	assert_string_equal(pw, "secret");
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789abcdefXYZ\n", 20), 20);
	close(p[1]);
	assert_int_equal(support_read_password(p[0], pw, sizeof(pw)), TE_ERR_TOO_LONG);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_and_verify),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_read_password),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

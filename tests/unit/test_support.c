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

/* A config in a fresh state folder; extra lines (lockout settings) added. */
static struct agent_conf *conf_with(const char *extra)
{
	char dir[] = "/tmp/test_support.XXXXXX", text[512], err[128];
	struct agent_conf *c = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "state_dir = %s\n%s", dir, extra);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	return c;
}

static struct agent_conf *conf_in_tmp(void)
{
	return conf_with("");
}

static void cleanup(struct agent_conf *c)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->state_dir);
	assert_int_equal(system(cmd), 0);
	agentconf_free(c);
}

static void write_state(struct agent_conf *c, const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->state_dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void test_store_and_verify(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	struct support_attempt a;
	char path[600];
	struct stat st;

	assert_int_equal(support_store(c, "short"), TE_ERR_INVALID);
	assert_int_equal(support_store(c, "correct horse battery"), 0);
	snprintf(path, sizeof(path), "%s/support.hash", c->state_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(support_verify(c, "correct horse battery", NULL), 0);
	assert_int_equal(support_verify(c, "wrong password!!", &a), TE_ERR_DENIED);
	assert_int_equal(a.counted, 1);
	assert_int_equal(a.failures, 1);
	assert_int_equal(support_failures(c), 1);
	/* success resets the counter */
	assert_int_equal(support_verify(c, "correct horse battery", &a), 0);
	assert_int_equal(support_failures(c), 0);
	cleanup(c);
}

/* Empty passwords (OpenSSH without a terminal) never count. */
static void test_empty_not_counted(void **state)
{
	struct agent_conf *c = conf_with("support_max_failures = 2\n");
	struct support_attempt a;
	int i;

	assert_int_equal(support_store(c, "correct horse battery"), 0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(support_verify(c, "", &a), TE_ERR_DENIED);
		assert_int_equal(a.counted, 0);
	}
	assert_int_equal(support_verify(c, NULL, &a), TE_ERR_DENIED);
	assert_int_equal(support_failures(c), 0);
	assert_int_equal(support_verify(c, "correct horse battery", NULL), 0);
	cleanup(c);
}

/* Wrong passwords lock for a time, with backoff; the lock ends by itself,
 * attempts while locked are not checked and not counted. */
static void test_lockout_backoff(void **state)
{
	struct agent_conf *c = conf_with("support_max_failures = 3\n"
	                                 "support_lock_base_s = 10\nsupport_lock_max_s = 35\n");
	struct support_attempt a;
	const int64_t t0 = 1700000000;
	long failures, rem;

	assert_int_equal(support_store(c, "correct horse battery"), 0);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0, &a), TE_ERR_DENIED);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0 + 1, &a), TE_ERR_DENIED);
	assert_int_equal(a.lock_s, 0);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0 + 2, &a), TE_ERR_LOCKED);
	assert_int_equal(a.failures, 3);
	assert_int_equal(a.lock_s, 10);
	assert_int_equal(a.until, t0 + 12);
	/* locked: even the right password is refused, unchecked and uncounted */
	assert_int_equal(support_verify_at(c, "correct horse battery", t0 + 5, &a), TE_ERR_LOCKED);
	assert_int_equal(a.counted, 0);
	assert_int_equal(a.lock_s, 0);
	assert_int_equal(a.remaining_s, 7);
	assert_int_equal(support_status(c, t0 + 5, &failures, &rem), 0);
	assert_int_equal(failures, 3);
	assert_int_equal(rem, 7);
	/* the lock ends by itself; the next failure locks twice as long */
	assert_int_equal(support_status(c, t0 + 12, NULL, &rem), 0);
	assert_int_equal(rem, 0);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0 + 12, &a), TE_ERR_LOCKED);
	assert_int_equal(a.lock_s, 20);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0 + 32, &a), TE_ERR_LOCKED);
	assert_int_equal(a.lock_s, 35);                  /* capped */
	/* after it, the right password works and clears the run */
	assert_int_equal(support_verify_at(c, "correct horse battery", t0 + 67, &a), 0);
	assert_int_equal(support_status(c, t0 + 67, &failures, &rem), 0);
	assert_int_equal(failures, 0);
	assert_int_equal(rem, 0);
	cleanup(c);
}

static void test_new_password_unlocks(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	int i;

	assert_int_equal(support_store(c, "correct horse battery"), 0);
	for (i = 1; i < SUPPORT_MAX_FAILURES; i++)
		assert_int_equal(support_verify(c, "nope nope nope", NULL), TE_ERR_DENIED);
	assert_int_equal(support_verify(c, "nope nope nope", NULL), TE_ERR_LOCKED);
	assert_int_equal(support_verify(c, "correct horse battery", NULL), TE_ERR_LOCKED);
	/* a new password (support-password) unlocks; the old one is gone */
	assert_int_equal(support_store(c, "another long password"), 0);
	assert_int_equal(support_verify(c, "correct horse battery", NULL), TE_ERR_DENIED);
	assert_int_equal(support_verify(c, "another long password", NULL), 0);
	cleanup(c);
}

/* The record is read back as written (an agent restart); a mangled one,
 * the bare count of earlier versions, or a clock set back lock from now,
 * and the lock still ends by itself. */
static void test_record_on_disk(void **state)
{
	struct agent_conf *c = conf_with("support_max_failures = 2\n"
	                                 "support_lock_base_s = 10\nsupport_lock_max_s = 100\n");
	const int64_t t0 = 1700000000;
	char text[128];
	long rem;

	assert_int_equal(support_store(c, "correct horse battery"), 0);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0, NULL), TE_ERR_DENIED);
	assert_int_equal(support_verify_at(c, "nope nope nope", t0, NULL), TE_ERR_LOCKED);
	assert_int_equal(support_status(c, t0 + 4, NULL, &rem), 0);
	assert_int_equal(rem, 6);
	write_state(c, "support.failures", "garbage\n");
	assert_int_equal(support_status(c, t0 + 50, NULL, &rem), 0);
	assert_int_equal(rem, 10);                       /* fail closed, from now */
	assert_int_equal(support_status(c, t0 + 60, NULL, &rem), 0);
	assert_int_equal(rem, 0);
	write_state(c, "support.failures", "7\n");      /* earlier versions */
	assert_int_equal(support_status(c, t0 + 70, NULL, &rem), 0);
	assert_true(rem > 0);
	snprintf(text, sizeof(text), "failures 2 last_failure_at %lld\n", (long long)t0 + 5000);
	write_state(c, "support.failures", text);        /* the clock went back */
	assert_int_equal(support_status(c, t0, NULL, &rem), 0);
	assert_int_equal(rem, 10);
	assert_int_equal(support_status(c, t0 + 10, NULL, &rem), 0);
	assert_int_equal(rem, 0);
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
		cmocka_unit_test(test_empty_not_counted),
		cmocka_unit_test(test_lockout_backoff),
		cmocka_unit_test(test_new_password_unlocks),
		cmocka_unit_test(test_record_on_disk),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_read_password),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

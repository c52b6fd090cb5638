/* test_sessrec.c: the agent's durable session records (sessrec.c). */
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
#include "err.h"
#include "sessrec.h"

static struct agent_conf *conf_in(char *dir)
{
	char text[256], err[128];
	struct agent_conf *c = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "state_dir = %s\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	return c;
}

static void test_parse(void **state)
{
	static const char text[] = "0123abcd ended by the operator\n"
	                           "bad id reason\n"   /* "bad" is fine, reason "id reason" */
	                           "\n"
	                           "x\xff y\n"
	                           "live1\n"
	                           "last agent restarted";   /* no final newline */
	struct sessrec r[4];
	size_t n, bad;

	assert_int_equal(sessrec_parse(text, sizeof(text) - 1, r, 4, &n, &bad), 0);
	assert_int_equal(n, 4);
	assert_int_equal(bad, 2);
	assert_string_equal(r[0].id, "0123abcd");
	assert_string_equal(r[0].reason, "ended by the operator");
	assert_string_equal(r[1].id, "bad");
	assert_string_equal(r[2].id, "live1");
	assert_string_equal(r[2].reason, "");
	assert_string_equal(r[3].reason, "agent restarted");
	/* More than max: the rest count as bad. */
	assert_int_equal(sessrec_parse(text, sizeof(text) - 1, r, 2, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 4);
	/* A bidirectional override in a reason is refused. */
	assert_int_equal(sessrec_parse("a b\xe2\x80\xae" "c\n", 8, r, 4, &n, &bad), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sessrec_parse("a", SESSREC_FILE_MAX_BYTES + 1, r, 4, &n, &bad),
	                 TE_ERR_TOO_LONG);
}

static void test_ends_file(void **state)
{
	char dir[] = "/tmp/test_sessrec.XXXXXX", path[512];
	struct agent_conf *c = conf_in(dir);
	struct sessrec r[SESSREC_MAX];
	struct stat st;
	size_t n;
	int i;

	assert_int_equal(sessrec_load(c, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n), 0);
	assert_int_equal(n, 0);                       /* no file: no entries */
	assert_int_equal(sessrec_end_add(c, "s1", "ended by the operator"), 0);
	assert_int_equal(sessrec_end_add(c, "s2", "agent stopped"), 0);
	assert_int_equal(sessrec_end_add(c, "s1", "idle timeout"), 0);   /* replaced */
	assert_int_equal(sessrec_load(c, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].id, "s1");
	assert_string_equal(r[0].reason, "idle timeout");
	snprintf(path, sizeof(path), "%s/%s", dir, SESSREC_ENDS_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sessrec_end_done(c, "s1"), 0);
	assert_int_equal(sessrec_end_done(c, "nope"), 0);
	assert_int_equal(sessrec_load(c, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].id, "s2");
	/* Full: the oldest goes. */
	for (i = 0; i < SESSREC_MAX + 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "x%d", i);
		assert_int_equal(sessrec_end_add(c, id, "tunnel closed"), 0);
	}
	assert_int_equal(sessrec_load(c, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n), 0);
	assert_int_equal(n, SESSREC_MAX);
	assert_string_equal(r[SESSREC_MAX - 1].id, "x34");
	/* live-sessions: ids only; empty is an empty file. */
	assert_int_equal(sessrec_store(c, SESSREC_LIVE_FILE, r, 2), 0);
	assert_int_equal(sessrec_store(c, SESSREC_LIVE_FILE, NULL, 0), 0);
	assert_int_equal(sessrec_load(c, SESSREC_LIVE_FILE, r, SESSREC_MAX, &n), 0);
	assert_int_equal(n, 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, SESSREC_LIVE_FILE);
	unlink(path);
	rmdir(dir);
	agentconf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_ends_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_agentaudit.c: the agent's audit records survive whatever bytes a
 * peer chose (invalid UTF-8, a character cut by truncation). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentaudit.h"
#include "agentconf.h"
#include "audit.h"
#include "err.h"

/* The next fsync_failures calls to fsync fail with EIO (a disk that lost
 * the data); this definition takes the place of the C library's. */
static int fsync_failures;

int fsync(int fd)
{
	if (fsync_failures > 0) {
		fsync_failures--;
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static struct agent_conf *conf_in_tmp(void)
{
	char dir[] = "/tmp/test_agentaudit.XXXXXX", text[256], err[128];
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

static int log_contains(const struct agent_conf *c, const char *needle)
{
	static char buf[65536];
	char path[600];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/audit.log", c->state_dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void test_clean_utf8(void **state)
{
	char a[] = "ok \xc3\xa9 \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82";
	char b[] = "plain ascii";

	agentaudit_clean_utf8(a);
	assert_string_equal(a, "ok \xc3\xa9 ?? ?? ??? ??");
	agentaudit_clean_utf8(b);
	assert_string_equal(b, "plain ascii");
}

/* A forward to a host named with invalid UTF-8 is still on the record. */
static void test_invalid_utf8_from_a_peer_is_recorded(void **state)
{
	struct agent_conf *c = conf_in_tmp();

	assert_int_equal(agentaudit_log(c, "alice", "channel_refused",
	                                "session s1 direct-tcpip to %s:%d: not allowlisted",
	                                "\xff\xfe" "evil", 22), 0);
	assert_true(log_contains(c, "direct-tcpip to ??evil:22"));
	assert_int_equal(agentaudit_verify(c), 0);
	cleanup(c);
}

/* Truncating a long detail must not leave half a character behind. */
static void test_truncated_multibyte_is_recorded(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	char big[3000];
	size_t i;

	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[i] = '\0';
	assert_int_equal(agentaudit_log(c, "alice", "auth_failed", "x%s", big), 0);
	assert_true(log_contains(c, "auth_failed"));
	assert_int_equal(agentaudit_verify(c), 0);
	cleanup(c);
}

static void log_path(const struct agent_conf *c, char *path, size_t n)
{
	snprintf(path, n, "%s/audit.log", c->state_dir);
}

/* The head the full verifier computes, to compare agentaudit_head with. */
static void verified_head(const struct agent_conf *c, int64_t *seq, char hash[SHA256_HEX_BYTES])
{
	struct audit_verifier v;
	char path[600];

	log_path(c, path, sizeof(path));
	assert_int_equal(audit_file_verify(path, &v), 0);
	*seq = v.count;
	memcpy(hash, v.prev, SHA256_HEX_BYTES);
}

static void test_head_follows_the_log(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	char hash[SHA256_HEX_BYTES], want[SHA256_HEX_BYTES], second[SHA256_HEX_BYTES];
	char path[600], big[1500];
	int64_t seq, want_seq;
	struct stat st;
	off_t cut;
	FILE *f;

	/* No log yet: the genesis head. */
	assert_int_equal(agentaudit_head(c, &seq, hash), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hash, AUDIT_GENESIS_HASH);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Long records make the file larger than one read from its end. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(agentaudit_log(c, "agent", "filler", "%d %s", i, big), 0);
	assert_int_equal(agentaudit_log(c, "agent", "second_last", "x"), 0);
	verified_head(c, &want_seq, second);
	log_path(c, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	cut = st.st_size;
	assert_true(cut > MAX_AUDIT_LINE_BYTES);
	assert_int_equal(agentaudit_log(c, "agent", "last", "x"), 0);
	verified_head(c, &want_seq, want);
	assert_int_equal(agentaudit_head(c, &seq, hash), 0);
	assert_int_equal(seq, 10);
	assert_int_equal(seq, want_seq);
	assert_string_equal(hash, want);

	/* Remove the newest record: the head goes back and the chain still
	 * verifies (which is why the server anchors it). The running agent saw
	 * its file shrink and refuses to write, saying why; after a restart it
	 * appends from the shorter chain (the server's anchor reports it). */
	assert_int_equal(truncate(path, cut), 0);
	assert_int_equal(agentaudit_head(c, &seq, hash), 0);
	assert_int_equal(seq, 9);
	assert_string_equal(hash, second);
	assert_int_equal(agentaudit_verify(c), 0);
	assert_int_equal(agentaudit_log(c, "agent", "after_cut", "y"), TE_ERR_CHAIN);
	assert_non_null(strstr(agentaudit_why(), "shrank"));
	agentaudit_close();
	assert_int_equal(agentaudit_log(c, "agent", "after_cut", "y"), 0);
	assert_int_equal(agentaudit_head(c, &seq, hash), 0);
	assert_int_equal(seq, 10);
	assert_string_not_equal(hash, want);

	/* Half a record at the end (a power cut) cannot be read as a head;
	 * the next start cuts it off and says so in the trail. */
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"seq\":11,", f);
	fclose(f);
	assert_int_equal(agentaudit_head(c, &seq, hash), TE_ERR_CHAIN);
	assert_int_not_equal(agentaudit_verify(c), 0);
	agentaudit_close();
	assert_int_equal(agentaudit_log(c, "agent", "agent_start", "z"), 0);
	assert_true(log_contains(c, "\"action\":\"audit_recovered\""));
	assert_int_equal(agentaudit_verify(c), 0);
	assert_int_equal(agentaudit_head(c, &seq, hash), 0);
	assert_int_equal(seq, 12);
	agentaudit_close();
	cleanup(c);
}

/* A trail that cannot be written says why, and the failures are counted
 * (a session worker ends its session when they grow). */
static void test_unwritable_trail_says_why(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	char path[600], moved[640];
	unsigned long before;

	assert_int_equal(agentaudit_log(c, "agent", "agent_start", "x"), 0);
	log_path(c, path, sizeof(path));
	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	before = agentaudit_failures();
	assert_int_equal(agentaudit_log(c, "alice", "session_request", "s1"), TE_ERR_CHAIN);
	assert_int_equal(agentaudit_failures(), before + 1);
	assert_non_null(strstr(agentaudit_why(), "replaced or removed"));
	/* A restart cannot open a directory as its trail either. */
	agentaudit_close();
	assert_int_not_equal(agentaudit_log(c, "alice", "session_request", "s2"), 0);
	assert_non_null(strstr(agentaudit_why(), "cannot open"));
	agentaudit_close();
	cleanup(c);
}

/* A failed fsync breaks the open handle (what is on disk is unknown), not
 * the trail: the next append opens the log again, verifies it and goes on,
 * with no restart (issue 8: the device recovers by itself). */
static void test_failed_fsync_recovers_without_restart(void **state)
{
	struct agent_conf *c = conf_in_tmp();
	struct audit_verifier v;
	char path[600];

	assert_int_equal(agentaudit_log(c, "agent", "agent_start", "x"), 0);
	fsync_failures = 1;
	assert_int_equal(agentaudit_log(c, "alice", "session_request", "lost"), TE_ERR_IO);
	assert_non_null(strstr(agentaudit_why(), "fsync failed"));
	assert_int_equal(agentaudit_log(c, "alice", "session_request", "kept"), 0);
	assert_true(log_contains(c, "kept"));
	assert_false(log_contains(c, "lost"));
	log_path(c, path, sizeof(path));
	assert_int_equal(audit_file_verify(path, &v), 0);
	assert_int_equal(v.count, 2);
	agentaudit_close();
	cleanup(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_utf8),
		cmocka_unit_test(test_invalid_utf8_from_a_peer_is_recorded),
		cmocka_unit_test(test_truncated_multibyte_is_recorded),
		cmocka_unit_test(test_head_follows_the_log),
		cmocka_unit_test(test_unwritable_trail_says_why),
		cmocka_unit_test(test_failed_fsync_recovers_without_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

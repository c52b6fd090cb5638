/* test_audit.c: the chain catches edits, deletions and reordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"
#include "bounds.h"
#include "err.h"

#define MAX_TEST_LINES 16
#define LINE_BYTES 1024

struct logfile {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct logfile *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/tether-test-audit-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct logfile *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Write four records through the public API. */
static void write_four(const char *path)
{
	struct audit_log *log = NULL;

	assert_int_equal(audit_log_open(path, &log), 0);
	assert_int_equal(audit_log_append(log, "agent", "start", "{\"version\":\"0.1.0\"}"), 0);
	assert_int_equal(audit_log_append(log, "alice", "session.open", "s-1 \"quoted\"\nline"), 0);
	assert_int_equal(audit_log_append(log, "alice", "file.get", "/var/log/x 120 abc"), 0);
	assert_int_equal(audit_log_append(log, "operator", "session.end", ""), 0);
	audit_log_close(log);
}

static size_t read_lines(const char *path, char lines[][LINE_BYTES])
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	assert_non_null(fp);
	while (n < MAX_TEST_LINES && fgets(lines[n], LINE_BYTES, fp) != NULL)
		n++;
	fclose(fp);
	return n;
}

static void write_lines(const char *path, char lines[][LINE_BYTES], size_t n)
{
	FILE *fp = fopen(path, "w");
	size_t i;

	assert_non_null(fp);
	for (i = 0; i < n; i++)
		fputs(lines[i], fp);
	fclose(fp);
}

static void test_append_and_verify(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	char lines[MAX_TEST_LINES][LINE_BYTES];
	struct audit_record rec;
	struct stat st;

	write_four(f->path);
	assert_int_equal(audit_file_verify(f->path, &v), 0);
	assert_int_equal(v.count, 4);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_lines(f->path, lines), 4);
	assert_int_equal(audit_parse_line(lines[1], strlen(lines[1]), &rec), 0);
	assert_int_equal(rec.seq, 2);
	assert_string_equal(rec.actor, "alice");
	assert_string_equal(rec.action, "session.open");
	assert_string_equal(rec.detail, "s-1 \"quoted\"\nline");
	assert_int_equal(strlen(rec.ts), AUDIT_TS_BYTES - 1);
	assert_int_equal(audit_parse_line(lines[0], strlen(lines[0]), &rec), 0);
	assert_string_equal(rec.prev, AUDIT_GENESIS_HASH);
}

static void test_edited_record_detected(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	char lines[MAX_TEST_LINES][LINE_BYTES];
	char *p;

	write_four(f->path);
	assert_int_equal(read_lines(f->path, lines), 4);
	p = strstr(lines[2], "/var/log/x");
	assert_non_null(p);
	p[9] = 'y';
	write_lines(f->path, lines, 4);
	assert_int_equal(audit_file_verify(f->path, &v), TE_ERR_CHAIN);
	assert_int_equal(v.bad_seq, 3);
	assert_non_null(strstr(v.why, "hash mismatch"));
}

static void test_deleted_record_detected(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	char lines[MAX_TEST_LINES][LINE_BYTES];

	write_four(f->path);
	assert_int_equal(read_lines(f->path, lines), 4);
	memcpy(lines[1], lines[2], LINE_BYTES);
	memcpy(lines[2], lines[3], LINE_BYTES);
	write_lines(f->path, lines, 3);
	assert_int_equal(audit_file_verify(f->path, &v), TE_ERR_CHAIN);
	assert_int_equal(v.bad_seq, 3);
	/* Deleting the first record is caught too. */
	unlink(f->path);
	write_four(f->path);
	assert_int_equal(read_lines(f->path, lines), 4);
	write_lines(f->path, lines + 1, 3);
	assert_int_equal(audit_file_verify(f->path, &v), TE_ERR_CHAIN);
}

static void test_reordered_pair_detected(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	char lines[MAX_TEST_LINES][LINE_BYTES], tmp[LINE_BYTES];

	write_four(f->path);
	assert_int_equal(read_lines(f->path, lines), 4);
	memcpy(tmp, lines[1], LINE_BYTES);
	memcpy(lines[1], lines[2], LINE_BYTES);
	memcpy(lines[2], tmp, LINE_BYTES);
	write_lines(f->path, lines, 4);
	assert_int_equal(audit_file_verify(f->path, &v), TE_ERR_CHAIN);
	assert_true(v.failed);
}

static void test_reopen_continues_chain(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	struct audit_log *log = NULL;
	char lines[MAX_TEST_LINES][LINE_BYTES];
	struct audit_record rec;

	write_four(f->path);
	assert_int_equal(audit_log_open(f->path, &log), 0);
	assert_int_equal(audit_log_append(log, "agent", "restart", "{}"), 0);
	audit_log_close(log);
	assert_int_equal(audit_file_verify(f->path, &v), 0);
	assert_int_equal(v.count, 5);
	assert_int_equal(read_lines(f->path, lines), 5);
	assert_int_equal(audit_parse_line(lines[4], strlen(lines[4]), &rec), 0);
	assert_int_equal(rec.seq, 5);
}

static void test_two_writers_share_the_chain(void **state)
{
	struct logfile *f = *state;
	struct audit_log *a = NULL, *b = NULL;
	struct audit_verifier v;

	assert_int_equal(audit_log_open(f->path, &a), 0);
	assert_int_equal(audit_log_open(f->path, &b), 0);
	assert_int_equal(audit_log_append(a, "a", "one", ""), 0);
	assert_int_equal(audit_log_append(b, "b", "two", ""), 0);
	assert_int_equal(audit_log_append(a, "a", "three", ""), 0);
	audit_log_close(a);
	audit_log_close(b);
	assert_int_equal(audit_file_verify(f->path, &v), 0);
	assert_int_equal(v.count, 3);
}

static void test_open_refuses_broken_chain(void **state)
{
	struct logfile *f = *state;
	struct audit_log *log = NULL;
	char lines[MAX_TEST_LINES][LINE_BYTES];

	write_four(f->path);
	assert_int_equal(read_lines(f->path, lines), 4);
	write_lines(f->path, lines + 1, 3);
	assert_int_equal(audit_log_open(f->path, &log), TE_ERR_CHAIN);
	assert_null(log);
}

static void test_append_rejects_newline_in_actor(void **state)
{
	struct logfile *f = *state;
	struct audit_log *log = NULL;

	assert_int_equal(audit_log_open(f->path, &log), 0);
	assert_int_equal(audit_log_append(log, "a\nb", "x", ""), TE_ERR_INVALID);
	assert_int_equal(audit_log_append(log, "a", "x\n", ""), TE_ERR_INVALID);
	assert_int_equal(audit_log_append(log, "a", "x", "\xff\xfe"), TE_ERR_INVALID);
	audit_log_close(log);
	audit_log_close(NULL);
}

static void test_parse_line_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"{}",
		"not json",
		"{\"seq\":1,\"ts\":\"2026-11-27T10:00:00Z\",\"actor\":\"a\",\"action\":\"b\","
		"\"detail\":\"c\",\"prev\":\"00\",\"hash\":\"00\"}",
		"{\"seq\":\"1\",\"ts\":\"2026-11-27T10:00:00Z\",\"actor\":\"a\",\"action\":\"b\","
		"\"detail\":\"c\",\"prev\":\"" AUDIT_GENESIS_HASH "\",\"hash\":\"" AUDIT_GENESIS_HASH "\"}",
		"{\"seq\":1,\"seq\":1,\"ts\":\"2026-11-27T10:00:00Z\",\"actor\":\"a\",\"action\":\"b\","
		"\"detail\":\"c\",\"prev\":\"" AUDIT_GENESIS_HASH "\",\"hash\":\"" AUDIT_GENESIS_HASH "\"}",
		"{\"seq\":1,\"ts\":\"yesterday at noon!!!\",\"actor\":\"a\",\"action\":\"b\","
		"\"detail\":\"c\",\"prev\":\"" AUDIT_GENESIS_HASH "\",\"hash\":\"" AUDIT_GENESIS_HASH "\"}",
	};
	static const char good[] =
		"{\"seq\":1,\"ts\":\"2026-11-27T10:00:00Z\",\"actor\":\"a\",\"action\":\"b\","
		"\"detail\":\"c\",\"prev\":\"" AUDIT_GENESIS_HASH "\",\"hash\":\"" AUDIT_GENESIS_HASH "\"}\n";
	struct audit_record rec;
	char buf[LINE_BYTES];
	size_t i;

	(void)state;
	strcpy(buf, good);
	assert_int_equal(audit_parse_line(buf, strlen(buf), &rec), 0);
	assert_string_equal(rec.detail, "c");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(buf, bad[i]);
		assert_int_equal(audit_parse_line(buf, strlen(buf), &rec), TE_ERR_INVALID);
	}
}

static void test_chain_hash_and_verifier(void **state)
{
	struct audit_verifier v;
	struct audit_record r1 = { .seq = 1, .actor = "a", .action = "b", .detail = "c" };
	struct audit_record r2 = { .seq = 2, .actor = "a", .action = "d", .detail = "" };

	(void)state;
	strcpy(r1.ts, "2026-11-27T10:00:00Z");
	strcpy(r2.ts, "2026-11-27T10:00:01Z");
	strcpy(r1.prev, AUDIT_GENESIS_HASH);
	assert_int_equal(audit_chain_hash(r1.seq, r1.ts, r1.actor, r1.action, r1.detail,
	                                  r1.prev, r1.hash), 0);
	strcpy(r2.prev, r1.hash);
	assert_int_equal(audit_chain_hash(r2.seq, r2.ts, r2.actor, r2.action, r2.detail,
	                                  r2.prev, r2.hash), 0);
	audit_verifier_init(&v);
	assert_int_equal(audit_verifier_feed(&v, &r1), 0);
	assert_int_equal(audit_verifier_feed(&v, &r2), 0);
	assert_int_equal(v.count, 2);
	/* Feeding r2 again is a repeat. */
	assert_int_equal(audit_verifier_feed(&v, &r2), TE_ERR_CHAIN);
	/* The failure sticks. */
	assert_int_equal(audit_verifier_feed(&v, &r1), TE_ERR_CHAIN);
}

/* Head of a file through a read-only fd: as many cases as callers meet. */
static int64_t head_of(const char *path, char hash[SHA256_HEX_BYTES], int *rc)
{
	int64_t seq = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	*rc = audit_fd_head(fd, &seq, hash);
	close(fd);
	return seq;
}

static void test_fd_head(void **state)
{
	struct logfile *f = *state;
	struct audit_verifier v;
	char lines[MAX_TEST_LINES][LINE_BYTES], hash[SHA256_HEX_BYTES];
	struct audit_record rec;
	FILE *fp;
	int rc;

	/* Empty file: seq 0 and the genesis hash. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(head_of(f->path, hash, &rc), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(hash, AUDIT_GENESIS_HASH);
	/* Four records: the head is the last one, as the verifier sees it. */
	write_four(f->path);
	assert_int_equal(audit_file_verify(f->path, &v), 0);
	assert_int_equal(head_of(f->path, hash, &rc), 4);
	assert_int_equal(rc, 0);
	assert_string_equal(hash, v.prev);
	assert_int_equal(read_lines(f->path, lines), 4);
	assert_int_equal(audit_parse_line(lines[3], strlen(lines[3]), &rec), 0);
	assert_string_equal(hash, rec.hash);
	/* A last line cut short is refused, and the outputs stay at genesis. */
	assert_int_equal(read_lines(f->path, lines), 4);
	lines[3][strlen(lines[3]) - 1] = '\0';
	write_lines(f->path, lines, 4);
	assert_int_equal(head_of(f->path, hash, &rc), 0);
	assert_int_equal(rc, TE_ERR_CHAIN);
	assert_string_equal(hash, AUDIT_GENESIS_HASH);
	/* An unparseable last line too. */
	strcpy(lines[3], "not json\n");
	write_lines(f->path, lines, 4);
	assert_int_equal(head_of(f->path, hash, &rc), 0);
	assert_int_equal(rc, TE_ERR_CHAIN);
	/* A bad descriptor is an error, not a crash. */
	assert_int_equal(audit_fd_head(-1, &rec.seq, hash), TE_ERR_SYS);
}

/* A line longer than any record may be, with no newline before it in the
 * bytes read, is refused rather than read in full. */
static void test_fd_head_overlong_tail(void **state)
{
	struct logfile *f = *state;
	char hash[SHA256_HEX_BYTES];
	FILE *fp;
	size_t i;
	int rc;

	write_four(f->path);
	fp = fopen(f->path, "a");
	assert_non_null(fp);
	for (i = 0; i < MAX_AUDIT_LINE_BYTES + 16; i++)
		fputc('x', fp);
	fputc('\n', fp);
	fclose(fp);
	assert_int_equal(head_of(f->path, hash, &rc), 0);
	assert_int_equal(rc, TE_ERR_CHAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edited_record_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_record_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reordered_pair_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers_share_the_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_broken_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_rejects_newline_in_actor, setup, teardown),
		cmocka_unit_test(test_parse_line_rejects),
		cmocka_unit_test(test_chain_hash_and_verifier),
		cmocka_unit_test_setup_teardown(test_fd_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_head_overlong_tail, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

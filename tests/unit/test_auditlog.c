/* test_auditlog.c: the file-backed log: appends read nothing or only what
 * others appended (the same at any size), a torn last line is cut off and
 * recorded while any other break is refused, and a log that cannot be
 * written says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"
#include "err.h"
#include "secret.h"

struct logfile {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct logfile *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/tether-test-auditlog-XXXXXX");
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
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void write_n(const char *path, int n)
{
	struct audit_log *log = NULL;
	int i;

	assert_int_equal(audit_log_open(path, &log), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(audit_log_append(log, "agent", "filler", "some detail"), 0);
	audit_log_close(log);
}

static void append_raw(const char *path, const char *bytes)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	fputs(bytes, fp);
	fclose(fp);
}

/* The count of an intact chain, or -1. */
static int64_t verified_count(const char *path)
{
	struct audit_verifier v;

	return audit_file_verify(path, &v) == 0 ? v.count : -1;
}

/* The bytes a second handle reads for its own appends and for one record
 * another handle appended, on a log of n records. */
static void append_cost(const char *path, int n, uint64_t *own, uint64_t *other,
                        off_t *other_len)
{
	struct audit_log *a = NULL, *b = NULL;
	uint64_t before;
	off_t size;
	int i;

	write_n(path, n);
	assert_int_equal(audit_log_open(path, &a), 0);
	assert_int_equal(audit_log_open(path, &b), 0);
	/* Opening verifies everything: it reads the whole file. */
	assert_true(audit_log_bytes_read(b) >= (uint64_t)file_size(path));
	before = audit_log_bytes_read(b);
	for (i = 0; i < 5; i++)
		assert_int_equal(audit_log_append(b, "b", "own", "x"), 0);
	*own = audit_log_bytes_read(b) - before;
	size = file_size(path);
	assert_int_equal(audit_log_append(a, "a", "other", "y"), 0);
	*other_len = file_size(path) - size;
	before = audit_log_bytes_read(b);
	assert_int_equal(audit_log_append(b, "b", "after", "z"), 0);
	*other = audit_log_bytes_read(b) - before;
	audit_log_close(a);
	audit_log_close(b);
	assert_int_equal(verified_count(path), n + 7);
}

static void test_append_cost_does_not_grow(void **state)
{
	struct logfile *f = *state;
	uint64_t own_small, other_small, own_big, other_big;
	off_t len_small, len_big;

	append_cost(f->path, 10, &own_small, &other_small, &len_small);
	assert_int_equal(unlink(f->path), 0);
	append_cost(f->path, 3000, &own_big, &other_big, &len_big);
	/* Our own appends read nothing; another's record is read once, exactly
	 * (plus nothing): at 10 records as at 3,000. */
	assert_int_equal(own_small, 0);
	assert_int_equal(own_big, 0);
	assert_int_equal(other_small, (uint64_t)len_small);
	assert_int_equal(other_big, (uint64_t)len_big);
}

/* A record missing its end, as a power cut leaves it. */
static void test_torn_line_is_cut_and_recorded(void **state)
{
	struct logfile *f = *state;
	static const char torn[] = "{\"seq\":5,\"ts\":\"2026-";
	struct audit_open_report rep;
	struct audit_log *log = NULL;
	char hex[SHA256_HEX_BYTES], line[1024];
	off_t good;
	FILE *fp;

	write_n(f->path, 4);
	good = file_size(f->path);
	append_raw(f->path, torn);
	assert_int_equal(verified_count(f->path), -1);
	/* The strict open refuses it and changes nothing. */
	assert_int_equal(audit_log_open(f->path, &log), TE_ERR_CHAIN);
	assert_int_equal(file_size(f->path), good + (off_t)strlen(torn));
	assert_int_equal(audit_log_open_recover(f->path, "agent", &log, &rep), 0);
	assert_int_equal(rep.dropped_bytes, strlen(torn));
	assert_int_equal(rep.after_seq, 4);
	assert_int_equal(secret_sha256_hex(torn, strlen(torn), hex), 0);
	assert_string_equal(rep.dropped_sha256, hex);
	assert_int_equal(audit_log_append(log, "agent", "next", "x"), 0);
	audit_log_close(log);
	assert_int_equal(verified_count(f->path), 6);
	/* Record 5 says what was dropped. */
	assert_non_null(fp = fopen(f->path, "r"));
	for (int i = 0; i < 5; i++)
		assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_non_null(strstr(line, "\"action\":\"audit_recovered\""));
	assert_non_null(strstr(line, hex));
	assert_non_null(strstr(line, "dropped_bytes\\\":20"));
	assert_non_null(strstr(line, "after_seq\\\":4"));
}

/* A last line with its newline that does not parse (zeros after a crash). */
static void test_unreadable_last_line_is_cut(void **state)
{
	struct logfile *f = *state;
	struct audit_open_report rep;
	struct audit_log *log = NULL;

	write_n(f->path, 3);
	append_raw(f->path, "\x01garbage\n");
	assert_int_equal(audit_log_open_recover(f->path, "relay-1", &log, &rep), 0);
	assert_int_equal(rep.dropped_bytes, 9);
	assert_int_equal(rep.after_seq, 3);
	audit_log_close(log);
	assert_int_equal(verified_count(f->path), 4);
}

/* An edit is not a tear: a broken line with records after it, or a last
 * line that parses but does not chain, is refused and left as it is. */
static void test_breaks_elsewhere_are_refused(void **state)
{
	struct logfile *f = *state;
	struct audit_open_report rep;
	struct audit_log *log = NULL;
	off_t size;

	write_n(f->path, 2);
	append_raw(f->path, "not json\n");
	append_raw(f->path, "{\"also\":\"not a record\"}\n");
	size = file_size(f->path);
	assert_int_equal(audit_log_open_recover(f->path, "agent", &log, &rep), TE_ERR_CHAIN);
	assert_null(log);
	assert_non_null(strstr(rep.why, "chain broken"));
	assert_int_equal(file_size(f->path), size);
	/* A whole record at the end whose hash was edited. */
	assert_int_equal(unlink(f->path), 0);
	write_n(f->path, 3);
	append_raw(f->path, "{\"seq\":4,\"ts\":\"2026-11-27T10:00:00Z\",\"actor\":\"a\","
	           "\"action\":\"b\",\"detail\":\"c\",\"prev\":\"" AUDIT_GENESIS_HASH
	           "\",\"hash\":\"" AUDIT_GENESIS_HASH "\"}\n");
	size = file_size(f->path);
	assert_int_equal(audit_log_open_recover(f->path, "agent", &log, &rep), TE_ERR_CHAIN);
	assert_int_equal(file_size(f->path), size);
}

/* A write the file system refuses (here: over RLIMIT_FSIZE, as with a full
 * disk) fails that append only, leaves no partial record behind, and says
 * why; the next append works again. */
static void test_refused_write_is_undone(void **state)
{
	struct logfile *f = *state;
	struct audit_log *log = NULL;
	struct rlimit old, lim;
	off_t size;

	write_n(f->path, 2);
	assert_int_equal(audit_log_open(f->path, &log), 0);
	size = file_size(f->path);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 16;          /* room for part of a record */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(audit_log_append(log, "agent", "too_big", "x"), TE_ERR_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(audit_log_why(log), "cannot write"));
	assert_false(audit_log_broken(log));
	assert_int_equal(file_size(f->path), size);
	assert_int_equal(verified_count(f->path), 2);
	assert_int_equal(audit_log_append(log, "agent", "fits", "x"), 0);
	assert_string_equal(audit_log_why(log), "");
	audit_log_close(log);
	assert_int_equal(verified_count(f->path), 3);
}

/* The file replaced, removed or cut under an open handle: the handle stops
 * for good, saying why, and never starts a chain of its own there. */
static void test_replaced_or_shrunk_breaks_the_handle(void **state)
{
	struct logfile *f = *state;
	struct audit_log *log = NULL;
	char moved[128];

	write_n(f->path, 2);
	assert_int_equal(audit_log_open(f->path, &log), 0);
	snprintf(moved, sizeof(moved), "%s/old.log", f->dir);
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(audit_log_append(log, "agent", "x", ""), TE_ERR_CHAIN);
	assert_non_null(strstr(audit_log_why(log), "replaced or removed"));
	assert_true(audit_log_broken(log));
	assert_int_equal(rmdir(f->path), 0);
	assert_int_equal(rename(moved, f->path), 0);
	/* Broken stays broken, even with the file back. */
	assert_int_equal(audit_log_append(log, "agent", "x", ""), TE_ERR_CHAIN);
	audit_log_close(log);

	assert_int_equal(audit_log_open(f->path, &log), 0);
	assert_int_equal(truncate(f->path, file_size(f->path) / 2), 0);
	assert_int_equal(audit_log_append(log, "agent", "x", ""), TE_ERR_CHAIN);
	assert_non_null(strstr(audit_log_why(log), "shrank"));
	audit_log_close(log);
}

/* A child that inherited the handle, and closed every descriptor as the
 * session workers do, still appends to the same chain under its own lock. */
static void test_forked_child_reopens(void **state)
{
	struct logfile *f = *state;
	struct audit_log *log = NULL;
	pid_t pid;
	int status;

	assert_int_equal(audit_log_open(f->path, &log), 0);
	assert_int_equal(audit_log_append(log, "agent", "parent", "1"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;

		close_range(3, ~0U, 0);
		rc = audit_log_append(log, "worker", "child", "2");
		rc = rc == 0 ? audit_log_append(log, "worker", "child", "3") : rc;
		audit_log_close(log);
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(audit_log_append(log, "agent", "parent", "4"), 0);
	audit_log_close(log);
	assert_int_equal(verified_count(f->path), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_cost_does_not_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line_is_cut_and_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_last_line_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breaks_elsewhere_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_write_is_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replaced_or_shrunk_breaks_the_handle, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_forked_child_reopens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

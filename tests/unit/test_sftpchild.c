/* test_sftpchild.c: the SFTP child's argv, the worker's parser of its audit
 * lines (untrusted input), and the spawn's descriptor wiring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"
#include "sftpchild.h"

static void test_argv(void **state)
{
	const char *roots[] = { "/data/logs", "/data/up" }, *refuse[] = { "/data/*.dcm" };
	struct sftpchild_spec spec = { roots, 2, NULL, refuse, 1, 1, 0, 1 };
	const char *argv[SFTPCHILD_MAX_ARGS];
	const char *want[] = { "tether-agent", "sftp-server", "--root", "/data/logs",
	                       "--root", "/data/up", "--refuse", "/data/*.dcm", "--write",
	                       "--case-insensitive", NULL };
	size_t i;

	(void)state;
	assert_int_equal(sftpchild_argv(&spec, argv, SFTPCHILD_MAX_ARGS), 0);
	for (i = 0; want[i] != NULL; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[i]);
	assert_int_equal(sftpchild_argv(&spec, argv, 6), TE_ERR_TOO_LONG);
}

static int parse(const char *line)
{
	char action[SFTPCHILD_ACTION_BYTES];
	json_t *d = NULL;
	int rc = sftpchild_audit_line(line, strlen(line), action, &d);

	if (rc == 0) {
		assert_non_null(d);
		json_decref(d);
	} else {
		assert_null(d);
	}
	return rc;
}

static void test_audit_line(void **state)
{
	char action[SFTPCHILD_ACTION_BYTES];
	const char *ok = "{\"action\":\"file_read\",\"detail\":{\"path\":\"/d/a\","
	                 "\"bytes\":3,\"size\":3,\"sha256\":null}}";
	json_t *d = NULL;
	char *big;

	(void)state;
	assert_int_equal(sftpchild_audit_line(ok, strlen(ok), action, &d), 0);
	assert_string_equal(action, "file_read");
	assert_string_equal(json_string_value(json_object_get(d, "path")), "/d/a");
	json_decref(d);
	assert_int_equal(parse("{\"action\":\"file_refused\",\"detail\":{\"path\":\"x\","
	                       "\"op\":\"open\",\"reason\":\"patient data\"}}"), 0);
	/* what a compromised child might try */
	assert_int_equal(parse("{\"action\":\"session_end\",\"detail\":{}}"), TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"detail\":{\"a\":{\"b\":1}}}"),
	                 TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"detail\":[1]}"), TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"detail\":{},\"session\":\"x\"}"),
	                 TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"action\":\"file_write\","
	                       "\"detail\":{}}"), TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"detail\":{\"a\":1,\"b\":1,"
	                       "\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}}"),
	                 TE_ERR_INVALID);
	assert_int_equal(parse("not json"), TE_ERR_INVALID);
	assert_int_equal(parse("[\"file_read\"]"), TE_ERR_INVALID);
	assert_int_equal(parse("{\"action\":\"file_read\",\"detail\":{\"p\":\"\\u0000\"}}"),
	                 TE_ERR_INVALID);
	big = malloc(MAX_SFTP_AUDIT_LINE_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', MAX_SFTP_AUDIT_LINE_BYTES + 1);
	big[MAX_SFTP_AUDIT_LINE_BYTES + 1] = '\0';
	assert_int_equal(parse(big), TE_ERR_TOO_LONG);
	free(big);
}

/* Reads fd until EOF (bounded). */
static size_t slurp(int fd, char *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t n = 0;
	ssize_t r;
	int i;

	for (i = 0; i < 500 && n < cap - 1; i++) {
		if (poll(&p, 1, 100) < 0)
			break;
		r = read(fd, buf + n, cap - 1 - n);
		if (r == 0)
			break;
		if (r > 0)
			n += (size_t)r;
		else if (errno != EAGAIN && errno != EINTR)
			break;
	}
	buf[n] = '\0';
	return n;
}

/* stdin, stdout and fd 3 reach the program; nothing else of ours does. */
static void test_spawn_wiring(void **state)
{
	char *const argv[] = { "sh", "-c", "cat; ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3; "
	                       "exit 7", NULL };
	char out[256], aud[256];
	int fds[3], status, leak;
	pid_t pid;

	(void)state;
	leak = open("/dev/null", O_RDONLY);   /* no CLOEXEC: must still not leak */
	assert_int_equal(dup2(leak, 30), 30);
	close(leak);
	leak = 30;
	assert_int_equal(sftpchild_spawn("/bin/sh", argv, fds, &pid), 0);
	assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[0], "hello", 5), 5);
	close(fds[0]);
	slurp(fds[1], out, sizeof(out));
	assert_string_equal(out, "hello");
	slurp(fds[2], aud, sizeof(aud));
	/* ls's own directory descriptor is the only extra one */
	assert_int_equal(strncmp(aud, "0 1 2 3 ", 8), 0);
	assert_true(strlen(aud) <= 10);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	close(fds[1]);
	close(fds[2]);
	close(leak);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_audit_line),
		cmocka_unit_test(test_spawn_wiring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

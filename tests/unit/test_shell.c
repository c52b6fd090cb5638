/* test_shell.c: the asciicast recorder's JSON escaping, and a real shell on
 * a PTY recorded to a file whose SHA-256 the result reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "agentconf.h"
#include "err.h"
#include "secret.h"
#include "shell.h"

static size_t esc(const char *in, size_t len, char *out, size_t outsz, size_t *used)
{
	return shell_json_escape((const unsigned char *)in, len, out, outsz, used);
}

static void test_escape(void **state)
{
	char out[128];
	size_t used, n;

	n = esc("a\"b\\c\r\n\x1b[0m", 11, out, sizeof(out), &used);
	assert_string_equal(out, "a\\\"b\\\\c\\u000d\\u000a\\u001b[0m");
	assert_int_equal(n, strlen(out));
	assert_int_equal(used, 11);
	/* valid UTF-8 passes through */
	n = esc("\xc3\xa9\xe2\x82\xac", 5, out, sizeof(out), &used);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xac");
	assert_int_equal(used, 5);
	/* invalid bytes become U+FFFD; an overlong form and a surrogate too */
	esc("\xff" "a" "\xc0\xaf" "\xed\xa0\x80", 7, out, sizeof(out), &used);
	assert_string_equal(out, "\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
	assert_int_equal(used, 7);
	/* a sequence cut at the end is left for the next event */
	esc("ab\xe2\x82", 4, out, sizeof(out), &used);
	assert_string_equal(out, "ab");
	assert_int_equal(used, 2);
	/* the result is always a valid JSON string body */
	{
		char doc[160];
		json_t *j;

		esc("x\x01\"\xfe\xc3\xa9", 6, out, sizeof(out), &used);
		snprintf(doc, sizeof(doc), "\"%s\"", out);
		assert_non_null(j = json_loads(doc, JSON_DECODE_ANY, NULL));
		json_decref(j);
	}
	/* too small: nothing taken */
	assert_int_equal(esc("\x01\x02", 2, out, 8, &used), 0);
	assert_int_equal(used, 0);
}

static struct agent_conf *conf_in(const char *dir)
{
	char text[512], err[128];
	struct agent_conf *c = NULL;

	snprintf(text, sizeof(text), "state_dir = %s\nshell = /bin/sh\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	return c;
}

static void test_recorded_command(void **state)
{
	char dir[] = "/tmp/test_shell.XXXXXX", why[256], buf[4096], *file = NULL;
	char sha[SHA256_HEX_BYTES];
	struct shell_spec sp;
	struct shell_result res;
	struct shell *sh = NULL;
	struct agent_conf *c;
	struct pollfd p;
	size_t len = 0, total = 0;
	ssize_t n;
	FILE *f;
	int i;

	assert_non_null(mkdtemp(dir));
	c = conf_in(dir);
	memset(&sp, 0, sizeof(sp));
	sp.session = "s1";
	sp.channel = 2;
	sp.term = "xterm";
	sp.cols = 100;
	sp.rows = 30;
	sp.command = "echo \"out-$((6*7))\"; exit 5";
	assert_int_equal(shell_start(c, &sp, &sh, why, sizeof(why)), 0);
	assert_int_equal(shell_resize(sh, 120, 40), 0);
	p.fd = shell_fd(sh);
	p.events = POLLIN;
	for (i = 0; i < 100; i++) {
		if (poll(&p, 1, 100) > 0) {
			n = read(p.fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			assert_int_equal(shell_record(sh, buf, (size_t)n), 0);
			total += (size_t)n;
		}
	}
	shell_finish(sh, &res);
	assert_int_equal(res.exit_status, 5);
	assert_int_equal(res.bytes, total);
	assert_true(strstr(res.recording, "/recordings/s1-2.cast") != NULL);
	f = fopen(res.recording, "r");
	assert_non_null(f);
	file = malloc(65536);
	len = fread(file, 1, 65535, f);
	fclose(f);
	file[len] = '\0';
	assert_int_equal(secret_sha256_hex(file, len, sha), 0);
	assert_string_equal(sha, res.sha256);
	assert_true(strncmp(file, "{\"version\":2,\"width\":100,\"height\":30,", 37) == 0);
	assert_non_null(strstr(file, "\"title\":\"session s1\""));
	assert_non_null(strstr(file, ", \"r\", \"120x40\"]"));
	assert_non_null(strstr(file, "out-42"));
	free(file);
	unlink(res.recording);
	snprintf(buf, sizeof(buf), "%s/recordings", dir);
	rmdir(buf);
	rmdir(dir);
	agentconf_free(c);
}

static void test_bad_shell(void **state)
{
	char dir[] = "/tmp/test_shell.XXXXXX", why[256], text[256], err[128];
	struct agent_conf *c = NULL;
	struct shell_spec sp;
	struct shell *sh = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "state_dir = %s\nshell = /nonexistent/sh\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	memset(&sp, 0, sizeof(sp));
	sp.session = "s2";
	assert_int_not_equal(shell_start(c, &sp, &sh, why, sizeof(why)), 0);
	assert_null(sh);
	assert_non_null(strstr(why, "could not be started"));
	/* no recording is left behind for a shell that never ran */
	snprintf(text, sizeof(text), "%s/recordings/s2-0.cast", dir);
	assert_int_not_equal(access(text, F_OK), 0);
	snprintf(text, sizeof(text), "%s/recordings", dir);
	rmdir(text);
	rmdir(dir);
	agentconf_free(c);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok = f != NULL && fputs(text, f) >= 0;

	if (f != NULL && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Where no user namespace can be made (here: a namespace whose limit is
 * 0, or a machine without them), a shell that must hide patient data is
 * refused, never started uncovered. Runs in a child so the limit stays
 * there. */
static void test_cover_fails_closed(void **state)
{
	char dir[] = "/tmp/test_shell.XXXXXX", text[512], err[128], why[256], map[64];
	struct agent_conf *c = NULL;
	struct shell_spec sp;
	struct shell *sh = NULL;
	unsigned long uid = (unsigned long)geteuid(), gid = (unsigned long)getegid();
	int status, rc;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "state_dir = %s\npatient_data.p = %s\n", dir, dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) == 0) {
			snprintf(map, sizeof(map), "0 %lu 1\n", uid);
			write_text("/proc/self/uid_map", map);
			write_text("/proc/self/setgroups", "deny");
			snprintf(map, sizeof(map), "0 %lu 1\n", gid);
			write_text("/proc/self/gid_map", map);
			write_text("/proc/sys/user/max_user_namespaces", "0");
		}
		memset(&sp, 0, sizeof(sp));
		sp.session = "s3";
		sp.hide_patient = 1;
		rc = shell_start(c, &sp, &sh, why, sizeof(why));
		_exit(rc == TE_ERR_DENIED && sh == NULL &&
		      strstr(why, "patient data cannot be hidden") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(text, sizeof(text), "%s/recordings/s3-0.cast", dir);
	assert_int_not_equal(access(text, F_OK), 0);
	snprintf(text, sizeof(text), "%s/recordings", dir);
	rmdir(text);
	rmdir(dir);
	agentconf_free(c);
}

/* As a dropped-privilege agent runs it (another uid, not dumpable): the
 * cover still works where the kernel allows user namespaces to that user,
 * and is refused otherwise. Needs root to become nobody; skipped without. */
static void test_cover_after_privdrop(void **state)
{
	char dir[] = "/tmp/test_shell.XXXXXX", text[512], err[128], why[256], buf[4096];
	char out[8192] = "";
	struct agent_conf *c = NULL;
	struct shell_spec sp;
	struct shell_result res;
	struct shell *sh = NULL;
	struct pollfd p;
	size_t len = 0;
	ssize_t n;
	int status, i, userns;
	pid_t pid, probe;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(text, sizeof(text), "%s/pd", dir);
	assert_int_equal(mkdir(text, 0755), 0);
	snprintf(text, sizeof(text), "%s/pd/record.txt", dir);
	assert_int_equal(write_text(text, "secret-4711\n"), 0);
	assert_int_equal(chmod(text, 0644), 0);
	snprintf(text, sizeof(text), "state_dir = %s\npatient_data.p = %s/pd\n", dir, dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		prctl(PR_SET_DUMPABLE, 0);
		/* May this user make a user namespace here at all? */
		if ((probe = fork()) == 0)
			_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
		waitpid(probe, &status, 0);
		userns = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		memset(&sp, 0, sizeof(sp));
		sp.session = "s4";
		sp.hide_patient = 1;
		snprintf(text, sizeof(text), "cat %s/pd/record.txt; echo done", dir);
		sp.command = text;
		if (shell_start(c, &sp, &sh, why, sizeof(why)) != 0)
			_exit(userns ? 3 : 0);
		if (!userns)
			_exit(4);
		p.fd = shell_fd(sh);
		p.events = POLLIN;
		for (i = 0; i < 100 && !strstr(out, "done"); i++) {
			if (poll(&p, 1, 100) <= 0)
				continue;
			if ((n = read(p.fd, buf, sizeof(buf))) <= 0)
				break;
			if (len + (size_t)n < sizeof(out)) {
				memcpy(out + len, buf, (size_t)n);
				len += (size_t)n;
				out[len] = '\0';
			}
		}
		shell_finish(sh, &res);
		unlink(res.recording);
		_exit(strstr(out, "done") != NULL && strstr(out, "secret-4711") == NULL ? 0 : 5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(text, sizeof(text), "%s/pd/record.txt", dir);
	unlink(text);
	snprintf(text, sizeof(text), "%s/pd", dir);
	rmdir(text);
	snprintf(text, sizeof(text), "%s/recordings", dir);
	rmdir(text);
	rmdir(dir);
	agentconf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_recorded_command),
		cmocka_unit_test(test_bad_shell),
		cmocka_unit_test(test_cover_fails_closed),
		cmocka_unit_test(test_cover_after_privdrop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

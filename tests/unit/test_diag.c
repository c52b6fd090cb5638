/* test_diag.c: a diagnostic's argv is exec'd literally, its output hashed,
 * its exit status reported. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentconf.h"
#include "diag.h"
#include "err.h"
#include "secret.h"

static const struct agent_diag *diag_of(const char *line, struct agent_conf **c)
{
	char text[512], err[128];

	snprintf(text, sizeof(text), "state_dir = /tmp\ndiag.t = %s\n", line);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", c, err, sizeof(err)), 0);
	return agentconf_diag(*c, "t");
}

/* Run to the end; the output in out. */
static void run(const struct agent_diag *d, char *out, size_t outsz, struct diag_result *res)
{
	struct diag *dg = NULL;
	struct pollfd p;
	char why[128];
	size_t len = 0;
	ssize_t n;
	int i;

	assert_int_equal(diag_start(d, "s1", &dg, why, sizeof(why)), 0);
	p.fd = diag_fd(dg);
	p.events = POLLIN;
	for (i = 0; i < 100; i++) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(p.fd, out + len, outsz - len - 1);
		if (n <= 0)
			break;
		diag_account(dg, out + len, (size_t)n);
		len += (size_t)n;
	}
	out[len] = '\0';
	for (i = 0; i < 100 && !diag_exited(dg); i++)
		usleep(10000);
	assert_int_equal(diag_overdue(dg, time(NULL)), 0);
	diag_finish(dg, res);
}

static void test_literal_argv(void **state)
{
	struct agent_conf *c = NULL;
	struct diag_result res;
	char out[256], sha[SHA256_HEX_BYTES];

	run(diag_of("/bin/echo a;b $HOME `id` *", &c), out, sizeof(out), &res);
	assert_string_equal(out, "a;b $HOME `id` *\n");
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.output_bytes, strlen(out));
	assert_int_equal(secret_sha256_hex(out, strlen(out), sha), 0);
	assert_string_equal(res.sha256, sha);
	agentconf_free(c);
}

static void test_exit_status_and_stderr(void **state)
{
	struct agent_conf *c = NULL;
	struct diag_result res;
	char out[256];

	run(diag_of("/bin/false", &c), out, sizeof(out), &res);
	assert_int_equal(res.exit_status, 1);
	agentconf_free(c);
	/* stderr comes through too; a missing program is exit 127 */
	run(diag_of("/nonexistent/prog", &c), out, sizeof(out), &res);
	assert_int_equal(res.exit_status, 127);
	assert_non_null(strstr(out, "cannot run"));
	agentconf_free(c);
	/* no stdin: cat of stdin ends at once */
	run(diag_of("/bin/cat", &c), out, sizeof(out), &res);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(out, "");
	agentconf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_argv),
		cmocka_unit_test(test_exit_status_and_stderr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

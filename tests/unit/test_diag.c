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
static void run(const struct agent_conf *c, const struct agent_diag *d, char *out, size_t outsz, struct diag_result *res)
{
	struct diag *dg = NULL;
	struct pollfd p;
	char why[128];
	size_t len = 0;
	ssize_t n;
	int i;

	if (diag_start(c, d, "s1", &dg, why, sizeof(why)) != 0)
		fail_msg("diag_start: %s", why);
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
	const struct agent_diag *d;
	struct agent_conf *c = NULL;
	struct diag_result res;
	char out[256], sha[SHA256_HEX_BYTES];

	d = diag_of("/bin/echo a;b $HOME `id` *", &c);
	run(c, d, out, sizeof(out), &res);
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
	const struct agent_diag *d;
	struct diag *dg = NULL;
	char why[256];
	struct agent_conf *c = NULL;
	struct diag_result res;
	char out[256];

	d = diag_of("/bin/false", &c);
	run(c, d, out, sizeof(out), &res);
	assert_int_equal(res.exit_status, 1);
	agentconf_free(c);
	/* a missing program does not start, and says so */
	d = diag_of("/nonexistent/prog", &c);
	assert_int_not_equal(diag_start(c, d, "s1", &dg, why, sizeof(why)), 0);
	assert_null(dg);
	assert_non_null(strstr(why, "could not be started"));
	agentconf_free(c);
	/* no stdin: cat of stdin ends at once */
	d = diag_of("/bin/cat", &c);
	run(c, d, out, sizeof(out), &res);
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

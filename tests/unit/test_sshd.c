/* test_sshd.c: what the embedded SSH server allows: forwards, exec
 * decisions, the ticket limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agentconf.h"
#include "err.h"
#include "sshd.h"

static struct agent_conf *conf_with_services(void)
{
	const char *text = "state_dir = /tmp/x\nservice.http = 127.0.0.1:8080\n"
	                   "service.db = localhost:5432\n";
	struct agent_conf *c = NULL;
	char err[128];

	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	return c;
}

static void test_allowed(void **state)
{
	struct agent_conf *c = conf_with_services();
	struct ticket t;
	const struct agent_service *svc;

	memset(&t, 0, sizeof(t));
	strcpy(t.actions, "forward:http,shell");
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.1", 8080, &svc), 0);
	assert_string_equal(svc->name, "http");
	assert_int_equal(sshd_forward_allowed(c, &t, "localhost", 8080, &svc), 0);
	agentconf_free(c);
}

static void test_refused(void **state)
{
	struct agent_conf *c = conf_with_services();
	struct ticket t;
	const struct agent_service *svc;

	memset(&t, 0, sizeof(t));
	strcpy(t.actions, "forward:http");
	/* allowlisted, but the ticket does not grant it */
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.1", 5432, &svc), TE_ERR_DENIED);
	assert_null(svc);
	/* not allowlisted */
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.1", 22, &svc), TE_ERR_NOT_FOUND);
	/* other hosts never */
	assert_int_equal(sshd_forward_allowed(c, &t, "10.1.2.3", 8080, &svc), TE_ERR_NOT_FOUND);
	assert_int_equal(sshd_forward_allowed(c, &t, "::1", 8080, &svc), TE_ERR_NOT_FOUND);
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.2", 8080, &svc), TE_ERR_NOT_FOUND);
	assert_int_equal(sshd_forward_allowed(c, &t, NULL, 8080, &svc), TE_ERR_NOT_FOUND);
	/* "forward" alone or a prefix is not "forward:http" */
	strcpy(t.actions, "forward,forward:htt,forward:https");
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.1", 8080, &svc), TE_ERR_DENIED);
	t.actions[0] = '\0';
	assert_int_equal(sshd_forward_allowed(c, &t, "127.0.0.1", 8080, &svc), TE_ERR_DENIED);
	agentconf_free(c);
}

static struct agent_conf *conf_with_diags(const char *extra)
{
	char text[512];
	struct agent_conf *c = NULL;
	char err[128];

	snprintf(text, sizeof(text), "state_dir = /tmp/x\ndiag.uptime = /usr/bin/uptime -p\n"
	         "diag.df = /bin/df -h /\n%s", extra);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err,
	                                 sizeof(err)), 0);
	return c;
}

static void test_exec_decide(void **state)
{
	struct agent_conf *c = conf_with_diags("");
	const struct agent_diag *dg;
	const char *why;
	struct ticket t;

	memset(&t, 0, sizeof(t));
	strcpy(t.actions, "diag:uptime");
	assert_int_equal(sshd_exec_decide(c, &t, "uptime", &dg, &why), SSHD_EXEC_DIAG);
	assert_string_equal(dg->name, "uptime");
	/* a granted diagnostic's name with anything more is not that diagnostic */
	assert_int_equal(sshd_exec_decide(c, &t, "uptime; id", &dg, &why), SSHD_EXEC_REFUSED);
	assert_non_null(why);
	assert_int_equal(sshd_exec_decide(c, &t, "uptime ", &dg, &why), SSHD_EXEC_REFUSED);
	/* configured but not granted */
	assert_int_equal(sshd_exec_decide(c, &t, "df", &dg, &why), SSHD_EXEC_REFUSED);
	assert_non_null(dg);
	assert_int_equal(sshd_exec_decide(c, &t, "", &dg, &why), SSHD_EXEC_REFUSED);
	assert_int_equal(sshd_exec_decide(c, &t, NULL, &dg, &why), SSHD_EXEC_REFUSED);
	/* with shell, other commands run through the (recorded) shell; a
	 * diagnostic's name still needs its own grant */
	strcpy(t.actions, "shell");
	assert_int_equal(sshd_exec_decide(c, &t, "ls /", &dg, &why), SSHD_EXEC_SHELL);
	assert_int_equal(sshd_exec_decide(c, &t, "df", &dg, &why), SSHD_EXEC_REFUSED);
	/* "diag" or a prefix grants nothing */
	strcpy(t.actions, "diag,diag:upt,diag:uptimes");
	assert_int_equal(sshd_exec_decide(c, &t, "uptime", &dg, &why), SSHD_EXEC_REFUSED);
	agentconf_free(c);
}

static void test_limits(void **state)
{
	struct ticket t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(sshd_limit_check(&t, 1000000, 0), SSHD_END_CLOSED);
	t.idle_s = 60;
	assert_int_equal(sshd_limit_check(&t, 1059, 1000), SSHD_END_CLOSED);
	assert_int_equal(sshd_limit_check(&t, 1060, 1000), SSHD_END_IDLE);
	t.end_at = 1050;
	assert_int_equal(sshd_limit_check(&t, 1049, 1040), SSHD_END_CLOSED);
	assert_int_equal(sshd_limit_check(&t, 1050, 1049), SSHD_END_MAX_DURATION);
	/* the end wins when both are reached */
	assert_int_equal(sshd_limit_check(&t, 2000, 0), SSHD_END_MAX_DURATION);
}

static void test_shell_hides(void **state)
{
	struct agent_conf *plain = conf_with_diags("");
	struct agent_conf *pd = conf_with_diags("patient_data.x = /data/patients\n");
	struct ticket t;

	memset(&t, 0, sizeof(t));
	strcpy(t.actions, "shell");
	assert_int_equal(sshd_shell_hides(plain, &t), 0);
	assert_int_equal(sshd_shell_hides(pd, &t), 1);
	strcpy(t.actions, "shell,patient_records");
	assert_int_equal(sshd_shell_hides(pd, &t), 0);
	agentconf_free(plain);
	agentconf_free(pd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_exec_decide),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_shell_hides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

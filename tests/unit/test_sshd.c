/* test_sshd.c: which forwards the embedded SSH server allows. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

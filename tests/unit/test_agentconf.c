/* test_agentconf.c: agent config loading and its error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agentconf.h"
#include "err.h"

static int load(const char *text, struct agent_conf **c, char *err, size_t errsz)
{
	return agentconf_parse(text, strlen(text), "test.conf", "/etc/tether", c,
	                       err, errsz);
}

static void test_full(void **state)
{
	struct agent_conf *c = NULL;
	char err[256] = "";

	assert_int_equal(load("server = https://127.0.0.1:8443\nserial = SN-1\n"
	                      "state_dir = state\nconsent_timeout_s = 60\n"
	                      "longpoll = no\nservice.http = 127.0.0.1:8080\n"
	                      "service.db = localhost:5432\nlog_level = debug\n",
	                      &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "https://127.0.0.1:8443");
	assert_string_equal(c->state_dir, "/etc/tether/state");
	assert_string_equal(c->consent_socket, "/etc/tether/state/consent.sock");
	assert_string_equal(c->support_user, "support");
	assert_int_equal(c->consent_timeout_s, 60);
	assert_int_equal(c->longpoll, 0);
	assert_int_equal(c->nservices, 2);
	assert_int_equal(agentconf_service(c, "db")->port, 5432);
	assert_null(agentconf_service(c, "nope"));
	agentconf_free(c);
}

static void test_defaults(void **state)
{
	struct agent_conf *c = NULL;
	char err[256] = "";

	assert_int_equal(load("state_dir = /var/lib/t\nconsent_socket = /run/t.sock\n",
	                      &c, err, sizeof(err)), 0);
	assert_int_equal(c->consent_timeout_s, 120);
	assert_int_equal(c->longpoll, 1);
	assert_string_equal(c->consent_socket, "/run/t.sock");
	agentconf_free(c);
}

static void expect_error(const char *text, const char *needle)
{
	struct agent_conf *c = NULL;
	char err[256] = "";

	assert_int_not_equal(load(text, &c, err, sizeof(err)), 0);
	assert_null(c);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_errors(void **state)
{
	expect_error("serial = x\n", "state_dir is required");
	expect_error("state_dir = s\nbogus = 1\n", "bogus");
	expect_error("state_dir = s\nservice.web = 10.0.0.5:80\n", "only local services");
	expect_error("state_dir = s\nservice.web = 127.0.0.1:0\n", "127.0.0.1:PORT");
	expect_error("state_dir = s\nservice.web = 127.0.0.1:70000\n", "127.0.0.1:PORT");
	expect_error("state_dir = s\nservice.web = 127.0.0.1\n", "127.0.0.1:PORT");
	expect_error("state_dir = s\nservice.web = 127.0.0.1:80x\n", "127.0.0.1:PORT");
	expect_error("state_dir = s\nlongpoll = maybe\n", "use yes or no");
	expect_error("state_dir = s\nlog_level = loud\n", "log_level");
	expect_error("state_dir = s\nserver = http://x\n", "https://");
	expect_error("state_dir = s\nconsent_timeout_s = 0\n", "consent_timeout_s");
	expect_error("state_dir = s\nsupport_user =\n", "support_user");
}

static void test_parse_local(void **state)
{
	char host[16];
	int port;

	assert_int_equal(agentconf_parse_local("127.0.0.1:22", host, sizeof(host), &port), 0);
	assert_int_equal(port, 22);
	assert_int_equal(agentconf_parse_local("localhost:65535", host, sizeof(host), &port), 0);
	assert_int_not_equal(agentconf_parse_local("127.0.0.10:22", host, sizeof(host), &port), 0);
	assert_int_not_equal(agentconf_parse_local("localhost.evil:22", host, sizeof(host), &port), 0);
	assert_int_not_equal(agentconf_parse_local(":22", host, sizeof(host), &port), 0);
	assert_int_not_equal(agentconf_parse_local("127.0.0.1:-1", host, sizeof(host), &port), 0);
	assert_int_not_equal(agentconf_parse_local("127.0.0.1:+22", host, sizeof(host), &port), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parse_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

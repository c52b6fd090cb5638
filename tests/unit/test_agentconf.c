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
	                      "service.db = localhost:5432\nlog_level = debug\n"
	                      "log_format = json\n",
	                      &c, err, sizeof(err)), 0);
	assert_string_equal(c->server, "https://127.0.0.1:8443");
	assert_string_equal(c->state_dir, "/etc/tether/state");
	assert_string_equal(c->consent_socket, "/etc/tether/state/consent.sock");
	assert_string_equal(c->support_user, "support");
	assert_int_equal(c->support_max_failures, SUPPORT_MAX_FAILURES);
	assert_int_equal(c->support_lock_base_s, SUPPORT_LOCK_BASE_S);
	assert_int_equal(c->support_lock_max_s, SUPPORT_LOCK_MAX_S);
	assert_int_equal(c->consent_timeout_s, 60);
	assert_int_equal(c->longpoll, 0);
	assert_int_equal(c->log_format, LOG_FMT_JSON);
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
	expect_error("state_dir = s\nlog_format = xml\n", "log_format");
	expect_error("state_dir = s\nserver = http://x\n", "https://");
	expect_error("state_dir = s\nconsent_timeout_s = 0\n", "consent_timeout_s");
	expect_error("state_dir = s\nsupport_user =\n", "support_user");
	expect_error("state_dir = s\nsupport_max_failures = 0\n", "support_max_failures");
	expect_error("state_dir = s\nsupport_lock_base_s = 100\nsupport_lock_max_s = 10\n",
	             "must not be below support_lock_base_s");
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

static void test_session_keys(void **state)
{
	struct agent_conf *c = NULL;
	char err[256] = "";
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	const struct agent_diag *d;

	assert_int_equal(load("state_dir = /var/lib/t\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c->shell, "/bin/sh");
	assert_string_equal(c->recordings_dir, "/var/lib/t/recordings");
	assert_int_equal(c->nfiles, 0);
	assert_int_equal(c->ndiags, 0);
	agentconf_free(c);

	assert_int_equal(load("state_dir = /var/lib/t\nshell = /bin/bash\n"
	                      "recordings_dir = rec\nfiles.logs = /var/log/dev\n"
	                      "files.cfg = /etc/dev\npatient_data.studies = /data/studies\n"
	                      "patient_data.dicom = /data/*.dcm\n"
	                      "diag.args = /bin/echo  a;b   $HOME *\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c->shell, "/bin/bash");
	assert_string_equal(c->recordings_dir, "/etc/tether/rec");
	assert_int_equal(c->nfiles, 2);
	assert_string_equal(c->files[1].name, "cfg");
	assert_string_equal(c->files[1].path, "/etc/dev");
	assert_int_equal(c->npatient, 2);
	assert_string_equal(c->patient[1].path, "/data/*.dcm");
	assert_int_equal(c->patient_casefold, 0);          /* the default */
	assert_non_null(d = agentconf_diag(c, "args"));
	assert_null(agentconf_diag(c, "nope"));
	agentconf_diag_argv(d, argv);
	assert_string_equal(argv[0], "/bin/echo");
	assert_string_equal(argv[1], "a;b");
	assert_string_equal(argv[2], "$HOME");
	assert_string_equal(argv[3], "*");
	assert_null(argv[4]);
	agentconf_free(c);
}

static void test_patient_case(void **state)
{
	struct agent_conf *c = NULL;
	char err[256] = "";

	assert_int_equal(load("state_dir = /s\npatient_data_case = insensitive\n"
	                      "patient_data.dicom = /data/*.dcm\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c->patient_casefold, 1);
	agentconf_free(c);
	assert_int_equal(load("state_dir = /s\npatient_data_case = sensitive\n", &c, err,
	                      sizeof(err)), 0);
	assert_int_equal(c->patient_casefold, 0);
	agentconf_free(c);
}

static void test_session_key_errors(void **state)
{
	expect_error("state_dir = /s\nshell = sh\n", "absolute");
	expect_error("state_dir = /s\nfiles.logs = var/log\n", "absolute");
	expect_error("state_dir = /s\nfiles. = /x\n", "files.");
	expect_error("state_dir = /s\nfiles.x = /a\nfiles.x = /b\n", "");
	expect_error("state_dir = /s\npatient_data.p = data/*\n", "absolute");
	expect_error("state_dir = /s\ndiag.x = echo hi\n", "absolute");
	expect_error("state_dir = /s\ninstall.command = /usr/bin/rauc install\n", "one word {}");
	expect_error("state_dir = /s\ninstall.command = /x {} {}\n", "one word {}");
	expect_error("state_dir = /s\ninstall.health = /bin/true\n", "go with install.command");
	expect_error("state_dir = /s\ninstall.restart = /bin/true\n", "go with install.command");
	expect_error("state_dir = /s\ninstall.command = /x {}\ninstall.restart = /sbin/reboot\n",
	             "set install.health too");
	expect_error("state_dir = /s\ninstall.restart_timeout_s = 5\n", "install.restart_timeout_s");
	expect_error("state_dir = /s\nhardware = inj a\n", "hardware");
	expect_error("state_dir = /s\ndownload_rate = 10\n", "download_rate");
	expect_error("state_dir = /s\npatient_data.p = /data/../etc\n", "line 2");
	expect_error("state_dir = /s\npatient_data_case = Insensitive\n", "line 2");
	expect_error("state_dir = /s\npatient_data_case = yes\n",
	             "use sensitive or insensitive");
	expect_error("state_dir = /s\ndiag.x = /bin/echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	             "at most");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parse_local),
		cmocka_unit_test(test_session_keys),
		cmocka_unit_test(test_session_key_errors),
		cmocka_unit_test(test_patient_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

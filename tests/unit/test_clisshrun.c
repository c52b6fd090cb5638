/* test_clisshrun.c: forward's LOCALPORT:SERVICE is parsed strictly, and the
 * ProxyCommand survives odd install paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "connect.h"
#include "err.h"
#include "sshrun.h"

static void test_good_spec(void **state)
{
	char svc[64], err[256];
	int port;

	(void)state;
	assert_int_equal(sshrun_parse_forward_spec("8080:http", &port, svc,
	                                           sizeof(svc), err, sizeof(err)), 0);
	assert_int_equal(port, 8080);
	assert_string_equal(svc, "http");
	assert_int_equal(sshrun_parse_forward_spec("1:a.b_c-d", &port, svc,
	                                           sizeof(svc), err, sizeof(err)), 0);
	assert_int_equal(port, 1);
	assert_int_equal(sshrun_parse_forward_spec("65535:x", &port, svc,
	                                           sizeof(svc), err, sizeof(err)), 0);
	assert_int_equal(port, 65535);
}

static void test_bad_specs_are_rejected_with_a_reason(void **state)
{
	static const struct { const char *spec, *says; } bad[] = {
		{ "", "LOCALPORT:SERVICE" },
		{ "8080", "LOCALPORT:SERVICE" },
		{ "http", "LOCALPORT:SERVICE" },
		{ "8080:http:80", "LOCALPORT:SERVICE" },
		{ ":http", "local port" },
		{ "0:http", "local port" },
		{ "65536:http", "local port" },
		{ "123456:http", "local port" },
		{ "-1:http", "local port" },
		{ "80a:http", "local port" },
		{ " 80:http", "local port" },
		{ "8080:", "service" },
		{ "8080:ht tp", "service" },
		{ "8080:-x", "service" },
		{ "8080:../etc", "service" },
		{ "8080:http/x", "service" },
	};
	char svc[64], err[256];
	size_t i;
	int port;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(sshrun_parse_forward_spec(bad[i].spec, &port, svc,
		                 sizeof(svc), err, sizeof(err)), TE_ERR_INVALID);
		assert_int_equal(port, 0);
		assert_non_null(strstr(err, bad[i].says));
	}
}

static void test_service_name_longer_than_buffer(void **state)
{
	char svc[4], err[256];
	int port;

	(void)state;
	assert_int_equal(sshrun_parse_forward_spec("80:abcdef", &port, svc,
	                                           sizeof(svc), err, sizeof(err)),
	                 TE_ERR_INVALID);
}

static void test_proxy_command_quoting(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(sshrun_proxy_command("/usr/bin/tether", "abc123", out,
	                                      sizeof(out)), 0);
	assert_string_equal(out, "'/usr/bin/tether' connect abc123");
	assert_int_equal(sshrun_proxy_command("/opt/it's 100%/tether", "s1", out,
	                                      sizeof(out)), 0);
	assert_string_equal(out, "'/opt/it'\\''s 100%%/tether' connect s1");
	assert_int_equal(sshrun_proxy_command("/usr/bin/tether", "abc123", out, 10),
	                 TE_ERR_TOO_LONG);
}

static void test_relay_preamble(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(connect_preamble("tk.AbC-1", out, sizeof(out)), 0);
	assert_string_equal(out, "TETHER/1 client tk.AbC-1\n");
	assert_int_equal(connect_preamble("", out, sizeof(out)), TE_ERR_INVALID);
	assert_int_equal(connect_preamble("a b", out, sizeof(out)), TE_ERR_INVALID);
	assert_int_equal(connect_preamble("a\nb", out, sizeof(out)), TE_ERR_INVALID);
}

/* Flags are taken out of argv only before "--" (after it they are ssh's). */
static void test_take_flag(void **state)
{
	char a0[] = "SN-1", a1[] = "--upload", a2[] = "--reason", a3[] = "x",
	     a4[] = "--upload", a5[] = "--", a6[] = "--upload";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, NULL };
	int argc = 7;

	assert_int_equal(sshrun_take_flag(&argc, argv, "--upload"), 1);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[0], "SN-1");
	assert_string_equal(argv[1], "--reason");
	assert_string_equal(argv[2], "x");
	assert_string_equal(argv[3], "--");
	assert_string_equal(argv[4], "--upload");
	assert_null(argv[5]);
	assert_int_equal(sshrun_take_flag(&argc, argv, "--patient-records"), 0);
	assert_int_equal(argc, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_flag),
		cmocka_unit_test(test_good_spec),
		cmocka_unit_test(test_bad_specs_are_rejected_with_a_reason),
		cmocka_unit_test(test_service_name_longer_than_buffer),
		cmocka_unit_test(test_proxy_command_quoting),
		cmocka_unit_test(test_relay_preamble),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_httpproxy.c: httpproxy_from_env, the one place where the agent and
 * the CLI read HTTPS_PROXY / https_proxy and NO_PROXY / no_proxy. (Proxy
 * URL parsing and the CONNECT request are covered in test_httpresp.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpproxy.h"

#define PROXY_A "http://user:pw@proxy-a.example:3128"
#define PROXY_B "http://proxy-b.example:8080"

static void env_clear(void)
{
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
}

static int setup(void **state)
{
	(void)state;
	env_clear();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	env_clear();
	return 0;
}

static void test_no_env_is_direct(void **state)
{
	(void)state;
	assert_null(httpproxy_from_env("https://srv.example:8443"));
	assert_null(httpproxy_from_env("srv.example"));
	assert_null(httpproxy_from_env(NULL));
	setenv("HTTPS_PROXY", "", 1);
	assert_null(httpproxy_from_env("srv.example"));
}

static void test_upper_then_lower_case(void **state)
{
	(void)state;
	setenv("https_proxy", PROXY_B, 1);
	assert_string_equal(httpproxy_from_env("https://srv.example:8443"), PROXY_B);
	setenv("HTTPS_PROXY", PROXY_A, 1);
	assert_string_equal(httpproxy_from_env("https://srv.example:8443"), PROXY_A);
	/* an empty HTTPS_PROXY does not hide https_proxy */
	setenv("HTTPS_PROXY", "", 1);
	assert_string_equal(httpproxy_from_env("srv.example"), PROXY_B);
	/* no destination: nothing NO_PROXY could name */
	setenv("NO_PROXY", "srv.example", 1);
	assert_string_equal(httpproxy_from_env(NULL), PROXY_B);
}

static void test_no_proxy_names_the_host(void **state)
{
	(void)state;
	setenv("HTTPS_PROXY", PROXY_A, 1);
	setenv("NO_PROXY", "localhost, .corp.example,10.1.2.3:8443", 1);
	/* URLs: the host alone counts, not the port or path */
	assert_null(httpproxy_from_env("https://api.corp.example:8443/x"));
	assert_null(httpproxy_from_env("https://corp.example"));
	assert_null(httpproxy_from_env("https://10.1.2.3:9999"));
	assert_null(httpproxy_from_env("HTTPS://localhost:1"));
	/* bare host names, as for the relay leg */
	assert_null(httpproxy_from_env("relay.corp.example"));
	assert_string_equal(httpproxy_from_env("relay.example"), PROXY_A);
	assert_string_equal(httpproxy_from_env("https://notcorp.example:1"), PROXY_A);
	assert_string_equal(httpproxy_from_env("https://10.1.2.30:8443"), PROXY_A);
}

static void test_no_proxy_lower_case_and_star(void **state)
{
	(void)state;
	setenv("HTTPS_PROXY", PROXY_A, 1);
	setenv("no_proxy", "srv.example", 1);
	assert_null(httpproxy_from_env("https://srv.example"));
	/* NO_PROXY, when set, is the list: no_proxy is not read */
	setenv("NO_PROXY", "other.example", 1);
	assert_string_equal(httpproxy_from_env("https://srv.example"), PROXY_A);
	setenv("NO_PROXY", "*", 1);
	assert_null(httpproxy_from_env("https://anything.example"));
}

static void test_ipv6_destination(void **state)
{
	(void)state;
	setenv("HTTPS_PROXY", PROXY_A, 1);
	setenv("NO_PROXY", "::1", 1);
	assert_null(httpproxy_from_env("https://[::1]:8443"));
	assert_string_equal(httpproxy_from_env("https://[::2]:8443"), PROXY_A);
	setenv("NO_PROXY", "[::1]:8443", 1);
	assert_null(httpproxy_from_env("https://[::1]:8443/api"));
}

static void test_overlong_host_uses_the_proxy(void **state)
{
	char dest[HTTPPROXY_HOST_BYTES + 32];

	(void)state;
	setenv("HTTPS_PROXY", PROXY_A, 1);
	setenv("NO_PROXY", "*", 1);
	memcpy(dest, "https://", 8);
	memset(dest + 8, 'a', HTTPPROXY_HOST_BYTES + 4);
	dest[8 + HTTPPROXY_HOST_BYTES + 4] = '\0';
	/* not a host NO_PROXY can name, even "*": it goes to the proxy, which
	 * refuses it, rather than being cut to a prefix that might match */
	assert_string_equal(httpproxy_from_env(dest), PROXY_A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_env_is_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upper_then_lower_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_proxy_names_the_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_proxy_lower_case_and_star, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_host_uses_the_proxy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

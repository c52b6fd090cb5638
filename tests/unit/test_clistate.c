/* test_clistate.c: the CLI's login file round-trips (with the stored
 * `login --proxy` URL), stays private, and a missing or malformed file is a
 * clear error; api_proxy prefers the stored proxy over the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "api.h"
#include "clistate.h"
#include "err.h"

struct home {
	char dir[64];
	char sub[96];     /* TETHER_HOME: a folder that does not exist yet */
	char path[160];
};

static int setup(void **state)
{
	struct home *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	strcpy(h->dir, "/tmp/tether-test-clistate-XXXXXX");
	if (mkdtemp(h->dir) == NULL) {
		free(h);
		return -1;
	}
	snprintf(h->sub, sizeof(h->sub), "%s/home/tether", h->dir);
	setenv("TETHER_HOME", h->sub, 1);
	if (clistate_path(h->path, sizeof(h->path)) != 0) {
		free(h);
		return -1;
	}
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct home *h = *state;
	char p[128];

	unlink(h->path);
	rmdir(h->sub);
	snprintf(p, sizeof(p), "%s/home", h->dir);
	rmdir(p);
	rmdir(h->dir);
	unsetenv("TETHER_HOME");
	free(h);
	return 0;
}

static void test_path_follows_tether_home(void **state)
{
	struct home *h = *state;
	char want[160];

	snprintf(want, sizeof(want), "%s/cli.json", h->sub);
	assert_string_equal(h->path, want);
}

static void test_round_trip(void **state)
{
	struct home *h = *state;
	struct clistate *st = NULL, *back = NULL;

	assert_int_equal(clistate_new("https://127.0.0.1:8443/", "/etc/ca.crt",
	                              "alice", "tok-123", 1700000000, &st), 0);
	/* A trailing slash would double up in request paths. */
	assert_string_equal(st->server, "https://127.0.0.1:8443");
	assert_int_equal(clistate_save(h->path, st), 0);
	assert_int_equal(clistate_load(h->path, &back), 0);
	assert_string_equal(back->server, "https://127.0.0.1:8443");
	assert_string_equal(back->ca, "/etc/ca.crt");
	assert_string_equal(back->user, "alice");
	assert_string_equal(back->token, "tok-123");
	assert_int_equal(back->expires_at, 1700000000);
	clistate_free(st);
	clistate_free(back);
}

static void test_file_and_folder_are_private(void **state)
{
	struct home *h = *state;
	struct clistate *st = NULL;
	struct stat sb;

	assert_int_equal(clistate_new("https://h", "/ca", "bob", "t", 5, &st), 0);
	assert_int_equal(clistate_save(h->path, st), 0);
	assert_int_equal(stat(h->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(h->sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	clistate_free(st);
}

static void test_logout_clears_token(void **state)
{
	struct home *h = *state;
	struct clistate *st = NULL, *back = NULL;

	assert_int_equal(clistate_new("https://h", "/ca", "bob", "t", 5, &st), 0);
	assert_int_equal(clistate_set_token(st, NULL, 0), 0);
	assert_int_equal(clistate_save(h->path, st), 0);
	assert_int_equal(clistate_load(h->path, &back), 0);
	assert_null(back->token);
	assert_int_equal(back->expires_at, 0);
	assert_string_equal(back->user, "bob");
	clistate_free(st);
	clistate_free(back);
}

static void test_missing_file_is_not_found(void **state)
{
	struct home *h = *state;
	struct clistate *st = NULL;

	unlink(h->path);
	assert_int_equal(clistate_load(h->path, &st), TE_ERR_NOT_FOUND);
	assert_null(st);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_malformed_files_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1, 2]",
		"{\"server\": \"https://h\", \"ca\": \"/ca\"}",
		"{\"server\": 7, \"ca\": \"/ca\", \"user\": \"u\"}",
		"{\"server\": \"https://h\", \"ca\": \"/ca\", \"user\": \"u\", \"token\": 1}",
		"{\"server\": \"https://h\", \"ca\": \"/ca\", \"user\": \"u\", \"expires_at\": \"soon\"}",
		"{\"server\": \"https://h\", \"server\": \"https://x\", \"ca\": \"/ca\", \"user\": \"u\"}",
		"{\"server\": \"https://h\", \"ca\": \"/ca\", \"user\": \"u\", \"proxy\": 3128}",
		"{\"server\": \"https://h\", \"ca\": \"/ca\", \"user\": \"u\", \"proxy\": \"\"}",
	};
	struct home *h = *state;
	struct clistate *st = NULL;
	size_t i;

	assert_int_equal(clistate_save(h->path, &(struct clistate){
		.server = "s", .ca = "c", .user = "u" }), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(h->path, bad[i]);
		assert_int_equal(clistate_load(h->path, &st), TE_ERR_INVALID);
		assert_null(st);
	}
}

static void test_proxy_round_trip(void **state)
{
	struct home *h = *state;
	struct clistate *st = NULL, *back = NULL;
	const char *url = "http://squid:s3cr%40t@proxy.example:3128";

	assert_int_equal(clistate_new("https://h", "/ca", "bob", "t", 5, &st), 0);
	assert_null(st->proxy);
	assert_int_equal(clistate_set_proxy(st, url), 0);
	assert_int_equal(clistate_save(h->path, st), 0);
	assert_int_equal(clistate_load(h->path, &back), 0);
	assert_string_equal(back->proxy, url);
	/* logout keeps the proxy: the next login is likely to need it too */
	assert_int_equal(clistate_set_token(back, NULL, 0), 0);
	assert_int_equal(clistate_save(h->path, back), 0);
	clistate_free(back);
	back = NULL;
	assert_int_equal(clistate_load(h->path, &back), 0);
	assert_string_equal(back->proxy, url);
	assert_null(back->token);
	clistate_free(back);
	back = NULL;
	/* cleared: the key is left out of the file altogether */
	assert_int_equal(clistate_set_proxy(st, NULL), 0);
	assert_null(st->proxy);
	assert_int_equal(clistate_set_proxy(st, ""), 0);
	assert_null(st->proxy);
	assert_int_equal(clistate_save(h->path, st), 0);
	assert_int_equal(clistate_load(h->path, &back), 0);
	assert_null(back->proxy);
	clistate_free(st);
	clistate_free(back);
}

static void test_api_proxy_order(void **state)
{
	(void)state;
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	assert_null(api_proxy(NULL, "https://srv.example:8443"));
	assert_null(api_proxy("", "https://srv.example:8443"));
	setenv("HTTPS_PROXY", "http://env.example:3128", 1);
	assert_string_equal(api_proxy(NULL, "https://srv.example:8443"),
	                    "http://env.example:3128");
	/* the stored --proxy wins over the environment ... */
	assert_string_equal(api_proxy("http://u:p@stored.example:8080",
	                              "https://srv.example:8443"),
	                    "http://u:p@stored.example:8080");
	/* ... and, like curl's --proxy, over NO_PROXY too */
	setenv("NO_PROXY", "srv.example", 1);
	assert_null(api_proxy(NULL, "https://srv.example:8443"));
	assert_string_equal(api_proxy("http://stored.example:8080",
	                              "https://srv.example:8443"),
	                    "http://stored.example:8080");
	/* the relay leg is matched by its own host */
	assert_string_equal(api_proxy(NULL, "relay.example"),
	                    "http://env.example:3128");
	unsetenv("HTTPS_PROXY");
	unsetenv("NO_PROXY");
}

static void test_free_null_is_noop(void **state)
{
	(void)state;
	clistate_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_follows_tether_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_and_folder_are_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logout_clears_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_files_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_round_trip, setup, teardown),
		cmocka_unit_test(test_api_proxy_order),
		cmocka_unit_test(test_free_null_is_noop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

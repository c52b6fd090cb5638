/* test_relayinit.c: `tether-relay init` (src/relay/relayinit.c): the key
 * stays on the relay host, 0600, never overwritten; the CSR verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pki.h"
#include "relayinit.h"

struct fx {
	char root[64];
	char dir[128];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->root, "/tmp/tether-test-relayinit-XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/relayhost", f->root);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[256];

	snprintf(p, sizeof(p), "%s/relay.key", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/relay.csr", f->dir);
	unlink(p);
	rmdir(f->dir);
	unlink(f->dir); /* test_dir_is_a_file */
	rmdir(f->root);
	free(f);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 16384);

	assert_non_null(fp);
	assert_non_null(buf);
	*len = fread(buf, 1, 16383, fp);
	fclose(fp);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(relayinit_name_ok("relay-1"));
	assert_true(relayinit_name_ok("r.eu_west-2"));
	assert_false(relayinit_name_ok(""));
	assert_false(relayinit_name_ok(NULL));
	assert_false(relayinit_name_ok("relay/1"));
	assert_false(relayinit_name_ok("relay 1"));
	assert_false(relayinit_name_ok("../x"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(relayinit_name_ok(long_name));
}

static void test_key_and_csr(void **state)
{
	struct fx *f = *state;
	char csr[PATH_MAX], err[256], keypath[256];
	EVP_PKEY *key = NULL, *pub = NULL;
	struct stat st;
	char *pem;
	size_t len;

	assert_int_equal(relayinit_run(f->dir, "relay-x", csr, sizeof(csr), err, sizeof(err)), 0);
	snprintf(keypath, sizeof(keypath), "%s/relay.key", f->dir);
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* The CSR carries the key's public half under a valid self-signature. */
	pem = slurp(csr, &len);
	assert_int_equal(pki_csr_pubkey(pem, len, &pub), 0);
	assert_int_equal(pki_key_load(keypath, &key), 0);
	assert_int_equal(EVP_PKEY_eq(key, pub), 1);
	/* Only the two files: no temporary left behind. */
	assert_int_equal(count_entries(f->dir), 2);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	free(pem);
}

static void test_never_overwrites(void **state)
{
	struct fx *f = *state;
	char csr[PATH_MAX], err[256] = "", keypath[256];
	char *before, *after;
	size_t n1, n2;

	assert_int_equal(relayinit_run(f->dir, "relay-x", csr, sizeof(csr), err, sizeof(err)), 0);
	snprintf(keypath, sizeof(keypath), "%s/relay.key", f->dir);
	before = slurp(keypath, &n1);
	assert_int_equal(relayinit_run(f->dir, "relay-x", csr, sizeof(csr), err, sizeof(err)),
	                 TE_ERR_EXISTS);
	assert_non_null(strstr(err, "exists already"));
	after = slurp(keypath, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	assert_int_equal(count_entries(f->dir), 2);
	free(before);
	free(after);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	char csr[PATH_MAX], err[256] = "", nested[256];
	FILE *fp;

	assert_int_equal(relayinit_run(f->dir, "bad name", csr, sizeof(csr), err, sizeof(err)),
	                 TE_ERR_INVALID);
	assert_int_equal(access(f->dir, F_OK), -1); /* nothing created */
	snprintf(nested, sizeof(nested), "%s/no/such/parent", f->root);
	assert_int_equal(relayinit_run(nested, "relay-x", csr, sizeof(csr), err, sizeof(err)),
	                 TE_ERR_SYS);
	/* A file where the folder should be. */
	fp = fopen(f->dir, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(relayinit_run(f->dir, "relay-x", csr, sizeof(csr), err, sizeof(err)),
	                 TE_ERR_INVALID);
	assert_non_null(strstr(err, "not a directory"));
	/* The CSR path does not fit the caller's buffer. */
	assert_int_equal(relayinit_run(f->root, "relay-x", csr, 8, err, sizeof(err)),
	                 TE_ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_key_and_csr, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_never_overwrites, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

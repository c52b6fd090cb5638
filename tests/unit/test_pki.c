/* test_pki.c: keys, certificates, CSRs and identities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "err.h"
#include "pki.h"

struct chain {
	EVP_PKEY *root_key, *iss_key, *leaf_key;
	X509 *root, *iss, *leaf;
};

static int chain_setup(void **state)
{
	struct chain *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(pki_key_new(&c->root_key), 0);
	assert_int_equal(pki_key_new(&c->iss_key), 0);
	assert_int_equal(pki_key_new(&c->leaf_key), 0);
	assert_int_equal(pki_ca_new("Root", 365, c->root_key, &c->root), 0);
	assert_int_equal(pki_issue(c->root, c->root_key, c->iss_key, "ca", "Issuing",
	                           NULL, 365, 1, &c->iss), 0);
	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, PKI_ROLE_SERVER,
	                           "api.example", "DNS:api.example, IP:127.0.0.1",
	                           30, 0, &c->leaf), 0);
	*state = c;
	return 0;
}

static int chain_teardown(void **state)
{
	struct chain *c = *state;

	X509_free(c->root);
	X509_free(c->iss);
	X509_free(c->leaf);
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->iss_key);
	EVP_PKEY_free(c->leaf_key);
	free(c);
	return 0;
}

/* 1 when leaf verifies against root alone, with untrusted intermediates. */
static int verify(X509 *root, X509 *leaf, X509 *intermediate, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	if (intermediate != NULL)
		sk_X509_push(untrusted, intermediate);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (purpose != 0)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	return ok;
}

static void test_chain_verifies_against_root_only(void **state)
{
	struct chain *c = *state;

	assert_true(verify(c->root, c->leaf, c->iss, X509_PURPOSE_SSL_SERVER));
	/* Without the issuing CA the leaf cannot be tied to the root. */
	assert_false(verify(c->root, c->leaf, NULL, 0));
}

static void test_server_leaf_is_not_a_client(void **state)
{
	struct chain *c = *state;

	assert_false(verify(c->root, c->leaf, c->iss, X509_PURPOSE_SSL_CLIENT));
}

static void test_issuing_ca_cannot_issue_ca(void **state)
{
	struct chain *c = *state;
	EVP_PKEY *k = NULL;
	X509 *sub = NULL, *leaf = NULL;

	/* pathlen 0: a CA below the issuing CA makes the chain invalid. */
	assert_int_equal(pki_key_new(&k), 0);
	assert_int_equal(pki_issue(c->iss, c->iss_key, k, "ca", "Sub", NULL, 30, 1, &sub), 0);
	assert_int_equal(pki_issue(sub, k, k, PKI_ROLE_DEVICE, "SN9", NULL, 30, 0, &leaf), 0);
	{
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		STACK_OF(X509) *untrusted = sk_X509_new_null();
		sk_X509_push(untrusted, c->iss);
		sk_X509_push(untrusted, sub);
		X509_STORE_add_cert(store, c->root);
		X509_STORE_CTX_init(ctx, store, leaf, untrusted);
		assert_int_not_equal(X509_verify_cert(ctx), 1);
		assert_int_equal(X509_STORE_CTX_get_error(ctx),
		                 X509_V_ERR_PATH_LENGTH_EXCEEDED);
		X509_STORE_CTX_free(ctx);
		sk_X509_free(untrusted);
		X509_STORE_free(store);
	}
	X509_free(leaf);
	X509_free(sub);
	EVP_PKEY_free(k);
}

static void test_identity(void **state)
{
	struct chain *c = *state;
	char role[32], name[64];

	assert_int_equal(pki_cert_identity(c->leaf, role, sizeof(role), name, sizeof(name)), 0);
	assert_string_equal(role, "server");
	assert_string_equal(name, "api.example");
	assert_int_equal(pki_cert_identity(c->root, role, sizeof(role), name, sizeof(name)), 0);
	assert_string_equal(role, "ca");
	assert_string_equal(name, "Root");
	assert_int_equal(pki_cert_identity(c->leaf, role, 4, name, sizeof(name)),
	                 TE_ERR_TOO_LONG);
}

static void test_san_and_host_check(void **state)
{
	struct chain *c = *state;

	assert_int_equal(X509_check_host(c->leaf, "api.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(c->leaf, "other.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(c->leaf, "127.0.0.1", 0), 1);
}

static void test_bad_inputs_refused(void **state)
{
	struct chain *c = *state;
	X509 *x = NULL;

	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, PKI_ROLE_SERVER, "h",
	                           "email:a@b", 30, 0, &x), TE_ERR_INVALID);
	assert_null(x);
	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, PKI_ROLE_SERVER, "h",
	                           "IP:not-an-ip", 30, 0, &x), TE_ERR_INVALID);
	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, "wizard", "h",
	                           NULL, 30, 0, &x), TE_ERR_INVALID);
	/* The issuer key must belong to the issuer certificate. */
	assert_int_equal(pki_issue(c->iss, c->root_key, c->leaf_key, PKI_ROLE_DEVICE,
	                           "SN1", NULL, 30, 0, &x), TE_ERR_MISMATCH);
	assert_int_equal(pki_cert_from_pem("garbage", 7, &x), TE_ERR_INVALID);
}

static void test_serials_random(void **state)
{
	struct chain *c = *state;
	X509 *a = NULL, *b = NULL;

	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, PKI_ROLE_DEVICE,
	                           "SN1", NULL, 30, 0, &a), 0);
	assert_int_equal(pki_issue(c->iss, c->iss_key, c->leaf_key, PKI_ROLE_DEVICE,
	                           "SN1", NULL, 30, 0, &b), 0);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
	                                      X509_get0_serialNumber(b)), 0);
	X509_free(a);
	X509_free(b);
}

static void test_csr_round_trip(void **state)
{
	struct chain *c = *state;
	EVP_PKEY *k = NULL, *pub = NULL;
	char *pem = NULL;
	X509 *cert = NULL;
	char role[32], name[64];

	assert_int_equal(pki_key_new(&k), 0);
	assert_int_equal(pki_csr_new(k, PKI_ROLE_SERVER, "asks-for-server", &pem), 0);
	assert_non_null(strstr(pem, "BEGIN CERTIFICATE REQUEST"));
	assert_int_equal(pki_csr_pubkey(pem, strlen(pem), &pub), 0);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	/* The issuer decides the identity, not the CSR. */
	assert_int_equal(pki_issue(c->iss, c->iss_key, pub, PKI_ROLE_DEVICE, "SN7",
	                           NULL, 30, 0, &cert), 0);
	assert_int_equal(pki_cert_identity(cert, role, sizeof(role), name, sizeof(name)), 0);
	assert_string_equal(role, "device");
	assert_string_equal(name, "SN7");
	assert_int_equal(X509_check_private_key(cert, k), 1);
	X509_free(cert);
	EVP_PKEY_free(pub);
	pub = NULL;

	/* A tampered CSR does not verify. */
	{
		char *p = strstr(pem, "\n") + 40;
		*p = *p == 'A' ? 'B' : 'A';
		assert_int_not_equal(pki_csr_pubkey(pem, strlen(pem), &pub), 0);
		assert_null(pub);
	}
	free(pem);
	EVP_PKEY_free(k);
}

static void test_fingerprint_stable(void **state)
{
	struct chain *c = *state;
	char a[SHA256_HEX_BYTES], b[SHA256_HEX_BYTES], d[SHA256_HEX_BYTES];
	char *pem = NULL;
	X509 *copy = NULL;
	size_t i;

	assert_int_equal(pki_cert_fingerprint(c->leaf, a), 0);
	assert_int_equal(strlen(a), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_int_equal(pki_cert_to_pem(c->leaf, &pem), 0);
	assert_int_equal(pki_cert_from_pem(pem, strlen(pem), &copy), 0);
	assert_int_equal(pki_cert_fingerprint(copy, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(pki_cert_fingerprint(c->root, d), 0);
	assert_string_not_equal(a, d);
	X509_free(copy);
	free(pem);
}

static void test_files(void **state)
{
	struct chain *c = *state;
	char dir[] = "/tmp/tether-pki-XXXXXX", kp[64], cp[64];
	char fa[SHA256_HEX_BYTES], fb[SHA256_HEX_BYTES];
	struct stat st;
	EVP_PKEY *k = NULL;
	X509 *x = NULL, *chain[2];

	assert_non_null(mkdtemp(dir));
	snprintf(kp, sizeof(kp), "%s/a.key", dir);
	snprintf(cp, sizeof(cp), "%s/a.crt", dir);
	assert_int_equal(pki_key_save(kp, c->leaf_key), 0);
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pki_key_load(kp, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, c->leaf_key), 1);
	chain[0] = c->leaf;
	chain[1] = c->iss;
	assert_int_equal(pki_cert_save(cp, chain, 2), 0);
	assert_int_equal(stat(cp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(pki_cert_load(cp, &x), 0);
	pki_cert_fingerprint(x, fa);
	pki_cert_fingerprint(c->leaf, fb);
	assert_string_equal(fa, fb);
	EVP_PKEY_free(k);
	assert_int_equal(pki_key_load("/nonexistent/x.key", &k), TE_ERR_NOT_FOUND);
	assert_null(k);
	X509_free(x);
	unlink(kp);
	unlink(cp);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_verifies_against_root_only),
		cmocka_unit_test(test_server_leaf_is_not_a_client),
		cmocka_unit_test(test_issuing_ca_cannot_issue_ca),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_san_and_host_check),
		cmocka_unit_test(test_bad_inputs_refused),
		cmocka_unit_test(test_serials_random),
		cmocka_unit_test(test_csr_round_trip),
		cmocka_unit_test(test_fingerprint_stable),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, chain_setup, chain_teardown);
}

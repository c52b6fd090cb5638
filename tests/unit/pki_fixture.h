/* pki_fixture.h: a throwaway deployment PKI for TLS and HTTPS unit tests.
 *
 * Builds, in a fresh mkdtemp folder: a root CA, an issuing CA, a server
 * leaf for localhost/127.0.0.1, a device leaf, and an unrelated second root
 * with its own server and device leaves (for "wrong CA" tests). */
#ifndef TETHER_TEST_PKI_FIXTURE_H
#define TETHER_TEST_PKI_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki.h"

struct pki_fixture {
	char dir[64];
	char root_crt[PATH_MAX], other_root_crt[PATH_MAX];
	char server_crt[PATH_MAX], server_key[PATH_MAX];
	char device_crt[PATH_MAX], device_key[PATH_MAX];
	char other_server_crt[PATH_MAX], other_server_key[PATH_MAX];
	char other_device_crt[PATH_MAX], other_device_key[PATH_MAX];
	char wrongname_crt[PATH_MAX], wrongname_key[PATH_MAX];
	char relay_crt[PATH_MAX], relay_key[PATH_MAX];     /* relay1, 127.0.0.1 */
	char cnonly_crt[PATH_MAX], cnonly_key[PATH_MAX];   /* CN localhost, no SAN */
};

static const char *const pki_fixture_files[] = {
	"root.crt", "other-root.crt", "server.crt", "server.key", "device.crt",
	"device.key", "other-server.crt", "other-server.key", "other-device.crt",
	"other-device.key", "wrongname.crt", "wrongname.key", "relay.crt", "relay.key",
	"cnonly.crt", "cnonly.key",
};

/* Issue a leaf from issuer and write chain (leaf, then chain_ca if any). */
static int pki_fixture_leaf(X509 *issuer, EVP_PKEY *issuer_key, X509 *chain_ca,
                            const char *role, const char *cn, const char *sans,
                            const char *crt_path, const char *key_path)
{
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL;
	X509 *chain[2];
	int r;

	if ((r = pki_key_new(&key)) != 0 ||
	    (r = pki_issue(issuer, issuer_key, key, role, cn, sans, 30, 0, &leaf)) != 0)
		goto out;
	chain[0] = leaf;
	chain[1] = chain_ca;
	if ((r = pki_cert_save(crt_path, chain, chain_ca != NULL ? 2 : 1)) != 0 ||
	    (r = pki_key_save(key_path, key)) != 0)
		goto out;
out:
	X509_free(leaf);
	EVP_PKEY_free(key);
	return r;
}

static void pki_fixture_path(struct pki_fixture *f, char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", f->dir, name);
}

static int pki_fixture_init(struct pki_fixture *f)
{
	EVP_PKEY *rk = NULL, *ik = NULL, *ok = NULL;
	X509 *root = NULL, *iss = NULL, *other = NULL;
	int r;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tether-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	pki_fixture_path(f, f->root_crt, "root.crt");
	pki_fixture_path(f, f->other_root_crt, "other-root.crt");
	pki_fixture_path(f, f->server_crt, "server.crt");
	pki_fixture_path(f, f->server_key, "server.key");
	pki_fixture_path(f, f->device_crt, "device.crt");
	pki_fixture_path(f, f->device_key, "device.key");
	pki_fixture_path(f, f->other_server_crt, "other-server.crt");
	pki_fixture_path(f, f->other_server_key, "other-server.key");
	pki_fixture_path(f, f->other_device_crt, "other-device.crt");
	pki_fixture_path(f, f->other_device_key, "other-device.key");
	pki_fixture_path(f, f->wrongname_crt, "wrongname.crt");
	pki_fixture_path(f, f->wrongname_key, "wrongname.key");
	pki_fixture_path(f, f->relay_crt, "relay.crt");
	pki_fixture_path(f, f->relay_key, "relay.key");
	pki_fixture_path(f, f->cnonly_crt, "cnonly.crt");
	pki_fixture_path(f, f->cnonly_key, "cnonly.key");
	if ((r = pki_key_new(&rk)) != 0 || (r = pki_key_new(&ik)) != 0 ||
	    (r = pki_key_new(&ok)) != 0 ||
	    (r = pki_ca_new("Test Root", 30, rk, &root)) != 0 ||
	    (r = pki_issue(root, rk, ik, "ca", "Test Issuing", NULL, 30, 1, &iss)) != 0 ||
	    (r = pki_ca_new("Other Root", 30, ok, &other)) != 0 ||
	    (r = pki_cert_save(f->root_crt, &root, 1)) != 0 ||
	    (r = pki_cert_save(f->other_root_crt, &other, 1)) != 0 ||
	    (r = pki_fixture_leaf(iss, ik, iss, PKI_ROLE_SERVER, "localhost",
	                          "DNS:localhost,IP:127.0.0.1", f->server_crt,
	                          f->server_key)) != 0 ||
	    (r = pki_fixture_leaf(iss, ik, iss, PKI_ROLE_DEVICE, "SN1", NULL,
	                          f->device_crt, f->device_key)) != 0 ||
	    (r = pki_fixture_leaf(other, ok, NULL, PKI_ROLE_SERVER, "localhost",
	                          "DNS:localhost,IP:127.0.0.1", f->other_server_crt,
	                          f->other_server_key)) != 0 ||
	    (r = pki_fixture_leaf(other, ok, NULL, PKI_ROLE_DEVICE, "SN1", NULL,
	                          f->other_device_crt, f->other_device_key)) != 0 ||
	    (r = pki_fixture_leaf(iss, ik, iss, PKI_ROLE_SERVER, "elsewhere.example",
	                          "DNS:elsewhere.example", f->wrongname_crt,
	                          f->wrongname_key)) != 0 ||
	    (r = pki_fixture_leaf(iss, ik, iss, PKI_ROLE_RELAY, "relay1",
	                          "DNS:localhost,IP:127.0.0.1", f->relay_crt,
	                          f->relay_key)) != 0 ||
	    (r = pki_fixture_leaf(iss, ik, iss, PKI_ROLE_SERVER, "localhost", NULL,
	                          f->cnonly_crt, f->cnonly_key)) != 0)
		goto out;
out:
	X509_free(root);
	X509_free(iss);
	X509_free(other);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(ok);
	return r;
}

static void pki_fixture_cleanup(struct pki_fixture *f)
{
	char p[PATH_MAX];
	size_t i;

	if (f->dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(pki_fixture_files) / sizeof(pki_fixture_files[0]); i++) {
		pki_fixture_path(f, p, pki_fixture_files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	f->dir[0] = '\0';
}

#endif

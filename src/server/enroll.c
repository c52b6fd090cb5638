/* enroll.c: POST /api/v1/enroll. A device proves it holds a one-time token
 * bound to its serial and gets a certificate for the key it generated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "srvapi.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "pki.h"
#include "ratelimit.h"
#include "secret.h"
#include "server.h"
#include "signer.h"

struct enroll_req {
	char serial[MAX_NAME_BYTES];
	char token[TOKEN_TEXT_BYTES + 16];
	char csr[MAX_CSR_BYTES];
	char hostkey[STORE_HOSTKEY_BYTES];
};

static int enroll_hostkey_ok(const char *k)
{
	return strncmp(k, "ssh-", 4) == 0 && jbody_text_ok(k) && strlen(k) > 16;
}

static int enroll_parse(struct http_req *r, json_t *j, struct enroll_req *e)
{
	int rc;

	if ((rc = jbody_str(j, "serial", 1, e->serial, sizeof(e->serial))) != 0 ||
	    !jbody_name_ok(e->serial)) {
		api_bad_field(r, "serial", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if ((rc = jbody_str(j, "token", 1, e->token, sizeof(e->token))) != 0) {
		api_bad_field(r, "token", rc);
		return -1;
	}
	if ((rc = jbody_str(j, "csr", 1, e->csr, sizeof(e->csr))) != 0) {
		api_bad_field(r, "csr", rc);
		return -1;
	}
	if ((rc = jbody_str(j, "ssh_hostkey", 1, e->hostkey, sizeof(e->hostkey))) != 0 ||
	    !enroll_hostkey_ok(e->hostkey)) {
		http_error(r, 400, "bad_request", "ssh_hostkey must be an OpenSSH public key line"
		           " such as \"ssh-ed25519 AAAA...\"");
		return -1;
	}
	snprintf(r->who, sizeof(r->who), "enroll:%s", e->serial);
	return 0;
}

/* Have the signer issue the certificate (it decides role, name and
 * lifetime) and build "leaf PEM + issuing PEM". */
static int enroll_issue(struct server *srv, const char *serial, const char *csr,
                        char fp[SHA256_HEX_BYTES], char **chain)
{
	X509 *cert = NULL;
	char *leaf = NULL;
	size_t n;
	int rc;

	*chain = NULL;
	if ((rc = signer_cert(srv->signer, serial, csr, &leaf)) != 0 ||
	    (rc = pki_cert_from_pem(leaf, strlen(leaf), &cert)) != 0 ||
	    (rc = pki_cert_fingerprint(cert, fp)) != 0)
		goto out;
	n = strlen(leaf) + strlen(srv->issuing_pem) + 1;
	if ((*chain = malloc(n)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	snprintf(*chain, n, "%s%s", leaf, srv->issuing_pem);
out:
	free(leaf);
	X509_free(cert);
	return rc;
}

static void enroll_refuse(struct http_req *r, const char *serial, const char *why)
{
	server_audit(r->srv, "anonymous", "enroll_failed", json_pack("{s:s}", "reason", why));
	http_error(r, 401, "bad_token", "the enrollment token is unknown, used, expired or for"
	           " another serial; ask an administrator for a new one");
}

/* 1 (answered 429, audited) when this address has no enrollment left. */
static int enroll_rate_limited(struct http_req *r)
{
	char addr[RATELIMIT_ADDR_BYTES];
	long wait_s;

	http_peer_addr(r, addr, sizeof(addr));
	if ((wait_s = ratelimit_take(r->srv->rl_enroll, addr, r->started_ms)) == 0)
		return 0;
	server_audit(r->srv, "anonymous", "enroll_failed", json_pack("{s:s, s:s, s:I}", "reason",
	             "rate_limited", "addr", addr, "retry_after_s", (json_int_t)wait_s));
	http_retry_after(r, wait_s);
	http_error(r, 429, "rate_limited", "too many enrollments from this address; try again"
	           " in %ld s", wait_s);
	return 1;
}

void api_enroll(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r);
	struct enroll_req *e = calloc(1, sizeof(*e));
	struct store_audit_entry audit = { NULL, "enroll", NULL };
	EVP_PKEY *pub = NULL;
	char hash[SHA256_HEX_BYTES], fp[SHA256_HEX_BYTES];
	char *chain = NULL, *detail = NULL;
	int rc;

	if (j == NULL || e == NULL) {
		if (j != NULL)
			http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	/* Before any parsing or crypto: the limit is what keeps them cheap. */
	if (enroll_rate_limited(r) || enroll_parse(r, j, e) != 0)
		goto out;
	/* Check the CSR before spending the token on it. */
	if (pki_csr_pubkey(e->csr, strlen(e->csr), &pub) != 0) {
		http_error(r, 400, "bad_csr", "the CSR is not a valid self-signed PEM request");
		goto out;
	}
	if ((rc = secret_sha256_hex(e->token, strlen(e->token), hash)) != 0 ||
	    (rc = store_enroll_token_use(srv->store, e->serial, hash, server_now())) != 0) {
		enroll_refuse(r, e->serial, rc == TE_ERR_DENIED ? "bad token" : te_strerror(rc));
		goto out;
	}
	if ((rc = enroll_issue(srv, e->serial, e->csr, fp, &chain)) != 0 ||
	    (detail = jbody_dump(json_pack("{s:s, s:s}", "fingerprint", fp,
	                                   "ssh_hostkey", e->hostkey))) == NULL) {
		http_error(r, 503, "internal", "could not issue the certificate (%s)", te_strerror(rc));
		goto out;
	}
	audit.actor = e->serial;
	audit.detail = detail;
	if ((rc = store_device_set_enrolled(srv->store, e->serial, fp, e->hostkey, &audit)) != 0) {
		http_error(r, 503, "internal", "could not record the device (%s)", te_strerror(rc));
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "certificate", chain, "ca",
	                             srv->root_pem, "ticket_pubkey", srv->ticket_pub_pem,
	                             "checkpoint_pubkey", srv->checkpoint_pub_pem));
out:
	if (e != NULL)
		OPENSSL_cleanse(e->token, sizeof(e->token));
	free(e);
	free(chain);
	free(detail);
	EVP_PKEY_free(pub);
	jbody_wipe(j, "token");
	json_decref(j);
}

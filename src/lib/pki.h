/* pki.h: keys, certificates and CSRs for the deployment's own CA.
 *
 * Identities live in the subject: OU is the role ("server", "relay",
 * "device", "ca"), CN the name (host name, relay name or device serial). */
#ifndef TETHER_PKI_H
#define TETHER_PKI_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "secret.h"

#define PKI_ROLE_SERVER "server"
#define PKI_ROLE_RELAY  "relay"
#define PKI_ROLE_DEVICE "device"

/* ECDSA P-256 key. */
int pki_key_new(EVP_PKEY **out);
int pki_key_save(const char *path, EVP_PKEY *key);       /* PEM, mode 0600 */
int pki_key_load(const char *path, EVP_PKEY **out);
int pki_cert_save(const char *path, X509 *const *certs, size_t n); /* PEM chain, 0644 */
int pki_cert_load(const char *path, X509 **out);         /* first cert in file */
int pki_cert_from_pem(const char *pem, size_t len, X509 **out);
int pki_cert_to_pem(X509 *cert, char **out);             /* malloc'd */

/* Self-signed root CA. */
int pki_ca_new(const char *cn, int days, EVP_PKEY *key, X509 **out);
/* Issue a certificate for pub, signed by issuer. is_ca makes an issuing CA
 * (pathlen 0). sans is a comma-separated list like "DNS:localhost,IP:127.0.0.1"
 * or NULL. */
int pki_issue(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *pub,
              const char *role, const char *cn, const char *sans, int days,
              int is_ca, X509 **out);
/* A CSR for key, PEM text, malloc'd. */
int pki_csr_new(EVP_PKEY *key, const char *role, const char *cn, char **out_pem);
/* Verify a CSR's self-signature and return its public key. The subject it
 * asks for is ignored: the issuer decides role and name. */
int pki_csr_pubkey(const char *pem, size_t len, EVP_PKEY **out);
/* SHA-256 of the DER certificate, lowercase hex. */
int pki_cert_fingerprint(X509 *cert, char out[SHA256_HEX_BYTES]);
/* Role (OU) and name (CN) of a certificate. */
int pki_cert_identity(X509 *cert, char *role, size_t rolesz, char *name, size_t namesz);

#endif

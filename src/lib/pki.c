/* pki.c: keys, certificates and CSRs for the deployment's own CA.
 *
 * Every certificate is X.509 v3 with a random 128-bit serial, O=tether,
 * OU=role, CN=name, and the extensions its role needs and no more, so a
 * device certificate can never act as a server or sign anything. */
#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "bounds.h"
#include "err.h"

#define PKI_ORG              "tether"
#define PKI_ROLE_CA          "ca"
#define PKI_SERIAL_BYTES     16
#define PKI_BACKDATE_S       300    /* tolerate small clock skew between peers */
#define PKI_MAX_DAYS         (30 * 365)
#define PKI_MAX_SAN_ENTRIES  16

/* ---- files ------------------------------------------------------------- */

/* Write through a temporary file in the same folder and rename it into place,
 * so a crash never leaves a half-written key or certificate behind. */
static int pki_file_begin(const char *path, mode_t mode, char *tmp, size_t tmpsz,
                          FILE **out)
{
	int fd, n;

	n = snprintf(tmp, tmpsz, "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= tmpsz)
		return TE_ERR_TOO_LONG;
	fd = mkstemp(tmp); /* created 0600, O_EXCL */
	if (fd < 0)
		return TE_ERR_SYS;
	if (fchmod(fd, mode) != 0 || (*out = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return TE_ERR_SYS;
	}
	return 0;
}

static int pki_file_commit(FILE *f, const char *tmp, const char *path, int ok)
{
	int r = 0;

	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		unlink(tmp);
		return TE_ERR_IO;
	}
	if (rename(tmp, path) != 0) {
		r = TE_ERR_SYS;
		unlink(tmp);
	}
	return r;
}

int pki_key_new(EVP_PKEY **out)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return *out != NULL ? 0 : TE_ERR_CRYPTO;
}

int pki_key_save(const char *path, EVP_PKEY *key)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int r, ok;

	if ((r = pki_file_begin(path, 0600, tmp, sizeof(tmp), &f)) != 0)
		return r;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	return pki_file_commit(f, tmp, path, ok);
}

/* Read the first PEM object of a file: a private key when key is non-NULL,
 * else a certificate into cert. The files are our own (written by
 * pki_*_save), so no size bound beyond OpenSSL's own. */
static int pki_pem_load(const char *path, EVP_PKEY **key, X509 **cert)
{
	BIO *bio;
	int ok;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		return TE_ERR_NOT_FOUND;
	}
	if (key != NULL)
		ok = (*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) != NULL;
	else
		ok = (*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL;
	BIO_free(bio);
	return ok ? 0 : TE_ERR_INVALID;
}

int pki_key_load(const char *path, EVP_PKEY **out)
{
	*out = NULL;
	return pki_pem_load(path, out, NULL);
}

int pki_cert_save(const char *path, X509 *const *certs, size_t n)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	size_t i;
	int r, ok = n > 0;

	if ((r = pki_file_begin(path, 0644, tmp, sizeof(tmp), &f)) != 0)
		return r;
	for (i = 0; ok && i < n; i++)
		ok = PEM_write_X509(f, certs[i]) == 1;
	return pki_file_commit(f, tmp, path, ok);
}

int pki_cert_load(const char *path, X509 **out)
{
	*out = NULL;
	return pki_pem_load(path, NULL, out);
}

int pki_cert_from_pem(const char *pem, size_t len, X509 **out)
{
	BIO *bio;

	*out = NULL;
	if (pem == NULL || len == 0)
		return TE_ERR_INVALID;
	if (len > MAX_PEM_BYTES)
		return TE_ERR_TOO_LONG;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return TE_ERR_NOMEM;
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (*out == NULL) {
		ERR_clear_error();
		return TE_ERR_INVALID;
	}
	return 0;
}

/* Copy a memory BIO's contents into a malloc'd NUL-terminated string. */
static int pki_bio_to_str(BIO *bio, char **out)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0 || data == NULL)
		return TE_ERR_CRYPTO;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return TE_ERR_NOMEM;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

int pki_cert_to_pem(X509 *cert, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r;

	*out = NULL;
	if (bio == NULL)
		return TE_ERR_NOMEM;
	r = PEM_write_bio_X509(bio, cert) == 1 ? pki_bio_to_str(bio, out)
	                                       : TE_ERR_CRYPTO;
	BIO_free(bio);
	return r;
}

/* ---- names and extensions ---------------------------------------------- */

static int pki_name_ok(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int pki_subject_set(X509_NAME *nm, const char *role, const char *cn)
{
	if (!pki_name_ok(role, 32) || !pki_name_ok(cn, MAX_NAME_BYTES))
		return TE_ERR_INVALID;
	if (X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	                               (const unsigned char *)PKI_ORG, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_UTF8,
	                               (const unsigned char *)role, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	                               (const unsigned char *)cn, -1, -1, 0) != 1)
		return TE_ERR_CRYPTO;
	return 0;
}

static int pki_serial_set(X509 *x)
{
	unsigned char buf[PKI_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int r = TE_ERR_CRYPTO;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		return TE_ERR_CRYPTO;
	buf[0] &= 0x7f; /* keep it positive in DER */
	buf[0] |= 0x01; /* and never zero */
	if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		r = 0;
	BN_free(bn);
	return r;
}

/* One conf-style extension (values are fixed strings chosen in this file). */
static int pki_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return TE_ERR_CRYPTO;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : TE_ERR_CRYPTO;
}

static int pki_dns_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*'))
			return 0;
	}
	return 1;
}

/* One "DNS:name" or "IP:addr" entry. Only these two kinds are accepted, so a
 * caller-supplied list can never smuggle in other name types. */
static int pki_san_entry(GENERAL_NAMES *gens, const char *ent)
{
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	ASN1_OCTET_STRING *ip = NULL;

	if (strncmp(ent, "DNS:", 4) == 0 && pki_dns_ok(ent + 4)) {
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, ent + 4, -1) != 1)
			goto fail;
		if ((gn = GENERAL_NAME_new()) == NULL)
			goto fail;
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	} else if (strncmp(ent, "IP:", 3) == 0) {
		if ((ip = a2i_IPADDRESS(ent + 3)) == NULL) {
			ERR_clear_error();
			return TE_ERR_INVALID;
		}
		if ((gn = GENERAL_NAME_new()) == NULL)
			goto fail;
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	} else {
		return TE_ERR_INVALID;
	}
	if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
		GENERAL_NAME_free(gn);
		return TE_ERR_NOMEM;
	}
	return 0;
fail:
	ASN1_IA5STRING_free(ia5);
	ASN1_OCTET_STRING_free(ip);
	return TE_ERR_NOMEM;
}

static int pki_sans_add(X509 *x, const char *sans)
{
	GENERAL_NAMES *gens = NULL;
	char *copy = NULL, *tok, *save = NULL, *p;
	int r = 0, count = 0;

	if (sans == NULL || sans[0] == '\0')
		return 0;
	if (strlen(sans) > 2048)
		return TE_ERR_TOO_LONG;
	if ((copy = strdup(sans)) == NULL || (gens = GENERAL_NAMES_new()) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (p = tok + strlen(tok); p > tok && p[-1] == ' '; p--)
			p[-1] = '\0';
		if (*tok == '\0')
			continue;
		if (++count > PKI_MAX_SAN_ENTRIES) {
			r = TE_ERR_TOO_LONG;
			goto out;
		}
		if ((r = pki_san_entry(gens, tok)) != 0)
			goto out;
	}
	if (count > 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		r = TE_ERR_CRYPTO;
out:
	GENERAL_NAMES_free(gens);
	free(copy);
	return r;
}

static const char *pki_role_eku(const char *role)
{
	if (strcmp(role, PKI_ROLE_SERVER) == 0)
		return "serverAuth";
	if (strcmp(role, PKI_ROLE_RELAY) == 0)
		return "serverAuth,clientAuth";
	if (strcmp(role, PKI_ROLE_DEVICE) == 0)
		return "clientAuth";
	return NULL;
}

/* ca_kind: 0 leaf, 1 root (no path length limit needed: it is the anchor),
 * 2 issuing CA (pathlen 0: it may only sign leaves). */
static int pki_exts_add(X509 *x, X509 *issuer, const char *role, int ca_kind,
                        const char *sans)
{
	X509V3_CTX ctx;
	const char *eku = NULL;
	int r;

	if (ca_kind == 0 && (eku = pki_role_eku(role)) == NULL)
		return TE_ERR_INVALID;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((r = pki_ext_add(x, &ctx, NID_basic_constraints,
	                     ca_kind == 1 ? "critical,CA:TRUE" :
	                     ca_kind == 2 ? "critical,CA:TRUE,pathlen:0" :
	                                    "critical,CA:FALSE")) != 0 ||
	    (r = pki_ext_add(x, &ctx, NID_key_usage,
	                     ca_kind ? "critical,keyCertSign,cRLSign" :
	                               "critical,digitalSignature")) != 0 ||
	    (r = pki_ext_add(x, &ctx, NID_subject_key_identifier, "hash")) != 0)
		return r;
	/* A self-signed root has no authority to point at. */
	if (ca_kind != 1 &&
	    (r = pki_ext_add(x, &ctx, NID_authority_key_identifier,
	                     "keyid:always")) != 0)
		return r;
	if (eku != NULL &&
	    (r = pki_ext_add(x, &ctx, NID_ext_key_usage, eku)) != 0)
		return r;
	return pki_sans_add(x, sans);
}

/* Fill in everything but extensions and signature. */
static int pki_cert_base(X509 *x, X509 *issuer, EVP_PKEY *pub,
                         const char *role, const char *cn, int days)
{
	int r;

	if (days <= 0 || days > PKI_MAX_DAYS)
		return TE_ERR_INVALID;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		return TE_ERR_CRYPTO;
	if ((r = pki_serial_set(x)) != 0)
		return r;
	if ((r = pki_subject_set(X509_get_subject_name(x), role, cn)) != 0)
		return r;
	if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
	                                           : X509_get_subject_name(x)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_S) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) == NULL ||
	    X509_set_pubkey(x, pub) != 1)
		return TE_ERR_CRYPTO;
	return 0;
}

/* Build and sign one certificate; issuer NULL makes it self-signed by
 * sign_key. ca_kind as for pki_exts_add. */
static int pki_cert_make(X509 *issuer, EVP_PKEY *sign_key, EVP_PKEY *pub,
                         const char *role, const char *cn, const char *sans,
                         int days, int ca_kind, X509 **out)
{
	X509 *x = NULL;
	int r;

	if ((x = X509_new()) == NULL)
		return TE_ERR_NOMEM;
	if ((r = pki_cert_base(x, issuer, pub, role, cn, days)) != 0 ||
	    (r = pki_exts_add(x, issuer != NULL ? issuer : x, role, ca_kind, sans)) != 0)
		goto out;
	if (X509_sign(x, sign_key, EVP_sha256()) <= 0) {
		r = TE_ERR_CRYPTO;
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_free(x);
	return r;
}

int pki_ca_new(const char *cn, int days, EVP_PKEY *key, X509 **out)
{
	*out = NULL;
	return pki_cert_make(NULL, key, key, PKI_ROLE_CA, cn, NULL, days, 1, out);
}

int pki_issue(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *pub,
              const char *role, const char *cn, const char *sans, int days,
              int is_ca, X509 **out)
{
	*out = NULL;
	if (issuer == NULL || issuer_key == NULL || pub == NULL || role == NULL)
		return TE_ERR_INVALID;
	if (X509_check_private_key(issuer, issuer_key) != 1) {
		ERR_clear_error();
		return TE_ERR_MISMATCH;
	}
	return pki_cert_make(issuer, issuer_key, pub, role, cn, sans, days,
	                     is_ca ? 2 : 0, out);
}

/* ---- CSRs -------------------------------------------------------------- */

int pki_csr_new(EVP_PKEY *key, const char *role, const char *cn, char **out_pem)
{
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	int r;

	*out_pem = NULL;
	if ((req = X509_REQ_new()) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if ((r = pki_subject_set(X509_REQ_get_subject_name(req), role, cn)) != 0)
		goto out;
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(bio, req) != 1) {
		r = TE_ERR_CRYPTO;
		goto out;
	}
	r = pki_bio_to_str(bio, out_pem);
out:
	BIO_free(bio);
	X509_REQ_free(req);
	return r;
}

/* Only the key type this deployment issues for is accepted. */
static int pki_key_is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	                                   group, sizeof(group), &glen) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int pki_csr_pubkey(const char *pem, size_t len, EVP_PKEY **out)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pk;
	BIO *bio = NULL;
	int r = TE_ERR_INVALID;

	*out = NULL;
	if (pem == NULL || len == 0)
		return TE_ERR_INVALID;
	if (len > MAX_CSR_BYTES)
		return TE_ERR_TOO_LONG;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return TE_ERR_NOMEM;
	if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL || !pki_key_is_p256(pk))
		goto out;
	if (X509_REQ_verify(req, pk) != 1) {
		r = TE_ERR_SIGNATURE;
		goto out;
	}
	if (EVP_PKEY_up_ref(pk) != 1) {
		r = TE_ERR_CRYPTO;
		goto out;
	}
	*out = pk;
	r = 0;
out:
	ERR_clear_error();
	X509_REQ_free(req);
	BIO_free(bio);
	return r;
}

/* ---- inspection -------------------------------------------------------- */

int pki_cert_fingerprint(X509 *cert, char out[SHA256_HEX_BYTES])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
		return TE_ERR_CRYPTO;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return 0;
}

/* Copy the single entry nid of nm as UTF-8; a name with several is refused
 * because it would be ambiguous which one the identity is. */
static int pki_name_entry(X509_NAME *nm, int nid, char *out, size_t outsz)
{
	unsigned char *utf8 = NULL;
	int idx, len, r = 0;

	if (outsz == 0)
		return TE_ERR_INVALID;
	out[0] = '\0';
	if ((idx = X509_NAME_get_index_by_NID(nm, nid, -1)) < 0)
		return TE_ERR_NOT_FOUND;
	if (X509_NAME_get_index_by_NID(nm, nid, idx) >= 0)
		return TE_ERR_INVALID;
	len = ASN1_STRING_to_UTF8(&utf8,
	        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx)));
	if (len < 0)
		return TE_ERR_INVALID;
	if ((size_t)len >= outsz)
		r = TE_ERR_TOO_LONG;
	else if (memchr(utf8, '\0', (size_t)len) != NULL)
		r = TE_ERR_INVALID;
	else {
		memcpy(out, utf8, (size_t)len);
		out[len] = '\0';
	}
	OPENSSL_free(utf8);
	return r;
}

int pki_cert_identity(X509 *cert, char *role, size_t rolesz, char *name,
                      size_t namesz)
{
	X509_NAME *nm;
	int r;

	if (cert == NULL || (nm = X509_get_subject_name(cert)) == NULL)
		return TE_ERR_INVALID;
	if ((r = pki_name_entry(nm, NID_organizationalUnitName, role, rolesz)) != 0)
		return r;
	return pki_name_entry(nm, NID_commonName, name, namesz);
}

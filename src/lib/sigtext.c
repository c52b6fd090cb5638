/* sigtext.c: the signed-text wire form (sigtext.h). */
#include "sigtext.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "codec.h"
#include "err.h"

/* domain || payload, malloc'd. */
static uint8_t *sigtext_message(const char *domain, const void *payload, size_t plen,
                                size_t *mlen)
{
	size_t dlen = strlen(domain);
	uint8_t *m = malloc(dlen + plen + 1);

	if (m == NULL)
		return NULL;
	memcpy(m, domain, dlen);
	if (plen > 0)
		memcpy(m + dlen, payload, plen);
	*mlen = dlen + plen;
	return m;
}

int sigtext_make(EVP_PKEY *key, const char *domain, const void *payload, size_t plen,
                 size_t max, char *out, size_t outsz)
{
	uint8_t sig[SIGTEXT_SIG_BYTES], *msg = NULL;
	size_t siglen = sizeof(sig), mlen = 0, off;
	EVP_MD_CTX *ctx = NULL;
	int rc;

	if (key == NULL || out == NULL || outsz == 0 || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		return TE_ERR_INVALID;
	out[0] = '\0';
	if ((msg = sigtext_message(domain, payload, plen, &mlen)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, mlen) != 1 || siglen != SIGTEXT_SIG_BYTES) {
		ERR_clear_error();
		rc = TE_ERR_CRYPTO;
		goto out;
	}
	if (outsz > max + 1)
		outsz = max + 1;              /* never emit what a verifier refuses */
	if ((rc = b64url_encode(payload, plen, out, outsz)) != 0)
		goto out;
	off = strlen(out);
	if (off + 2 > outsz) {
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	out[off++] = '.';
	rc = b64url_encode(sig, siglen, out + off, outsz - off);
out:
	if (rc != 0)
		out[0] = '\0';
	EVP_MD_CTX_free(ctx);
	free(msg);
	return rc;
}

static int sigtext_b64_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int sigtext_check(const uint8_t *msg, size_t mlen, const uint8_t *sig, size_t siglen,
                         EVP_PKEY *pub)
{
	EVP_MD_CTX *ctx;
	int rc = TE_ERR_SIGNATURE;

	if (siglen != SIGTEXT_SIG_BYTES)
		return TE_ERR_SIGNATURE;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return TE_ERR_NOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) != 1)
		rc = TE_ERR_CRYPTO;
	else if (EVP_DigestVerify(ctx, sig, siglen, msg, mlen) == 1)
		rc = 0;
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

int sigtext_open(const char *text, size_t len, size_t max, EVP_PKEY *pub,
                 const char *domain, uint8_t *payload, size_t psz, size_t *plen)
{
	uint8_t sig[SIGTEXT_SIG_BYTES + 3], *msg = NULL;
	size_t siglen = 0, dot, mlen = 0;
	const char *d;
	int rc;

	*plen = 0;
	if (text == NULL || pub == NULL || EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519)
		return TE_ERR_INVALID;
	if (len > max)
		return TE_ERR_TOO_LONG;
	if ((d = memchr(text, '.', len)) == NULL)
		return TE_ERR_INVALID;
	dot = (size_t)(d - text);
	if (dot == 0 || !sigtext_b64_ok(text, dot) || !sigtext_b64_ok(text + dot + 1, len - dot - 1))
		return TE_ERR_INVALID;
	if (b64url_decode(text, dot, payload, psz, plen) != 0 ||
	    b64url_decode(text + dot + 1, len - dot - 1, sig, sizeof(sig), &siglen) != 0) {
		*plen = 0;
		return TE_ERR_INVALID;
	}
	if ((msg = sigtext_message(domain, payload, *plen, &mlen)) == NULL)
		rc = TE_ERR_NOMEM;
	else
		rc = sigtext_check(msg, mlen, sig, siglen, pub);
	free(msg);
	if (rc != 0)
		*plen = 0;
	return rc;
}

/* secret.c: randomness, SHA-256, constant-time compares, argon2id. */
#include "secret.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "codec.h"
#include "err.h"

/* Longest password we hash; longer input is refused rather than truncated. */
#define SECRET_MAX_PASSWORD_BYTES 1024

static pthread_once_t secret_sodium_once = PTHREAD_ONCE_INIT;
static int secret_sodium_rc = -1;

static void secret_sodium_init_once(void)
{
	secret_sodium_rc = sodium_init() < 0 ? -1 : 0;
}

static int secret_sodium_ready(void)
{
	pthread_once(&secret_sodium_once, secret_sodium_init_once);
	return secret_sodium_rc == 0 ? 0 : TE_ERR_CRYPTO;
}

int secret_random(void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (buf == NULL || len > INT_MAX)
		return TE_ERR_INVALID;
	if (RAND_bytes(buf, (int)len) != 1)
		return TE_ERR_CRYPTO;
	return 0;
}

int secret_token_new(char out[TOKEN_TEXT_BYTES])
{
	uint8_t raw[TOKEN_BYTES];
	int rc;

	if ((rc = secret_random(raw, sizeof(raw))) != 0)
		goto out;
	rc = b64url_encode(raw, sizeof(raw), out, TOKEN_TEXT_BYTES);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int secret_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (data == NULL && len > 0)
		return TE_ERR_INVALID;
	if (EVP_Digest(len ? data : "", len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return TE_ERR_CRYPTO;
	return 0;
}

int secret_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_BYTES])
{
	uint8_t md[32];
	int rc;

	if ((rc = secret_sha256(data, len, md)) != 0)
		return rc;
	return hex_encode(md, sizeof(md), out, SHA256_HEX_BYTES);
}

int secret_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return 1;
	return CRYPTO_memcmp(a, b, len) == 0 ? 1 : 0;
}

/* Lengths of digests and tokens are not secret; their contents are. */
int secret_equal_str(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return 0;
	return secret_equal(a, b, la);
}

void secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

int secret_pwhash(const char *password, char out[PWHASH_BYTES])
{
	size_t len;
	int rc;

	if ((rc = secret_sodium_ready()) != 0)
		return rc;
	if (password == NULL)
		return TE_ERR_INVALID;
	len = strnlen(password, SECRET_MAX_PASSWORD_BYTES + 1);
	if (len > SECRET_MAX_PASSWORD_BYTES)
		return TE_ERR_TOO_LONG;
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return TE_ERR_CRYPTO;
	return 0;
}

int secret_pwverify(const char *hash, const char *password)
{
	size_t len;
	int rc;

	if ((rc = secret_sodium_ready()) != 0)
		return rc;
	if (hash == NULL || password == NULL)
		return TE_ERR_DENIED;
	/* The stored hash comes from a file or database: it must be a bounded
	 * string before libsodium reads it. */
	if (strnlen(hash, PWHASH_BYTES) >= PWHASH_BYTES)
		return TE_ERR_INVALID;
	len = strnlen(password, SECRET_MAX_PASSWORD_BYTES + 1);
	if (len > SECRET_MAX_PASSWORD_BYTES)
		return TE_ERR_DENIED;
	if (crypto_pwhash_str_verify(hash, password, len) != 0)
		return TE_ERR_DENIED;
	return 0;
}

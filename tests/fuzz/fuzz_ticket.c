/* fuzz_ticket.c: ticket_verify with a fixed key.
 * Input starting with '{' is treated as a payload and signed first, so the
 * JSON checks behind the signature are reached too; anything else is fed to
 * ticket_verify as wire text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "codec.h"
#include "ticket.h"

#define FUZZ_NOW 1700000030

static EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *key;
	static const uint8_t seed[32] = { 't', 'e', 't', 'h', 'e', 'r', '-', 'f', 'u', 'z', 'z' };

	if (key == NULL)
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	return key;
}

/* Wrap payload as base64url(payload) "." base64url(sig). */
static int fuzz_wrap(EVP_PKEY *key, const uint8_t *data, size_t size, char *out, size_t outsz)
{
	uint8_t sig[64];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, data, size) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || b64url_encode(data, size, out, outsz) != 0)
		return -1;
	n = strlen(out);
	if (n + 2 > outsz)
		return -1;
	out[n++] = '.';
	return b64url_encode(sig, siglen, out + n, outsz - n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[MAX_TICKET_BYTES * 2];
	EVP_PKEY *key = fuzz_key();
	struct ticket t;

	if (key == NULL)
		return 0;
	if (size > 0 && data[0] == '{') {
		if (fuzz_wrap(key, data, size, text, sizeof(text)) != 0)
			return 0;
		if (ticket_verify(text, strlen(text), key, FUZZ_NOW, &t) != 0)
			return 0;
	} else if (ticket_verify((const char *)data, size, key, FUZZ_NOW, &t) != 0) {
		return 0;
	}
	(void)ticket_check_binding(&t, TICKET_LEG_DEVICE, "relay-1", "SN-0001");
	(void)ticket_allows(&t, "shell");
	return 0;
}

/* fuzz_checkpoint.c: a server's audit checkpoint as a device or a relay
 * reads it from an answer or its kept file (checkpoint_parse), then the
 * signature check with a fixed key. */
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *key;
	static const uint8_t seed[32] = { 'c', 'h', 'e', 'c', 'k', 'p', 'o', 'i', 'n', 't' };
	struct checkpoint cp;

	if (key == NULL)
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	if (checkpoint_parse((const char *)data, size, &cp) != 0)
		return 0;
	(void)checkpoint_verify(&cp, key);
	(void)checkpoint_compare(NULL, &cp);
	return 0;
}

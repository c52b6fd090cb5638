/* fuzz_actenv.c: activity envelopes (src/lib/actenv.c) as the agent opens
 * them, with a fixed key. Input starting with '{' is taken as a payload
 * and signed under the envelope's domain first, so the checks behind the
 * signature are reached; anything else is opened as wire text. An
 * envelope that opens must sign again to one that opens to the same
 * fields, and must never open as a session ticket. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "actenv.h"
#include "err.h"
#include "sigtext.h"
#include "ticket.h"

#define FUZZ_NOW 1700000030

static EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *key;
	static const uint8_t seed[32] = { 't', 'e', 't', 'h', 'e', 'r', '-', 'a', 'c', 't' };

	if (key == NULL)
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[MAX_ACTENV_BYTES + 1], again[MAX_ACTENV_BYTES + 1];
	static struct actenv e, back;
	struct ticket t;
	EVP_PKEY *key = fuzz_key();
	const char *wire = (const char *)data;
	size_t len = size;
	int rc;

	if (key == NULL)
		return 0;
	if (size > 0 && data[0] == '{') {
		if (sigtext_make(key, ACTENV_DOMAIN, data, size, MAX_ACTENV_BYTES, text,
		                 sizeof(text)) != 0)
			return 0;
		wire = text;
		len = strlen(text);
	}
	rc = actenv_verify(wire, len, key, FUZZ_NOW, &e);
	if (rc != 0 && rc != TE_ERR_EXPIRED)
		return 0;
	/* Another kind of signed text: the same key's ticket never opens it. */
	if (ticket_verify(wire, len, key, FUZZ_NOW, &t) == 0)
		abort();
	if (actenv_sign(&e, key, again, sizeof(again)) != 0)
		abort();    /* every envelope that opens can be made again */
	rc = actenv_verify(again, strlen(again), key, FUZZ_NOW, &back);
	if ((rc != 0 && rc != TE_ERR_EXPIRED) || strcmp(e.id, back.id) != 0 ||
	    strcmp(e.device, back.device) != 0 || strcmp(e.kind, back.kind) != 0 ||
	    strcmp(e.name, back.name) != 0 || strcmp(e.input, back.input) != 0 ||
	    e.expires_at != back.expires_at)
		abort();
	return 0;
}

/* sigtext.h: the signed-text wire form shared by session tickets
 * (ticket.h) and activity envelopes (actenv.h):
 *     base64url(payload) "." base64url(Ed25519 signature)
 *
 * The signature covers domain || payload, where domain is a fixed string
 * per kind of text ("" for tickets, whose form predates it), so that one
 * kind's signature can never be taken for another's although the same
 * key signs both. Opening checks the length bound, the alphabet, the
 * split and the signature before anything reads the payload: no
 * unauthenticated byte reaches a JSON parser. */
#ifndef TETHER_SIGTEXT_H
#define TETHER_SIGTEXT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SIGTEXT_SIG_BYTES 64

/* Sign domain || payload[0..plen) with an Ed25519 key into out
 * (NUL-terminated); TE_ERR_TOO_LONG when it would exceed max bytes (a
 * verifier would refuse it) or outsz. */
int sigtext_make(EVP_PKEY *key, const char *domain, const void *payload, size_t plen,
                 size_t max, char *out, size_t outsz);
/* Check text (len bytes, at most max) and give its payload (at most psz
 * bytes) in payload, its length in *plen. TE_ERR_TOO_LONG,
 * TE_ERR_INVALID (not the form), TE_ERR_SIGNATURE (another key, another
 * domain, altered bytes). */
int sigtext_open(const char *text, size_t len, size_t max, EVP_PKEY *pub,
                 const char *domain, uint8_t *payload, size_t psz, size_t *plen);

#endif

/* mfakey.h: the key that seals TOTP secrets at rest, DIR/mfa/totp.key
 * (32 random bytes, mode 0600, made by `tether-server init` and by `run`
 * when missing), and the sealing itself (libsodium crypto_secretbox). A
 * copy of the database alone never yields a TOTP secret. */
#ifndef TETHER_SERVER_MFAKEY_H
#define TETHER_SERVER_MFAKEY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define MFAKEY_BYTES 32
#define MFAKEY_FILE  "mfa/totp.key"

/* Load DIR/mfa/totp.key, creating the folder (0700) and a fresh key (0600)
 * when missing. A key file of another size, or readable by group or others,
 * is refused (errbuf says why). */
int mfakey_ensure(const char *dir, uint8_t key[MFAKEY_BYTES], char *errbuf, size_t errsz);
/* Seal len bytes under key as hex(nonce || box) into box_hex. */
int mfakey_seal(const uint8_t key[MFAKEY_BYTES], const uint8_t *secret, size_t len,
                char box_hex[STORE_BOX_BYTES]);
/* Open box_hex into out (at most outsz bytes); TE_ERR_SIGNATURE when it does
 * not authenticate under key, TE_ERR_INVALID when malformed. */
int mfakey_open(const uint8_t key[MFAKEY_BYTES], const char *box_hex, uint8_t *out,
                size_t outsz, size_t *outlen);

#endif

/* totp.h: one-time codes for the second login factor: HOTP (RFC 4226) and
 * TOTP (RFC 6238) with HMAC-SHA1, base32 (RFC 4648) for the shared secret,
 * and the otpauth:// URI that authenticator apps read from a QR code. */
#ifndef TETHER_TOTP_H
#define TETHER_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_BYTES   20    /* 160-bit shared secret (RFC 4226 advice) */
#define TOTP_DIGITS         6
#define TOTP_PERIOD_S       30
#define TOTP_DRIFT_STEPS    1     /* steps accepted either side of now */
#define TOTP_CODE_BYTES     9     /* up to 8 digits + NUL */
#define TOTP_BASE32_BYTES   33    /* base32 of TOTP_SECRET_BYTES (32) + NUL */
#define TOTP_URI_BYTES      512
#define TOTP_MAX_KEY_BYTES  64    /* longest secret totp_base32_decode accepts */

/* The HOTP value of counter under key, as a zero-padded decimal string of
 * digits (6..8) digits. */
int totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter, int digits,
              char out[TOTP_CODE_BYTES]);
/* The 30-second step that unix time t falls in. */
int64_t totp_step(int64_t t);
/* The TOTP_DIGITS code of step. */
int totp_code(const uint8_t *key, size_t keylen, int64_t step, char out[TOTP_CODE_BYTES]);

/* Check a code typed by a person against the steps now-DRIFT..now+DRIFT.
 * Every candidate is computed and compared in constant time. A match on a
 * step at or below last_step (the last one accepted for this user) is a
 * replay: TE_ERR_REPLAY. 0 and *matched on success; TE_ERR_DENIED for no
 * match; TE_ERR_INVALID when code is not TOTP_DIGITS decimal digits. */
int totp_verify(const uint8_t *key, size_t keylen, const char *code, int64_t now,
                int64_t last_step, int64_t *matched);

/* RFC 4648 base32, upper case, without padding. outsz must hold the text
 * and its NUL: TE_ERR_TOO_LONG otherwise. */
int totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
/* Decode base32 (either case; '=' padding, spaces and '-' ignored). Any
 * other character, or leftover bits that are not zero, is TE_ERR_INVALID;
 * more than outsz bytes is TE_ERR_TOO_LONG. */
int totp_base32_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen);

/* otpauth://totp/ISSUER:USER?secret=..&issuer=ISSUER&algorithm=SHA1&digits=6
 * &period=30. issuer and user must be names of [A-Za-z0-9._-]. */
int totp_uri(const char *issuer, const char *user, const char *secret_b32,
             char *out, size_t outsz);

#endif

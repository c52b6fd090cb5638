/* secret.h: random tokens, hashes, constant-time compares, password hashing. */
#ifndef TETHER_SECRET_H
#define TETHER_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_BYTES 65   /* 64 hex digits + NUL */
#define TOKEN_BYTES      32   /* random bytes in a bearer or enrollment token */
#define TOKEN_TEXT_BYTES 44   /* base64url of TOKEN_BYTES + NUL */
#define PWHASH_BYTES     128  /* argon2id encoded hash + NUL (crypto_pwhash_STRBYTES) */

int secret_random(void *buf, size_t len);
/* A fresh random token as base64url text (TOKEN_TEXT_BYTES incl. NUL). */
int secret_token_new(char out[TOKEN_TEXT_BYTES]);
/* Lowercase hex SHA-256 of data. */
int secret_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_BYTES]);
int secret_sha256(const void *data, size_t len, uint8_t out[32]);
/* 1 when equal, 0 otherwise; time depends only on len. */
int secret_equal(const void *a, const void *b, size_t len);
/* Constant-time compare of two NUL-terminated hex digests or tokens. */
int secret_equal_str(const char *a, const char *b);
void secret_wipe(void *p, size_t len);
/* argon2id (libsodium, interactive limits). */
int secret_pwhash(const char *password, char out[PWHASH_BYTES]);
/* 0 when the password matches, TE_ERR_DENIED when not. */
int secret_pwverify(const char *hash, const char *password);

#endif

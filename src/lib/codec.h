/* codec.h: hex and base64url (no padding), bounded both ways, and UTF-8
 * sequence checks. */
#ifndef TETHER_CODEC_H
#define TETHER_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* out must hold 2*len+1; returns 0 or TE_ERR_TOO_LONG. */
int hex_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
/* Decodes exactly strlen(in)/2 bytes; *outlen set. TE_ERR_INVALID on bad digits. */
int hex_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen);
/* 1 when s is exactly 64 lower-case hex digits (a SHA-256 as text, safe in
 * a file name), else 0. */
int hex_sha256_ok(const char *s);
/* base64url without '=' padding; out is NUL-terminated. */
int b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
int b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz, size_t *outlen);
/* Length (1 to 4) of the valid UTF-8 sequence at s, of which avail (at least
 * 1) bytes are there: 0 when invalid (overlong forms, surrogates, above
 * U+10FFFF), SIZE_MAX when it is a valid start cut off by avail. */
size_t codec_utf8_len(const unsigned char *s, size_t avail);

#endif

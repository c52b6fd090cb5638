/* codec.c: hex and base64url (RFC 4648 section 5, no padding).
 * Written by hand rather than with OpenSSL's EVP_Encode* because those emit
 * standard base64 with padding and newlines, and accept trailing junk. */
#include "codec.h"

#include <stdint.h>
#include <string.h>

#include "err.h"

static const char hex_digits[] = "0123456789abcdef";
static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	size_t i;

	if (out == NULL || outsz == 0 || len > (outsz - 1) / 2)
		return TE_ERR_TOO_LONG;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int hex_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t len, i;

	if (in == NULL)
		return TE_ERR_INVALID;
	len = strlen(in);
	if (len % 2 != 0)
		return TE_ERR_INVALID;
	if (len / 2 > outsz)
		return TE_ERR_TOO_LONG;
	for (i = 0; i < len / 2; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return TE_ERR_INVALID;
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	if (outlen != NULL)
		*outlen = len / 2;
	return 0;
}

int b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	size_t need, i, o = 0;

	if (len > (SIZE_MAX / 4) - 4)
		return TE_ERR_TOO_LONG;
	need = (len / 3) * 4 + ((len % 3) ? (len % 3) + 1 : 0);
	if (out == NULL || outsz == 0 || need > outsz - 1)
		return TE_ERR_TOO_LONG;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return 0;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict decoder: no padding, no whitespace, and the unused low bits of the
 * last digit must be zero so every byte string has exactly one encoding
 * (a signed ticket must not have look-alike spellings). */
int b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t need, i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (in == NULL && inlen > 0)
		return TE_ERR_INVALID;
	if (inlen % 4 == 1)
		return TE_ERR_INVALID;
	need = (inlen / 4) * 3 + ((inlen % 4) ? (inlen % 4) - 1 : 0);
	if (need > outsz)
		return TE_ERR_TOO_LONG;
	for (i = 0; i < inlen; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return TE_ERR_INVALID;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return TE_ERR_INVALID;
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

size_t codec_utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if (i >= avail)
			return SIZE_MAX;
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		/* Reject overlong and surrogate forms as early as they show. */
		if (i == 1 && n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
			return 0;
		if (i == 1 && n == 3 && s[0] == 0xed && s[1] >= 0xa0)
			return 0;
		if (i == 1 && n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) ||
		                         (s[0] == 0xf4 && s[1] >= 0x90)))
			return 0;
	}
	return n;
}

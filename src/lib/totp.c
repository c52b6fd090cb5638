/* totp.c: HOTP/TOTP with HMAC-SHA1 (OpenSSL), base32 and otpauth URIs. */
#include "totp.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "secret.h"

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter, int digits,
              char out[TOTP_CODE_BYTES])
{
	static const uint32_t mod[] = { 1000000, 10000000, 100000000 };
	uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	uint32_t bin;
	int off;

	if (digits < 6 || digits > 8 || keylen == 0 || keylen > TOTP_MAX_KEY_BYTES)
		return TE_ERR_INVALID;
	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac, &maclen) == NULL ||
	    maclen != 20)
		return TE_ERR_CRYPTO;
	/* RFC 4226 section 5.3: dynamic truncation */
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	bin %= mod[digits - 6];
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[digits] = '\0';
	secret_wipe(mac, sizeof(mac));
	return 0;
}

int64_t totp_step(int64_t t)
{
	return t < 0 ? 0 : t / TOTP_PERIOD_S;
}

int totp_code(const uint8_t *key, size_t keylen, int64_t step, char out[TOTP_CODE_BYTES])
{
	if (step < 0)
		return TE_ERR_INVALID;
	return totp_hotp(key, keylen, (uint64_t)step, TOTP_DIGITS, out);
}

int totp_verify(const uint8_t *key, size_t keylen, const char *code, int64_t now,
                int64_t last_step, int64_t *matched)
{
	char want[TOTP_CODE_BYTES], got[TOTP_CODE_BYTES];
	int64_t base = totp_step(now), hit = -1;
	int rc = 0;

	*matched = -1;
	if (strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
		return TE_ERR_INVALID;
	memset(got, 0, sizeof(got));
	memcpy(got, code, TOTP_DIGITS);
	/* No early exit: every candidate step costs the same. */
	for (int64_t s = base - TOTP_DRIFT_STEPS; s <= base + TOTP_DRIFT_STEPS; s++) {
		memset(want, 0, sizeof(want));
		if (s >= 0 && (rc = totp_code(key, keylen, s, want)) != 0)
			break;
		if (s >= 0 && secret_equal(want, got, sizeof(want)) && hit < 0)
			hit = s;
	}
	secret_wipe(want, sizeof(want));
	secret_wipe(got, sizeof(got));
	if (rc != 0)
		return rc;
	if (hit < 0)
		return TE_ERR_DENIED;
	if (hit <= last_step)
		return TE_ERR_REPLAY;
	*matched = hit;
	return 0;
}

int totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	size_t need = (len * 8 + 4) / 5, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (need + 1 > outsz)
		return TE_ERR_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = totp_b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = totp_b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int totp_b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int totp_base32_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, pad = 0;

	*outlen = 0;
	for (; *in; in++) {
		int v;

		if (*in == ' ' || *in == '-')
			continue;
		if (*in == '=') {
			pad = 1;
			continue;
		}
		if (pad || (v = totp_b32_value(*in)) < 0)
			return TE_ERR_INVALID;   /* data after padding, or not base32 */
		acc = ((acc << 5) | (uint32_t)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			if (o >= outsz)
				return TE_ERR_TOO_LONG;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	/* Leftover bits must be padding zeros (and fewer than one char's worth). */
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return TE_ERR_INVALID;
	*outlen = o;
	return 0;
}

static int totp_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                 "0123456789._-") == n;
}

int totp_uri(const char *issuer, const char *user, const char *secret_b32,
             char *out, size_t outsz)
{
	int n;

	if (!totp_name_ok(issuer) || !totp_name_ok(user) ||
	    strspn(secret_b32, totp_b32_alphabet) != strlen(secret_b32) || secret_b32[0] == '\0')
		return TE_ERR_INVALID;
	n = snprintf(out, outsz, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
	             "&digits=%d&period=%d", issuer, user, secret_b32, issuer, TOTP_DIGITS,
	             TOTP_PERIOD_S);
	return (n < 0 || (size_t)n >= outsz) ? TE_ERR_TOO_LONG : 0;
}

/* test_totp.c: HOTP/TOTP against the RFC test vectors, the drift window and
 * replay refusal, base32 round trips and refusals, and the otpauth URI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "totp.h"

static const uint8_t rfc_key[] = "12345678901234567890";   /* RFC 6238 SHA-1 seed */
#define RFC_KEYLEN 20

/* RFC 6238 appendix B, SHA-1, 8 digits. */
static void test_rfc6238_vectors(void **state)
{
	static const struct { int64_t t; const char *code; } v[] = {
		{ 59, "94287082" }, { 1111111109, "07081804" }, { 1111111111, "14050471" },
		{ 1234567890, "89005924" }, { 2000000000, "69279037" },
		{ 20000000000LL, "65353130" },
	};
	char out[TOTP_CODE_BYTES];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_hotp(rfc_key, RFC_KEYLEN, (uint64_t)totp_step(v[i].t), 8, out), 0);
		assert_string_equal(out, v[i].code);
		/* the 6-digit code is the same value modulo 10^6 */
		assert_int_equal(totp_code(rfc_key, RFC_KEYLEN, totp_step(v[i].t), out), 0);
		assert_string_equal(out, v[i].code + 2);
	}
}

/* RFC 4226 appendix D, counters 0..2. */
static void test_rfc4226_vectors(void **state)
{
	static const char *const want[] = { "755224", "287082", "359152" };
	char out[TOTP_CODE_BYTES];

	(void)state;
	for (uint64_t c = 0; c < 3; c++) {
		assert_int_equal(totp_hotp(rfc_key, RFC_KEYLEN, c, 6, out), 0);
		assert_string_equal(out, want[c]);
	}
	assert_int_equal(totp_hotp(rfc_key, RFC_KEYLEN, 0, 5, out), TE_ERR_INVALID);
	assert_int_equal(totp_hotp(rfc_key, 0, 0, 6, out), TE_ERR_INVALID);
}

static void test_verify_drift_and_replay(void **state)
{
	const int64_t now = 1111111111;   /* step 37037037 */
	int64_t step = totp_step(now), matched = 0;
	char c[TOTP_CODE_BYTES];

	(void)state;
	for (int64_t d = -1; d <= 1; d++) {
		assert_int_equal(totp_code(rfc_key, RFC_KEYLEN, step + d, c), 0);
		assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, 0, &matched), 0);
		assert_int_equal(matched, step + d);
	}
	/* two steps off: refused */
	assert_int_equal(totp_code(rfc_key, RFC_KEYLEN, step - 2, c), 0);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, 0, &matched), TE_ERR_DENIED);
	assert_int_equal(totp_code(rfc_key, RFC_KEYLEN, step + 2, c), 0);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, 0, &matched), TE_ERR_DENIED);
	/* a step at or below the last accepted one is a replay */
	assert_int_equal(totp_code(rfc_key, RFC_KEYLEN, step, c), 0);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, step, &matched), TE_ERR_REPLAY);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, step + 1, &matched), TE_ERR_REPLAY);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, c, now, step - 1, &matched), 0);
	/* malformed codes */
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, "12345", now, 0, &matched), TE_ERR_INVALID);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, "1234567", now, 0, &matched), TE_ERR_INVALID);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, "12a456", now, 0, &matched), TE_ERR_INVALID);
	assert_int_equal(totp_verify(rfc_key, RFC_KEYLEN, "", now, 0, &matched), TE_ERR_INVALID);
}

static void test_base32_vectors(void **state)
{
	/* RFC 4648 section 10, without padding */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	char enc[64];
	uint8_t dec[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_base32_encode((const uint8_t *)v[i].in, strlen(v[i].in), enc,
		                                    sizeof(enc)), 0);
		assert_string_equal(enc, v[i].out);
		assert_int_equal(totp_base32_decode(v[i].out, dec, sizeof(dec), &n), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, n);
	}
	assert_int_equal(totp_base32_encode(rfc_key, RFC_KEYLEN, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	/* lower case, padding, spaces and dashes are accepted */
	assert_int_equal(totp_base32_decode("mzxw 6ytb-oi======", dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(dec, "foobar", 6);
}

static void test_base32_round_trips_and_refusals(void **state)
{
	uint8_t in[TOTP_MAX_KEY_BYTES], dec[TOTP_MAX_KEY_BYTES];
	char enc[128];
	size_t n;

	(void)state;
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(i * 37 + len * 11);
		assert_int_equal(totp_base32_encode(in, len, enc, sizeof(enc)), 0);
		assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
		assert_int_equal(totp_base32_decode(enc, dec, sizeof(dec), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
	}
	assert_int_equal(totp_base32_encode(in, 20, enc, 32), TE_ERR_TOO_LONG);   /* no NUL room */
	assert_int_equal(totp_base32_decode("MZXW1", dec, sizeof(dec), &n), TE_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZ=XW", dec, sizeof(dec), &n), TE_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZ!", dec, sizeof(dec), &n), TE_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MY", dec, sizeof(dec), &n), 0);
	assert_int_equal(totp_base32_decode("MZ", dec, sizeof(dec), &n), TE_ERR_INVALID); /* stray bits */
	assert_int_equal(totp_base32_decode("M", dec, sizeof(dec), &n), TE_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZXW6YTBOI", dec, 5, &n), TE_ERR_TOO_LONG);
}

static void test_uri(void **state)
{
	char uri[TOTP_URI_BYTES];

	(void)state;
	assert_int_equal(totp_uri("tether", "alice", "GEZDGNBVGY3TQOJQ", uri, sizeof(uri)), 0);
	assert_string_equal(uri, "otpauth://totp/tether:alice?secret=GEZDGNBVGY3TQOJQ"
	                         "&issuer=tether&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(totp_uri("tether", "a b", "GEZD", uri, sizeof(uri)), TE_ERR_INVALID);
	assert_int_equal(totp_uri("tether", "alice", "gezd", uri, sizeof(uri)), TE_ERR_INVALID);
	assert_int_equal(totp_uri("tether", "alice", "GEZD&x=1", uri, sizeof(uri)), TE_ERR_INVALID);
	assert_int_equal(totp_uri("tether", "alice", "GEZD", uri, 20), TE_ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_rfc4226_vectors),
		cmocka_unit_test(test_verify_drift_and_replay),
		cmocka_unit_test(test_base32_vectors),
		cmocka_unit_test(test_base32_round_trips_and_refusals),
		cmocka_unit_test(test_uri),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

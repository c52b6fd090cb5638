/* test_codec.c: hex and base64url round trips and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "err.h"

static void test_hex_round_trip(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff };
	uint8_t back[4];
	char hex[9];
	size_t n = 0;

	(void)state;
	assert_int_equal(hex_encode(in, sizeof(in), hex, sizeof(hex)), 0);
	assert_string_equal(hex, "0001abff");
	assert_int_equal(hex_decode(hex, back, sizeof(back), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(in, back, 4);
	assert_int_equal(hex_decode("0001ABFF", back, sizeof(back), &n), 0);
	assert_memory_equal(in, back, 4);
}

static void test_hex_bounds(void **state)
{
	const uint8_t in[] = { 1, 2, 3, 4 };
	uint8_t out[2];
	char hex[8];
	size_t n;

	(void)state;
	assert_int_equal(hex_encode(in, sizeof(in), hex, sizeof(hex)), TE_ERR_TOO_LONG);
	assert_int_equal(hex_decode("010203", out, sizeof(out), &n), TE_ERR_TOO_LONG);
	assert_int_equal(hex_decode("012", out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(hex_decode("0g", out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(hex_decode("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
}

static void test_b64url_vectors(void **state)
{
	/* RFC 4648 test vectors, without padding. */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	uint8_t back[16];
	char out[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(b64url_encode((const uint8_t *)plain[i], strlen(plain[i]),
		                               out, sizeof(out)), 0);
		assert_string_equal(out, enc[i]);
		assert_int_equal(b64url_decode(enc[i], strlen(enc[i]), back, sizeof(back), &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(back, plain[i], n);
	}
}

static void test_b64url_alphabet(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0xbf };
	uint8_t back[3];
	char out[8];
	size_t n;

	(void)state;
	assert_int_equal(b64url_encode(in, sizeof(in), out, sizeof(out)), 0);
	assert_string_equal(out, "-_-_");
	assert_int_equal(b64url_decode(out, 4, back, sizeof(back), &n), 0);
	assert_memory_equal(in, back, 3);
}

static void test_b64url_rejects(void **state)
{
	uint8_t out[16];
	char enc[4];
	size_t n;

	(void)state;
	assert_int_equal(b64url_decode("Zg==", 4, out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(b64url_decode("Zm+v", 4, out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(b64url_decode("Zm9 ", 4, out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(b64url_decode("Z", 1, out, sizeof(out), &n), TE_ERR_INVALID);
	/* Non-zero unused bits: a second spelling of "f" is refused. */
	assert_int_equal(b64url_decode("Zh", 2, out, sizeof(out), &n), TE_ERR_INVALID);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &n), TE_ERR_TOO_LONG);
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, enc, sizeof(enc)),
	                 TE_ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_bounds),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_alphabet),
		cmocka_unit_test(test_b64url_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

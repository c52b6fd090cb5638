/* test_rbuf.c: the bounded reader never reads past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "rbuf.h"

static void test_init_enforces_max(void **state)
{
	struct rbuf r;
	uint8_t data[8] = { 0 };

	(void)state;
	assert_int_equal(rbuf_init(&r, data, sizeof(data), 8), 0);
	assert_int_equal(rbuf_remaining(&r), 8);
	assert_int_equal(rbuf_init(&r, data, sizeof(data), 7), TE_ERR_TOO_LONG);
	assert_int_equal(rbuf_init(&r, NULL, 0, 0), 0);
	assert_int_equal(rbuf_remaining(&r), 0);
}

static void test_integers_big_endian(void **state)
{
	const uint8_t data[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	struct rbuf r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	(void)state;
	assert_int_equal(rbuf_init(&r, data, sizeof(data), 64), 0);
	assert_int_equal(rbuf_get_u8(&r, &u8), 0);
	assert_int_equal(u8, 0x01);
	assert_int_equal(rbuf_get_u16be(&r, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(rbuf_get_u32be(&r, &u32), 0);
	assert_int_equal(u32, 0x04050607u);
	assert_int_equal(rbuf_remaining(&r), 0);
	assert_int_equal(rbuf_get_u8(&r, &u8), TE_ERR_TRUNCATED);
}

static void test_short_read_leaves_reader_unchanged(void **state)
{
	const uint8_t data[] = { 0xaa, 0xbb, 0xcc };
	uint8_t out[4] = { 0 };
	struct rbuf r;
	uint32_t u32;

	(void)state;
	assert_int_equal(rbuf_init(&r, data, sizeof(data), 64), 0);
	assert_int_equal(rbuf_get_u32be(&r, &u32), TE_ERR_TRUNCATED);
	assert_int_equal(rbuf_get_bytes(&r, out, 4), TE_ERR_TRUNCATED);
	assert_int_equal(rbuf_skip(&r, 4), TE_ERR_TRUNCATED);
	assert_int_equal(rbuf_remaining(&r), 3);
	assert_int_equal(rbuf_skip(&r, 1), 0);
	assert_int_equal(rbuf_get_bytes(&r, out, 2), 0);
	assert_int_equal(out[0], 0xbb);
	assert_int_equal(out[1], 0xcc);
}

static void test_tokens(void **state)
{
	const char text[] = "TETHER/1 device abc.def\n";
	char tok[16];
	struct rbuf r;

	(void)state;
	assert_int_equal(rbuf_init(&r, text, strlen(text), 64), 0);
	assert_int_equal(rbuf_get_token(&r, ' ', tok, sizeof(tok)), 0);
	assert_string_equal(tok, "TETHER/1");
	assert_int_equal(rbuf_get_token(&r, ' ', tok, sizeof(tok)), 0);
	assert_string_equal(tok, "device");
	assert_int_equal(rbuf_get_token(&r, '\n', tok, sizeof(tok)), 0);
	assert_string_equal(tok, "abc.def");
	assert_int_equal(rbuf_remaining(&r), 0);
	assert_int_equal(rbuf_get_token(&r, '\n', tok, sizeof(tok)), TE_ERR_TRUNCATED);
}

static void test_token_without_delimiter_is_truncated(void **state)
{
	const char text[] = "no-newline-here";
	char tok[64];
	struct rbuf r;

	(void)state;
	assert_int_equal(rbuf_init(&r, text, strlen(text), 64), 0);
	assert_int_equal(rbuf_get_token(&r, '\n', tok, sizeof(tok)), TE_ERR_TRUNCATED);
	assert_int_equal(rbuf_remaining(&r), strlen(text));
}

static void test_token_too_long(void **state)
{
	const char text[] = "abcdefgh ijk";
	char tok[16];
	struct rbuf r;

	(void)state;
	assert_int_equal(rbuf_init(&r, text, strlen(text), 64), 0);
	/* 8 bytes do not fit in 8 - 1. */
	assert_int_equal(rbuf_get_token(&r, ' ', tok, 8), TE_ERR_TOO_LONG);
	assert_int_equal(rbuf_remaining(&r), strlen(text));
	assert_int_equal(rbuf_get_token(&r, ' ', tok, 9), 0);
	assert_string_equal(tok, "abcdefgh");
	assert_int_equal(rbuf_get_rest(&r, tok, 3), TE_ERR_TOO_LONG);
	assert_int_equal(rbuf_get_rest(&r, tok, 4), 0);
	assert_string_equal(tok, "ijk");
}

static void test_nul_inside_token(void **state)
{
	const char text[] = { 'a', '\0', 'b', ' ', 'c', '\0' };
	char tok[16];
	struct rbuf r;

	(void)state;
	assert_int_equal(rbuf_init(&r, text, 5, 64), 0);
	assert_int_equal(rbuf_get_token(&r, ' ', tok, sizeof(tok)), TE_ERR_INVALID);
	assert_int_equal(rbuf_remaining(&r), 5);
	assert_int_equal(rbuf_init(&r, text, sizeof(text), 64), 0);
	assert_int_equal(rbuf_skip(&r, 4), 0);
	assert_int_equal(rbuf_get_rest(&r, tok, sizeof(tok)), TE_ERR_INVALID);
}

static void test_empty_token(void **state)
{
	const char text[] = " x";
	char tok[4];
	struct rbuf r;

	(void)state;
	assert_int_equal(rbuf_init(&r, text, strlen(text), 64), 0);
	assert_int_equal(rbuf_get_token(&r, ' ', tok, sizeof(tok)), 0);
	assert_string_equal(tok, "");
	assert_int_equal(rbuf_get_rest(&r, tok, sizeof(tok)), 0);
	assert_string_equal(tok, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_enforces_max),
		cmocka_unit_test(test_integers_big_endian),
		cmocka_unit_test(test_short_read_leaves_reader_unchanged),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_token_without_delimiter_is_truncated),
		cmocka_unit_test(test_token_too_long),
		cmocka_unit_test(test_nul_inside_token),
		cmocka_unit_test(test_empty_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

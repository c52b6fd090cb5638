/* test_signmsg.c: the signer's message codec: every message round-trips,
 * and a wrong length, an unknown type, a payload outside its type's bounds,
 * a string overrun or with a NUL inside, and trailing bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "signmsg.h"

static void fill_ticket(struct signmsg_ticket *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->session, sizeof(t->session), "%032d", 7);
	snprintf(t->device, sizeof(t->device), "SN-0001");
	snprintf(t->user, sizeof(t->user), "alice");
	snprintf(t->relay, sizeof(t->relay), "relay-1");
	t->leg = 2;
	t->end_at = 1700003600;
	t->idle_s = 900;
	snprintf(t->actions, sizeof(t->actions), "forward:http,shell");
	t->conn = 3;
}

static void test_ticket_round_trip(void **state)
{
	struct signmsg_ticket t, back;
	struct signmsg_wr w;
	struct signmsg_rd rd;
	enum signmsg_type type;

	fill_ticket(&t);
	assert_int_equal(signmsg_ticket_encode(&w, &t), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	assert_int_equal(type, SIGNMSG_TICKET);
	assert_int_equal(signmsg_ticket_decode(&rd, &back), 0);
	assert_memory_equal(&t, &back, sizeof(t));
}

static void test_totp_check_round_trip(void **state)
{
	struct signmsg_totp_check c, back;
	struct signmsg_wr w;
	struct signmsg_rd rd;
	enum signmsg_type type;

	memset(&c, 0, sizeof(c));
	snprintf(c.box, sizeof(c.box), "%s", "ab01cd");
	snprintf(c.code, sizeof(c.code), "123456");
	c.last_step = 56666666;
	assert_int_equal(signmsg_totp_check_encode(&w, &c), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	assert_int_equal(type, SIGNMSG_TOTP_CHECK);
	assert_int_equal(signmsg_totp_check_decode(&rd, &back), 0);
	assert_memory_equal(&c, &back, sizeof(c));
}

/* The length field must be what arrived, and both header fields known. */
static void test_header_checks(void **state)
{
	struct signmsg_ticket t;
	struct signmsg_wr w;
	struct signmsg_rd rd;
	enum signmsg_type type;
	uint8_t buf[MAX_SIGNMSG_BYTES + 8];

	fill_ticket(&t);
	assert_int_equal(signmsg_ticket_encode(&w, &t), 0);
	memcpy(buf, w.buf, w.len);
	assert_int_equal(signmsg_parse(buf, w.len - 1, &type, &rd), TE_ERR_INVALID);
	assert_int_equal(signmsg_parse(buf, w.len + 1, &type, &rd), TE_ERR_INVALID);
	assert_int_equal(signmsg_parse(buf, 7, &type, &rd), TE_ERR_INVALID);
	buf[3] = 0;                                        /* type 0 */
	assert_int_equal(signmsg_parse(buf, w.len, &type, &rd), TE_ERR_INVALID);
	buf[3] = SIGNMSG_TYPE_END;                         /* unknown type */
	assert_int_equal(signmsg_parse(buf, w.len, &type, &rd), TE_ERR_INVALID);
	buf[0] = 1;                                        /* huge type */
	buf[3] = SIGNMSG_TICKET;
	assert_int_equal(signmsg_parse(buf, w.len, &type, &rd), TE_ERR_INVALID);
	assert_int_equal(signmsg_parse(buf, MAX_SIGNMSG_BYTES + 1, &type, &rd), TE_ERR_INVALID);
}

/* A payload outside its type's bounds is refused on both sides. */
static void test_type_bounds(void **state)
{
	struct signmsg_wr w;
	struct signmsg_rd rd;
	enum signmsg_type type;
	uint8_t hdr[SIGNMSG_HDR_BYTES + 4] = { 0, 0, 0, SIGNMSG_TOTP_NEW, 0, 0, 0, 4 };

	signmsg_begin(&w, SIGNMSG_TOTP_NEW);
	signmsg_put_u64(&w, 1);                            /* TOTP_NEW is empty */
	assert_int_equal(signmsg_end(&w), TE_ERR_INVALID);
	assert_int_equal(signmsg_parse(hdr, sizeof(hdr), &type, &rd), TE_ERR_INVALID);
	signmsg_begin(&w, SIGNMSG_CHECKPOINT);
	signmsg_put_u64(&w, 5);
	signmsg_put_str(&w, "abc");                        /* not a 64-digit hash */
	assert_int_equal(signmsg_end(&w), TE_ERR_INVALID);
	signmsg_begin(&w, SIGNMSG_ERROR);
	signmsg_put_u64(&w, (uint64_t)(int64_t)TE_ERR_DENIED);
	assert_int_equal(signmsg_end(&w), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	assert_int_equal((int)(int64_t)signmsg_get_u64(&rd), TE_ERR_DENIED);
	assert_int_equal(signmsg_done(&rd), 0);
}

/* Field-level checks inside a well-sized payload. */
static void test_field_checks(void **state)
{
	struct signmsg_ticket t;
	struct signmsg_wr w;
	struct signmsg_rd rd;
	enum signmsg_type type;
	char name[MAX_NAME_BYTES + 1];

	/* A session id one byte too long for its field. */
	fill_ticket(&t);
	memset(name, 'a', MAX_NAME_BYTES);
	name[MAX_NAME_BYTES] = '\0';
	signmsg_begin(&w, SIGNMSG_TICKET);
	signmsg_put_str(&w, name);
	signmsg_put_str(&w, t.device);
	signmsg_put_str(&w, t.user);
	signmsg_put_str(&w, t.relay);
	signmsg_put_u64(&w, 1);
	signmsg_put_u64(&w, 0);
	signmsg_put_u64(&w, 0);
	signmsg_put_str(&w, "");
	assert_int_equal(signmsg_end(&w), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	assert_int_equal(signmsg_ticket_decode(&rd, &t), TE_ERR_TOO_LONG);

	/* A NUL inside a string. */
	signmsg_begin(&w, SIGNMSG_CERT);
	signmsg_put_bytes(&w, "SN\0X", 4);
	signmsg_put_str(&w, "-----BEGIN CERTIFICATE REQUEST-----");
	assert_int_equal(signmsg_end(&w), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	{
		char serial[MAX_NAME_BYTES];
		signmsg_get_str(&rd, serial, sizeof(serial));
		assert_int_equal(signmsg_done(&rd), TE_ERR_INVALID);
	}

	/* A string length that runs past the payload. */
	signmsg_begin(&w, SIGNMSG_TICKET_OK);
	signmsg_put_str(&w, "abc");
	assert_int_equal(signmsg_end(&w), 0);
	w.buf[SIGNMSG_HDR_BYTES + 1] = 9;                  /* claims 9 bytes, 3 follow */
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	{
		char text[64];
		signmsg_get_str(&rd, text, sizeof(text));
		assert_int_equal(signmsg_done(&rd), TE_ERR_TRUNCATED);
	}

	/* Bytes left over after the last field. */
	signmsg_begin(&w, SIGNMSG_TOTP_CHECK_OK);
	signmsg_put_u64(&w, 0);
	signmsg_put_u64(&w, 1);
	assert_int_equal(signmsg_end(&w), 0);
	assert_int_equal(signmsg_parse(w.buf, w.len, &type, &rd), 0);
	(void)signmsg_get_u64(&rd);
	assert_int_equal(signmsg_done(&rd), TE_ERR_INVALID);
}

/* A writer that runs out of room says so instead of writing past its buffer. */
static void test_writer_overflow(void **state)
{
	static char big[MAX_SIGNMSG_BYTES];
	struct signmsg_wr w;

	memset(big, 'x', sizeof(big) - 1);
	signmsg_begin(&w, SIGNMSG_CERT_OK);
	signmsg_put_bytes(&w, big, 60000);
	signmsg_put_bytes(&w, big, 10);
	assert_int_equal(signmsg_end(&w), TE_ERR_TOO_LONG);
	signmsg_begin(&w, SIGNMSG_CERT_OK);
	signmsg_put_bytes(&w, big, 70000);                 /* over a u16 length */
	assert_int_equal(signmsg_end(&w), TE_ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_round_trip),
		cmocka_unit_test(test_totp_check_round_trip),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_type_bounds),
		cmocka_unit_test(test_field_checks),
		cmocka_unit_test(test_writer_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_actenv.c: an activity envelope opens only when the server's key
 * signed it as an envelope, intact and current; its fields are bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "actenv.h"
#include "err.h"
#include "sigtext.h"
#include "ticket.h"

#define NOW 1700000000

static EVP_PKEY *key, *other;

static int setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return key && other ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return 0;
}

static void fill(struct actenv *e, const char *kind, const char *input)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "a0123456789abcdef0123");
	snprintf(e->device, sizeof(e->device), "SN-0001");
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->name, sizeof(e->name), "pump");
	snprintf(e->input, sizeof(e->input), "%s", input);
	e->issued_at = NOW;
	e->expires_at = NOW + 3600;
}

static void test_round_trip(void **state)
{
	struct actenv e, got;
	char text[MAX_ACTENV_BYTES + 1];

	(void)state;
	fill(&e, "config", "rate = 5\nvolume = 3");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), 0);
	assert_int_equal(actenv_verify(text, strlen(text), key, NOW + 10, &got), 0);
	assert_string_equal(got.id, e.id);
	assert_string_equal(got.device, "SN-0001");
	assert_string_equal(got.kind, "config");
	assert_string_equal(got.input, "rate = 5\nvolume = 3");
	assert_int_equal(strlen(got.nonce), 32);
	/* Expired: the fields are there to say which, the answer says so. */
	assert_int_equal(actenv_verify(text, strlen(text), key, NOW + 3600, &got), TE_ERR_EXPIRED);
	assert_string_equal(got.id, e.id);
	assert_int_equal(actenv_verify(text, strlen(text), key, NOW - ACTENV_SKEW_S - 1, &got),
	                 TE_ERR_EXPIRED);
}

static void test_other_key_and_tampering(void **state)
{
	struct actenv e, got;
	char text[MAX_ACTENV_BYTES + 1];
	char *dot;

	(void)state;
	fill(&e, "diag", "");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), 0);
	assert_int_equal(actenv_verify(text, strlen(text), other, NOW, &got), TE_ERR_SIGNATURE);
	assert_string_equal(got.id, "");            /* nothing of an unopened one */
	dot = strchr(text, '.');
	assert_non_null(dot);
	text[3] = text[3] == 'A' ? 'B' : 'A';
	assert_int_not_equal(actenv_verify(text, strlen(text), key, NOW, &got), 0);
}

/* The same key signs tickets: neither kind opens as the other. */
static void test_domains_apart(void **state)
{
	static const char payload[] = "{\"v\":1,\"id\":\"a0123456789abcdef0123\",\"dev\":\"SN-0001\","
		"\"kind\":\"diag\",\"name\":\"pump\",\"input\":\"\",\"iat\":1700000000,"
		"\"exp\":1700003600,\"nonce\":\"0123456789abcdef0123456789abcdef\"}";
	char text[MAX_ACTENV_BYTES + 1];
	struct actenv got;
	struct ticket t;

	(void)state;
	/* Signed as a ticket is (no domain): not an envelope. */
	assert_int_equal(sigtext_make(key, "", payload, strlen(payload), MAX_ACTENV_BYTES, text,
	                              sizeof(text)), 0);
	assert_int_equal(actenv_verify(text, strlen(text), key, NOW, &got), TE_ERR_SIGNATURE);
	/* Signed as an envelope: opens, and is no ticket. */
	assert_int_equal(sigtext_make(key, ACTENV_DOMAIN, payload, strlen(payload),
	                              MAX_ACTENV_BYTES, text, sizeof(text)), 0);
	assert_int_equal(actenv_verify(text, strlen(text), key, NOW, &got), 0);
	assert_int_not_equal(ticket_verify(text, strlen(text), key, NOW, &t), 0);
}

static void test_fields_bounded(void **state)
{
	struct actenv e;
	char text[MAX_ACTENV_BYTES + 1];

	(void)state;
	fill(&e, "diag", "rate = 5");             /* values only with config */
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "shell", "");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "config", "ok\n\x1b[2Jspoof");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "diag", "");
	snprintf(e.name, sizeof(e.name), "../etc");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "diag", "");
	e.expires_at = e.issued_at + ACTENV_MAX_TTL_S + 1;
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "diag", "");
	snprintf(e.id, sizeof(e.id), "a0123456789ABCDEF0123");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	/* An install carries a repository target name, and only that. */
	fill(&e, "install", "injector/pump-2.1.raucb");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), 0);
	fill(&e, "install", "");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "install", "injector/../etc/passwd");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "install", "injector/.hidden");
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	fill(&e, "config", "");                    /* a config needs its values */
	assert_int_equal(actenv_sign(&e, key, text, sizeof(text)), TE_ERR_INVALID);
	assert_true(actenv_input_fits("install", "a/b.bin"));
	assert_false(actenv_input_fits("diag", "a/b.bin"));
	assert_true(actenv_input_ok("a = 1\nb = 2\n"));
	assert_false(actenv_input_ok("a = 1\r\n"));
	assert_true(actenv_id_ok("a0123456789abcdef0123"));
	assert_false(actenv_id_ok("a0123456789abcdef012"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_other_key_and_tampering),
		cmocka_unit_test(test_domains_apart),
		cmocka_unit_test(test_fields_bounded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

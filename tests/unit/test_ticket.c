/* test_ticket.c: only an intact, current ticket signed by the right key, for
 * the right leg, relay and device, is accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"
#include "ticket.h"

#define NOW 1700000000

struct keys {
	EVP_PKEY *key;
	EVP_PKEY *other;
};

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k->other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	*state = k;
	return k->key && k->other ? 0 : -1;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->key);
	EVP_PKEY_free(k->other);
	free(k);
	return 0;
}

static void sample(struct ticket *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->session, "s-42");
	strcpy(t->device, "SN-0001");
	strcpy(t->user, "alice");
	strcpy(t->relay, "relay-1");
	t->leg = TICKET_LEG_DEVICE;
	t->issued_at = NOW;
	t->expires_at = NOW + 60;
	strcpy(t->nonce, "0123456789abcdef0123456789abcdef");
	strcpy(t->actions, "forward,shell");
}

/* Sign arbitrary payload bytes, to test the parser behind a good signature. */
static void sign_raw(EVP_PKEY *key, const char *payload, char *out, size_t outsz)
{
	uint8_t sig[64];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)payload,
	                                strlen(payload)), 1);
	EVP_MD_CTX_free(ctx);
	assert_int_equal(b64url_encode((const uint8_t *)payload, strlen(payload), out, outsz), 0);
	n = strlen(out);
	out[n++] = '.';
	assert_int_equal(b64url_encode(sig, siglen, out + n, outsz - n), 0);
}

static void test_valid(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW + 10, &got), 0);
	assert_string_equal(got.session, "s-42");
	assert_string_equal(got.device, "SN-0001");
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.relay, "relay-1");
	assert_int_equal(got.leg, TICKET_LEG_DEVICE);
	assert_int_equal(got.issued_at, NOW);
	assert_int_equal(got.expires_at, NOW + 60);
	assert_string_equal(got.nonce, t.nonce);
	assert_int_equal(ticket_allows(&got, "shell"), 1);
	assert_int_equal(ticket_allows(&got, "forward"), 1);
	assert_int_equal(ticket_allows(&got, "sftp"), 0);
	assert_int_equal(ticket_allows(&got, "shel"), 0);
	assert_int_equal(ticket_allows(&got, ""), 0);
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_DEVICE, "relay-1", "SN-0001"), 0);
	/* Clock skew: a few seconds early is fine. */
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW - 5, &got), 0);
}

static void test_random_nonce_when_empty(void **state)
{
	struct keys *k = *state;
	struct ticket t, a, b;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	t.nonce[0] = '\0';
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &a), 0);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &b), 0);
	assert_int_equal(strlen(a.nonce), 32);
	assert_string_not_equal(a.nonce, b.nonce);
}

static void test_expired(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW + 60, &got), TE_ERR_EXPIRED);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW + 3600, &got),
	                 TE_ERR_EXPIRED);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW - 6, &got), TE_ERR_EXPIRED);
}

static void test_tampered_payload(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1], forged[MAX_TICKET_BYTES + 1];
	char *dot;

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	/* Flip one payload character (keeping it valid base64url). */
	text[10] = text[10] == 'A' ? 'B' : 'A';
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), TE_ERR_SIGNATURE);
	/* Swap in another ticket's payload, keeping the first signature. */
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	strcpy(t.user, "mallory");
	assert_int_equal(ticket_sign(&t, k->key, forged, sizeof(forged)), 0);
	dot = strchr(forged, '.');
	strcpy(dot, strchr(text, '.'));
	assert_int_equal(ticket_verify(forged, strlen(forged), k->key, NOW, &got),
	                 TE_ERR_SIGNATURE);
}

static void test_tampered_signature(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];
	char *sig;

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	sig = strchr(text, '.') + 1;
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), TE_ERR_SIGNATURE);
	/* A shortened signature is refused as well. */
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	text[strlen(text) - 2] = '\0'; /* 84 digits: 63 whole bytes */
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), TE_ERR_SIGNATURE);
}

static void test_other_key(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->other, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), TE_ERR_SIGNATURE);
}

static void test_binding(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	/* wrong leg */
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_CLIENT, "relay-1", NULL),
	                 TE_ERR_MISMATCH);
	/* wrong relay */
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_DEVICE, "relay-2", "SN-0001"),
	                 TE_ERR_MISMATCH);
	/* wrong device */
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_DEVICE, "relay-1", "SN-0002"),
	                 TE_ERR_MISMATCH);
	/* client leg: device not checked */
	t.leg = TICKET_LEG_CLIENT;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_CLIENT, "relay-1", NULL), 0);
	assert_int_equal(ticket_check_binding(&got, TICKET_LEG_DEVICE, "relay-1", NULL),
	                 TE_ERR_MISMATCH);
	assert_string_equal(ticket_leg_name(TICKET_LEG_CLIENT), "client");
}

static void test_oversized(void **state)
{
	struct keys *k = *state;
	struct ticket got;
	char *text = malloc(MAX_TICKET_BYTES + 2);

	assert_non_null(text);
	memset(text, 'A', MAX_TICKET_BYTES + 1);
	text[100] = '.';
	text[MAX_TICKET_BYTES + 1] = '\0';
	assert_int_equal(ticket_verify(text, MAX_TICKET_BYTES + 1, k->key, NOW, &got),
	                 TE_ERR_TOO_LONG);
	free(text);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"", ".", "abc", "abc.", ".abc", "a b.c", "abc.def.ghi", "Zm9v.Zm9v\n",
		"eyJ2IjoxfQ.AAAA", "\xff\xfe.\x01",
	};
	struct keys *k = *state;
	struct ticket got;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = ticket_verify(bad[i], strlen(bad[i]), k->key, NOW, &got);
		assert_true(rc == TE_ERR_INVALID || rc == TE_ERR_SIGNATURE);
	}
}

/* Behind a good signature, the payload must still be exactly right. */
static void test_strict_payload(void **state)
{
	static const char *const bad[] = {
		/* iat as a string */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":\"1700000000\",\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* duplicate key */
		"{\"v\":1,\"sid\":\"s\",\"sid\":\"t\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* short nonce */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* unknown leg */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"both\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* wrong version */
		"{\"v\":2,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* missing act, extra key */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"xx\":\"\",\"end\":0,\"idle\":0}",
		/* negative idle */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":-1}",
		/* missing end and idle */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\"}",
		/* over-long user */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\","
		"\"rly\":\"r\",\"leg\":\"device\",\"iat\":1700000000,\"exp\":1700000060,"
		"\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* newline in the session id */
		"{\"v\":1,\"sid\":\"s\\nOK x\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}",
		/* cn 0 written out (a first connection leaves it out) */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0,\"cn\":0}",
		/* cn past TICKET_MAX_CONN */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0,\"cn\":65536}",
		/* cn as a string */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0,\"cn\":\"2\"}",
		/* cn in place of idle */
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"cn\":2}",
		/* not an object */
		"[1,2,3]",
	};
	static const char good[] =
		"{\"v\":1,\"sid\":\"s\",\"dev\":\"d\",\"usr\":\"u\",\"rly\":\"r\",\"leg\":\"device\","
		"\"iat\":1700000000,\"exp\":1700000060,\"nonce\":\"0123456789abcdef0123456789abcdef\",\"act\":\"\",\"end\":0,\"idle\":0}";
	struct keys *k = *state;
	char text[MAX_TICKET_BYTES + 1];
	struct ticket got;
	size_t i;

	sign_raw(k->key, good, text, sizeof(text));
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sign_raw(k->key, bad[i], text, sizeof(text));
		assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), TE_ERR_INVALID);
	}
}

/* A connection number travels signed, is left out for the first
 * connection (the payload of older tickets), and is bounded. */
static void test_connection_number(void **state)
{
	struct keys *k = *state;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];
	uint8_t raw[MAX_TICKET_BYTES];
	size_t n;

	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	*strchr(text, '.') = '\0';
	assert_int_equal(b64url_decode(text, strlen(text), raw, sizeof(raw) - 1, &n), 0);
	raw[n] = '\0';
	assert_null(strstr((char *)raw, "\"cn\""));
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	assert_int_equal(got.conn, 0);
	t.conn = 7;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	assert_int_equal(got.conn, 7);
	t.conn = TICKET_MAX_CONN;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), k->key, NOW, &got), 0);
	assert_int_equal(got.conn, TICKET_MAX_CONN);
	t.conn = TICKET_MAX_CONN + 1;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), TE_ERR_INVALID);
	t.conn = -1;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), TE_ERR_INVALID);
}

static void test_sign_refuses_bad_fields(void **state)
{
	struct keys *k = *state;
	struct ticket t;
	char text[MAX_TICKET_BYTES + 1];

	sample(&t);
	t.expires_at = t.issued_at;
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), TE_ERR_INVALID);
	sample(&t);
	strcpy(t.nonce, "not hex");
	assert_int_equal(ticket_sign(&t, k->key, text, sizeof(text)), TE_ERR_INVALID);
	sample(&t);
	assert_int_equal(ticket_sign(&t, k->key, text, 20), TE_ERR_TOO_LONG);
}

static void test_key_files(void **state)
{
	char dir[] = "/tmp/tether-test-ticket-XXXXXX";
	char priv[64], pub[64];
	EVP_PKEY *sk = NULL, *pk = NULL;
	struct ticket t, got;
	char text[MAX_TICKET_BYTES + 1];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/ticket.key", dir);
	snprintf(pub, sizeof(pub), "%s/ticket.pub", dir);
	assert_int_equal(ticket_key_generate(priv, pub), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ticket_key_load_private(priv, &sk), 0);
	assert_int_equal(ticket_key_load_public(pub, &pk), 0);
	sample(&t);
	assert_int_equal(ticket_sign(&t, sk, text, sizeof(text)), 0);
	assert_int_equal(ticket_verify(text, strlen(text), pk, NOW, &got), 0);
	/* A public key file is not a private key. */
	EVP_PKEY_free(sk);
	sk = NULL;
	assert_int_equal(ticket_key_load_private(pub, &sk), TE_ERR_INVALID);
	assert_null(sk);
	EVP_PKEY_free(pk);
	unlink(priv);
	unlink(pub);
	assert_int_equal(ticket_key_load_public(pub, &pk), TE_ERR_NOT_FOUND);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_random_nonce_when_empty),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_strict_payload),
		cmocka_unit_test(test_connection_number),
		cmocka_unit_test(test_sign_refuses_bad_fields),
		cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

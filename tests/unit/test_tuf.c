/* test_tuf.c: canonical JSON is the form every TUF client signs; key ids
 * are securesystemslib's; a role's document verifies only with enough
 * distinct, listed keys over its exact "signed"; times and delegation
 * paths are read as the specification says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "cjson.h"
#include "err.h"
#include "tuf.h"

static EVP_PKEY *k1, *k2, *k3;

static int setup(void **state)
{
	(void)state;
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k3 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return k1 && k2 && k3 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	return 0;
}

static char *canon(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	char *out = NULL;
	size_t len = 0;

	assert_non_null(j);
	assert_int_equal(cjson_encode(j, 1 << 20, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	json_decref(j);
	return out;
}

static void test_canonical_form(void **state)
{
	char *c;
	json_t *j;
	size_t len;

	(void)state;
	c = canon("{ \"b\": 1, \"a\": \"x\\\"y\\\\z\", \"c\": [true, null, false, -7] }");
	assert_string_equal(c, "{\"a\":\"x\\\"y\\\\z\",\"b\":1,\"c\":[true,null,false,-7]}");
	free(c);
	/* Only '"' and '\' are escaped: a newline and UTF-8 go as they are. */
	c = canon("{\"n\": \"a\\nb\", \"u\": \"\\u00e9\"}");
	assert_string_equal(c, "{\"n\":\"a\nb\",\"u\":\"\xc3\xa9\"}");
	free(c);
	/* Keys by byte value: upper case before lower case. */
	c = canon("{\"b\": {}, \"B\": [], \"a\": 0}");
	assert_string_equal(c, "{\"B\":[],\"a\":0,\"b\":{}}");
	free(c);
	/* No real numbers; a bound on the size. */
	j = json_loads("{\"x\": 1.5}", 0, NULL);
	assert_int_equal(cjson_encode(j, 1024, &c, &len), TE_ERR_INVALID);
	json_decref(j);
	j = json_loads("{\"x\": \"0123456789\"}", 0, NULL);
	assert_int_equal(cjson_encode(j, 10, &c, &len), TE_ERR_TOO_LONG);
	assert_null(c);
	json_decref(j);
}

static void test_keyid_is_securesystemslib(void **state)
{
	/* The id python's json.dumps(sort_keys, compact) and hashlib give. */
	json_t *k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
	                      "keyval", "public",
	                      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	char id[TUF_KEYID_BYTES];
	json_t *bad;

	(void)state;
	assert_int_equal(tuf_keyid(k, id), 0);
	assert_string_equal(id, "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
	bad = json_deep_copy(k);
	json_object_set_new(bad, "keytype", json_string("rsa"));
	assert_int_equal(tuf_keyid(bad, id), TE_ERR_INVALID);
	json_decref(bad);
	json_decref(k);
}

/* keys {id: key} and keyids [ids] of the given keys. */
static void keyring(EVP_PKEY **ks, int n, json_t **keys, json_t **ids)
{
	char id[TUF_KEYID_BYTES];
	json_t *kj;

	*keys = json_object();
	*ids = json_array();
	for (int i = 0; i < n; i++) {
		assert_int_equal(tuf_key_json(ks[i], &kj, id), 0);
		json_object_set_new(*keys, id, kj);
		json_array_append_new(*ids, json_string(id));
	}
}

static json_t *doc(void)
{
	return json_pack("{s:[], s:{s:s, s:s, s:i, s:s, s:{}}}", "signatures", "signed", "_type",
	                 "targets", "spec_version", TUF_SPEC_VERSION, "version", 3, "expires",
	                 "2030-01-01T00:00:00Z", "targets");
}

static void test_threshold(void **state)
{
	EVP_PKEY *two[2] = { k1, k2 };
	json_t *keys, *ids, *md = doc();
	long valid = -1;

	(void)state;
	keyring(two, 2, &keys, &ids);
	assert_int_equal(tuf_sign(md, k1), 0);
	assert_int_equal(tuf_verify(md, keys, ids, 1, &valid), 0);
	assert_int_equal(valid, 1);
	assert_int_equal(tuf_verify(md, keys, ids, 2, &valid), TE_ERR_SIGNATURE);
	/* Signing again with the same key replaces; it never counts twice. */
	assert_int_equal(tuf_sign(md, k1), 0);
	assert_int_equal(json_array_size(json_object_get(md, "signatures")), 1);
	json_array_append(json_object_get(md, "signatures"),
	                  json_array_get(json_object_get(md, "signatures"), 0));
	assert_int_equal(tuf_verify(md, keys, ids, 2, &valid), TE_ERR_SIGNATURE);
	assert_int_equal(valid, 1);
	assert_int_equal(tuf_sign(md, k2), 0);
	assert_int_equal(tuf_verify(md, keys, ids, 2, &valid), 0);
	assert_int_equal(valid, 2);
	/* A key that is not listed counts for nothing. */
	assert_int_equal(tuf_sign(md, k3), 0);
	assert_int_equal(tuf_verify(md, keys, ids, 3, &valid), TE_ERR_SIGNATURE);
	assert_int_equal(valid, 2);
	/* Any change to "signed" breaks every signature. */
	json_object_set_new(json_object_get(md, "signed"), "version", json_integer(4));
	assert_int_equal(tuf_verify(md, keys, ids, 1, &valid), TE_ERR_SIGNATURE);
	assert_int_equal(valid, 0);
	json_decref(md);
	json_decref(keys);
	json_decref(ids);
}

static void test_key_under_another_id(void **state)
{
	EVP_PKEY *one[1] = { k1 };
	char id2[TUF_KEYID_BYTES];
	json_t *keys, *ids, *kj, *md = doc();

	(void)state;
	keyring(one, 1, &keys, &ids);
	/* k1's key filed a second time under k2's id: k1's one signature must
	 * not pass for two keys. */
	assert_int_equal(tuf_key_json(k2, &kj, id2), 0);
	json_decref(kj);
	json_object_set(keys, id2, json_object_get(keys, json_string_value(json_array_get(ids, 0))));
	json_array_append_new(ids, json_string(id2));
	assert_int_equal(tuf_sign(md, k1), 0);
	json_array_append_new(json_object_get(md, "signatures"),
	                      json_pack("{s:s, s:O}", "keyid", id2, "sig",
	                                json_object_get(json_array_get(json_object_get(md,
	                                "signatures"), 0), "sig")));
	assert_int_equal(tuf_verify(md, keys, ids, 2, NULL), TE_ERR_SIGNATURE);
	assert_int_equal(tuf_verify(md, keys, ids, 1, NULL), 0);
	json_decref(md);
	json_decref(keys);
	json_decref(ids);
}

static void test_parse_and_fields(void **state)
{
	const char *ok = "{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":"
	                 "\"1.0.31\",\"version\":7,\"expires\":\"2030-02-03T04:05:06Z\",\"meta\":{}}}";
	int64_t v = 0, e = 0;
	json_t *md;

	(void)state;
	assert_int_equal(tuf_parse(ok, strlen(ok), &md), 0);
	assert_int_equal(tuf_check_signed(md, "timestamp", &v, &e), 0);
	assert_int_equal(v, 7);
	assert_int_equal(e, 1896321906);
	assert_int_equal(tuf_check_signed(md, "snapshot", &v, &e), TE_ERR_INVALID);
	json_decref(md);
	/* Duplicate keys, a bad signature entry, another major version. */
	assert_int_equal(tuf_parse("{\"signed\":{},\"signed\":{},\"signatures\":[]}", 41, &md),
	                 TE_ERR_INVALID);
	assert_int_equal(tuf_parse("{\"signed\":{},\"signatures\":[{\"keyid\":\"x\",\"sig\":\"\"}]}",
	                           50, &md), TE_ERR_INVALID);
	md = json_pack("{s:[], s:{s:s, s:s, s:i, s:s}}", "signatures", "signed", "_type", "root",
	               "spec_version", "2.0.0", "version", 1, "expires", "2030-01-01T00:00:00Z");
	assert_int_equal(tuf_check_signed(md, "root", &v, &e), TE_ERR_INVALID);
	json_decref(md);
}

static void test_times(void **state)
{
	char out[TUF_TIME_BYTES];
	int64_t t = 0;

	(void)state;
	assert_int_equal(tuf_time_parse("2026-12-07T10:00:00Z", &t), 0);
	tuf_time_format(t, out);
	assert_string_equal(out, "2026-12-07T10:00:00Z");
	assert_int_equal(tuf_time_parse("2026-06-31T10:00:00Z", &t), TE_ERR_INVALID);
	assert_int_equal(tuf_time_parse("2026-12-07T10:00:00", &t), TE_ERR_INVALID);
	assert_int_equal(tuf_time_parse("2026-12-07 10:00:00Z", &t), TE_ERR_INVALID);
	assert_int_equal(tuf_time_parse("2026-12-07T10:00:00.5Z", &t), TE_ERR_INVALID);
}

static void test_paths(void **state)
{
	(void)state;
	assert_true(tuf_path_match("injector/*", "injector/pump-2.1.raucb"));
	assert_false(tuf_path_match("injector/*", "injector/a/b.raucb"));
	assert_false(tuf_path_match("injector/*", "scanner/pump-2.1.raucb"));
	assert_false(tuf_path_match("injector/*", "injector"));
	assert_true(tuf_path_match("*/fw-?.bin", "x/fw-1.bin"));
	assert_false(tuf_path_match("*", "a/b"));
	assert_true(tuf_path_match("a/b", "a/b"));
}

static void test_names(void **state)
{
	(void)state;
	assert_true(tuf_target_name_ok("injector/pump-2.1.raucb"));
	assert_true(tuf_target_name_ok("a/b/c_d.e"));
	assert_false(tuf_target_name_ok("injector/../scanner/x"));
	assert_false(tuf_target_name_ok("../x"));
	assert_false(tuf_target_name_ok("/abs"));
	assert_false(tuf_target_name_ok("a//b"));
	assert_false(tuf_target_name_ok("a/"));
	assert_false(tuf_target_name_ok("a/.hidden"));
	assert_false(tuf_target_name_ok("a/-opt"));
	assert_false(tuf_target_name_ok("a b"));
	assert_false(tuf_target_name_ok(""));
	assert_true(tuf_role_name_ok("injector"));
	assert_false(tuf_role_name_ok("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_form),
		cmocka_unit_test(test_keyid_is_securesystemslib),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_key_under_another_id),
		cmocka_unit_test(test_parse_and_fields),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

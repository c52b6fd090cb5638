/* test_tufonline.c: the signer builds snapshot and timestamp itself and
 * signs only within bounds: versions from 1, an expiry ahead and not too
 * far, role names that are names, each role once, targets always there;
 * what it signs verifies with the online key and names what was asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "err.h"
#include "tuf.h"
#include "tufonline.h"

#define NOW 1800000000

static EVP_PKEY *key;

static int setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* doc verifies with key alone, threshold 1, and is of type. */
static json_t *check(const char *doc, size_t len, const char *type, int64_t *version)
{
	char id[TUF_KEYID_BYTES];
	json_t *md, *kj, *keys, *ids;
	int64_t exp;

	assert_int_equal(tuf_parse(doc, len, &md), 0);
	assert_int_equal(tuf_check_signed(md, type, version, &exp), 0);
	assert_int_equal(tuf_key_json(key, &kj, id), 0);
	keys = json_object();
	json_object_set_new(keys, id, kj);
	ids = json_pack("[s]", id);
	assert_int_equal(tuf_verify(md, keys, ids, 1, NULL), 0);
	json_decref(keys);
	json_decref(ids);
	return md;
}

static void test_snapshot(void **state)
{
	struct tufonline_role r[3] = { { "targets", 4 }, { "injector", 2 }, { "scanner", 1 } };
	char *doc = NULL;
	size_t len = 0;
	int64_t v = 0;
	json_t *md, *meta;

	(void)state;
	assert_int_equal(tufonline_snapshot(key, NOW, 9, NOW + 86400, r, 3, &doc, &len), 0);
	md = check(doc, len, "snapshot", &v);
	assert_int_equal(v, 9);
	meta = json_object_get(json_object_get(md, "signed"), "meta");
	assert_int_equal(json_object_size(meta), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "injector.json"),
	                                                    "version")), 2);
	json_decref(md);
	free(doc);
}

static void test_snapshot_bounds(void **state)
{
	struct tufonline_role ok[1] = { { "targets", 1 } };
	struct tufonline_role twice[2] = { { "targets", 1 }, { "targets", 2 } };
	struct tufonline_role notargets[1] = { { "injector", 1 } };
	struct tufonline_role root[2] = { { "targets", 1 }, { "root", 3 } };
	struct tufonline_role badname[2] = { { "targets", 1 }, { "../x", 1 } };
	char *doc = NULL;
	size_t len;

	(void)state;
	assert_int_equal(tufonline_snapshot(key, NOW, 0, NOW + 60, ok, 1, &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW, ok, 1, &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW + TUFONLINE_SNAPSHOT_MAX_S + 1, ok, 1,
	                                    &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW + 60, twice, 2, &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW + 60, notargets, 1, &doc, &len),
	                 TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW + 60, root, 2, &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_snapshot(key, NOW, 1, NOW + 60, badname, 2, &doc, &len),
	                 TE_ERR_INVALID);
	assert_null(doc);
}

static void test_timestamp(void **state)
{
	const char *sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	char *doc = NULL;
	size_t len = 0;
	int64_t v = 0;
	json_t *md, *snap;

	(void)state;
	assert_int_equal(tufonline_timestamp(key, NOW, 12, NOW + 3600, 9, 426, sha, &doc, &len), 0);
	md = check(doc, len, "timestamp", &v);
	assert_int_equal(v, 12);
	snap = json_object_get(json_object_get(json_object_get(md, "signed"), "meta"), "snapshot.json");
	assert_int_equal(json_integer_value(json_object_get(snap, "version")), 9);
	assert_int_equal(json_integer_value(json_object_get(snap, "length")), 426);
	assert_string_equal(json_string_value(json_object_get(json_object_get(snap, "hashes"), "sha256")),
	                    sha);
	json_decref(md);
	free(doc);
	doc = NULL;
	assert_int_equal(tufonline_timestamp(key, NOW, 12, NOW + TUFONLINE_TIMESTAMP_MAX_S + 1, 9, 426,
	                                     sha, &doc, &len), TE_ERR_INVALID);
	assert_int_equal(tufonline_timestamp(key, NOW, 12, NOW + 60, 9, 426, "ABC", &doc, &len),
	                 TE_ERR_INVALID);
	assert_int_equal(tufonline_timestamp(key, NOW, 12, NOW + 60, 0, 426, sha, &doc, &len),
	                 TE_ERR_INVALID);
	assert_null(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_bounds),
		cmocka_unit_test(test_timestamp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

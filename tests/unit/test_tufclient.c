/* test_tufclient.c: the TUF client workflow against a repository in
 * memory: a release found through its family's delegation, and each attack
 * of the TUF list refused with its reason: freeze, rollback, too few
 * signatures, mix-and-match, endless data, a family signing outside its
 * paths, a root rotated without the old keys. */
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
#include "tufclient.h"

#define NOW  1800000000
#define DAY  86400
#define FW_SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

enum { K_ROOT, K_ROOT2, K_TARGETS, K_SNAP, K_TS, K_INJ, K_ROGUE, NKEYS };
static EVP_PKEY *k[NKEYS];
static json_t *repo;       /* file name -> document text */

static int fetch(void *arg, const char *name, size_t max, char **out, size_t *len)
{
	const char *t = json_string_value(json_object_get(repo, name));

	(void)arg;
	if (t == NULL)
		return TE_ERR_NOT_FOUND;
	*len = strlen(t);
	if (*len > max)
		return TE_ERR_TOO_LONG;
	*out = strdup(t);
	return *out != NULL ? 0 : TE_ERR_NOMEM;
}

static json_t *key_obj(int i, char id[TUF_KEYID_BYTES])
{
	json_t *kj = NULL;

	assert_int_equal(tuf_key_json(k[i], &kj, id), 0);
	return kj;
}

static json_t *role_md(const char *type, int version, int64_t expires)
{
	char t[TUF_TIME_BYTES];

	tuf_time_format(expires, t);
	return json_pack("{s:[], s:{s:s, s:s, s:i, s:s}}", "signatures", "signed", "_type", type,
	                 "spec_version", TUF_SPEC_VERSION, "version", version, "expires", t);
}

/* Sign md with keys (a -1 ended list) and store it as name. */
static void put(const char *name, json_t *md, const int *keys)
{
	char *text;

	for (; *keys >= 0; keys++)
		assert_int_equal(tuf_sign(md, k[*keys]), 0);
	text = json_dumps(md, JSON_COMPACT);
	json_object_set_new(repo, name, json_string(text));
	free(text);
	json_decref(md);
}

static json_t *root_md_ts(int version, int rootkey, int tskey)
{
	static const char *const roles[] = { "root", "targets", "snapshot", "timestamp" };
	const int idx[] = { rootkey, K_TARGETS, K_SNAP, tskey };
	char id[TUF_KEYID_BYTES];
	json_t *md = role_md("root", version, NOW + 365 * DAY), *s = json_object_get(md, "signed");
	json_t *keys = json_object(), *rl = json_object();

	for (int i = 0; i < 4; i++) {
		json_t *kj = key_obj(idx[i], id);

		json_object_set_new(keys, id, kj);
		json_object_set_new(rl, roles[i], json_pack("{s:[s], s:i}", "keyids", id, "threshold", 1));
	}
	json_object_set_new(s, "keys", keys);
	json_object_set_new(s, "roles", rl);
	json_object_set_new(s, "consistent_snapshot", json_true());
	return md;
}

static json_t *root_md(int version, int rootkey)
{
	return root_md_ts(version, rootkey, K_TS);
}

/* A whole repository, version 1 of everything; ts_exp and the injector
 * role's paths can be varied. */
static void build(int64_t ts_exp, const char *inj_target)
{
	char id[TUF_KEYID_BYTES];
	json_t *md, *s;
	int rk[] = { K_ROOT, -1 }, tk[] = { K_TARGETS, -1 }, ik[] = { K_INJ, -1 };
	int sk[] = { K_SNAP, -1 }, tsk[] = { K_TS, -1 };

	json_object_clear(repo);
	md = root_md(1, K_ROOT);
	put("1.root.json", md, rk);
	md = role_md("targets", 1, NOW + 365 * DAY);
	s = json_object_get(md, "signed");
	json_object_set_new(s, "targets", json_object());
	{
		json_t *kj = key_obj(K_INJ, id), *dk = json_object();

		json_object_set_new(dk, id, kj);
		json_object_set_new(s, "delegations", json_pack("{s:o, s:[{s:s, s:[s], s:i, s:[s], s:b}]}",
		                    "keys", dk, "roles", "name", "injector", "keyids", id, "threshold", 1,
		                    "paths", "injector/*", "terminating", 1));
	}
	put("1.targets.json", md, tk);
	md = role_md("targets", 1, NOW + 365 * DAY);
	json_object_set_new(json_object_get(md, "signed"), "targets",
	                    json_pack("{s:{s:i, s:{s:s}}}", inj_target, "length", 4, "hashes",
	                              "sha256", FW_SHA));
	put("1.injector.json", md, ik);
	md = role_md("snapshot", 1, NOW + 7 * DAY);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}, s:{s:i}}", "targets.json", "version", 1,
	                              "injector.json", "version", 1));
	put("1.snapshot.json", md, sk);
	md = role_md("timestamp", 1, ts_exp);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	put("timestamp.json", md, tsk);
}

static int client(struct tufclient *c)
{
	const char *root = json_string_value(json_object_get(repo, "1.root.json"));

	return tufclient_init(c, root, strlen(root), NOW, fetch, NULL);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NKEYS; i++)
		if ((k[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
			return -1;
	repo = json_object();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(k[i]);
	json_decref(repo);
	return 0;
}

static void test_release_found(void **state)
{
	struct tufclient c;
	json_t *info = NULL;

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_int_equal(tufclient_target(&c, "injector/fw.bin", &info), 0);
	assert_int_equal(json_integer_value(json_object_get(info, "length")), 4);
	json_decref(info);
	/* Not where anyone may sign it. */
	assert_int_not_equal(tufclient_target(&c, "scanner/x.bin", &info), 0);
	assert_int_equal(c.refusal, TUFCLIENT_NOT_FOUND);
	tufclient_free(&c);
}

static void test_freeze(void **state)
{
	struct tufclient c;

	(void)state;
	build(NOW - 60, "injector/fw.bin");
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), TE_ERR_EXPIRED);
	assert_int_equal(c.refusal, TUFCLIENT_FREEZE);
	assert_non_null(strstr(c.why, "timestamp"));
	tufclient_free(&c);
}

static void test_rollback(void **state)
{
	struct tufclient c;
	json_t *md = role_md("timestamp", 5, NOW + DAY);
	int tsk[] = { K_TS, -1 };

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	assert_int_equal(client(&c), 0);
	/* The client trusted timestamp version 5 before; the repository
	 * offers version 1 now. */
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	for (int *p = tsk; *p >= 0; p++)
		tuf_sign(md, k[*p]);
	c.timestamp = md;
	assert_int_equal(tufclient_refresh(&c), TE_ERR_REPLAY);
	assert_int_equal(c.refusal, TUFCLIENT_ROLLBACK);
	tufclient_free(&c);
}

static void test_too_few_signatures(void **state)
{
	struct tufclient c;
	json_t *md = role_md("targets", 1, NOW + 365 * DAY);
	int rogue[] = { K_ROGUE, -1 };

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	json_object_set_new(json_object_get(md, "signed"), "targets", json_object());
	put("1.targets.json", md, rogue);      /* signed by a key the root does not name */
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), TE_ERR_SIGNATURE);
	assert_int_equal(c.refusal, TUFCLIENT_SIGNATURES);
	tufclient_free(&c);
}

static void test_mix_and_match(void **state)
{
	struct tufclient c;
	json_t *md = role_md("snapshot", 1, NOW + 7 * DAY), *info = NULL;
	int sk[] = { K_SNAP, -1 };

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	/* A snapshot that leaves the family's role out. */
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "targets.json", "version", 1));
	put("1.snapshot.json", md, sk);
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_int_not_equal(tufclient_target(&c, "injector/fw.bin", &info), 0);
	assert_int_equal(c.refusal, TUFCLIENT_MIX_AND_MATCH);
	tufclient_free(&c);
}

static void test_endless_data(void **state)
{
	struct tufclient c;
	char *big = malloc(TUFCLIENT_TIMESTAMP_MAX_BYTES + 2);

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	memset(big, ' ', TUFCLIENT_TIMESTAMP_MAX_BYTES + 1);
	big[TUFCLIENT_TIMESTAMP_MAX_BYTES + 1] = '\0';
	json_object_set_new(repo, "timestamp.json", json_string(big));
	free(big);
	assert_int_equal(client(&c), 0);
	assert_int_not_equal(tufclient_refresh(&c), 0);
	assert_int_equal(c.refusal, TUFCLIENT_ENDLESS_DATA);
	tufclient_free(&c);
}

static void test_family_outside_its_paths(void **state)
{
	struct tufclient c;
	json_t *info = NULL;

	(void)state;
	/* The injector family's key signs a scanner release: no client takes
	 * it, as only the injector paths lead to that role. */
	build(NOW + DAY, "scanner/ct-9.bin");
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_int_not_equal(tufclient_target(&c, "scanner/ct-9.bin", &info), 0);
	assert_int_equal(c.refusal, TUFCLIENT_NOT_FOUND);
	assert_null(info);
	tufclient_free(&c);
}

static void test_root_rotation(void **state)
{
	struct tufclient c;
	int both[] = { K_ROOT2, K_ROOT, -1 }, only_new[] = { K_ROOT2, -1 };

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	put("2.root.json", root_md(2, K_ROOT2), only_new);
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), TE_ERR_SIGNATURE);
	assert_int_equal(c.refusal, TUFCLIENT_SIGNATURES);
	tufclient_free(&c);
	put("2.root.json", root_md(2, K_ROOT2), both);
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c.root, "signed"),
	                                                    "version")), 2);
	tufclient_free(&c);
}

static void test_rollback_across_a_root_update(void **state)
{
	struct tufclient c;
	json_t *md = role_md("timestamp", 5, NOW + DAY);
	int both[] = { K_ROOT2, K_ROOT, -1 };

	(void)state;
	/* A new root that keeps the timestamp and snapshot keys must not wipe
	 * what the client trusted: the old timestamp stays a rollback. */
	build(NOW + DAY, "injector/fw.bin");
	put("2.root.json", root_md(2, K_ROOT2), both);
	assert_int_equal(client(&c), 0);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	tuf_sign(md, k[K_TS]);
	c.timestamp = md;
	assert_int_equal(tufclient_refresh(&c), TE_ERR_REPLAY);
	assert_int_equal(c.refusal, TUFCLIENT_ROLLBACK);
	tufclient_free(&c);
}

/* Fast-forward: a stolen timestamp key signed version 1000, which the
 * client took; the real timestamps are then rollbacks, until a new root
 * rotates the timestamp key, which makes the client forget the trusted
 * timestamp (spec 5.3.11). The old key signs nothing after that. */
static void test_fast_forward_recovery(void **state)
{
	struct tufclient c;
	json_t *md;
	int both[] = { K_ROOT2, K_ROOT, -1 }, rogue[] = { K_ROGUE, -1 };

	(void)state;
	build(NOW + DAY, "injector/fw.bin");
	assert_int_equal(client(&c), 0);
	md = role_md("timestamp", 1000, NOW + DAY);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	tuf_sign(md, k[K_TS]);
	c.timestamp = md;                      /* what the client took before */
	assert_int_equal(tufclient_refresh(&c), TE_ERR_REPLAY);
	assert_int_equal(c.refusal, TUFCLIENT_ROLLBACK);
	tufclient_free(&c);
	/* root 2 gives the timestamp role another key; its timestamp is 2 */
	put("2.root.json", root_md_ts(2, K_ROOT2, K_ROGUE), both);
	md = role_md("timestamp", 2, NOW + DAY);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	put("timestamp.json", md, rogue);
	assert_int_equal(client(&c), 0);
	md = role_md("timestamp", 1000, NOW + DAY);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	tuf_sign(md, k[K_TS]);
	c.timestamp = md;
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c.timestamp, "signed"),
	                                                    "version")), 2);
	tufclient_free(&c);
	/* the stolen key's timestamps are refused now */
	md = role_md("timestamp", 3000, NOW + DAY);
	json_object_set_new(json_object_get(md, "signed"), "meta",
	                    json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	{
		int old[] = { K_TS, -1 };

		put("timestamp.json", md, old);
	}
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), TE_ERR_SIGNATURE);
	assert_int_equal(c.refusal, TUFCLIENT_SIGNATURES);
	tufclient_free(&c);
}

/* Offline: an expired timestamp is taken only when allowed, and said. */
static void test_allow_expired_online(void **state)
{
	struct tufclient c;

	(void)state;
	build(NOW - 60, "injector/fw.bin");
	assert_int_equal(client(&c), 0);
	assert_int_equal(tufclient_refresh(&c), TE_ERR_EXPIRED);
	assert_int_equal(c.refusal, TUFCLIENT_FREEZE);
	tufclient_free(&c);
	assert_int_equal(client(&c), 0);
	c.allow_expired_online = 1;
	assert_int_equal(tufclient_refresh(&c), 0);
	assert_true(c.expired_online);
	tufclient_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_found),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_too_few_signatures),
		cmocka_unit_test(test_mix_and_match),
		cmocka_unit_test(test_endless_data),
		cmocka_unit_test(test_family_outside_its_paths),
		cmocka_unit_test(test_root_rotation),
		cmocka_unit_test(test_rollback_across_a_root_update),
		cmocka_unit_test(test_fast_forward_recovery),
		cmocka_unit_test(test_allow_expired_online),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

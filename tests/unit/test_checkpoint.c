/* test_checkpoint.c: signed audit checkpoints: only the key's signature
 * over the exact fields verifies; the wire form is strict; a peer keeps the
 * highest and refuses a lower or rewritten one; the server signs when due;
 * audit verify's judgement names truncation and edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "auditcp.h"
#include "checkpoint.h"
#include "err.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fx {
	EVP_PKEY *key, *other;
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_checkpoint.XXXXXX");
	if (f->key == NULL || f->other == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	snprintf(p, sizeof(p), "%s/cp", f->dir);
	unlink(p);
	rmdir(f->dir);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f);
	return 0;
}

static void make(struct checkpoint *cp, int64_t seq, const char *hash, EVP_PKEY *key)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->server, sizeof(cp->server), "tether.example");
	cp->seq = seq;
	snprintf(cp->hash, sizeof(cp->hash), "%s", hash);
	cp->time = 1700000000 + seq;
	assert_int_equal(checkpoint_sign(cp, key), 0);
}

static void test_sign_verify(void **state)
{
	struct fx *f = *state;
	struct checkpoint cp, bad;

	make(&cp, 42, HASH_A, f->key);
	assert_int_equal(checkpoint_verify(&cp, f->key), 0);
	assert_int_equal(checkpoint_verify(&cp, f->other), TE_ERR_SIGNATURE);
	bad = cp;
	bad.seq = 43;
	assert_int_equal(checkpoint_verify(&bad, f->key), TE_ERR_SIGNATURE);
	bad = cp;
	bad.hash[0] = 'b';
	assert_int_equal(checkpoint_verify(&bad, f->key), TE_ERR_SIGNATURE);
	bad = cp;
	bad.time++;
	assert_int_equal(checkpoint_verify(&bad, f->key), TE_ERR_SIGNATURE);
	bad = cp;
	bad.server[0] = 'x';
	assert_int_equal(checkpoint_verify(&bad, f->key), TE_ERR_SIGNATURE);
	/* Nothing with a line break or a bad hash is ever signed. */
	bad = cp;
	snprintf(bad.server, sizeof(bad.server), "a\nb");
	assert_int_equal(checkpoint_sign(&bad, f->key), TE_ERR_INVALID);
	bad = cp;
	bad.hash[5] = 'G';
	assert_int_equal(checkpoint_sign(&bad, f->key), TE_ERR_INVALID);
}

static void test_wire_form(void **state)
{
	struct fx *f = *state;
	struct checkpoint cp, back;
	json_t *o;
	char *text;

	make(&cp, 7, HASH_A, f->key);
	o = checkpoint_to_json(&cp);
	text = json_dumps(o, JSON_COMPACT);
	assert_int_equal(checkpoint_parse(text, strlen(text), &back), 0);
	assert_memory_equal(&cp, &back, sizeof(cp));
	json_object_set_new(o, "extra", json_true());
	assert_int_equal(checkpoint_from_json(o, &back), TE_ERR_INVALID);
	json_object_del(o, "extra");
	json_object_set_new(o, "seq", json_integer(-1));
	assert_int_equal(checkpoint_from_json(o, &back), TE_ERR_INVALID);
	json_object_set_new(o, "seq", json_string("7"));
	assert_int_equal(checkpoint_from_json(o, &back), TE_ERR_INVALID);
	json_object_set_new(o, "seq", json_integer(7));
	json_object_set_new(o, "sig", json_string("00"));
	assert_int_equal(checkpoint_from_json(o, &back), TE_ERR_INVALID);
	assert_int_equal(checkpoint_parse("{", 1, &back), TE_ERR_INVALID);
	json_decref(o);
	free(text);
}

static void test_compare_and_keep(void **state)
{
	struct fx *f = *state;
	struct checkpoint c5, c9, c9b, c3, held, forged;
	char path[128];

	snprintf(path, sizeof(path), "%s/cp", f->dir);
	make(&c5, 5, HASH_A, f->key);
	make(&c9, 9, HASH_A, f->key);
	make(&c9b, 9, HASH_B, f->key);
	make(&c3, 3, HASH_A, f->key);
	assert_int_equal(checkpoint_compare(NULL, &c5), CHECKPOINT_NEWER);
	assert_int_equal(checkpoint_compare(&c5, &c9), CHECKPOINT_NEWER);
	assert_int_equal(checkpoint_compare(&c9, &c9), CHECKPOINT_SAME);
	assert_int_equal(checkpoint_compare(&c9, &c9b), CHECKPOINT_FORK);
	assert_int_equal(checkpoint_compare(&c9, &c5), CHECKPOINT_OLDER);

	assert_int_equal(checkpoint_keep(f->key, path, -1, &c5, &held), CHECKPOINT_NEWER);
	assert_int_equal(held.seq, 0);
	assert_int_equal(checkpoint_keep(f->key, path, -1, &c9, &held), CHECKPOINT_NEWER);
	assert_int_equal(held.seq, 5);
	assert_int_equal(checkpoint_keep(f->key, path, -1, &c3, &held), CHECKPOINT_OLDER);
	assert_int_equal(checkpoint_keep(f->key, path, -1, &c9b, &held), CHECKPOINT_FORK);
	make(&forged, 20, HASH_A, f->other);
	assert_int_equal(checkpoint_keep(f->key, path, -1, &forged, &held), TE_ERR_SIGNATURE);
	/* The file still holds seq 9, as first shown. */
	assert_int_equal(checkpoint_file_load(path, &held), 0);
	assert_memory_equal(&held, &c9, sizeof(held));
	{
		struct stat sb;
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	/* The same through a descriptor (the relay's, opened before its drop):
	 * an empty file holds nothing; a shorter save leaves no tail behind. */
	{
		int fd;

		unlink(path);
		fd = open(path, O_RDWR | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(checkpoint_fd_load(fd, &held), TE_ERR_NOT_FOUND);
		snprintf(c9.server, sizeof(c9.server), "a-much-longer-server-name.example");
		assert_int_equal(checkpoint_sign(&c9, f->key), 0);
		assert_int_equal(checkpoint_keep(f->key, NULL, fd, &c9, &held), CHECKPOINT_NEWER);
		assert_int_equal(checkpoint_keep(f->key, NULL, fd, &c3, &held), CHECKPOINT_OLDER);
		make(&c5, 12, HASH_B, f->key);
		assert_int_equal(checkpoint_keep(f->key, NULL, fd, &c5, &held), CHECKPOINT_NEWER);
		assert_int_equal(checkpoint_fd_load(fd, &held), 0);
		assert_memory_equal(&held, &c5, sizeof(held));
		close(fd);
	}
}

static void test_due(void **state)
{
	struct checkpoint last;

	memset(&last, 0, sizeof(last));
	assert_false(auditcp_due(&last, 0, 1000, 1));           /* empty chain */
	assert_true(auditcp_due(&last, 1, 1000, 0));            /* none yet */
	last.seq = 10;
	last.time = 1000;
	assert_false(auditcp_due(&last, 10, 5000, 1));          /* head did not move */
	assert_true(auditcp_due(&last, 11, 1001, 1));           /* start, shutdown */
	assert_false(auditcp_due(&last, 11, 1000 + AUDITCP_INTERVAL_S - 1, 0));
	assert_true(auditcp_due(&last, 11, 1000 + AUDITCP_INTERVAL_S, 0));
	assert_false(auditcp_due(&last, 10 + AUDITCP_EVERY_RECORDS - 1, 1001, 0));
	assert_true(auditcp_due(&last, 10 + AUDITCP_EVERY_RECORDS, 1001, 0));
}

static void test_judge(void **state)
{
	struct fx *f = *state;
	struct checkpoint cp, forged;

	make(&cp, 8, HASH_A, f->key);
	assert_int_equal(auditcp_judge(&cp, f->key, 8, HASH_A), AUDITCP_OK);
	assert_int_equal(auditcp_judge(&cp, f->key, 20, HASH_A), AUDITCP_OK);
	assert_int_equal(auditcp_judge(&cp, f->key, 5, ""), AUDITCP_BEYOND_HEAD);
	assert_int_equal(auditcp_judge(&cp, f->key, 20, ""), AUDITCP_BEYOND_HEAD);
	assert_int_equal(auditcp_judge(&cp, f->key, 20, HASH_B), AUDITCP_HASH_DIFFERS);
	make(&forged, 8, HASH_B, f->other);
	assert_int_equal(auditcp_judge(&forged, f->key, 20, HASH_B), AUDITCP_BAD_SIGNATURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare_and_keep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_judge, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

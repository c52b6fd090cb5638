/* test_collect.c: data-file collection pieces: the reader's frames
 * (collectmsg.c), collect.NAME and upload_rate in the agent's config
 * (agentconf.c), and the server's upload request (filechunk.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agentconf.h"
#include "collectmsg.h"
#include "codec.h"
#include "err.h"
#include "filechunk.h"

static uint8_t buf[COLLECTMSG_HEAD + COLLECTMSG_DATA_MAX + COLLECTMSG_PATH_MAX];

static void test_frames_round_trip(void **state)
{
	struct collectmsg m;
	size_t used, off = 0;
	int n;

	(void)state;
	n = collectmsg_encode(COLLECTMSG_FILE, 1765000000, "/var/log/a.log", NULL, NULL, 0, buf,
	                      sizeof(buf));
	assert_true(n > 0);
	off += (size_t)n;
	n = collectmsg_encode(COLLECTMSG_DATA, 0, NULL, NULL, "hello", 5, buf + off,
	                      sizeof(buf) - off);
	off += (size_t)n;
	n = collectmsg_encode(COLLECTMSG_REFUSED, 0, "/data/p.dcm", "patient data", NULL, 0,
	                      buf + off, sizeof(buf) - off);
	off += (size_t)n;
	/* Cut anywhere: "more bytes", never a wrong frame. */
	for (size_t cut = 0; cut < COLLECTMSG_HEAD + 8; cut++)
		assert_int_equal(collectmsg_parse(buf, cut, &m, &used), TE_ERR_TRUNCATED);
	assert_int_equal(collectmsg_parse(buf, off, &m, &used), 0);
	assert_int_equal(m.type, COLLECTMSG_FILE);
	assert_int_equal(m.mtime, 1765000000);
	assert_string_equal(m.path, "/var/log/a.log");
	off = used;
	assert_int_equal(collectmsg_parse(buf + off, sizeof(buf) - off, &m, &used), 0);
	assert_int_equal(m.type, COLLECTMSG_DATA);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "hello", 5);
	off += used;
	assert_int_equal(collectmsg_parse(buf + off, sizeof(buf) - off, &m, &used), 0);
	assert_int_equal(m.type, COLLECTMSG_REFUSED);
	assert_string_equal(m.path, "/data/p.dcm");
	assert_string_equal(m.why, "patient data");
}

static void test_frames_refused(void **state)
{
	static const uint8_t bad[][16] = {
		{ 'Q', 0, 0, 0, 0 },                          /* unknown type */
		{ 'Z', 0, 0, 0, 1, 'x' },                     /* end with a payload */
		{ 'D', 0, 0, 0, 0 },                          /* empty data */
		{ 'D', 0, 2, 0, 0 },                          /* 128 KiB of data */
		{ 'F', 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 'a' },   /* relative path */
		{ 'X', 0, 0, 0, 1, 0x1b },                    /* a control in the reason */
	};
	struct collectmsg m;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (collectmsg_parse(bad[i], sizeof(bad[i]), &m, &used) == 0)
			fail_msg("frame %zu accepted", i);
	assert_true(collectmsg_encode(COLLECTMSG_DATA, 0, NULL, NULL, buf, COLLECTMSG_DATA_MAX + 1,
	                              buf, sizeof(buf)) < 0);
}

static void test_conf_collect(void **state)
{
	static const char good[] =
		"server = https://s.example:8443\nserial = SN1\nstate_dir = /tmp/x\n"
		"collect.logs = /var/log/device/*.log max_file=2M max_total=8M every=6h\n"
		"collect.errors = /var/lib/e/*.json\n"
		"upload_rate = 256K\n";
	static const char *const bad[] = {
		"collect.logs = var/log/*.log\n",
		"collect.logs = /var/log/*.log every=10s\n",
		"collect.logs = /var/log/*.log max_file=lots\n",
		"collect.logs = /var/log/*.log colour=red\n",
		"collect.a/b = /var/log/*.log\n",
		"upload_rate = 10\n",
	};
	struct agent_conf *c = NULL;
	char err[256], text[512];

	(void)state;
	assert_int_equal(agentconf_parse(good, strlen(good), "t.conf", "/tmp", &c, err,
	                                 sizeof(err)), 0);
	assert_int_equal(c->ncollects, 2);
	assert_string_equal(agentconf_collect(c, "logs")->pattern, "/var/log/device/*.log");
	assert_int_equal(agentconf_collect(c, "logs")->max_file, 2 * 1024 * 1024);
	assert_int_equal(agentconf_collect(c, "logs")->max_total, 8 * 1024 * 1024);
	assert_int_equal(agentconf_collect(c, "logs")->every_s, 6 * 3600);
	assert_int_equal(agentconf_collect(c, "errors")->every_s, 0);
	assert_int_equal(agentconf_collect(c, "errors")->max_file, AGENT_COLLECT_MAX_FILE);
	assert_int_equal(c->upload_rate, 256 * 1024);
	assert_null(agentconf_collect(c, "nope"));
	agentconf_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "server = https://s.example:8443\nserial = SN1\n"
		         "state_dir = /tmp/x\n%s", bad[i]);
		c = NULL;
		if (agentconf_parse(text, strlen(text), "t.conf", "/tmp", &c, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i]);
		agentconf_free(c);
	}
}

static void test_chunk(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"path\":\"/a\",\"collected_at\":1,\"refused\":\"x\"}", "collection" },
		{ "{\"collection\":\"l\",\"path\":\"a\",\"collected_at\":1,\"refused\":\"x\"}", "path" },
		{ "{\"collection\":\"l\",\"path\":\"/a\\u001b[2J\",\"collected_at\":1,\"refused\":\"x\"}",
		  "path" },
		{ "{\"collection\":\"l\",\"path\":\"/a\",\"collected_at\":-1,\"refused\":\"x\"}",
		  "collected_at" },
		{ "{\"collection\":\"l\",\"path\":\"/a\",\"collected_at\":1,\"size\":5,\"sha256\":\"XY\","
		  "\"mtime\":1,\"offset\":0,\"data\":\"\"}", "sha256" },
		{ "{\"collection\":\"l\",\"path\":\"/a\",\"collected_at\":1,\"size\":5,\"sha256\":\""
		  "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"mtime\":1,"
		  "\"offset\":6,\"data\":\"\"}", "offset" },
	};
	struct filechunk c;
	const char *field;
	uint8_t out[FILECHUNK_BYTES];
	size_t n;
	json_t *j;

	(void)state;
	j = json_loads("{\"collection\":\"logs\",\"path\":\"/var/log/a.log\",\"collected_at\":7,"
	               "\"size\":5,\"sha256\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043"
	               "362938b9824\",\"mtime\":3,\"offset\":0,\"data\":\"aGVsbG8\"}", 0, NULL);
	assert_int_equal(filechunk_parse(j, &c, &field), 0);
	assert_int_equal(b64url_decode(c.data, strlen(c.data), out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	json_decref(j);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(j = json_loads(bad[i][0], 0, NULL));
		field = NULL;
		assert_int_not_equal(filechunk_parse(j, &c, &field), 0);
		assert_string_equal(field, bad[i][1]);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_round_trip),
		cmocka_unit_test(test_frames_refused),
		cmocka_unit_test(test_conf_collect),
		cmocka_unit_test(test_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

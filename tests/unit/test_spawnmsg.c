/* test_spawnmsg.c: the monitor's messages round-trip, and anything that is
 * not exactly a well-formed message is refused whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "spawnmsg.h"

static struct spawn_req *shell_req(void)
{
	struct spawn_req *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->kind = SPAWN_KIND_SHELL;
	r->flags = SPAWN_F_PTY | SPAWN_F_COVER;
	r->nfds = 1;
	r->argc = 3;
	snprintf(r->term, sizeof(r->term), "xterm-256color");
	snprintf(r->session, sizeof(r->session), "0123abcd");
	snprintf(r->argv[0], sizeof(r->argv[0]), "/bin/sh");
	snprintf(r->argv[1], sizeof(r->argv[1]), "-c");
	snprintf(r->argv[2], sizeof(r->argv[2]), "id; cat /etc/hostname");
	return r;
}

static void test_request_round_trip(void **state)
{
	struct spawn_req *r = shell_req(), *back = malloc(sizeof(*back));
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int n;

	n = spawnmsg_encode_req(r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), 0);
	assert_int_equal(back->kind, SPAWN_KIND_SHELL);
	assert_int_equal(back->flags, SPAWN_F_PTY | SPAWN_F_COVER);
	assert_int_equal(back->nfds, 1);
	assert_int_equal(back->argc, 3);
	assert_string_equal(back->term, "xterm-256color");
	assert_string_equal(back->session, "0123abcd");
	assert_string_equal(back->argv[2], "id; cat /etc/hostname");
	/* every shorter prefix is refused, and so is one byte more */
	for (int k = 0; k < n; k++)
		assert_int_not_equal(spawnmsg_decode_req(buf, (size_t)k, back), 0);
	buf[n] = 0;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n + 1, back), TE_ERR_INVALID);
	free(r);
	free(back);
}

static void test_request_refused(void **state)
{
	struct spawn_req *r = shell_req(), *back = malloc(sizeof(*back));
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int n;

	/* unknown message type */
	n = spawnmsg_encode_req(r, buf, sizeof(buf));
	buf[3] = 9;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_PROTOCOL);
	/* unknown kind, flag, fd counts, argc */
	buf[3] = SPAWN_MSG_REQUEST;
	buf[7] = SPAWN_KIND_INSTALL + 1;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	buf[7] = SPAWN_KIND_SHELL;
	buf[11] = 0x80;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	buf[11] = SPAWN_F_PTY;
	buf[15] = 3;                    /* a PTY is one fd */
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	buf[11] = 0;
	buf[15] = SPAWN_MAX_FDS + 1;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	buf[15] = 1;
	buf[19] = 0;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	buf[19] = SPAWN_MAX_ARGS + 1;
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	/* a NUL inside a string */
	n = spawnmsg_encode_req(r, buf, sizeof(buf));
	buf[22] = '\0';                 /* the first byte of term */
	assert_int_equal(spawnmsg_decode_req(buf, (size_t)n, back), TE_ERR_INVALID);
	/* a string longer than its field */
	n = spawnmsg_encode_req(r, buf, sizeof(buf));
	buf[20] = 0x01;                 /* term length 256+ */
	assert_int_not_equal(spawnmsg_decode_req(buf, (size_t)n, back), 0);
	/* past the message bound */
	assert_int_equal(spawnmsg_decode_req(buf, SPAWN_MSG_MAX_BYTES + 1, back), TE_ERR_TOO_LONG);
	/* the encoder refuses what the decoder would */
	r->nfds = 2;
	assert_int_equal(spawnmsg_encode_req(r, buf, sizeof(buf)), TE_ERR_INVALID);
	r->nfds = 1;
	memset(r->term, 'x', sizeof(r->term));
	assert_int_equal(spawnmsg_encode_req(r, buf, sizeof(buf)), TE_ERR_TOO_LONG);
	free(r);
	free(back);
}

/* Sixteen arguments of the longest size do not fit one message. */
static void test_request_total_bound(void **state)
{
	struct spawn_req *r = shell_req();
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int i;

	r->kind = SPAWN_KIND_DIAG;
	r->flags = 0;
	r->nfds = 3;
	r->argc = SPAWN_MAX_ARGS;
	for (i = 0; i < SPAWN_MAX_ARGS; i++) {
		memset(r->argv[i], 'a', SPAWN_MAX_ARG_BYTES - 1);
		r->argv[i][SPAWN_MAX_ARG_BYTES - 1] = '\0';
	}
	assert_int_equal(spawnmsg_encode_req(r, buf, sizeof(buf)), TE_ERR_TOO_LONG);
	free(r);
}

static void test_status(void **state)
{
	struct spawn_status st = { SPAWN_MSG_FAILED, SPAWN_FAIL_ISOLATE, "no namespaces" }, back;
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int n;

	n = spawnmsg_encode_status(&st, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(spawnmsg_decode_status(buf, (size_t)n, &back), 0);
	assert_int_equal(back.type, SPAWN_MSG_FAILED);
	assert_int_equal(back.value, SPAWN_FAIL_ISOLATE);
	assert_string_equal(back.text, "no namespaces");
	st.type = SPAWN_MSG_EXITED;
	st.value = -1;
	st.text[0] = '\0';
	n = spawnmsg_encode_status(&st, buf, sizeof(buf));
	assert_int_equal(spawnmsg_decode_status(buf, (size_t)n, &back), 0);
	assert_int_equal(back.value, -1);
	assert_int_equal(spawnmsg_decode_status(buf, (size_t)n - 1, &back), TE_ERR_TRUNCATED);
	buf[3] = SPAWN_MSG_REQUEST;     /* a request is no status */
	assert_int_equal(spawnmsg_decode_status(buf, (size_t)n, &back), TE_ERR_PROTOCOL);
	st.type = 0;
	assert_int_equal(spawnmsg_encode_status(&st, buf, sizeof(buf)), TE_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_total_bound),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_notify.c: notifications: the webhook signature (fixed vectors and an
 * independent HMAC), the backoff schedule's bounds, the body's shape, the
 * outbox in the store, and both ways out (an HTTPS webhook checked against
 * its own CA, and a command) on a real event loop against a local evhttp
 * receiver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "notify.h"
#include "notify_send.h"
#include "store.h"
#include "tls.h"
#include "pki_fixture.h"

#define WAIT_S 15

static struct pki_fixture fx;

/* ---- signature ---- */

static const char VEC_BODY[] = "{\"id\":1,\"event\":\"test\",\"site\":\"\",\"created_at\":1700000000}";

/* Expected values computed outside tether with
 *   printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac KEY */
static void test_sign_known_vectors(void **state)
{
	const char *key = "0123456789abcdef0123456789abcdef";
	unsigned char longkey[100];
	char sig[NOTIFY_SIG_HEX_BYTES];

	assert_int_equal(notify_sign((const unsigned char *)key, strlen(key), 1700000000,
	                             VEC_BODY, strlen(VEC_BODY), sig), 0);
	assert_string_equal(sig, "febe547386b45fd4b408caeed2268a39dff297ee269960df8a1b76c6797a3ff2");
	/* A key longer than SHA-256's block is hashed first (RFC 2104). */
	memset(longkey, 'k', sizeof(longkey));
	assert_int_equal(notify_sign(longkey, sizeof(longkey), 1700000000, VEC_BODY,
	                             strlen(VEC_BODY), sig), 0);
	assert_string_equal(sig, "8c68d3610d33b4d5699431c68781eac19e7351c64b731ab926dec07dc17da811");
}

/* The same as HMAC() computes over the concatenated text, for many keys,
 * times and bodies; and any change to key, time or body changes it. */
static void test_sign_matches_independent_hmac(void **state)
{
	unsigned char key[64], mac[32];
	char body[200], msg[260], sig[NOTIFY_SIG_HEX_BYTES], hex[65], other[NOTIFY_SIG_HEX_BYTES];
	unsigned int maclen;

	for (int i = 0; i < 50; i++) {
		size_t kl = 16 + (size_t)i % 48;
		int64_t ts = 1600000000 + i * 7919;
		int bl = snprintf(body, sizeof(body), "{\"id\":%d,\"event\":\"e%d\"}", i, i * 3);
		int ml = snprintf(msg, sizeof(msg), "%lld.%s", (long long)ts, body);

		for (size_t k = 0; k < kl; k++)
			key[k] = (unsigned char)(i * 31 + k * 7);
		assert_non_null(HMAC(EVP_sha256(), key, (int)kl, (const unsigned char *)msg,
		                     (size_t)ml, mac, &maclen));
		assert_int_equal(maclen, 32);
		for (unsigned j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", mac[j]);
		assert_int_equal(notify_sign(key, kl, ts, body, (size_t)bl, sig), 0);
		assert_string_equal(sig, hex);
		assert_int_equal(notify_sign(key, kl, ts + 1, body, (size_t)bl, other), 0);
		assert_string_not_equal(sig, other);
		body[2] ^= 1;
		assert_int_equal(notify_sign(key, kl, ts, body, (size_t)bl, other), 0);
		assert_string_not_equal(sig, other);
		body[2] ^= 1;
		key[0] ^= 1;
		assert_int_equal(notify_sign(key, kl, ts, body, (size_t)bl, other), 0);
		assert_string_not_equal(sig, other);
	}
}

/* ---- backoff ---- */

static void test_backoff_grows_within_bounds(void **state)
{
	static const uint32_t rnds[] = { 0, 1, 2, 3, 7, 1000, 0x7fffffff, 0xffffffff };
	long prev_top = 0;

	for (int a = 1; a <= 40; a++) {
		long top = 5, lo_seen = -1, hi_seen = -1;

		for (int i = 1; i < a && top < 3600; i++)
			top = top * 2 > 3600 ? 3600 : top * 2;
		for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++) {
			long d = notify_backoff_s(5, 3600, a, rnds[r]);
			assert_true(d <= top);
			assert_true(d >= top - top / 4);
			assert_true(d >= 1);
			if (lo_seen < 0 || d < lo_seen) lo_seen = d;
			if (d > hi_seen) hi_seen = d;
		}
		/* Jitter really varies once there is room for it. */
		if (top >= 8)
			assert_true(hi_seen > lo_seen);
		assert_true(top >= prev_top);
		prev_top = top;
	}
	assert_int_equal(prev_top, 3600);
	/* Small settings: never below one second, never above the cap. */
	assert_int_equal(notify_backoff_s(1, 1, 1, 12345), 1);
	assert_int_equal(notify_backoff_s(1, 1, 30, 12345), 1);
	assert_true(notify_backoff_s(2, 3, 5, 99) <= 3);
	assert_true(notify_backoff_s(1, 7 * 24 * 3600, 1000, 0xffffffff) <= 7 * 24 * 3600);
}

/* ---- body ---- */

static void test_body_shape(void **state)
{
	json_t *payload = json_pack("{s:s, s:s, s:i, s:s}", "device", "SN1", "reason", "fix",
	                            "id", 999, "event", "forged");
	json_t *b = notify_body(42, "approval_requested", "mercy", 1700000000, payload);
	const char *keys[] = { "id", "event", "site", "created_at", "device", "reason" };
	const char *k;
	json_t *v;
	size_t i = 0;

	assert_non_null(b);
	json_object_foreach(b, k, v) {
		assert_true(i < 6);
		assert_string_equal(k, keys[i]);
		i++;
	}
	assert_int_equal(i, 6);
	/* The payload cannot override the four fixed members. */
	assert_int_equal(json_integer_value(json_object_get(b, "id")), 42);
	assert_string_equal(json_string_value(json_object_get(b, "event")), "approval_requested");
	assert_string_equal(json_string_value(json_object_get(b, "site")), "mercy");
	assert_int_equal(json_integer_value(json_object_get(b, "created_at")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(b, "device")), "SN1");
	json_decref(b);
	b = notify_body(1, "test", "", 5, NULL);
	assert_int_equal(json_object_size(b), 4);
	json_decref(b);
	json_decref(payload);
}

/* ---- the outbox in the store ---- */

struct dbdir {
	char dir[64];
	char path[128];
	struct store *st;
};

static void db_open(struct dbdir *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/test_notify.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/t.db", d->dir);
	assert_int_equal(store_open(d->path, &d->st), 0);
}

static void db_close(struct dbdir *d)
{
	const char *sfx[] = { "", "-wal", "-shm" };
	char p[160];

	store_close(d->st);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", d->path, sfx[i]);
		unlink(p);
	}
	rmdir(d->dir);
}

static int count_cb(const struct store_notification *n, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_outbox_queue_attempt_deliver(void **state)
{
	struct store_notification *n = malloc(sizeof(*n));
	struct store_audit_entry audit = { "server", "notify_delivered", "{\"id\":1}" };
	struct dbdir d;
	int64_t id1, id2, next;
	json_t *body;
	int count = 0;

	db_open(&d);
	assert_int_equal(notify_queue(d.st, "site_remote_off", "mercy",
	                              json_pack("{s:s}", "reason", "audit"), &id1), 0);
	assert_int_equal(notify_queue(d.st, "test", "", json_object(), &id2), 0);
	assert_true(id2 > id1);
	/* Bad events and sites are refused (they become headers and env). */
	assert_int_equal(notify_queue(d.st, "Bad\r\nX-Evil: 1", "", json_object(), &next),
	                 TE_ERR_INVALID);
	assert_int_equal(notify_queue(d.st, "test", "no spaces", json_object(), &next),
	                 TE_ERR_INVALID);
	assert_int_equal(notify_queue(d.st, "test", "", json_string("x"), &next), TE_ERR_INVALID);
	assert_int_equal(notify_queue(d.st, "test", "", NULL, &next), TE_ERR_INVALID);
	/* A body over its bound is refused and leaves no row behind. */
	{
		char *big = malloc(STORE_NOTIFY_BODY_BYTES + 1);
		memset(big, 'x', STORE_NOTIFY_BODY_BYTES);
		big[STORE_NOTIFY_BODY_BYTES] = '\0';
		assert_int_equal(notify_queue(d.st, "test", "", json_pack("{s:s}", "big", big),
		                              &next), TE_ERR_TOO_LONG);
		assert_int_equal(next, 0);
		free(big);
	}

	assert_int_equal(store_notify_get(d.st, id1, n), 0);
	assert_string_equal(n->state, "pending");
	assert_int_equal(n->attempts, 0);
	body = json_loads(n->body, 0, NULL);
	assert_non_null(body);
	assert_int_equal(json_integer_value(json_object_get(body, "id")), id1);
	assert_string_equal(json_string_value(json_object_get(body, "reason")), "audit");
	assert_int_equal(json_integer_value(json_object_get(body, "created_at")), n->created_at);
	json_decref(body);

	/* Oldest due first; a failed attempt pushes it back behind the other. */
	assert_int_equal(store_notify_due(d.st, n->created_at, n), 0);
	assert_int_equal(n->id, id1);
	assert_int_equal(store_notify_attempted(d.st, id1, "pending", 1, STORE_NOTIFY_VIA_COMMAND,
	                                        n->created_at, n->created_at + 100,
	                                        "webhook answered HTTP 500", NULL), 0);
	assert_int_equal(store_notify_due(d.st, n->created_at, n), 0);
	assert_int_equal(n->id, id2);
	assert_int_equal(store_notify_next_at(d.st, &next), 0);
	assert_int_equal(next, n->created_at);
	assert_int_equal(store_notify_attempted(d.st, id2, "failed", 12, 0, n->created_at,
	                                        n->created_at, "gave up", NULL), 0);
	assert_int_equal(store_notify_next_at(d.st, &next), 0);
	assert_int_equal(store_notify_due(d.st, next - 1, n), TE_ERR_NOT_FOUND);
	assert_int_equal(store_notify_due(d.st, next, n), 0);
	assert_int_equal(n->id, id1);
	assert_int_equal(n->attempts, 1);
	assert_int_equal(n->done_via, STORE_NOTIFY_VIA_COMMAND);
	assert_string_equal(n->last_error, "webhook answered HTTP 500");

	assert_int_equal(store_notify_attempted(d.st, id1, "delivered", 2, 3, next, next, "",
	                                        &audit), 0);
	assert_int_equal(store_notify_get(d.st, id1, n), 0);
	assert_string_equal(n->state, "delivered");
	assert_int_equal(n->delivered_at, next);
	/* Only a pending row moves: no second delivery record. */
	assert_int_equal(store_notify_attempted(d.st, id1, "delivered", 3, 3, next, next, "",
	                                        &audit), TE_ERR_MISMATCH);
	assert_int_equal(store_notify_next_at(d.st, &next), TE_ERR_NOT_FOUND);
	assert_int_equal(store_notify_each(d.st, count_cb, &count), 0);
	assert_int_equal(count, 2);
	db_close(&d);
	free(n);
}

/* ---- the webhook and the command on a real loop ---- */

struct rx {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ctx;
	int port;
	int answer;                    /* status the receiver sends */
	int hits;
	char event[64], delivery[32], timestamp[32], sig[128], ctype[64];
	char path[128];
	char body[1024];
};

struct result {
	int done, ok;
	char err[200];
	struct event_base *base;
};

static struct bufferevent *rx_bevcb(struct event_base *base, void *arg)
{
	return bufferevent_openssl_socket_new(base, -1, SSL_new(arg), BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static void rx_copy(struct evkeyvalq *h, const char *name, char *out, size_t outsz)
{
	const char *v = evhttp_find_header(h, name);

	snprintf(out, outsz, "%s", v != NULL ? v : "");
}

static void rx_handle(struct evhttp_request *req, void *arg)
{
	struct rx *rx = arg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	rx->hits++;
	rx_copy(h, "X-Tether-Event", rx->event, sizeof(rx->event));
	rx_copy(h, "X-Tether-Delivery", rx->delivery, sizeof(rx->delivery));
	rx_copy(h, "X-Tether-Timestamp", rx->timestamp, sizeof(rx->timestamp));
	rx_copy(h, "X-Tether-Signature", rx->sig, sizeof(rx->sig));
	rx_copy(h, "Content-Type", rx->ctype, sizeof(rx->ctype));
	snprintf(rx->path, sizeof(rx->path), "%s", evhttp_request_get_uri(req));
	if (n >= sizeof(rx->body))
		n = sizeof(rx->body) - 1;
	evbuffer_copyout(in, rx->body, n);
	rx->body[n] = '\0';
	assert_int_equal(evhttp_request_get_command(req), EVHTTP_REQ_POST);
	evhttp_send_reply(req, rx->answer, "X", NULL);
}

static int port_of(struct evhttp_bound_socket *s)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

static void rx_start(struct rx *rx, struct event_base *base)
{
	struct evhttp_bound_socket *s;

	memset(rx, 0, sizeof(*rx));
	rx->base = base;
	rx->answer = 200;
	assert_int_equal(tls_server_ctx_new(fx.server_crt, fx.server_key, fx.root_crt,
	                                    TLS_CLIENT_CERT_NONE, &rx->ctx), 0);
	assert_non_null(rx->http = evhttp_new(base));
	evhttp_set_bevcb(rx->http, rx_bevcb, rx->ctx);
	evhttp_set_gencb(rx->http, rx_handle, rx);
	assert_non_null(s = evhttp_bind_socket_with_handle(rx->http, "127.0.0.1", 0));
	rx->port = port_of(s);
}

static void rx_stop(struct rx *rx)
{
	evhttp_free(rx->http);
	SSL_CTX_free(rx->ctx);
}

static void on_done(int ok, const char *err, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->ok = ok;
	snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
	event_base_loopbreak(r->base);
}

static void wait_result(struct result *r)
{
	struct timeval limit = { WAIT_S, 0 };

	event_base_loopexit(r->base, &limit);
	event_base_dispatch(r->base);
	assert_int_equal(r->done, 1);
}

static void test_webhook_https_signed_post(void **state)
{
	struct event_base *base = event_base_new();
	struct notify_hook *h = NULL;
	struct result r = { .base = base };
	const char *key = "0123456789abcdef0123456789abcdef";
	char url[128], err[256], sig[NOTIFY_SIG_HEX_BYTES], want[80];
	struct rx rx;

	rx_start(&rx, base);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hooks/tether?x=1", rx.port);
	assert_int_equal(notify_hook_new(base, url, fx.root_crt, &h, err, sizeof(err)), 0);
	assert_int_equal(notify_sign((const unsigned char *)key, strlen(key), 1700000000,
	                             VEC_BODY, strlen(VEC_BODY), sig), 0);
	assert_int_equal(notify_hook_post(h, "test", 1, 1700000000, sig, VEC_BODY, on_done, &r), 0);
	/* One attempt at a time. */
	assert_int_equal(notify_hook_post(h, "test", 1, 1700000000, sig, VEC_BODY, on_done, &r),
	                 TE_ERR_INVALID);
	wait_result(&r);
	assert_int_equal(r.ok, 1);
	assert_int_equal(rx.hits, 1);
	assert_string_equal(rx.path, "/hooks/tether?x=1");
	assert_string_equal(rx.body, VEC_BODY);
	assert_string_equal(rx.event, "test");
	assert_string_equal(rx.delivery, "1");
	assert_string_equal(rx.timestamp, "1700000000");
	assert_string_equal(rx.ctype, "application/json");
	snprintf(want, sizeof(want), "sha256=%s", sig);
	assert_string_equal(rx.sig, want);

	/* A non-2xx answer is a failure to retry, with the status. */
	rx.answer = 503;
	r.done = 0;
	assert_int_equal(notify_hook_post(h, "test", 1, 1700000001, sig, VEC_BODY, on_done, &r), 0);
	wait_result(&r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.err, "webhook answered HTTP 503");
	assert_int_equal(rx.hits, 2);
	notify_hook_free(h);

	/* Another CA: the handshake fails and nothing reaches the receiver. */
	assert_int_equal(notify_hook_new(base, url, fx.other_root_crt, &h, err, sizeof(err)), 0);
	r.done = 0;
	assert_int_equal(notify_hook_post(h, "test", 1, 1700000002, sig, VEC_BODY, on_done, &r), 0);
	wait_result(&r);
	assert_int_equal(r.ok, 0);
	assert_non_null(strstr(r.err, "certificate verify failed"));
	assert_int_equal(rx.hits, 2);
	notify_hook_free(h);

	/* https without a CA file is refused up front. */
	assert_int_equal(notify_hook_new(base, url, "", &h, err, sizeof(err)), TE_ERR_INVALID);
	assert_null(h);
	assert_int_not_equal(notify_hook_new(base, "ftp://127.0.0.1/x", NULL, &h, err,
	                                     sizeof(err)), 0);
	rx_stop(&rx);
	event_base_free(base);
}

static void test_webhook_http_connection_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct notify_hook *h = NULL;
	struct result r = { .base = base };
	char url[64], err[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	/* A port that was free a moment ago and has no listener now. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(notify_hook_new(base, url, NULL, &h, err, sizeof(err)), 0);
	assert_int_equal(notify_hook_post(h, "test", 7, 1, "00", "{}", on_done, &r), 0);
	wait_result(&r);
	assert_int_equal(r.ok, 0);
	assert_true(r.err[0] != '\0');
	notify_hook_free(h);
	event_base_free(base);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void read_file(const char *path, char *out, size_t outsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_command_gets_body_and_event(void **state)
{
	struct event_base *base = event_base_new();
	struct notify_cmd *c = NULL;
	struct result r = { .base = base };
	char dir[64], script[128], text[1024], path[160];

	snprintf(dir, sizeof(dir), "/tmp/test_notify_cmd.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/hook", dir);
	snprintf(text, sizeof(text), "#!/bin/sh\ncat > %s/body\n"
	         "printf '%%s %%s' \"$TETHER_EVENT\" \"$TETHER_DELIVERY\" > %s/env\n"
	         "exit $(cat %s/code)\n", dir, dir, dir);
	write_file(script, text, 0700);
	snprintf(path, sizeof(path), "%s/code", dir);
	write_file(path, "0\n", 0600);

	assert_int_equal(notify_cmd_new(base, script, &c), 0);
	assert_int_equal(notify_cmd_run(c, "site_remote_off", 12, VEC_BODY, on_done, &r), 0);
	assert_int_equal(notify_cmd_run(c, "x", 1, "{}", on_done, &r), TE_ERR_INVALID);
	wait_result(&r);
	assert_int_equal(r.ok, 1);
	snprintf(path, sizeof(path), "%s/body", dir);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, VEC_BODY);
	snprintf(path, sizeof(path), "%s/env", dir);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "site_remote_off 12");

	/* A non-zero exit is a failure to retry. */
	snprintf(path, sizeof(path), "%s/code", dir);
	write_file(path, "3\n", 0600);
	r.done = 0;
	assert_int_equal(notify_cmd_run(c, "test", 13, "{}", on_done, &r), 0);
	wait_result(&r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.err, "command exited with status 3");
	notify_cmd_free(c);

	const char *names[] = { "hook", "code", "body", "env" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	event_base_free(base);
}

/* 1 while pid exists and is not a zombie. */
static int process_running(int pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

static void on_done_count(int ok, const char *err, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->ok += ok;
	snprintf(r->err + strlen(r->err), sizeof(r->err) - strlen(r->err), "%s;",
	         err != NULL ? err : "");
	if (r->done == 2)
		event_base_loopbreak(r->base);
}

/* A receiver that never answers and a command that never exits: each
 * attempt ends after NOTIFY_TIMEOUT_S as a failure (the command killed). */
static void test_timeouts_are_bounded(void **state)
{
	struct event_base *base = event_base_new();
	struct timeval limit = { 3 * NOTIFY_TIMEOUT_S, 0 };
	struct notify_hook *h = NULL;
	struct notify_cmd *c = NULL;
	struct result r = { .base = base };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char dir[64], script[128], url[64], err[256], text[256], path[160];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* Listening but never accepting: the kernel completes the handshake. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	snprintf(dir, sizeof(dir), "/tmp/test_notify_slow.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/slow", dir);
	snprintf(text, sizeof(text), "#!/bin/sh\nsleep 600 &\necho $! > %s/pid\nwait\n", dir);
	write_file(script, text, 0700);

	assert_int_equal(notify_hook_new(base, url, NULL, &h, err, sizeof(err)), 0);
	assert_int_equal(notify_cmd_new(base, script, &c), 0);
	assert_int_equal(notify_hook_post(h, "test", 1, 1, "00", "{}", on_done_count, &r), 0);
	assert_int_equal(notify_cmd_run(c, "test", 1, "{}", on_done_count, &r), 0);
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	assert_int_equal(r.done, 2);
	assert_int_equal(r.ok, 0);
	assert_non_null(strstr(r.err, "timed out after 10 s"));
	assert_non_null(strstr(r.err, "command timed out after 10 s"));
	/* What the command started was killed with it (gone, or a zombie
	 * waiting for its new parent). */
	snprintf(path, sizeof(path), "%s/pid", dir);
	read_file(path, text, sizeof(text));
	assert_true(atoi(text) > 0);
	/* SIGKILL takes effect when the process next runs: wait for it, bounded. */
	for (int i = 0; i < 100 && process_running(atoi(text)); i++)
		usleep(50 * 1000);
	assert_false(process_running(atoi(text)));
	unlink(path);
	notify_cmd_free(c);
	notify_hook_free(h);
	close(fd);
	unlink(script);
	rmdir(dir);
	event_base_free(base);
}

static int setup(void **state)
{
	return pki_fixture_init(&fx) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	pki_fixture_cleanup(&fx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_known_vectors),
		cmocka_unit_test(test_sign_matches_independent_hmac),
		cmocka_unit_test(test_backoff_grows_within_bounds),
		cmocka_unit_test(test_body_shape),
		cmocka_unit_test(test_outbox_queue_attempt_deliver),
		cmocka_unit_test(test_webhook_https_signed_post),
		cmocka_unit_test(test_webhook_http_connection_refused),
		cmocka_unit_test(test_command_gets_body_and_event),
		cmocka_unit_test(test_timeouts_are_bounded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_relay.c: tether-relay's core on loopback, without the server.
 *
 * A throwaway CA, relay and device certificates and a ticket key are made
 * with lib pki and ticket; the relay runs its event loop in a thread on
 * 127.0.0.1 with ports picked by the kernel; the test drives the legs with
 * blocking tls_connect. The server URL points at a closed port, so every
 * report fails: splicing must not care. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "audit.h"
#include "err.h"
#include "pki.h"
#include "relay.h"
#include "relayaudit.h"
#include "ticket.h"
#include "tls.h"

#define IO_TIMEOUT_S     20
#define BULK_BYTES       (3 * 1024 * 1024)   /* well past the high-water mark */

struct fx {
	char dir[64];
	char ca[128], relay_crt[128], relay_key[128], tpub[128], tpriv[128], audit[128];
	char conf[128];
	EVP_PKEY *tkey;          /* the server's ticket key */
	EVP_PKEY *other_tkey;    /* a key the relay does not trust */
	SSL_CTX *sn1_ctx;        /* device SN1, deployment CA */
	SSL_CTX *sn2_ctx;        /* device SN2, deployment CA */
	SSL_CTX *stranger_ctx;   /* "SN1" from another CA */
	SSL_CTX *anon_ctx;       /* a client without a certificate */
	char server_url[64];
	struct relay_config cfg;
	struct event_base *base;
	struct relay *relay;
	pthread_t thread;
	char dport[8], cport[8];
};

/* ---- fixture: CA, certificates, keys ---------------------------------- */

static void path_in(struct fx *f, char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "%s/%s", f->dir, name);
}

static void issue_to_files(struct fx *f, X509 *ca, EVP_PKEY *ca_key, const char *role,
                           const char *cn, const char *sans, const char *stem)
{
	char crt[160], key[160];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	snprintf(crt, sizeof(crt), "%s/%s.crt", f->dir, stem);
	snprintf(key, sizeof(key), "%s/%s.key", f->dir, stem);
	assert_int_equal(pki_key_new(&k), 0);
	assert_int_equal(pki_issue(ca, ca_key, k, role, cn, sans, 30, 0, &x), 0);
	assert_int_equal(pki_cert_save(crt, &x, 1), 0);
	assert_int_equal(pki_key_save(key, k), 0);
	X509_free(x);
	EVP_PKEY_free(k);
}

static SSL_CTX *client_ctx(struct fx *f, const char *stem)
{
	char crt[160], key[160];
	SSL_CTX *ctx = NULL;

	if (stem == NULL) {
		assert_int_equal(tls_client_ctx_new(f->ca, NULL, NULL, &ctx), 0);
		return ctx;
	}
	snprintf(crt, sizeof(crt), "%s/%s.crt", f->dir, stem);
	snprintf(key, sizeof(key), "%s/%s.key", f->dir, stem);
	assert_int_equal(tls_client_ctx_new(f->ca, crt, key, &ctx), 0);
	return ctx;
}

/* A loopback port nobody listens on: bind, note it, close. */
static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void make_pki(struct fx *f)
{
	EVP_PKEY *ca_key = NULL, *s_key = NULL;
	X509 *ca = NULL, *s_ca = NULL;
	char other_priv[160], other_pub[160];

	assert_int_equal(pki_key_new(&ca_key), 0);
	assert_int_equal(pki_ca_new("test root", 30, ca_key, &ca), 0);
	assert_int_equal(pki_cert_save(f->ca, &ca, 1), 0);
	issue_to_files(f, ca, ca_key, PKI_ROLE_RELAY, "relay-1",
	               "DNS:localhost,IP:127.0.0.1", "relay");
	issue_to_files(f, ca, ca_key, PKI_ROLE_DEVICE, "SN1", NULL, "sn1");
	issue_to_files(f, ca, ca_key, PKI_ROLE_DEVICE, "SN2", NULL, "sn2");
	/* Same name, wrong issuer. */
	assert_int_equal(pki_key_new(&s_key), 0);
	assert_int_equal(pki_ca_new("stranger root", 30, s_key, &s_ca), 0);
	issue_to_files(f, s_ca, s_key, PKI_ROLE_DEVICE, "SN1", NULL, "stranger");
	X509_free(ca);
	X509_free(s_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(s_key);

	assert_int_equal(ticket_key_generate(f->tpriv, f->tpub), 0);
	assert_int_equal(ticket_key_load_private(f->tpriv, &f->tkey), 0);
	path_in(f, other_priv, sizeof(other_priv), "other.key");
	path_in(f, other_pub, sizeof(other_pub), "other.pub");
	assert_int_equal(ticket_key_generate(other_priv, other_pub), 0);
	assert_int_equal(ticket_key_load_private(other_priv, &f->other_tkey), 0);

	f->sn1_ctx = client_ctx(f, "sn1");
	f->sn2_ctx = client_ctx(f, "sn2");
	f->stranger_ctx = client_ctx(f, "stranger");
	f->anon_ctx = client_ctx(f, NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tether-relay-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	path_in(f, f->ca, sizeof(f->ca), "ca.crt");
	path_in(f, f->relay_crt, sizeof(f->relay_crt), "relay.crt");
	path_in(f, f->relay_key, sizeof(f->relay_key), "relay.key");
	path_in(f, f->tpub, sizeof(f->tpub), "ticket.pub");
	path_in(f, f->tpriv, sizeof(f->tpriv), "ticket.key");
	path_in(f, f->audit, sizeof(f->audit), "audit.log");
	path_in(f, f->conf, sizeof(f->conf), "tether-relay.conf");
	make_pki(f);
	snprintf(f->server_url, sizeof(f->server_url), "https://127.0.0.1:%d", closed_port());
	f->cfg.name = "relay-1";
	f->cfg.device_listen = "127.0.0.1:0";
	f->cfg.client_listen = "127.0.0.1:0";
	f->cfg.cert = f->relay_crt;
	f->cfg.key = f->relay_key;
	f->cfg.ca = f->ca;
	f->cfg.ticket_pubkey = f->tpub;
	f->cfg.server = f->server_url;
	f->cfg.audit_log = f->audit;
	f->cfg.user = "";
	f->cfg.unpaired_timeout_s = UNPAIRED_LEG_TIMEOUT_S;
	f->cfg.log_level = LOG_LVL_DEBUG;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	EVP_PKEY_free(f->tkey);
	EVP_PKEY_free(f->other_tkey);
	SSL_CTX_free(f->sn1_ctx);
	SSL_CTX_free(f->sn2_ctx);
	SSL_CTX_free(f->stranger_ctx);
	SSL_CTX_free(f->anon_ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* ---- the relay in a thread -------------------------------------------- */

static void *relay_thread(void *arg)
{
	struct fx *f = arg;

	event_base_dispatch(f->base);
	return NULL;
}

static void relay_start(struct fx *f, long unpaired_timeout_s)
{
	char err[256] = "";

	f->cfg.unpaired_timeout_s = unpaired_timeout_s;
	assert_non_null(f->base = event_base_new());
	if (relay_new(f->base, &f->cfg, &f->relay, err, sizeof(err)) != 0)
		fail_msg("relay_new: %s", err);
	snprintf(f->dport, sizeof(f->dport), "%d", relay_device_port(f->relay));
	snprintf(f->cport, sizeof(f->cport), "%d", relay_client_port(f->relay));
	assert_int_equal(pthread_create(&f->thread, NULL, relay_thread, f), 0);
}

static void relay_stop(struct fx *f)
{
	event_base_loopbreak(f->base);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	relay_free(f->relay);
	f->relay = NULL;
	tls_event_base_free(f->base);
	f->base = NULL;
}

/* ---- legs -------------------------------------------------------------- */

static void mint(struct fx *f, EVP_PKEY *key, const char *sid, const char *device,
                 const char *relay, enum ticket_leg leg, int64_t iat, int64_t exp,
                 char *out, size_t outsz)
{
	struct ticket t;

	memset(&t, 0, sizeof(t));
	snprintf(t.session, sizeof(t.session), "%s", sid);
	snprintf(t.device, sizeof(t.device), "%s", device);
	snprintf(t.user, sizeof(t.user), "alice");
	snprintf(t.relay, sizeof(t.relay), "%s", relay);
	snprintf(t.actions, sizeof(t.actions), "forward");
	t.leg = leg;
	t.issued_at = iat;
	t.expires_at = exp;
	assert_int_equal(ticket_sign(&t, key, out, outsz), 0);
}

static void mint_ok(struct fx *f, const char *sid, enum ticket_leg leg,
                    char *out, size_t outsz)
{
	int64_t now = (int64_t)time(NULL);

	mint(f, f->tkey, sid, "SN1", "relay-1", leg, now, now + TICKET_TTL_S, out, outsz);
}

/* As mint_ok, for connection conn of the session (ticket "cn"). */
static void mint_conn(struct fx *f, const char *sid, int64_t conn, enum ticket_leg leg,
                      char *out, size_t outsz)
{
	int64_t now = (int64_t)time(NULL);
	struct ticket t;

	(void)f;
	memset(&t, 0, sizeof(t));
	snprintf(t.session, sizeof(t.session), "%s", sid);
	snprintf(t.device, sizeof(t.device), "SN1");
	snprintf(t.user, sizeof(t.user), "alice");
	snprintf(t.relay, sizeof(t.relay), "relay-1");
	snprintf(t.actions, sizeof(t.actions), "forward");
	t.leg = leg;
	t.issued_at = now;
	t.expires_at = now + TICKET_TTL_S;
	t.conn = conn;
	assert_int_equal(ticket_sign(&t, f->tkey, out, outsz), 0);
}

static void set_io_timeout(SSL *ssl)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int fd = SSL_get_fd(ssl);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect, send "TETHER/1 <word> <ticket>\n" plus extra, read one answer
 * line. Returns the open SSL (NULL when TLS failed; answer then says why). */
static SSL *leg_open(SSL_CTX *ctx, const char *port, const char *line,
                     const char *extra, char *answer, size_t answersz)
{
	char err[256] = "";
	SSL *ssl = NULL;
	int rc;

	answer[0] = '\0';
	if (tls_connect(ctx, "127.0.0.1", port, NULL, IO_TIMEOUT_S, &ssl, err, sizeof(err)) != 0) {
		snprintf(answer, answersz, "TLS: %s", err);
		return NULL;
	}
	set_io_timeout(ssl);
	if (tls_write_all(ssl, line, strlen(line)) != 0 ||
	    (extra != NULL && tls_write_all(ssl, extra, strlen(extra)) != 0)) {
		snprintf(answer, answersz, "write failed");
		return ssl;
	}
	rc = tls_read_line(ssl, answer, answersz, IO_TIMEOUT_S);
	if (rc != 0)
		snprintf(answer, answersz, "read failed: %s", te_strerror(rc));
	return ssl;
}

static void preamble(char *out, size_t sz, const char *word, const char *ticket)
{
	snprintf(out, sz, "TETHER/1 %s %s\n", word, ticket);
}

/* Read exactly n bytes (bounded by the socket timeout). */
static void read_exact(SSL *ssl, char *buf, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		r = SSL_read(ssl, buf + got, (int)(n - got));
		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* 1 when the peer closed (EOF or reset) rather than the read timing out. */
static int read_sees_close(SSL *ssl)
{
	char c;
	int r;

	errno = 0;
	r = SSL_read(ssl, &c, 1);
	if (r > 0)
		return 0;
	return errno != EAGAIN && errno != EWOULDBLOCK;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	assert_non_null(fp);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* ---- tests ------------------------------------------------------------- */

static void test_pair_and_splice(void **state)
{
	struct fx *f = *state;
	char tdev[MAX_TICKET_BYTES + 1], tcli[MAX_TICKET_BYTES + 1];
	char line[MAX_PREAMBLE_BYTES], answer[256], buf[64];
	SSL *dev, *cli;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	mint_ok(f, "sess-splice", TICKET_LEG_DEVICE, tdev, sizeof(tdev));
	mint_ok(f, "sess-splice", TICKET_LEG_CLIENT, tcli, sizeof(tcli));

	/* The device sends bytes right behind its preamble, before any partner. */
	preamble(line, sizeof(line), "device", tdev);
	dev = leg_open(f->sn1_ctx, f->dport, line, "early-from-device", answer, sizeof(answer));
	assert_non_null(dev);
	assert_string_equal(answer, "OK sess-splice");

	preamble(line, sizeof(line), "client", tcli);
	cli = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_non_null(cli);
	assert_string_equal(answer, "OK sess-splice");

	read_exact(cli, buf, strlen("early-from-device"));
	assert_memory_equal(buf, "early-from-device", strlen("early-from-device"));
	assert_int_equal(tls_write_all(cli, "ping", 4), 0);
	read_exact(dev, buf, 4);
	assert_memory_equal(buf, "ping", 4);

	/* The device ends: the client sees the end too. */
	tls_close(dev);
	assert_true(read_sees_close(cli));
	tls_close(cli);
	relay_stop(f);
}

struct bulk {
	SSL *ssl;
	int rc;
};

static void *bulk_writer(void *arg)
{
	struct bulk *b = arg;
	char chunk[16384];
	size_t sent = 0, i, n;

	while (sent < BULK_BYTES) {
		n = BULK_BYTES - sent < sizeof(chunk) ? BULK_BYTES - sent : sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = (char)((sent + i) % 251);
		if ((b->rc = tls_write_all(b->ssl, chunk, n)) != 0)
			return NULL;
		sent += n;
	}
	tls_close(b->ssl);  /* the relay must still deliver everything queued */
	return NULL;
}

static void test_bulk_with_backpressure(void **state)
{
	struct fx *f = *state;
	char tdev[MAX_TICKET_BYTES + 1], tcli[MAX_TICKET_BYTES + 1];
	char line[MAX_PREAMBLE_BYTES], answer[256], buf[16384];
	struct bulk b = { 0 };
	pthread_t th;
	size_t got = 0, i;
	int r, bad = 0;
	SSL *cli;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	mint_ok(f, "sess-bulk", TICKET_LEG_DEVICE, tdev, sizeof(tdev));
	mint_ok(f, "sess-bulk", TICKET_LEG_CLIENT, tcli, sizeof(tcli));
	preamble(line, sizeof(line), "client", tcli);
	cli = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK sess-bulk");
	preamble(line, sizeof(line), "device", tdev);
	b.ssl = leg_open(f->sn1_ctx, f->dport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK sess-bulk");
	assert_int_equal(pthread_create(&th, NULL, bulk_writer, &b), 0);

	/* The client reads nothing until the relay has paused the device's
	 * reads: with back-pressure broken the relay would queue every byte
	 * and this wait would run out. */
	for (i = 0; relay_pause_count(f->relay) == 0 && i < IO_TIMEOUT_S * 100; i++)
		usleep(10 * 1000);
	assert_true(relay_pause_count(f->relay) > 0);
	for (;;) {
		r = SSL_read(cli, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r; i++)
			bad |= buf[i] != (char)((got + i) % 251);
		got += (size_t)r;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(got, BULK_BYTES);
	assert_false(bad);
	tls_close(cli);
	relay_stop(f);
}

static void expect_refusal(SSL_CTX *ctx, const char *port, const char *line,
                           const char *want)
{
	char answer[512];
	SSL *ssl;

	ssl = leg_open(ctx, port, line, NULL, answer, sizeof(answer));
	if (strncmp(answer, want, strlen(want)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", want, answer);
	if (ssl != NULL) {
		assert_true(read_sees_close(ssl));
		tls_close(ssl);
	}
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	char t[MAX_TICKET_BYTES + 1], line[MAX_PREAMBLE_BYTES + 64];
	int64_t now;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	/* Tickets for this run are issued after it started (see below). */
	now = (int64_t)time(NULL);
	expect_refusal(f->anon_ctx, f->cport, "HELLO\n", "ERR bad_preamble ");
	expect_refusal(f->anon_ctx, f->cport, "TETHER/1 client\n", "ERR bad_preamble ");

	memset(line, 'A', MAX_PREAMBLE_BYTES + 10);
	line[MAX_PREAMBLE_BYTES + 10] = '\0';
	expect_refusal(f->anon_ctx, f->cport, line, "ERR bad_preamble ");

	mint(f, f->other_tkey, "s-badsig", "SN1", "relay-1", TICKET_LEG_CLIENT,
	     now, now + 60, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	expect_refusal(f->anon_ctx, f->cport, line, "ERR bad_ticket ");

	mint(f, f->tkey, "s-expired", "SN1", "relay-1", TICKET_LEG_CLIENT,
	     now - 300, now - 200, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	expect_refusal(f->anon_ctx, f->cport, line, "ERR expired ");

	/* Valid, but issued before this relay run began: an earlier run may
	 * have accepted it, and its used nonces are gone. */
	mint(f, f->tkey, "s-old", "SN1", "relay-1", TICKET_LEG_CLIENT,
	     now - 10, now + 60, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	expect_refusal(f->anon_ctx, f->cport, line, "ERR before_restart ");

	/* A device ticket on the client port. */
	mint_ok(f, "s-leg", TICKET_LEG_DEVICE, t, sizeof(t));
	preamble(line, sizeof(line), "device", t);
	expect_refusal(f->anon_ctx, f->cport, line, "ERR wrong_leg ");

	mint(f, f->tkey, "s-relay", "SN1", "relay-2", TICKET_LEG_CLIENT,
	     now, now + 60, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	expect_refusal(f->anon_ctx, f->cport, line, "ERR wrong_relay ");

	/* SN2's certificate with SN1's ticket. */
	mint_ok(f, "s-dev", TICKET_LEG_DEVICE, t, sizeof(t));
	preamble(line, sizeof(line), "device", t);
	expect_refusal(f->sn2_ctx, f->dport, line, "ERR wrong_device ");
	relay_stop(f);
}

static void test_stranger_certificate(void **state)
{
	struct fx *f = *state;
	char t[MAX_TICKET_BYTES + 1], line[MAX_PREAMBLE_BYTES], answer[512];
	SSL *ssl;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	mint_ok(f, "s-stranger", TICKET_LEG_DEVICE, t, sizeof(t));
	preamble(line, sizeof(line), "device", t);
	/* TLS 1.3 may finish the client's side of the handshake before the
	 * relay rejects the certificate; either way no "OK" may come back. */
	ssl = leg_open(f->stranger_ctx, f->dport, line, NULL, answer, sizeof(answer));
	assert_true(strncmp(answer, "OK", 2) != 0);
	tls_close(ssl);
	/* No certificate at all on the device port. */
	ssl = leg_open(f->anon_ctx, f->dport, line, NULL, answer, sizeof(answer));
	assert_true(strncmp(answer, "OK", 2) != 0);
	tls_close(ssl);
	relay_stop(f);
}

static void test_replay_while_first_connected(void **state)
{
	struct fx *f = *state;
	char t[MAX_TICKET_BYTES + 1], line[MAX_PREAMBLE_BYTES], answer[256];
	SSL *first;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	mint_ok(f, "s-replay", TICKET_LEG_CLIENT, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	first = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK s-replay");
	expect_refusal(f->anon_ctx, f->cport, line, "ERR replayed ");
	tls_close(first);
	/* And after the first use has gone. */
	expect_refusal(f->anon_ctx, f->cport, line, "ERR replayed ");
	relay_stop(f);
}

/* A visit: two connections of one session at once, each its own pair of
 * legs; a second device leg of connection 0 is still a replay. */
static void test_connections_pair_apart(void **state)
{
	struct fx *f = *state;
	char t[4][MAX_TICKET_BYTES + 1], line[MAX_PREAMBLE_BYTES], answer[256], buf[8];
	SSL *dev0, *dev1, *cli0, *cli1;

	relay_start(f, UNPAIRED_LEG_TIMEOUT_S);
	mint_conn(f, "s-visit", 0, TICKET_LEG_DEVICE, t[0], sizeof(t[0]));
	mint_conn(f, "s-visit", 1, TICKET_LEG_DEVICE, t[1], sizeof(t[1]));
	mint_conn(f, "s-visit", 0, TICKET_LEG_CLIENT, t[2], sizeof(t[2]));
	mint_conn(f, "s-visit", 1, TICKET_LEG_CLIENT, t[3], sizeof(t[3]));
	preamble(line, sizeof(line), "device", t[0]);
	dev0 = leg_open(f->sn1_ctx, f->dport, line, "zero", answer, sizeof(answer));
	assert_string_equal(answer, "OK s-visit");
	preamble(line, sizeof(line), "device", t[1]);
	dev1 = leg_open(f->sn1_ctx, f->dport, line, "one!", answer, sizeof(answer));
	assert_string_equal(answer, "OK s-visit");
	/* The client of connection 1 first: it must get connection 1's bytes. */
	preamble(line, sizeof(line), "client", t[3]);
	cli1 = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK s-visit");
	read_exact(cli1, buf, 4);
	assert_memory_equal(buf, "one!", 4);
	preamble(line, sizeof(line), "client", t[2]);
	cli0 = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK s-visit");
	read_exact(cli0, buf, 4);
	assert_memory_equal(buf, "zero", 4);
	/* One connection ending leaves the other spliced. */
	tls_close(cli1);
	assert_true(read_sees_close(dev1));
	assert_int_equal(tls_write_all(cli0, "more", 4), 0);
	read_exact(dev0, buf, 4);
	assert_memory_equal(buf, "more", 4);
	tls_close(dev1);
	tls_close(cli0);
	assert_true(read_sees_close(dev0));
	tls_close(dev0);
	relay_stop(f);
}

static void test_unpaired_leg_dropped(void **state)
{
	struct fx *f = *state;
	char t[MAX_TICKET_BYTES + 1], line[MAX_PREAMBLE_BYTES], answer[256];
	SSL *lone;

	relay_start(f, 1);
	mint_ok(f, "s-lonely", TICKET_LEG_CLIENT, t, sizeof(t));
	preamble(line, sizeof(line), "client", t);
	lone = leg_open(f->anon_ctx, f->cport, line, NULL, answer, sizeof(answer));
	assert_string_equal(answer, "OK s-lonely");
	assert_true(read_sees_close(lone));
	tls_close(lone);
	relay_stop(f);
}

static void test_audit_trail(void **state)
{
	struct fx *f = *state;
	struct audit_verifier v;
	char *text;

	audit_verifier_init(&v);
	if (audit_file_verify(f->audit, &v) != 0)
		fail_msg("audit chain: %s", v.why);
	assert_true(v.count > 0);
	text = slurp(f->audit);
	assert_non_null(strstr(text, "relay_start"));
	assert_non_null(strstr(text, "session_start"));
	assert_non_null(strstr(text, "session_end"));
	assert_non_null(strstr(text, "sess-splice"));
	assert_non_null(strstr(text, "replayed"));
	assert_non_null(strstr(text, "wrong_device"));
	assert_non_null(strstr(text, "before_restart"));
	assert_non_null(strstr(text, "leg_unpaired"));
	free(text);
}

/* The head the relay reports is the log's last record: what `audit verify`
 * ends on; an absent log is seq 0, a torn last line an error. */
static void test_audit_file_head(void **state)
{
	char dir[] = "/tmp/tether-relayaudit.XXXXXX", path[64];
	struct relay_audit_head h;
	struct audit_verifier v;
	struct audit_log *log = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	assert_int_equal(relay_audit_file_head(path, &h), 0);
	assert_int_equal(h.seq, 0);
	assert_string_equal(h.hash, AUDIT_GENESIS_HASH);
	assert_int_equal(audit_log_open(path, &log), 0);
	assert_int_equal(audit_log_append(log, "relay", "relay_start", "{}"), 0);
	assert_int_equal(audit_log_append(log, "relay", "session_start", "{\"x\":1}"), 0);
	audit_log_close(log);
	assert_int_equal(relay_audit_file_head(path, &h), 0);
	audit_verifier_init(&v);
	assert_int_equal(audit_file_verify(path, &v), 0);
	assert_int_equal(h.seq, 2);
	assert_string_equal(h.hash, v.prev);
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"seq\":3,\"ts", f);
	fclose(f);
	assert_int_equal(relay_audit_file_head(path, &h), TE_ERR_CHAIN);
	unlink(path);
	rmdir(dir);
}

static void test_config_file(void **state)
{
	struct fx *f = *state;
	struct relay_config cfg;
	char err[256] = "";
	FILE *fp;

	fp = fopen(f->conf, "w");
	assert_non_null(fp);
	fprintf(fp, "name = relay-9\ndevice_listen = 127.0.0.1:0\nclient_listen = 127.0.0.1:0\n"
	        "cert = relay.crt\nkey = relay.key\nca = /abs/ca.crt\nticket_pubkey = ticket.pub\n"
	        "server =\naudit_log = audit.log\nunpaired_timeout_s = 5\nuser =\n");
	fclose(fp);
	assert_int_equal(relay_config_load(f->conf, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "relay-9");
	assert_string_equal(cfg.cert, f->relay_crt);
	assert_string_equal(cfg.ca, "/abs/ca.crt");
	assert_int_equal(cfg.unpaired_timeout_s, 5);
	assert_string_equal(cfg.server, "");
	relay_config_clear(&cfg);

	fp = fopen(f->conf, "w");
	assert_non_null(fp);
	fprintf(fp, "name = relay-9\ncert = a\nkey = b\nca = c\nticket_pubkey = d\n"
	        "audit_log = e\nbogus = 1\n");
	fclose(fp);
	assert_int_not_equal(relay_config_load(f->conf, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bogus"));

	fp = fopen(f->conf, "w");
	assert_non_null(fp);
	fprintf(fp, "name = relay-9\ncert = a\nkey = b\nca = c\naudit_log = e\n");
	fclose(fp);
	assert_int_not_equal(relay_config_load(f->conf, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "ticket_pubkey"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_file_head),
		cmocka_unit_test(test_pair_and_splice),
		cmocka_unit_test(test_bulk_with_backpressure),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_stranger_certificate),
		cmocka_unit_test(test_replay_while_first_connected),
		cmocka_unit_test(test_connections_pair_apart),
		cmocka_unit_test(test_unpaired_leg_dropped),
		cmocka_unit_test(test_audit_trail),
		cmocka_unit_test(test_config_file),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	libevent_global_shutdown();
	return rc;
}

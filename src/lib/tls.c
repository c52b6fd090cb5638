/* tls.c: the one module that configures OpenSSL's TLS, plus the blocking
 * client connect (optionally through an HTTP CONNECT proxy). The byte pump
 * used by `tether connect` and the agent's tunnel is in tlspump.c. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bounds.h"
#include "clockoff.h"
#include "err.h"
#include "httpproxy.h"
#include "httpresp.h"
#include "pki.h"
#include "tls_int.h"

#define TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
                      "ECDHE-ECDSA-CHACHA20-POLY1305"
#define TLS13_SUITES  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
                      "TLS_CHACHA20_POLY1305_SHA256"
#define TLS_GROUPS    "X25519:P-256:P-384"
#define TLS_VERIFY_DEPTH   2      /* leaf, issuing CA, root */
#define TLS_ERR_TEXT_BYTES 256
#define TLS_MAX_CA_CERTS   16     /* certificates accepted in a CA PEM blob */

static const unsigned char tls_sid_ctx[] = "tether";

/* ---- the peer's role ----------------------------------------------------- */

/* Every certificate comes from one CA, so the CA check alone would let a
 * relay answer as the server or the server as a relay wherever their names
 * overlap (one host, one address). Client contexts can pin the role (OU). */
static int tls_role_idx = -1;
static pthread_once_t tls_role_once = PTHREAD_ONCE_INIT;

static void tls_role_idx_init(void)
{
	tls_role_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int tls_verify_role_cb(int ok, X509_STORE_CTX *xs)
{
	char role[32], name[64];
	const char *want;
	SSL *ssl;

	if (!ok || X509_STORE_CTX_get_error_depth(xs) != 0 || tls_role_idx < 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	want = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_role_idx) : NULL;
	if (want == NULL)
		return ok;
	if (pki_cert_identity(X509_STORE_CTX_get_current_cert(xs), role, sizeof(role),
	                      name, sizeof(name)) != 0 || strcmp(role, want) != 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return ok;
}

/* ---- the clock certificates are judged by -------------------------------- */

static tls_clock_fn tls_clock;
static _Thread_local char tls_clock_note[TLS_ERR_TEXT_BYTES];

void tls_set_clock(tls_clock_fn fn)
{
	tls_clock = fn;
}

static int tls_asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return TE_ERR_INVALID;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* The latest notBefore of the peer's leaf and the chain it sent. */
static int tls_chain_not_before(X509_STORE_CTX *xs, int64_t *out)
{
	STACK_OF(X509) *sk = X509_STORE_CTX_get0_untrusted(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	int64_t nb;
	int i;

	if (leaf == NULL || tls_asn1_unix(X509_get0_notBefore(leaf), out) != 0)
		return TE_ERR_INVALID;
	for (i = 0; sk != NULL && i < sk_X509_num(sk) && i < TLS_VERIFY_DEPTH + 1; i++)
		if (tls_asn1_unix(X509_get0_notBefore(sk_X509_value(sk, i)), &nb) == 0 && nb > *out)
			*out = nb;
	return 0;
}

/* Say how far the device clock (now) is from the certificate that failed a
 * time check, for tls_verify_text. */
static void tls_clock_explain(X509_STORE_CTX *xs, int64_t now, int known)
{
	int err = X509_STORE_CTX_get_error(xs);
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	char role[32], name[64], whose[48], gap[64];
	int64_t t;

	if (x == NULL || (err != X509_V_ERR_CERT_NOT_YET_VALID && err != X509_V_ERR_CERT_HAS_EXPIRED))
		return;
	if (tls_asn1_unix(err == X509_V_ERR_CERT_NOT_YET_VALID ? X509_get0_notBefore(x) :
	                  X509_get0_notAfter(x), &t) != 0)
		return;
	/* Named for the peer (its leaf's role) whichever certificate of its
	 * chain failed first: OpenSSL checks from the root down. */
	if (X509_STORE_CTX_get0_cert(xs) != NULL &&
	    pki_cert_identity(X509_STORE_CTX_get0_cert(xs), role, sizeof(role), name,
	                      sizeof(name)) == 0)
		snprintf(whose, sizeof(whose), "the %.24s's certificate", role);
	else
		snprintf(whose, sizeof(whose), "the peer's certificate");
	clockoff_describe(err == X509_V_ERR_CERT_NOT_YET_VALID ? t - now : now - t, gap,
	                  sizeof(gap));
	if (err == X509_V_ERR_CERT_NOT_YET_VALID)
		snprintf(tls_clock_note, sizeof(tls_clock_note), "device clock is %s behind %s: %s%s",
		         gap, whose, X509_verify_cert_error_string(err), known ? "" :
		         " (no offset from the server's clock known yet; first contact allows 24 h)");
	else
		snprintf(tls_clock_note, sizeof(tls_clock_note), "device clock is %s past the expiry"
		         " of %s: %s", gap, whose, X509_verify_cert_error_string(err));
}

/* Chain verification under tls_set_clock's clock (see tls.h). */
static int tls_cert_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	tls_clock_fn fn = tls_clock;
	int64_t now, at, nb;
	int known = 0, ok;

	(void)arg;
	tls_clock_note[0] = '\0';
	if (fn == NULL)
		return X509_verify_cert(xs);
	at = now = fn(&known);
	if (!known && tls_chain_not_before(xs, &nb) == 0 && nb > now &&
	    nb - now <= TLS_FIRST_CONTACT_SKEW_S)
		at = nb;
	X509_STORE_CTX_set_time(xs, 0, (time_t)at);
	if ((ok = X509_verify_cert(xs)) != 1)
		tls_clock_explain(xs, now, known);
	return ok;
}

int tls_ctx_expect_role(SSL_CTX *ctx, const char *role)
{
	if (ctx == NULL || role == NULL)
		return TE_ERR_INVALID;
	if (pthread_once(&tls_role_once, tls_role_idx_init) != 0 || tls_role_idx < 0 ||
	    SSL_CTX_set_ex_data(ctx, tls_role_idx, (void *)role) != 1)
		return TE_ERR_TLS;
	return 0;
}

const char *tls_last_error(void)
{
	static _Thread_local char buf[TLS_ERR_TEXT_BYTES];
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(buf, sizeof(buf), "no TLS error details");
	else
		ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

/* ---- contexts ---------------------------------------------------------- */

static int tls_ctx_policy(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1)
		return TE_ERR_TLS;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                    SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
	return 0;
}

static int tls_ctx_own_cert(SSL_CTX *ctx, const char *chain_file,
                            const char *key_file)
{
	if (chain_file == NULL && key_file == NULL)
		return 0;
	if (chain_file == NULL || key_file == NULL)
		return TE_ERR_INVALID;
	if (SSL_CTX_use_certificate_chain_file(ctx, chain_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return TE_ERR_TLS;
	return 0;
}

int tls_server_ctx_new(const char *chain_file, const char *key_file,
                       const char *ca_file, enum tls_client_auth auth,
                       SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	STACK_OF(X509_NAME) *names;
	int r, mode;

	*out = NULL;
	if (chain_file == NULL || key_file == NULL)
		return TE_ERR_INVALID;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return TE_ERR_NOMEM;
	if ((r = tls_ctx_policy(ctx)) != 0 ||
	    (r = tls_ctx_own_cert(ctx, chain_file, key_file)) != 0)
		goto out;
	/* Without resumption every connection proves its certificate again. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, tls_sid_ctx, sizeof(tls_sid_ctx) - 1);
	mode = SSL_VERIFY_NONE;
	if (auth != TLS_CLIENT_CERT_NONE) {
		if (ca_file == NULL ||
		    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			r = ca_file == NULL ? TE_ERR_INVALID : TE_ERR_TLS;
			goto out;
		}
		if ((names = SSL_load_client_CA_file(ca_file)) != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		mode = SSL_VERIFY_PEER;
		if (auth == TLS_CLIENT_CERT_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	return r;
}

static int tls_client_ctx_base(const char *chain_file, const char *key_file,
                               SSL_CTX **out)
{
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return TE_ERR_NOMEM;
	if ((r = tls_ctx_policy(ctx)) != 0 ||
	    (r = tls_ctx_own_cert(ctx, chain_file, key_file)) != 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_role_cb);
	SSL_CTX_set_cert_verify_callback(ctx, tls_cert_verify_cb, NULL);
	*out = ctx;
	return 0;
}

int tls_client_ctx_new(const char *ca_file, const char *chain_file,
                       const char *key_file, SSL_CTX **out)
{
	int r;

	*out = NULL;
	if (ca_file == NULL)
		return TE_ERR_INVALID;
	if ((r = tls_client_ctx_base(chain_file, key_file, out)) != 0)
		return r;
	if (SSL_CTX_load_verify_locations(*out, ca_file, NULL) != 1) {
		SSL_CTX_free(*out);
		*out = NULL;
		return TE_ERR_TLS;
	}
	return 0;
}

/* Add every certificate in a PEM blob to the context's trust store. */
static int tls_store_add_pem(SSL_CTX *ctx, const char *pem)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	size_t len = strlen(pem);
	BIO *bio;
	X509 *x;
	int n = 0, r = 0;

	if (len == 0)
		return TE_ERR_INVALID;
	if (len > MAX_PEM_BYTES)
		return TE_ERR_TOO_LONG;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return TE_ERR_NOMEM;
	while (n < TLS_MAX_CA_CERTS &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) != 1)
			r = TE_ERR_TLS;
		X509_free(x);
		n++;
	}
	ERR_clear_error(); /* the read that ended the loop left an error */
	BIO_free(bio);
	if (r == 0 && n == 0)
		r = TE_ERR_INVALID;
	return r;
}

int tls_client_ctx_new_pem(const char *ca_pem, const char *chain_file,
                           const char *key_file, SSL_CTX **out)
{
	int r;

	*out = NULL;
	if (ca_pem == NULL)
		return TE_ERR_INVALID;
	if ((r = tls_client_ctx_base(chain_file, key_file, out)) != 0)
		return r;
	if ((r = tls_store_add_pem(*out, ca_pem)) != 0) {
		SSL_CTX_free(*out);
		*out = NULL;
	}
	return r;
}

static int tls_is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int tls_client_set_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

	if (host == NULL || host[0] == '\0' || strlen(host) > 253)
		return TE_ERR_INVALID;
	if (tls_is_ip_literal(host)) {
		/* SNI carries host names only; the address goes in the check. */
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
			return TE_ERR_TLS;
		return 0;
	}
	/* Names only from the SAN: a CN is a device serial or relay name, never
	 * a claim to be a host. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	                  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
		return TE_ERR_TLS;
	return 0;
}

int tls_peer_identity(SSL *ssl, struct tls_peer *out)
{
	X509 *cert;
	int r;

	memset(out, 0, sizeof(*out));
	if ((cert = SSL_get0_peer_certificate(ssl)) == NULL)
		return TE_ERR_NOT_FOUND;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return TE_ERR_TLS;
	if ((r = pki_cert_identity(cert, out->role, sizeof(out->role), out->name,
	                           sizeof(out->name))) != 0)
		return r;
	return pki_cert_fingerprint(cert, out->fingerprint);
}

const char *tls_verify_text(long v)
{
	if (v == X509_V_ERR_APPLICATION_VERIFICATION)
		return "the certificate is from the deployment CA but for another role";
	if (tls_clock_note[0] != '\0' &&
	    (v == X509_V_ERR_CERT_NOT_YET_VALID || v == X509_V_ERR_CERT_HAS_EXPIRED))
		return tls_clock_note;
	return X509_verify_cert_error_string(v);
}

int tls_peer_check(SSL *ssl, const char *role, const char *name)
{
	struct tls_peer p;
	int r;

	if (ssl == NULL || role == NULL)
		return TE_ERR_INVALID;
	if ((r = tls_peer_identity(ssl, &p)) != 0)
		return r == TE_ERR_NOT_FOUND ? TE_ERR_TLS : r;
	if (strcmp(p.role, role) != 0 || (name != NULL && strcmp(p.name, name) != 0))
		return TE_ERR_MISMATCH;
	return 0;
}

/* ---- blocking helpers with deadlines ----------------------------------- */

static long long tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline_ms (<0: forever). 1 ready, 0 timeout. */
static int tls_wait_fd(int fd, short events, long long deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline_ms < 0 ? -1 : deadline_ms - tls_now_ms();
		if (deadline_ms >= 0 && left <= 0)
			return 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int tls_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)) < 0)
		return -1;
	return (fl & O_NONBLOCK) != 0;
}

/* After an SSL call returned r <= 0: wait for what it needs. 0 retry, else
 * a te_err. */
static int tls_wait_ssl(SSL *ssl, int r, long long deadline_ms)
{
	int e = SSL_get_error(ssl, r), w;

	if (e == SSL_ERROR_WANT_READ)
		w = tls_wait_fd(SSL_get_fd(ssl), POLLIN, deadline_ms);
	else if (e == SSL_ERROR_WANT_WRITE)
		w = tls_wait_fd(SSL_get_fd(ssl), POLLOUT, deadline_ms);
	else if (e == SSL_ERROR_ZERO_RETURN)
		return TE_ERR_TRUNCATED;
	else if (e == SSL_ERROR_SYSCALL && errno == EINTR)
		return 0;
	else
		return e == SSL_ERROR_SSL ? TE_ERR_TLS : TE_ERR_IO;
	return w > 0 ? 0 : w == 0 ? TE_ERR_TIMEOUT : TE_ERR_IO;
}

int tls_write_all(SSL *ssl, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t done = 0;
	int n, r;

	while (done < len) {
		size_t chunk = len - done > INT_MAX ? INT_MAX : len - done;
		ERR_clear_error();
		n = SSL_write(ssl, p + done, (int)chunk);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if ((r = tls_wait_ssl(ssl, n, -1)) != 0)
			return r == TE_ERR_TRUNCATED ? TE_ERR_IO : r;
	}
	return 0;
}

int tls_read_some(SSL *ssl, void *buf, size_t len, int timeout_s)
{
	long long deadline = tls_now_ms() + (long long)timeout_s * 1000;
	int fd = SSL_get_fd(ssl), was_nb, n, r;

	if (len == 0)
		return TE_ERR_INVALID;
	if ((was_nb = tls_set_nonblock(fd, 1)) < 0)
		return TE_ERR_SYS;
	for (;;) {
		ERR_clear_error();
		n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (n > 0) {
			r = n;
			break;
		}
		if ((r = tls_wait_ssl(ssl, n, deadline)) != 0) {
			if (r == TE_ERR_TRUNCATED)
				r = 0;            /* close_notify: the end */
			break;
		}
	}
	/* A record is at most 16 KiB: take what is there already, without
	 * waiting, so the caller handles large buffers, not many small ones. */
	while (r > 0 && (size_t)r < len) {
		ERR_clear_error();
		n = SSL_read(ssl, (char *)buf + r, len - (size_t)r > INT_MAX ? INT_MAX :
		             (int)(len - (size_t)r));
		if (n <= 0)
			break;                    /* nothing more now, or the end: next call */
		r += n;
	}
	if (!was_nb)
		tls_set_nonblock(fd, 0);
	return r;
}

/* Reads byte by byte so that nothing after the '\n' is consumed: the bytes
 * that follow belong to whoever reads the stream next (tls_pump). */
int tls_read_line(SSL *ssl, char *out, size_t outsz, int timeout_s)
{
	long long deadline = tls_now_ms() + (long long)timeout_s * 1000;
	int fd = SSL_get_fd(ssl), was_nb, n, r = 0;
	size_t len = 0;
	char c;

	if (outsz < 2)
		return TE_ERR_INVALID;
	out[0] = '\0';
	if ((was_nb = tls_set_nonblock(fd, 1)) < 0)
		return TE_ERR_SYS;
	for (;;) {
		ERR_clear_error();
		n = SSL_read(ssl, &c, 1);
		if (n == 1) {
			if (c == '\n')
				break;
			if (len + 1 >= outsz) {
				r = TE_ERR_TOO_LONG;
				break;
			}
			out[len++] = c;
			continue;
		}
		if ((r = tls_wait_ssl(ssl, n, deadline)) != 0)
			break;
	}
	out[len] = '\0';
	if (!was_nb)
		tls_set_nonblock(fd, 0);
	return r;
}

/* ---- connect ----------------------------------------------------------- */

static int tls_tcp_try(const struct addrinfo *ai, long long deadline, int *out)
{
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	            ai->ai_protocol);
	if (fd < 0)
		return TE_ERR_SYS;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS)
		goto fail;
	if (tls_wait_fd(fd, POLLOUT, deadline) <= 0) {
		close(fd);
		return TE_ERR_TIMEOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
ok:
	*out = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return TE_ERR_IO;
}

static int tls_tcp_connect(const char *host, const char *port, long long deadline,
                           int *out, char *errbuf, size_t errsz)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	int gai, r = TE_ERR_IO;

	hints.ai_flags = AI_ADDRCONFIG;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(errbuf, errsz, "cannot resolve %s: %s", host, gai_strerror(gai));
		return TE_ERR_IO;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((r = tls_tcp_try(ai, deadline, out)) == 0)
			break;
		if (r == TE_ERR_TIMEOUT)
			snprintf(errbuf, errsz, "connect to %s:%s timed out", host, port);
		else
			snprintf(errbuf, errsz, "connect to %s:%s: %s", host, port,
			         strerror(errno));
		if (r == TE_ERR_TIMEOUT)
			break;
	}
	freeaddrinfo(res);
	return r;
}

static int tls_send_all_fd(int fd, const char *buf, size_t len, long long deadline)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (tls_wait_fd(fd, POLLOUT, deadline) <= 0)
				return TE_ERR_TIMEOUT;
		} else {
			return TE_ERR_IO;
		}
	}
	return 0;
}

/* Read the proxy's response head one byte at a time so no byte of the
 * tunnelled stream is consumed; require a 2xx status. */
static int tls_proxy_response(int fd, long long deadline, char *errbuf, size_t errsz)
{
	char head[MAX_HTTP_HEADERS_BYTES];
	struct httpresp_head hd;
	size_t len = 0;
	ssize_t n;
	int r = TE_ERR_TRUNCATED;

	while (r == TE_ERR_TRUNCATED) {
		if (len >= sizeof(head)) {
			r = TE_ERR_TOO_LONG;
			break;
		}
		n = recv(fd, head + len, 1, 0);
		if (n == 1) {
			len++;
			if (head[len - 1] == '\n')
				r = httpresp_parse_head(head, len, &hd);
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (tls_wait_fd(fd, POLLIN, deadline) <= 0) {
				snprintf(errbuf, errsz, "proxy did not answer");
				return TE_ERR_TIMEOUT;
			}
		} else {
			snprintf(errbuf, errsz, "proxy closed the connection");
			return TE_ERR_IO;
		}
	}
	if (r != 0) {
		snprintf(errbuf, errsz, r == TE_ERR_TOO_LONG ? "proxy response too long"
		         : "proxy sent a malformed response");
		return r == TE_ERR_TOO_LONG ? r : TE_ERR_PROTOCOL;
	}
	if (hd.status < 200 || hd.status > 299) {
		snprintf(errbuf, errsz, "proxy refused CONNECT with status %d: %s",
		         hd.status, httpproxy_status_text(hd.status));
		return TE_ERR_DENIED;
	}
	return 0;
}

static int tls_proxy_connect(const char *proxy, const char *host, const char *port,
                             long long deadline, int *out, char *errbuf, size_t errsz)
{
	struct httpproxy p;
	char req[HTTPPROXY_REQUEST_BYTES];
	size_t reqlen = 0;
	int fd = -1, r;

	if ((r = httpproxy_parse(proxy, &p)) != 0) {
		snprintf(errbuf, errsz, "bad proxy URL (want http://[user:pass@]host:port)");
		goto out;
	}
	if ((r = tls_tcp_connect(p.host, p.port, deadline, &fd, errbuf, errsz)) != 0)
		goto out;
	if ((r = httpproxy_connect_request(&p, host, port, req, sizeof(req), &reqlen)) != 0) {
		snprintf(errbuf, errsz, "cannot build CONNECT for %s:%s", host, port);
		goto out;
	}
	if ((r = tls_send_all_fd(fd, req, reqlen, deadline)) != 0) {
		snprintf(errbuf, errsz, "cannot send CONNECT to proxy");
		goto out;
	}
	if ((r = tls_proxy_response(fd, deadline, errbuf, errsz)) != 0)
		goto out;
	*out = fd;
	fd = -1;
out:
	httpproxy_wipe(&p);
	OPENSSL_cleanse(req, sizeof(req));
	if (fd >= 0)
		close(fd);
	return r;
}

static void tls_handshake_error(SSL *ssl, int r, char *errbuf, size_t errsz)
{
	long v = SSL_get_verify_result(ssl);

	if (r == TE_ERR_TIMEOUT)
		snprintf(errbuf, errsz, "TLS handshake timed out");
	else if (v != X509_V_OK)
		snprintf(errbuf, errsz, "certificate verify failed: %s", tls_verify_text(v));
	else
		snprintf(errbuf, errsz, "TLS handshake failed: %s", tls_last_error());
}

int tls_connect(SSL_CTX *ctx, const char *host, const char *port,
                const char *proxy, int timeout_s, SSL **out_ssl,
                char *errbuf, size_t errsz)
{
	long long deadline = tls_now_ms() + (long long)(timeout_s > 0 ? timeout_s : 30) * 1000;
	SSL *ssl = NULL;
	int fd = -1, r, n;
	char dummy[1];

	*out_ssl = NULL;
	if (errbuf == NULL || errsz == 0) {
		errbuf = dummy;
		errsz = sizeof(dummy);
	}
	errbuf[0] = '\0';
	if (ctx == NULL || host == NULL || port == NULL)
		return TE_ERR_INVALID;
	if (proxy != NULL && proxy[0] != '\0')
		r = tls_proxy_connect(proxy, host, port, deadline, &fd, errbuf, errsz);
	else
		r = tls_tcp_connect(host, port, deadline, &fd, errbuf, errsz);
	if (r != 0)
		goto out;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (r = tls_client_set_host(ssl, host)) != 0) {
		r = r != 0 ? r : TE_ERR_NOMEM;
		snprintf(errbuf, errsz, "cannot set up TLS for %s", host);
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		if ((n = SSL_connect(ssl)) == 1)
			break;
		if ((r = tls_wait_ssl(ssl, n, deadline)) != 0) {
			r = r == TE_ERR_TIMEOUT ? r : TE_ERR_TLS;
			tls_handshake_error(ssl, r, errbuf, errsz);
			goto out;
		}
	}
	tls_set_nonblock(fd, 0);
	*out_ssl = ssl;
	ssl = NULL;
	fd = -1;
	r = 0;
out:
	if (ssl != NULL) {
		SSL_free(ssl); /* SSL_set_fd's BIO does not close the fd */
	}
	if (fd >= 0)
		close(fd);
	return r;
}

void tls_close(SSL *ssl)
{
	int fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	/* Best effort close_notify; never wait for a peer that is gone. */
	if (fd >= 0)
		tls_set_nonblock(fd, 1);
	if (!(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

void tls_event_base_free(struct event_base *base)
{
	if (base == NULL)
		return;
	/* Two passes: a callback run in the first may queue one more. */
	for (int i = 0; i < 2; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
}

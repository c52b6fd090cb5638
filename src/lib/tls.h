/* tls.h: the one module that configures OpenSSL's TLS.
 *
 * Policy for every context: TLS 1.3 preferred, TLS 1.2 allowed only with
 * ECDHE + AEAD suites; peers are verified against the deployment CA file
 * only (the system trust store is never loaded); renegotiation, compression
 * and session tickets are off. */
#ifndef TETHER_TLS_H
#define TETHER_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include "secret.h"

enum tls_client_auth {
	TLS_CLIENT_CERT_NONE = 0,      /* do not ask */
	TLS_CLIENT_CERT_OPTIONAL = 1,  /* ask; verify if sent (server API) */
	TLS_CLIENT_CERT_REQUIRED = 2,  /* handshake fails without one (relay device port) */
};

/* chain_file holds the leaf then the issuing CA; ca_file the root to trust. */
int tls_server_ctx_new(const char *chain_file, const char *key_file,
                       const char *ca_file, enum tls_client_auth auth,
                       SSL_CTX **out);
/* cert/key may be NULL for a client without a certificate. */
int tls_client_ctx_new(const char *ca_file, const char *chain_file,
                       const char *key_file, SSL_CTX **out);
/* Same, with the CA given as PEM text in memory. */
int tls_client_ctx_new_pem(const char *ca_pem, const char *chain_file,
                           const char *key_file, SSL_CTX **out);

/* The clock that client contexts judge certificate times by. Unset (the
 * default), OpenSSL's own: the process's clock. The agent sets one that
 * returns unix time by the server's clock (clockoff.h) and whether that is
 * known. While it is not (first contact), a chain whose latest notBefore is
 * up to TLS_FIRST_CONTACT_SKEW_S ahead is judged at that notBefore, so a
 * slow device clock can still connect; expiry is never stretched, as the
 * later time only makes it stricter. A time check that fails then says how
 * far the device clock is off (tls_verify_text). Process-wide. */
#define TLS_FIRST_CONTACT_SKEW_S (24 * 3600)
typedef int64_t (*tls_clock_fn)(int *known);
void tls_set_clock(tls_clock_fn fn);

/* Accept only a peer whose leaf certificate's OU is role (a PKI_ROLE_*
 * constant, which must outlive ctx); checked during the handshake, so a
 * wrong role fails it like a wrong CA. Without it any role passes. */
int tls_ctx_expect_role(SSL_CTX *ctx, const char *role);

/* Configure a client SSL to check the server's name (SAN DNS or IP; never
 * the subject CN). */
int tls_client_set_host(SSL *ssl, const char *host);

struct tls_peer {
	char role[32];                      /* certificate OU */
	char name[64];                      /* certificate CN */
	char fingerprint[SHA256_HEX_BYTES]; /* SHA-256 of the DER leaf */
};
/* Identity of a verified peer certificate; TE_ERR_NOT_FOUND when the peer
 * sent none, TE_ERR_TLS when verification did not succeed. */
int tls_peer_identity(SSL *ssl, struct tls_peer *out);

/* Why verification failed, for a verify result v (SSL_get_verify_result);
 * for a time check that failed under tls_set_clock on this thread, the
 * device clock's gap to the certificate, e.g. "device clock is 2 days
 * behind the server's certificate: certificate is not yet valid". */
const char *tls_verify_text(long v);

/* 0 when ssl's verified peer certificate has this role and, unless name is
 * NULL, this CN; TE_ERR_MISMATCH when not, TE_ERR_TLS when unverified. */
int tls_peer_check(SSL *ssl, const char *role, const char *name);

/* Blocking TCP connect (timeout_s) then TLS handshake with host checked.
 * On success *out_ssl owns the socket (SSL_get_fd). Errors are written to
 * errbuf as human text. If proxy is non-NULL ("http://[user:pass@]host:port")
 * the TCP connection goes through an HTTP CONNECT tunnel. */
int tls_connect(SSL_CTX *ctx, const char *host, const char *port,
                const char *proxy, int timeout_s, SSL **out_ssl,
                char *errbuf, size_t errsz);
/* Close and free an SSL from tls_connect (and its socket). NULL is a no-op. */
void tls_close(SSL *ssl);
/* Write all bytes; read one '\n'-terminated line of at most maxlen bytes
 * (blocking, bounded, timeout_s). */
int tls_write_all(SSL *ssl, const void *buf, size_t len);
int tls_read_line(SSL *ssl, char *out, size_t outsz, int timeout_s);
/* Read what is there, up to len bytes, waiting at most timeout_s for the
 * first byte (then taking, without waiting, whatever else has come): the
 * count (> 0), 0 at the peer's close_notify, or a te_err (TE_ERR_TIMEOUT;
 * TE_ERR_IO for a connection cut without close_notify). */
int tls_read_some(SSL *ssl, void *buf, size_t len, int timeout_s);

/* Copy bytes both ways between ssl and (fd_in -> ssl, ssl -> fd_out) until
 * both directions end or an error. Half-closes are propagated: EOF on fd_in
 * sends TLS close_notify... Returns 0 on orderly end. byte counters may be NULL. */
int tls_pump(SSL *ssl, int fd_in, int fd_out,
             unsigned long long *bytes_in, unsigned long long *bytes_out);

/* Last OpenSSL error as text (thread-local static buffer). */
const char *tls_last_error(void);

/* event_base_free for a loop that ran TLS bufferevents. A bufferevent freed
 * with a deferred callback still queued holds a reference until that
 * callback runs; event_base_free drops the queue without running it, and
 * the connection's SSL and buffers are lost (LeakSanitizer in t045, t663,
 * test_relay under load). This runs what is queued first. NULL is a no-op. */
struct event_base;
void tls_event_base_free(struct event_base *base);

#endif

/* httpproxy.h: HTTP CONNECT proxy URLs and requests, shared by tls_connect
 * (blocking raw streams) and httpc (libevent API requests).
 *
 * A proxy URL is "http://[user:pass@]host:port" with host a name, an IPv4
 * address or a bracketed IPv6 address; user and pass may be percent-encoded.
 * The credentials are secrets: callers wipe a parsed struct with
 * httpproxy_wipe() and never log anything but httpproxy_describe(). */
#ifndef TETHER_HTTPPROXY_H
#define TETHER_HTTPPROXY_H

#include <stddef.h>

#define HTTPPROXY_HOST_BYTES 256
#define HTTPPROXY_PORT_BYTES 8
#define HTTPPROXY_CRED_BYTES 256
/* Longest CONNECT request httpproxy_connect_request() writes. */
#define HTTPPROXY_REQUEST_BYTES 1536

struct httpproxy {
	char host[HTTPPROXY_HOST_BYTES];  /* without brackets */
	char port[HTTPPROXY_PORT_BYTES];  /* digits, 1..65535 */
	char cred[HTTPPROXY_CRED_BYTES];  /* "user:pass", decoded; "" for none */
};

/* Parse a proxy URL. TE_ERR_INVALID for anything else (https:// proxies,
 * missing port, a NUL or over-long credential). */
int httpproxy_parse(const char *url, struct httpproxy *out);
void httpproxy_wipe(struct httpproxy *p);
/* "host:port" of a proxy URL, credentials left out, for log lines. */
int httpproxy_describe(const char *url, char *out, size_t outsz);
/* "CONNECT host:port HTTP/1.1" with Host and, when the URL had credentials,
 * "Proxy-Authorization: Basic ...". out holds a secret: wipe it after use.
 * host must not contain CR, LF, spaces or control bytes. */
int httpproxy_connect_request(const struct httpproxy *p, const char *host,
                              const char *port, char *out, size_t outsz,
                              size_t *outlen);
/* Whether a NO_PROXY list ("a.example,.b.example,10.0.0.1,*") names host:
 * exact match, or a domain suffix at a label boundary; "*" matches all.
 * Ports in list entries are ignored. NULL or "" matches nothing. */
int httpproxy_no_proxy_match(const char *no_proxy, const char *host);
/* The proxy the environment names for a connection to dest (an https://
 * URL or a bare host name): HTTPS_PROXY, else https_proxy, unless NO_PROXY
 * (else no_proxy) names dest's host (httpproxy_no_proxy_match). NULL means
 * connect directly. The result points into the environment and may hold a
 * password: never log it (see httpproxy_describe). Programs with their own
 * proxy setting (agent `proxy` key, `tether login --proxy`) check that
 * first and call this only when it is unset. */
const char *httpproxy_from_env(const char *dest);
/* Text for a proxy's refusal of CONNECT with this status. */
const char *httpproxy_status_text(int status);

#endif

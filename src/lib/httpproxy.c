/* httpproxy.c: HTTP CONNECT proxy URLs and requests.
 *
 * Parsing is hand-written and bounded rather than through evhttp_uri so the
 * blocking tls_connect path and the libevent httpc path read a proxy URL
 * exactly the same way, and so percent-decoded credentials land only in a
 * buffer we wipe. */
#include "httpproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"

static int httpproxy_hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int httpproxy_pct_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && httpproxy_hexval(s[i + 1]) >= 0 &&
		    httpproxy_hexval(s[i + 2]) >= 0) {
			c = (char)(httpproxy_hexval(s[i + 1]) * 16 + httpproxy_hexval(s[i + 2]));
			i += 2;
		}
		/* A decoded CR or LF would end the header line it goes into;
		 * base64 makes that harmless, but such a password is a typo. */
		if (c == '\0' || c == '\r' || c == '\n' || o + 1 >= outsz)
			return TE_ERR_INVALID;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* Bytes allowed in a host name or address literal. */
static int httpproxy_host_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
		      c == '_' || c == '%'))
			return 0;
	}
	return 1;
}

static int httpproxy_port_ok(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

int httpproxy_parse(const char *url, struct httpproxy *p)
{
	const char *s, *at, *hp, *colon, *end, *q;
	size_t hl, pl;
	int r = TE_ERR_INVALID;

	memset(p, 0, sizeof(*p));
	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
		goto out;
	s = url + 7;
	end = s + strcspn(s, "/?#");
	/* Only "/" (or nothing) may follow the authority. */
	if (*end != '\0' && strcmp(end, "/") != 0)
		goto out;
	at = NULL;
	for (q = s; q < end; q++)
		if (*q == '@')
			at = q; /* the last '@': a password may hold an unencoded one */
	hp = s;
	if (at != NULL) {
		if (httpproxy_pct_decode(s, (size_t)(at - s), p->cred,
		                         sizeof(p->cred) - 1) != 0)
			goto out;
		if (strchr(p->cred, ':') == NULL)  /* "user@": empty password */
			strcat(p->cred, ":");
		hp = at + 1;
	}
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));
		if (rb == NULL || rb + 1 >= end || rb[1] != ':')
			goto out;
		hl = (size_t)(rb - hp - 1);
		colon = rb + 1;
		hp++;
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		if (colon == NULL)
			goto out;
		hl = (size_t)(colon - hp);
	}
	pl = (size_t)(end - colon - 1);
	if (hl >= sizeof(p->host) || !httpproxy_host_ok(hp, hl) ||
	    pl >= sizeof(p->port) || !httpproxy_port_ok(colon + 1, pl))
		goto out;
	memcpy(p->host, hp, hl);
	memcpy(p->port, colon + 1, pl);
	r = 0;
out:
	if (r != 0)
		httpproxy_wipe(p);
	return r;
}

void httpproxy_wipe(struct httpproxy *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, sizeof(*p));
}

/* "host:port", with an IPv6 host in brackets. TE_ERR_TOO_LONG when it does
 * not fit out. */
static int httpproxy_hostport(const char *host, const char *port, char *out,
                              size_t outsz)
{
	int n = snprintf(out, outsz, strchr(host, ':') ? "[%s]:%s" : "%s:%s",
	                 host, port);

	return n < 0 || (size_t)n >= outsz ? TE_ERR_TOO_LONG : 0;
}

int httpproxy_describe(const char *url, char *out, size_t outsz)
{
	struct httpproxy p;
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if ((r = httpproxy_parse(url, &p)) != 0)
		return r;
	r = httpproxy_hostport(p.host, p.port, out, outsz);
	httpproxy_wipe(&p);
	return r;
}

int httpproxy_connect_request(const struct httpproxy *p, const char *host,
                              const char *port, char *out, size_t outsz,
                              size_t *outlen)
{
	char target[HTTPPROXY_HOST_BYTES + HTTPPROXY_PORT_BYTES + 4];
	char auth[HTTPPROXY_CRED_BYTES * 2 + 64];
	int n, r = TE_ERR_TOO_LONG, bl;

	*outlen = 0;
	auth[0] = '\0';
	if (host == NULL || port == NULL || !httpproxy_host_ok(host, strlen(host)) ||
	    !httpproxy_port_ok(port, strlen(port)))
		return TE_ERR_INVALID;
	if (httpproxy_hostport(host, port, target, sizeof(target)) != 0)
		goto out;
	if (p->cred[0] != '\0') {
		/* 4 * ceil(255 / 3) = 340 base64 bytes fit in auth */
		memcpy(auth, "Proxy-Authorization: Basic ", 27);
		bl = EVP_EncodeBlock((unsigned char *)auth + 27,
		                     (const unsigned char *)p->cred, (int)strlen(p->cred));
		memcpy(auth + 27 + bl, "\r\n", 3);
	}
	n = snprintf(out, outsz, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s"
	             "Proxy-Connection: Keep-Alive\r\n\r\n", target, target, auth);
	if (n < 0 || (size_t)n >= outsz) {
		OPENSSL_cleanse(out, outsz);
		goto out;
	}
	*outlen = (size_t)n;
	r = 0;
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	return r;
}

/* One NO_PROXY entry (without its port) against host. */
static int httpproxy_entry_match(const char *e, size_t el, const char *host)
{
	size_t hl = strlen(host);

	if (el == 1 && e[0] == '*')
		return 1;
	if (el > 0 && e[0] == '.') {  /* ".example.org" == "example.org" suffix */
		e++;
		el--;
	}
	if (el == 0 || el > hl)
		return 0;
	if (strncasecmp(host + hl - el, e, el) != 0)
		return 0;
	return el == hl || host[hl - el - 1] == '.';
}

int httpproxy_no_proxy_match(const char *no_proxy, const char *host)
{
	const char *s = no_proxy, *e, *c;
	size_t el;

	if (no_proxy == NULL || host == NULL || host[0] == '\0')
		return 0;
	while (*s != '\0') {
		s += strspn(s, ", \t");
		el = strcspn(s, ", \t");
		e = s;
		s += el;
		if (el > 0 && e[0] == '[') {          /* "[::1]:port" */
			c = memchr(e, ']', el);
			if (c != NULL && httpproxy_entry_match(e + 1, (size_t)(c - e - 1), host))
				return 1;
			continue;
		}
		c = memchr(e, ':', el);
		/* a single ':' is a port; more mean a bare IPv6 address */
		if (c != NULL && memchr(c + 1, ':', el - (size_t)(c - e) - 1) == NULL)
			el = (size_t)(c - e);
		if (httpproxy_entry_match(e, el, host))
			return 1;
	}
	return 0;
}

/* The host of "https://host[:port][/path]" (brackets of an IPv6 literal
 * removed), or s itself when it is not a URL. TE_ERR_TOO_LONG when it does
 * not fit out. */
static int httpproxy_dest_host(const char *s, char *out, size_t outsz)
{
	size_t n;

	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	if (s[0] == '[') {
		s++;
		n = strcspn(s, "]");
	} else {
		n = strcspn(s, ":/");
	}
	if (n >= outsz)
		return TE_ERR_TOO_LONG;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

const char *httpproxy_from_env(const char *dest)
{
	char host[HTTPPROXY_HOST_BYTES];
	const char *p, *no;

	if ((p = getenv("HTTPS_PROXY")) == NULL || p[0] == '\0')
		p = getenv("https_proxy");
	if (p == NULL || p[0] == '\0')
		return NULL;
	if ((no = getenv("NO_PROXY")) == NULL || no[0] == '\0')
		no = getenv("no_proxy");
	/* A host too long to be a DNS name matches no NO_PROXY entry; it will
	 * fail to resolve either way. */
	if (httpproxy_dest_host(dest != NULL ? dest : "", host, sizeof(host)) != 0)
		return p;
	return httpproxy_no_proxy_match(no, host) ? NULL : p;
}

const char *httpproxy_status_text(int status)
{
	switch (status) {
	/* Before the tunnel exists only the proxy can answer, so a 401 is
	 * the proxy's too (tinyproxy 1.11 sends 401 for a bad Basic login). */
	case 401:
	case 407: return "proxy authentication required: check the proxy user "
	                 "and password";
	case 403: return "forbidden by the proxy";
	case 400: return "the proxy rejected the request";
	case 502: case 504: return "the proxy cannot reach the destination";
	default:  return "the proxy refused the tunnel";
	}
}

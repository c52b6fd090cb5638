/* notify_send.c: the webhook POST and the notification command (see
 * notify_send.h). Every attempt uses a fresh connection or process and
 * ends in exactly one callback: a response, an error, or the guard timer. */
#include "notify_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bounds.h"
#include "err.h"
#include "notify.h"
#include "tls.h"

#define NOTIFY_HOOK_PATH_BYTES     1024
#define NOTIFY_HOOK_MAX_REPLY_BYTES (64 * 1024) /* the receiver's answer is ignored */
#define NOTIFY_GUARD_EXTRA_S       2            /* past libevent's own timeout */

/* ---- webhook ---- */

struct notify_hook {
	struct event_base *base;
	struct evdns_base *dns;          /* only for a host name, not a literal */
	SSL_CTX *tls;                    /* NULL for http:// */
	char host[256];                  /* to connect to and verify */
	char hosthdr[300];               /* the Host header */
	int port;
	char path[NOTIFY_HOOK_PATH_BYTES]; /* path and query */
	struct evhttp_connection *conn;  /* the attempt in flight */
	struct evhttp_request *req;      /* its request (owned by conn; compared only) */
	struct bufferevent *bev;         /* its TLS bufferevent (owned by conn) */
	struct evhttp_connection *dead;  /* a finished one, freed from reaper */
	struct event *reaper;
	struct event *guard;
	enum evhttp_request_error req_err;
	int have_req_err;
	notify_done_cb cb;
	void *arg;
};

static void notify_hook_reap(evutil_socket_t fd, short what, void *arg)
{
	struct notify_hook *h = arg;

	if (h->dead != NULL) {
		evhttp_connection_free(h->dead);
		h->dead = NULL;
	}
}

/* Detach the attempt's connection. It cannot be freed inside its own
 * callback, so the reaper frees it once the loop is back. */
static void notify_hook_retire(struct notify_hook *h)
{
	static const struct timeval now = { 0, 0 };

	event_del(h->guard);
	if (h->conn == NULL)
		return;
	if (h->dead != NULL)
		evhttp_connection_free(h->dead);
	h->dead = h->conn;
	h->conn = NULL;
	h->bev = NULL;
	evtimer_add(h->reaper, &now);
}

static void notify_hook_finish(struct notify_hook *h, int ok, const char *err)
{
	notify_done_cb cb = h->cb;
	void *arg = h->arg;

	notify_hook_retire(h);
	h->req = NULL;
	h->cb = NULL;
	h->arg = NULL;
	if (cb != NULL)
		cb(ok, err, arg);
}

static int notify_hook_is_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int notify_hook_parse(struct notify_hook *h, const char *url)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *scheme, *host, *path, *query;
	int rc = TE_ERR_INVALID, https, n;
	size_t hl;

	if (uri == NULL)
		return TE_ERR_INVALID;
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	if (scheme == NULL || host == NULL || host[0] == '\0' ||
	    evhttp_uri_get_userinfo(uri) != NULL || evhttp_uri_get_fragment(uri) != NULL)
		goto out;
	if (strcasecmp(scheme, "https") == 0)
		https = 1;
	else if (strcasecmp(scheme, "http") == 0)
		https = 0;
	else
		goto out;
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(h->host))
		goto out;
	memcpy(h->host, host, hl);
	h->host[hl] = '\0';
	h->port = evhttp_uri_get_port(uri);
	if (h->port == -1)
		h->port = https ? 443 : 80;
	if (h->port <= 0 || h->port > 65535)
		goto out;
	n = snprintf(h->hosthdr, sizeof(h->hosthdr), strchr(h->host, ':') ? "[%s]:%d" : "%s:%d",
	             h->host, h->port);
	if (n < 0 || (size_t)n >= sizeof(h->hosthdr))
		goto out;
	n = snprintf(h->path, sizeof(h->path), "%s%s%s",
	             path != NULL && path[0] != '\0' ? path : "/",
	             query != NULL ? "?" : "", query != NULL ? query : "");
	if (n < 0 || (size_t)n >= sizeof(h->path))
		goto out;
	rc = https ? 1 : 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

static void notify_hook_guard(evutil_socket_t fd, short what, void *arg)
{
	struct notify_hook *h = arg;
	char err[64];

	snprintf(err, sizeof(err), "timed out after %d s", NOTIFY_TIMEOUT_S);
	/* Not inside the connection's own callback: free it now, which drops
	 * its request without calling back. */
	if (h->conn != NULL)
		evhttp_connection_free(h->conn);
	h->conn = NULL;
	h->bev = NULL;
	notify_hook_finish(h, 0, err);
}

int notify_hook_new(struct event_base *base, const char *url, const char *ca_file,
                    struct notify_hook **out, char *errbuf, size_t errsz)
{
	struct notify_hook *h;
	int rc;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return TE_ERR_NOMEM;
	h->base = base;
	if ((rc = notify_hook_parse(h, url)) < 0) {
		/* Not echoed: a URL refused for its user:password part would leak it. */
		snprintf(errbuf, errsz, "notify.webhook_url is not a valid http(s)://HOST[:PORT]/PATH "
		         "URL (no user:password@, no #fragment)");
		goto fail;
	}
	if (rc == 1) {
		if (ca_file == NULL || ca_file[0] == '\0') {
			snprintf(errbuf, errsz, "an https notify.webhook_url needs notify.webhook_ca");
			rc = TE_ERR_INVALID;
			goto fail;
		}
		if ((rc = tls_client_ctx_new(ca_file, NULL, NULL, &h->tls)) != 0) {
			snprintf(errbuf, errsz, "cannot load notify.webhook_ca %s: %s", ca_file,
			         te_strerror(rc));
			goto fail;
		}
	}
	if (!notify_hook_is_literal(h->host) &&
	    (h->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		snprintf(errbuf, errsz, "cannot set up name resolution for %s", h->host);
		rc = TE_ERR_SYS;
		goto fail;
	}
	if ((h->reaper = evtimer_new(base, notify_hook_reap, h)) == NULL ||
	    (h->guard = evtimer_new(base, notify_hook_guard, h)) == NULL) {
		snprintf(errbuf, errsz, "out of memory");
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	*out = h;
	return 0;
fail:
	notify_hook_free(h);
	return rc;
}

void notify_hook_free(struct notify_hook *h)
{
	if (h == NULL)
		return;
	/* Freeing a connection drops its request without calling back. */
	if (h->conn != NULL)
		evhttp_connection_free(h->conn);
	if (h->dead != NULL)
		evhttp_connection_free(h->dead);
	if (h->reaper != NULL)
		event_free(h->reaper);
	if (h->guard != NULL)
		event_free(h->guard);
	if (h->dns != NULL)
		evdns_base_free(h->dns, 0);
	SSL_CTX_free(h->tls);
	free(h);
}

/* Why an attempt got no HTTP status, as text for the log and last_error. */
static void notify_hook_describe(struct notify_hook *h, int saved_errno, char *buf, size_t sz)
{
	SSL *ssl = h->bev != NULL ? bufferevent_openssl_get_ssl(h->bev) : NULL;
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (h->have_req_err && h->req_err == EVREQ_HTTP_TIMEOUT)
		snprintf(buf, sz, "timed out after %d s", NOTIFY_TIMEOUT_S);
	else if (v != X509_V_OK)
		snprintf(buf, sz, "certificate verify failed: %s", tls_verify_text(v));
	else if (h->have_req_err && h->req_err == EVREQ_HTTP_DATA_TOO_LONG)
		snprintf(buf, sz, "response too large");
	else if (h->have_req_err && h->req_err == EVREQ_HTTP_INVALID_HEADER)
		snprintf(buf, sz, "malformed response");
	else if (saved_errno == ECONNREFUSED || saved_errno == ENOTCONN)
		snprintf(buf, sz, "cannot connect to %.100s", h->hosthdr);
	else
		snprintf(buf, sz, "connection to %.100s closed without a response", h->hosthdr);
}

static void notify_hook_req_error(enum evhttp_request_error err, void *arg)
{
	struct notify_hook *h = arg;

	h->req_err = err;
	h->have_req_err = 1;
}

static void notify_hook_done(struct evhttp_request *req, void *arg)
{
	struct notify_hook *h = arg;
	int saved_errno = errno, status;
	char err[160];

	/* Nothing to report for an attempt already given up (guard timer), nor
	 * for a retired connection that still calls back. */
	if (h->cb == NULL || (req != NULL && req != h->req))
		return;
	status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (status >= 200 && status <= 299) {
		notify_hook_finish(h, 1, NULL);
		return;
	}
	if (status > 0)
		snprintf(err, sizeof(err), "webhook answered HTTP %d", status);
	else
		notify_hook_describe(h, saved_errno, err, sizeof(err));
	notify_hook_finish(h, 0, err);
}

/* A fresh connection for one attempt (TLS when the URL is https). */
static int notify_hook_connect(struct notify_hook *h)
{
	SSL *ssl = NULL;

	if (h->tls != NULL) {
		if ((ssl = SSL_new(h->tls)) == NULL)
			return TE_ERR_NOMEM;
		/* Verification is forced on the connection itself; with a wrong
		 * CA or name the handshake fails and nothing is sent. */
		if (tls_client_set_host(ssl, h->host) != 0 ||
		    (!notify_hook_is_literal(h->host) &&
		     SSL_set_tlsext_host_name(ssl, h->host) != 1)) {
			SSL_free(ssl);
			return TE_ERR_TLS;
		}
		SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(h->tls));
		h->bev = bufferevent_openssl_socket_new(h->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (h->bev == NULL) {
			SSL_free(ssl);
			return TE_ERR_NOMEM;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(h->bev, 1);
	}
	h->conn = evhttp_connection_base_bufferevent_new(h->base, h->dns, h->bev, h->host,
	                                                 (unsigned short)h->port);
	if (h->conn == NULL) {
		if (h->bev != NULL)
			bufferevent_free(h->bev);
		h->bev = NULL;
		return TE_ERR_NOMEM;
	}
	evhttp_connection_set_max_body_size(h->conn, NOTIFY_HOOK_MAX_REPLY_BYTES);
	evhttp_connection_set_max_headers_size(h->conn, MAX_HTTP_HEADERS_BYTES);
	evhttp_connection_set_timeout(h->conn, NOTIFY_TIMEOUT_S);
	evhttp_connection_set_retries(h->conn, 0);
	return 0;
}

static int notify_hook_headers(struct notify_hook *h, struct evhttp_request *req,
                               const char *event, int64_t id, int64_t timestamp,
                               const char *sig_hex)
{
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char idtext[24], tstext[24], sig[8 + NOTIFY_SIG_HEX_BYTES];

	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	snprintf(tstext, sizeof(tstext), "%lld", (long long)timestamp);
	snprintf(sig, sizeof(sig), "sha256=%s", sig_hex);
	if (evhttp_add_header(hd, "Host", h->hosthdr) != 0 ||
	    evhttp_add_header(hd, "Content-Type", "application/json") != 0 ||
	    evhttp_add_header(hd, "User-Agent", "tether-server/" TETHER_VERSION) != 0 ||
	    evhttp_add_header(hd, "Connection", "close") != 0 ||
	    evhttp_add_header(hd, "X-Tether-Event", event) != 0 ||
	    evhttp_add_header(hd, "X-Tether-Delivery", idtext) != 0 ||
	    evhttp_add_header(hd, "X-Tether-Timestamp", tstext) != 0 ||
	    evhttp_add_header(hd, "X-Tether-Signature", sig) != 0)
		return TE_ERR_NOMEM;
	return 0;
}

int notify_hook_post(struct notify_hook *h, const char *event, int64_t id,
                     int64_t timestamp, const char *sig_hex, const char *body,
                     notify_done_cb cb, void *arg)
{
	struct timeval guard = { NOTIFY_TIMEOUT_S + NOTIFY_GUARD_EXTRA_S, 0 };
	struct evhttp_request *req = NULL;
	int rc;

	if (h->cb != NULL || h->conn != NULL)
		return TE_ERR_INVALID;
	h->have_req_err = 0;
	if ((rc = notify_hook_connect(h)) != 0)
		return rc;
	if ((req = evhttp_request_new(notify_hook_done, h)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	evhttp_request_set_error_cb(req, notify_hook_req_error);
	if ((rc = notify_hook_headers(h, req, event, id, timestamp, sig_hex)) != 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body)) != 0) {
		rc = rc != 0 ? rc : TE_ERR_NOMEM;
		goto fail;
	}
	h->cb = cb;
	h->arg = arg;
	h->req = req;
	/* On failure evhttp_make_request has freed the request already. */
	if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, h->path) != 0) {
		req = NULL;
		h->req = NULL;
		h->cb = NULL;
		h->arg = NULL;
		rc = TE_ERR_IO;
		goto fail;
	}
	evtimer_add(h->guard, &guard);
	return 0;
fail:
	if (req != NULL)
		evhttp_request_free(req);
	evhttp_connection_free(h->conn);
	h->conn = NULL;
	h->bev = NULL;
	return rc;
}

/* ---- command ---- */

struct notify_cmd {
	struct event_base *base;
	char path[PATH_MAX];
	pid_t pid;                       /* 0: none running */
	int fd;                          /* write end of its stdin, -1 when closed */
	char *buf;                       /* the body still to write */
	size_t len, off;
	struct event *wr, *chld, *guard;
	int timed_out;
	notify_done_cb cb;
	void *arg;
};

int notify_cmd_new(struct event_base *base, const char *path, struct notify_cmd **out)
{
	struct notify_cmd *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TE_ERR_NOMEM;
	c->base = base;
	c->fd = -1;
	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path)) {
		free(c);
		return TE_ERR_TOO_LONG;
	}
	*out = c;
	return 0;
}

/* The command and everything in its process group. */
static void notify_cmd_kill(struct notify_cmd *c)
{
	if (kill(-c->pid, SIGKILL) != 0)
		(void)kill(c->pid, SIGKILL);
}

static void notify_cmd_close_stdin(struct notify_cmd *c)
{
	if (c->wr != NULL) {
		event_free(c->wr);
		c->wr = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
}

static void notify_cmd_clear(struct notify_cmd *c)
{
	notify_cmd_close_stdin(c);
	if (c->chld != NULL) {
		event_free(c->chld);
		c->chld = NULL;
	}
	if (c->guard != NULL) {
		event_free(c->guard);
		c->guard = NULL;
	}
	c->pid = 0;
	c->timed_out = 0;
}

void notify_cmd_free(struct notify_cmd *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0) {
		notify_cmd_kill(c);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	notify_cmd_clear(c);
	free(c);
}

static void notify_cmd_write(evutil_socket_t fd, short what, void *arg)
{
	struct notify_cmd *c = arg;

	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);
		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (c->wr != NULL)
				event_add(c->wr, NULL);
			return;
		}
		break;  /* EPIPE: it stopped reading; its exit status decides */
	}
	notify_cmd_close_stdin(c);
}

/* SIGCHLD (or the guard's kill): reap our child and report. */
static void notify_cmd_reap(evutil_socket_t sig, short what, void *arg)
{
	struct notify_cmd *c = arg;
	notify_done_cb cb = c->cb;
	void *cb_arg = c->arg;
	char err[96];
	int status, ok = 0;
	pid_t r;

	if (c->pid <= 0)
		return;
	while ((r = waitpid(c->pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return;  /* another child, or not yet */
	if (r < 0)
		snprintf(err, sizeof(err), "cannot wait for the command: %s", strerror(errno));
	else if (c->timed_out)
		snprintf(err, sizeof(err), "command timed out after %d s", NOTIFY_TIMEOUT_S);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ok = 1;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(err, sizeof(err), "command could not be run (exit 127)");
	else if (WIFEXITED(status))
		snprintf(err, sizeof(err), "command exited with status %d", WEXITSTATUS(status));
	else
		snprintf(err, sizeof(err), "command killed by signal %d",
		         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	notify_cmd_clear(c);
	c->cb = NULL;
	c->arg = NULL;
	if (cb != NULL)
		cb(ok, ok ? NULL : err, cb_arg);
}

static void notify_cmd_guard(evutil_socket_t fd, short what, void *arg)
{
	struct notify_cmd *c = arg;

	if (c->pid <= 0)
		return;
	c->timed_out = 1;
	notify_cmd_kill(c);
	notify_cmd_reap(SIGCHLD, 0, c);
}

/* In the child: stdin from the pipe, stdout to /dev/null, stderr kept (the
 * server's log), every other descriptor closed, a small fixed environment. */
static void notify_cmd_child(const char *path, int in, const char *event, int64_t id)
{
	char ev[NOTIFY_EVENT_BYTES + 16], idv[48];
	char *argv[] = { (char *)path, NULL };
	char *envp[] = { ev, idv, (char *)"PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	int nul;

	snprintf(ev, sizeof(ev), "TETHER_EVENT=%s", event);
	snprintf(idv, sizeof(idv), "TETHER_DELIVERY=%lld", (long long)id);
	signal(SIGPIPE, SIG_DFL);
	/* Its own process group, so a timeout kills what it started too. */
	(void)setpgid(0, 0);
	if (dup2(in, 0) < 0)
		_exit(127);
	if ((nul = open("/dev/null", O_WRONLY)) < 0 || dup2(nul, 1) < 0)
		_exit(127);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	execve(path, argv, envp);
	_exit(127);
}

int notify_cmd_run(struct notify_cmd *c, const char *event, int64_t id,
                   const char *body, notify_done_cb cb, void *arg)
{
	struct timeval guard = { NOTIFY_TIMEOUT_S, 0 };
	int p[2] = { -1, -1 };
	pid_t pid;

	if (c->pid > 0)
		return TE_ERR_INVALID;
	c->len = strlen(body);
	c->off = 0;
	if ((c->buf = malloc(c->len + 1)) == NULL)
		return TE_ERR_NOMEM;
	memcpy(c->buf, body, c->len + 1);
	if ((c->chld = evsignal_new(c->base, SIGCHLD, notify_cmd_reap, c)) == NULL ||
	    (c->guard = evtimer_new(c->base, notify_cmd_guard, c)) == NULL ||
	    event_add(c->chld, NULL) != 0)
		goto fail;
	if (pipe2(p, O_CLOEXEC) != 0)
		goto fail;
	if ((pid = fork()) < 0)
		goto fail;
	if (pid == 0)
		notify_cmd_child(c->path, p[0], event, id);
	close(p[0]);
	(void)setpgid(pid, pid);  /* also here: whichever runs first */
	c->pid = pid;
	c->fd = p[1];
	c->cb = cb;
	c->arg = arg;
	(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	if ((c->wr = event_new(c->base, c->fd, EV_WRITE, notify_cmd_write, c)) == NULL) {
		/* Without stdin it still runs; close it so it sees EOF. */
		notify_cmd_close_stdin(c);
	}
	evtimer_add(c->guard, &guard);
	if (c->fd >= 0)
		notify_cmd_write(c->fd, EV_WRITE, c);
	/* The SIGCHLD event was armed before the fork: its exit is not missed. */
	return 0;
fail:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	notify_cmd_clear(c);
	return TE_ERR_SYS;
}

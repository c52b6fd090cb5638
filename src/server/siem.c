/* siem.c: export the audit trail to syslog over TLS and to a JSON-lines
 * file, at least once, with a cursor per sink in the store. */
#include "siem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define SIEM_SINK_SYSLOG "syslog"
#define SIEM_SINK_JSONL  "jsonl"

struct siem {
	struct server *srv;
	struct event *tick;
	/* JSON-lines */
	int jsonl_fd;                    /* -1 when off or not open */
	off_t jsonl_size;
	int jsonl_failing;               /* a failure was logged; said again on recovery */
	/* syslog */
	SSL_CTX *tls;                    /* NULL when off */
	struct bufferevent *bev;         /* the batch in flight */
	struct event *guard;             /* its time limit */
	int64_t batch_last;              /* the last seq of the batch in flight */
	int sent;                        /* it is written out and our side closed */
	size_t batch_n;
	int failures;
	time_t next_try;
	int warned;                      /* the outage was logged */
};

/* ---- formatting ----------------------------------------------------------- */

char *siem_json(const struct audit_record *rec)
{
	json_error_t jerr;
	json_t *detail = json_loads(rec->detail, JSON_DECODE_ANY, &jerr);
	json_t *o;
	char *text;

	if (detail == NULL)
		detail = json_string(rec->detail);
	o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s}", "seq", (json_int_t)rec->seq,
	              "ts", rec->ts, "actor", rec->actor, "action", rec->action,
	              "detail", detail, "prev", rec->prev, "hash", rec->hash);
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

/* RFC 5424 MSGID and APP-NAME: 1..32 printable US-ASCII, no space. */
static void siem_token(const char *in, char *out, size_t outsz)
{
	size_t n = 0;

	for (; in[n] != '\0' && n + 1 < outsz && n < 32; n++) {
		if (in[n] < 33 || in[n] > 126) {
			snprintf(out, outsz, "-");
			return;
		}
		out[n] = in[n];
	}
	out[n] = '\0';
	if (n == 0 || in[n] != '\0')
		snprintf(out, outsz, "-");
}

char *siem_frame(const struct audit_record *rec, const char *host, long pid, size_t *len)
{
	char msgid[33], hostname[256], head[1024], *json, *out;
	int hn, total;
	size_t hl, jl;

	*len = 0;
	if ((json = siem_json(rec)) == NULL)
		return NULL;
	siem_token(rec->action, msgid, sizeof(msgid));
	/* HOSTNAME is 1..255 printable US-ASCII. */
	snprintf(hostname, sizeof(hostname), "%s", host);
	for (char *p = hostname; *p != '\0'; p++)
		if (*p < 33 || *p > 126)
			*p = '_';
	/* The seq, hash and prev are digits and hex: nothing to escape in the
	 * SD-PARAM values. MSG is the JSON, UTF-8 with a BOM (RFC 5424 6.4),
	 * ASCII-only here since the JSON escapes everything else. */
	hn = snprintf(head, sizeof(head), "<%d>1 %s %s tether-server %ld %s [tether@" SIEM_PEN
	              " seq=\"%lld\" hash=\"%s\" prev=\"%s\"] \xef\xbb\xbf",
	              SIEM_FACILITY * 8 + SIEM_SEVERITY, rec->ts[0] ? rec->ts : "-",
	              hostname[0] ? hostname : "-", pid, msgid, (long long)rec->seq, rec->hash,
	              rec->prev);
	if (hn < 0 || (size_t)hn >= sizeof(head)) {
		free(json);
		return NULL;
	}
	hl = (size_t)hn;
	jl = strlen(json);
	/* "LEN " + message: LEN is at most 20 digits. */
	if ((out = malloc(hl + jl + 24)) == NULL) {
		free(json);
		return NULL;
	}
	total = snprintf(out, 24, "%zu ", hl + jl);
	memcpy(out + total, head, hl);
	memcpy(out + total + hl, json, jl);
	*len = (size_t)total + hl + jl;
	free(json);
	return out;
}

/* ---- the JSON-lines file --------------------------------------------------- */

static int siem_jsonl_open(struct siem *s)
{
	const char *path = s->srv->cfg.siem.jsonl;
	struct stat st;

	s->jsonl_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->jsonl_fd < 0 || fstat(s->jsonl_fd, &st) != 0) {
		if (!s->jsonl_failing)
			log_error("siem: cannot open %s: %s; the JSON-lines export waits", path,
			          strerror(errno));
		s->jsonl_failing = 1;
		if (s->jsonl_fd >= 0)
			close(s->jsonl_fd);
		s->jsonl_fd = -1;
		return TE_ERR_IO;
	}
	s->jsonl_size = st.st_size;
	return 0;
}

/* FILE -> FILE.1 -> ... -> FILE.keep (the oldest dropped), then a new FILE. */
static void siem_jsonl_rotate(struct siem *s)
{
	const char *path = s->srv->cfg.siem.jsonl;
	char from[PATH_MAX + 24], to[PATH_MAX + 24], dir[PATH_MAX], *slash;
	long keep = s->srv->cfg.siem.jsonl_keep;
	int dfd;

	close(s->jsonl_fd);
	s->jsonl_fd = -1;
	for (long i = keep - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%ld", path, i);
		snprintf(to, sizeof(to), "%s.%ld", path, i + 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			log_warn("siem: cannot rename %s: %s", from, strerror(errno));
	}
	snprintf(to, sizeof(to), "%s.1", path);
	if (rename(path, to) != 0)
		log_warn("siem: cannot rotate %s: %s", path, strerror(errno));
	/* The renames survive a power cut before the next line goes out. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	log_info("siem: rotated %s", path);
	(void)siem_jsonl_open(s);
}

struct siem_lines {
	char *buf;
	size_t len, cap;
	int64_t last;
	int rc;
};

static int siem_lines_add(const struct audit_record *rec, void *arg)
{
	struct siem_lines *l = arg;
	char *line = siem_json(rec), *nb;
	size_t n;

	if (line == NULL)
		return TE_ERR_NOMEM;
	n = strlen(line);
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->cap ? l->cap * 2 : 64 * 1024) + n + 1;

		if ((nb = realloc(l->buf, cap)) == NULL) {
			free(line);
			return TE_ERR_NOMEM;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, line, n);
	l->buf[l->len + n] = '\n';
	l->len += n + 1;
	l->last = rec->seq;
	free(line);
	return 0;
}

/* One batch to the file; 1 when there may be more, 0 when caught up. */
static int siem_jsonl_batch(struct siem *s)
{
	struct store *st = s->srv->store;
	struct siem_lines l = { 0 };
	int64_t cur;
	int more = 0;

	if (s->jsonl_fd < 0 && siem_jsonl_open(s) != 0)
		return 0;
	if (store_siem_cursor(st, SIEM_SINK_JSONL, &cur) != 0 ||
	    store_audit_after(st, cur, SIEM_BATCH, siem_lines_add, &l) != 0 || l.len == 0)
		goto out;
	if (fd_write_all(s->jsonl_fd, l.buf, l.len) != 0 || fsync(s->jsonl_fd) != 0) {
		/* A short write leaves a partial line: the batch is written again
		 * after it, whole, and a reader skips what does not parse. */
		if (!s->jsonl_failing)
			log_error("siem: cannot write %s: %s; retrying", s->srv->cfg.siem.jsonl,
			          strerror(errno));
		s->jsonl_failing = 1;
		close(s->jsonl_fd);
		s->jsonl_fd = -1;
		goto out;
	}
	if (s->jsonl_failing)
		log_info("siem: writing %s again", s->srv->cfg.siem.jsonl);
	s->jsonl_failing = 0;
	s->jsonl_size += (off_t)l.len;
	if (store_siem_cursor_set(st, SIEM_SINK_JSONL, l.last) != 0)
		goto out;
	more = l.last - cur >= SIEM_BATCH;
	if (s->jsonl_size >= s->srv->cfg.siem.jsonl_max_bytes)
		siem_jsonl_rotate(s);
out:
	free(l.buf);
	return more;
}

/* ---- syslog over TLS --------------------------------------------------------- */

static void siem_syslog_end(struct siem *s, const char *fail)
{
	const struct srvconf_siem *c = &s->srv->cfg.siem;
	SSL *ssl = s->bev != NULL ? bufferevent_openssl_get_ssl(s->bev) : NULL;
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	int delay;

	if (s->guard != NULL)
		event_del(s->guard);
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (fail == NULL) {
		if (store_siem_cursor_set(s->srv->store, SIEM_SINK_SYSLOG, s->batch_last) != 0) {
			fail = "the cursor could not be kept";
		} else {
			if (s->warned)
				log_info("siem: syslog receiver %s:%s takes records again", c->syslog_host,
				         c->syslog_port);
			s->warned = 0;
			s->failures = 0;
			s->next_try = 0;
			event_active(s->tick, EV_TIMEOUT, 0);   /* the next batch at once */
			return;
		}
	}
	if (s->failures < 16)
		s->failures++;
	delay = SIEM_BACKOFF_MIN_S << (s->failures - 1);
	if (delay > SIEM_BACKOFF_MAX_S || delay <= 0)
		delay = SIEM_BACKOFF_MAX_S;
	s->next_try = time(NULL) + delay;
	if (!s->warned)
		log_warn("siem: syslog receiver %s:%s: %s%s%s; the records wait and are sent "
		         "again (retry in %d s)", c->syslog_host, c->syslog_port, fail,
		         v != X509_V_OK ? ": " : "", v != X509_V_OK ? tls_verify_text(v) : "", delay);
	s->warned = 1;
}

static void siem_syslog_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	siem_syslog_end(arg, "no close within " "10 s");
}

static void siem_syslog_read(struct bufferevent *bev, void *arg)
{
	/* A syslog receiver sends nothing: whatever comes is dropped. */
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

/* The batch is in the kernel's hands: say we are done and wait for the
 * receiver to close in turn (it read everything before our close). */
static void siem_syslog_event(struct bufferevent *bev, short what, void *arg);

static void siem_syslog_written(struct bufferevent *bev, void *arg)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	struct siem *s = arg;

	s->sent = 1;
	bufferevent_setcb(bev, siem_syslog_read, NULL, siem_syslog_event, arg);
	if (ssl != NULL)
		(void)SSL_shutdown(ssl);
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void siem_syslog_event(struct bufferevent *bev, short what, void *arg)
{
	struct siem *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && s->sent) {
		siem_syslog_end(s, NULL);
		return;
	}
	log_debug("siem: syslog event 0x%x sent %d errno %d (%s) ssl error %lu", what, s->sent,
	          EVUTIL_SOCKET_ERROR(), strerror(EVUTIL_SOCKET_ERROR()),
	          bufferevent_get_openssl_error(bev));
	siem_syslog_end(s, (what & BEV_EVENT_EOF) ? "closed before the batch was sent" :
	                   "connection or TLS handshake failed");
}

struct siem_frames {
	struct evbuffer *out;
	const char *host;
	int64_t last;
	size_t n;
};

static int siem_frames_add(const struct audit_record *rec, void *arg)
{
	struct siem_frames *f = arg;
	size_t len;
	char *frame = siem_frame(rec, f->host, (long)getpid(), &len);
	int rc;

	if (frame == NULL)
		return TE_ERR_NOMEM;
	rc = evbuffer_add(f->out, frame, len) == 0 ? 0 : TE_ERR_NOMEM;
	free(frame);
	f->last = rec->seq;
	f->n++;
	return rc;
}

static void siem_syslog_batch(struct siem *s)
{
	const struct srvconf_siem *c = &s->srv->cfg.siem;
	struct siem_frames f = { NULL, s->srv->cfg.public_host, 0, 0 };
	struct timeval tv = { SIEM_TIMEOUT_S, 0 };
	int64_t cur;
	SSL *ssl = NULL;

	if (s->bev != NULL || time(NULL) < s->next_try)
		return;
	if (store_siem_cursor(s->srv->store, SIEM_SINK_SYSLOG, &cur) != 0 ||
	    (f.out = evbuffer_new()) == NULL)
		return;
	if (store_audit_after(s->srv->store, cur, SIEM_BATCH, siem_frames_add, &f) != 0 ||
	    f.n == 0)
		goto out;
	if ((ssl = SSL_new(s->tls)) == NULL || tls_client_set_host(ssl, c->syslog_name) != 0) {
		SSL_free(ssl);
		siem_syslog_end(s, "cannot set up TLS");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(s->tls));
	/* rsyslog answers our close_notify by closing the socket without its
	 * own: its FIN is the sign we wait for (an RST stays an error). */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	s->bev = bufferevent_openssl_socket_new(s->srv->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		SSL_free(ssl);
		siem_syslog_end(s, "out of memory");
		goto out;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->batch_last = f.last;
	s->batch_n = f.n;
	s->sent = 0;
	bufferevent_setcb(s->bev, siem_syslog_read, siem_syslog_written, siem_syslog_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_write_buffer(s->bev, f.out) != 0 ||
	    bufferevent_socket_connect_hostname(s->bev, NULL, AF_UNSPEC, c->syslog_host,
	                                        atoi(c->syslog_port)) != 0) {
		siem_syslog_end(s, "cannot connect");
		goto out;
	}
	evtimer_add(s->guard, &tv);
out:
	evbuffer_free(f.out);
}

/* ---- the loop ------------------------------------------------------------------ */

static void siem_tick(evutil_socket_t fd, short what, void *arg)
{
	struct siem *s = arg;
	int i;

	(void)fd;
	(void)what;
	/* A bounded catch-up per tick, so a long trail never stalls the loop. */
	for (i = 0; s->srv->cfg.siem.jsonl[0] && i < 8 && siem_jsonl_batch(s); i++)
		;
	if (s->tls != NULL)
		siem_syslog_batch(s);
}

int siem_start(struct server *srv)
{
	const struct srvconf_siem *c = &srv->cfg.siem;
	struct timeval tv = { SIEM_POLL_MS / 1000, (SIEM_POLL_MS % 1000) * 1000 };
	struct siem *s;
	int rc;

	if (c->syslog_host[0] == '\0' && c->jsonl[0] == '\0')
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TE_ERR_NOMEM;
	s->srv = srv;
	s->jsonl_fd = -1;
	if (c->syslog_host[0] != '\0' &&
	    (rc = tls_client_ctx_new(c->syslog_ca, NULL, NULL, &s->tls)) != 0) {
		log_error("siem: cannot load siem.syslog_ca %s: %s", c->syslog_ca, te_strerror(rc));
		free(s);
		return rc;
	}
	/* The audit trail leaves on TLS 1.3 only, like every tether link. */
	if (s->tls != NULL && SSL_CTX_set_min_proto_version(s->tls, TLS1_3_VERSION) != 1) {
		SSL_CTX_free(s->tls);
		free(s);
		return TE_ERR_TLS;
	}
	if ((s->tick = event_new(srv->base, -1, EV_PERSIST, siem_tick, s)) == NULL ||
	    (s->guard = evtimer_new(srv->base, siem_syslog_guard, s)) == NULL ||
	    event_add(s->tick, &tv) != 0) {
		srv->siem = s;
		siem_stop(srv);
		return TE_ERR_NOMEM;
	}
	if (c->jsonl[0] != '\0')
		(void)siem_jsonl_open(s);
	srv->siem = s;
	if (c->syslog_host[0] != '\0')
		log_info("siem: the audit trail goes to syslog receiver %s:%s (TLS, CA %s)",
		         c->syslog_host, c->syslog_port, c->syslog_ca);
	if (c->jsonl[0] != '\0')
		log_info("siem: the audit trail goes to %s", c->jsonl);
	return 0;
}

void siem_stop(struct server *srv)
{
	struct siem *s = srv->siem;

	if (s == NULL)
		return;
	for (int i = 0; srv->cfg.siem.jsonl[0] && srv->store != NULL && i < 8 &&
	                siem_jsonl_batch(s); i++)
		;
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->guard != NULL)
		event_free(s->guard);
	if (s->jsonl_fd >= 0)
		close(s->jsonl_fd);
	SSL_CTX_free(s->tls);
	free(s);
	srv->siem = NULL;
}

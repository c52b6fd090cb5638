/* metricsd.c: the bounded plain-HTTP listener for /metrics and /healthz. */
#include "metricsd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "err.h"
#include "log.h"

#define METRICSD_DETAIL_BYTES 256

struct metricsd_conn {
	struct metricsd *m;
	struct metricsd_conn *prev, *next;
	struct bufferevent *bev;
};

struct metricsd {
	struct event_base *base;
	struct evconnlistener *listener;
	metricsd_render_cb render;
	metricsd_health_cb health;
	void *arg;
	struct metricsd_conn *conns;
	int nconns;
	int port;
	unsigned long refused;          /* connections closed at accept (full) */
	struct evbuffer *cache;         /* the last /metrics text */
	int64_t cache_ms;               /* when it was rendered; 0: never */
};

static int metricsd_token_char(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* A path byte this listener accepts: visible ASCII, no space. */
static int metricsd_path_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

int metricsd_parse_head(const char *buf, size_t len, enum metricsd_method *method,
                        char path[METRICSD_PATH_BYTES], size_t *head_len)
{
	size_t i = 0, start, plen, end = 0;
	const char *m;

	if (len > METRICSD_HEAD_MAX_BYTES)
		len = METRICSD_HEAD_MAX_BYTES;
	/* The end of the head: an empty line. */
	for (i = 0; i < len && end == 0; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			end = i + 3;
	}
	if (end == 0)
		return len >= METRICSD_HEAD_MAX_BYTES ? TE_ERR_TOO_LONG : TE_ERR_TRUNCATED;
	/* Method: upper-case letters, then one space. */
	for (i = 0; i < end && metricsd_token_char(buf[i]); i++)
		;
	if (i == 0 || i > 7 || buf[i] != ' ')
		return TE_ERR_INVALID;
	m = buf;
	*method = (i == 3 && memcmp(m, "GET", 3) == 0) ? METRICSD_GET : METRICSD_OTHER;
	start = ++i;
	for (; i < end && metricsd_path_char(buf[i]); i++)
		;
	plen = i - start;
	if (plen == 0 || buf[start] != '/' || buf[i] != ' ')
		return TE_ERR_INVALID;
	i++;
	if (end - i < 9 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
	    (buf[i + 7] != '0' && buf[i + 7] != '1'))
		return TE_ERR_INVALID;
	i += 8;
	if (buf[i] == '\r')
		i++;
	if (buf[i] != '\n')
		return TE_ERR_INVALID;
	/* The query string (a scraper's ?name[]=...) is ignored. */
	for (size_t q = 0; q < plen; q++)
		if (buf[start + q] == '?') {
			plen = q;
			break;
		}
	if (plen >= METRICSD_PATH_BYTES)
		return TE_ERR_INVALID;
	memcpy(path, buf + start, plen);
	path[plen] = '\0';
	*head_len = end;
	return 0;
}

static int64_t metricsd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void metricsd_conn_free(struct metricsd_conn *c)
{
	struct metricsd *m = c->m;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void metricsd_written(struct bufferevent *bev, void *arg)
{
	struct metricsd_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		metricsd_conn_free(c);
}

/* Send the whole answer and close once it is out. */
static void metricsd_answer(struct metricsd_conn *c, int status, const char *reason,
                            const char *ctype, struct evbuffer *body, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n = body != NULL ? evbuffer_get_length(body) : 0;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "%sConnection: close\r\nCache-Control: no-store\r\n\r\n", status,
	                    reason, ctype, n, extra != NULL ? extra : "");
	/* A copy: the cache may be rendered again before this is written. */
	if (n > 0)
		evbuffer_add(out, evbuffer_pullup(body, -1), n);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, metricsd_written, NULL, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void metricsd_text(struct metricsd_conn *c, int status, const char *reason,
                          const char *text, const char *extra)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		metricsd_conn_free(c);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	metricsd_answer(c, status, reason, "text/plain; charset=utf-8", b, extra);
	evbuffer_free(b);
}

static void metricsd_metrics(struct metricsd_conn *c)
{
	struct metricsd *m = c->m;
	int64_t now = metricsd_now_ms();

	if (m->cache_ms == 0 || now - m->cache_ms >= METRICSD_CACHE_MS || now < m->cache_ms) {
		evbuffer_drain(m->cache, evbuffer_get_length(m->cache));
		m->render(m->cache, m->arg);
		m->cache_ms = now;
	}
	metricsd_answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", m->cache,
	                NULL);
}

static void metricsd_healthz(struct metricsd_conn *c)
{
	char detail[METRICSD_DETAIL_BYTES] = "", text[METRICSD_DETAIL_BYTES + 16];
	int ok = c->m->health(detail, sizeof(detail), c->m->arg);

	snprintf(text, sizeof(text), "%s%s%s\n", ok ? "ok" : "degraded", detail[0] ? ": " : "",
	         detail);
	metricsd_text(c, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", text, NULL);
}

static void metricsd_read(struct bufferevent *bev, void *arg)
{
	struct metricsd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), head_len;
	char path[METRICSD_PATH_BYTES];
	enum metricsd_method method;
	const char *buf;
	int rc;

	if (len > METRICSD_HEAD_MAX_BYTES)
		len = METRICSD_HEAD_MAX_BYTES;
	if ((buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL) {
		metricsd_conn_free(c);
		return;
	}
	rc = metricsd_parse_head(buf, len, &method, path, &head_len);
	if (rc == TE_ERR_TRUNCATED)
		return;
	if (rc != 0) {
		metricsd_text(c, rc == TE_ERR_TOO_LONG ? 431 : 400, rc == TE_ERR_TOO_LONG ?
		              "Request Header Fields Too Large" : "Bad Request",
		              "this listener answers GET /metrics and GET /healthz\n", NULL);
		return;
	}
	if (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0) {
		metricsd_text(c, 404, "Not Found", "this listener answers GET /metrics and "
		              "GET /healthz\n", NULL);
		return;
	}
	if (method != METRICSD_GET) {
		metricsd_text(c, 405, "Method Not Allowed", "only GET\n", "Allow: GET\r\n");
		return;
	}
	if (strcmp(path, "/metrics") == 0)
		metricsd_metrics(c);
	else
		metricsd_healthz(c);
}

static void metricsd_event(struct bufferevent *bev, short what, void *arg)
{
	/* EOF, an error or a timeout: the scraper is gone or too slow. */
	metricsd_conn_free(arg);
}

static void metricsd_accept(struct evconnlistener *l, evutil_socket_t fd,
                            struct sockaddr *sa, int salen, void *arg)
{
	struct metricsd *m = arg;
	struct timeval tv = { METRICSD_TIMEOUT_S, 0 };
	struct metricsd_conn *c;

	if (m->nconns >= METRICSD_MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		if (m->refused++ % 100 == 0)
			log_warn("metrics listener: %d connections open, closing new ones (%lu so far)",
			         METRICSD_MAX_CONNS, m->refused);
		evutil_closesocket(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->m = m;
	c->next = m->conns;
	if (m->conns != NULL)
		m->conns->prev = c;
	m->conns = c;
	m->nconns++;
	/* Reads stop at the head's limit: a longer head is refused, not read. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, METRICSD_HEAD_MAX_BYTES);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setcb(c->bev, metricsd_read, NULL, metricsd_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

int metricsd_new(struct event_base *base, const char *listen, metricsd_render_cb render,
                 metricsd_health_cb health, void *arg, struct metricsd **out,
                 char *errbuf, size_t errsz)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	struct metricsd *m;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(errbuf, errsz, "metrics_listen = %s: use ADDR:PORT, such as "
		         "127.0.0.1:9464", listen);
		return TE_ERR_INVALID;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->cache = evbuffer_new()) == NULL) {
		free(m);
		return TE_ERR_NOMEM;
	}
	m->base = base;
	m->render = render;
	m->health = health;
	m->arg = arg;
	m->listener = evconnlistener_new_bind(base, metricsd_accept, m,
	                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                      LEV_OPT_CLOSE_ON_EXEC, 16,
	                                      (struct sockaddr *)&ss, sslen);
	if (m->listener == NULL) {
		snprintf(errbuf, errsz, "metrics_listen = %s: cannot listen there", listen);
		metricsd_free(m);
		return TE_ERR_SYS;
	}
	{
		struct sockaddr_storage b;
		socklen_t blen = sizeof(b);
		evutil_socket_t fd = evconnlistener_get_fd(m->listener);

		if (getsockname(fd, (struct sockaddr *)&b, &blen) == 0)
			m->port = b.ss_family == AF_INET6 ?
				ntohs(((struct sockaddr_in6 *)&b)->sin6_port) :
				ntohs(((struct sockaddr_in *)&b)->sin_port);
	}
	*out = m;
	return 0;
}

void metricsd_free(struct metricsd *m)
{
	if (m == NULL)
		return;
	while (m->conns != NULL)
		metricsd_conn_free(m->conns);
	if (m->listener != NULL)
		evconnlistener_free(m->listener);
	if (m->cache != NULL)
		evbuffer_free(m->cache);
	free(m);
}

int metricsd_port(const struct metricsd *m)
{
	return m->port;
}

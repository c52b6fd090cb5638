/* metricsd.h: the small plain-HTTP listener for Prometheus scrapes and
 * health checks (`metrics_listen = ADDR:PORT`, off unless set). It answers
 * GET /metrics and GET /healthz only, one request per connection, and is
 * bounded so that it can never stall the daemon's event loop: a request
 * head of at most METRICSD_HEAD_MAX_BYTES, at most METRICSD_MAX_CONNS
 * connections (more are closed at accept), METRICSD_TIMEOUT_S to send the
 * head and to take the answer, and the /metrics text rendered at most once
 * per METRICSD_CACHE_MS whatever the scrape rate. */
#ifndef TETHER_METRICSD_H
#define TETHER_METRICSD_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define METRICSD_HEAD_MAX_BYTES 2048
#define METRICSD_PATH_BYTES     64
#define METRICSD_MAX_CONNS      8
#define METRICSD_TIMEOUT_S      5
#define METRICSD_CACHE_MS       1000

enum metricsd_method { METRICSD_GET = 1, METRICSD_OTHER };

/* Parse the request head in buf[0..len): "METHOD SP PATH SP HTTP/1.x" and
 * header lines, ended by an empty line (CRLF or LF). On 0, *method and path
 * (the query string cut off) are set and *head_len is the head's length.
 * TE_ERR_TRUNCATED: no empty line yet (read more, unless len has reached
 * METRICSD_HEAD_MAX_BYTES: then TE_ERR_TOO_LONG); TE_ERR_INVALID: not a
 * request line this listener takes (bad characters, no HTTP/1.x, a path not
 * starting with '/' or of METRICSD_PATH_BYTES or more). Pure; fuzzed by
 * tests/fuzz/fuzz_metricsd.c. */
int metricsd_parse_head(const char *buf, size_t len, enum metricsd_method *method,
                        char path[METRICSD_PATH_BYTES], size_t *head_len);

/* Append the exposition text to out. */
typedef void (*metricsd_render_cb)(struct evbuffer *out, void *arg);
/* 1 when healthy, 0 when degraded; detail (one line of text) says why. */
typedef int (*metricsd_health_cb)(char *detail, size_t detailsz, void *arg);

struct metricsd;

/* Listen on "ADDR:PORT" (evutil_parse_sockaddr_port; port 0 picks one).
 * errbuf says what went wrong. */
int metricsd_new(struct event_base *base, const char *listen, metricsd_render_cb render,
                 metricsd_health_cb health, void *arg, struct metricsd **out,
                 char *errbuf, size_t errsz);
/* Close the listener and every connection. NULL is a no-op. */
void metricsd_free(struct metricsd *m);
/* The bound port. */
int metricsd_port(const struct metricsd *m);

#endif

/* srvmetrics.h: the server's Prometheus metrics and health word, served on
 * `metrics_listen` (lib metricsd.h; off unless set) and, for /healthz, on
 * the API listener too. The counters count this process's events since it
 * started; the gauges are read from the store when scraped (at most once a
 * second, metricsd.h). */
#ifndef TETHER_SERVER_SRVMETRICS_H
#define TETHER_SERVER_SRVMETRICS_H

#include <stddef.h>
#include <stdint.h>

struct server;

struct srvmetrics_counts {
	uint64_t pings;            /* device pings answered or held */
	uint64_t login_failures;   /* refused logins (any reason: password, TOTP, lock, rate) */
	uint64_t audit_appends;    /* records this process appended to the trail */
	uint64_t https_conns;      /* HTTPS connections accepted */
};

/* Start the listener when cfg.metrics_listen is set (before the privilege
 * drop: it may be a low port). */
int srvmetrics_start(struct server *srv);
void srvmetrics_stop(struct server *srv);
/* 1 when healthy (the store answers a read), 0 when degraded, with why. */
int srvmetrics_health(struct server *srv, char *detail, size_t detailsz);

#endif

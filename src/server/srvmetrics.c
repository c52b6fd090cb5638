/* srvmetrics.c: the server's /metrics text and /healthz answer. */
#include "srvmetrics.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "metricsd.h"
#include "http.h"
#include "server.h"
#include "srvapi.h"
#include "srvsession.h"

#define SRVMETRICS_MAX_STATES 16

struct srvmetrics_states {
	const char *names[SRVMETRICS_MAX_STATES];
	int64_t counts[SRVMETRICS_MAX_STATES];
	size_t n;
};

static void srvmetrics_state_cb(const char *state, int64_t count, void *arg)
{
	struct srvmetrics_states *s = arg;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], state) == 0)
			s->counts[i] = count;
}

struct srvmetrics_online {
	struct server *srv;
	uint64_t online;
	uint64_t total;
};

static int srvmetrics_device_cb(const struct store_device *d, void *arg)
{
	struct srvmetrics_online *o = arg;

	o->total++;
	if (api_device_online(o->srv, d))
		o->online++;
	return 0;
}

/* Every known state is listed, 0 included, so that a graph has no gaps. */
static void srvmetrics_sessions(struct server *srv, struct evbuffer *out)
{
	struct srvmetrics_states s;
	const char *name;

	memset(&s, 0, sizeof(s));
	while (s.n < SRVMETRICS_MAX_STATES &&
	       strcmp(name = session_state_name((enum session_state)s.n), "unknown") != 0)
		s.names[s.n++] = name;
	(void)store_session_state_counts(srv->store, srvmetrics_state_cb, &s);
	metrics_family(out, "tether_sessions", METRICS_GAUGE,
	               "Sessions in the store by state.");
	for (size_t i = 0; i < s.n; i++)
		metrics_sample(out, "tether_sessions", "state", s.names[i], (uint64_t)s.counts[i]);
}

static void srvmetrics_render(struct evbuffer *out, void *arg)
{
	struct server *srv = arg;
	struct srvmetrics_online o = { srv, 0, 0 };
	int64_t backlog = 0;
	int store_up = store_probe(srv->store) == 0;

	srvmetrics_sessions(srv, out);
	(void)store_device_each(srv->store, srvmetrics_device_cb, &o);
	metrics_one(out, "tether_devices", METRICS_GAUGE, "Registered devices.", o.total);
	metrics_one(out, "tether_devices_online", METRICS_GAUGE,
	            "Devices online: a long-poll held, or a ping within the window.", o.online);
	metrics_one(out, "tether_pings_total", METRICS_COUNTER,
	            "Device pings received since the server started.", srv->counts.pings);
	metrics_one(out, "tether_https_connections_total", METRICS_COUNTER,
	            "HTTPS connections accepted since the server started (agents keep"
	            " theirs open across pings).", srv->counts.https_conns);
	(void)store_notify_pending_count(srv->store, &backlog);
	metrics_one(out, "tether_notify_backlog", METRICS_GAUGE,
	            "Notifications in the durable outbox not yet delivered.", (uint64_t)backlog);
	metrics_one(out, "tether_audit_appends_total", METRICS_COUNTER,
	            "Audit records this server process appended.", srv->counts.audit_appends);
	metrics_one(out, "tether_audit_failures_total", METRICS_COUNTER,
	            "Audit records this server process could not append.", srv->audit_failures);
	metrics_one(out, "tether_login_failures_total", METRICS_COUNTER,
	            "Refused logins (password, one-time code, lock or rate limit).",
	            srv->counts.login_failures);
	metrics_one(out, "tether_store_up", METRICS_GAUGE,
	            "1 when the database answered a read at this scrape.", (uint64_t)store_up);
}

int srvmetrics_health(struct server *srv, char *detail, size_t detailsz)
{
	if (store_probe(srv->store) != 0) {
		snprintf(detail, detailsz, "store: %s", store_failure_reason(srv->store));
		return 0;
	}
	snprintf(detail, detailsz, "store: ok");
	return 1;
}

static int srvmetrics_health_cb(char *detail, size_t detailsz, void *arg)
{
	return srvmetrics_health(arg, detail, detailsz);
}

int srvmetrics_start(struct server *srv)
{
	char errbuf[256] = "";
	int rc;

	if (srv->cfg.metrics_listen[0] == '\0')
		return 0;
	rc = metricsd_new(srv->base, srv->cfg.metrics_listen, srvmetrics_render,
	                  srvmetrics_health_cb, srv, &srv->metrics, errbuf, sizeof(errbuf));
	if (rc != 0) {
		log_error("%s", errbuf[0] ? errbuf : te_strerror(rc));
		return rc;
	}
	log_info("metrics and health on http://%s (port %d): GET /metrics, GET /healthz",
	         srv->cfg.metrics_listen, metricsd_port(srv->metrics));
	return 0;
}

void srvmetrics_stop(struct server *srv)
{
	metricsd_free(srv->metrics);
	srv->metrics = NULL;
}

void api_healthz(struct http_req *r)
{
	char detail[256];
	int ok = srvmetrics_health(r->srv, detail, sizeof(detail));

	/* A load balancer reads the status code; a person reads the words. */
	http_reply(r, ok ? 200 : 503, json_pack("{s:s, s:s}", "status", ok ? "ok" : "degraded",
	                                        "detail", detail));
}

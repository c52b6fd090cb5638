/* relaymetrics.c: the relay's /metrics text and /healthz answer on
 * metrics_listen (off unless set; lib metricsd.h bounds the listener). */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "metricsd.h"
#include "relay_int.h"

static void relay_metrics_render(struct evbuffer *out, void *arg)
{
	const struct relay *r = arg;
	const struct relay_counts *c = &r->counts;

	metrics_one(out, "tether_relay_legs", METRICS_GAUGE,
	            "Open connections on the device and client ports.", r->nlegs);
	metrics_one(out, "tether_relay_sessions", METRICS_GAUGE,
	            "Sessions being spliced now.", r->nsessions);
	metrics_one(out, "tether_relay_connections_total", METRICS_COUNTER,
	            "Connections accepted on either port, health checks included.",
	            c->connections);
	metrics_family(out, "tether_relay_legs_accepted_total", METRICS_COUNTER,
	               "Legs whose ticket the relay accepted, by port.");
	metrics_sample(out, "tether_relay_legs_accepted_total", "port", "device",
	               c->legs_accepted[0]);
	metrics_sample(out, "tether_relay_legs_accepted_total", "port", "client",
	               c->legs_accepted[1]);
	metrics_one(out, "tether_relay_sessions_total", METRICS_COUNTER,
	            "Sessions paired and spliced since the relay started.", c->sessions);
	metrics_family(out, "tether_relay_bytes_total", METRICS_COUNTER,
	               "Bytes spliced between the legs, by direction.");
	metrics_sample(out, "tether_relay_bytes_total", "direction", "device_to_client",
	               c->bytes_device_to_client);
	metrics_sample(out, "tether_relay_bytes_total", "direction", "client_to_device",
	               c->bytes_client_to_device);
	metrics_one(out, "tether_audit_appends_total", METRICS_COUNTER,
	            "Audit records this relay appended.", c->audit_appends);
	metrics_one(out, "tether_audit_failures_total", METRICS_COUNTER,
	            "Audit records this relay could not append.", c->audit_failures);
}

/* Answered from the loop, as the server's TETHER/1 health check is: a
 * relay whose loop is stuck does not answer at all. Degraded when its
 * last audit append failed, since it pairs no legs it cannot record. */
static int relay_metrics_health(char *detail, size_t detailsz, void *arg)
{
	const struct relay *r = arg;
	const char *why = r->audit != NULL ? audit_log_why(r->audit) : "";

	if (why[0] != '\0') {
		snprintf(detail, detailsz, "relay %s: audit log: %s", r->cfg->name, why);
		return 0;
	}
	snprintf(detail, detailsz, "relay %s: %zu open legs", r->cfg->name, r->nlegs);
	return 1;
}

int relay_metrics_start(struct relay *r, char *errbuf, size_t errsz)
{
	int rc;

	if (r->cfg->metrics_listen == NULL || r->cfg->metrics_listen[0] == '\0')
		return 0;
	rc = metricsd_new(r->base, r->cfg->metrics_listen, relay_metrics_render,
	                  relay_metrics_health, r, &r->metrics, errbuf, errsz);
	if (rc == 0)
		log_info("metrics and health on http://%s (port %d): GET /metrics, GET /healthz",
		         r->cfg->metrics_listen, metricsd_port(r->metrics));
	return rc;
}

void relay_metrics_stop(struct relay *r)
{
	metricsd_free(r->metrics);
	r->metrics = NULL;
}

/* srvstatus.c: take a device's status report (devstatus.h): keep the
 * latest, a history row and error rows on a change of state, and raise the
 * configured alerts through the notification outbox. */
#include "srvstatus.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "notify.h"

/* The alert payload: what reached an alerting state, with the status. */
static json_t *srvstatus_alert_body(const struct store_device *d, const struct devstatus *was,
                                    const struct devstatus *now, json_t *codes,
                                    const char *health)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "serial", d->serial,
	                      "customer", d->customer, "product", d->product,
	                      "health", devstatus_health_name(now->health),
	                      "previous_health", was != NULL ? devstatus_health_name(was->health)
	                                                     : "",
	                      "new_errors", codes);

	if (o != NULL && health != NULL)
		json_object_set_new(o, "alert_health", json_string(health));
	if (o != NULL)
		json_object_set_new(o, "status", devstatus_to_json(now));
	return o;
}

/* Queue a device_alert when the product's alert list names the new health
 * or one of the new codes. Queued before the status is kept: a crash in
 * between alerts again at the next report rather than never. */
static void srvstatus_alert(struct server *srv, const struct store_device *d,
                            const struct devstatus *was, const struct devstatus *now)
{
	const char *health = NULL;
	json_t *codes = json_array();

	if (codes == NULL)
		return;
	if (now->health >= DEVSTATUS_WARNING && (was == NULL || was->health != now->health) &&
	    srvconf_alert_match(&srv->cfg, d->product, devstatus_health_name(now->health)))
		health = devstatus_health_name(now->health);
	for (size_t i = 0; i < now->nerrors; i++)
		if ((was == NULL || devstatus_error(was, now->errors[i].code) == NULL) &&
		    srvconf_alert_match(&srv->cfg, d->product, now->errors[i].code))
			json_array_append_new(codes, json_string(now->errors[i].code));
	if (health != NULL || json_array_size(codes) > 0) {
		log_info("device %s: alert (%s%s%zu new error code(s))", d->serial,
		         health != NULL ? health : "", health != NULL ? ", " : "",
		         json_array_size(codes));
		if (notify_enqueue(srv, "device_alert", d->site,
		                   srvstatus_alert_body(d, was, now, codes, health)) != 0)
			log_error("device %s: the alert could not be queued", d->serial);
	}
	json_decref(codes);
}

struct srvstatus_work {
	struct store_devstatus row;
	struct devstatus was;
	struct devstatus_error added[DEVSTATUS_MAX_ERRORS];
	char cleared[DEVSTATUS_MAX_ERRORS][DEVSTATUS_CODE_BYTES];
};

int srvstatus_take(struct server *srv, const struct store_device *d,
                   const struct devstatus *now)
{
	struct srvstatus_work *w;
	char why[128];
	size_t nadded = 0, ncleared = 0, i;
	int64_t t = server_now();
	int rc, had, changed;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TE_ERR_NOMEM;
	rc = store_devstatus_get(srv->store, d->serial, &w->row);
	if (rc != 0 && rc != TE_ERR_NOT_FOUND)
		goto out;
	had = rc == 0 && devstatus_parse(w->row.status, strlen(w->row.status), &w->was, why,
	                                 sizeof(why)) == 0;
	changed = !had || !devstatus_same_state(&w->was, now);
	for (i = 0; i < now->nerrors; i++)
		if (!had || devstatus_error(&w->was, now->errors[i].code) == NULL)
			w->added[nadded++] = now->errors[i];
	for (i = 0; had && i < w->was.nerrors; i++)
		if (devstatus_error(now, w->was.errors[i].code) == NULL)
			snprintf(w->cleared[ncleared++], DEVSTATUS_CODE_BYTES, "%s",
			         w->was.errors[i].code);
	if (changed)
		srvstatus_alert(srv, d, had ? &w->was : NULL, now);
	snprintf(w->row.health, sizeof(w->row.health), "%s", devstatus_health_name(now->health));
	if ((rc = devstatus_text(now, w->row.status, sizeof(w->row.status))) != 0)
		goto out;
	rc = store_devstatus_put(srv->store, d->serial, t, &w->row, changed, w->added, nadded,
	                         (const char (*)[DEVSTATUS_CODE_BYTES])w->cleared, ncleared,
	                         t - srv->cfg.status_history_days * 86400);
	if (rc == 0 && changed)
		log_info("device %s: status %s, %zu error code(s) (%zu new, %zu cleared)", d->serial,
		         now->health ? devstatus_health_name(now->health) : "not reported",
		         now->nerrors, nadded, ncleared);
out:
	free(w);
	return rc;
}

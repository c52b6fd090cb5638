/* activity.c: the maintenance queue (activity.h): making activities,
 * change control, releasing them signed into a window, and what the
 * device reports. */
#include "activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actenv.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "mwindow.h"
#include "policy.h"
#include "records.h"
#include "signer.h"
#include "srvapi.h"
#include "text.h"

#define ACT_AWAITING  "awaiting_approval"
#define ACT_QUEUED    "queued"
#define ACT_RELEASED  "released"
#define ACT_RUNNING   "running"

/* The ends a device may report, and the server's own. */
static const char *const activity_device_ends[] = {
	"done", "failed", "interrupted", "refused_by_device", NULL,
};

static int activity_in(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int activity_is_final(const char *state)
{
	static const char *const finals[] = { "done", "failed", "interrupted",
	                                      "refused_by_device", "expired", "cancelled",
	                                      "refused_by_customer", NULL };

	return activity_in(state, finals);
}

int activity_kinds_ok(const char *kinds)
{
	char buf[64], *save = NULL, *k;

	if (strlen(kinds) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", kinds);
	for (k = strtok_r(buf, ", ", &save); k != NULL; k = strtok_r(NULL, ", ", &save))
		if (!actenv_kind_ok(k))
			return 0;
	return 1;
}

int activity_kind_listed(const char *kinds, const char *kind)
{
	char buf[64], *save = NULL, *k;

	if (kinds[0] == '\0')
		return 1;                      /* approval with no list: every kind */
	snprintf(buf, sizeof(buf), "%s", kinds);
	for (k = strtok_r(buf, ", ", &save); k != NULL; k = strtok_r(NULL, ", ", &save))
		if (strcmp(k, kind) == 0)
			return 1;
	return 0;
}

json_t *activity_json(const struct store_activity *a, int full)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I,"
	                      " s:I, s:I, s:I, s:I, s:s}",
	                      "id", a->id, "batch", a->batch, "device", a->device, "site", a->site,
	                      "kind", a->kind, "name", a->name, "reason", a->reason,
	                      "created_by", a->created_by, "window", a->window, "state", a->state,
	                      "why", a->why, "created_at", (json_int_t)a->created_at,
	                      "not_before", (json_int_t)a->not_before,
	                      "not_after", (json_int_t)a->not_after,
	                      "released_at", (json_int_t)a->released_at,
	                      "started_at", (json_int_t)a->started_at,
	                      "ended_at", (json_int_t)a->ended_at, "decided_by", a->decided_by);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "exit_code", a->exit_code >= 0 ? json_integer(a->exit_code)
	                                                      : json_null());
	json_object_set_new(o, "retry_of", a->retry_of[0] ? json_string(a->retry_of) : json_null());
	if (full) {
		json_object_set_new(o, "input", json_string(a->input));
		json_object_set_new(o, "output", json_string(a->output));
	}
	return o;
}

/* ---- moving on ---------------------------------------------------------------------- */

/* Write a (whose state the caller set) over from, audited as action by
 * actor with a's brief; 0, TE_ERR_MISMATCH when it changed meanwhile. */
int activity_store_move(struct server *srv, struct store_activity *a, const char *from,
                         const char *actor, const char *action)
{
	struct store_audit_entry audit = { actor, action, NULL };
	char *detail;
	int rc;

	a->updated_at = server_now();
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "activity", a->id,
	                              "device", a->device, "site", a->site, "kind", a->kind,
	                              "name", a->name, "state", a->state, "why", a->why));
	audit.detail = detail;
	rc = store_activity_update(srv->store, a, from, &audit);
	free(detail);
	if (rc == 0)
		(void)records_activity_notice(srv, a);
	else if (rc != TE_ERR_MISMATCH)
		log_error("activity %s: could not be moved to %s (%s)", a->id, a->state,
		          te_strerror(rc));
	return rc;
}

static void activity_end(struct server *srv, struct store_activity *a, const char *state,
                         const char *why, const char *actor, const char *action)
{
	char from[STORE_ACT_STATE_BYTES];

	snprintf(from, sizeof(from), "%s", a->state);
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(a->why, sizeof(a->why), "%s", why);
	a->ended_at = server_now();
	a->envelope[0] = '\0';
	(void)activity_store_move(srv, a, from, actor, action);
}

/* When a window (both of them) that is open at now closes, searched to the
 * minute up to limit; limit when it stays open. */
static int64_t activity_window_end(const struct mwindow *w1, const struct mwindow *w2,
                                   const char *tz, int64_t now, int64_t limit)
{
	int64_t t = now - now % 60, step = 900;

	if (w1->n == 0 && w2->n == 0)
		return limit;
	/* Coarse, then to the minute: windows are made of whole minutes. */
	while (t + step < limit && mwindow_open(w1, tz, t + step) == 1 &&
	       mwindow_open(w2, tz, t + step) == 1)
		t += step;
	if (t + step >= limit)
		step = limit - t;
	for (int64_t m = 60; m <= step; m += 60)
		if (mwindow_open(w1, tz, t + m) != 1 || mwindow_open(w2, tz, t + m) != 1)
			return t + m < limit ? t + m : limit;
	return limit;
}

/* Why a queued activity cannot be released now ("" when it can); the
 * envelope's expiry in *exp. */
static void activity_wait_why(struct server *srv, const struct store_activity *a,
                              const struct store_site *site, int64_t now, int64_t *exp,
                              char *why, size_t whysz)
{
	struct mwindow sw, ow;
	char bad[128];
	const char *tz = site->timezone[0] ? site->timezone : "UTC";
	int64_t next;

	why[0] = '\0';
	*exp = a->not_after;
	if (!site->remote_enabled) {
		snprintf(why, whysz, "site %s is switched off", site->name);
		return;
	}
	if (now < a->not_before) {
		snprintf(why, whysz, "not before its not-before time");
		return;
	}
	if (mwindow_parse(site->windows, &sw, bad, sizeof(bad)) != 0 ||
	    mwindow_parse(a->window, &ow, bad, sizeof(bad)) != 0 || mwindow_tz_ok(tz) != 0) {
		snprintf(why, whysz, "the site's windows or time zone cannot be read: %s", bad);
		return;
	}
	if (mwindow_open(&sw, tz, now) != 1 || mwindow_open(&ow, tz, now) != 1) {
		next = mwindow_next_open(mwindow_open(&sw, tz, now) != 1 ? &sw : &ow, tz, now);
		snprintf(why, whysz, "outside the maintenance window (%s, %s)%s%lld",
		         sw.n > 0 ? site->windows : a->window, tz, next > 0 ? "; next opens at " : "",
		         next > 0 ? (long long)next : 0LL);
		if (next <= 0)
			why[strlen(why) - 1] = '\0';
		return;
	}
	/* The signer signs at most ACTENV_MAX_TTL_S ahead: a not-after further
	 * out gets an envelope that ends sooner, and a new one if it expires
	 * untaken (queued again, released again). */
	*exp = activity_window_end(&sw, &ow, tz, now,
	                           a->not_after < now + ACTIVITY_ENVELOPE_MAX_S ? a->not_after :
	                           now + ACTIVITY_ENVELOPE_MAX_S);
	(void)srv;
}

struct activity_busy {
	const char *id;
	int busy;
};

static int activity_busy_cb(const struct store_activity *a, void *arg)
{
	struct activity_busy *b = arg;

	if (strcmp(a->id, b->id) != 0)
		b->busy = 1;
	return 0;
}

/* One activity at a time on a device: another released or running one
 * holds this one back. */
static int activity_device_busy(struct server *srv, const struct store_activity *a)
{
	struct store_activity_filter f = { .device = a->device, .state = ACT_RUNNING, .limit = 1 };
	struct activity_busy b = { a->id, 0 };

	if (store_activity_each_released(srv->store, a->device, activity_busy_cb, &b) != 0 ||
	    store_activity_each(srv->store, &f, activity_busy_cb, &b) != 0)
		return 1;
	return b.busy;
}

static void activity_release(struct server *srv, struct store_activity *a, int64_t exp)
{
	struct actenv *e = calloc(1, sizeof(*e));
	int rc = TE_ERR_NOMEM;

	if (e != NULL) {
		snprintf(e->id, sizeof(e->id), "%s", a->id);
		snprintf(e->device, sizeof(e->device), "%s", a->device);
		snprintf(e->kind, sizeof(e->kind), "%s", a->kind);
		snprintf(e->name, sizeof(e->name), "%s", a->name);
		snprintf(e->input, sizeof(e->input), "%s", a->input);
		e->expires_at = exp;
		rc = signer_activity(srv->signer, e, a->envelope, sizeof(a->envelope));
	}
	free(e);
	if (rc != 0) {
		log_error("activity %s: the signer did not sign it (%s); tried again next second",
		          a->id, te_strerror(rc));
		return;
	}
	snprintf(a->state, sizeof(a->state), "%s", ACT_RELEASED);
	a->why[0] = '\0';
	a->envelope_exp = exp;
	a->released_at = server_now();
	if (activity_store_move(srv, a, ACT_QUEUED, "server", "activity_released") == 0) {
		log_info("activity %s released to %s (%s %s)", a->id, a->device, a->kind, a->name);
		longpoll_wake(srv->lp, a->device);
	}
}

static void activity_sweep_one(struct server *srv, struct store_activity *a, int64_t now)
{
	struct store_site site;
	char why[2 * MAX_REASON_BYTES];
	int64_t exp;

	if (strcmp(a->state, ACT_AWAITING) == 0) {
		if (now >= a->not_after)
			activity_end(srv, a, "expired", "nobody decided before its not-after", "server",
			             "activity_expired");
		return;
	}
	if (strcmp(a->state, ACT_RELEASED) == 0) {
		if (now < a->envelope_exp)
			return;
		if (now >= a->not_after) {
			activity_end(srv, a, "expired", "the device did not start it before its"
			             " not-after", "server", "activity_expired");
			return;
		}
		/* Its window closed before the device took it: the next window. */
		a->envelope[0] = '\0';
		a->envelope_exp = 0;
		snprintf(a->state, sizeof(a->state), "%s", ACT_QUEUED);
		snprintf(a->why, sizeof(a->why), "its window closed before the device took it");
		(void)activity_store_move(srv, a, ACT_RELEASED, "server", "activity_requeued");
		return;
	}
	if (strcmp(a->state, ACT_QUEUED) != 0)
		return;
	if (now >= a->not_after) {
		snprintf(why, sizeof(why), "not released before its not-after%s%.400s",
		         a->why[0] ? ": " : "", a->why);
		activity_end(srv, a, "expired", why, "server", "activity_expired");
		return;
	}
	if (api_device_is_revoked(srv, a->device)) {
		activity_end(srv, a, "cancelled", "the device was revoked", "server",
		             "activity_cancelled");
		return;
	}
	if (store_site_get(srv->store, a->site, &site) != 0)
		return;
	activity_wait_why(srv, a, &site, now, &exp, why, sizeof(why));
	if (why[0] == '\0' && activity_device_busy(srv, a))
		snprintf(why, sizeof(why), "the device's previous activity has not ended");
	if (why[0] != '\0') {
		if (strcmp(why, a->why) != 0 && strncmp(why, "outside", 7) != 0) {
			/* Say what it waits for, once per change (the window's
			 * next opening is left out: it changes every time). */
			snprintf(a->why, sizeof(a->why), "%s", why);
			(void)activity_store_move(srv, a, ACT_QUEUED, "server", "activity_waiting");
		} else if (strncmp(why, "outside", 7) == 0 && strncmp(a->why, "outside", 7) != 0) {
			snprintf(a->why, sizeof(a->why), "outside the maintenance window");
			(void)activity_store_move(srv, a, ACT_QUEUED, "server", "activity_waiting");
		}
		return;
	}
	activity_release(srv, a, exp);
}

struct activity_page {
	char id[STORE_ACT_LIST_MAX][ACTENV_ID_BYTES];
	int64_t created[STORE_ACT_LIST_MAX];
};

void activity_sweep(struct server *srv)
{
	struct activity_page *pg = malloc(sizeof(*pg));
	struct store_activity *a = malloc(sizeof(*a));
	int64_t now = server_now();
	size_t n = 0;

	/* A page of the open activities each second, from where the last
	 * page ended, so that a batch of thousands is walked whole. */
	if (pg != NULL && a != NULL &&
	    store_activity_open_page(srv->store, srv->act_swept_at, srv->act_swept_id, pg->id,
	                             pg->created, STORE_ACT_LIST_MAX, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (store_activity_get(srv->store, pg->id[i], a) == 0)
				activity_sweep_one(srv, a, now);
		if (n < STORE_ACT_LIST_MAX) {
			srv->act_swept_at = 0;         /* the end: from the start next time */
			srv->act_swept_id[0] = '\0';
		} else {
			srv->act_swept_at = pg->created[n - 1];
			snprintf(srv->act_swept_id, sizeof(srv->act_swept_id), "%s", pg->id[n - 1]);
		}
	}
	free(pg);
	free(a);
}

/* ---- the device's side -------------------------------------------------------------- */

struct activity_ev_ctx {
	json_t *events;
};

static int activity_event_cb(const struct store_activity *a, void *arg)
{
	struct activity_ev_ctx *c = arg;

	return json_array_append_new(c->events, json_pack("{s:s, s:s, s:s}", "type", "activity",
	                             "id", a->id, "envelope", a->envelope)) == 0 ? 0 : TE_ERR_NOMEM;
}

int activity_events(struct server *srv, const char *serial, json_t *events)
{
	struct activity_ev_ctx c = { events };

	return store_activity_each_released(srv->store, serial, activity_event_cb, &c);
}

static int activity_device_report_state(const char *state)
{
	return strcmp(state, "started") == 0 || strcmp(state, "not_started") == 0 ||
	       activity_in(state, activity_device_ends);
}

/* The device's report on a: started, an end, or not_started (its envelope
 * expired before it could start). Returns the HTTP status to answer. */
static int activity_take_report(struct server *srv, struct store_activity *a,
                                const char *state, int64_t exit_code, const char *output,
                                const char *why, char *err, size_t errsz)
{
	char from[STORE_ACT_STATE_BYTES], action[48];
	int was_released = a->released_at > 0;

	snprintf(from, sizeof(from), "%s", a->state);
	if (!was_released) {
		snprintf(err, errsz, "activity %s was never released to this device", a->id);
		return 409;
	}
	if (strcmp(state, "not_started") == 0) {
		if (strcmp(a->state, ACT_RELEASED) != 0)
			return 200;                /* already moved on: nothing to do */
		a->envelope[0] = '\0';
		a->envelope_exp = 0;
		if (server_now() >= a->not_after) {
			activity_end(srv, a, "expired", why, a->device, "activity_expired");
			return 200;
		}
		snprintf(a->state, sizeof(a->state), "%s", ACT_QUEUED);
		snprintf(a->why, sizeof(a->why), "the device did not start it: %.400s", why);
		(void)activity_store_move(srv, a, from, a->device, "activity_requeued");
		return 200;
	}
	if (strcmp(state, "started") == 0) {
		if (strcmp(a->state, ACT_RUNNING) == 0 || activity_in(a->state, activity_device_ends))
			return 200;                /* heard already */
		snprintf(a->state, sizeof(a->state), "%s", ACT_RUNNING);
		a->why[0] = '\0';
		a->envelope[0] = '\0';
		a->started_at = server_now();
		return activity_store_move(srv, a, from, a->device, "activity_started") == 0 ? 200 : 409;
	}
	if (activity_in(a->state, activity_device_ends))
		return 200;                        /* a repeated report */
	if (activity_is_final(a->state))
		log_warn("activity %s: the device reports %s after the server ended it (%s)",
		         a->id, state, a->state);
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(a->why, sizeof(a->why), "%s", why);
	snprintf(a->output, sizeof(a->output), "%s", output);
	a->exit_code = exit_code;
	a->envelope[0] = '\0';
	if (a->started_at == 0 && strcmp(state, "refused_by_device") != 0)
		a->started_at = server_now();
	a->ended_at = server_now();
	snprintf(action, sizeof(action), "activity_%s", state);
	return activity_store_move(srv, a, from, a->device, action) == 0 ? 200 : 409;
}

void api_device_activity(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_activity *a = NULL;
	char id[ACTENV_ID_BYTES], state[STORE_ACT_STATE_BYTES], why[2 * MAX_REASON_BYTES];
	char err[160];
	const char *output = "";
	json_t *o;
	json_int_t code = -1;
	int status;

	if (j == NULL)
		return;
	if (jbody_str(j, "id", 1, id, sizeof(id)) != 0 || !actenv_id_ok(id) ||
	    jbody_str(j, "state", 1, state, sizeof(state)) != 0 ||
	    !activity_device_report_state(state)) {
		http_error(r, 400, "bad_request", "a report needs \"id\" (an activity id) and"
		           " \"state\" (started, not_started, done, failed, interrupted or"
		           " refused_by_device)");
		goto out;
	}
	if (api_text_field(r, j, "why", 0, why, sizeof(why)) != 0)
		goto out;
	o = json_object_get(j, "output");
	if (o != NULL && (!json_is_string(o) || json_string_length(o) >= STORE_ACT_OUTPUT_BYTES ||
	                  strlen(json_string_value(o)) != json_string_length(o))) {
		http_error(r, 400, "bad_request", "\"output\" must be text under %d bytes",
		           STORE_ACT_OUTPUT_BYTES);
		goto out;
	}
	if (o != NULL)
		output = json_string_value(o);
	if ((o = json_object_get(j, "exit_code")) != NULL &&
	    (!json_is_integer(o) || json_integer_value(o) < 0 || json_integer_value(o) > 65535)) {
		http_error(r, 400, "bad_request", "\"exit_code\" must be 0..65535");
		goto out;
	}
	if (o != NULL)
		code = json_integer_value(o);
	if ((a = malloc(sizeof(*a))) == NULL ||
	    store_activity_get(r->srv->store, id, a) != 0 ||
	    strcmp(a->device, r->device.serial) != 0) {
		http_error(r, 404, "no_such_activity", "no activity %s for this device", id);
		goto out;
	}
	err[0] = '\0';
	status = activity_take_report(r->srv, a, state, code, output, why, err, sizeof(err));
	if (status == 200)
		http_reply(r, 200, json_pack("{s:s, s:s}", "id", a->id, "state", a->state));
	else
		http_error(r, status, "bad_state", "%s", err[0] ? err :
		           "the activity changed meanwhile; report again");
out:
	free(a);
	json_decref(j);
}

/* api_queue.c: the maintenance queue for people (activity.h): `tether
 * queue add|list|show|cancel|retry`, the customer's decision on an
 * activity that needs approval, and a site's change control. */
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
#include "notify.h"
#include "policy.h"
#include "repo.h"
#include "tuf.h"
#include "records.h"
#include "srvapi.h"

/* ---- queue add ---------------------------------------------------------------------- */

struct queue_add {
	struct http_req *r;
	struct store_activity *tmpl;         /* kind, name, input, reason, times, window */
	json_t *made;                        /* [{"id","device","state"}] */
	size_t n;
	char (*serials)[MAX_NAME_BYTES];
	size_t cap;
};

static int queue_add_collect(const struct store_device *d, void *arg)
{
	struct queue_add *q = arg;
	void *p;

	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 64;
		if ((p = realloc(q->serials, q->cap * MAX_NAME_BYTES)) == NULL)
			return TE_ERR_NOMEM;
		q->serials = p;
	}
	snprintf(q->serials[q->n++], MAX_NAME_BYTES, "%s", d->serial);
	return 0;
}

/* The permission kind needs besides queue:add. */
static void queue_kind_perm(const char *kind, const char *name, char *out, size_t outsz)
{
	if (strcmp(kind, "diag") == 0)
		snprintf(out, outsz, "diag:%s", name);
	else if (strcmp(kind, "collect") == 0)
		snprintf(out, outsz, "%s", POLICY_FILES_COLLECT);
	else if (strcmp(kind, "install") == 0)
		snprintf(out, outsz, "%s", POLICY_SOFTWARE_INSTALL);
	else
		snprintf(out, outsz, "%s", POLICY_CONFIG_CHANGE);
}

/* A device the user may queue for, into d: known, not revoked, in the
 * user's sites; -1 with 404 answered. */
static int queue_device_get(struct http_req *r, const char *serial, struct store_device *d)
{
	int rc = store_device_get(r->srv->store, serial, d);

	if (rc == 0 && strcmp(d->status, "revoked") != 0 && api_site_in_scope(r, d->site))
		return 0;
	http_error(r, 404, "no_such_device", "no device %s%s; nothing was queued", serial,
	           rc == 0 && strcmp(d->status, "revoked") == 0 ? " (it is revoked)" : "");
	return -1;
}

static int queue_device_ok(struct http_req *r, const char *serial)
{
	struct store_device *d = malloc(sizeof(*d));
	int rc;

	if (d == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return -1;
	}
	rc = queue_device_get(r, serial, d);
	free(d);
	return rc;
}

int activity_create(struct server *srv, const char *actor, struct store_activity *a,
                    const struct store_device *d, json_t *made)
{
	struct store_site site;
	struct store_audit_entry audit = { actor, "activity_created", NULL };
	char *detail = NULL;
	int rc;

	if ((rc = store_site_get(srv->store, d->site, &site)) != 0)
		return rc;
	if ((rc = actenv_new_id(a->id)) != 0)
		return rc;
	snprintf(a->device, sizeof(a->device), "%s", d->serial);
	snprintf(a->site, sizeof(a->site), "%s", d->site);
	if (strcmp(site.change_control, "approval") == 0 &&
	    activity_kind_listed(site.cc_kinds, a->kind)) {
		snprintf(a->state, sizeof(a->state), "awaiting_approval");
		snprintf(a->why, sizeof(a->why), "site %s asks its customer to approve %s",
		         site.name, a->kind);
	} else {
		snprintf(a->state, sizeof(a->state), "queued");
		a->why[0] = '\0';
	}
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}",
	                              "activity", a->id, "batch", a->batch, "device", a->device,
	                              "site", a->site, "kind", a->kind, "name", a->name, "reason",
	                              a->reason, "not_before", (json_int_t)a->not_before,
	                              "not_after", (json_int_t)a->not_after, "window", a->window,
	                              "state", a->state));
	audit.detail = detail;
	rc = store_activity_add(srv->store, a, &audit);
	free(detail);
	if (rc != 0)
		return rc;
	(void)records_activity_notice(srv, a);
	if (made != NULL)
		json_array_append_new(made, json_pack("{s:s, s:s, s:s, s:s}", "id", a->id, "device",
		                                      a->device, "state", a->state, "site", a->site));
	return 0;
}

/* Make the activity for one device; its state from the site's change
 * control. */
static int queue_add_one(struct queue_add *q, const char *serial)
{
	struct http_req *r = q->r;
	struct store_device *d = malloc(sizeof(*d));
	int rc = TE_ERR_NOMEM;

	if (d == NULL)
		goto out;
	if (queue_device_get(r, serial, d) != 0) {
		rc = TE_ERR_NOT_FOUND;
		goto out;
	}
	if ((rc = activity_create(r->srv, r->user.name, q->tmpl, d, q->made)) != 0)
		http_error(r, 503, "internal", "could not queue for %s (%s)", serial,
		           te_strerror(rc));
out:
	free(d);
	return rc;
}

/* An install's "target": a release the repository publishes now (its
 * signatures were checked at publication, and the device checks them
 * again). The activity's name is the release's component, its input the
 * target's name. -1 with the error answered. */
static int queue_add_target(struct http_req *r, const json_t *j, struct store_activity *a)
{
	char target[TUF_MAX_TARGET_BYTES + 1];
	const json_t *rel;
	json_t *rels;
	int rc = -1;

	if (json_object_get(j, "name") != NULL || (json_object_get(j, "input") != NULL &&
	    json_string_length(json_object_get(j, "input")) > 0)) {
		http_error(r, 400, "bad_request", "an install names its \"target\" only: its"
		           " component comes from the repository");
		return -1;
	}
	if (jbody_str(j, "target", 1, target, sizeof(target)) != 0 || !tuf_target_name_ok(target)) {
		http_error(r, 400, "bad_request", "\"target\" must be a target name of the"
		           " repository, such as injector/injector-fw-2.1.0.raucb");
		return -1;
	}
	if ((rels = repo_releases(r->srv)) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return -1;
	}
	if ((rel = repo_release_find(rels, target)) == NULL) {
		http_error(r, 400, "bad_request", "the repository publishes no release %s: see"
		           " `tether repo status` and `tether-server repo publish`", target);
	} else if (!actenv_name_ok(json_string_value(json_object_get(rel, "component")))) {
		http_error(r, 400, "bad_request", "release %s has a component name a device cannot"
		           " take ([A-Za-z0-9._-], at most %d)", target, MAX_NAME_BYTES - 1);
	} else {
		snprintf(a->name, sizeof(a->name), "%s",
		         json_string_value(json_object_get(rel, "component")));
		snprintf(a->input, sizeof(a->input), "%s", target);
		rc = 0;
	}
	json_decref(rels);
	return rc;
}

/* The template from the body; -1 with the error answered. */
static int queue_add_template(struct http_req *r, const json_t *j, struct store_activity *a)
{
	struct mwindow w;
	char perm[MAX_NAME_BYTES + 8], bad[128];
	json_int_t nb = 0, na = 0;
	int64_t now = server_now();

	if (jbody_str(j, "kind", 1, a->kind, sizeof(a->kind)) != 0 || !actenv_kind_ok(a->kind)) {
		http_error(r, 400, "bad_request", "\"kind\" must be diag, collect, config or install");
		return -1;
	}
	if (strcmp(a->kind, "install") == 0) {
		if (queue_add_target(r, j, a) != 0)
			return -1;
	} else if (jbody_str(j, "name", 1, a->name, sizeof(a->name)) != 0 ||
	           !actenv_name_ok(a->name)) {
		http_error(r, 400, "bad_request", "\"name\" must be the diag.NAME, collect.NAME or"
		           " config.NAME of the device's agent.conf ([A-Za-z0-9._-])");
		return -1;
	}
	if (api_text_field(r, j, "reason", 1, a->reason, sizeof(a->reason)) != 0)
		return -1;
	if (strcmp(a->kind, "install") != 0 &&
	    (jbody_str(j, "input", 0, a->input, sizeof(a->input)) != 0 ||
	     !actenv_input_fits(a->kind, a->input))) {
		http_error(r, 400, "bad_request", "\"input\" (the new values, printable lines under"
		           " %d bytes) goes with kind config, and only with it", ACTENV_INPUT_BYTES);
		return -1;
	}
	if (jbody_str(j, "window", 0, a->window, sizeof(a->window)) != 0 ||
	    mwindow_parse(a->window, &w, bad, sizeof(bad)) != 0) {
		http_error(r, 400, "bad_request", "\"window\": %s", a->window[0] ? bad :
		           "must be text such as \"mon-fri 02:00-04:00\"");
		return -1;
	}
	if ((json_object_get(j, "not_before") && api_int_field(r, j, "not_before", &nb) != 0) ||
	    (json_object_get(j, "not_after") && api_int_field(r, j, "not_after", &na) != 0))
		return -1;
	a->not_before = nb > now ? nb : now;
	a->not_after = na > 0 ? na : a->not_before + ACTIVITY_DEFAULT_SPAN_S;
	if (a->not_after <= now || a->not_after <= a->not_before ||
	    a->not_after - now > ACTIVITY_MAX_SPAN_S) {
		http_error(r, 400, "bad_request", "\"not_after\" must be after now and not_before,"
		           " and at most %d days ahead", ACTIVITY_MAX_SPAN_S / 86400);
		return -1;
	}
	queue_kind_perm(a->kind, a->name, perm, sizeof(perm));
	if (!policy_allows(r->srv->policy, r->user.role, r->user.level, perm)) {
		http_error(r, 403, "forbidden", "queueing a %s needs permission %s, which your role"
		           " has not", a->kind, perm);
		return -1;
	}
	snprintf(a->created_by, sizeof(a->created_by), "%s", r->user.name);
	a->created_at = a->updated_at = now;
	a->exit_code = -1;
	return 0;
}

int activity_devices(struct http_req *r, const json_t *j, int check, const char *what_done,
                     store_device_cb cb, void *arg)
{
	const json_t *list = json_object_get(j, "devices"), *sel = json_object_get(j, "select");
	struct store_device *d;
	const char *serial;
	json_t *x;
	size_t i;
	int rc = 0;

	if ((list == NULL) == (sel == NULL)) {
		http_error(r, 400, "bad_request", "name the devices: either \"devices\" (serials)"
		           " or \"select\" (filters), not both");
		return -1;
	}
	if (sel != NULL) {
		if (!json_is_object(sel)) {
			http_error(r, 400, "bad_request", "\"select\" must be an object of filters");
			return -1;
		}
		return api_fleet_select(r, sel, ACTIVITY_SELECT_MAX, cb, arg);
	}
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > ACTIVITY_SELECT_MAX) {
		http_error(r, 400, "bad_request", "\"devices\" must list 1 to %d serials",
		           ACTIVITY_SELECT_MAX);
		return -1;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {   /* a device record is 6 KB */
		http_error(r, 503, "internal", "out of memory");
		return -1;
	}
	json_array_foreach(list, i, x) {
		if ((serial = json_string_value(x)) == NULL || !jbody_name_ok(serial)) {
			http_error(r, 400, "bad_request", "\"devices\" must list serials");
			rc = -1;
			break;
		}
		memset(d, 0, sizeof(*d));
		snprintf(d->serial, sizeof(d->serial), "%s", serial);
		if (check && (store_device_get(r->srv->store, serial, d) != 0 ||
		              strcmp(d->status, "revoked") == 0 || !api_site_in_scope(r, d->site))) {
			http_error(r, 404, "no_such_device", "no device %s; nothing was %s", serial,
			           what_done);
			rc = -1;
			break;
		}
		if (cb(d, arg) != 0) {
			http_error(r, 503, "internal", "out of memory");
			rc = -1;
			break;
		}
	}
	free(d);
	return rc;
}

/* The customer's notification (activity_approval_requested), one per site
 * of a batch: which activities wait for their approval and until when. */
void activity_ask_customers(struct server *srv, const char *user, const char *role,
                            const struct store_activity *t, const json_t *made)
{
	json_t *by_site = json_object(), *x, *ids, *p;
	const char *site;
	size_t i;

	if (by_site == NULL)
		return;
	json_array_foreach(made, i, x) {
		if (strcmp(json_string_value(json_object_get(x, "state")), "awaiting_approval") != 0)
			continue;
		site = json_string_value(json_object_get(x, "site"));
		if ((ids = json_object_get(by_site, site)) == NULL) {
			ids = json_array();
			json_object_set_new(by_site, site, ids);
		}
		json_array_append(ids, json_object_get(x, "id"));
	}
	json_object_foreach(by_site, site, ids) {
		p = json_pack("{s:s, s:O, s:I, s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s, s:s},"
		              " s:I, s:I, s:s, s:{s:s, s:s}}",
		              "batch", t->batch, "activities", ids,
		              "count", (json_int_t)json_array_size(ids),
		              "who", "user", user, "role", role,
		              "where", "site", site, "why", "reason", t->reason,
		              "what", "kind", t->kind, "name", t->name, "values", t->input,
		              "not_before", (json_int_t)t->not_before,
		              "deadline", (json_int_t)t->not_after,
		              "message", "maintenance activities wait for your approval; they expire"
		              " at the deadline unless approved",
		              "decide", "command", "tether approvals list",
		              "api", "GET /api/v1/approvals");
		if (notify_enqueue(srv, "activity_approval_requested", site, p) != 0)
			log_error("queue: batch %s: could not queue site %s's notification", t->batch,
			          site);
	}
	json_decref(by_site);
}

void api_activity_add(struct http_req *r)
{
	json_t *j = api_body(r);
	struct queue_add q = { r, NULL, NULL, 0, NULL, 0 };

	if (j == NULL)
		return;
	if ((q.tmpl = calloc(1, sizeof(*q.tmpl))) == NULL || (q.made = json_array()) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	if (queue_add_template(r, j, q.tmpl) != 0 ||
	    activity_devices(r, j, 0, "queued", queue_add_collect, &q) != 0)
		goto out;
	if (q.n == 0) {
		http_error(r, 404, "no_devices", "the selection matches no device");
		goto out;
	}
	if (actenv_new_id(q.tmpl->batch) != 0) {
		http_error(r, 503, "internal", "could not make an id");
		goto out;
	}
	/* Every device named must be one before any activity is made: a typo
	 * in the third serial must not leave the first two queued. */
	for (size_t i = 0; i < q.n; i++)
		if (queue_device_ok(r, q.serials[i]) != 0)
			goto out;
	for (size_t i = 0; i < q.n; i++)
		if (queue_add_one(&q, q.serials[i]) != 0) {
			/* Those made stand: `tether queue list --batch` finds them. */
			log_warn("queue add by %s: stopped at %s after %zu of %zu", r->user.name,
			         q.serials[i], i, q.n);
			activity_ask_customers(r->srv, r->user.name, r->user.role, q.tmpl, q.made);
			goto out;
		}
	activity_ask_customers(r->srv, r->user.name, r->user.role, q.tmpl, q.made);
	http_reply(r, 200, json_pack("{s:s, s:O}", "batch", q.tmpl->batch, "activities", q.made));
out:
	json_decref(q.made);
	free(q.serials);
	free(q.tmpl);
	json_decref(j);
}

/* ---- list, show, cancel, retry ----------------------------------------------------- */

struct queue_list {
	struct http_req *r;
	json_t *arr;
	struct store_activity_filter f;
	char device[MAX_NAME_BYTES], site[MAX_NAME_BYTES], state[STORE_ACT_STATE_BYTES];
	char batch[ACTENV_ID_BYTES];
	long limit;
};

static int queue_list_key(struct http_req *r, const char *key, const char *v, void *arg)
{
	struct queue_list *q = arg;

	if (strcmp(key, "limit") == 0)
		return api_query_limit(r, v, STORE_ACT_LIST_MAX, &q->limit);
	if (strcmp(key, "device") == 0 && jbody_name_ok(v))
		snprintf(q->device, sizeof(q->device), "%s", v);
	else if (strcmp(key, "site") == 0 && jbody_name_ok(v))
		snprintf(q->site, sizeof(q->site), "%s", v);
	else if (strcmp(key, "state") == 0 && jbody_name_ok(v) && strlen(v) < sizeof(q->state))
		snprintf(q->state, sizeof(q->state), "%s", v);
	else if (strcmp(key, "batch") == 0 && actenv_id_ok(v))
		snprintf(q->batch, sizeof(q->batch), "%s", v);
	else {
		http_error(r, 400, "bad_request", "query keys: device, site, state, batch, limit"
		           " (each a name); '%s' is not one of them or its value is bad", key);
		return -1;
	}
	return 0;
}

static int queue_list_cb(const struct store_activity *a, void *arg)
{
	struct queue_list *q = arg;

	if (!api_site_in_scope(q->r, a->site))
		return 0;
	return json_array_append_new(q->arr, activity_json(a, 0)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_activities(struct http_req *r)
{
	struct queue_list q;
	char scope[MAX_NAME_BYTES];
	int rc;

	memset(&q, 0, sizeof(q));
	q.r = r;
	q.limit = ACTIVITY_LIST_DEFAULT;
	if (api_query_each(r, queue_list_key, &q) != 0)
		return;
	if (api_user_scope(r, scope) != 0) {
		http_error(r, 403, "forbidden", "your account belongs to no site");
		return;
	}
	q.f.device = q.device;
	q.f.site = scope[0] ? scope : q.site;
	q.f.state = q.state;
	q.f.batch = q.batch;
	q.f.limit = (int)q.limit;
	if ((q.arr = json_array()) == NULL ||
	    (rc = store_activity_each(r->srv->store, &q.f, queue_list_cb, &q)) != 0) {
		json_decref(q.arr);
		http_error(r, 503, "internal", "could not list the queue");
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "activities", q.arr));
}

/* Load r->arg within the user's sites; -1 with 404 answered. */
static int queue_load(struct http_req *r, struct store_activity *a)
{
	if (!actenv_id_ok(r->arg) || store_activity_get(r->srv->store, r->arg, a) != 0 ||
	    !api_site_in_scope(r, a->site)) {
		http_error(r, 404, "no_such_activity", "no activity %s", r->arg);
		return -1;
	}
	return 0;
}

static int queue_files_cb(const struct store_file *f, void *arg)
{
	json_t **arr = arg;

	return json_array_append_new(*arr, json_pack("{s:I, s:s, s:s, s:I, s:s, s:s}", "id",
	                             (json_int_t)f->id, "collection", f->collection, "path",
	                             f->path, "size", (json_int_t)f->size, "sha256", f->sha256,
	                             "refused", f->refused)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_activity_get(struct http_req *r)
{
	struct store_activity *a = malloc(sizeof(*a));
	json_t *o, *files;

	if (a == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if (queue_load(r, a) == 0) {
		o = activity_json(a, 1);
		files = json_array();
		if (o != NULL && files != NULL)
			(void)store_file_each_for_activity(r->srv->store, a->id, queue_files_cb, &files);
		json_object_set_new(o, "files", files);
		http_reply(r, 200, o);
	}
	free(a);
}

void api_activity_cancel(struct http_req *r)
{
	struct store_activity *a = malloc(sizeof(*a));
	json_t *j = api_body(r);
	char why[MAX_REASON_BYTES], text[2 * MAX_REASON_BYTES], from[STORE_ACT_STATE_BYTES];

	if (j == NULL || a == NULL || api_text_field(r, j, "reason", 1, why, sizeof(why)) != 0 ||
	    queue_load(r, a) != 0)
		goto out;
	if (strcmp(a->state, "awaiting_approval") != 0 && strcmp(a->state, "queued") != 0 &&
	    strcmp(a->state, "released") != 0) {
		http_error(r, 409, "bad_state", "activity %s is %s: only one that has not started"
		           " can be cancelled", a->id, a->state);
		goto out;
	}
	snprintf(from, sizeof(from), "%s", a->state);
	snprintf(text, sizeof(text), "cancelled by %s: %s", r->user.name, why);
	snprintf(a->state, sizeof(a->state), "cancelled");
	snprintf(a->why, sizeof(a->why), "%s", text);
	a->ended_at = a->updated_at = server_now();
	a->envelope[0] = '\0';
	if (activity_store_move(r->srv, a, from, r->user.name, "activity_cancelled") != 0) {
		http_error(r, 409, "bad_state", "activity %s changed meanwhile; look again", a->id);
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s}", "id", a->id, "state", a->state));
out:
	json_decref(j);
	free(a);
}

void api_activity_retry(struct http_req *r)
{
	struct store_activity *a = malloc(sizeof(*a));
	struct queue_add q = { r, NULL, NULL, 0, NULL, 0 };
	json_t *j = api_body(r);
	char perm[MAX_NAME_BYTES + 8];
	json_int_t na = 0;
	int64_t now = server_now(), span;

	if (j == NULL || a == NULL || queue_load(r, a) != 0)
		goto out;
	if (!activity_is_final(a->state) || strcmp(a->state, "done") == 0) {
		http_error(r, 409, "bad_state", "activity %s is %s: only one that ended without"
		           " success can be retried", a->id, a->state);
		goto out;
	}
	if (json_object_get(j, "not_after") && api_int_field(r, j, "not_after", &na) != 0)
		goto out;
	/* A retry is a new activity: the same permission its kind asks. */
	queue_kind_perm(a->kind, a->name, perm, sizeof(perm));
	if (!policy_allows(r->srv->policy, r->user.role, r->user.level, perm)) {
		http_error(r, 403, "forbidden", "retrying a %s needs permission %s, which your role"
		           " has not", a->kind, perm);
		goto out;
	}
	span = a->not_after - a->not_before;
	if ((q.made = json_array()) == NULL || (q.tmpl = calloc(1, sizeof(*q.tmpl))) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	*q.tmpl = *a;
	q.tmpl->output[0] = q.tmpl->why[0] = q.tmpl->decided_by[0] = q.tmpl->envelope[0] = '\0';
	snprintf(q.tmpl->retry_of, sizeof(q.tmpl->retry_of), "%s", a->id);
	snprintf(q.tmpl->created_by, sizeof(q.tmpl->created_by), "%s", r->user.name);
	q.tmpl->created_at = q.tmpl->updated_at = q.tmpl->not_before = now;
	q.tmpl->not_after = na > 0 ? na : now + (span > 0 ? span : ACTIVITY_DEFAULT_SPAN_S);
	q.tmpl->released_at = q.tmpl->started_at = q.tmpl->ended_at = q.tmpl->envelope_exp = 0;
	q.tmpl->exit_code = -1;
	if (q.tmpl->not_after <= now || q.tmpl->not_after - now > ACTIVITY_MAX_SPAN_S) {
		http_error(r, 400, "bad_request", "\"not_after\" must be after now and at most %d"
		           " days ahead", ACTIVITY_MAX_SPAN_S / 86400);
		goto out;
	}
	if (actenv_new_id(q.tmpl->batch) != 0 || queue_add_one(&q, a->device) != 0)
		goto out;
	activity_ask_customers(r->srv, r->user.name, r->user.role, q.tmpl, q.made);
	http_reply(r, 200, json_pack("{s:s, s:O}", "batch", q.tmpl->batch, "activities", q.made));
out:
	json_decref(q.made);
	free(q.tmpl);
	json_decref(j);
	free(a);
}

/* ---- the customer's decision ---------------------------------------------------------- */

struct queue_appr {
	struct server *srv;
	json_t *arr;
};

static int queue_appr_cb(const struct store_activity *a, void *arg)
{
	struct queue_appr *c = arg;
	json_t *o = activity_json(a, 0);

	if (o == NULL)
		return TE_ERR_NOMEM;
	json_object_set_new(o, "input", json_string(a->input));
	return json_array_append_new(c->arr, o) == 0 ? 0 : TE_ERR_NOMEM;
}

int activity_approvals(struct server *srv, const char *site, json_t *arr)
{
	struct store_activity_filter f = { .site = site, .state = "awaiting_approval",
	                                   .limit = STORE_ACT_LIST_MAX };
	struct queue_appr c = { srv, arr };

	return store_activity_each(srv->store, &f, queue_appr_cb, &c);
}

void activity_decide(struct http_req *r, int approve, const char *why)
{
	struct store_activity *a = malloc(sizeof(*a));
	char role[64];

	if (a == NULL || queue_load(r, a) != 0)
		goto out;
	if (strcmp(a->state, "awaiting_approval") != 0) {
		http_error(r, 409, "bad_state", "activity %s is %s, not waiting for the customer",
		           a->id, a->state);
		goto out;
	}
	api_role_text(&r->user, role, sizeof(role));
	snprintf(a->decided_by, sizeof(a->decided_by), "%s", r->user.name);
	if (approve) {
		snprintf(a->state, sizeof(a->state), "queued");
		snprintf(a->why, sizeof(a->why), "approved by %s (%s)", r->user.name, role);
	} else {
		snprintf(a->state, sizeof(a->state), "refused_by_customer");
		snprintf(a->why, sizeof(a->why), "refused by the customer, %s (%s): %s",
		         r->user.name, role, why);
		a->ended_at = server_now();
	}
	if (activity_store_move(r->srv, a, "awaiting_approval", r->user.name,
	                        approve ? "activity_approved" : "activity_refused") != 0) {
		http_error(r, 409, "bad_state", "activity %s changed meanwhile; look again", a->id);
		goto out;
	}
	if (approve)
		activity_sweep(r->srv);        /* inside a window: released now */
	http_reply(r, 200, json_pack("{s:s, s:s}", "id", a->id, "state", a->state));
out:
	free(a);
}

/* ---- a site's change control ---------------------------------------------------------- */

void api_site_change_control(struct http_req *r)
{
	struct store_audit_entry audit = { r->user.name, "site_change_control", NULL };
	struct store_site site;
	struct mwindow w;
	json_t *j = api_body(r);
	char bad[128], *detail = NULL;
	int rc;

	if (j == NULL)
		return;
	if (!jbody_name_ok(r->arg) || store_site_get(r->srv->store, r->arg, &site) != 0 ||
	    !api_site_in_scope(r, site.name)) {
		http_error(r, 404, "no_such_site", "no site %s", r->arg);
		goto out;
	}
	if ((json_object_get(j, "change_control") &&
	     (jbody_str(j, "change_control", 1, site.change_control,
	                sizeof(site.change_control)) != 0 ||
	      (strcmp(site.change_control, "none") != 0 &&
	       strcmp(site.change_control, "approval") != 0))) ||
	    (json_object_get(j, "kinds") &&
	     (jbody_str(j, "kinds", 0, site.cc_kinds, sizeof(site.cc_kinds)) != 0 ||
	      !activity_kinds_ok(site.cc_kinds)))) {
		http_error(r, 400, "bad_request", "\"change_control\" is none or approval; \"kinds\""
		           " lists diag, collect, config (\"\": every kind)");
		goto out;
	}
	if (json_object_get(j, "windows") &&
	    (jbody_str(j, "windows", 0, site.windows, sizeof(site.windows)) != 0 ||
	     mwindow_parse(site.windows, &w, bad, sizeof(bad)) != 0)) {
		http_error(r, 400, "bad_request", "\"windows\": %s", bad);
		goto out;
	}
	if (json_object_get(j, "timezone") &&
	    (jbody_str(j, "timezone", 1, site.timezone, sizeof(site.timezone)) != 0 ||
	     mwindow_tz_ok(site.timezone) != 0)) {
		http_error(r, 400, "bad_request", "\"timezone\" must be a zone of the tz database,"
		           " such as Europe/Berlin, or UTC");
		goto out;
	}
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s, s:s}", "site", site.name,
	                              "change_control", site.change_control, "kinds", site.cc_kinds,
	                              "windows", site.windows, "timezone", site.timezone));
	audit.detail = detail;
	if ((rc = store_site_update(r->srv->store, &site, &audit)) != 0) {
		http_error(r, 503, "internal", "could not change site %s (%s)", site.name,
		           te_strerror(rc));
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "site", site.name,
	                             "change_control", site.change_control, "kinds", site.cc_kinds,
	                             "windows", site.windows, "timezone", site.timezone));
out:
	free(detail);
	json_decref(j);
}

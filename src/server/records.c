/* records.c: service records, the CRM side (issue 9, section 4).
 *
 * A record is what a service organisation's case needs of one session:
 * the customer, site, device, specialist, reason or ticket number, times,
 * outcome, what was granted and done (recordings kept), and the files
 * collected (activities add theirs). It is read from the session, so it
 * can never disagree with it.
 *
 * Every change of a record's state goes to the notification outbox as a
 * "service_record" event, exactly once across restarts: the notification
 * and the notice (record, state) are written in one transaction, and the
 * sessions changed since the cursor are looked at every sweep.
 *
 * An activity of the maintenance queue (activity.h) has a record of its
 * own, of kind "activity", read from the activity the same way: its
 * "specialist" is who queued it, "actions" what ran (diag:NAME,
 * collect:NAME, config:NAME), "files" what it collected. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "actenv.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "notify.h"
#include "srvapi.h"
#include "store.h"

#define RECORDS_SINK "records"
#define RECORDS_ACT_SINK "records_activities"
#define RECORDS_LIST_MAX 1000

static int records_final(const char *state)
{
	return strcmp(state, "awaiting_customer") != 0 && strcmp(state, "awaiting_consent") != 0 &&
	       strcmp(state, "consented") != 0 && strcmp(state, "active") != 0;
}

static json_t *records_list_json(const char *text)
{
	json_t *v = text[0] ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_array(v)) {
		json_decref(v);
		return json_array();
	}
	return v;
}

static int records_rec_cb(const struct store_recording *rec, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:I, s:s}", "name", rec->name, "size",
	                                            (json_int_t)rec->size, "sha256",
	                                            rec->sha256)) == 0 ? 0 : TE_ERR_NOMEM;
}

/* What a record says of any case, session or activity: the fields the
 * CRM mapping names (docs/crm.md), in one place. */
struct records_case {
	const char *id, *kind, *device, *site, *specialist, *reason, *state, *outcome;
	int64_t requested_at, started_at, ended_at;     /* 0: not (yet) */
};

static json_t *records_head(struct server *srv, const struct records_case *c)
{
	struct store_device d;

	memset(&d, 0, sizeof(d));
	(void)store_device_get(srv->store, c->device, &d);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}",
	                 "id", c->id, "kind", c->kind, "customer", d.customer, "site", c->site,
	                 "device", c->device, "product", d.product, "specialist", c->specialist,
	                 "reason", c->reason, "state", c->state, "outcome", c->outcome,
	                 "requested_at", (json_int_t)c->requested_at,
	                 "started_at", c->started_at > 0 ? json_integer(c->started_at)
	                                                 : json_null(),
	                 "ended_at", c->ended_at > 0 ? json_integer(c->ended_at) : json_null());
}

json_t *records_json(struct server *srv, const struct store_session *s)
{
	int final = records_final(s->state);
	const struct records_case c = {
		s->id, "session", s->device, s->site, s->user, s->reason, s->state,
		final ? (s->end_reason[0] ? s->end_reason : s->state) : "open",
		s->created_at, s->started_at, final ? s->updated_at : 0,
	};
	json_t *o = records_head(srv, &c), *recs = json_array();

	if (recs != NULL)
		(void)store_recording_each(srv->store, s->id, records_rec_cb, recs);
	if (o != NULL) {
		json_object_set_new(o, "granted", json_pack("{s:o, s:o}", "services",
		                    records_list_json(s->services), "actions",
		                    records_list_json(s->actions)));
		json_object_set_new(o, "recordings", recs != NULL ? recs : json_array());
		json_object_set_new(o, "files", json_array());
	} else {
		json_decref(recs);
	}
	return o;
}

static int records_file_cb(const struct store_file *f, void *arg)
{
	char name[STORE_FILE_PATH_BYTES + MAX_REASON_BYTES + 32];

	/* "name" is what a CRM shows: a refusal says so beside the path. */
	if (f->refused[0] != '\0')
		snprintf(name, sizeof(name), "%s (refused on the device: %s)", f->path, f->refused);
	else
		snprintf(name, sizeof(name), "%s", f->path);
	return json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:s}", "id",
	                             (json_int_t)f->id, "name", name, "path", f->path,
	                             "collection", f->collection, "size", (json_int_t)f->size,
	                             "sha256", f->sha256, "refused", f->refused)) == 0 ? 0 :
	       TE_ERR_NOMEM;
}

json_t *records_activity_json(struct server *srv, const struct store_activity *a)
{
	int final = activity_is_final(a->state);
	const struct records_case c = {
		a->id, "activity", a->device, a->site, a->created_by, a->reason, a->state,
		final ? (a->why[0] ? a->why : a->state) : "open",
		a->created_at, a->started_at, final ? a->ended_at : 0,
	};
	json_t *o = records_head(srv, &c), *files = json_array();
	char action[ACTENV_KIND_BYTES + MAX_NAME_BYTES + 2];

	if (files != NULL)
		(void)store_file_each_for_activity(srv->store, a->id, records_file_cb, files);
	if (o == NULL) {
		json_decref(files);
		return NULL;
	}
	snprintf(action, sizeof(action), "%s:%s", a->kind, a->name);
	json_object_set_new(o, "granted", json_pack("{s:[], s:[s]}", "services", "actions",
	                                            action));
	json_object_set_new(o, "recordings", json_array());
	json_object_set_new(o, "files", files != NULL ? files : json_array());
	json_object_set_new(o, "approved_by", json_string(a->decided_by));
	json_object_set_new(o, "exit_code", a->exit_code >= 0 ? json_integer(a->exit_code)
	                                                      : json_null());
	return o;
}

/* ---- notifications ----------------------------------------------------------- */

struct records_pending {
	json_t *list;              /* [{record, state, site, body}] */
	int64_t newest;            /* updated_at of the newest session seen */
};

static int records_pending_cb(const struct store_session *s, void *arg)
{
	struct records_pending *p = arg;

	if (s->updated_at > p->newest)
		p->newest = s->updated_at;
	return json_array_append_new(p->list, json_pack("{s:s, s:s, s:s, s:I}", "record", s->id,
	                             "state", s->state, "site", s->site,
	                             "updated_at", (json_int_t)s->updated_at)) == 0 ?
	       0 : TE_ERR_NOMEM;
}

struct records_body {
	json_t *payload;
	const char *site;
};

static void records_notify_sessions(struct server *srv);

static char *records_body_fn(int64_t id, int64_t created_at, void *arg)
{
	struct records_body *b = arg;
	json_t *o = notify_body(id, "service_record", b->site, created_at, b->payload);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

struct records_act_pending {
	json_t *list;              /* [{record, state}] */
	int64_t newest;
};

static int records_act_cb(const struct store_activity *a, void *arg)
{
	struct records_act_pending *p = arg;

	if (a->updated_at > p->newest)
		p->newest = a->updated_at;
	return json_array_append_new(p->list, json_pack("{s:s, s:s}", "record", a->id, "state",
	                             a->state)) == 0 ? 0 : TE_ERR_NOMEM;
}

int records_activity_notice(struct server *srv, const struct store_activity *a)
{
	struct records_body b;
	int64_t id;
	int rc;

	b.site = a->site;
	b.payload = json_pack("{s:s, s:o}", "change", a->state, "record",
	                      records_activity_json(srv, a));
	rc = b.payload == NULL ? TE_ERR_NOMEM :
	     store_notify_add_noticed(srv->store, "service_record", a->site, server_now(),
	                              records_body_fn, &b, a->id, a->state, &id);
	json_decref(b.payload);
	if (rc == 0)
		log_info("records: %s is %s (notification #%lld)", a->id, a->state, (long long)id);
	else if (rc != TE_ERR_EXISTS)
		log_warn("records: %s is %s: not noticed yet (%s); the sweep tries again", a->id,
		         a->state, te_strerror(rc));
	return rc;
}

/* The activities changed since their cursor: a notice per (record, state),
 * for any a change did not notice at once (activity_store_move does). */
static void records_notify_activities(struct server *srv)
{
	struct records_act_pending p = { json_array(), 0 };
	struct store_activity *a = malloc(sizeof(*a));
	int64_t cur = 0;
	size_t i;
	json_t *v;
	int rc;

	if (a == NULL || p.list == NULL ||
	    store_siem_cursor(srv->store, RECORDS_ACT_SINK, &cur) != 0 ||
	    store_activity_each_changed(srv->store, cur, RECORDS_LIST_MAX, records_act_cb, &p) != 0)
		goto out;
	json_array_foreach(p.list, i, v) {
		const char *aid = json_string_value(json_object_get(v, "record"));
		const char *state = json_string_value(json_object_get(v, "state"));

		if (store_activity_get(srv->store, aid, a) != 0 || strcmp(a->state, state) != 0)
			continue;             /* changed meanwhile: seen again next time */
		if ((rc = records_activity_notice(srv, a)) != 0 && rc != TE_ERR_EXISTS)
			goto out;
	}
	if (p.newest > cur)
		(void)store_siem_cursor_set(srv->store, RECORDS_ACT_SINK, p.newest);
out:
	json_decref(p.list);
	free(a);
}

void records_notify(struct server *srv)
{
	records_notify_activities(srv);
	records_notify_sessions(srv);
}

static void records_notify_sessions(struct server *srv)
{
	struct records_pending p = { json_array(), 0 };
	struct store_session s;
	struct records_body b;
	int64_t cur = 0, id;
	size_t i;
	json_t *v;
	int rc;

	if (p.list == NULL || store_siem_cursor(srv->store, RECORDS_SINK, &cur) != 0 ||
	    store_session_each_unnoticed(srv->store, cur, records_pending_cb, &p) != 0) {
		json_decref(p.list);
		return;
	}
	json_array_foreach(p.list, i, v) {
		const char *sid = json_string_value(json_object_get(v, "record"));
		const char *state = json_string_value(json_object_get(v, "state"));

		if (store_session_get(srv->store, sid, &s) != 0 || strcmp(s.state, state) != 0)
			continue;             /* changed meanwhile: the next sweep takes it */
		b.site = s.site;
		b.payload = json_pack("{s:s, s:o}", "change", s.state, "record", records_json(srv, &s));
		rc = b.payload == NULL ? TE_ERR_NOMEM :
		     store_notify_add_noticed(srv->store, "service_record", s.site, server_now(),
		                              records_body_fn, &b, s.id, s.state, &id);
		json_decref(b.payload);
		if (rc == 0)
			log_info("records: %s is %s (notification #%lld)", s.id, s.state, (long long)id);
		else if (rc != TE_ERR_EXISTS)
			goto out;             /* not noticed: tried again next sweep */
	}
	/* Only past what every notice above covers; a second's later changes
	 * are looked at again (>=), the notices keep them single. */
	if (p.newest > cur)
		(void)store_siem_cursor_set(srv->store, RECORDS_SINK, p.newest);
out:
	json_decref(p.list);
}

/* ---- the API ------------------------------------------------------------------ */

/* "YYYY-MM-DD" (UTC midnight) or Unix seconds; -1 when neither. */
static int64_t records_time(const char *v)
{
	struct tm tm;
	char *end;
	long long n;

	memset(&tm, 0, sizeof(tm));
	if (strlen(v) == 10 && (end = strptime(v, "%Y-%m-%d", &tm)) != NULL && *end == '\0')
		return (int64_t)timegm(&tm);
	n = strtoll(v, &end, 10);
	return *end == '\0' && end != v && n >= 0 ? (int64_t)n : -1;
}

static int records_key(struct http_req *r, const char *key, const char *value, void *arg)
{
	struct store_record_filter *f = arg;
	char *dst = strcmp(key, "device") == 0 ? f->device :
	            strcmp(key, "site") == 0 ? f->site :
	            strcmp(key, "specialist") == 0 ? f->user : NULL;
	int64_t t;
	long limit;

	if (dst != NULL) {
		if (!jbody_name_ok(value)) {
			http_error(r, 400, "bad_request", "%s must be a name", key);
			return -1;
		}
		snprintf(dst, MAX_NAME_BYTES, "%s", value);
		return 0;
	}
	if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		if ((t = records_time(value)) < 0) {
			http_error(r, 400, "bad_request", "%s must be YYYY-MM-DD or Unix seconds", key);
			return -1;
		}
		*(key[0] == 's' ? &f->since : &f->until) = t;
		return 0;
	}
	if (strcmp(key, "limit") == 0) {
		if (api_query_limit(r, value, RECORDS_LIST_MAX, &limit) != 0)
			return -1;
		f->limit = limit;
		return 0;
	}
	http_error(r, 400, "bad_request", "unknown query key; see docs/protocol.md");
	return -1;
}

static int records_query(struct http_req *r, struct store_record_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->limit = 200;
	return api_query_each(r, records_key, f);
}

struct records_list_ctx {
	struct server *srv;
	json_t *arr;
};

static int records_list_cb(const struct store_session *s, void *arg)
{
	struct records_list_ctx *c = arg;

	return json_array_append_new(c->arr, records_json(c->srv, s)) == 0 ? 0 : TE_ERR_NOMEM;
}

static int records_act_list_cb(const struct store_activity *a, void *arg)
{
	struct records_list_ctx *c = arg;

	return json_array_append_new(c->arr, records_activity_json(c->srv, a)) == 0 ? 0 :
	       TE_ERR_NOMEM;
}

static int records_newer_first(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "requested_at"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "requested_at"));

	return a < b ? 1 : a > b ? -1 : 0;
}

/* Sessions' and activities' records together, newest first, f->limit. */
static json_t *records_merged(json_t *arr, int64_t limit)
{
	size_t n = json_array_size(arr), i;
	json_t **v = calloc(n + 1, sizeof(*v)), *out = json_array();

	if (v == NULL || out == NULL) {
		free(v);
		json_decref(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), records_newer_first);
	for (i = 0; i < n && (int64_t)i < limit; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

void api_records(struct http_req *r)
{
	struct store_record_filter f;
	struct records_list_ctx c = { r->srv, json_array() };
	char scope[MAX_NAME_BYTES];
	json_t *merged = NULL;
	int rc;

	if (c.arr == NULL || records_query(r, &f) != 0) {
		if (c.arr == NULL)
			http_error(r, 503, "internal", "out of memory");
		json_decref(c.arr);
		return;
	}
	if ((rc = api_user_scope(r, scope)) == 0 && scope[0] != '\0') {
		if (f.site[0] && strcmp(f.site, scope) != 0) {
			http_reply(r, 200, json_pack("{s:o}", "records", c.arr));
			return;
		}
		snprintf(f.site, sizeof(f.site), "%s", scope);
	}
	if (rc == 0)
		rc = store_session_each_record(r->srv->store, &f, records_list_cb, &c);
	if (rc == 0) {
		struct store_activity_filter af = { .device = f.device, .site = f.site,
		                                    .created_by = f.user, .since = f.since,
		                                    .until = f.until, .limit = (int)f.limit };

		rc = store_activity_each(r->srv->store, &af, records_act_list_cb, &c);
	}
	if (rc == 0 && (merged = records_merged(c.arr, f.limit)) == NULL)
		rc = TE_ERR_NOMEM;
	json_decref(c.arr);
	if (rc != 0) {
		http_error(r, 503, "internal", "could not list records (%s)", te_strerror(rc));
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "records", merged));
}

void api_record_get(struct http_req *r)
{
	struct store_session s;
	struct store_activity *a;

	if (actenv_id_ok(r->arg)) {
		if ((a = malloc(sizeof(*a))) == NULL ||
		    store_activity_get(r->srv->store, r->arg, a) != 0 ||
		    !api_site_in_scope(r, a->site))
			http_error(r, 404, "no_such_record", "no record %s", r->arg);
		else
			http_reply(r, 200, records_activity_json(r->srv, a));
		free(a);
		return;
	}
	if (store_session_get(r->srv->store, r->arg, &s) != 0 || !api_site_in_scope(r, s.site)) {
		http_error(r, 404, "no_such_record", "no record %s", r->arg);
		return;
	}
	http_reply(r, 200, records_json(r->srv, &s));
}

static void records_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	srv->records_kicked = 0;
	records_notify(srv);
}

void records_kick(struct server *srv)
{
	struct timeval now = { 0, 0 };

	if (srv->records_kicked || srv->base == NULL)
		return;
	if (event_base_once(srv->base, -1, EV_TIMEOUT, records_kick_cb, srv, &now) == 0)
		srv->records_kicked = 1;
}

/* api_fleet.c: the fleet view for people: GET /api/v1/devices with its
 * filters, and GET /api/v1/devices/SERIAL with the device's status, error
 * history, status history and recent sessions. */
#include "srvapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "devstatus.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "policy.h"
#include "server.h"

/* The newest data files `devices show` lists (for files:collect). */
#define API_FLEET_FILES 10
/* The newest activities `devices show` lists (for queue:view). */
#define API_FLEET_ACTIVITIES 10

/* Devices read from the store per round while a filtered page fills. */
#define API_FLEET_SCAN 1000

struct api_fleet_filter {
	char product[STORE_TEXT_BYTES];      /* "" any */
	char site[MAX_NAME_BYTES];           /* "" any (within the user's scope) */
	int health;                          /* -1 any, else enum devstatus_health */
	char error[DEVSTATUS_CODE_BYTES];    /* an active error code, "" any */
	char below_comp[DEVSTATUS_NAME_BYTES];   /* component ... */
	char below_ver[DEVSTATUS_VERSION_BYTES]; /* ... reported below this version */
	int64_t not_seen_s;                  /* offline and unseen this long; 0 any */
	int needs_status;                    /* error or below: parse the status */
};

struct api_list_ctx {
	struct server *srv;
	const struct api_fleet_filter *f;
	json_t *arr;
	long limit;                          /* devices in the page */
	char last[MAX_NAME_BYTES];           /* the page's last serial */
	char scanned[MAX_NAME_BYTES];        /* the last serial read from the store */
	long nscanned;
	int more;                            /* a device beyond the page exists */
	struct store_devstatus row;
	struct devstatus ds;
};

#define API_FLEET_STOP 1                 /* a callback's "page full" */

static int api_fleet_matches(struct api_list_ctx *c, const struct store_device *d,
                             int have_row)
{
	const struct api_fleet_filter *f = c->f;
	enum devstatus_health h = DEVSTATUS_UNKNOWN;
	const char *v;
	char why[64];

	if ((f->product[0] && strcmp(f->product, d->product) != 0) ||
	    (f->site[0] && strcmp(f->site, d->site) != 0))
		return 0;
	if (f->not_seen_s > 0 && (api_device_online(c->srv, d) ||
	                          server_now() - d->last_seen < f->not_seen_s))
		return 0;
	if (have_row && c->row.health[0] != '\0')
		(void)devstatus_health_parse(c->row.health, &h);
	if (f->health >= 0 && (int)h != f->health)
		return 0;
	if (!f->needs_status)
		return 1;
	if (!have_row || devstatus_parse(c->row.status, strlen(c->row.status), &c->ds, why,
	                                 sizeof(why)) != 0)
		return 0;
	if (f->error[0] && devstatus_error(&c->ds, f->error) == NULL)
		return 0;
	if (f->below_comp[0] && ((v = devstatus_version(&c->ds, f->below_comp)) == NULL ||
	                         devstatus_vercmp(v, f->below_ver) >= 0))
		return 0;
	return 1;
}

/* The status fields a list entry carries. */
static void api_fleet_status_brief(json_t *o, const struct store_devstatus *row, int have)
{
	json_object_set_new(o, "health", have && row->health[0] ? json_string(row->health)
	                                                        : json_null());
	json_object_set_new(o, "status_reported_at", have ? json_integer(row->reported_at)
	                                                  : json_null());
}

static int api_devices_cb(const struct store_device *d, void *arg)
{
	struct api_list_ctx *c = arg;
	int rc, have;
	json_t *o;

	snprintf(c->scanned, sizeof(c->scanned), "%s", d->serial);
	c->nscanned++;
	/* The status text only for a filter that looks inside it. */
	rc = store_devstatus_read(c->srv->store, d->serial, c->f->needs_status, &c->row);
	if (rc != 0 && rc != TE_ERR_NOT_FOUND)
		return rc;
	have = rc == 0;
	if (!api_fleet_matches(c, d, have))
		return 0;
	if ((long)json_array_size(c->arr) >= c->limit) {
		c->more = 1;          /* a match beyond the page */
		return API_FLEET_STOP;
	}
	snprintf(c->last, sizeof(c->last), "%s", d->serial);
	if ((o = api_device_json(c->srv, d, 0)) == NULL)
		return TE_ERR_NOMEM;
	api_fleet_status_brief(o, &c->row, have);
	return json_array_append_new(c->arr, o) == 0 ? 0 : TE_ERR_NOMEM;
}

static int api_fleet_bad(struct http_req *r, const char *what)
{
	http_error(r, 400, "bad_request", "%s", what);
	return -1;
}

/* "COMPONENT:VERSION" */
static int api_fleet_below(const char *v, struct api_fleet_filter *f)
{
	const char *colon = strchr(v, ':');
	size_t n = colon != NULL ? (size_t)(colon - v) : 0;

	if (colon == NULL || n == 0 || n >= sizeof(f->below_comp))
		return TE_ERR_INVALID;
	memcpy(f->below_comp, v, n);
	f->below_comp[n] = '\0';
	snprintf(f->below_ver, sizeof(f->below_ver), "%s", colon + 1);
	return devstatus_name_ok(f->below_comp) && devstatus_version_ok(colon + 1) &&
	       strlen(colon + 1) < sizeof(f->below_ver) ? 0 : TE_ERR_INVALID;
}

static int api_fleet_filter_one(struct http_req *r, const char *key, const char *v,
                                struct api_fleet_filter *f)
{
	enum devstatus_health h;
	char *end;

	if (strcmp(key, "product") == 0) {
		if (strlen(v) >= sizeof(f->product) || !jbody_text_ok(v))
			return api_fleet_bad(r, "product must be a product name");
		snprintf(f->product, sizeof(f->product), "%s", v);
	} else if (strcmp(key, "site") == 0) {
		if (!jbody_name_ok(v))
			return api_fleet_bad(r, "site must be a site name");
		snprintf(f->site, sizeof(f->site), "%s", v);
	} else if (strcmp(key, "health") == 0) {
		if (strcmp(v, "unknown") == 0)
			f->health = DEVSTATUS_UNKNOWN;
		else if (devstatus_health_parse(v, &h) == 0)
			f->health = (int)h;
		else
			return api_fleet_bad(r, "health must be ok, warning, fault or unknown");
	} else if (strcmp(key, "error") == 0) {
		if (!devstatus_code_ok(v))
			return api_fleet_bad(r, "error must be an error code ([A-Za-z0-9._:-])");
		snprintf(f->error, sizeof(f->error), "%s", v);
		f->needs_status = 1;
	} else if (strcmp(key, "below") == 0) {
		if (api_fleet_below(v, f) != 0)
			return api_fleet_bad(r, "below must be COMPONENT:VERSION, e.g. firmware:2.4");
		f->needs_status = 1;
	} else if (strcmp(key, "not_seen_s") == 0) {
		f->not_seen_s = strtol(v, &end, 10);
		if (*end != '\0' || f->not_seen_s < 1 || f->not_seen_s > 100L * 365 * 86400)
			return api_fleet_bad(r, "not_seen_s must be a number of seconds >= 1");
	}
	return 0;
}

int api_query_each(struct http_req *r, api_query_fn fn, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	struct evkeyval *e;
	int rc = 0;

	if (q == NULL)
		return 0;
	if (evhttp_parse_query_str(q, &kv) != 0) {
		http_error(r, 400, "bad_request", "the query is not key=value pairs");
		return -1;
	}
	TAILQ_FOREACH(e, &kv, next)
		if ((rc = fn(r, e->key, e->value, arg)) != 0)
			break;
	evhttp_clear_headers(&kv);
	return rc;
}

int api_query_limit(struct http_req *r, const char *v, long max, long *out)
{
	char *end;

	*out = strtol(v, &end, 10);
	if (*end != '\0' || end == v || *out < 1 || *out > max) {
		http_error(r, 400, "bad_request", "limit must be 1 to %ld", max);
		return -1;
	}
	return 0;
}

struct api_devices_q {
	long *limit;
	char *after;
	struct api_fleet_filter *f;
};

static int api_devices_key(struct http_req *r, const char *key, const char *value, void *arg)
{
	static const char *const filters[] = { "product", "site", "health", "error", "below",
	                                       "not_seen_s", NULL };
	struct api_devices_q *q = arg;
	size_t k;

	if (strcmp(key, "limit") == 0)
		return api_query_limit(r, value, API_DEVICES_PAGE_MAX, q->limit);
	if (strcmp(key, "after") == 0) {
		if (!jbody_name_ok(value))
			return api_fleet_bad(r, "after must be a device serial");
		snprintf(q->after, MAX_NAME_BYTES, "%s", value);
		return 0;
	}
	for (k = 0; filters[k] != NULL && strcmp(filters[k], key) != 0; k++)
		;
	if (filters[k] == NULL)
		return api_fleet_bad(r, "unknown query key; see docs/protocol.md");
	return api_fleet_filter_one(r, key, value, q->f);
}

/* ?limit=N&after=SERIAL and the filters; 400 answered on a bad value or an
 * unknown key. */
static int api_devices_query(struct http_req *r, long *limit, char after[MAX_NAME_BYTES],
                             struct api_fleet_filter *f)
{
	struct api_devices_q q = { limit, after, f };

	*limit = API_DEVICES_PAGE_DEFAULT;
	after[0] = '\0';
	return api_query_each(r, api_devices_key, &q);
}

/* GET /api/v1/devices[?limit=N&after=SERIAL&FILTERS]: one page of the
 * matching devices in serial order, "next" the serial to ask after for the
 * next one (null on the last). */
void api_devices(struct http_req *r)
{
	char scope[MAX_NAME_BYTES], after[MAX_NAME_BYTES];
	struct api_fleet_filter f = { .health = -1 };
	struct api_list_ctx *c;
	long chunk;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->arr = json_array()) == NULL) {
		free(c);
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	c->srv = r->srv;
	c->f = &f;
	if (api_devices_query(r, &c->limit, after, &f) != 0)
		goto out;
	if ((rc = api_user_scope(r, scope)) == 0 && scope[0] && f.site[0] &&
	    strcmp(scope, f.site) != 0) {
		/* Another site is as empty to a customer as a missing one. */
		http_reply(r, 200, json_pack("{s:[], s:n}", "devices", "next"));
		goto out;
	}
	/* Unfiltered, one read of a page and one beyond; filtered, read in
	 * rounds until the page has a match beyond it or the store has no
	 * more devices. */
	chunk = f.needs_status || f.product[0] || f.site[0] || f.health >= 0 ||
	        f.not_seen_s > 0 ? API_FLEET_SCAN : c->limit + 1;
	while (rc == 0) {
		c->nscanned = 0;
		rc = store_device_page(r->srv->store, scope[0] ? scope : NULL, after, chunk,
		                       api_devices_cb, c);
		if (rc == API_FLEET_STOP) {
			rc = 0;
			break;
		}
		if (rc != 0 || c->more || c->nscanned < chunk)
			break;
		snprintf(after, sizeof(after), "%s", c->scanned);
	}
	if (rc != 0) {
		http_error(r, 503, "internal", "could not list devices (%s)", te_strerror(rc));
		goto out;
	}
	http_reply(r, 200, json_pack("{s:O, s:o}", "devices", c->arr, "next",
	                             c->more ? json_string(c->last) : json_null()));
out:
	json_decref(c->arr);
	free(c);
}

/* ---- a selection (the maintenance queue) ----------------------------------- */

struct api_select_ctx {
	struct api_list_ctx list;
	store_device_cb cb;
	void *arg;
	long found;
	long max;
};

static int api_select_cb(const struct store_device *d, void *arg)
{
	struct api_select_ctx *c = arg;
	int rc, have;

	snprintf(c->list.scanned, sizeof(c->list.scanned), "%s", d->serial);
	c->list.nscanned++;
	rc = store_devstatus_read(c->list.srv->store, d->serial, c->list.f->needs_status,
	                          &c->list.row);
	if (rc != 0 && rc != TE_ERR_NOT_FOUND)
		return rc;
	have = rc == 0;
	if (strcmp(d->status, "revoked") == 0 || !api_fleet_matches(&c->list, d, have))
		return 0;
	if (++c->found > c->max)
		return TE_ERR_TOO_LONG;
	return c->cb(d, c->arg);
}

int api_fleet_select(struct http_req *r, const json_t *select, long max, store_device_cb cb,
                     void *arg)
{
	static const char *const keys[] = { "product", "site", "health", "error", "below",
	                                    "not_seen_s", NULL };
	struct api_fleet_filter f = { .health = -1 };
	struct api_select_ctx *c;
	char scope[MAX_NAME_BYTES], after[MAX_NAME_BYTES] = "", num[32];
	const char *key, *v;
	json_t *val;
	size_t k;
	int rc;

	json_object_foreach((json_t *)select, key, val) {
		for (k = 0; keys[k] != NULL && strcmp(keys[k], key) != 0; k++)
			;
		if (keys[k] == NULL)
			return api_fleet_bad(r, "select: unknown key; use product, site, health,"
			                     " error, below or not_seen_s");
		if (json_is_integer(val)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
			v = num;
		} else if (json_is_string(val)) {
			v = json_string_value(val);
		} else {
			return api_fleet_bad(r, "select: each value must be a string");
		}
		if (api_fleet_filter_one(r, key, v, &f) != 0)
			return -1;
	}
	if (json_object_size(select) == 0)
		return api_fleet_bad(r, "select: name at least one of site, product, health, error,"
		                     " below or not_seen_s (every device is not a selection)");
	if ((rc = api_user_scope(r, scope)) != 0 ||
	    (scope[0] && f.site[0] && strcmp(scope, f.site) != 0)) {
		http_error(r, 403, "forbidden", "your account acts for its own site only");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return -1;
	}
	c->list.srv = r->srv;
	c->list.f = &f;
	c->cb = cb;
	c->arg = arg;
	c->max = max;
	do {
		c->list.nscanned = 0;
		rc = store_device_page(r->srv->store, scope[0] ? scope : NULL, after,
		                       API_FLEET_SCAN, api_select_cb, c);
		snprintf(after, sizeof(after), "%s", c->list.scanned);
	} while (rc == 0 && c->list.nscanned == API_FLEET_SCAN);
	free(c);
	if (rc == TE_ERR_TOO_LONG) {
		http_error(r, 400, "too_many", "the selection has more than %ld devices; narrow it",
		           max);
		return -1;
	}
	if (rc != 0) {
		http_error(r, 503, "internal", "could not read the devices (%s)", te_strerror(rc));
		return -1;
	}
	return 0;
}

/* ---- one device ------------------------------------------------------------ */

static json_t *api_fleet_status_json(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!json_is_object(v)) {
		json_decref(v);
		return json_null();
	}
	return v;
}

static int api_fleet_error_cb(const struct store_device_error *e, void *arg)
{
	return json_array_append_new((json_t *)arg, json_pack("{s:s, s:I, s:o}", "code", e->code,
	                             "first_seen", (json_int_t)e->first_seen, "cleared_at",
	                             e->cleared_at > 0 ? json_integer(e->cleared_at)
	                                               : json_null())) == 0 ? 0 : TE_ERR_NOMEM;
}

static int api_fleet_history_cb(const struct store_devstatus *h, void *arg)
{
	return json_array_append_new((json_t *)arg, json_pack("{s:I, s:o, s:o}", "at",
	                             (json_int_t)h->reported_at, "health",
	                             h->health[0] ? json_string(h->health) : json_null(),
	                             "status", api_fleet_status_json(h->status))) == 0 ?
	       0 : TE_ERR_NOMEM;
}

static int api_fleet_session_cb(const struct store_session *s, void *arg)
{
	return json_array_append_new((json_t *)arg, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
	                             "id", s->id, "user", s->user, "state", s->state,
	                             "reason", s->reason, "created_at", (json_int_t)s->created_at,
	                             "started_at", (json_int_t)s->started_at,
	                             "end_reason", s->end_reason)) == 0 ? 0 : TE_ERR_NOMEM;
}

static int api_fleet_file_cb(const struct store_file *f, void *arg)
{
	json_t *a = arg;

	if (json_array_size(a) >= API_FLEET_FILES)
		return 0;
	return json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:I, s:I, s:o}", "id",
	                             (json_int_t)f->id, "collection", f->collection, "path",
	                             f->path, "size", (json_int_t)f->size, "collected_at",
	                             (json_int_t)f->collected_at, "refused",
	                             f->refused[0] ? json_string(f->refused) : json_null())) == 0 ?
	       0 : TE_ERR_NOMEM;
}

/* The status, its error and status history, and the newest sessions. */
static int api_fleet_detail(struct server *srv, const char *serial, json_t *o)
{
	struct store_devstatus *row = malloc(sizeof(*row));
	json_t *errs = json_array(), *hist = json_array(), *sess = json_array();
	int rc = TE_ERR_NOMEM;

	if (row == NULL || errs == NULL || hist == NULL || sess == NULL)
		goto out;
	rc = store_devstatus_get(srv->store, serial, row);
	if (rc != 0 && rc != TE_ERR_NOT_FOUND)
		goto out;
	api_fleet_status_brief(o, row, rc == 0);
	json_object_set_new(o, "status_changed_at", rc == 0 ? json_integer(row->changed_at)
	                                                    : json_null());
	json_object_set_new(o, "device_status", rc == 0 ? api_fleet_status_json(row->status)
	                                                : json_null());
	if ((rc = store_device_errors(srv->store, serial, api_fleet_error_cb, errs)) != 0 ||
	    (rc = store_devstatus_history(srv->store, serial, api_fleet_history_cb, hist)) != 0 ||
	    (rc = store_session_each_recent_for_device(srv->store, serial, api_fleet_session_cb,
	                                               sess)) != 0)
		goto out;
	json_object_set(o, "error_history", errs);
	json_object_set(o, "status_history", hist);
	json_object_set(o, "recent_sessions", sess);
out:
	json_decref(errs);
	json_decref(hist);
	json_decref(sess);
	free(row);
	return rc;
}

static int api_fleet_activity_cb(const struct store_activity *a, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id",
	                             a->id, "kind", a->kind, "name", a->name, "state", a->state,
	                             "created_at", (json_int_t)a->created_at, "created_by",
	                             a->created_by, "reason", a->reason)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_device_get(struct http_req *r)
{
	struct store_device d;
	json_t *o;
	int rc;

	/* Another site's device is as unknown to a customer as a missing one. */
	if (store_device_get(r->srv->store, r->arg, &d) != 0 || !api_site_in_scope(r, d.site)) {
		http_error(r, 404, "no_such_device", "no device with serial %s", r->arg);
		return;
	}
	if ((o = api_device_json(r->srv, &d, 1)) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if ((rc = api_fleet_detail(r->srv, d.serial, o)) == 0 &&
	    policy_allows(r->srv->policy, r->user.role, r->user.level, POLICY_FILES_COLLECT)) {
		json_t *files = json_array();

		if (files == NULL ||
		    (rc = store_file_each_for_device(r->srv->store, d.serial, api_fleet_file_cb,
		                                     files)) != 0)
			json_decref(files);
		else
			json_object_set_new(o, "recent_files", files);
	}
	if (rc == 0 && policy_allows(r->srv->policy, r->user.role, r->user.level,
	                             POLICY_QUEUE_VIEW)) {
		struct store_activity_filter f = { .device = d.serial, .limit = API_FLEET_ACTIVITIES };
		json_t *acts = json_array();

		if (acts == NULL ||
		    (rc = store_activity_each(r->srv->store, &f, api_fleet_activity_cb, acts)) != 0)
			json_decref(acts);
		else
			json_object_set_new(o, "recent_activities", acts);
	}
	if (rc != 0) {
		json_decref(o);
		http_error(r, 503, "internal", "could not read device %s (%s)", d.serial,
		           te_strerror(rc));
		return;
	}
	http_reply(r, 200, o);
}

/* rollout.c: deployments in waves (rollout.h). */
#include "rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "actenv.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "mwindow.h"
#include "policy.h"
#include "repo.h"
#include "secret.h"
#include "server.h"
#include "srvapi.h"
#include "store.h"
#include "tuf.h"

#define ROLLOUT_SPAN_S    (7 * 86400)      /* a wave's installs may start this long */

static const int rollout_default_waves[] = { 1, 10, 50, 100 };

size_t rollout_wave_end(const int *pct, size_t nwaves, size_t k, size_t n)
{
	size_t end;

	if (k + 1 >= nwaves)
		return n;
	end = (n * (size_t)pct[k] + 99) / 100;
	return end > n ? n : end;
}

/* "d" and 20 hex digits. */
static int rollout_id_ok(const char *id)
{
	char probe[ACTENV_ID_BYTES];

	if (id[0] != 'd' || strnlen(id, ACTENV_ID_BYTES) >= ACTENV_ID_BYTES)
		return 0;
	snprintf(probe, sizeof(probe), "a%s", id + 1);
	return actenv_id_ok(probe);
}

/* ---- the body -------------------------------------------------------------------- */

static json_t *rollout_load(struct server *srv, const char *id, char state[STORE_DEPLOY_STATE_BYTES])
{
	char *text = NULL;
	json_t *b = NULL;

	if (store_deployment_get(srv->store, id, &text, state) == 0)
		b = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	return b;
}

static const char *rollout_str(const json_t *b, const char *k)
{
	const char *v = json_string_value(json_object_get(b, k));

	return v != NULL ? v : "";
}

static int64_t rollout_int(const json_t *b, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(b, k));
}

/* Keep b in state, audited action by actor with detail (taken). */
static int rollout_save(struct server *srv, json_t *b, const char *state, const char *actor,
                        const char *action, json_t *detail)
{
	struct store_audit_entry audit = { actor, action, NULL };
	char *text, *dtext = NULL;
	int rc;

	json_object_set_new(b, "state", json_string(state));
	json_object_set_new(b, "updated_at", json_integer(server_now()));
	if (detail != NULL) {
		json_object_set_new(detail, "deployment", json_string(rollout_str(b, "id")));
		dtext = jbody_dump(detail);
	}
	audit.detail = dtext;
	text = json_dumps(b, JSON_COMPACT);
	rc = text == NULL ? TE_ERR_NOMEM :
	     store_deployment_put(srv->store, rollout_str(b, "id"), state, text,
	                          rollout_int(b, "created_at"), server_now(),
	                          action != NULL ? &audit : NULL);
	free(text);
	free(dtext);
	if (rc != 0)
		log_error("deployment %s: could not be kept (%s)", rollout_str(b, "id"),
		          te_strerror(rc));
	return rc;
}

static void rollout_history(json_t *b, const char *who, const char *what)
{
	json_t *h = json_object_get(b, "history");

	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(b, "history", h);
	}
	if (json_array_size(h) >= 64)
		json_array_remove(h, 0);
	json_array_append_new(h, json_pack("{s:I, s:s, s:s}", "at", (json_int_t)server_now(),
	                                   "by", who, "what", what));
}

/* ---- a wave ----------------------------------------------------------------------- */

/* Queue the installs of wave k (its members' devices) in one new batch. */
static int rollout_start_wave(struct server *srv, json_t *b, size_t k)
{
	struct store_activity *t = calloc(1, sizeof(*t));
	struct store_device *d = malloc(sizeof(*d));
	const json_t *members = json_object_get(b, "members"), *m;
	size_t nwaves = json_array_size(json_object_get(b, "waves")), i, made = 0, skipped = 0;
	json_t *list = json_array();
	char what[160];
	int64_t now = server_now();
	int rc = TE_ERR_NOMEM;

	if (t == NULL || d == NULL || list == NULL || actenv_new_id(t->batch) != 0)
		goto out;
	snprintf(t->kind, sizeof(t->kind), "install");
	snprintf(t->name, sizeof(t->name), "%s", rollout_str(b, "component"));
	snprintf(t->input, sizeof(t->input), "%s", rollout_str(b, "target"));
	snprintf(t->reason, sizeof(t->reason), "deployment %s wave %zu/%zu: %.180s",
	         rollout_str(b, "id"), k + 1, nwaves, rollout_str(b, "reason"));
	snprintf(t->created_by, sizeof(t->created_by), "%s", rollout_str(b, "created_by"));
	snprintf(t->window, sizeof(t->window), "%s", rollout_str(b, "window"));
	t->created_at = t->updated_at = t->not_before = now;
	t->not_after = now + ROLLOUT_SPAN_S;
	t->exit_code = -1;
	json_array_foreach(members, i, m) {
		const char *serial = json_string_value(json_array_get(m, 0));

		if ((size_t)json_integer_value(json_array_get(m, 1)) != k || serial == NULL)
			continue;
		if (store_device_get(srv->store, serial, d) != 0 || strcmp(d->status, "revoked") == 0) {
			skipped++;
			continue;
		}
		if (activity_create(srv, t->created_by, t, d, list) != 0) {
			log_error("deployment %s: no install could be queued for %s", rollout_str(b, "id"),
			          serial);
			skipped++;
			continue;
		}
		made++;
	}
	activity_ask_customers(srv, t->created_by, rollout_str(b, "role"), t, list);
	json_array_append_new(json_object_get(b, "batches"), json_string(t->batch));
	json_object_set_new(b, "wave", json_integer((json_int_t)k));
	snprintf(what, sizeof(what), "wave %zu of %zu started: %zu install(s) queued%s", k + 1,
	         nwaves, made, skipped ? ", some devices skipped (revoked or gone)" : "");
	rollout_history(b, "server", what);
	log_info("deployment %s: %s", rollout_str(b, "id"), what);
	rc = rollout_save(srv, b, "running", "server", "deployment_wave_started",
	                  json_pack("{s:I, s:s, s:I, s:I}", "wave", (json_int_t)k + 1, "batch",
	                            t->batch, "queued", (json_int_t)made, "skipped",
	                            (json_int_t)skipped));
out:
	json_decref(list);
	free(t);
	free(d);
	return rc;
}

struct rollout_count {
	int64_t total, ended, failed, done;
	json_t *by_state;
};

static int rollout_count_cb(const char *state, int64_t n, void *arg)
{
	struct rollout_count *c = arg;

	c->total += n;
	if (activity_is_final(state))
		c->ended += n;
	if (strcmp(state, "failed") == 0 || strcmp(state, "refused_by_device") == 0 ||
	    strcmp(state, "interrupted") == 0)
		c->failed += n;
	if (strcmp(state, "done") == 0)
		c->done += n;
	if (c->by_state != NULL)
		json_object_set_new(c->by_state, state, json_integer(n));
	return 0;
}

static int rollout_count(struct server *srv, const char *batch, struct rollout_count *c)
{
	memset(c, 0, sizeof(*c));
	return store_activity_batch_counts(srv->store, batch, rollout_count_cb, c);
}

/* One running deployment: halt, go on to the next wave, or finish. */
static void rollout_step(struct server *srv, const char *id)
{
	char state[STORE_DEPLOY_STATE_BYTES], why[256];
	json_t *b = rollout_load(srv, id, state);
	struct rollout_count c;
	size_t k, nwaves;
	int64_t maxf;

	if (b == NULL || strcmp(state, "running") != 0)
		goto out;
	k = (size_t)rollout_int(b, "wave");
	nwaves = json_array_size(json_object_get(b, "waves"));
	maxf = rollout_int(b, "max_failure_pct");
	if (rollout_count(srv, json_string_value(json_array_get(json_object_get(b, "batches"), k)),
	                  &c) != 0)
		goto out;
	/* More failures than the wave may have: halt now, not at its end. */
	if (c.total > 0 && c.failed * 100 > maxf * c.total &&
	    rollout_int(b, "accepted_wave") != (int64_t)k + 1) {
		snprintf(why, sizeof(why), "wave %zu: %lld of %lld install(s) failed, more than the "
		         "%lld%% allowed", k + 1, (long long)c.failed, (long long)c.total,
		         (long long)maxf);
		json_object_set_new(b, "why", json_string(why));
		rollout_history(b, "server", why);
		log_warn("deployment %s halted: %s", id, why);
		(void)rollout_save(srv, b, "halted", "server", "deployment_halted",
		                   json_pack("{s:I, s:I, s:I, s:s}", "wave", (json_int_t)k + 1, "failed",
		                             (json_int_t)c.failed, "of", (json_int_t)c.total, "why",
		                             why));
		goto out;
	}
	if (c.ended < c.total)
		goto out;                          /* the wave goes on */
	if (k + 1 < nwaves) {
		(void)rollout_start_wave(srv, b, k + 1);
		goto out;
	}
	snprintf(why, sizeof(why), "every wave ended");
	rollout_history(b, "server", why);
	log_info("deployment %s: done", id);
	(void)rollout_save(srv, b, "done", "server", "deployment_done",
	                   json_pack("{s:s}", "target", rollout_str(b, "target")));
out:
	json_decref(b);
}

static int rollout_running_cb(const char *id, const char *state, const char *body, void *arg)
{
	json_t *ids = arg;

	(void)state;
	(void)body;
	return json_array_append_new(ids, json_string(id)) == 0 ? 0 : TE_ERR_NOMEM;
}

void rollout_tick(struct server *srv)
{
	static int64_t last;
	int64_t now = server_now();
	json_t *ids, *id;
	size_t i;

	if (now - last < ROLLOUT_TICK_S)
		return;
	last = now;
	if ((ids = json_array()) == NULL)
		return;
	/* The ids first: a step writes the table the listing reads. */
	if (store_deployment_each(srv->store, "running", ROLLOUT_LIST_MAX, rollout_running_cb,
	                          ids) == 0)
		json_array_foreach(ids, i, id)
			rollout_step(srv, json_string_value(id));
	json_decref(ids);
}

/* ---- the API ---------------------------------------------------------------------- */

/* The waves from the body: increasing percentages, the last 100. */
static int rollout_waves(struct http_req *r, const json_t *j, json_t **out)
{
	const json_t *w = json_object_get(j, "waves"), *x;
	json_int_t prev = 0, v;
	size_t i;

	*out = json_array();
	if (w == NULL) {
		for (i = 0; i < sizeof(rollout_default_waves) / sizeof(rollout_default_waves[0]); i++)
			json_array_append_new(*out, json_integer(rollout_default_waves[i]));
		return 0;
	}
	if (!json_is_array(w) || json_array_size(w) == 0 || json_array_size(w) > ROLLOUT_MAX_WAVES)
		goto bad;
	json_array_foreach(w, i, x) {
		if (!json_is_integer(x) || (v = json_integer_value(x)) <= prev || v > 100)
			goto bad;
		json_array_append_new(*out, json_integer(v));
		prev = v;
	}
	if (prev == 100)
		return 0;
bad:
	json_decref(*out);
	*out = NULL;
	http_error(r, 400, "bad_request", "\"waves\" must be 1 to %d increasing percentages of "
	           "the devices, each wave's share counted from the start, the last 100 (such as "
	           "[1, 10, 50, 100])", ROLLOUT_MAX_WAVES);
	return -1;
}

/* A device of the selection, into the serials array. */
static int rollout_sel_cb(const struct store_device *d, void *arg)
{
	return json_array_append_new(arg, json_string(d->serial)) == 0 ? 0 : TE_ERR_NOMEM;
}

/* A random order (Fisher-Yates on the secret generator): the first wave
 * is no particular site's or serial range's. */
static void rollout_shuffle(json_t *arr)
{
	size_t n = json_array_size(arr), i, k;
	uint32_t rnd;
	json_t *a, *b;

	for (i = n; i > 1; i--) {
		if (secret_random(&rnd, sizeof(rnd)) != 0)
			return;
		k = rnd % i;
		a = json_incref(json_array_get(arr, i - 1));
		b = json_incref(json_array_get(arr, k));
		json_array_set_new(arr, i - 1, b);
		json_array_set_new(arr, k, a);
	}
}

static int rollout_may(struct http_req *r)
{
	if (policy_allows(r->srv->policy, r->user.role, r->user.level, POLICY_SOFTWARE_INSTALL))
		return 1;
	http_error(r, 403, "forbidden", "deployments need permission %s, which your role has not",
	           POLICY_SOFTWARE_INSTALL);
	return 0;
}

void api_deployment_add(struct http_req *r)
{
	json_t *j = api_body(r), *waves = NULL, *serials = json_array(), *members = NULL, *b = NULL;
	json_t *rels = NULL, *wv;
	const json_t *rel;
	char target[TUF_MAX_TARGET_BYTES + 1], reason[MAX_REASON_BYTES], window[MWINDOW_SPEC_BYTES];
	char id[ACTENV_ID_BYTES], bad[128];
	int pct[ROLLOUT_MAX_WAVES];
	json_int_t maxf = ROLLOUT_DEFAULT_FAIL;
	struct mwindow mw;
	size_t i, k, n, nwaves;

	if (j == NULL || serials == NULL || !rollout_may(r))
		goto out;
	if (jbody_str(j, "target", 1, target, sizeof(target)) != 0 || !tuf_target_name_ok(target)) {
		http_error(r, 400, "bad_request", "\"target\" must be a target name of the repository");
		goto out;
	}
	if (api_text_field(r, j, "reason", 1, reason, sizeof(reason)) != 0 ||
	    rollout_waves(r, j, &waves) != 0)
		goto out;
	if (json_object_get(j, "max_failure_pct") != NULL &&
	    (api_int_field(r, j, "max_failure_pct", &maxf) != 0 || maxf < 0 || maxf > 100)) {
		http_error(r, 400, "bad_request", "\"max_failure_pct\" must be 0 to 100");
		goto out;
	}
	window[0] = '\0';
	if (jbody_str(j, "window", 0, window, sizeof(window)) != 0 ||
	    mwindow_parse(window, &mw, bad, sizeof(bad)) != 0) {
		http_error(r, 400, "bad_request", "\"window\": %s", window[0] ? bad :
		           "must be text such as \"mon-fri 02:00-04:00\"");
		goto out;
	}
	if ((rels = repo_releases(r->srv)) == NULL || (rel = repo_release_find(rels, target)) == NULL) {
		http_error(r, 400, "bad_request", "the repository publishes no release %s: see `tether"
		           " repo status` and `tether-server repo publish`", target);
		goto out;
	}
	if (!actenv_name_ok(rollout_str(rel, "component"))) {
		http_error(r, 400, "bad_request", "release %s has a component name a device cannot"
		           " take", target);
		goto out;
	}
	if (activity_devices(r, j, 1, "deployed", rollout_sel_cb, serials) != 0)
		goto out;
	if ((n = json_array_size(serials)) == 0) {
		http_error(r, 404, "no_devices", "the selection matches no device");
		goto out;
	}
	rollout_shuffle(serials);
	nwaves = json_array_size(waves);
	json_array_foreach(waves, i, wv)
		pct[i] = (int)json_integer_value(wv);
	members = json_array();
	for (i = 0, k = 0; i < n; i++) {
		while (k + 1 < nwaves && i >= rollout_wave_end(pct, nwaves, k, n))
			k++;
		json_array_append_new(members, json_pack("[O, I]", json_array_get(serials, i),
		                                         (json_int_t)k));
	}
	if (actenv_new_id(id) != 0) {
		http_error(r, 503, "internal", "could not make an id");
		goto out;
	}
	id[0] = 'd';
	b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:I, s:O, s:I, s:[], s:s, s:s, s:I,"
	              " s:I, s:s, s:[]}",
	              "id", id, "target", target, "component", rollout_str(rel, "component"),
	              "version", rollout_str(rel, "version"), "reason", reason, "window", window,
	              "waves", waves, "max_failure_pct", maxf, "members", members, "wave",
	              (json_int_t)-1, "batches", "created_by", r->user.name, "role", r->user.role,
	              "created_at", (json_int_t)server_now(), "updated_at",
	              (json_int_t)server_now(), "why", "", "history");
	if (b == NULL) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	rollout_history(b, r->user.name, "created");
	if (rollout_save(r->srv, b, "running", r->user.name, "deployment_created",
	                 json_pack("{s:s, s:s, s:O, s:I, s:I, s:s}", "target", target, "version",
	                           rollout_str(rel, "version"), "waves", waves, "max_failure_pct",
	                           maxf, "devices", (json_int_t)n, "reason", reason)) != 0 ||
	    rollout_start_wave(r->srv, b, 0) != 0) {
		http_error(r, 503, "internal", "could not keep the deployment");
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s, s:s, s:I, s:O}", "id", id, "state", "running",
	                             "target", target, "devices", (json_int_t)n, "waves", waves));
out:
	json_decref(rels);
	json_decref(b);
	json_decref(members);
	json_decref(serials);
	json_decref(waves);
	json_decref(j);
}

/* The deployment with its waves' progress, as the API shows it. */
static json_t *rollout_view(struct server *srv, json_t *b, int full)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I}",
	                      "id", rollout_str(b, "id"), "state", rollout_str(b, "state"),
	                      "target", rollout_str(b, "target"), "version",
	                      rollout_str(b, "version"), "reason", rollout_str(b, "reason"),
	                      "why", rollout_str(b, "why"), "wave", rollout_int(b, "wave") + 1,
	                      "max_failure_pct", rollout_int(b, "max_failure_pct"), "devices",
	                      (json_int_t)json_array_size(json_object_get(b, "members")),
	                      "created_by", rollout_str(b, "created_by"), "created_at",
	                      rollout_int(b, "created_at"), "updated_at",
	                      rollout_int(b, "updated_at"));
	const json_t *members = json_object_get(b, "members"), *m, *pw;
	json_t *waves = json_array();
	size_t i, k;

	if (o == NULL || waves == NULL) {
		json_decref(o);
		json_decref(waves);
		return NULL;
	}
	json_array_foreach(json_object_get(b, "waves"), k, pw) {
		const char *batch = json_string_value(json_array_get(json_object_get(b, "batches"), k));
		struct rollout_count c;
		json_int_t nmem = 0;
		json_t *w;

		json_array_foreach(members, i, m)
			nmem += (size_t)json_integer_value(json_array_get(m, 1)) == k;
		w = json_pack("{s:I, s:I, s:b}", "percent", json_integer_value(pw), "devices", nmem,
		              "started", batch != NULL);
		if (w != NULL && batch != NULL) {
			json_object_set_new(w, "batch", json_string(batch));
			c.by_state = NULL;
			if (rollout_count(srv, batch, &c) == 0) {
				json_object_set_new(w, "done", json_integer(c.done));
				json_object_set_new(w, "failed", json_integer(c.failed));
				json_object_set_new(w, "pending", json_integer(c.total - c.ended));
				json_object_set_new(w, "other", json_integer(c.ended - c.done - c.failed));
			}
		}
		json_array_append_new(waves, w);
	}
	json_object_set_new(o, "waves", waves);
	if (full)
		json_object_set(o, "history", json_object_get(b, "history"));
	return o;
}

static int rollout_list_cb(const char *id, const char *state, const char *body, void *arg)
{
	struct { struct server *srv; json_t *arr; } *c = arg;
	json_t *b = json_loads(body, JSON_REJECT_DUPLICATES, NULL), *o;

	(void)id;
	(void)state;
	if (b == NULL)
		return 0;
	o = rollout_view(c->srv, b, 0);
	json_decref(b);
	return o != NULL && json_array_append_new(c->arr, o) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_deployments(struct http_req *r)
{
	struct { struct server *srv; json_t *arr; } c = { r->srv, json_array() };

	if (c.arr == NULL || !rollout_may(r)) {
		json_decref(c.arr);
		return;
	}
	if (store_deployment_each(r->srv->store, NULL, ROLLOUT_LIST_MAX, rollout_list_cb, &c) != 0) {
		json_decref(c.arr);
		http_error(r, 503, "internal", "could not read the deployments");
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "deployments", c.arr));
}

/* The deployment of the path (r->arg) into *b; -1 with 404 answered. */
static int rollout_path(struct http_req *r, json_t **b, char state[STORE_DEPLOY_STATE_BYTES])
{
	*b = rollout_id_ok(r->arg) ? rollout_load(r->srv, r->arg, state) : NULL;
	if (*b == NULL) {
		http_error(r, 404, "no_such_deployment", "no deployment %s", r->arg);
		return -1;
	}
	json_object_set_new(*b, "state", json_string(state));
	return 0;
}

void api_deployment_get(struct http_req *r)
{
	char state[STORE_DEPLOY_STATE_BYTES];
	json_t *b;

	if (!rollout_may(r) || rollout_path(r, &b, state) != 0)
		return;
	http_reply(r, 200, rollout_view(r->srv, b, 1));
	json_decref(b);
}

struct rollout_cancel {
	char (*ids)[ACTENV_ID_BYTES];
	size_t n, cap;
};

static int rollout_cancel_cb(const struct store_activity *a, void *arg)
{
	struct rollout_cancel *c = arg;

	if (strcmp(a->state, "awaiting_approval") != 0 && strcmp(a->state, "queued") != 0 &&
	    strcmp(a->state, "released") != 0)
		return 0;
	if (c->n < c->cap)
		snprintf(c->ids[c->n++], ACTENV_ID_BYTES, "%s", a->id);
	return 0;
}

/* Cancel the not-started installs of b's current wave; how many. */
static size_t rollout_cancel_wave(struct http_req *r, json_t *b, const char *why)
{
	const char *batch = json_string_value(json_array_get(json_object_get(b, "batches"),
	                                      (size_t)rollout_int(b, "wave")));
	struct store_activity_filter f = { .batch = batch, .limit = STORE_ACT_LIST_MAX };
	struct rollout_cancel c = { NULL, 0, STORE_ACT_LIST_MAX };
	struct store_activity *a = malloc(sizeof(*a));
	char from[STORE_ACT_STATE_BYTES];
	size_t i, done = 0;

	if (batch == NULL || a == NULL || (c.ids = calloc(c.cap, ACTENV_ID_BYTES)) == NULL ||
	    store_activity_each(r->srv->store, &f, rollout_cancel_cb, &c) != 0)
		goto out;
	for (i = 0; i < c.n; i++) {
		if (store_activity_get(r->srv->store, c.ids[i], a) != 0)
			continue;
		snprintf(from, sizeof(from), "%s", a->state);
		snprintf(a->state, sizeof(a->state), "cancelled");
		snprintf(a->why, sizeof(a->why), "%.*s", (int)sizeof(a->why) - 1, why);
		a->ended_at = a->updated_at = server_now();
		a->envelope[0] = '\0';
		if (activity_store_move(r->srv, a, from, r->user.name, "activity_cancelled") == 0)
			done++;
	}
out:
	free(c.ids);
	free(a);
	return done;
}

/* pause, resume, abort: from the states each may leave, audited. */
static void rollout_act(struct http_req *r, const char *verb)
{
	char state[STORE_DEPLOY_STATE_BYTES], why[MAX_REASON_BYTES], text[2 * MAX_REASON_BYTES];
	json_t *j = api_body(r), *b = NULL;
	const char *to, *action;
	size_t cancelled = 0;
	int ok;

	if (j == NULL || !rollout_may(r) || api_text_field(r, j, "reason", 1, why, sizeof(why)) != 0 ||
	    rollout_path(r, &b, state) != 0)
		goto out;
	if (strcmp(verb, "pause") == 0) {
		ok = strcmp(state, "running") == 0;
		to = "paused";
		action = "deployment_paused";
	} else if (strcmp(verb, "resume") == 0) {
		ok = strcmp(state, "paused") == 0 || strcmp(state, "halted") == 0;
		to = "running";
		action = "deployment_resumed";
	} else {
		ok = strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
		     strcmp(state, "halted") == 0;
		to = "aborted";
		action = "deployment_aborted";
	}
	if (!ok) {
		http_error(r, 409, "bad_state", "deployment %s is %s: it cannot be %s", r->arg, state,
		           strcmp(verb, "pause") == 0 ? "paused (only a running one)" :
		           strcmp(verb, "resume") == 0 ? "resumed (only a paused or halted one)" :
		           "aborted (it has ended)");
		goto out;
	}
	/* Resuming a halted deployment accepts the halted wave's failures. */
	if (strcmp(state, "halted") == 0 && strcmp(to, "running") == 0)
		json_object_set_new(b, "accepted_wave", json_integer(rollout_int(b, "wave") + 1));
	snprintf(text, sizeof(text), "%s by %s: %s", to, r->user.name, why);
	if (strcmp(to, "aborted") == 0) {
		char cwhy[2 * MAX_REASON_BYTES + 64];

		snprintf(cwhy, sizeof(cwhy), "deployment %s aborted by %s: %s", r->arg, r->user.name,
		         why);
		cancelled = rollout_cancel_wave(r, b, cwhy);
	}
	json_object_set_new(b, "why", json_string(text));
	rollout_history(b, r->user.name, text);
	if (rollout_save(r->srv, b, to, r->user.name, action,
	                 json_pack("{s:s, s:s, s:I}", "from", state, "reason", why, "cancelled",
	                           (json_int_t)cancelled)) != 0) {
		http_error(r, 503, "internal", "could not keep the deployment");
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s, s:I}", "id", r->arg, "state", to, "cancelled",
	                             (json_int_t)cancelled));
out:
	json_decref(b);
	json_decref(j);
}

void api_deployment_pause(struct http_req *r)
{
	rollout_act(r, "pause");
}

void api_deployment_resume(struct http_req *r)
{
	rollout_act(r, "resume");
}

void api_deployment_abort(struct http_req *r)
{
	rollout_act(r, "abort");
}

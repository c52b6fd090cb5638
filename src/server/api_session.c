/* api_session.c: the session endpoints for people: request (checked against
 * the policy, docs/architecture.md "Access policy"), status, connect, end.
 *
 * A request is checked in this order, each refusal a 403 with its reason and
 * an audited session_denied: the actions the role permits, the specialist's
 * certification for the device's product family, the site's contract, the
 * site's remote switch, the region rule. Then the customer's part is
 * decided: none, a notice (the session goes ahead unless refused in time)
 * or an approval (nothing happens until approved). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "srvapi.h"
#include "records.h"
#include "api_visit.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "notify.h"
#include "policy.h"
#include "relaymove.h"
#include "server.h"
#include "srvsession.h"
#include "tickets.h"

#define API_MAX_ACTIONS 16          /* actions in one request */

/* One session request while it is checked. */
struct api_ask {
	struct store_session *s;        /* the session being built */
	struct store_device d;
	struct store_site site;
	const json_t *req_services;     /* as asked; NULL: not given */
	const json_t *req_actions;
	json_t *services;               /* granted forwards (names) */
	json_t *actions;                /* granted actions */
	char role[64];                  /* "specialist level 2" */
};

void api_today(char out[STORE_DATE_BYTES])
{
	time_t now = (time_t)server_now();
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, STORE_DATE_BYTES, "%Y-%m-%d", &tm);
}

/* Everything asked for, as permissions: forward:NAME and the actions. */
static json_t *api_ask_requested(const struct api_ask *a)
{
	json_t *all = json_array();
	size_t i;

	for (i = 0; json_is_array(a->req_services) && i < json_array_size(a->req_services); i++)
		json_array_append_new(all, json_sprintf("forward:%s",
		                      json_string_value(json_array_get(a->req_services, i))));
	for (i = 0; json_is_array(a->req_actions) && i < json_array_size(a->req_actions); i++)
		json_array_append(all, json_array_get(a->req_actions, i));
	return all;
}

static void api_ask_refuse(struct http_req *r, struct api_ask *a, int status,
                           const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void api_ask_vrefuse(struct http_req *r, struct api_ask *a, int status,
                            const char *code, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* Refuse the request with status and code, audited session_denied. */
static void api_ask_vrefuse(struct http_req *r, struct api_ask *a, int status,
                            const char *code, const char *fmt, va_list ap)
{
	char why[2 * MAX_REASON_BYTES];

	vsnprintf(why, sizeof(why), fmt, ap);
	server_audit(r->srv, r->user.name, "session_denied",
	             json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:b}", "user",
	                       r->user.name, "role", r->user.role, "level", r->user.level,
	                       "region", r->user.region, "device", a->d.serial, "site",
	                       a->site.name, "reason", why, "requested", api_ask_requested(a),
	                       "escalation", a->s->escalation));
	http_error(r, status, code, "session refused: %s", why);
}

static void api_ask_refuse(struct http_req *r, struct api_ask *a, int status,
                           const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_ask_vrefuse(r, a, status, code, fmt, ap);
	va_end(ap);
}

static void api_ask_deny(struct http_req *r, struct api_ask *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuse the request by policy: 403 with the reason, audited session_denied. */
static void api_ask_deny(struct http_req *r, struct api_ask *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_ask_vrefuse(r, a, 403, "forbidden", fmt, ap);
	va_end(ap);
}

/* An action word a client may ask for (forwards go in "services"). */
static int api_action_ok(const char *a)
{
	return strcmp(a, "shell") == 0 || strcmp(a, "files:read") == 0 ||
	       strcmp(a, "files:write") == 0 || strcmp(a, "patient_records") == 0 ||
	       (strncmp(a, "diag:", 5) == 0 && jbody_name_ok(a + 5));
}

static int api_name_list_ok(const json_t *v, int (*ok)(const char *))
{
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > API_MAX_ACTIONS)
		return 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));

		if (s == NULL || strlen(s) >= MAX_NAME_BYTES || !ok(s))
			return 0;
	}
	return 1;
}

static int api_ask_parse(struct http_req *r, json_t *j, struct api_ask *a)
{
	const json_t *esc = json_object_get(j, "escalation");
	int rc;

	if ((rc = jbody_str(j, "device", 1, a->s->device, MAX_NAME_BYTES)) != 0 ||
	    !jbody_name_ok(a->s->device)) {
		api_bad_field(r, "device", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if (api_text_field(r, j, "reason", 1, a->s->reason, MAX_REASON_BYTES) != 0)
		return -1;
	a->req_services = json_object_get(j, "services");
	if (a->req_services != NULL && (!api_name_list_ok(a->req_services, jbody_name_ok) ||
	                                json_array_size(a->req_services) > MAX_SERVICES)) {
		http_error(r, 400, "bad_request", "services must be a non-empty array of at most"
		           " %d service names", MAX_SERVICES);
		return -1;
	}
	a->req_actions = json_object_get(j, "actions");
	if (a->req_actions != NULL && !api_name_list_ok(a->req_actions, api_action_ok)) {
		http_error(r, 400, "bad_request", "actions must be a non-empty array of at most %d"
		           " of shell, files:read, files:write, diag:NAME, patient_records"
		           " (forwards go in services)", API_MAX_ACTIONS);
		return -1;
	}
	if (esc != NULL && !json_is_boolean(esc)) {
		http_error(r, 400, "bad_request", "escalation must be true or false");
		return -1;
	}
	a->s->escalation = json_is_true(esc);
	return 0;
}

static int api_ask_permits(struct http_req *r, const char *perm)
{
	return policy_allows(r->srv->policy, r->user.role, r->user.level, perm);
}

/* 1 when the JSON array arr holds the string name. */
static int api_json_has_name(const json_t *arr, const char *name)
{
	for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++)
		if (name != NULL && json_is_string(json_array_get(arr, i)) &&
		    strcmp(json_string_value(json_array_get(arr, i)), name) == 0)
			return 1;
	return 0;
}

/* The names in arr (strings, or objects' field key), comma-separated, or
 * "none", for a message. */
static void api_offered_names(const json_t *arr, const char *key, char *out, size_t outsz)
{
	size_t len = 0;

	snprintf(out, outsz, "none");
	for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		const char *n = json_string_value(key ? json_object_get(v, key) : v);
		int w;

		if (n == NULL)
			continue;
		w = snprintf(out + len, outsz - len, "%s%s", len ? ", " : "", n);
		if (w < 0 || (size_t)w >= outsz - len)
			return;
		len += (size_t)w;
	}
}

/* Diagnostics and file areas asked for must be among those the agent
 * reports in its pings (an agent too old to report them is not judged). */
static int api_ask_offers(struct http_req *r, struct api_ask *a)
{
	json_error_t jerr;
	json_t *diags = a->d.diags[0] ? json_loads(a->d.diags, 0, &jerr) : NULL;
	json_t *files = a->d.files[0] ? json_loads(a->d.files, 0, &jerr) : NULL;
	char names[STORE_OFFERS_BYTES];
	int rc = 0;

	for (size_t i = 0; a->req_actions && rc == 0 && i < json_array_size(a->req_actions); i++) {
		const char *act = json_string_value(json_array_get(a->req_actions, i));

		if (strncmp(act, "diag:", 5) == 0 && json_is_array(diags) &&
		    !api_json_has_name(diags, act + 5)) {
			api_offered_names(diags, NULL, names, sizeof(names));
			http_error(r, 400, "not_offered", "device %s offers no diagnostic '%s'"
			           " (it offers: %s)", a->d.serial, act + 5, names);
			rc = -1;
		} else if (strncmp(act, "files:", 6) == 0 && json_is_array(files) &&
		           json_array_size(files) == 0) {
			http_error(r, 400, "not_offered", "device %s offers no file areas"
			           " (files.NAME in its tether-agent.conf), so %s cannot be granted",
			           a->d.serial, act);
			rc = -1;
		}
	}
	json_decref(diags);
	json_decref(files);
	return rc;
}

/* When the device was last seen, for a refusal: a UTC time and how long
 * ago, or that it never pinged. */
static void api_last_seen_text(int64_t seen, int64_t now, char *out, size_t outsz)
{
	time_t t = (time_t)seen;
	int64_t ago = now - seen;
	char when[32];
	struct tm tm;

	if (seen <= 0) {
		snprintf(out, outsz, "never seen: its agent has not pinged since it was enrolled");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (ago < 0)
		ago = 0;
	if (ago < 120)
		snprintf(out, outsz, "last seen %s (%lld s ago)", when, (long long)ago);
	else if (ago < 7200)
		snprintf(out, outsz, "last seen %s (%lld min ago)", when, (long long)(ago / 60));
	else
		snprintf(out, outsz, "last seen %s (%lld h ago)", when, (long long)(ago / 3600));
}

/* The forwards: those asked for must be services the device reported; none
 * asked (and no actions) means every reported service the role permits. */
static int api_ask_services(struct http_req *r, struct api_ask *a)
{
	json_error_t jerr;
	json_t *have = json_loads(a->d.services, 0, &jerr);
	const json_t *req = a->req_services;
	int all = req == NULL && a->req_actions == NULL, rc = 0;
	char names[STORE_SERVICES_BYTES];

	for (size_t i = 0; json_is_array(have) && i < json_array_size(have); i++) {
		const char *name = json_string_value(json_object_get(json_array_get(have, i), "name"));
		char perm[POLICY_PERM_BYTES];
		int wanted = 0;

		for (size_t k = 0; req != NULL && k < json_array_size(req); k++)
			if (name && strcmp(name, json_string_value(json_array_get(req, k))) == 0)
				wanted = 1;
		snprintf(perm, sizeof(perm), "forward:%s", name ? name : "");
		if (name != NULL && all && api_ask_permits(r, perm))
			wanted = 1;
		if (wanted)
			json_array_append_new(a->services, json_string(name));
	}
	for (size_t k = 0; req != NULL && rc == 0 && k < json_array_size(req); k++) {
		const char *want = json_string_value(json_array_get(req, k));

		if (!api_json_has_name(a->services, want)) {
			api_offered_names(have, "name", names, sizeof(names));
			http_error(r, 400, "not_offered", "device %s does not offer service '%s'"
			           " (it offers: %s)", a->d.serial, want, names);
			rc = -1;
		}
	}
	json_decref(have);
	return rc;
}

/* Every forward and action asked for must be permitted to the role. */
static int api_ask_check_role(struct http_req *r, struct api_ask *a)
{
	json_t *want = api_ask_requested(a);
	int rc = 0;

	for (size_t i = 0; i < json_array_size(want) && rc == 0; i++) {
		const char *perm = json_string_value(json_array_get(want, i));

		if (!api_ask_permits(r, perm)) {
			api_ask_deny(r, a, "your role (%s) does not permit %s (policy.conf)",
			             a->role, perm);
			rc = -1;
		}
	}
	json_decref(want);
	/* Asking for "everything" of a device that offers services, none of
	 * them permitted, is a refusal rather than an empty session. */
	if (rc == 0 && json_array_size(a->services) == 0 && a->req_actions == NULL &&
	    strcmp(a->d.services, "[]") != 0 && a->d.services[0] != '\0') {
		api_ask_deny(r, a, "none of the services of %s is permitted to your role (%s)",
		             a->d.serial, a->role);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && a->req_actions && i < json_array_size(a->req_actions); i++) {
		const char *act = json_string_value(json_array_get(a->req_actions, i));

		json_array_append_new(a->actions, json_string(act));
		/* files:write grants reading as well (common.md ticket vocabulary). */
		if (strcmp(act, "files:write") == 0)
			json_array_append_new(a->actions, json_string("files:read"));
	}
	return rc;
}

/* Drop duplicates, keeping the first of each (files:read may come twice). */
static void api_json_dedupe(json_t *arr)
{
	for (size_t i = 0; i < json_array_size(arr); i++)
		for (size_t k = json_array_size(arr); k-- > i + 1;)
			if (json_equal(json_array_get(arr, i), json_array_get(arr, k)))
				json_array_remove(arr, k);
}

/* Certification (specialists), contract, remote switch and region. */
static int api_ask_check_entitlement(struct http_req *r, struct api_ask *a)
{
	char today[STORE_DATE_BYTES], until[STORE_DATE_BYTES], why[MAX_REASON_BYTES];
	const struct policy_region *rule;

	api_today(today);
	if (strcmp(r->user.role, "specialist") == 0) {
		if (store_cert_get(r->srv->store, r->user.name, a->d.product, until) != 0) {
			api_ask_deny(r, a, "you hold no certification for product family %s"
			             " (device %s)", a->d.product, a->d.serial);
			return -1;
		}
		if (strcmp(today, until) > 0) {
			api_ask_deny(r, a, "your certification for product family %s expired on %s",
			             a->d.product, until);
			return -1;
		}
	}
	snprintf(a->s->site, sizeof(a->s->site), "%s", a->d.site);
	if (a->s->site[0] == '\0' || store_site_get(r->srv->store, a->s->site, &a->site) != 0) {
		api_ask_deny(r, a, "device %s belongs to no site; an administrator must register"
		             " it with --site", a->d.serial);
		return -1;
	}
	if (strcmp(today, a->site.contract_until) > 0) {
		api_ask_deny(r, a, "the service contract for site %s expired on %s",
		             a->site.name, a->site.contract_until);
		return -1;
	}
	if (!a->site.remote_enabled) {
		api_ask_deny(r, a, "remote service is switched off for site %s (by %s: %s)",
		             a->site.name, a->site.remote_changed_by, a->site.remote_reason);
		return -1;
	}
	rule = policy_region_rule(r->srv->policy, r->user.region);
	if (policy_region_check(rule, r->user.region, r->user.level, a->s->escalation,
	                        why, sizeof(why)) != 0) {
		api_ask_deny(r, a, "%s", why);
		return -1;
	}
	return 0;
}

/* The customer's part: an approval (site setting, or patient records), a
 * notice (region rule), or none. */
static void api_ask_customer(struct http_req *r, struct api_ask *a, int64_t now)
{
	const struct policy *p = r->srv->policy;
	const struct policy_region *rule = policy_region_rule(p, r->user.region);
	int patient = 0;

	for (size_t i = 0; i < json_array_size(a->actions); i++)
		if (strcmp(json_string_value(json_array_get(a->actions, i)), "patient_records") == 0)
			patient = 1;
	if (strcmp(a->site.approval_mode, "all") == 0 || patient ||
	    (strcmp(a->site.approval_mode, "escalations") == 0 && a->s->escalation)) {
		snprintf(a->s->customer, sizeof(a->s->customer), "approval");
		a->s->customer_deadline = now + p->approval_timeout_s;
	} else if (rule->notice_s > 0) {
		snprintf(a->s->customer, sizeof(a->s->customer), "notice");
		a->s->customer_deadline = now + rule->notice_s;
	}
}

json_t *api_session_granted(const struct store_session *s)
{
	json_error_t jerr;
	json_t *svcs = json_loads(s->services, 0, &jerr), *acts = json_loads(s->actions, 0, &jerr);
	json_t *all = json_array();
	size_t i;

	for (i = 0; json_is_array(svcs) && i < json_array_size(svcs); i++)
		json_array_append_new(all, json_sprintf("forward:%s",
		                      json_string_value(json_array_get(svcs, i))));
	for (i = 0; json_is_array(acts) && i < json_array_size(acts); i++)
		json_array_append(all, json_array_get(acts, i));
	json_decref(svcs);
	json_decref(acts);
	return all;
}

/* Tell the site's customer: who, where, why, what, until when, and how to
 * refuse (and approve). Queued durably by notify.c. */
static void api_ask_notify(struct http_req *r, const struct api_ask *a)
{
	const struct store_session *s = a->s;
	int approval = strcmp(s->customer, "approval") == 0;
	char refuse_cmd[160], refuse_api[160], approve_cmd[160], approve_api[160];
	json_t *p;

	snprintf(refuse_cmd, sizeof(refuse_cmd), "tether approvals refuse %s --reason TEXT", s->id);
	snprintf(refuse_api, sizeof(refuse_api), "POST /api/v1/approvals/%s/refuse"
	         " {\"reason\": TEXT}", s->id);
	snprintf(approve_cmd, sizeof(approve_cmd), "tether approvals approve %s", s->id);
	snprintf(approve_api, sizeof(approve_api), "POST /api/v1/approvals/%s/approve", s->id);
	p = json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:s}, s:{s:s, s:s, s:s, s:s},"
	              " s:{s:s, s:b}, s:o, s:I, s:s, s:{s:s, s:s}}",
	              "session", s->id, "kind", approval ? "approval" : "notice",
	              "who", "user", s->user, "role", r->user.role, "level",
	              r->user.level, "region", r->user.region,
	              "where", "site", a->site.name, "customer", a->site.customer,
	              "device", s->device, "product", a->d.product,
	              "why", "reason", s->reason, "escalation", s->escalation,
	              "what", api_session_granted(s), "deadline", (json_int_t)s->customer_deadline,
	              "message", approval ?
	              "a remote service session waits for your approval" :
	              "a remote service session will start unless you refuse it before the"
	              " deadline",
	              "refuse", "command", refuse_cmd, "api", refuse_api);
	if (p != NULL)
		json_object_set_new(p, "approve", json_pack("{s:s, s:s}", "command", approve_cmd,
		                    "api", approve_api));
	if (notify_enqueue(r->srv, approval ? "approval_requested" : "escalation_notice",
	                   a->site.name, p) != 0)
		log_error("session %s: could not queue the customer's notification", s->id);
}

static int api_ask_store(struct http_req *r, struct api_ask *a)
{
	struct store_audit_entry audit = { r->user.name, "session_request", NULL };
	struct store_session *s = a->s;
	char *detail = NULL, *svcs = NULL, *acts = NULL;
	int rc = TE_ERR_TOO_LONG;

	if ((svcs = json_dumps(a->services, JSON_COMPACT)) == NULL ||
	    (acts = json_dumps(a->actions, JSON_COMPACT)) == NULL ||
	    snprintf(s->services, sizeof(s->services), "%s", svcs) >= (int)sizeof(s->services) ||
	    snprintf(s->actions, sizeof(s->actions), "%s", acts) >= (int)sizeof(s->actions))
		goto out;
	if ((rc = session_id_new(s->id)) != 0)
		goto out;
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:s, s:I}",
	                              "session", s->id, "device", s->device, "reason",
	                              s->reason, "site", s->site, "granted", api_session_granted(s),
	                              "state", s->state, "escalation", s->escalation,
	                              "customer", s->customer[0] ? s->customer : "none",
	                              "deadline", (json_int_t)s->customer_deadline));
	if (detail == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	audit.detail = detail;
	rc = store_session_add(r->srv->store, s, &audit);
	if (rc == 0)
		records_kick(r->srv);
out:
	free(detail);
	free(svcs);
	free(acts);
	return rc;
}

static void api_ask_free(struct api_ask *a)
{
	json_decref(a->services);
	json_decref(a->actions);
	free(a->s);
}

void api_session_new(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r);   /* frees r on failure: read r only after the check */
	struct store_session open;
	struct api_ask a;
	int rc;

	if (j == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.s = calloc(1, sizeof(*a.s));
	a.services = json_array();
	a.actions = json_array();
	if (a.s == NULL || a.services == NULL || a.actions == NULL) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	api_role_text(&r->user, a.role, sizeof(a.role));
	if (api_ask_parse(r, j, &a) != 0)
		goto out;
	if (store_device_get(srv->store, a.s->device, &a.d) != 0) {
		http_error(r, 404, "no_such_device", "no device with serial %s", a.s->device);
		goto out;
	}
	if (strcmp(a.d.status, "revoked") == 0) {
		http_error(r, 409, "device_revoked", "device %s was revoked by an administrator;"
		           " no sessions can be opened on it", a.d.serial);
		goto out;
	}
	if (api_ask_services(r, &a) != 0 || api_ask_offers(r, &a) != 0 ||
	    api_ask_check_role(r, &a) != 0 || api_ask_check_entitlement(r, &a) != 0)
		goto out;
	/* No consent can come from a device that is not online: say so now
	 * rather than let the request wait out the consent timeout. */
	if (!api_device_online(srv, &a.d)) {
		char seen[96];

		api_last_seen_text(a.d.last_seen, server_now(), seen, sizeof(seen));
		api_ask_refuse(r, &a, 409, "device_offline", "device %s is offline (%s);"
		               " ask again once its agent is online (tether devices)",
		               a.d.serial, seen);
		goto out;
	}
	if (store_session_open_for_device(srv->store, a.s->device, &open) == 0) {
		http_error(r, 409, "device_busy", "session %s is already open on %s; end it first",
		           open.id, open.device);
		goto out;
	}
	api_json_dedupe(a.actions);
	snprintf(a.s->user, sizeof(a.s->user), "%s", r->user.name);
	a.s->created_at = server_now();
	a.s->max_s = srv->policy->max_duration_s;
	a.s->idle_s = srv->policy->idle_timeout_s;
	api_ask_customer(r, &a, a.s->created_at);
	snprintf(a.s->state, sizeof(a.s->state), "%s", session_state_name(a.s->customer[0] ?
	         SESSION_AWAITING_CUSTOMER : SESSION_AWAITING_CONSENT));
	if ((rc = api_ask_store(r, &a)) != 0) {
		http_error(r, 503, "internal", "could not store the session (%s)", te_strerror(rc));
		goto out;
	}
	if (a.s->customer[0] != '\0')
		api_ask_notify(r, &a);
	else
		longpoll_wake(srv->lp, a.s->device);
	http_reply(r, 201, json_pack("{s:s, s:s, s:o, s:s, s:I}", "id", a.s->id, "state",
	                             a.s->state, "granted", api_session_granted(a.s), "customer",
	                             a.s->customer, "customer_deadline",
	                             (json_int_t)a.s->customer_deadline));
out:
	api_ask_free(&a);
	json_decref(j);
}

static json_t *api_session_json(const struct store_session *s)
{
	json_error_t jerr;
	json_t *svcs = json_loads(s->services, 0, &jerr);

	if (!json_is_array(svcs)) {
		json_decref(svcs);
		svcs = json_array();
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:b,"
	                 " s:s, s:I, s:I, s:I}", "id", s->id,
	                 "device", s->device, "user", s->user, "reason", s->reason,
	                 "services", svcs, "state", s->state, "end_reason", s->end_reason,
	                 "relay", s->relay, "created_at", (json_int_t)s->created_at,
	                 "updated_at", (json_int_t)s->updated_at, "granted", api_session_granted(s),
	                 "site", s->site, "escalation", s->escalation, "customer", s->customer,
	                 "customer_deadline", (json_int_t)s->customer_deadline,
	                 "max_duration_s", (json_int_t)s->max_s,
	                 "idle_timeout_s", (json_int_t)s->idle_s);
}

/* May r's user see session s: its requester, whoever may end any session or
 * read the audit trail, and the customer roles of its site. */
static int api_session_visible(struct http_req *r, const struct store_session *s)
{
	if (strcmp(s->user, r->user.name) == 0 ||
	    policy_allows(r->srv->policy, r->user.role, r->user.level, POLICY_SESSION_END_ANY) ||
	    policy_allows(r->srv->policy, r->user.role, r->user.level, POLICY_AUDIT_READ))
		return 1;
	return policy_role_is_customer(r->user.role) && api_site_in_scope(r, s->site);
}

/* Load r->arg's session when r's user may see it; replies 404 otherwise. */
int api_session_load(struct http_req *r, struct store_session *s)
{
	if (store_session_get(r->srv->store, r->arg, s) != 0 || !api_session_visible(r, s)) {
		http_error(r, 404, "no_such_session", "no session %s visible to you", r->arg);
		return -1;
	}
	return 0;
}

/* ?wait=S&state=STATE: S (1..API_SESSION_WAIT_MAX_S) when given with the
 * state the caller saw; 0 otherwise. */
static int api_session_wait_s(struct http_req *r, const struct store_session *s)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	const char *wait, *state;
	struct evkeyvalq kv;
	long secs = 0;
	char *end;

	if (q == NULL || evhttp_parse_query_str(q, &kv) != 0)
		return 0;
	wait = evhttp_find_header(&kv, "wait");
	state = evhttp_find_header(&kv, "state");
	if (wait != NULL && state != NULL && strcmp(state, s->state) == 0) {
		secs = strtol(wait, &end, 10);
		if (*end != '\0' || secs < 0)
			secs = 0;
		if (secs > API_SESSION_WAIT_MAX_S)
			secs = API_SESSION_WAIT_MAX_S;
	}
	evhttp_clear_headers(&kv);
	return (int)secs;
}

/* GET /api/v1/sessions/ID, or with ?wait=S&state=STATE held until the
 * session leaves STATE (the store's change hook wakes it) or S seconds
 * pass: the CLI hears the consent at once instead of at its next poll. */
void api_session_get(struct http_req *r)
{
	struct store_session s;
	int wait;

	if (api_session_load(r, &s) != 0)
		return;
	if ((wait = api_session_wait_s(r, &s)) > 0 &&
	    longpoll_hold(r->srv->sess_lp, r, s.id, wait) == 0)
		return;   /* answered by api_session_wait_answer */
	http_reply(r, 200, api_session_json(&s));
}

void api_session_wait_answer(struct http_req *r, void *arg)
{
	struct store_session s;

	(void)arg;
	if (api_session_load(r, &s) == 0)
		http_reply(r, 200, api_session_json(&s));
}

/* A connect that names "failed_relay": the specialist's leg could not use
 * that relay within its deadline, so the session moves on (relaymove.h) or
 * has moved already, and the ticket is for the relay it is on now. */
static int api_session_connect_moved(struct http_req *r, struct store_session *s)
{
	struct store_relay relay;
	char failed[MAX_NAME_BYTES];
	json_t *j;
	int rc;

	if (r->body_len == 0)
		return 0;
	if ((j = api_body(r)) == NULL)
		return -1;
	rc = jbody_str(j, "failed_relay", 0, failed, sizeof(failed));
	json_decref(j);
	if (rc != 0 || (failed[0] != '\0' && !jbody_name_ok(failed))) {
		api_bad_field(r, "failed_relay", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if (failed[0] == '\0')
		return 0;
	if ((rc = relaymove_session(r->srv, s, failed, r->user.name, "client",
	                            "no answer within the client leg's deadline", &relay)) != 0) {
		relaymove_http_error(r, s, rc);
		return -1;
	}
	return 0;
}

static int api_session_list_cb(const struct store_session *s, void *arg)
{
	json_t *o = api_session_json(s);

	return o != NULL && json_array_append_new(arg, o) == 0 ? 0 : TE_ERR_NOMEM;
}

/* GET /api/v1/sessions: the caller's own open and recent sessions. */
void api_session_list(struct http_req *r)
{
	json_t *list = json_array();
	int rc;

	if (list == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if ((rc = store_session_each_for_user(r->srv->store, r->user.name, api_session_list_cb,
	                                      list)) != 0) {
		json_decref(list);
		http_error(r, 503, "internal", "cannot list sessions (%s)", te_strerror(rc));
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "sessions", list));
}

void api_session_connect(struct http_req *r)
{
	struct server *srv = r->srv;
	struct store_session s;
	struct store_relay relay;
	struct store_device d;
	char ticket[MAX_TICKET_BYTES];
	int rc;

	if (api_session_load(r, &s) != 0)
		return;
	if (strcmp(s.user, r->user.name) != 0) {
		http_error(r, 403, "forbidden", "only %s, who requested it, can connect", s.user);
		return;
	}
	if (strcmp(s.state, "consented") != 0 && strcmp(s.state, "active") != 0) {
		http_error(r, 409, "bad_state", "session is %s; connect needs consented or active",
		           s.state);
		return;
	}
	if (api_session_connect_moved(r, &s) != 0)
		return;
	if (store_relay_get(srv->store, s.relay, &relay) != 0 ||
	    store_device_get(srv->store, s.device, &d) != 0) {
		http_error(r, 503, "internal", "the session's relay or device is no longer registered");
		return;
	}
	if ((rc = store_session_claim_client_ticket(srv->store, s.id)) != 0) {
		/* A visit: the first connection's ticket is out; the next one. */
		api_visit_connect(r, &s, &relay, &d);
		return;
	}
	if ((rc = tickets_issue(srv->signer, &s, relay.name, TICKET_LEG_CLIENT,
	                        server_now(), ticket, sizeof(ticket))) != 0) {
		http_error(r, 503, "internal", "could not sign the ticket (%s)", te_strerror(rc));
		return;
	}
	server_audit(srv, r->user.name, "session_ticket",
	             json_pack("{s:s, s:s, s:s}", "session", s.id, "leg", "client",
	                       "relay", relay.name));
	http_reply(r, 200, json_pack("{s:s, s:{s:s, s:s, s:i}, s:s}", "ticket", ticket,
	                             "relay", "name", relay.name, "host", relay.host,
	                             "client_port", relay.client_port,
	                             "ssh_hostkey", d.ssh_hostkey));
	OPENSSL_cleanse(ticket, sizeof(ticket));
}

/* Who may end s, and in what words: its requester, a customer approver of
 * its site (session:end:site) or whoever holds session:end:any. */
static int api_session_ender(struct http_req *r, const struct store_session *s,
                             char *why, size_t whysz)
{
	const struct policy *p = r->srv->policy;
	char role[64];

	api_role_text(&r->user, role, sizeof(role));
	if (strcmp(s->user, r->user.name) == 0) {
		snprintf(why, whysz, "ended by the specialist");
		return 0;
	}
	if (policy_allows(p, r->user.role, r->user.level, POLICY_SESSION_END_ANY) ||
	    (policy_allows(p, r->user.role, r->user.level, POLICY_SESSION_END_SITE) &&
	     policy_role_is_customer(r->user.role) && api_site_in_scope(r, s->site))) {
		snprintf(why, whysz, "ended by %s (%s)", r->user.name, role);
		return 0;
	}
	return -1;
}

void api_session_end(struct http_req *r)
{
	char why[MAX_REASON_BYTES], role[64];
	struct store_session s;
	enum session_state st;
	int rc;

	if (api_session_load(r, &s) != 0)
		return;
	if (api_session_ender(r, &s, why, sizeof(why)) != 0) {
		api_role_text(&r->user, role, sizeof(role));
		server_audit(r->srv, r->user.name, "access_denied",
		             json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "user", r->user.name,
		                       "role", r->user.role, "level", r->user.level, "permission",
		                       POLICY_SESSION_END_SITE, "route",
		                       "POST /api/v1/sessions/*/end", "session", s.id));
		http_error(r, 403, "forbidden", "your role (%s) may not end %s's session: only the"
		           " requester, a customer approver of site %s or an administrator can",
		           role, s.user, s.site[0] ? s.site : "(none)");
		return;
	}
	if (session_state_parse(s.state, &st) == 0 && session_state_is_final(st)) {
		http_reply(r, 200, json_pack("{s:s}", "state", s.state));
		return;
	}
	rc = session_move(r->srv->store, &s, SESSION_ENDED, why, NULL, r->user.name, server_now());
	if (rc != 0) {
		http_error(r, 409, "bad_state", "the session changed meanwhile; check its state");
		return;
	}
	longpoll_wake(r->srv->lp, s.device);
	http_reply(r, 200, json_pack("{s:s}", "state", "ended"));
}

/* api_site.c: customer control through the API: the approvals waiting for a
 * site's customer, and the site's remote switch and approval mode. Customer
 * roles act for their own site only; the route's permission was already
 * checked by srvapi.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srvapi.h"
#include "activity.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "notify.h"
#include "policy.h"
#include "server.h"
#include "srvsession.h"

int api_user_scope(struct http_req *r, char site[MAX_NAME_BYTES])
{
	site[0] = '\0';
	if (!policy_role_is_customer(r->user.role))
		return 0;
	/* A customer account without a site sees nothing rather than everything. */
	if (r->user.site[0] == '\0')
		return TE_ERR_DENIED;
	snprintf(site, MAX_NAME_BYTES, "%s", r->user.site);
	return 0;
}

int api_site_in_scope(struct http_req *r, const char *site)
{
	char mine[MAX_NAME_BYTES];

	if (!policy_role_is_customer(r->user.role))
		return 1;
	return api_user_scope(r, mine) == 0 && site != NULL && strcmp(mine, site) == 0;
}

/* 403 for a customer acting on another site's business; audited. */
static void api_site_refuse(struct http_req *r, const char *perm, const char *site)
{
	char role[64], where[300];

	api_role_text(&r->user, role, sizeof(role));
	snprintf(where, sizeof(where), "%s %s", r->method_name, r->path);
	server_audit(r->srv, r->user.name, "access_denied",
	             json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "user", r->user.name, "role",
	                       r->user.role, "level", r->user.level, "permission", perm,
	                       "route", where, "site", site));
	http_error(r, 403, "forbidden", "your role (%s) acts for your own site only, not for"
	           " site %s", role, site);
}

/* ---- approvals ---- */

struct api_approvals_ctx {
	struct server *srv;
	json_t *arr;
};

static int api_approvals_cb(const struct store_session *s, void *arg)
{
	struct api_approvals_ctx *c = arg;
	struct store_user u;

	memset(&u, 0, sizeof(u));
	(void)store_user_get(c->srv->store, s->user, &u);
	return json_array_append_new(c->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s,"
	       " s:s, s:b, s:o, s:I, s:I}", "id", s->id, "device", s->device, "site", s->site,
	       "user", s->user, "user_region", u.region, "user_level", u.level, "reason",
	       s->reason, "kind", s->customer, "escalation", s->escalation, "actions",
	       api_session_granted(s), "deadline", (json_int_t)s->customer_deadline, "created_at",
	       (json_int_t)s->created_at)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_approvals(struct http_req *r)
{
	struct api_approvals_ctx c = { r->srv, json_array() };
	json_t *acts = NULL;
	char site[MAX_NAME_BYTES];
	int rc = c.arr != NULL ? api_user_scope(r, site) : TE_ERR_NOMEM;

	if (rc == 0)
		rc = store_session_each_awaiting_customer(r->srv->store, site[0] ? site : NULL,
		                                          api_approvals_cb, &c);
	if (rc == 0 && (acts = json_array()) == NULL)
		rc = TE_ERR_NOMEM;
	if (rc == 0)
		rc = activity_approvals(r->srv, site[0] ? site : NULL, acts);
	if (rc != 0) {
		json_decref(c.arr);
		json_decref(acts);
		http_error(r, rc == TE_ERR_DENIED ? 403 : 503, rc == TE_ERR_DENIED ? "forbidden" :
		           "internal", "could not list approvals (%s)", rc == TE_ERR_DENIED ?
		           "your account belongs to no site" : te_strerror(rc));
		return;
	}
	http_reply(r, 200, json_pack("{s:o, s:o}", "approvals", c.arr, "activities", acts));
}

/* Load the session r->arg waiting for this user's customer decision. */
static int api_approval_load(struct http_req *r, struct store_session *s)
{
	if (store_session_get(r->srv->store, r->arg, s) != 0) {
		http_error(r, 404, "no_such_approval", "no approval %s", r->arg);
		return -1;
	}
	if (!api_site_in_scope(r, s->site)) {
		api_site_refuse(r, POLICY_APPROVALS_DECIDE, s->site);
		return -1;
	}
	if (strcmp(s->state, "awaiting_customer") != 0) {
		http_error(r, 409, "bad_state", "session %s is %s, not waiting for the customer",
		           s->id, s->state);
		return -1;
	}
	return 0;
}

static void api_approval_decide(struct http_req *r, int approve, const char *why)
{
	struct store_session s;
	char role[64], reason[2 * MAX_REASON_BYTES + 64];
	enum session_state to = approve ? SESSION_AWAITING_CONSENT : SESSION_REFUSED;

	if (api_approval_load(r, &s) != 0)
		return;
	api_role_text(&r->user, role, sizeof(role));
	if (approve)
		snprintf(reason, sizeof(reason), "approved by %s (%s)", r->user.name, role);
	else
		snprintf(reason, sizeof(reason), "refused by the customer, %s (%s): %s",
		         r->user.name, role, why);
	if (session_move(r->srv->store, &s, to, reason, NULL, r->user.name, server_now()) != 0) {
		http_error(r, 409, "bad_state", "the session changed meanwhile; check its state");
		return;
	}
	server_audit(r->srv, r->user.name, approve ? "approval_granted" : "approval_refused",
	             json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "session", s.id,
	                       "device", s.device, "site", s.site, "kind", s.customer, "by",
	                       r->user.name, "role", r->user.role, "requester", s.user,
	                       "reason", approve ? "" : why));
	if (approve)
		longpoll_wake(r->srv->lp, s.device);
	http_reply(r, 200, json_pack("{s:s, s:s}", "id", s.id, "state", session_state_name(to)));
}

void api_approval_approve(struct http_req *r)
{
	if (actenv_id_ok(r->arg))
		activity_decide(r, 1, "");
	else
		api_approval_decide(r, 1, "");
}

void api_approval_refuse(struct http_req *r)
{
	json_t *j = api_body(r);
	char why[MAX_REASON_BYTES];

	if (j == NULL)
		return;
	if (api_text_field(r, j, "reason", 1, why, sizeof(why)) == 0) {
		if (actenv_id_ok(r->arg))
			activity_decide(r, 0, why);
		else
			api_approval_decide(r, 0, why);
	}
	json_decref(j);
}

/* ---- sites ---- */

static json_t *api_site_json(const struct store_site *s)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name",
	                 s->name, "customer", s->customer, "contract_until", s->contract_until,
	                 "remote_enabled", s->remote_enabled, "remote_changed_by",
	                 s->remote_changed_by, "remote_reason", s->remote_reason, "approval_mode",
	                 s->approval_mode, "change_control", s->change_control, "cc_kinds",
	                 s->cc_kinds, "windows", s->windows, "timezone", s->timezone);
}

struct api_sites_ctx {
	json_t *arr;
	const char *only;
};

static int api_sites_cb(const struct store_site *s, void *arg)
{
	struct api_sites_ctx *c = arg;

	if (c->only != NULL && strcmp(c->only, s->name) != 0)
		return 0;
	return json_array_append_new(c->arr, api_site_json(s)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_sites(struct http_req *r)
{
	char site[MAX_NAME_BYTES];
	struct api_sites_ctx c = { json_array(), NULL };
	int rc = c.arr != NULL ? api_user_scope(r, site) : TE_ERR_NOMEM;

	if (rc == 0) {
		c.only = site[0] ? site : NULL;
		rc = store_site_each(r->srv->store, api_sites_cb, &c);
	}
	if (rc != 0) {
		json_decref(c.arr);
		http_error(r, 503, "internal", "could not list sites (%s)", te_strerror(rc));
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "sites", c.arr));
}

/* Load site r->arg for a change by this user; replies otherwise. */
static int api_site_load(struct http_req *r, const char *perm, struct store_site *s)
{
	if (store_site_get(r->srv->store, r->arg, s) != 0) {
		http_error(r, 404, "no_such_site", "no site %s", r->arg);
		return -1;
	}
	if (!api_site_in_scope(r, s->name)) {
		api_site_refuse(r, perm, s->name);
		return -1;
	}
	return 0;
}

struct api_site_end_ctx {
	struct server *srv;
	const char *actor;
	const char *reason;
	json_t *ended;
};

static int api_site_end_cb(const struct store_session *s, void *arg)
{
	struct api_site_end_ctx *c = arg;

	if (session_move(c->srv->store, s, SESSION_ENDED, c->reason, NULL, c->actor,
	                 server_now()) == 0) {
		json_array_append_new(c->ended, json_string(s->id));
		/* The device hears session_end on its held ping and drops the tunnel. */
		longpoll_wake(c->srv->lp, s->device);
		log_info("session %s on %s: %s", s->id, s->device, c->reason);
	}
	return 0;
}

static int api_site_remote_body(struct http_req *r, json_t *j, int *enabled, char *why,
                                size_t whysz)
{
	const json_t *e = json_object_get(j, "enabled");

	if (!json_is_boolean(e)) {
		http_error(r, 400, "bad_request", "field \"enabled\" must be true or false");
		return -1;
	}
	*enabled = json_is_true(e);
	if (api_text_field(r, j, "reason", 1, why, whysz) != 0)
		return -1;
	return 0;
}

void api_site_remote(struct http_req *r)
{
	struct store_audit_entry audit = { NULL, NULL, NULL };
	struct api_site_end_ctx c = { r->srv, NULL, NULL, json_array() };
	char why[MAX_REASON_BYTES], role[64], end_reason[2 * MAX_REASON_BYTES + 64];
	char *detail = NULL;
	struct store_site site;
	json_t *j = api_body(r);
	int enabled, rc;

	if (j == NULL)
		goto out;
	if (api_site_remote_body(r, j, &enabled, why, sizeof(why)) != 0 ||
	    api_site_load(r, POLICY_SITE_SWITCH, &site) != 0)
		goto out;
	api_role_text(&r->user, role, sizeof(role));
	site.remote_enabled = enabled;
	snprintf(site.remote_changed_by, sizeof(site.remote_changed_by), "%s", r->user.name);
	snprintf(site.remote_reason, sizeof(site.remote_reason), "%s", why);
	/* Switched off first, so that no new request slips in while sessions end. */
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s}", "site", site.name, "by",
	                              r->user.name, "role", r->user.role, "reason", why));
	audit = (struct store_audit_entry){ r->user.name,
	                                    enabled ? "site_remote_on" : "site_remote_off", detail };
	if ((rc = store_site_update(r->srv->store, &site, &audit)) != 0) {
		http_error(r, 503, "internal", "could not change site %s (%s)", site.name,
		           te_strerror(rc));
		goto out;
	}
	if (!enabled) {
		snprintf(end_reason, sizeof(end_reason), "remote service switched off for site %s"
		         " by %s (%s): %s", site.name, r->user.name, role, why);
		c.actor = r->user.name;
		c.reason = end_reason;
		(void)store_session_each_open_at_site(r->srv->store, site.name, api_site_end_cb, &c);
	}
	(void)notify_enqueue(r->srv, enabled ? "site_remote_on" : "site_remote_off", site.name,
	                     json_pack("{s:s, s:s, s:s, s:s, s:O}", "site", site.name, "by",
	                               r->user.name, "role", r->user.role, "reason", why,
	                               "ended_sessions", c.ended));
	http_reply(r, 200, json_pack("{s:s, s:b, s:O}", "site", site.name, "remote_enabled",
	                             enabled, "ended_sessions", c.ended));
out:
	free(detail);
	json_decref(c.ended);
	json_decref(j);
}

void api_site_approval(struct http_req *r)
{
	struct store_audit_entry audit = { NULL, "site_approval_mode", NULL };
	char mode[16], was[16], *detail = NULL;
	struct store_site site;
	json_t *j = api_body(r);
	int rc;

	if (j == NULL)
		return;
	if (jbody_str(j, "mode", 1, mode, sizeof(mode)) != 0 || !policy_approval_mode_ok(mode)) {
		http_error(r, 400, "bad_request", "field \"mode\" must be none, escalations or all");
		goto out;
	}
	if (api_site_load(r, POLICY_SITE_APPROVAL, &site) != 0)
		goto out;
	snprintf(was, sizeof(was), "%s", site.approval_mode);
	snprintf(site.approval_mode, sizeof(site.approval_mode), "%s", mode);
	detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s, s:s}", "site", site.name, "by",
	                              r->user.name, "role", r->user.role, "mode", mode,
	                              "was", was));
	audit.actor = r->user.name;
	audit.detail = detail;
	if ((rc = store_site_update(r->srv->store, &site, &audit)) != 0) {
		http_error(r, 503, "internal", "could not change site %s (%s)", site.name,
		           te_strerror(rc));
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:s}", "site", site.name, "approval_mode", mode));
out:
	free(detail);
	json_decref(j);
}

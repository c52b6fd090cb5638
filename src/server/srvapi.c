/* srvapi.c: the route table, per-role authentication and the policy check
 * of every user call (the route's permission, policy.h). */
#include "srvapi.h"
#include "rollout.h"
#include "activity.h"
#include "records.h"
#include "repo.h"
#include "repopub.h"
#include "apiacct.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "invite.h"
#include "jbody.h"
#include "log.h"
#include "pki.h"
#include "policy.h"
#include "secret.h"
#include "server.h"
#include "text.h"

/* API_USER needs a full-scope token; API_ACCOUNT also takes a setup-scope
 * one (TOTP enrollment, password change, logout). */
enum api_auth { API_PUBLIC, API_USER, API_ACCOUNT, API_DEVICE, API_RELAY };

struct api_route {
	int method;
	const char *pattern;    /* '*' matches one path segment into r->arg */
	enum api_auth auth;
	/* The policy permission a user needs (policy.h); NULL: any signed-in
	 * user, the handler deciding what they may see. */
	const char *perm;
	void (*handler)(struct http_req *r);
};

static const struct api_route api_routes[] = {
	{ EVHTTP_REQ_GET,  "/api/v1/ca", API_PUBLIC, NULL, api_ca },
	{ EVHTTP_REQ_GET,  "/healthz", API_PUBLIC, NULL, api_healthz },
	{ EVHTTP_REQ_POST, "/api/v1/enroll", API_PUBLIC, NULL, api_enroll },
	{ EVHTTP_REQ_POST, "/api/v1/login", API_PUBLIC, NULL, api_login },
	{ EVHTTP_REQ_POST, "/api/v1/login/renew", API_PUBLIC, NULL, api_login_renew },
	{ EVHTTP_REQ_POST, "/api/v1/account/enroll", API_PUBLIC, NULL, api_account_enroll },
	{ EVHTTP_REQ_POST, "/api/v1/logout", API_ACCOUNT, NULL, api_logout },
	{ EVHTTP_REQ_POST, "/api/v1/account/totp", API_ACCOUNT, NULL, api_account_totp },
	{ EVHTTP_REQ_POST, "/api/v1/account/totp/confirm", API_ACCOUNT, NULL,
	  api_account_totp_confirm },
	{ EVHTTP_REQ_POST, "/api/v1/account/password", API_ACCOUNT, NULL, api_account_password },
	{ EVHTTP_REQ_GET,  "/api/v1/devices", API_USER, POLICY_DEVICES_VIEW, api_devices },
	{ EVHTTP_REQ_GET,  "/api/v1/devices/*", API_USER, POLICY_DEVICES_VIEW, api_device_get },
	{ EVHTTP_REQ_GET,  "/api/v1/devices/*/files", API_USER, POLICY_FILES_COLLECT,
	  api_device_files },
	{ EVHTTP_REQ_GET,  "/api/v1/files/*", API_USER, POLICY_FILES_COLLECT, api_file_get },
	{ EVHTTP_REQ_GET,  "/api/v1/records", API_USER, POLICY_RECORDS_VIEW, api_records },
	{ EVHTTP_REQ_GET,  "/api/v1/advisories", API_USER, POLICY_ADVISORIES_VIEW, api_advisories },
	{ EVHTTP_REQ_GET,  "/api/v1/records/*", API_USER, POLICY_RECORDS_VIEW, api_record_get },
	{ EVHTTP_REQ_POST, "/api/v1/files/*/read", API_USER, POLICY_FILES_COLLECT, api_file_read },
	{ EVHTTP_REQ_POST, "/api/v1/deployments", API_USER, POLICY_QUEUE_ADD, api_deployment_add },
	{ EVHTTP_REQ_GET,  "/api/v1/deployments", API_USER, POLICY_QUEUE_VIEW, api_deployments },
	{ EVHTTP_REQ_GET,  "/api/v1/deployments/*", API_USER, POLICY_QUEUE_VIEW, api_deployment_get },
	{ EVHTTP_REQ_POST, "/api/v1/deployments/*/pause", API_USER, POLICY_QUEUE_ADD,
	  api_deployment_pause },
	{ EVHTTP_REQ_POST, "/api/v1/deployments/*/resume", API_USER, POLICY_QUEUE_ADD,
	  api_deployment_resume },
	{ EVHTTP_REQ_POST, "/api/v1/deployments/*/abort", API_USER, POLICY_QUEUE_ADD,
	  api_deployment_abort },
	{ EVHTTP_REQ_POST, "/api/v1/repo/publications", API_USER, POLICY_REPO_PUBLISH,
	  api_repo_pub_new },
	{ EVHTTP_REQ_PUT,  "/api/v1/repo/publications/*", API_USER, POLICY_REPO_PUBLISH,
	  api_repo_pub_put },
	{ EVHTTP_REQ_GET,  "/api/v1/repo/publications/*", API_USER, POLICY_REPO_PUBLISH,
	  api_repo_pub_get },
	{ EVHTTP_REQ_POST, "/api/v1/repo/publications/*/publish", API_USER, POLICY_REPO_PUBLISH,
	  api_repo_pub_publish },
	{ EVHTTP_REQ_POST, "/api/v1/activities", API_USER, POLICY_QUEUE_ADD, api_activity_add },
	{ EVHTTP_REQ_GET,  "/api/v1/activities", API_USER, POLICY_QUEUE_VIEW, api_activities },
	{ EVHTTP_REQ_GET,  "/api/v1/activities/*", API_USER, POLICY_QUEUE_VIEW, api_activity_get },
	{ EVHTTP_REQ_POST, "/api/v1/activities/*/cancel", API_USER, POLICY_QUEUE_CANCEL,
	  api_activity_cancel },
	{ EVHTTP_REQ_POST, "/api/v1/activities/*/retry", API_USER, POLICY_QUEUE_ADD,
	  api_activity_retry },
	{ EVHTTP_REQ_POST, "/api/v1/sites/*/change-control", API_USER, POLICY_SITE_APPROVAL,
	  api_site_change_control },
	{ EVHTTP_REQ_POST, "/api/v1/sessions", API_USER, POLICY_SESSION_REQUEST, api_session_new },
	{ EVHTTP_REQ_GET,  "/api/v1/sessions", API_USER, NULL, api_session_list },
	{ EVHTTP_REQ_GET,  "/api/v1/sessions/*", API_USER, NULL, api_session_get },
	{ EVHTTP_REQ_POST, "/api/v1/sessions/*/connect", API_USER, POLICY_SESSION_REQUEST,
	  api_session_connect },
	{ EVHTTP_REQ_POST, "/api/v1/sessions/*/end", API_USER, NULL, api_session_end },
	{ EVHTTP_REQ_GET,  "/api/v1/sessions/*/recordings", API_USER, NULL, api_session_recordings },
	{ EVHTTP_REQ_POST, "/api/v1/sessions/*/recordings/read", API_USER, NULL,
	  api_session_recording_read },
	{ EVHTTP_REQ_GET,  "/api/v1/approvals", API_USER, POLICY_APPROVALS_VIEW, api_approvals },
	{ EVHTTP_REQ_POST, "/api/v1/approvals/*/approve", API_USER, POLICY_APPROVALS_DECIDE,
	  api_approval_approve },
	{ EVHTTP_REQ_POST, "/api/v1/approvals/*/refuse", API_USER, POLICY_APPROVALS_DECIDE,
	  api_approval_refuse },
	{ EVHTTP_REQ_GET,  "/api/v1/sites", API_USER, POLICY_SITES_VIEW, api_sites },
	{ EVHTTP_REQ_POST, "/api/v1/sites/*/remote", API_USER, POLICY_SITE_SWITCH, api_site_remote },
	{ EVHTTP_REQ_POST, "/api/v1/sites/*/approval", API_USER, POLICY_SITE_APPROVAL,
	  api_site_approval },
	{ EVHTTP_REQ_POST, "/api/v1/ping", API_DEVICE, NULL, api_ping },
	{ EVHTTP_REQ_POST, "/api/v1/consent", API_DEVICE, NULL, api_consent },
	{ EVHTTP_REQ_POST, "/api/v1/device/session-end", API_DEVICE, NULL, api_device_session_end },
	{ EVHTTP_REQ_POST, "/api/v1/device/recording", API_DEVICE, NULL, api_device_recording },
	{ EVHTTP_REQ_POST, "/api/v1/device/status", API_DEVICE, NULL, api_device_status },
	{ EVHTTP_REQ_POST, "/api/v1/device/activity", API_DEVICE, NULL, api_device_activity },
	{ EVHTTP_REQ_POST, "/api/v1/device/file", API_DEVICE, NULL, api_device_file },
	{ EVHTTP_REQ_PUT,  "/api/v1/device/file", API_DEVICE, NULL, api_device_file_put },
	{ EVHTTP_REQ_POST, "/api/v1/device/relay-failed", API_DEVICE, NULL,
	  api_device_relay_failed },
	{ EVHTTP_REQ_POST, "/api/v1/relay/event", API_RELAY, NULL, api_relay_event },
};

/* 1 when path matches pattern; the '*' segment is copied to arg and must be
 * a valid name (serial or session id). */
static int api_match(const char *pattern, const char *path, char *arg, size_t argsz)
{
	const char *star = strchr(pattern, '*');
	size_t pre, seg;

	if (star == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	path += pre;
	seg = strcspn(path, "/");
	if (seg == 0 || seg >= argsz || strcmp(star + 1, path + seg) != 0)
		return 0;
	memcpy(arg, path, seg);
	arg[seg] = '\0';
	return jbody_name_ok(arg);
}

/* A bearer token that is live (not revoked, expired or idle), of a scope
 * the route takes; a setup-scope token elsewhere is told what to finish. */
static int api_auth_user(struct http_req *r, enum api_auth auth)
{
	const char *token = http_bearer(r);
	char user[MAX_NAME_BYTES], scope[STORE_SCOPE_BYTES];
	struct store_account a;
	int rc;

	if (token == NULL) {
		http_error(r, 401, "unauthorized", "log in first: send Authorization: Bearer <token>");
		return -1;
	}
	if ((rc = secret_sha256_hex(token, strlen(token), r->token_hash)) == 0)
		rc = store_token_use(r->srv->store, r->token_hash, server_now(),
		                     r->srv->cfg.token_idle_s, user, scope);
	if (rc == 0)
		rc = store_user_get(r->srv->store, user, &r->user);
	if (rc == TE_ERR_STORE || rc == TE_ERR_NOMEM) {
		/* Not a verdict on the token: http_error answers 503. */
		http_error(r, 503, "internal", "the token cannot be checked now");
		return -1;
	}
	if (rc != 0) {
		http_error(r, 401, "unauthorized", "%s; log in again",
		           rc == TE_ERR_EXPIRED ? "the token has expired" :
		           rc == TE_ERR_TIMEOUT ? "the token was idle too long" :
		           rc == TE_ERR_DENIED ? "the token was revoked" : "unknown token");
		return -1;
	}
	snprintf(r->who, sizeof(r->who), "user:%s", r->user.name);
	if (auth == API_USER && strcmp(scope, STORE_SCOPE_FULL) != 0) {
		if (store_account_get(r->srv->store, r->user.name, &a) != 0)
			memset(&a, 0, sizeof(a));
		http_error(r, 403, "setup_required", "this login may only finish the account"
		           " setup: %s", api_account_next_steps(&a));
		return -1;
	}
	return 0;
}

/* A device or relay must present a certificate of its role whose
 * fingerprint is the one registered for that name. */
static int api_auth_cert(struct http_req *r, enum api_auth auth)
{
	const char *role = auth == API_DEVICE ? PKI_ROLE_DEVICE : PKI_ROLE_RELAY;
	const char *registered;
	int rc;

	if (!r->have_peer) {
		http_error(r, 401, "client_cert_required",
		           "this endpoint needs a %s certificate from the deployment CA", role);
		return -1;
	}
	snprintf(r->who, sizeof(r->who), "%s:%s", r->peer.role, r->peer.name);
	if (strcmp(r->peer.role, role) != 0) {
		http_error(r, 403, "wrong_role", "a %s certificate was presented; this endpoint"
		           " is for %ss", r->peer.role, role);
		return -1;
	}
	if (auth == API_DEVICE) {
		rc = store_device_get(r->srv->store, r->peer.name, &r->device);
		registered = r->device.cert_fp;
	} else {
		rc = store_relay_get(r->srv->store, r->peer.name, &r->relay);
		registered = r->relay.cert_fp;
	}
	if (rc != 0 || registered[0] == '\0' ||
	    !secret_equal_str(registered, r->peer.fingerprint)) {
		http_error(r, 403, "unknown_certificate", "the certificate for %s is not the one"
		           " registered; enroll again or ask an administrator", r->peer.name);
		return -1;
	}
	return 0;
}

void api_role_text(const struct store_user *u, char *out, size_t outsz)
{
	if (strcmp(u->role, "specialist") == 0)
		snprintf(out, outsz, "specialist level %d", u->level);
	else
		snprintf(out, outsz, "%s", u->role);
}

/* The policy check after authentication: the route's permission must be
 * held by the user's role (and level). A refusal is audited. */
static int api_permitted(struct http_req *r, const struct api_route *route)
{
	char role[64], where[300];

	if (route->perm == NULL ||
	    policy_allows(r->srv->policy, r->user.role, r->user.level, route->perm))
		return 0;
	api_role_text(&r->user, role, sizeof(role));
	snprintf(where, sizeof(where), "%s %s", r->method_name, route->pattern);
	/* A session request refused this early is still a session decision. */
	server_audit(r->srv, r->user.name, route->handler == api_session_new ?
	             "session_denied" : "access_denied",
	             json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "user", r->user.name, "role",
	                       r->user.role, "level", r->user.level, "permission", route->perm,
	                       "route", where, "reason", "the role does not hold the permission"));
	http_error(r, 403, "forbidden", "your role (%s) does not hold the permission %s that"
	           " %s needs (policy.conf)", role, route->perm, where);
	return -1;
}

void api_dispatch(struct http_req *r)
{
	const struct api_route *route = NULL;
	int path_known = 0;

	if (strncmp(r->path, "/repo/", 6) == 0) {
		repo_serve(r);           /* public: TUF clients trust signatures, not us */
		return;
	}

	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		if (!api_match(api_routes[i].pattern, r->path, r->arg, sizeof(r->arg)))
			continue;
		path_known = 1;
		if (api_routes[i].method == r->method) {
			route = &api_routes[i];
			break;
		}
	}
	if (route == NULL) {
		if (path_known)
			http_error(r, 405, "method_not_allowed", "wrong method for %s", r->path);
		else
			http_error(r, 404, "not_found", "no such endpoint; see docs/protocol.md");
		return;
	}
	if ((route->auth == API_USER || route->auth == API_ACCOUNT) &&
	    (api_auth_user(r, route->auth) != 0 || api_permitted(r, route) != 0))
		return;
	if ((route->auth == API_DEVICE || route->auth == API_RELAY) &&
	    api_auth_cert(r, route->auth) != 0)
		return;
	/* A revoked device is refused everywhere; only a ping may first hear the
	 * ends of its sessions (api_ping). */
	if (route->auth == API_DEVICE && route->handler != api_ping &&
	    strcmp(r->device.status, "revoked") == 0) {
		http_error(r, 403, "device_revoked", "device %s was revoked by an administrator;"
		           " it can no longer use this server", r->device.serial);
		return;
	}
	if (route->auth == API_DEVICE && strcmp(r->device.status, "revoked") != 0)
		http_req_allow_uploads(r);
	route->handler(r);
}

json_t *api_body(struct http_req *r)
{
	json_t *j = NULL;
	int rc = jbody_parse(r->body, r->body_len, &j);

	if (rc != 0) {
		http_error(r, 400, "bad_request", "the body must be a JSON object (%s)",
		           te_strerror(rc));
		return NULL;
	}
	return j;
}

int api_text_field(struct http_req *r, const json_t *j, const char *key, int required,
                   char *out, size_t outsz)
{
	const char *why = NULL;
	int rc;

	if ((rc = jbody_str(j, key, required, out, outsz)) != 0 ||
	    (required && out[0] == '\0')) {
		http_error(r, 400, "bad_request", "field \"%s\" is %s (text of at most %zu"
		           " characters)", key, rc == TE_ERR_TOO_LONG ? "too long" :
		           rc == TE_ERR_INVALID ? "not a valid string" : "required", outsz - 1);
		return -1;
	}
	if (text_check_display(out, outsz, &why) != 0) {
		http_error(r, 400, "bad_request", "field \"%s\" is refused: it holds %s, which"
		           " could change what an operator reads", key, why);
		return -1;
	}
	return 0;
}

void api_bad_field(struct http_req *r, const char *key, int err)
{
	http_error(r, 400, "bad_request", "field \"%s\" is %s", key,
	           err == TE_ERR_NOT_FOUND ? "required" :
	           err == TE_ERR_TOO_LONG ? "too long" : "not a valid string");
}

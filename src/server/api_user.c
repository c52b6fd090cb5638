/* api_user.c: endpoints for people (bearer token): login and devices.
 * The session endpoints are in api_session.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "srvapi.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "secret.h"
#include "server.h"

/* A device counts as online when it pinged within one long-poll plus one
 * short-poll period, or holds a long-poll now. */
static int api_device_online(struct server *srv, const struct store_device *d)
{
	int64_t window = srv->cfg.longpoll_s + SHORTPOLL_INTERVAL_S + 5;

	return longpoll_is_held(srv->lp, d->serial) ||
	       (d->last_seen > 0 && server_now() - d->last_seen <= window);
}

static void api_login_fail(struct http_req *r, const char *user, const char *why)
{
	server_audit(r->srv, user[0] ? user : "-", "login_failed",
	             json_pack("{s:s}", "reason", why));
	http_error(r, 401, "bad_credentials", "unknown user or wrong password");
}

void api_login(struct http_req *r)
{
	json_t *j = api_body(r);
	char name[MAX_NAME_BYTES], token[TOKEN_TEXT_BYTES], hash[SHA256_HEX_BYTES];
	struct store_user u;
	const char *pw;
	int64_t now = server_now(), exp;
	int rc;

	if (j == NULL)
		return;   /* r was answered and freed */
	exp = now + r->srv->cfg.token_ttl_s;
	if ((rc = jbody_str(j, "user", 1, name, sizeof(name))) != 0 || !jbody_name_ok(name)) {
		api_bad_field(r, "user", rc ? rc : TE_ERR_INVALID);
		goto out;
	}
	snprintf(r->who, sizeof(r->who), "login:%s", name);
	pw = json_string_value(json_object_get(j, "password"));
	if (pw == NULL) {
		api_bad_field(r, "password", TE_ERR_NOT_FOUND);
		goto out;
	}
	if (store_user_get(r->srv->store, name, &u) != 0) {
		api_login_fail(r, name, "unknown user");
		goto out;
	}
	if (secret_pwverify(u.pwhash, pw) != 0) {
		api_login_fail(r, name, "wrong password");
		goto out;
	}
	if ((rc = secret_token_new(token)) != 0 ||
	    (rc = secret_sha256_hex(token, strlen(token), hash)) != 0 ||
	    (rc = store_token_add(r->srv->store, hash, name, now, exp)) != 0) {
		http_error(r, 503, "internal", "could not create a token (%s)", te_strerror(rc));
		goto out;
	}
	server_audit(r->srv, name, "login", json_pack("{s:s}", "role", u.role));
	http_reply(r, 200, json_pack("{s:s, s:I, s:s, s:s}", "token", token,
	                             "expires_at", (json_int_t)exp, "user", name,
	                             "role", u.role));
out:
	OPENSSL_cleanse(token, sizeof(token));
	jbody_wipe(j, "password");
	json_decref(j);
}

void api_logout(struct http_req *r)
{
	store_token_revoke(r->srv->store, r->token_hash);
	server_audit(r->srv, r->user.name, "logout", json_object());
	http_reply(r, 200, NULL);
}

/* {"seq", "hash"}, or null when there is none. */
static json_t *api_audit_head_json(const struct store_audit_head *h, int present)
{
	if (!present)
		return json_null();
	return json_pack("{s:I, s:s}", "seq", (json_int_t)h->seq, "hash", h->hash);
}

static json_t *api_device_json(struct server *srv, const struct store_device *d, int full)
{
	json_error_t jerr;
	json_t *svcs = json_loads(d->services, 0, &jerr);
	json_t *o;

	if (!json_is_array(svcs)) {
		json_decref(svcs);
		svcs = json_array();
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:o}", "serial", d->serial,
	              "customer", d->customer, "product", d->product, "status", d->status,
	              "last_seen", (json_int_t)d->last_seen, "agent_version", d->agent_version,
	              "online", api_device_online(srv, d), "services", svcs);
	if (o != NULL) {
		json_object_set_new(o, "audit_head", api_audit_head_json(&d->audit_head,
		                    d->audit_head.seq > 0));
		json_object_set_new(o, "audit_rollback", api_audit_head_json(&d->audit_rollback,
		                    d->audit_rollback.hash[0] != '\0'));
	}
	if (o != NULL) {
		char site[MAX_NAME_BYTES];

		json_object_set_new(o, "site", json_string(api_device_site_of(srv, d->serial, site)));
	}
	if (o != NULL && full)
		json_object_set_new(o, "ssh_hostkey", json_string(d->ssh_hostkey));
	return o;
}

struct api_list_ctx {
	struct server *srv;
	json_t *arr;
	const char *site;             /* customer roles: only this site's devices */
};

static int api_devices_cb(const struct store_device *d, void *arg)
{
	struct api_list_ctx *c = arg;
	char site[MAX_NAME_BYTES];

	if (c->site != NULL && (store_device_site(c->srv->store, d->serial, site) != 0 ||
	                        strcmp(site, c->site) != 0))
		return 0;
	return json_array_append_new(c->arr, api_device_json(c->srv, d, 0)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_devices(struct http_req *r)
{
	char site[MAX_NAME_BYTES];
	struct api_list_ctx c = { r->srv, json_array(), NULL };
	int rc = c.arr ? api_user_scope(r, site) : TE_ERR_NOMEM;

	if (rc == 0) {
		c.site = site[0] != '\0' ? site : NULL;
		rc = store_device_each(r->srv->store, api_devices_cb, &c);
	}
	if (rc != 0) {
		json_decref(c.arr);
		http_error(r, 503, "internal", "could not list devices (%s)", te_strerror(rc));
		return;
	}
	http_reply(r, 200, json_pack("{s:o}", "devices", c.arr));
}

void api_device_get(struct http_req *r)
{
	struct store_device d;
	char site[MAX_NAME_BYTES];

	/* Another site's device is as unknown to a customer as a missing one. */
	if (store_device_get(r->srv->store, r->arg, &d) != 0 ||
	    !api_site_in_scope(r, api_device_site_of(r->srv, d.serial, site))) {
		http_error(r, 404, "no_such_device", "no device with serial %s", r->arg);
		return;
	}
	http_reply(r, 200, api_device_json(r->srv, &d, 1));
}

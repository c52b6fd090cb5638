/* api_user.c: endpoints for people (bearer token): login and devices.
 * The session endpoints are in api_session.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "srvapi.h"
#include "apiacct.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "secret.h"
#include "server.h"
#include "signer.h"
#include "totp.h"

/* A device counts as online when it pinged within one long-poll plus one
 * short-poll period, or holds a long-poll now. */
static int api_device_online(struct server *srv, const struct store_device *d)
{
	int64_t window = srv->cfg.longpoll_s + SHORTPOLL_INTERVAL_S + 5;

	return longpoll_is_held(srv->lp, d->serial) ||
	       (d->last_seen > 0 && server_now() - d->last_seen <= window);
}

/* The connection's source address, for per-address lockout and audit. */
static void api_peer_addr(struct http_req *r, char *out, size_t outsz)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(out, outsz, "%s", addr != NULL && addr[0] != '\0' ? addr : "unknown");
}

struct api_login_ctx {
	struct http_req *r;
	char name[MAX_NAME_BYTES];
	char addr[64];
	int64_t now;
};

static struct store_lock_policy api_lock_policy(const struct srvconf *c, int addr)
{
	struct store_lock_policy p = {
		(int)(addr ? c->login_addr_max_failures : c->login_max_failures),
		c->login_lock_base_s, c->login_lock_max_s,
	};
	return p;
}

/* Count the failure for the name and the address, audit it (and any lock it
 * starts), and answer 401 with the reason's message. */
static void api_login_fail(struct api_login_ctx *c, const char *reason, const char *code,
                           const char *msg)
{
	struct server *srv = c->r->srv;
	struct store_lock_policy pu = api_lock_policy(&srv->cfg, 0);
	struct store_lock_policy pa = api_lock_policy(&srv->cfg, 1);
	int64_t until = 0;
	int n = 0;

	server_audit(srv, c->name, "login_failed", json_pack("{s:s, s:s, s:s}", "user", c->name,
	             "addr", c->addr, "reason", reason));
	if (store_login_fail(srv->store, STORE_LOCK_USER, c->name, c->now, &pu, &n, &until) == 0 &&
	    until > 0)
		server_audit(srv, c->name, "login_locked", json_pack("{s:s, s:I, s:I, s:i}", "user",
		             c->name, "until", (json_int_t)until, "lock_s",
		             (json_int_t)(until - c->now), "failures", n));
	if (store_login_fail(srv->store, STORE_LOCK_ADDR, c->addr, c->now, &pa, &n, &until) == 0 &&
	    until > 0)
		server_audit(srv, c->name, "login_locked", json_pack("{s:s, s:I, s:I, s:i}", "addr",
		             c->addr, "until", (json_int_t)until, "lock_s",
		             (json_int_t)(until - c->now), "failures", n));
	http_error(c->r, 401, code, "%s", msg);
}

/* 1 (and the 429 answer sent) when the name or the address is locked. */
static int api_login_locked(struct api_login_ctx *c)
{
	struct server *srv = c->r->srv;
	int64_t until_u = 0, until_a = 0, until;

	if (store_login_locked(srv->store, STORE_LOCK_USER, c->name, c->now, &until_u) == 0 &&
	    store_login_locked(srv->store, STORE_LOCK_ADDR, c->addr, c->now, &until_a) == 0)
		return 0;
	until = until_u > until_a ? until_u : until_a;
	server_audit(srv, c->name, "login_failed", json_pack("{s:s, s:s, s:s, s:s, s:I}",
	             "user", c->name, "addr", c->addr, "reason", "locked", "locked",
	             until_u > 0 ? "user" : "addr", "until", (json_int_t)until));
	http_error(c->r, 429, "locked", "too many failed logins %s; try again in %lld s or ask"
	           " an administrator to unlock", until_u > 0 ? "for this account" :
	           "from this address", (long long)(until - c->now));
	return 1;
}

/* An unknown name costs as much as a wrong password: verify against a
 * hash made once, so timing does not tell which names exist. */
static void api_login_dummy_verify(const char *pw)
{
	static char dummy[PWHASH_BYTES];

	if (dummy[0] == '\0' && secret_pwhash("tether-no-such-user-password", dummy) != 0)
		return;
	(void)secret_pwverify(dummy, pw);
}

/* The second factor of an enrolled user: 0 when it passed, else answered. */
static int api_login_second_factor(struct api_login_ctx *c, const struct store_account *a,
                                   const char *code, const char *recovery, const char **factor)
{
	struct server *srv = c->r->srv;
	int64_t step = 0;
	int rc, verdict;

	if (recovery != NULL) {
		*factor = "recovery_code";
		if (api_recovery_use(srv, c->name, recovery, c->addr, c->now) != 0) {
			api_login_fail(c, "bad_recovery_code", "bad_recovery_code",
			               "invalid or already used recovery code");
			return -1;
		}
		return 0;
	}
	*factor = "totp";
	/* The signer checks the code against the sealed secret on its own clock;
	 * only the verdict comes back. */
	if ((rc = signer_totp_check(srv->signer, a->totp_box, code, a->totp_last_step, &verdict,
	                            &step)) != 0) {
		log_error("login %s: cannot open the TOTP secret: %s", c->name, te_strerror(rc));
		http_error(c->r, 503, "internal", "the one-time code cannot be checked now");
		return -1;
	}
	rc = verdict;
	if (rc == 0)
		rc = store_totp_accept_step(srv->store, c->name, step);
	if (rc == TE_ERR_REPLAY) {
		api_login_fail(c, "totp_replayed", "totp_replayed", "this one-time code was already"
		               " used; wait for the next code");
		return -1;
	}
	if (rc != 0) {
		api_login_fail(c, "bad_totp", "bad_totp", "invalid one-time code");
		return -1;
	}
	return 0;
}

/* Copy an optional string field; 1 when present, -1 (answered) when bad. */
static int api_login_opt(struct http_req *r, json_t *j, const char *key, char *out,
                         size_t outsz)
{
	int rc;

	if (json_object_get(j, key) == NULL)
		return 0;
	if ((rc = jbody_str(j, key, 1, out, outsz)) != 0 || out[0] == '\0') {
		api_bad_field(r, key, rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	return 1;
}

/* Order: lock -> password -> second factor -> pending setup. */
void api_login(struct http_req *r)
{
	json_t *j = api_body(r), *out = NULL;
	struct api_login_ctx c;
	char code[16] = "", recovery[64] = "";
	struct store_account a;
	struct store_user u;
	const char *pw, *scope = NULL, *factor = "none";
	int rc, have_code, have_rec;

	if (j == NULL)
		return;   /* r was answered and freed */
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.now = server_now();
	if ((rc = jbody_str(j, "user", 1, c.name, sizeof(c.name))) != 0 || !jbody_name_ok(c.name)) {
		api_bad_field(r, "user", rc ? rc : TE_ERR_INVALID);
		goto out;
	}
	snprintf(r->who, sizeof(r->who), "login:%s", c.name);
	api_peer_addr(r, c.addr, sizeof(c.addr));
	pw = json_string_value(json_object_get(j, "password"));
	if (pw == NULL) {
		api_bad_field(r, "password", TE_ERR_NOT_FOUND);
		goto out;
	}
	if ((have_code = api_login_opt(r, j, "totp", code, sizeof(code))) < 0 ||
	    (have_rec = api_login_opt(r, j, "recovery_code", recovery, sizeof(recovery))) < 0)
		goto out;
	if (api_login_locked(&c))
		goto out;
	if (store_user_get(r->srv->store, c.name, &u) != 0) {
		api_login_dummy_verify(pw);
		api_login_fail(&c, "unknown_user", "bad_credentials", "invalid user name or password");
		goto out;
	}
	if (secret_pwverify(u.pwhash, pw) != 0) {
		api_login_fail(&c, "bad_password", "bad_credentials", "invalid user name or password");
		goto out;
	}
	if ((rc = store_account_get(r->srv->store, c.name, &a)) != 0) {
		http_error(r, 503, "internal", "could not read the account (%s)", te_strerror(rc));
		goto out;
	}
	if (a.totp_enrolled && !have_code && !have_rec) {
		/* Not a failure: the client asks for the code next. */
		server_audit(r->srv, c.name, "login_totp_required", json_pack("{s:s, s:s}", "user",
		             c.name, "addr", c.addr));
		http_error(r, 401, "totp_required", "the password is right; now give the one-time"
		           " code from your authenticator (or a recovery code)");
		goto out;
	}
	if (a.totp_enrolled &&
	    api_login_second_factor(&c, &a, have_rec ? NULL : code, have_rec ? recovery : NULL,
	                            &factor) != 0)
		goto out;
	(void)store_login_clear(r->srv->store, STORE_LOCK_USER, c.name);
	if ((out = json_object()) == NULL ||
	    (rc = api_account_token(r, &u, &a, out, &scope)) != 0) {
		http_error(r, 503, "internal", "could not create a token (%s)", te_strerror(rc));
		goto out;
	}
	server_audit(r->srv, c.name, "login", json_pack("{s:s, s:s, s:s, s:s}", "role", u.role,
	             "scope", scope, "factor", factor, "addr", c.addr));
	http_reply(r, 200, out);
	out = NULL;
out:
	json_decref(out);
	secret_wipe(code, sizeof(code));
	secret_wipe(recovery, sizeof(recovery));
	jbody_wipe(j, "password");
	jbody_wipe(j, "totp");
	jbody_wipe(j, "recovery_code");
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

static json_t *api_device_json(struct server *srv, const struct store_device *d,
                               int full)
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
	if (o != NULL)
		json_object_set_new(o, "site", json_string(d->site));
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

	if (c->site != NULL && strcmp(d->site, c->site) != 0)
		return 0;
	return json_array_append_new(c->arr, api_device_json(c->srv, d, 0)) == 0 ?
	       0 : TE_ERR_NOMEM;
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

	/* Another site's device is as unknown to a customer as a missing one. */
	if (store_device_get(r->srv->store, r->arg, &d) != 0 || !api_site_in_scope(r, d.site)) {
		http_error(r, 404, "no_such_device", "no device with serial %s", r->arg);
		return;
	}
	http_reply(r, 200, api_device_json(r->srv, &d, 1));
}

/* api_user.c: endpoints for people (bearer token): login and devices.
 * The session endpoints are in api_session.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "srvapi.h"
#include "apiacct.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "pwpool.h"
#include "ratelimit.h"
#include "secret.h"
#include "server.h"
#include "signer.h"
#include "totp.h"

/* A long-polling device is online while a ping of its is held or it was
 * answered within one long-poll period; the moment its held connection drops
 * it is offline. Others (short-poll, or not heard since this server started)
 * count as online when they pinged within one long-poll plus one short-poll
 * period. */
int api_device_online(struct server *srv, const struct store_device *d)
{
	int64_t window = srv->cfg.longpoll_s + SHORTPOLL_INTERVAL_S + 5;

	switch (longpoll_presence(srv->lp, d->serial, (int)srv->cfg.longpoll_s)) {
	case LONGPOLL_PRESENT:
		return 1;
	case LONGPOLL_GONE:
		return 0;
	case LONGPOLL_UNKNOWN:
		break;
	}
	return d->last_seen > 0 && server_now() - d->last_seen <= window;
}

/* The connection's source address, for per-address lockout and audit. */
static void api_peer_addr(struct http_req *r, char *out, size_t outsz)
{
	http_peer_addr(r, out, outsz);
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

	srv->counts.login_failures++;
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
	srv->counts.login_failures++;
	server_audit(srv, c->name, "login_failed", json_pack("{s:s, s:s, s:s, s:s, s:I}",
	             "user", c->name, "addr", c->addr, "reason", "locked", "locked",
	             until_u > 0 ? "user" : "addr", "until", (json_int_t)until));
	http_error(c->r, 429, "locked", "too many failed logins %s; try again in %lld s or ask"
	           " an administrator to unlock", until_u > 0 ? "for this account" :
	           "from this address", (long long)(until - c->now));
	return 1;
}

/* 1 (and the 429 answer sent) when this address has no login token left
 * (ratelimit.h); audited like the other refused logins. */
static int api_login_rate_limited(struct api_login_ctx *c)
{
	struct server *srv = c->r->srv;
	long wait_s = ratelimit_take(srv->rl_login, c->addr, c->r->started_ms);

	if (wait_s == 0)
		return 0;
	srv->counts.login_failures++;
	server_audit(srv, c->name, "login_failed", json_pack("{s:s, s:s, s:s, s:I}", "user",
	             c->name, "addr", c->addr, "reason", "rate_limited", "retry_after_s",
	             (json_int_t)wait_s));
	http_retry_after(c->r, wait_s);
	http_error(c->r, 429, "rate_limited", "too many logins from this address; try again in"
	           " %ld s", wait_s);
	return 1;
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
	if (rc == TE_ERR_STORE) {
		/* The step was not stored: the code is not judged (http_error
		 * answers 503 with the store's reason). */
		http_error(c->r, 503, "internal", "the one-time code cannot be checked now");
		return -1;
	}
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

/* What a login carries while its password is checked on a worker
 * (pwpool.h); the event loop serves others meanwhile. */
struct api_login_job {
	struct api_login_ctx c;
	struct evhttp_connection *evcon;
	int gone;                     /* the connection closed while the check ran */
	int detached;                 /* ... and left its request to us to free */
	int found;                    /* the user exists */
	struct store_user u;
	char code[16], recovery[64];
	int have_code, have_rec;
};

static void api_login_job_free(struct api_login_job *lj)
{
	secret_wipe(lj, sizeof(*lj));
	free(lj);
}

static void api_login_gone_cb(struct evhttp_connection *evcon, void *arg)
{
	struct api_login_job *lj = arg;

	lj->gone = 1;
	/* As in longpoll.c: a request libevent detached from the dying
	 * connection is ours to free; otherwise the connection frees it. */
	lj->detached = evhttp_request_get_connection(lj->c.r->ev) == NULL;
}

/* After the password: second factor -> pending setup -> token. */
static void api_login_finish(struct api_login_job *lj)
{
	struct api_login_ctx *c = &lj->c;
	struct http_req *r = c->r;
	struct store_account a;
	const char *scope = NULL, *factor = "none";
	json_t *out = NULL;
	int rc;

	if ((rc = store_account_get(r->srv->store, c->name, &a)) != 0) {
		http_error(r, 503, "internal", "could not read the account (%s)", te_strerror(rc));
		return;
	}
	/* Only after the right password: a disabled account is not an oracle
	 * for names. */
	if (lj->u.disabled) {
		server_audit(r->srv, c->name, "login_refused", json_pack("{s:s, s:s, s:s}", "user",
		             c->name, "addr", c->addr, "reason", "disabled"));
		http_error(r, 403, "account_disabled", "the account %s is disabled by an"
		           " administrator; ask them to enable it (tether-server user enable)",
		           c->name);
		return;
	}
	if (a.totp_enrolled && !lj->have_code && !lj->have_rec) {
		/* Not a failure: the client asks for the code next. */
		server_audit(r->srv, c->name, "login_totp_required", json_pack("{s:s, s:s}", "user",
		             c->name, "addr", c->addr));
		http_error(r, 401, "totp_required", "the password is right; now give the one-time"
		           " code from your authenticator (or a recovery code)");
		return;
	}
	if (a.totp_enrolled &&
	    api_login_second_factor(c, &a, lj->have_rec ? NULL : lj->code,
	                            lj->have_rec ? lj->recovery : NULL, &factor) != 0)
		return;
	(void)store_login_clear(r->srv->store, STORE_LOCK_USER, c->name);
	if ((out = json_object()) == NULL ||
	    (rc = api_account_token(r, &lj->u, &a, out, &scope)) != 0) {
		json_decref(out);
		http_error(r, 503, "internal", "could not create a token (%s)", te_strerror(rc));
		return;
	}
	server_audit(r->srv, c->name, "login", json_pack("{s:s, s:s, s:s, s:s}", "role",
	             lj->u.role, "scope", scope, "factor", factor, "addr", c->addr));
	http_reply(r, 200, out);
}

/* On the loop thread, when the worker has checked the password. */
static void api_login_checked(const struct pwpool_result *res, void *arg)
{
	struct api_login_job *lj = arg;
	struct server *srv;

	if (lj->gone) {
		if (lj->detached)
			evhttp_request_free(lj->c.r->ev);
		http_req_free(lj->c.r);   /* no one to answer */
		api_login_job_free(lj);
		return;
	}
	evhttp_connection_set_closecb(lj->evcon, NULL, NULL);
	srv = lj->c.r->srv;           /* the answer frees the request */
	http_req_work_begin(lj->c.r);
	/* A lock counts from when the failure was known, not from when the
	 * request came in: the check may have waited for a worker. */
	lj->c.now = server_now();
	if (res->rc == TE_ERR_IO)
		http_error(lj->c.r, 503, "internal", "the server is shutting down");
	else if (!lj->found)
		api_login_fail(&lj->c, "unknown_user", "bad_credentials",
		               "invalid user name or password");
	else if (res->rc != 0)
		api_login_fail(&lj->c, "bad_password", "bad_credentials",
		               "invalid user name or password");
	else
		api_login_finish(lj);
	http_req_work_end(srv);
	api_login_job_free(lj);
}

/* 503 with Retry-After: the password workers' queue is full. */
void api_pwpool_busy(struct http_req *r)
{
	http_retry_after(r, PWPOOL_RETRY_AFTER_S);
	log_warn("password checks: queue full; answering 503 to %s", r->who);
	http_error(r, 503, "busy", "too many password checks at once; try again in %d s",
	           PWPOOL_RETRY_AFTER_S);
}

/* Parse, check the lock, then hand the password to a worker: 1 when it
 * was handed over, 0 when r was answered here. */
static int api_login_start(struct http_req *r, json_t *j, struct api_login_job *lj)
{
	struct api_login_ctx *c = &lj->c;
	const char *pw;
	int rc;

	c->r = r;
	c->now = server_now();
	if ((rc = jbody_str(j, "user", 1, c->name, sizeof(c->name))) != 0 || !jbody_name_ok(c->name)) {
		api_bad_field(r, "user", rc ? rc : TE_ERR_INVALID);
		return 0;
	}
	snprintf(r->who, sizeof(r->who), "login:%s", c->name);
	api_peer_addr(r, c->addr, sizeof(c->addr));
	if ((pw = json_string_value(json_object_get(j, "password"))) == NULL) {
		api_bad_field(r, "password", TE_ERR_NOT_FOUND);
		return 0;
	}
	if ((lj->have_code = api_login_opt(r, j, "totp", lj->code, sizeof(lj->code))) < 0 ||
	    (lj->have_rec = api_login_opt(r, j, "recovery_code", lj->recovery,
	                                  sizeof(lj->recovery))) < 0)
		return 0;
	if (api_login_rate_limited(c))
		return 0;
	if (api_login_locked(c))
		return 0;
	/* An unknown name is checked against a hash that never matches, at the
	 * same cost, so timing does not tell which names exist. */
	if ((rc = store_user_get(r->srv->store, c->name, &lj->u)) == TE_ERR_STORE) {
		http_error(r, 503, "internal", "the account cannot be read now");
		return 0;
	}
	lj->found = rc == 0;
	if ((lj->evcon = evhttp_request_get_connection(r->ev)) == NULL) {
		http_error(r, 503, "internal", "the connection is gone");
		return 0;
	}
	rc = pwpool_submit(r->srv->pwpool, PWPOOL_VERIFY, pw, NULL, lj->found ? lj->u.pwhash : "",
	                   api_login_checked, lj);
	if (rc == TE_ERR_TOO_LONG) {
		api_pwpool_busy(r);
		return 0;
	}
	if (rc != 0) {
		http_error(r, 503, "internal", "cannot check the password now (%s)", te_strerror(rc));
		return 0;
	}
	evhttp_connection_set_closecb(lj->evcon, api_login_gone_cb, lj);
	return 1;
}

/* Order: lock -> password (on a worker) -> second factor -> pending setup. */
void api_login(struct http_req *r)
{
	json_t *j = api_body(r);
	struct api_login_job *lj;

	if (j == NULL)
		return;   /* r was answered and freed */
	if ((lj = calloc(1, sizeof(*lj))) == NULL)
		http_error(r, 503, "internal", "out of memory");
	else if (!api_login_start(r, j, lj))
		api_login_job_free(lj);   /* answered; else api_login_checked owns lj */
	jbody_wipe(j, "password");
	jbody_wipe(j, "totp");
	jbody_wipe(j, "recovery_code");
	json_decref(j);
}

/* The checks of a renewal before its second factor: 0 when they pass
 * (c->name set), else answered. */
static int api_renew_check(struct api_login_ctx *c, const char *hash, struct store_user *u,
                           int64_t *auth_at)
{
	struct server *srv = c->r->srv;
	char scope[STORE_SCOPE_BYTES];
	int rc;

	rc = store_token_renew_get(srv->store, hash, c->name, scope, auth_at);
	if (rc == TE_ERR_STORE) {
		http_error(c->r, 503, "internal", "the login cannot be read now");
		return -1;
	}
	if (rc != 0 || strcmp(scope, STORE_SCOPE_FULL) != 0) {
		http_error(c->r, 401, "renew_refused", "this login cannot be renewed (%s); log in"
		           " with your password", rc == TE_ERR_DENIED ? "it was ended: logout,"
		           " idle too long or revoked" : rc != 0 ? "unknown token" :
		           "the account setup is not finished");
		return -1;
	}
	snprintf(c->r->who, sizeof(c->r->who), "renew:%s", c->name);
	if (api_login_rate_limited(c) || api_login_locked(c))
		return -1;
	if ((rc = store_user_get(srv->store, c->name, u)) != 0 || u->disabled) {
		http_error(c->r, 403, "account_disabled", "the account %s is disabled by an"
		           " administrator", c->name);
		return -1;
	}
	if (srv->cfg.login_renew_max_s <= 0 || c->now - *auth_at >= srv->cfg.login_renew_max_s) {
		server_audit(srv, c->name, "login_renew_refused", json_pack("{s:s, s:s, s:I, s:I}",
		             "user", c->name, "addr", c->addr, "password_login_at",
		             (json_int_t)*auth_at, "limit_s", (json_int_t)srv->cfg.login_renew_max_s));
		http_error(c->r, 401, "renew_limit", "your password login is more than %ld minutes"
		           " old (the renewal limit); log in with your password again",
		           srv->cfg.login_renew_max_s / 60);
		return -1;
	}
	return 0;
}

void api_login_renew(struct http_req *r)
{
	struct api_login_ctx c;
	struct store_account a;
	struct store_user u;
	char old[TOKEN_TEXT_BYTES + 16], code[64], rec[64];
	char ohash[SHA256_HEX_BYTES], nhash[SHA256_HEX_BYTES];
	const char *scope = NULL, *factor = "none", *tok = NULL;
	json_t *j = api_body(r), *out = NULL;
	int64_t auth_at = 0;
	int rc, have_code, have_rec;
	char *detail = NULL;
	struct store_audit_entry audit = { NULL, "login_renewed", NULL };

	if (j == NULL)
		return;
	memset(&c, 0, sizeof(c));
	memset(&u, 0, sizeof(u));
	c.r = r;
	c.now = server_now();
	api_peer_addr(r, c.addr, sizeof(c.addr));
	if ((rc = jbody_str(j, "token", 1, old, sizeof(old))) != 0) {
		api_bad_field(r, "token", rc);
		goto out;
	}
	if ((have_code = api_login_opt(r, j, "totp", code, sizeof(code))) < 0 ||
	    (have_rec = api_login_opt(r, j, "recovery_code", rec, sizeof(rec))) < 0)
		goto out;
	if (secret_sha256_hex(old, strlen(old), ohash) != 0) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	if (api_renew_check(&c, ohash, &u, &auth_at) != 0)
		goto out;
	if ((rc = store_account_get(r->srv->store, c.name, &a)) != 0) {
		http_error(r, 503, "internal", "could not read the account (%s)", te_strerror(rc));
		goto out;
	}
	if (!have_code && !have_rec) {
		http_error(r, 401, "totp_required", "a renewal needs the one-time code from your"
		           " authenticator (or a recovery code)");
		goto out;
	}
	if (api_login_second_factor(&c, &a, have_rec ? NULL : code, have_rec ? rec : NULL,
	                            &factor) != 0)
		goto out;
	if ((out = json_object()) == NULL || (rc = api_account_token(r, &u, &a, out, &scope)) != 0 ||
	    (tok = json_string_value(json_object_get(out, "token"))) == NULL) {
		http_error(r, 503, "internal", "could not create a token");
		goto out;
	}
	if ((rc = secret_sha256_hex(tok, strlen(tok), nhash)) != 0 ||
	    (detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:I}", "user", c.name, "factor",
	                                   factor, "addr", c.addr, "password_login_at",
	                                   (json_int_t)auth_at))) == NULL) {
		http_error(r, 503, "internal", "could not renew the login");
		goto out;
	}
	audit.actor = c.name;
	audit.detail = detail;
	if ((rc = store_token_renewed(r->srv->store, nhash, ohash, auth_at, &audit)) != 0) {
		(void)store_token_revoke(r->srv->store, nhash);
		http_error(r, rc == TE_ERR_DENIED ? 401 : 503, rc == TE_ERR_DENIED ?
		           "renew_refused" : "internal", "the login could not be renewed (%s)",
		           te_strerror(rc));
		goto out;
	}
	json_object_set_new(out, "renew_until", json_integer(auth_at +
	                                                     r->srv->cfg.login_renew_max_s));
	http_reply(r, 200, out);
	out = NULL;
out:
	json_decref(out);
	free(detail);
	secret_wipe(old, sizeof(old));
	secret_wipe(code, sizeof(code));
	secret_wipe(rec, sizeof(rec));
	secret_wipe(&u, sizeof(u));
	jbody_wipe(j, "token");
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

/* The device clock's offset from the server's (null: never reported) and
 * whether it is past clock_skew_warn_s. */
static void api_device_clock_json(struct server *srv, const struct store_device *d,
                                  json_t *o)
{
	int64_t off = d->clock_offset_s, warn = srv->cfg.clock_skew_warn_s;
	int reported = d->clock_reported_at > 0;

	json_object_set_new(o, "clock_offset_s", reported ? json_integer(off) : json_null());
	json_object_set_new(o, "clock_skewed", json_boolean(reported && (off > warn || off < -warn)));
	json_object_set_new(o, "clock_skew_warn_s", json_integer(warn));
}

/* A stored name list (JSON array text), or null when never reported. */
static json_t *api_names_json(const char *text)
{
	json_error_t jerr;
	json_t *v = text[0] != '\0' ? json_loads(text, 0, &jerr) : NULL;

	if (!json_is_array(v)) {
		json_decref(v);
		return json_null();
	}
	return v;
}

json_t *api_device_json(struct server *srv, const struct store_device *d, int full)
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
		api_device_clock_json(srv, d, o);
	}
	if (o != NULL) {
		json_object_set_new(o, "site", json_string(d->site));
		json_object_set_new(o, "diags", api_names_json(d->diags));
		json_object_set_new(o, "files", api_names_json(d->files));
	}
	if (o != NULL && full)
		json_object_set_new(o, "ssh_hostkey", json_string(d->ssh_hostkey));
	return o;
}


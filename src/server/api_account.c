/* api_account.c: a user's own account over the API: TOTP enrollment (the
 * secret is made here and shown once, so no administrator ever sees it),
 * recovery codes, password change, and the tokens login and these hand
 * out. */
#include "apiacct.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jbody.h"
#include "log.h"
#include "mfakey.h"
#include "pwpool.h"
#include "pwrules.h"
#include "secret.h"
#include "server.h"
#include "signer.h"
#include "srvapi.h"
#include "totp.h"

#define API_ISSUER "tether"
#define API_RECOVERY_TEXT_BYTES (RECOVERY_CODE_CHARS + RECOVERY_CODE_CHARS / 4 + 1)
#define API_PASSWORD_MAX_BYTES 1024

json_t *api_account_pending(const struct store_account *a)
{
	json_t *arr = json_array();

	if (arr != NULL && !a->totp_enrolled)
		json_array_append_new(arr, json_string("totp_enrollment"));
	if (arr != NULL && a->must_change_password)
		json_array_append_new(arr, json_string("password_change"));
	return arr;
}

const char *api_account_next_steps(const struct store_account *a)
{
	if (!a->totp_enrolled && a->must_change_password)
		return "change your password (tether password), then enroll TOTP (tether mfa"
		       " enroll, then tether mfa confirm CODE)";
	if (!a->totp_enrolled)
		return "enroll TOTP: run tether mfa enroll, add the secret to your authenticator,"
		       " then tether mfa confirm CODE";
	if (a->must_change_password)
		return "an administrator reset your password: choose a new one with tether password";
	return "nothing is pending any more; log in again";
}

int api_account_token(struct http_req *r, const struct store_user *u,
                      const struct store_account *a, json_t *out,
                      const char **scope_out)
{
	struct server *srv = r->srv;
	char token[TOKEN_TEXT_BYTES], hash[SHA256_HEX_BYTES];
	int full = a->totp_enrolled && !a->must_change_password;
	const char *scope = full ? STORE_SCOPE_FULL : STORE_SCOPE_SETUP;
	int64_t now = server_now();
	int64_t ttl = srv->cfg.token_ttl_s;
	int rc;

	if (!full && ttl > SETUP_TOKEN_TTL_S)
		ttl = SETUP_TOKEN_TTL_S;
	if ((rc = secret_token_new(token)) != 0 ||
	    (rc = secret_sha256_hex(token, strlen(token), hash)) != 0 ||
	    (rc = store_token_add_scoped(srv->store, hash, u->name, scope, now, now + ttl)) != 0)
		goto out;
	json_object_set_new(out, "token", json_string(token));
	json_object_set_new(out, "scope", json_string(scope));
	json_object_set_new(out, "expires_at", json_integer(now + ttl));
	json_object_set_new(out, "expires_in_s", json_integer(ttl));
	json_object_set_new(out, "idle_timeout_s", json_integer(srv->cfg.token_idle_s));
	json_object_set_new(out, "user", json_string(u->name));
	json_object_set_new(out, "role", json_string(u->role));
	json_object_set_new(out, "level", json_integer(u->level));
	json_object_set_new(out, "region", json_string(u->region));
	if (!full)
		json_object_set_new(out, "setup_required", api_account_pending(a));
	*scope_out = scope;
out:
	secret_wipe(token, sizeof(token));
	return rc;
}

/* Upper case without separators: how a recovery code is hashed. */
static int api_recovery_normalize(const char *in, char *out, size_t outsz)
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		if (!isalnum((unsigned char)*in) || n + 1 >= outsz)
			return TE_ERR_INVALID;
		out[n++] = (char)toupper((unsigned char)*in);
	}
	out[n] = '\0';
	return n == RECOVERY_CODE_CHARS ? 0 : TE_ERR_INVALID;
}

int api_recovery_use(struct server *srv, const char *user, const char *code,
                     const char *addr, int64_t now)
{
	struct store_audit_entry audit = { user, "recovery_code_used", NULL };
	char norm[64], hash[SHA256_HEX_BYTES], *detail = NULL;
	int rc, left = 0;

	if ((rc = api_recovery_normalize(code, norm, sizeof(norm))) != 0)
		goto out;
	if ((rc = secret_sha256_hex(norm, strlen(norm), hash)) != 0)
		goto out;
	/* The count left is not known before the use; the record says who and
	 * from where, and `left` follows in a second record. */
	if ((detail = jbody_dump(json_pack("{s:s, s:s}", "user", user, "addr", addr))) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	audit.detail = detail;
	if ((rc = store_recovery_use(srv->store, user, hash, now, &left, &audit)) != 0)
		goto out;
	server_audit(srv, user, "recovery_codes_left", json_pack("{s:s, s:i}", "user", user,
	             "left", left));
out:
	free(detail);
	secret_wipe(norm, sizeof(norm));
	return rc == 0 ? 0 : TE_ERR_DENIED;
}

void api_account_totp(struct http_req *r)
{
	struct server *srv = r->srv;
	uint8_t secret[TOTP_SECRET_BYTES];
	char b32[TOTP_BASE32_BYTES], uri[TOTP_URI_BYTES], box[STORE_BOX_BYTES];
	struct store_account a;
	int rc;

	if ((rc = store_account_get(srv->store, r->user.name, &a)) != 0) {
		http_error(r, 503, "internal", "could not read the account (%s)", te_strerror(rc));
		return;
	}
	if (a.totp_enrolled) {
		http_error(r, 409, "already_enrolled", "TOTP is already enrolled for %s; to start"
		           " over, an administrator runs tether-server user reset-mfa", r->user.name);
		return;
	}
	/* The signer makes and seals the secret: this process sees it only to
	 * show it once, and never holds the sealing key. */
	if ((rc = signer_totp_new(srv->signer, secret, box)) != 0 ||
	    (rc = totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32))) != 0 ||
	    (rc = totp_uri(API_ISSUER, r->user.name, b32, uri, sizeof(uri))) != 0 ||
	    (rc = store_totp_set_pending(srv->store, r->user.name, box, server_now())) != 0) {
		http_error(r, rc == TE_ERR_EXISTS ? 409 : 503, rc == TE_ERR_EXISTS ?
		           "already_enrolled" : "internal", "could not start the enrollment (%s)",
		           te_strerror(rc));
		goto out;
	}
	server_audit(srv, r->user.name, "totp_enroll_start", json_pack("{s:s}", "user",
	             r->user.name));
	http_reply(r, 200, json_pack("{s:s, s:s}", "secret", b32, "uri", uri));
out:
	secret_wipe(secret, sizeof(secret));
	secret_wipe(b32, sizeof(b32));
	secret_wipe(uri, sizeof(uri));
}

/* RECOVERY_CODES fresh codes as "XXXX-XXXX-XXXX-XXXX" in arr, their
 * SHA-256 hex (of the code without dashes) in hashes. */
static int api_recovery_new(json_t *arr, char hashes[][SHA256_HEX_BYTES])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";   /* no 0/O, 1/I */
	uint8_t rnd[RECOVERY_CODE_CHARS];
	char plain[RECOVERY_CODE_CHARS + 1], shown[API_RECOVERY_TEXT_BYTES];
	int rc = 0;

	for (int i = 0; i < RECOVERY_CODES && rc == 0; i++) {
		size_t o = 0;

		if ((rc = secret_random(rnd, sizeof(rnd))) != 0)
			break;
		for (int k = 0; k < RECOVERY_CODE_CHARS; k++) {
			plain[k] = alphabet[rnd[k] & 31];   /* 32 symbols: 5 bits each, no bias */
			if (k > 0 && k % 4 == 0)
				shown[o++] = '-';
			shown[o++] = plain[k];
		}
		plain[RECOVERY_CODE_CHARS] = '\0';
		shown[o] = '\0';
		if ((rc = secret_sha256_hex(plain, RECOVERY_CODE_CHARS, hashes[i])) == 0 &&
		    json_array_append_new(arr, json_string(shown)) != 0)
			rc = TE_ERR_NOMEM;
	}
	secret_wipe(rnd, sizeof(rnd));
	secret_wipe(plain, sizeof(plain));
	secret_wipe(shown, sizeof(shown));
	return rc;
}

/* Check the first code against the pending secret; answered on failure. */
static int api_totp_confirm_code(struct http_req *r, const struct store_account *a,
                                 const char *code, int64_t *step)
{
	int rc, verdict;

	if ((rc = signer_totp_check(r->srv->signer, a->totp_box, code, 0, &verdict, step)) != 0) {
		log_error("totp confirm %s: cannot open the secret: %s", r->user.name, te_strerror(rc));
		http_error(r, 503, "internal", "the pending secret cannot be read; run tether mfa"
		           " enroll again");
		return -1;
	}
	rc = verdict;
	if (rc != 0) {
		server_audit(r->srv, r->user.name, "totp_confirm_failed", json_pack("{s:s, s:s}",
		             "user", r->user.name, "reason", rc == TE_ERR_INVALID ? "malformed" :
		             "bad_totp"));
		http_error(r, 400, "bad_totp", "the code does not match the new secret; check that"
		           " the authenticator's clock is right and give the code it shows now");
		return -1;
	}
	return 0;
}

void api_account_totp_confirm(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r), *codes = NULL, *out = NULL;
	struct store_audit_entry audit = { NULL, "totp_enrolled", NULL };
	char code[16], hashes[RECOVERY_CODES][SHA256_HEX_BYTES], *detail = NULL;
	struct store_account a;
	const char *scope = NULL;
	int64_t step = 0;
	int rc;

	if (j == NULL)
		return;
	audit.actor = r->user.name;
	if ((rc = jbody_str(j, "code", 1, code, sizeof(code))) != 0) {
		api_bad_field(r, "code", rc);
		goto out;
	}
	if ((rc = store_account_get(srv->store, r->user.name, &a)) != 0) {
		http_error(r, 503, "internal", "could not read the account (%s)", te_strerror(rc));
		goto out;
	}
	if (a.totp_enrolled || !a.totp_pending) {
		http_error(r, 409, a.totp_enrolled ? "already_enrolled" : "no_pending_enrollment",
		           a.totp_enrolled ? "TOTP is already enrolled" :
		           "no enrollment is pending: run tether mfa enroll first");
		goto out;
	}
	if (api_totp_confirm_code(r, &a, code, &step) != 0)
		goto out;
	if ((codes = json_array()) == NULL || (rc = api_recovery_new(codes, hashes)) != 0 ||
	    (detail = jbody_dump(json_pack("{s:s, s:i}", "user", r->user.name,
	                                   "recovery_codes", RECOVERY_CODES))) == NULL) {
		http_error(r, 503, "internal", "could not make the recovery codes");
		goto out;
	}
	audit.detail = detail;
	if ((rc = store_totp_confirm(srv->store, r->user.name, step, hashes, RECOVERY_CODES,
	                             &audit)) != 0) {
		http_error(r, 409, "already_enrolled", "the enrollment changed meanwhile (%s)",
		           te_strerror(rc));
		goto out;
	}
	a.totp_enrolled = 1;
	a.totp_pending = 0;
	if ((out = json_pack("{s:O}", "recovery_codes", codes)) == NULL)
		goto out_internal;
	if (!a.must_change_password) {
		/* The setup token has done its job; a full one replaces it. */
		(void)store_token_revoke(srv->store, r->token_hash);
		if (api_account_token(r, &r->user, &a, out, &scope) != 0)
			goto out_internal;
	} else {
		json_object_set_new(out, "scope", json_string(STORE_SCOPE_SETUP));
		json_object_set_new(out, "setup_required", api_account_pending(&a));
	}
	http_reply(r, 200, out);
	out = NULL;
	goto out;
out_internal:
	http_error(r, 503, "internal", "enrolled, but no new token could be made; log in again");
out:
	secret_wipe(code, sizeof(code));
	secret_wipe(hashes, sizeof(hashes));
	free(detail);
	json_decref(codes);
	json_decref(out);
	jbody_wipe(j, "code");
	json_decref(j);
}

static void api_password_refused(struct http_req *r, const char *reason, int status,
                                 const char *code, const char *msg)
{
	server_audit(r->srv, r->user.name, "password_change_failed", json_pack("{s:s, s:s}",
	             "user", r->user.name, "reason", reason));
	http_error(r, status, code, "%s", msg);
}

/* A password change while its argon2id work runs on a worker (pwpool.h). */
struct api_pwchange {
	struct http_req *r;
	struct evhttp_connection *evcon;
	int gone, detached;            /* as in api_user.c's login job */
};

static void api_pwchange_gone_cb(struct evhttp_connection *evcon, void *arg)
{
	struct api_pwchange *pc = arg;

	pc->gone = 1;
	pc->detached = evhttp_request_get_connection(pc->r->ev) == NULL;
}

/* The old password matched and the new hash is made: store, revoke, answer. */
static void api_pwchange_store(struct http_req *r, const char *hash)
{
	struct server *srv = r->srv;
	struct store_audit_entry audit = { r->user.name, "password_change", NULL };
	char *detail = jbody_dump(json_pack("{s:s}", "user", r->user.name));
	struct store_account a;
	const char *scope = NULL;
	json_t *out = NULL;
	int rc, revoked = 0;

	if ((audit.detail = detail) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if ((rc = store_password_set(srv->store, r->user.name, hash, 0, &revoked, &audit)) != 0 ||
	    (rc = store_account_get(srv->store, r->user.name, &a)) != 0) {
		free(detail);
		http_error(r, 503, "internal", "could not store the password (%s)", te_strerror(rc));
		return;
	}
	free(detail);
	server_audit(srv, r->user.name, "tokens_revoked", json_pack("{s:s, s:i, s:s}", "user",
	             r->user.name, "count", revoked, "reason", "password_change"));
	if ((out = json_pack("{s:i}", "tokens_revoked", revoked)) == NULL ||
	    api_account_token(r, &r->user, &a, out, &scope) != 0) {
		json_decref(out);
		http_error(r, 503, "internal", "the password was changed, but no new token could"
		           " be made; log in again");
		return;
	}
	http_reply(r, 200, out);
}

static void api_pwchange_done(const struct pwpool_result *res, void *arg)
{
	struct api_pwchange *pc = arg;
	struct http_req *r = pc->r;
	struct server *srv = r->srv;
	struct store_lock_policy pol = { (int)srv->cfg.login_max_failures,
	                                 srv->cfg.login_lock_base_s, srv->cfg.login_lock_max_s };
	int64_t until = 0;
	int n = 0;

	if (pc->gone) {
		if (pc->detached)
			evhttp_request_free(r->ev);
		http_req_free(r);
	} else {
		evhttp_connection_set_closecb(pc->evcon, NULL, NULL);
		if (res->rc == TE_ERR_DENIED) {
			/* A stolen token must not become a password oracle: this counts
			 * toward the account's lock like a failed login. */
			(void)store_login_fail(srv->store, STORE_LOCK_USER, r->user.name, server_now(),
			                       &pol, &n, &until);
			api_password_refused(r, "bad_old_password", 401, "bad_password",
			                     "the old password is wrong");
		} else if (res->rc != 0) {
			http_error(r, 503, "internal", "could not hash the password (%s)",
			           te_strerror(res->rc));
		} else {
			api_pwchange_store(r, res->hash);
		}
	}
	free(pc);
}

/* Order: lock -> rules for the new password -> old password and new hash
 * (on a worker) -> store. The rules need no secret of the account, so
 * checking them first tells a caller nothing about the old password. */
void api_account_password(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r);
	char old[API_PASSWORD_MAX_BYTES], pw[API_PASSWORD_MAX_BYTES], why[PWRULES_WHY_BYTES];
	struct api_pwchange *pc = NULL;
	int64_t until = 0;
	int rc;

	old[0] = pw[0] = '\0';
	if (j == NULL)
		return;
	if ((rc = jbody_str(j, "old", 1, old, sizeof(old))) != 0) {
		api_bad_field(r, "old", rc);
		goto out;
	}
	if ((rc = jbody_str(j, "new", 1, pw, sizeof(pw))) != 0) {
		api_bad_field(r, "new", rc);
		goto out;
	}
	if (store_login_locked(srv->store, STORE_LOCK_USER, r->user.name, server_now(),
	                       &until) == TE_ERR_LOCKED) {
		api_password_refused(r, "locked", 429, "locked", "too many failed password checks"
		                     " for this account; try again later or ask an administrator"
		                     " to unlock");
		goto out;
	}
	if (pwrules_check(r->user.name, pw, old, why, sizeof(why)) != 0) {
		api_password_refused(r, why, 400, "weak_password", why);
		goto out;
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    (pc->evcon = evhttp_request_get_connection(r->ev)) == NULL) {
		free(pc);
		http_error(r, 503, "internal", "cannot check the password now");
		goto out;
	}
	pc->r = r;
	rc = pwpool_submit(srv->pwpool, PWPOOL_CHANGE, pw, old, r->user.pwhash,
	                   api_pwchange_done, pc);
	if (rc != 0) {
		free(pc);
		if (rc == TE_ERR_TOO_LONG)
			api_pwpool_busy(r);
		else
			http_error(r, 503, "internal", "cannot check the password now (%s)",
			           te_strerror(rc));
		goto out;
	}
	evhttp_connection_set_closecb(pc->evcon, api_pwchange_gone_cb, pc);
out:
	secret_wipe(old, sizeof(old));
	secret_wipe(pw, sizeof(pw));
	jbody_wipe(j, "old");
	jbody_wipe(j, "new");
	json_decref(j);
}

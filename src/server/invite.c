/* invite.c: one-time enrollment codes (invite.h): made and audited for the
 * administrator's commands, spent by the user over the API. */
#include "invite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "apiacct.h"
#include "bounds.h"
#include "err.h"
#include "jbody.h"
#include "pwpool.h"
#include "pwrules.h"
#include "ratelimit.h"
#include "server.h"
#include "srvapi.h"

/* No 0/O or 1/I: the code is read off a screen or a letter and typed. */
static const char invite_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

int invite_parse_ttl(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;
	int64_t unit = 1;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return TE_ERR_INVALID;
	v = strtoll(s, &end, 10);
	if (end[0] != '\0' && end[1] != '\0')
		return TE_ERR_INVALID;
	switch (end[0]) {
	case '\0': case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 24 * 3600; break;
	default: return TE_ERR_INVALID;
	}
	if (v <= 0 || v > ENROLL_CODE_MAX_TTL_S || v * unit < 60 || v * unit > ENROLL_CODE_MAX_TTL_S)
		return TE_ERR_INVALID;
	*out = (int64_t)v * unit;
	return 0;
}

int invite_code_hash(const char *typed, char hash[SHA256_HEX_BYTES])
{
	char norm[INVITE_CODE_CHARS + 1];
	size_t n = 0;
	int rc = TE_ERR_INVALID;

	for (; *typed; typed++) {
		char c = (char)toupper((unsigned char)*typed);

		if (c == '-' || c == ' ')
			continue;
		if (n >= INVITE_CODE_CHARS || strchr(invite_alphabet, c) == NULL || c == '\0')
			goto out;
		norm[n++] = c;
	}
	if (n == INVITE_CODE_CHARS)
		rc = secret_sha256_hex(norm, n, hash);
out:
	secret_wipe(norm, sizeof(norm));
	return rc;
}

/* A fresh code as XXXX-XXXX-XXXX-XXXX in shown and its hash. */
static int invite_code_new(char shown[INVITE_CODE_TEXT_BYTES], char hash[SHA256_HEX_BYTES])
{
	uint8_t rnd[INVITE_CODE_CHARS];
	size_t o = 0;
	int rc;

	if ((rc = secret_random(rnd, sizeof(rnd))) != 0)
		return rc;
	for (int k = 0; k < INVITE_CODE_CHARS; k++) {
		if (k > 0 && k % 4 == 0)
			shown[o++] = '-';
		shown[o++] = invite_alphabet[rnd[k] & 31];   /* 32 symbols: no bias */
	}
	shown[o] = '\0';
	secret_wipe(rnd, sizeof(rnd));
	return invite_code_hash(shown, hash);
}

int invite_issue(struct store *st, const char *actor, const char *user, const char *why,
                 int64_t now, int64_t ttl_s, char shown[INVITE_CODE_TEXT_BYTES],
                 int64_t *expires_at)
{
	struct store_audit_entry audit = { actor, "user_invite", NULL };
	char hash[SHA256_HEX_BYTES], *detail = NULL;
	int rc;

	*expires_at = now + ttl_s;
	if ((rc = invite_code_new(shown, hash)) != 0)
		goto out;
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:I}", "user", user, "reason", why,
	                                   "expires_at", (json_int_t)*expires_at))) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	audit.detail = detail;
	rc = store_invite_issue(st, user, hash, now, *expires_at, NULL, &audit);
out:
	if (rc != 0)
		secret_wipe(shown, INVITE_CODE_TEXT_BYTES);
	secret_wipe(hash, sizeof(hash));
	free(detail);
	return rc;
}

/* ---- POST /api/v1/account/enroll ---- */

struct invite_req {
	char user[MAX_NAME_BYTES];
	char code[INVITE_TYPED_BYTES];
	char addr[64];
	const char *password;
};

/* A refused code: audited with why, answered with one clear sentence. A
 * wrong code and a user without a code get the same answer. */
static void invite_refused(struct http_req *r, const struct invite_req *q, int rc)
{
	const char *why = rc == TE_ERR_REPLAY ? "used" : rc == TE_ERR_EXPIRED ? "expired" :
	                  "wrong";

	server_audit(r->srv, q->user, "enrollment_code_refused", json_pack("{s:s, s:s, s:s}",
	             "user", q->user, "reason", why, "addr", q->addr));
	if (rc == TE_ERR_REPLAY)
		http_error(r, 403, "code_used", "this enrollment code was already used; ask your"
		           " administrator for a new one (tether-server user invite %s)", q->user);
	else if (rc == TE_ERR_EXPIRED)
		http_error(r, 403, "code_expired", "this enrollment code has expired; ask your"
		           " administrator for a new one (tether-server user invite %s)", q->user);
	else
		http_error(r, 403, "bad_code", "this is not a valid enrollment code for %s",
		           q->user);
}

/* store_invite_use failed: a refused code, or the store. */
static void invite_failed(struct http_req *r, const struct invite_req *q, int rc)
{
	if (rc == TE_ERR_NOT_FOUND || rc == TE_ERR_DENIED || rc == TE_ERR_REPLAY ||
	    rc == TE_ERR_EXPIRED)
		invite_refused(r, q, rc);
	else
		http_error(r, 503, "internal", "could not use the code (%s)", te_strerror(rc));
}

static int invite_req_parse(struct http_req *r, json_t *j, struct invite_req *q)
{
	int rc;

	if ((rc = jbody_str(j, "user", 1, q->user, sizeof(q->user))) != 0 ||
	    !jbody_name_ok(q->user)) {
		api_bad_field(r, "user", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	snprintf(r->who, sizeof(r->who), "enroll-user:%s", q->user);
	if ((rc = jbody_str(j, "code", 1, q->code, sizeof(q->code))) != 0) {
		api_bad_field(r, "code", rc);
		return -1;
	}
	q->password = json_string_value(json_object_get(j, "password"));
	if (q->password == NULL) {
		api_bad_field(r, "password", TE_ERR_NOT_FOUND);
		return -1;
	}
	http_peer_addr(r, q->addr, sizeof(q->addr));
	return 0;
}

/* After the code was spent: a setup login to enroll TOTP with, unless the
 * account has TOTP already (a password reset): then a normal login. */
static void invite_answer(struct http_req *r, const char *user)
{
	struct store_account a;
	struct store_user u;
	const char *scope = NULL;
	json_t *out = json_object();
	int rc;

	if (out == NULL || (rc = store_user_get(r->srv->store, user, &u)) != 0 ||
	    (rc = store_account_get(r->srv->store, user, &a)) != 0) {
		json_decref(out);
		http_error(r, 503, "internal", "the password is set; log in with it");
		return;
	}
	json_object_set_new(out, "password_set", json_true());
	if (!a.totp_enrolled && (rc = api_account_token(r, &u, &a, out, &scope)) != 0) {
		json_decref(out);
		http_error(r, 503, "internal", "the password is set, but no login could be made (%s);"
		           " log in with it", te_strerror(rc));
		return;
	}
	http_reply(r, 200, out);
}

/* One enrollment while its argon2id hash runs on a worker (pwpool.h): what
 * the second, atomic use of the code needs, and whether the client left. */
struct invite_job {
	struct http_req *r;
	struct evhttp_connection *evcon;
	int gone, detached;
	struct invite_req q;            /* q.password is not kept: the worker has it */
	char hash[SHA256_HEX_BYTES];    /* of the typed code */
};

static void invite_job_free(struct invite_job *job)
{
	secret_wipe(job, sizeof(*job));
	free(job);
}

static void invite_gone_cb(struct evhttp_connection *evcon, void *arg)
{
	struct invite_job *job = arg;

	(void)evcon;
	job->gone = 1;
	job->detached = evhttp_request_get_connection(job->r->ev) == NULL;
}

/* The new password's hash is made: spend the code and set it, in one
 * transaction that checks the code again. */
static void invite_hashed(const struct pwpool_result *res, void *arg)
{
	struct invite_job *job = arg;
	struct http_req *r = job->r;
	struct store_audit_entry audit = { job->q.user, "enrollment_code_used", NULL };
	char *detail = NULL;
	int rc;

	if (job->gone) {
		if (job->detached)
			evhttp_request_free(r->ev);
		http_req_free(r);
		invite_job_free(job);
		return;
	}
	evhttp_connection_set_closecb(job->evcon, NULL, NULL);
	if (res->rc != 0 || (detail = jbody_dump(json_pack("{s:s, s:s}", "user", job->q.user,
	                                                     "addr", job->q.addr))) == NULL) {
		http_error(r, 503, "internal", "could not hash the password");
		goto out;
	}
	audit.detail = detail;
	if ((rc = store_invite_use(r->srv->store, job->q.user, job->hash, server_now(), res->hash,
	                           &audit)) != 0)
		invite_failed(r, &job->q, rc);
	else
		invite_answer(r, job->q.user);
out:
	free(detail);
	invite_job_free(job);
}

/* 1 (answered 429, audited) when this address has used up its enrollments:
 * codes are guessed here as enrollment tokens would be at /api/v1/enroll. */
static int invite_rate_limited(struct http_req *r)
{
	char addr[RATELIMIT_ADDR_BYTES];
	long wait_s;

	http_peer_addr(r, addr, sizeof(addr));
	if ((wait_s = ratelimit_take(r->srv->rl_enroll, addr, r->started_ms)) == 0)
		return 0;
	server_audit(r->srv, "anonymous", "enrollment_code_refused", json_pack("{s:s, s:s, s:I}",
	             "reason", "rate_limited", "addr", addr, "retry_after_s", (json_int_t)wait_s));
	http_retry_after(r, wait_s);
	http_error(r, 429, "rate_limited", "too many enrollment attempts from this address; try"
	           " again in %ld s", wait_s);
	return 1;
}

void api_account_enroll(struct http_req *r)
{
	char why[PWRULES_WHY_BYTES];
	struct invite_job *job = NULL;
	json_t *j;
	int rc;

	if (invite_rate_limited(r))
		return;
	if ((j = api_body(r)) == NULL)
		return;
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		goto out;
	}
	job->r = r;
	if (invite_req_parse(r, j, &job->q) != 0)
		goto out;
	/* The password rules first, so that a refused password does not spend
	 * the code. */
	if (pwrules_check(job->q.user, job->q.password, NULL, why, sizeof(why)) != 0) {
		http_error(r, 400, "weak_password", "the password is refused: %s", why);
		goto out;
	}
	if (invite_code_hash(job->q.code, job->hash) != 0) {
		invite_refused(r, &job->q, TE_ERR_DENIED);
		goto out;
	}
	/* A wrong code costs no argon2id hash; the use after it checks again. */
	if ((rc = store_invite_use(r->srv->store, job->q.user, job->hash, server_now(), NULL,
	                           NULL)) != 0) {
		invite_failed(r, &job->q, rc);
		goto out;
	}
	if ((job->evcon = evhttp_request_get_connection(r->ev)) == NULL) {
		http_error(r, 503, "internal", "cannot hash the password now");
		goto out;
	}
	rc = pwpool_submit(r->srv->pwpool, PWPOOL_HASH, job->q.password, NULL, NULL,
	                   invite_hashed, job);
	if (rc != 0) {
		if (rc == TE_ERR_TOO_LONG)
			api_pwpool_busy(r);
		else
			http_error(r, 503, "internal", "cannot hash the password now (%s)",
			           te_strerror(rc));
		goto out;
	}
	job->q.password = NULL;
	evhttp_connection_set_closecb(job->evcon, invite_gone_cb, job);
	job = NULL;                      /* invite_hashed answers and frees it */
out:
	if (job != NULL)
		invite_job_free(job);
	jbody_wipe(j, "password");
	jbody_wipe(j, "code");
	json_decref(j);
}

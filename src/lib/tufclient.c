/* tufclient.c: the TUF client workflow (tufclient.h). */
#include "tufclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"
#include "tuf.h"

static int tufclient_fail(struct tufclient *c, enum tufclient_refusal r, int rc,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int tufclient_fail(struct tufclient *c, enum tufclient_refusal r, int rc,
                          const char *fmt, ...)
{
	va_list ap;

	c->refusal = r;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return rc;
}

const char *tufclient_refusal_name(enum tufclient_refusal r)
{
	switch (r) {
	case TUFCLIENT_OK: return "ok";
	case TUFCLIENT_FETCH: return "fetch";
	case TUFCLIENT_MALFORMED: return "malformed";
	case TUFCLIENT_SIGNATURES: return "signatures";
	case TUFCLIENT_ROLLBACK: return "rollback";
	case TUFCLIENT_FREEZE: return "freeze";
	case TUFCLIENT_MIX_AND_MATCH: return "mix_and_match";
	case TUFCLIENT_ENDLESS_DATA: return "endless_data";
	case TUFCLIENT_NOT_FOUND: return "not_found";
	}
	return "unknown";
}

static const json_t *tufclient_signed(const json_t *md)
{
	return json_object_get(md, "signed");
}

static int64_t tufclient_version(const json_t *md)
{
	return md != NULL ? (int64_t)json_integer_value(json_object_get(tufclient_signed(md),
	                                                                  "version")) : 0;
}

/* Fetch and parse name, at most max bytes; *raw and *rawlen keep the bytes
 * when not NULL (for a hash check). */
static int tufclient_get(struct tufclient *c, const char *name, size_t max, json_t **md,
                         char **raw, size_t *rawlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*md = NULL;
	rc = c->fetch(c->fetch_arg, name, max, &text, &len);
	if (rc == TE_ERR_TOO_LONG || (rc == 0 && len > max)) {
		free(text);
		return tufclient_fail(c, TUFCLIENT_ENDLESS_DATA, TE_ERR_TOO_LONG,
		                      "%s is longer than the %zu bytes allowed", name, max);
	}
	if (rc == TE_ERR_NOT_FOUND)
		return tufclient_fail(c, TUFCLIENT_FETCH, rc, "%s is not in the repository", name);
	if (rc != 0)
		return tufclient_fail(c, TUFCLIENT_FETCH, rc, "cannot fetch %s: %s", name,
		                      te_strerror(rc));
	if ((rc = tuf_parse(text, len, md)) != 0) {
		free(text);
		return tufclient_fail(c, TUFCLIENT_MALFORMED, rc, "%s is not a TUF document", name);
	}
	if (raw != NULL) {
		*raw = text;
		*rawlen = len;
	} else {
		free(text);
	}
	return 0;
}

/* md is a document of type signed by role's threshold in root. */
static int tufclient_check(struct tufclient *c, const json_t *md, const char *type,
                           const json_t *root, const char *role, const char *what)
{
	const json_t *ids;
	int64_t v, e;
	long th, valid = 0;

	if (tuf_check_signed(md, type, &v, &e) != 0)
		return tufclient_fail(c, TUFCLIENT_MALFORMED, TE_ERR_INVALID, "%s is not a %s "
		                      "document", what, type);
	if (tuf_role_keys(tufclient_signed(root), role, &ids, &th) != 0)
		return tufclient_fail(c, TUFCLIENT_MALFORMED, TE_ERR_INVALID, "the root names no "
		                      "keys for %s", role);
	if (tuf_verify(md, json_object_get(tufclient_signed(root), "keys"), ids, th, &valid) != 0)
		return tufclient_fail(c, TUFCLIENT_SIGNATURES, TE_ERR_SIGNATURE, "%s has %ld valid "
		                      "signature(s) of the %ld its role needs", what, valid, th);
	return 0;
}

static int tufclient_expired(struct tufclient *c, const json_t *md, const char *what)
{
	int64_t v, e;
	char t[TUF_TIME_BYTES];

	const char *type = json_string_value(json_object_get(tufclient_signed(md), "_type"));

	if (tuf_check_signed(md, type, &v, &e) != 0 || e > c->now)
		return 0;
	if (c->allow_expired_online && type != NULL &&
	    (strcmp(type, "timestamp") == 0 || strcmp(type, "snapshot") == 0)) {
		c->expired_online = 1;
		return 0;
	}
	tuf_time_format(e, t);
	return tufclient_fail(c, TUFCLIENT_FREEZE, TE_ERR_EXPIRED, "%s version %lld expired at %s",
	                      what, (long long)v, t);
}

int tufclient_init(struct tufclient *c, const char *root, size_t len, int64_t now,
                   tufclient_fetch_fn fetch, void *arg)
{
	json_t *md = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	c->now = now;
	c->fetch = fetch;
	c->fetch_arg = arg;
	if ((rc = tuf_parse(root, len, &md)) != 0)
		return tufclient_fail(c, TUFCLIENT_MALFORMED, rc, "the trusted root is not a TUF "
		                      "document");
	if ((rc = tufclient_check(c, md, "root", md, "root", "the trusted root")) != 0) {
		json_decref(md);
		return rc;
	}
	c->root = md;
	return 0;
}

void tufclient_free(struct tufclient *c)
{
	json_decref(c->root);
	json_decref(c->timestamp);
	json_decref(c->snapshot);
	json_decref(c->targets);
	c->root = c->timestamp = c->snapshot = c->targets = NULL;
}

/* role has the same key ids and threshold in both roots. */
static int tufclient_same_keys(const json_t *a, const json_t *b, const char *role)
{
	const json_t *ia, *ib;
	long ta, tb;

	return tuf_role_keys(tufclient_signed(a), role, &ia, &ta) == 0 &&
	       tuf_role_keys(tufclient_signed(b), role, &ib, &tb) == 0 && ta == tb &&
	       json_equal((json_t *)ia, (json_t *)ib);
}

/* 5.3: each next root version, signed by the root before it and its own. */
static int tufclient_roots(struct tufclient *c)
{
	char name[48];
	json_t *md;
	int rc;

	for (int i = 0; i < TUFCLIENT_MAX_ROOTS; i++) {
		int64_t next = tufclient_version(c->root) + 1;

		snprintf(name, sizeof(name), "%lld.root.json", (long long)next);
		rc = tufclient_get(c, name, TUFCLIENT_ROOT_MAX_BYTES, &md, NULL, NULL);
		if (rc == TE_ERR_NOT_FOUND && c->refusal == TUFCLIENT_FETCH) {
			c->refusal = TUFCLIENT_OK;     /* the newest root is the one trusted */
			c->why[0] = '\0';
			return tufclient_expired(c, c->root, "the root");
		}
		if (rc != 0)
			return rc;
		if ((rc = tufclient_check(c, md, "root", c->root, "root", name)) != 0 ||
		    (rc = tufclient_check(c, md, "root", md, "root", name)) != 0) {
			json_decref(md);
			return rc;
		}
		if (tufclient_version(md) != next) {
			json_decref(md);
			return tufclient_fail(c, TUFCLIENT_ROLLBACK, TE_ERR_REPLAY, "%s holds root "
			                      "version %lld", name, (long long)tufclient_version(md));
		}
		/* New snapshot or timestamp keys: what they signed before is
		 * trusted no longer (5.3.11); fetched again below. Unchanged
		 * keys keep them, and with them the rollback check. */
		if (!tufclient_same_keys(c->root, md, "timestamp") ||
		    !tufclient_same_keys(c->root, md, "snapshot")) {
			json_decref(c->timestamp);
			json_decref(c->snapshot);
			c->timestamp = c->snapshot = NULL;
		}
		json_decref(c->root);
		c->root = md;
	}
	return tufclient_fail(c, TUFCLIENT_ENDLESS_DATA, TE_ERR_TOO_LONG, "more than %d root "
	                      "versions at once", TUFCLIENT_MAX_ROOTS);
}

static const json_t *tufclient_meta(const json_t *md, const char *file)
{
	return json_object_get(json_object_get(tufclient_signed(md), "meta"), file);
}

/* 5.4 */
static int tufclient_timestamp(struct tufclient *c)
{
	json_t *md;
	int64_t nv, sv;
	int rc;

	if ((rc = tufclient_get(c, "timestamp.json", TUFCLIENT_TIMESTAMP_MAX_BYTES, &md, NULL,
	                        NULL)) != 0)
		return rc;
	if ((rc = tufclient_check(c, md, "timestamp", c->root, "timestamp", "timestamp.json")) != 0)
		goto bad;
	if (!json_is_integer(json_object_get(tufclient_meta(md, "snapshot.json"), "version"))) {
		rc = tufclient_fail(c, TUFCLIENT_MALFORMED, TE_ERR_INVALID, "the timestamp names no "
		                    "snapshot version");
		goto bad;
	}
	nv = tufclient_version(md);
	sv = (int64_t)json_integer_value(json_object_get(tufclient_meta(md, "snapshot.json"),
	                                                 "version"));
	if (c->timestamp != NULL) {
		int64_t ov = tufclient_version(c->timestamp);
		int64_t osv = (int64_t)json_integer_value(json_object_get(
		              tufclient_meta(c->timestamp, "snapshot.json"), "version"));

		if (nv < ov || sv < osv) {
			rc = tufclient_fail(c, TUFCLIENT_ROLLBACK, TE_ERR_REPLAY, "timestamp version "
			                    "%lld (snapshot %lld) is older than the trusted %lld "
			                    "(snapshot %lld)", (long long)nv, (long long)sv,
			                    (long long)ov, (long long)osv);
			goto bad;
		}
	}
	if ((rc = tufclient_expired(c, md, "the timestamp")) != 0)
		goto bad;
	json_decref(c->timestamp);
	c->timestamp = md;
	return 0;
bad:
	json_decref(md);
	return rc;
}

/* The bytes raw match meta's length and sha256, when it gives them. */
static int tufclient_meta_bytes(struct tufclient *c, const json_t *meta, const char *raw,
                                size_t len, const char *name)
{
	const char *want = json_string_value(json_object_get(json_object_get(meta, "hashes"),
	                                                      "sha256"));
	const json_t *lj = json_object_get(meta, "length");
	uint8_t md[32];
	unsigned int mdlen = 0;
	char got[65];

	if (json_is_integer(lj) && (json_int_t)len != json_integer_value(lj))
		return tufclient_fail(c, TUFCLIENT_ENDLESS_DATA, TE_ERR_MISMATCH, "%s is %zu bytes, "
		                      "not the %lld its parent role names", name, len,
		                      (long long)json_integer_value(lj));
	if (want != NULL &&
	    (EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	     hex_encode(md, mdlen, got, sizeof(got)) != 0 || strcmp(got, want) != 0))
		return tufclient_fail(c, TUFCLIENT_MIX_AND_MATCH, TE_ERR_MISMATCH, "%s does not have "
		                      "the SHA-256 its parent role names", name);
	return 0;
}

/* Fetch N.ROLE.json at the version meta (in parent) names, bounded by its
 * length when given. */
static int tufclient_versioned(struct tufclient *c, const json_t *meta, const char *role,
                               json_t **md)
{
	char name[96], *raw = NULL;
	const json_t *lj = json_object_get(meta, "length");
	size_t max = TUFCLIENT_META_MAX_BYTES, len = 0;
	int64_t v = (int64_t)json_integer_value(json_object_get(meta, "version"));
	int rc;

	*md = NULL;
	if (!json_is_integer(json_object_get(meta, "version")) || v < 1)
		return tufclient_fail(c, TUFCLIENT_MIX_AND_MATCH, TE_ERR_NOT_FOUND, "%s.json is not "
		                      "in the snapshot", role);
	if (json_is_integer(lj) && json_integer_value(lj) > 0 &&
	    (size_t)json_integer_value(lj) < max)
		max = (size_t)json_integer_value(lj);
	snprintf(name, sizeof(name), "%lld.%s.json", (long long)v, role);
	if ((rc = tufclient_get(c, name, max, md, &raw, &len)) != 0)
		return rc;
	rc = tufclient_meta_bytes(c, meta, raw, len, name);
	free(raw);
	if (rc == 0 && tufclient_version(*md) != v)
		rc = tufclient_fail(c, TUFCLIENT_MIX_AND_MATCH, TE_ERR_MISMATCH, "%s holds version "
		                    "%lld", name, (long long)tufclient_version(*md));
	if (rc != 0) {
		json_decref(*md);
		*md = NULL;
	}
	return rc;
}

/* 5.5 */
static int tufclient_snapshot(struct tufclient *c)
{
	const json_t *tm = tufclient_meta(c->timestamp, "snapshot.json"), *om;
	const char *k;
	json_t *md, *v;
	int rc;

	if ((rc = tufclient_versioned(c, tm, "snapshot", &md)) != 0)
		return rc;
	if ((rc = tufclient_check(c, md, "snapshot", c->root, "snapshot", "the snapshot")) != 0)
		goto bad;
	/* No role may go back against the snapshot trusted before. */
	if (c->snapshot != NULL) {
		om = json_object_get(tufclient_signed(c->snapshot), "meta");
		json_object_foreach((json_t *)om, k, v) {
			const json_t *n = tufclient_meta(md, k);

			if (n == NULL || json_integer_value(json_object_get(n, "version")) <
			                 json_integer_value(json_object_get(v, "version"))) {
				rc = tufclient_fail(c, TUFCLIENT_ROLLBACK, TE_ERR_REPLAY, "the snapshot "
				                    "takes %s back (or drops it) against the one trusted", k);
				goto bad;
			}
		}
	}
	if ((rc = tufclient_expired(c, md, "the snapshot")) != 0)
		goto bad;
	json_decref(c->snapshot);
	c->snapshot = md;
	return 0;
bad:
	json_decref(md);
	return rc;
}

/* 5.6 */
static int tufclient_targets(struct tufclient *c)
{
	json_t *md;
	int rc;

	if ((rc = tufclient_versioned(c, tufclient_meta(c->snapshot, "targets.json"), "targets",
	                              &md)) != 0)
		return rc;
	if ((rc = tufclient_check(c, md, "targets", c->root, "targets", "targets")) != 0 ||
	    (rc = tufclient_expired(c, md, "targets")) != 0) {
		json_decref(md);
		return rc;
	}
	json_decref(c->targets);
	c->targets = md;
	return 0;
}

int tufclient_refresh(struct tufclient *c)
{
	int rc;

	c->refusal = TUFCLIENT_OK;
	c->why[0] = '\0';
	if ((rc = tufclient_roots(c)) != 0 || (rc = tufclient_timestamp(c)) != 0 ||
	    (rc = tufclient_snapshot(c)) != 0 || (rc = tufclient_targets(c)) != 0)
		return rc;
	return 0;
}

/* Look for name in role md (already verified) and, in order, in the roles
 * it delegates to whose paths match; *visits bounds the walk. 1 found, 0
 * not here, < 0 refused. */
static int tufclient_search(struct tufclient *c, const json_t *md, const char *name, int depth,
                            int *visits, json_t **info)
{
	const json_t *t = json_object_get(json_object_get(tufclient_signed(md), "targets"), name);
	const json_t *dl = json_object_get(tufclient_signed(md), "delegations"), *d, *p, *ids;
	char file[96];
	json_t *child;
	size_t i, j;
	long th, valid;
	int rc, match;

	if (t != NULL) {
		*info = json_incref((json_t *)t);
		return 1;
	}
	json_array_foreach(json_object_get(dl, "roles"), i, d) {
		const char *role = json_string_value(json_object_get(d, "name"));

		match = 0;
		json_array_foreach(json_object_get(d, "paths"), j, p)
			match |= tuf_path_match(json_string_value(p), name);
		if (!match || role == NULL || !tuf_role_name_ok(role))
			continue;
		if (++(*visits) > TUFCLIENT_MAX_VISITS || depth >= TUFCLIENT_MAX_VISITS)
			return tufclient_fail(c, TUFCLIENT_ENDLESS_DATA, TE_ERR_TOO_LONG, "more than "
			                      "%d delegated roles to search", TUFCLIENT_MAX_VISITS);
		snprintf(file, sizeof(file), "%s.json", role);
		if ((rc = tufclient_versioned(c, tufclient_meta(c->snapshot, file), role, &child)) != 0)
			return rc;
		if (tuf_check_signed(child, "targets", &(int64_t){0}, &(int64_t){0}) != 0 ||
		    tuf_delegation_keys(d, &ids, &th) != 0) {
			json_decref(child);
			return tufclient_fail(c, TUFCLIENT_MALFORMED, TE_ERR_INVALID, "role %s or its "
			                      "delegation is malformed", role);
		}
		if (tuf_verify(child, json_object_get(dl, "keys"), ids, th, &valid) != 0) {
			json_decref(child);
			return tufclient_fail(c, TUFCLIENT_SIGNATURES, TE_ERR_SIGNATURE, "role %s has "
			                      "%ld valid signature(s) of the %ld its delegation needs",
			                      role, valid, th);
		}
		if ((rc = tufclient_expired(c, child, role)) != 0) {
			json_decref(child);
			return rc;
		}
		rc = tufclient_search(c, child, name, depth + 1, visits, info);
		json_decref(child);
		if (rc != 0 || json_is_true(json_object_get(d, "terminating")))
			return rc;     /* found, refused, or a terminating role said no */
	}
	return 0;
}

int tufclient_target(struct tufclient *c, const char *name, json_t **info)
{
	int visits = 0, rc;

	*info = NULL;
	c->refusal = TUFCLIENT_OK;
	c->why[0] = '\0';
	if (c->targets == NULL || c->snapshot == NULL)
		return tufclient_fail(c, TUFCLIENT_NOT_FOUND, TE_ERR_INVALID, "refresh first");
	if (!tuf_target_name_ok(name))
		return tufclient_fail(c, TUFCLIENT_NOT_FOUND, TE_ERR_INVALID, "%.100s is not a "
		                      "target name", name);
	rc = tufclient_search(c, c->targets, name, 0, &visits, info);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return tufclient_fail(c, TUFCLIENT_NOT_FOUND, TE_ERR_NOT_FOUND, "no role that may "
		                      "sign %s lists it", name);
	if (!json_is_integer(json_object_get(*info, "length")) ||
	    json_string_value(json_object_get(json_object_get(*info, "hashes"), "sha256")) == NULL) {
		json_decref(*info);
		*info = NULL;
		return tufclient_fail(c, TUFCLIENT_MALFORMED, TE_ERR_INVALID, "%s has no length or "
		                      "sha256", name);
	}
	return 0;
}

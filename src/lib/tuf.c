/* tuf.c: TUF metadata (tuf.h). */
#include "tuf.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cjson.h"
#include "codec.h"
#include "err.h"

#define TUF_ED25519_PUB_BYTES 32
#define TUF_ED25519_SIG_BYTES 64

static int tuf_hex_ok(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The Ed25519 public key a key object holds, or NULL. */
static EVP_PKEY *tuf_key_pkey(const json_t *key)
{
	const char *kt = json_string_value(json_object_get(key, "keytype"));
	const char *sc = json_string_value(json_object_get(key, "scheme"));
	const char *pub = json_string_value(json_object_get(json_object_get(key, "keyval"),
	                                                    "public"));
	uint8_t raw[TUF_ED25519_PUB_BYTES];
	size_t n = 0;

	if (kt == NULL || sc == NULL || strcmp(kt, "ed25519") != 0 ||
	    strcmp(sc, "ed25519") != 0 || !tuf_hex_ok(pub, 2 * TUF_ED25519_PUB_BYTES) ||
	    hex_decode(pub, raw, sizeof(raw), &n) != 0 || n != sizeof(raw))
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n);
}

int tuf_keyid(const json_t *key, char keyid[TUF_KEYID_BYTES])
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	EVP_PKEY *pk = tuf_key_pkey(key);
	char *text = NULL;
	size_t len = 0;
	int rc;

	keyid[0] = '\0';
	if (pk == NULL)
		return TE_ERR_INVALID;
	EVP_PKEY_free(pk);
	if ((rc = cjson_encode(key, 4096, &text, &len)) != 0)
		return rc;
	rc = EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	     hex_encode(md, mdlen, keyid, TUF_KEYID_BYTES) == 0 ? 0 : TE_ERR_CRYPTO;
	free(text);
	return rc;
}

int tuf_key_json(EVP_PKEY *key, json_t **out, char keyid[TUF_KEYID_BYTES])
{
	uint8_t raw[TUF_ED25519_PUB_BYTES];
	char hex[2 * TUF_ED25519_PUB_BYTES + 1];
	size_t n = sizeof(raw);
	json_t *k;
	int rc;

	*out = NULL;
	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, raw, &n) != 1 || n != sizeof(raw) ||
	    hex_encode(raw, n, hex, sizeof(hex)) != 0)
		return TE_ERR_INVALID;
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
	              "keyval", "public", hex);
	if (k == NULL)
		return TE_ERR_NOMEM;
	if ((rc = tuf_keyid(k, keyid)) != 0) {
		json_decref(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* The canonical bytes of md's "signed". */
static int tuf_signed_bytes(const json_t *md, char **text, size_t *len)
{
	const json_t *s = json_object_get(md, "signed");

	if (!json_is_object(s))
		return TE_ERR_INVALID;
	return cjson_encode(s, TUF_MAX_META_BYTES, text, len);
}

int tuf_sign(json_t *md, EVP_PKEY *key)
{
	uint8_t sig[TUF_ED25519_SIG_BYTES];
	char keyid[TUF_KEYID_BYTES], hex[2 * TUF_ED25519_SIG_BYTES + 1], *text = NULL;
	size_t siglen = sizeof(sig), len = 0, i;
	EVP_MD_CTX *ctx = NULL;
	json_t *kj = NULL, *sigs, *e;
	int rc;

	if ((rc = tuf_key_json(key, &kj, keyid)) != 0)
		return rc;
	json_decref(kj);
	if ((rc = tuf_signed_bytes(md, &text, &len)) != 0)
		return rc;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)text, len) != 1 ||
	    siglen != sizeof(sig) || hex_encode(sig, siglen, hex, sizeof(hex)) != 0) {
		rc = TE_ERR_CRYPTO;
		goto out;
	}
	sigs = json_object_get(md, "signatures");
	if (!json_is_array(sigs)) {
		if ((sigs = json_array()) == NULL || json_object_set_new(md, "signatures", sigs) != 0) {
			rc = TE_ERR_NOMEM;
			goto out;
		}
	}
	for (i = 0; i < json_array_size(sigs); i++) {
		e = json_array_get(sigs, i);
		if (json_is_string(json_object_get(e, "keyid")) &&
		    strcmp(json_string_value(json_object_get(e, "keyid")), keyid) == 0) {
			json_array_remove(sigs, i);
			break;
		}
	}
	rc = json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid", keyid, "sig", hex)) == 0
	     ? 0 : TE_ERR_NOMEM;
out:
	EVP_MD_CTX_free(ctx);
	free(text);
	return rc;
}

static int tuf_sig_ok(const json_t *key, const char *sighex, const char *text, size_t len)
{
	uint8_t sig[TUF_ED25519_SIG_BYTES];
	EVP_PKEY *pk = tuf_key_pkey(key);
	EVP_MD_CTX *ctx = NULL;
	size_t n = 0;
	int ok = 0;

	if (pk != NULL && tuf_hex_ok(sighex, 2 * TUF_ED25519_SIG_BYTES) &&
	    hex_decode(sighex, sig, sizeof(sig), &n) == 0 && n == sizeof(sig) &&
	    (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1)
		ok = EVP_DigestVerify(ctx, sig, n, (const uint8_t *)text, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

int tuf_verify(const json_t *md, const json_t *keys, const json_t *keyids, long threshold,
               long *valid)
{
	const json_t *sigs = json_object_get(md, "signatures");
	char *text = NULL, kid[TUF_KEYID_BYTES];
	const char *used[TUF_MAX_KEYS];
	size_t len = 0, i, j, nused = 0;
	long good = 0;
	int rc, listed, seen;

	if (valid != NULL)
		*valid = 0;
	if (threshold < 1 || !json_is_array(sigs) || !json_is_array(keyids) ||
	    !json_is_object(keys))
		return TE_ERR_INVALID;
	if ((rc = tuf_signed_bytes(md, &text, &len)) != 0)
		return rc;
	for (i = 0; i < json_array_size(sigs) && i < TUF_MAX_SIGS; i++) {
		const json_t *s = json_array_get(sigs, i);
		const char *id = json_string_value(json_object_get(s, "keyid"));
		const json_t *key;

		if (id == NULL || nused >= TUF_MAX_KEYS)
			continue;
		listed = seen = 0;
		for (j = 0; j < json_array_size(keyids); j++)
			listed |= json_is_string(json_array_get(keyids, j)) &&
			          strcmp(json_string_value(json_array_get(keyids, j)), id) == 0;
		for (j = 0; j < nused; j++)
			seen |= strcmp(used[j], id) == 0;
		key = json_object_get(keys, id);
		/* The id must be the key's own: a key filed under another id
		 * would let one key count twice. */
		if (!listed || seen || key == NULL || tuf_keyid(key, kid) != 0 ||
		    strcmp(kid, id) != 0)
			continue;
		if (tuf_sig_ok(key, json_string_value(json_object_get(s, "sig")), text, len)) {
			used[nused++] = id;
			good++;
		}
	}
	free(text);
	if (valid != NULL)
		*valid = good;
	return good >= threshold ? 0 : TE_ERR_SIGNATURE;
}

int tuf_parse(const char *buf, size_t len, json_t **md)
{
	json_error_t jerr;
	json_t *j, *sigs, *s;
	size_t i;

	*md = NULL;
	if (len > TUF_MAX_META_BYTES)
		return TE_ERR_TOO_LONG;
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return TE_ERR_INVALID;
	sigs = json_object_get(j, "signatures");
	if (!json_is_object(j) || !json_is_object(json_object_get(j, "signed")) ||
	    !json_is_array(sigs) || json_array_size(sigs) > TUF_MAX_SIGS)
		goto bad;
	for (i = 0; i < json_array_size(sigs); i++) {
		s = json_array_get(sigs, i);
		if (!json_is_object(s) ||
		    !tuf_hex_ok(json_string_value(json_object_get(s, "keyid")), 64) ||
		    !json_is_string(json_object_get(s, "sig")) ||
		    json_string_length(json_object_get(s, "sig")) > 1024)
			goto bad;
	}
	*md = j;
	return 0;
bad:
	json_decref(j);
	return TE_ERR_INVALID;
}

int tuf_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	char back[TUF_TIME_BYTES];
	const char *end;
	time_t t;

	if (s == NULL || strlen(s) != TUF_TIME_BYTES - 1)
		return TE_ERR_INVALID;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0' || (t = timegm(&tm)) == (time_t)-1)
		return TE_ERR_INVALID;
	tuf_time_format((int64_t)t, back);
	if (strcmp(back, s) != 0)            /* no 31 June, no 25:00 */
		return TE_ERR_INVALID;
	*out = (int64_t)t;
	return 0;
}

void tuf_time_format(int64_t t, char out[TUF_TIME_BYTES])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TUF_TIME_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) != TUF_TIME_BYTES - 1)
		snprintf(out, TUF_TIME_BYTES, "1970-01-01T00:00:00Z");
}

int tuf_check_signed(const json_t *md, const char *type, int64_t *version, int64_t *expires)
{
	const json_t *s = json_object_get(md, "signed");
	const char *t = json_string_value(json_object_get(s, "_type"));
	const char *sv = json_string_value(json_object_get(s, "spec_version"));
	const json_t *v = json_object_get(s, "version");

	if (!json_is_object(s) || t == NULL || strcmp(t, type) != 0 || sv == NULL ||
	    strncmp(sv, "1.", 2) != 0 || !json_is_integer(v) || json_integer_value(v) < 1 ||
	    tuf_time_parse(json_string_value(json_object_get(s, "expires")), expires) != 0)
		return TE_ERR_INVALID;
	*version = (int64_t)json_integer_value(v);
	return 0;
}

int tuf_delegation_keys(const json_t *d, const json_t **keyids, long *threshold)
{
	const json_t *ids = json_object_get(d, "keyids");
	const json_t *th = json_object_get(d, "threshold");

	if (!json_is_array(ids) || json_array_size(ids) > TUF_MAX_KEYS || !json_is_integer(th) ||
	    json_integer_value(th) < 1 || json_integer_value(th) > TUF_MAX_KEYS)
		return TE_ERR_INVALID;
	*keyids = ids;
	*threshold = (long)json_integer_value(th);
	return 0;
}

int tuf_role_keys(const json_t *root_signed, const char *r, const json_t **keyids,
                  long *threshold)
{
	const json_t *role = json_object_get(json_object_get(root_signed, "roles"), r);

	return role != NULL ? tuf_delegation_keys(role, keyids, threshold) : TE_ERR_NOT_FOUND;
}

int tuf_path_match(const char *pattern, const char *target)
{
	const char *p = pattern, *t = target;
	char pp[256], tp[256];
	size_t pl, tl;

	if (pattern == NULL || target == NULL)
		return 0;
	for (;;) {
		pl = strcspn(p, "/");
		tl = strcspn(t, "/");
		if (pl >= sizeof(pp) || tl >= sizeof(tp))
			return 0;
		memcpy(pp, p, pl);
		pp[pl] = '\0';
		memcpy(tp, t, tl);
		tp[tl] = '\0';
		if (fnmatch(pp, tp, 0) != 0)
			return 0;
		if ((p[pl] == '/') != (t[tl] == '/'))
			return 0;             /* not the same number of parts */
		if (p[pl] == '\0')
			return 1;
		p += pl + 1;
		t += tl + 1;
	}
}

int tuf_target_name_ok(const char *n)
{
	const char *p = n;
	size_t l, i;

	if (n == NULL || n[0] == '\0' || strlen(n) >= TUF_MAX_NAME_BYTES)
		return 0;
	for (;;) {
		l = strcspn(p, "/");
		if (l == 0 || p[0] == '.' || p[0] == '-')
			return 0;
		for (i = 0; i < l; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			      (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-' || p[i] == '_'))
				return 0;
		if (p[l] == '\0')
			return 1;
		p += l + 1;
	}
}

int tuf_role_name_ok(const char *n)
{
	return tuf_target_name_ok(n) && strchr(n, '/') == NULL && strlen(n) < 64;
}

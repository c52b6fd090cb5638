/* tufonline.c: the snapshot and timestamp roles (tufonline.h). */
#include "tufonline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "ticket.h"

static int tufonline_when_ok(int64_t now, int64_t version, int64_t expires, int64_t max_s)
{
	return version >= 1 && expires > now && expires - now <= max_s;
}

/* Wrap signed into a document, sign it, and give its text. */
static int tufonline_finish(EVP_PKEY *key, json_t *signed_, char **doc, size_t *len)
{
	json_t *md = json_pack("{s:[], s:o}", "signatures", "signed", signed_);
	int rc;

	*doc = NULL;
	if (md == NULL)
		return TE_ERR_NOMEM;
	if ((rc = tuf_sign(md, key)) == 0) {
		*doc = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS);
		rc = *doc != NULL ? 0 : TE_ERR_NOMEM;
		*len = *doc != NULL ? strlen(*doc) : 0;
	}
	json_decref(md);
	return rc;
}

static json_t *tufonline_head(const char *type, int64_t version, int64_t expires)
{
	char t[TUF_TIME_BYTES];

	tuf_time_format(expires, t);
	return json_pack("{s:s, s:s, s:I, s:s, s:{}}", "_type", type, "spec_version",
	                 TUF_SPEC_VERSION, "version", (json_int_t)version, "expires", t, "meta");
}

int tufonline_snapshot(EVP_PKEY *key, int64_t now, int64_t version, int64_t expires,
                       const struct tufonline_role *roles, size_t n, char **doc, size_t *len)
{
	char file[MAX_NAME_BYTES + 8];
	json_t *s, *meta;
	int have_targets = 0;
	size_t i;

	*doc = NULL;
	if (!tufonline_when_ok(now, version, expires, TUFONLINE_SNAPSHOT_MAX_S) || n == 0 ||
	    n > TUFONLINE_MAX_ROLES)
		return TE_ERR_INVALID;
	if ((s = tufonline_head("snapshot", version, expires)) == NULL)
		return TE_ERR_NOMEM;
	meta = json_object_get(s, "meta");
	for (i = 0; i < n; i++) {
		if (!tuf_role_name_ok(roles[i].name) || roles[i].version < 1 ||
		    strcmp(roles[i].name, "root") == 0 || strcmp(roles[i].name, "snapshot") == 0 ||
		    strcmp(roles[i].name, "timestamp") == 0)
			goto bad;
		snprintf(file, sizeof(file), "%s.json", roles[i].name);
		if (json_object_get(meta, file) != NULL)
			goto bad;
		have_targets |= strcmp(roles[i].name, "targets") == 0;
		json_object_set_new(meta, file, json_pack("{s:I}", "version",
		                                          (json_int_t)roles[i].version));
	}
	if (!have_targets)
		goto bad;
	return tufonline_finish(key, s, doc, len);
bad:
	json_decref(s);
	return TE_ERR_INVALID;
}

int tufonline_timestamp(EVP_PKEY *key, int64_t now, int64_t version, int64_t expires,
                        int64_t snap_version, int64_t snap_len, const char *snap_sha256,
                        char **doc, size_t *len)
{
	json_t *s;
	size_t i;

	*doc = NULL;
	if (!tufonline_when_ok(now, version, expires, TUFONLINE_TIMESTAMP_MAX_S) ||
	    snap_version < 1 || snap_len < 1 || snap_sha256 == NULL || strlen(snap_sha256) != 64)
		return TE_ERR_INVALID;
	for (i = 0; i < 64; i++)
		if (!((snap_sha256[i] >= '0' && snap_sha256[i] <= '9') ||
		      (snap_sha256[i] >= 'a' && snap_sha256[i] <= 'f')))
			return TE_ERR_INVALID;
	if ((s = tufonline_head("timestamp", version, expires)) == NULL)
		return TE_ERR_NOMEM;
	json_object_set_new(json_object_get(s, "meta"), "snapshot.json",
	                    json_pack("{s:I, s:I, s:{s:s}}", "version", (json_int_t)snap_version,
	                              "length", (json_int_t)snap_len, "hashes", "sha256",
	                              snap_sha256));
	return tufonline_finish(key, s, doc, len);
}

int tufonline_keys_ensure(const char *dir, char *errbuf, size_t errsz)
{
	static const char *const pairs[2][2] = {
		{ TUFONLINE_SNAPSHOT_KEY, TUFONLINE_SNAPSHOT_PUB },
		{ TUFONLINE_TIMESTAMP_KEY, TUFONLINE_TIMESTAMP_PUB },
	};
	char d[PATH_MAX], priv[PATH_MAX + 64], pub[PATH_MAX + 64];
	int rc;

	for (const char *sub = "repo"; sub != NULL; sub = strcmp(sub, "repo") == 0 ? "repo/keys" : NULL) {
		snprintf(d, sizeof(d), "%s/%s", dir, sub);
		/* repo/ is served to everyone; repo/keys/ is the signer's alone */
		if (mkdir(d, strcmp(sub, "repo") == 0 ? 0755 : 0700) != 0 && errno != EEXIST) {
			snprintf(errbuf, errsz, "cannot create %s: %s", d, strerror(errno));
			return TE_ERR_SYS;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(priv, sizeof(priv), "%s/%s", dir, pairs[i][0]);
		snprintf(pub, sizeof(pub), "%s/%s", dir, pairs[i][1]);
		if (access(priv, F_OK) == 0)
			continue;
		if ((rc = ticket_key_generate(priv, pub)) != 0) {
			snprintf(errbuf, errsz, "cannot create %s: %s", priv, te_strerror(rc));
			return rc;
		}
	}
	return 0;
}

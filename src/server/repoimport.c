/* repoimport.c: checking and adding a release manager's publication
 * (repoimport.h). */
#include "repoimport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bounds.h"
#include "cjson.h"
#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "tuf.h"
#include "tufonline.h"

struct repoimport {
	const struct repoimport_dirs *d;
	char *msg;
	size_t msgsz, msglen;
	json_t *root;                    /* the newest trusted root */
	uid_t uid;                       /* new folders under targets get its owner */
	gid_t gid;
	int64_t now;
};

static int repoimport_say(struct repoimport *x, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a line to the message; rc passes through. */
static int repoimport_say(struct repoimport *x, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->msglen + 2 >= x->msgsz)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(x->msg + x->msglen, x->msgsz - x->msglen - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		x->msglen += (size_t)n < x->msgsz - x->msglen - 1 ? (size_t)n : x->msgsz - x->msglen - 2;
	x->msg[x->msglen++] = '\n';
	x->msg[x->msglen] = '\0';
	return rc;
}

static int repoimport_load(int dirfd, const char *name, json_t **md)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*md = NULL;
	if ((rc = file_read_all_at(dirfd, name, TUF_MAX_META_BYTES, &text, &len)) != 0)
		return rc;
	rc = tuf_parse(text, len, md);
	free(text);
	return rc;
}

static int repoimport_save(struct repoimport *x, long long version, const char *name,
                           const json_t *md)
{
	char p[MAX_NAME_BYTES + 64], *text = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	snprintf(p, sizeof(p), "%lld.%s.json", version, name);
	rc = file_replace_at(x->d->metafd, p, text, strlen(text), 0644);
	free(text);
	return rc;
}

long long repoimport_newest_at(int dirfd, const char *name)
{
	size_t nl = strlen(name);
	long long best = 0, v;
	struct dirent *de;
	char *end;
	int fd = dup(dirfd);
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);                    /* a dup shares its offset with dirfd */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		v = strtoll(de->d_name, &end, 10);
		if (*end == '.' && strncmp(end + 1, name, nl) == 0 && strcmp(end + 1 + nl, ".json") == 0 &&
		    v > best)
			best = v;
	}
	closedir(d);
	return best;
}

static int repoimport_pub(const char *path, json_t **key)
{
	char id[TUF_KEYID_BYTES];
	EVP_PKEY *pk = NULL;
	FILE *f = fopen(path, "r");
	int rc;

	*key = NULL;
	if (f == NULL)
		return TE_ERR_NOT_FOUND;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL)
		return TE_ERR_INVALID;
	rc = tuf_key_json(pk, key, id);
	EVP_PKEY_free(pk);
	return rc;
}

int repoimport_online_keys(const char *dir, json_t **snapshot, json_t **timestamp)
{
	char p[PATH_MAX + 64];
	int rc;

	*snapshot = *timestamp = NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, TUFONLINE_SNAPSHOT_PUB);
	if ((rc = repoimport_pub(p, snapshot)) != 0)
		return rc;
	snprintf(p, sizeof(p), "%s/%s", dir, TUFONLINE_TIMESTAMP_PUB);
	if ((rc = repoimport_pub(p, timestamp)) != 0) {
		json_decref(*snapshot);
		*snapshot = NULL;
	}
	return rc;
}

/* The root names exactly this server's online key for snapshot and for
 * timestamp, threshold 1: else the server could never sign them. */
static int repoimport_root_online(struct repoimport *x, const json_t *rs, long long v)
{
	static const char *const roles[2] = { "snapshot", "timestamp" };
	char id[TUF_KEYID_BYTES];
	const json_t *ids;
	long th;

	for (int i = 0; i < 2; i++) {
		if (tuf_role_keys(rs, roles[i], &ids, &th) != 0 || tuf_keyid(x->d->online[i], id) != 0 ||
		    json_array_size(ids) != 1 || th != 1 ||
		    strcmp(json_string_value(json_array_get(ids, 0)), id) != 0)
			return repoimport_say(x, TE_ERR_MISMATCH, "root version %lld: its %s role "
			                      "must be this server's online key alone (%s; tether-server "
			                      "repo keys), threshold 1", v, roles[i], id);
	}
	return 0;
}

/* New root versions, in order from the one served (or from 1). */
static int repoimport_roots(struct repoimport *x, int *added)
{
	char p[64];
	long long v = repoimport_newest_at(x->d->metafd, "root");
	const json_t *ids;
	int64_t ver, exp;
	json_t *md;
	long th;
	int rc;

	if (v > 0) {
		snprintf(p, sizeof(p), "%lld.root.json", v);
		if ((rc = repoimport_load(x->d->metafd, p, &x->root)) != 0)
			return repoimport_say(x, rc, "the served root %s cannot be read", p);
	}
	for (;; v++) {
		snprintf(p, sizeof(p), "metadata/%lld.root.json", v + 1);
		if ((rc = repoimport_load(x->d->srcfd, p, &md)) == TE_ERR_NOT_FOUND)
			break;
		if (rc != 0)
			return repoimport_say(x, rc, "%s: not a TUF document", p);
		if (tuf_check_signed(md, "root", &ver, &exp) != 0 || ver != v + 1)
			rc = repoimport_say(x, TE_ERR_INVALID, "%s: not root version %lld", p, v + 1);
		else if (exp <= x->now)
			rc = repoimport_say(x, TE_ERR_EXPIRED, "root version %lld has expired", v + 1);
		else if (tuf_role_keys(json_object_get(md, "signed"), "root", &ids, &th) != 0 ||
		         tuf_verify(md, json_object_get(json_object_get(md, "signed"), "keys"), ids,
		                    th, NULL) != 0)
			rc = repoimport_say(x, TE_ERR_SIGNATURE, "root version %lld is not signed by "
			                    "its own root keys' threshold", v + 1);
		else if (x->root != NULL &&
		         (tuf_role_keys(json_object_get(x->root, "signed"), "root", &ids, &th) != 0 ||
		          tuf_verify(md, json_object_get(json_object_get(x->root, "signed"), "keys"),
		                     ids, th, NULL) != 0))
			rc = repoimport_say(x, TE_ERR_SIGNATURE, "root version %lld is not signed by "
			                    "the threshold of root version %lld's keys", v + 1, v);
		else if ((rc = repoimport_root_online(x, json_object_get(md, "signed"), v + 1)) == 0 &&
		         (rc = repoimport_save(x, v + 1, "root", md)) != 0)
			repoimport_say(x, rc, "cannot write root version %lld", v + 1);
		if (rc != 0) {
			json_decref(md);
			return rc;
		}
		json_decref(x->root);
		x->root = md;
		(*added)++;
		repoimport_say(x, 0, "root version %lld", v + 1);
	}
	if (x->root == NULL)
		return repoimport_say(x, TE_ERR_NOT_FOUND, "metadata/1.root.json is missing: a "
		                      "repository starts with root version 1 (tether repo init)");
	return 0;
}

/* The kept file name (under targets) still has the SHA-256 its name says. */
static int repoimport_kept_ok(int dirfd, const char *name, const char *sha)
{
	int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char got[65] = "";
	int64_t len = 0;
	int ok = in >= 0 && file_copy_sha256(in, -1, INT64_MAX, &len, got) == 0 &&
	         strcmp(got, sha) == 0;

	if (in >= 0)
		close(in);
	return ok;
}

/* The folders of to (a name under targets), made when missing and given
 * to the owner of targets (a root-run import must not leave a folder the
 * server, once dropped, cannot add to). */
static int repoimport_parents(struct repoimport *x, char *to)
{
	char *slash;
	int rc = 0;

	for (slash = to; rc == 0 && (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		if (mkdirat(x->d->targetsfd, to, 0755) == 0) {
			if (geteuid() == 0 && x->uid != 0 &&
			    fchownat(x->d->targetsfd, to, x->uid, x->gid, AT_SYMLINK_NOFOLLOW) != 0)
				rc = repoimport_say(x, TE_ERR_IO, "cannot give targets/%s to the server's "
				                    "user: %s", to, strerror(errno));
		} else if (errno != EEXIST) {
			rc = repoimport_say(x, TE_ERR_IO, "cannot create targets/%s: %s", to,
			                    strerror(errno));
		}
		*slash = '/';
	}
	return rc;
}

/* Put the publication's targets/NAME in targets as PARENT/SHA256.BASE,
 * checking its length and SHA-256 on the way: copied from a release
 * manager's folder, or, when the publication is the server's own upload
 * (take_targets), read once and renamed in. */
static int repoimport_target(struct repoimport *x, const char *name, const json_t *t)
{
	char from[TUF_MAX_TARGET_BYTES + 16], to[TUF_MAX_TARGET_BYTES + 80],
	     tmp[TUF_MAX_TARGET_BYTES + 88], got[65];
	const char *sha = json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256"));
	const json_t *lj = json_object_get(t, "length");
	const char *base = strrchr(name, '/');
	int take = x->d->take_targets;
	int64_t total = 0;
	struct stat st;
	int in, out = -1, rc;

	if (!tuf_target_name_ok(name) || strlen(name) > TUF_MAX_TARGET_BYTES || sha == NULL ||
	    !hex_sha256_ok(sha) ||
	    !json_is_integer(lj) || json_integer_value(lj) < 0)
		return repoimport_say(x, TE_ERR_INVALID, "target %.200s: a path of [A-Za-z0-9._-] "
		                      "parts with a length and a sha256 is needed", name);
	snprintf(from, sizeof(from), "targets/%s", name);
	snprintf(to, sizeof(to), "%.*s%s%s.%s", base != NULL ? (int)(base - name) : 0, name,
	         base != NULL ? "/" : "", sha, base != NULL ? base + 1 : name);
	if (fstatat(x->d->targetsfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == json_integer_value(lj) && repoimport_kept_ok(x->d->targetsfd, to, sha))
		return 0;                 /* kept already (content-addressed), and intact */
	if ((rc = repoimport_parents(x, to)) != 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	if ((in = openat(x->d->srcfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return repoimport_say(x, TE_ERR_NOT_FOUND, "target %s: %s is missing", name,
		                      take ? "its upload" : from);
	if (!take && (out = openat(x->d->targetsfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	                           O_CLOEXEC, 0644)) < 0) {
		close(in);
		return repoimport_say(x, TE_ERR_IO, "target %s: cannot write targets/%s: %s", name,
		                      tmp, strerror(errno));
	}
	rc = file_copy_sha256(in, out, (int64_t)json_integer_value(lj), &total, got);
	if (rc == TE_ERR_TOO_LONG)
		repoimport_say(x, TE_ERR_MISMATCH, "target %s: longer than its declared length %lld",
		               name, (long long)json_integer_value(lj));
	else if (rc != 0)
		repoimport_say(x, rc, "target %s: cannot read it: %s", name, strerror(errno));
	else if (total != json_integer_value(lj) || strcmp(got, sha) != 0)
		rc = repoimport_say(x, TE_ERR_MISMATCH, "target %s: its bytes do not match the "
		                    "length and SHA-256 its role signed", name);
	else if (take ? (fchmod(in, 0644) != 0 || fsync(in) != 0 ||
	                 renameat(x->d->srcfd, from, x->d->targetsfd, to) != 0)
	              : (fsync(out) != 0 || renameat(x->d->targetsfd, tmp, x->d->targetsfd, to) != 0))
		rc = repoimport_say(x, TE_ERR_IO, "target %s: cannot keep it: %s", name,
		                    strerror(errno));
	close(in);
	if (out >= 0)
		close(out);
	if (rc != 0 && !take)
		unlinkat(x->d->targetsfd, tmp, 0);
	return rc == TE_ERR_TOO_LONG ? TE_ERR_MISMATCH : rc;
}

/* One role (targets or a delegated one) from src, checked against keys and
 * the paths it may sign (NULL: any), then its files, then its document.
 * *changed when a new version was added. */
static int repoimport_role(struct repoimport *x, const char *name, const json_t *keys,
                           const json_t *ids, long th, const json_t *paths, int *changed)
{
	char p[MAX_NAME_BYTES + 64], *a = NULL, *b = NULL;
	long long served = repoimport_newest_at(x->d->metafd, name);
	json_t *md = NULL, *old = NULL, *pat;
	const json_t *targets;
	const char *tn;
	json_t *t;
	int64_t ver, exp;
	size_t la, lb, i;
	int rc, inside;

	*changed = 0;
	snprintf(p, sizeof(p), "metadata/%s.json", name);
	if ((rc = repoimport_load(x->d->srcfd, p, &md)) != 0) {
		if (rc == TE_ERR_NOT_FOUND && served > 0)
			return 0;             /* nothing new for it */
		return repoimport_say(x, rc, "role %s: %s is missing or not a TUF document", name, p);
	}
	targets = json_object_get(json_object_get(md, "signed"), "targets");
	if (tuf_check_signed(md, "targets", &ver, &exp) != 0 || !json_is_object(targets) ||
	    json_object_size(targets) > REPO_MAX_TARGETS) {
		rc = repoimport_say(x, TE_ERR_INVALID, "role %s: not a targets document", name);
		goto out;
	}
	if (exp <= x->now) {
		rc = repoimport_say(x, TE_ERR_EXPIRED, "role %s version %lld has expired", name,
		                    (long long)ver);
		goto out;
	}
	if (paths != NULL && json_array_size(json_object_get(json_object_get(json_object_get(md,
	    "signed"), "delegations"), "roles")) > 0) {
		rc = repoimport_say(x, TE_ERR_INVALID, "role %s delegates further; only targets may "
		                    "delegate (to product families)", name);
		goto out;
	}
	if (tuf_verify(md, keys, ids, th, NULL) != 0) {
		rc = repoimport_say(x, TE_ERR_SIGNATURE, "role %s version %lld is not signed by "
		                    "its threshold (%ld) of the keys the %s names", name,
		                    (long long)ver, th, paths == NULL ? "root" : "delegation");
		goto out;
	}
	if (ver < served) {
		rc = repoimport_say(x, TE_ERR_REPLAY, "role %s version %lld is older than the %lld "
		                    "served: a rollback is refused", name, (long long)ver, served);
		goto out;
	}
	if (ver == served) {
		snprintf(p, sizeof(p), "%lld.%s.json", served, name);
		rc = repoimport_load(x->d->metafd, p, &old);
		if (rc == 0)
			rc = cjson_encode(json_object_get(old, "signed"), TUF_MAX_META_BYTES, &a, &la);
		if (rc == 0)
			rc = cjson_encode(json_object_get(md, "signed"), TUF_MAX_META_BYTES, &b, &lb);
		if (rc == 0 && (la != lb || memcmp(a, b, la) != 0))
			rc = repoimport_say(x, TE_ERR_EXISTS, "role %s version %lld is served already "
			                    "with other contents: make its next version", name,
			                    (long long)ver);
		/* The same role: its kept files are checked again (and put back
		 * from the publication when one no longer matches). */
		json_object_foreach((json_t *)targets, tn, t)
			if (rc == 0)
				rc = repoimport_target(x, tn, t);
		goto out;
	}
	json_object_foreach((json_t *)targets, tn, t) {
		inside = paths == NULL;
		json_array_foreach(paths, i, pat)
			inside |= tuf_path_match(json_string_value(pat), tn);
		if (!inside) {
			rc = repoimport_say(x, TE_ERR_DENIED, "role %s lists %.200s, outside the paths "
			                    "its delegation allows", name, tn);
			goto out;
		}
		if ((rc = repoimport_target(x, tn, t)) != 0)
			goto out;
	}
	if ((rc = repoimport_save(x, ver, name, md)) != 0) {
		repoimport_say(x, rc, "cannot write role %s", name);
		goto out;
	}
	*changed = 1;
	repoimport_say(x, 0, "%s version %lld, %zu target(s)", name, (long long)ver,
	               json_object_size(targets));
out:
	free(a);
	free(b);
	json_decref(old);
	json_decref(md);
	return rc;
}

/* targets.json and its delegated roles: the delegated ones first, so that
 * the targets version naming them is written last. */
static int repoimport_targets(struct repoimport *x, int *added)
{
	const json_t *rs = json_object_get(x->root, "signed"), *ids, *d, *dids;
	const char *p = "metadata/targets.json";
	json_t *tg = NULL;
	const json_t *dl, *roles;
	size_t i;
	long th, dth;
	int rc, changed;

	if ((rc = repoimport_load(x->d->srcfd, p, &tg)) != 0)
		return repoimport_say(x, rc, "%s is missing or not a TUF document", p);
	if (tuf_role_keys(rs, "targets", &ids, &th) != 0 ||
	    tuf_verify(tg, json_object_get(rs, "keys"), ids, th, NULL) != 0) {
		json_decref(tg);
		return repoimport_say(x, TE_ERR_SIGNATURE, "targets is not signed by the threshold "
		                      "of the targets keys the root names");
	}
	dl = json_object_get(json_object_get(tg, "signed"), "delegations");
	roles = json_object_get(dl, "roles");
	if (json_array_size(roles) > TUF_MAX_DELEGATIONS) {
		json_decref(tg);
		return repoimport_say(x, TE_ERR_TOO_LONG, "targets delegates to more than %d roles",
		                      TUF_MAX_DELEGATIONS);
	}
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));

		dids = NULL;
		if (name == NULL || !tuf_role_name_ok(name) ||
		    strcmp(name, "root") == 0 || strcmp(name, "targets") == 0 ||
		    strcmp(name, "snapshot") == 0 || strcmp(name, "timestamp") == 0 ||
		    strlen(name) >= MAX_NAME_BYTES || tuf_delegation_keys(d, &dids, &dth) != 0 ||
		    !json_is_array(json_object_get(d, "paths")) ||
		    json_array_size(json_object_get(d, "paths")) > TUF_MAX_PATHS) {
			json_decref(tg);
			return repoimport_say(x, TE_ERR_INVALID, "a delegation of targets is malformed "
			                      "(name, keyids, threshold, paths)");
		}
		if ((rc = repoimport_role(x, name, json_object_get(dl, "keys"), dids, dth,
		                          json_object_get(d, "paths"), &changed)) != 0) {
			json_decref(tg);
			return rc;
		}
		*added += changed;
	}
	json_decref(tg);
	rc = repoimport_role(x, "targets", json_object_get(rs, "keys"), ids, th, NULL, &changed);
	*added += changed;
	return rc;
}

int repoimport_run_at(const struct repoimport_dirs *d, char *msg, size_t msgsz)
{
	struct repoimport x;
	struct stat st;
	char stamp[32];
	int rc, added = 0;

	memset(&x, 0, sizeof(x));
	x.d = d;
	x.msg = msg;
	x.msgsz = msgsz;
	x.now = (int64_t)time(NULL);
	if (msgsz > 0)
		msg[0] = '\0';
	if (fstat(d->targetsfd, &st) != 0)
		return repoimport_say(&x, TE_ERR_IO, "cannot read the targets folder: %s",
		                      strerror(errno));
	x.uid = st.st_uid;
	x.gid = st.st_gid;
	if ((rc = repoimport_roots(&x, &added)) == 0 &&
	    (rc = repoimport_targets(&x, &added)) == 0 && added > 0) {
		snprintf(stamp, sizeof(stamp), "%lld\n", (long long)x.now);
		if (file_replace_at(d->metafd, REPO_MARKER, stamp, strlen(stamp), 0644) != 0)
			rc = repoimport_say(&x, TE_ERR_IO, "cannot touch metadata/%s", REPO_MARKER);
	}
	if (rc == 0 && added == 0)
		repoimport_say(&x, 0, "nothing new: every role is served at this version already");
	json_decref(x.root);
	return rc;
}

int repoimport_run(const char *dir, const char *src, char *msg, size_t msgsz)
{
	struct repoimport_dirs d = { .metafd = -1, .targetsfd = -1, .srcfd = -1 };
	json_t *online[2] = { NULL, NULL };
	char p[PATH_MAX + 64];
	int rc;

	if (msgsz > 0)
		msg[0] = '\0';
	snprintf(p, sizeof(p), "%s/repo/metadata", dir);
	(void)mkdir(p, 0755);
	d.metafd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/repo/targets", dir);
	(void)mkdir(p, 0755);
	d.targetsfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d.srcfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.metafd < 0 || d.targetsfd < 0) {
		snprintf(msg, msgsz, "cannot open %s/repo/metadata and targets: %s\n", dir,
		         strerror(errno));
		rc = TE_ERR_IO;
	} else if (d.srcfd < 0) {
		snprintf(msg, msgsz, "cannot open the folder %s: %s\n", src, strerror(errno));
		rc = TE_ERR_NOT_FOUND;
	} else if ((rc = repoimport_online_keys(dir, &online[0], &online[1])) != 0) {
		snprintf(msg, msgsz, "the server's online keys (%s/repo/keys) cannot be read: "
		         "start the server once, or tether-server init\n", dir);
	} else {
		d.online[0] = online[0];
		d.online[1] = online[1];
		rc = repoimport_run_at(&d, msg, msgsz);
	}
	json_decref(online[0]);
	json_decref(online[1]);
	if (d.metafd >= 0)
		close(d.metafd);
	if (d.targetsfd >= 0)
		close(d.targetsfd);
	if (d.srcfd >= 0)
		close(d.srcfd);
	return rc;
}

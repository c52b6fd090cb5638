/* admin_repo.c: `tether-server repo publish|keys` (issue 10; docs/updates.md):
 * on the server's host, the administrator adds what a release manager
 * published in a `tether repo` folder (checked by repoimport.h; the running
 * server then signs a new snapshot and timestamp within a second), and
 * hands the release managers the online keys' public halves. */
#include "admin.h"
#include "admin_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle.h"
#include "err.h"
#include "filerepl.h"
#include "jbody.h"
#include "repoimport.h"
#include "store.h"
#include "tuf.h"
#include "tufonline.h"

int admin_repo_publish(const char *dir, const char *src)
{
	char msg[4096], *detail;
	struct srvconf cfg;
	struct store *st = NULL;
	int rc;

	if (admin_open(dir, &cfg, &st) != 0)
		return 1;
	rc = repoimport_run(dir, src, msg, sizeof(msg));
	fprintf(rc == 0 ? stdout : stderr, "%s%s", rc == 0 ? "" : "tether-server: repo publish: "
	        "refused: ", msg);
	detail = jbody_dump(json_pack("{s:s, s:s, s:s}", "source", src, "result",
	                              rc == 0 ? "published" : "refused", "detail", msg));
	if (store_audit_append(st, ADMIN_ACTOR, rc == 0 ? "repo_published" : "repo_refused",
	                       detail != NULL ? detail : "{}") != 0)
		admin_err("warning: could not write the audit record");
	free(detail);
	store_close(st);
	if (rc == 0)
		fprintf(stderr, "tether-server: the running server signs a new snapshot and "
		        "timestamp within a second; clients see the release then\n");
	return rc == 0 ? 0 : 1;
}

/* Retire role's online key pair (kept beside as .retired-EPOCH) so that
 * tufonline_keys_ensure makes a new one. */
static int admin_repo_retire(const char *dir, const char *role)
{
	const char *priv = strcmp(role, "timestamp") == 0 ? TUFONLINE_TIMESTAMP_KEY :
	                   TUFONLINE_SNAPSHOT_KEY;
	const char *pub = strcmp(role, "timestamp") == 0 ? TUFONLINE_TIMESTAMP_PUB :
	                  TUFONLINE_SNAPSHOT_PUB;
	char from[PATH_MAX], to[PATH_MAX + 32], *detail;
	struct srvconf cfg;
	struct store *st = NULL;
	long long now = (long long)time(NULL);

	if (admin_open(dir, &cfg, &st) != 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/%s", dir, i == 0 ? priv : pub);
		snprintf(to, sizeof(to), "%s.retired-%lld", from, now);
		if (rename(from, to) != 0 && errno != ENOENT) {
			admin_err("repo keys: cannot retire %s: %s", from, strerror(errno));
			store_close(st);
			return 1;
		}
	}
	detail = jbody_dump(json_pack("{s:s, s:I}", "role", role, "retired_at", (json_int_t)now));
	if (store_audit_append(st, ADMIN_ACTOR, "repo_key_rotated", detail != NULL ? detail : "{}")
	    != 0)
		admin_err("warning: could not write the audit record");
	free(detail);
	store_close(st);
	fprintf(stderr, "tether-server: the %s key is retired (kept as .retired-%lld); a new one "
	        "is made now. Start the server again to sign with it, and have the release "
	        "managers publish a new root naming it (tether repo root)\n", role, now);
	return 0;
}

int admin_repo_keys(const char *dir, const char *rotate)
{
	char err[PATH_MAX + 128];
	json_t *snap = NULL, *ts = NULL;

	if (rotate != NULL) {
		if (strcmp(rotate, "timestamp") != 0 && strcmp(rotate, "snapshot") != 0) {
			admin_err("repo keys: --rotate takes snapshot or timestamp (the root, targets and "
			          "families' keys are the release managers', offline)");
			return 2;
		}
		if (admin_repo_retire(dir, rotate) != 0)
			return 1;
	}
	if (tufonline_keys_ensure(dir, err, sizeof(err)) != 0) {
		admin_err("repo keys: %s", err);
		return 1;
	}
	if (repoimport_online_keys(dir, &snap, &ts) != 0) {
		admin_err("repo keys: cannot read %s/repo/keys", dir);
		return 1;
	}
	printf("%s/%s\n%s/%s\n", dir, TUFONLINE_SNAPSHOT_PUB, dir, TUFONLINE_TIMESTAMP_PUB);
	fprintf(stderr, "tether-server: give these two public keys to the release managers: "
	        "tether repo init DIR ... --snapshot-key %s/%s --timestamp-key %s/%s\n", dir,
	        TUFONLINE_SNAPSHOT_PUB, dir, TUFONLINE_TIMESTAMP_PUB);
	json_decref(snap);
	json_decref(ts);
	return 0;
}

/* ---- repo bundle ------------------------------------------------------------------ */

struct bundle_out {
	FILE *f;
	int mfd;                 /* DIR/repo/metadata */
	int64_t now;
	json_t *names;           /* what went in */
};

static int bundle_put(struct bundle_out *b, const char *name, int fd, uint64_t size)
{
	uint8_t blk[BUNDLE_BLOCK], buf[65536];
	uint64_t left = size;
	ssize_t n;

	if (bundle_header(blk, name, size, b->now) != 0 || fwrite(blk, 1, sizeof(blk), b->f) != sizeof(blk))
		return TE_ERR_IO;
	while (left > 0) {
		if ((n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf))) <= 0)
			return TE_ERR_IO;
		if (fwrite(buf, 1, (size_t)n, b->f) != (size_t)n)
			return TE_ERR_IO;
		left -= (uint64_t)n;
	}
	memset(blk, 0, sizeof(blk));
	if (size % BUNDLE_BLOCK != 0 &&
	    fwrite(blk, 1, BUNDLE_BLOCK - size % BUNDLE_BLOCK, b->f) != BUNDLE_BLOCK - size % BUNDLE_BLOCK)
		return TE_ERR_IO;
	json_array_append_new(b->names, json_string(name));
	return 0;
}

/* One served metadata file into the bundle. */
static int bundle_meta(struct bundle_out *b, const char *file)
{
	char name[BUNDLE_NAME_BYTES];
	struct stat st;
	int fd, rc;

	if ((fd = openat(b->mfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return TE_ERR_NOT_FOUND;
	snprintf(name, sizeof(name), "metadata/%s", file);
	rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	     bundle_put(b, name, fd, (uint64_t)st.st_size) : TE_ERR_IO;
	close(fd);
	return rc;
}

/* The served document file, parsed. */
static json_t *bundle_doc(int mfd, const char *file)
{
	char *text = NULL;
	size_t len;
	json_t *md = NULL;

	if (file_read_all_at(mfd, file, TUF_MAX_META_BYTES, &text, &len) == 0)
		(void)tuf_parse(text, len, &md);
	free(text);
	return md;
}

int admin_repo_bundle(const char *dir, const char *target, const char *out)
{
	char p[PATH_MAX], file[96], tpath[PATH_MAX], msg[PATH_MAX + 256] = "", *detail;
	struct bundle_out b = { NULL, -1, (int64_t)time(NULL), json_array() };
	const json_t *snapmeta, *info = NULL, *v;
	json_t *ts = NULL, *snap = NULL, *md;
	struct srvconf cfg;
	struct store *st = NULL;
	const char *k, *hash, *slash;
	struct stat sb;
	int64_t n, roots;
	int rc = 1, tfd = -1;

	if (!tuf_target_name_ok(target)) {
		admin_err("repo bundle: %s is not a target name", target);
		json_decref(b.names);
		return 2;
	}
	if (admin_open(dir, &cfg, &st) != 0) {
		json_decref(b.names);
		return 1;
	}
	snprintf(p, sizeof(p), "%s/repo/metadata", dir);
	if ((b.mfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (ts = bundle_doc(b.mfd, "timestamp.json")) == NULL) {
		snprintf(msg, sizeof(msg), "nothing is served yet (no %s/timestamp.json): publish "
		         "a release first", p);
		goto out;
	}
	n = (int64_t)json_integer_value(json_object_get(json_object_get(json_object_get(
	    json_object_get(ts, "signed"), "meta"), "snapshot.json"), "version"));
	snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)n);
	if (n <= 0 || (snap = bundle_doc(b.mfd, file)) == NULL) {
		snprintf(msg, sizeof(msg), "the served timestamp names snapshot %lld, which is not "
		         "there", (long long)n);
		goto out;
	}
	/* The target's entry, from the roles the snapshot names. */
	snapmeta = json_object_get(json_object_get(snap, "signed"), "meta");
	json_object_foreach((json_t *)snapmeta, k, v) {
		snprintf(file, sizeof(file), "%lld.%s", (long long)json_integer_value(
		         json_object_get(v, "version")), k);
		if ((md = bundle_doc(b.mfd, file)) == NULL)
			continue;
		if (info == NULL && (info = json_object_get(json_object_get(json_object_get(md,
		    "signed"), "targets"), target)) != NULL)
			info = json_deep_copy(info);
		json_decref(md);
	}
	hash = json_string_value(json_object_get(json_object_get(info, "hashes"), "sha256"));
	if (info == NULL || hash == NULL || strlen(hash) != 64) {
		snprintf(msg, sizeof(msg), "the served repository lists no release %s", target);
		goto out;
	}
	slash = strrchr(target, '/');
	snprintf(tpath, sizeof(tpath), "%s/repo/targets/%.*s%s%s.%s", dir,
	         slash ? (int)(slash - target) : 0, target, slash ? "/" : "", hash,
	         slash ? slash + 1 : target);
	if ((tfd = open(tpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(tfd, &sb) != 0 ||
	    !S_ISREG(sb.st_mode)) {
		snprintf(msg, sizeof(msg), "the release's file is not served (%s)", tpath);
		goto out;
	}
	if ((b.f = fopen(out, "wx")) == NULL) {
		snprintf(msg, sizeof(msg), "cannot create %s: %s", out, strerror(errno));
		goto out;
	}
	/* Every root from 1, so a device that trusts any of them can follow. */
	roots = repoimport_newest_at(b.mfd, "root");
	for (n = 1; n <= roots; n++) {
		snprintf(file, sizeof(file), "%lld.root.json", (long long)n);
		if (bundle_meta(&b, file) != 0)
			goto write_failed;
	}
	if (bundle_meta(&b, "timestamp.json") != 0)
		goto write_failed;
	snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)json_integer_value(
	         json_object_get(json_object_get(json_object_get(json_object_get(ts, "signed"),
	         "meta"), "snapshot.json"), "version")));
	if (bundle_meta(&b, file) != 0)
		goto write_failed;
	json_object_foreach((json_t *)snapmeta, k, v) {
		snprintf(file, sizeof(file), "%lld.%s", (long long)json_integer_value(
		         json_object_get(v, "version")), k);
		if (bundle_meta(&b, file) != 0)
			goto write_failed;
	}
	snprintf(p, sizeof(p), "targets/%.*s%s%s.%s", slash ? (int)(slash - target) : 0, target,
	         slash ? "/" : "", hash, slash ? slash + 1 : target);
	if (bundle_put(&b, p, tfd, (uint64_t)sb.st_size) != 0)
		goto write_failed;
	{
		uint8_t zero[2 * BUNDLE_BLOCK] = { 0 };

		if (fwrite(zero, 1, sizeof(zero), b.f) != sizeof(zero) || fflush(b.f) != 0 ||
		    fsync(fileno(b.f)) != 0)
			goto write_failed;
	}
	fclose(b.f);
	b.f = NULL;
	printf("%s: %s (%lld bytes, sha256 %s) with the metadata to check it (%zu files); the "
	       "timestamp in it expires at %s\n", out, target, (long long)sb.st_size, hash,
	       json_array_size(b.names), json_string_value(json_object_get(json_object_get(ts,
	       "signed"), "expires")));
	rc = 0;
	goto out;
write_failed:
	snprintf(msg, sizeof(msg), "cannot write %s: %s", out, strerror(errno));
	fclose(b.f);
	b.f = NULL;
	(void)unlink(out);
out:
	if (rc != 0)
		admin_err("repo bundle: %s", msg);
	else if ((detail = jbody_dump(json_pack("{s:s, s:s, s:O}", "target", target, "file", out,
	                                        "contents", b.names))) != NULL) {
		if (store_audit_append(st, ADMIN_ACTOR, "repo_bundled", detail) != 0)
			admin_err("warning: could not write the audit record");
		free(detail);
	}
	if (tfd >= 0)
		close(tfd);
	if (b.mfd >= 0)
		close(b.mfd);
	json_decref((json_t *)info);
	json_decref(ts);
	json_decref(snap);
	json_decref(b.names);
	store_close(st);
	return rc;
}

/* repo.c: serving the software repository and keeping its online roles
 * fresh (repo.h). */
#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "httpresp.h"
#include "log.h"
#include "repoimport.h"
#include "server.h"
#include "signer.h"
#include "tuf.h"
#include "tufonline.h"

struct repo_online {
	int metafd, targetsfd;           /* DIR/repo/metadata and targets, opened as root */
	int loaded;
	struct timespec marker;          /* .published's mtime when last signed */
	int64_t snap_version, snap_expires;
	int64_t ts_version, ts_expires;
	struct tufonline_role roles[TUFONLINE_MAX_ROLES];  /* what the snapshot names */
	size_t nroles;
	int64_t failed_at;               /* the last attempt failed then: wait a minute */
};

#define REPO_RETRY_S 60

/* The served timestamp and the snapshot it names, read back at the start:
 * versions only ever go up, even across restarts. */
static void repo_load_state(struct repo_online *o)
{
	char p[64], *text = NULL;
	json_t *md = NULL;
	const json_t *meta;
	const char *k;
	json_t *v;
	size_t len;
	int64_t ver, exp;

	o->snap_version = repoimport_newest_at(o->metafd, "snapshot");
	o->ts_version = o->snap_version;        /* each snapshot came with a timestamp */
	if (file_read_all_at(o->metafd, "timestamp.json", TUF_MAX_META_BYTES, &text, &len) == 0 &&
	    tuf_parse(text, len, &md) == 0 && tuf_check_signed(md, "timestamp", &ver, &exp) == 0) {
		if (ver > o->ts_version)
			o->ts_version = ver;
		o->ts_expires = exp;
	}
	free(text);
	json_decref(md);
	md = NULL;
	text = NULL;
	snprintf(p, sizeof(p), "%lld.snapshot.json", (long long)o->snap_version);
	if (o->snap_version > 0 && file_read_all_at(o->metafd, p, TUF_MAX_META_BYTES, &text, &len) == 0 &&
	    tuf_parse(text, len, &md) == 0 && tuf_check_signed(md, "snapshot", &ver, &exp) == 0) {
		o->snap_expires = exp;
		meta = json_object_get(json_object_get(md, "signed"), "meta");
		json_object_foreach((json_t *)meta, k, v) {
			if (o->nroles >= TUFONLINE_MAX_ROLES || strlen(k) < 6 ||
			    strlen(k) - 5 >= MAX_NAME_BYTES)
				continue;
			snprintf(o->roles[o->nroles].name, MAX_NAME_BYTES, "%.*s", (int)(strlen(k) - 5), k);
			o->roles[o->nroles++].version = json_integer_value(json_object_get(v, "version"));
		}
	}
	free(text);
	json_decref(md);
	o->loaded = 1;
}

/* What the snapshot must name now: the newest targets and each role it
 * delegates to, at their newest served versions. */
static int repo_current_roles(const struct repo_online *o, struct tufonline_role *roles,
                              size_t *n)
{
	char p[64], *text = NULL;
	long long tv;
	json_t *md = NULL, *d;
	size_t len, i;
	int rc;

	*n = 0;
	if ((tv = repoimport_newest_at(o->metafd, "targets")) == 0)
		return TE_ERR_NOT_FOUND;
	snprintf(roles[0].name, MAX_NAME_BYTES, "targets");
	roles[0].version = tv;
	*n = 1;
	snprintf(p, sizeof(p), "%lld.targets.json", tv);
	if ((rc = file_read_all_at(o->metafd, p, TUF_MAX_META_BYTES, &text, &len)) != 0 ||
	    (rc = tuf_parse(text, len, &md)) != 0) {
		free(text);
		return rc;
	}
	json_array_foreach(json_object_get(json_object_get(json_object_get(md, "signed"),
	                   "delegations"), "roles"), i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		long long v;

		if (name == NULL || strlen(name) >= MAX_NAME_BYTES || *n >= TUFONLINE_MAX_ROLES ||
		    (v = repoimport_newest_at(o->metafd, name)) == 0)
			continue;
		snprintf(roles[*n].name, MAX_NAME_BYTES, "%s", name);
		roles[(*n)++].version = v;
	}
	free(text);
	json_decref(md);
	return 0;
}

static int repo_same_roles(const struct repo_online *o, const struct tufonline_role *r, size_t n)
{
	size_t i, j;
	int found;

	if (n != o->nroles)
		return 0;
	for (i = 0; i < n; i++) {
		found = 0;
		for (j = 0; j < o->nroles; j++)
			found |= strcmp(r[i].name, o->roles[j].name) == 0 && r[i].version == o->roles[j].version;
		if (!found)
			return 0;
	}
	return 1;
}

/* A new snapshot (when new_snapshot) and a new timestamp naming it. */
static int repo_sign_online(struct server *srv, struct repo_online *o,
                            const struct tufonline_role *roles, size_t n, int new_snapshot)
{
	char p[64], sha[65], *doc = NULL, *text = NULL;
	int64_t now = server_now(), sv = o->snap_version, slen;
	uint8_t md[32];
	unsigned int mdlen = 0;
	size_t len = 0;
	int rc;

	if (new_snapshot) {
		sv = o->snap_version + 1;
		if ((rc = signer_tuf_snapshot(srv->signer, sv, now + REPO_SNAPSHOT_TTL_S, roles, n,
		                              &doc)) != 0)
			return rc;
		snprintf(p, sizeof(p), "%lld.snapshot.json", (long long)sv);
		rc = file_replace_at(o->metafd, p, doc, strlen(doc), 0644);
		free(doc);
		doc = NULL;
		if (rc != 0)
			return rc;
		o->snap_version = sv;
		o->snap_expires = now + REPO_SNAPSHOT_TTL_S;
		memcpy(o->roles, roles, n * sizeof(*roles));
		o->nroles = n;
	}
	snprintf(p, sizeof(p), "%lld.snapshot.json", (long long)sv);
	if ((rc = file_read_all_at(o->metafd, p, TUF_MAX_META_BYTES, &text, &len)) != 0)
		return rc;
	slen = (int64_t)len;
	rc = EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	     hex_encode(md, mdlen, sha, sizeof(sha)) == 0 ? 0 : TE_ERR_CRYPTO;
	free(text);
	if (rc != 0 ||
	    (rc = signer_tuf_timestamp(srv->signer, o->ts_version + 1, now + REPO_TIMESTAMP_TTL_S,
	                               sv, slen, sha, &doc)) != 0)
		return rc;
	rc = file_replace_at(o->metafd, "timestamp.json", doc, strlen(doc), 0644);
	free(doc);
	if (rc != 0)
		return rc;
	o->ts_version++;
	o->ts_expires = now + REPO_TIMESTAMP_TTL_S;
	log_info("repository: snapshot version %lld, timestamp version %lld",
	         (long long)o->snap_version, (long long)o->ts_version);
	return 0;
}

void repo_tick(struct server *srv)
{
	struct tufonline_role roles[TUFONLINE_MAX_ROLES];
	struct repo_online *o = srv->repo;
	int64_t now = server_now();
	struct stat st, ts;
	size_t n = 0;
	int published, new_snapshot, rc;

	if (o == NULL || fstatat(o->metafd, REPO_MARKER, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;                   /* nothing published yet */
	if (!o->loaded) {
		repo_load_state(o);
		/* A timestamp written after the last publication already covers
		 * it: a restart signs nothing new until one comes, or the clock
		 * asks. */
		if (fstatat(o->metafd, "timestamp.json", &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (ts.st_mtim.tv_sec > st.st_mtim.tv_sec ||
		     (ts.st_mtim.tv_sec == st.st_mtim.tv_sec && ts.st_mtim.tv_nsec >= st.st_mtim.tv_nsec)))
			o->marker = st.st_mtim;
	}
	if (o->failed_at != 0 && now - o->failed_at < REPO_RETRY_S)
		return;
	published = st.st_mtim.tv_sec != o->marker.tv_sec || st.st_mtim.tv_nsec != o->marker.tv_nsec;
	if (!published && o->ts_expires - now > REPO_TIMESTAMP_TTL_S / 2 &&
	    o->snap_expires - now > REPO_SNAPSHOT_TTL_S / 2)
		return;
	if ((rc = repo_current_roles(o, roles, &n)) != 0) {
		log_error("repository: cannot read the served targets: %s", te_strerror(rc));
		o->failed_at = now;
		return;
	}
	new_snapshot = o->snap_version == 0 || !repo_same_roles(o, roles, n) ||
	               o->snap_expires - now <= REPO_SNAPSHOT_TTL_S / 2;
	if ((rc = repo_sign_online(srv, o, roles, n, new_snapshot)) != 0) {
		log_error("repository: cannot sign a new %s: %s (tried again in %d s)",
		          new_snapshot ? "snapshot" : "timestamp", te_strerror(rc), REPO_RETRY_S);
		o->failed_at = now;
		return;
	}
	o->failed_at = 0;
	o->marker = st.st_mtim;
}

/* Give the folder fd and the folders under it (not the files: they stay
 * as published) to uid, at most depth deep. */
static int repo_chown_folders(int fd, uid_t uid, gid_t gid, int depth)
{
	struct dirent *de;
	int sub, dup_fd, rc = 0;
	DIR *d;

	if (fchown(fd, uid, gid) != 0)
		return TE_ERR_IO;
	if (depth <= 0 || (dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	if ((d = fdopendir(dup_fd)) == NULL) {
		close(dup_fd);
		return TE_ERR_IO;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		rc = repo_chown_folders(sub, uid, gid, depth - 1);
		close(sub);
	}
	closedir(d);
	return rc;
}

int repo_prepare(struct server *srv)
{
	char p[PATH_MAX + 32];
	const struct passwd *pw;
	const char *subs[] = { "repo", "repo/metadata", "repo/targets" };
	struct repo_online *o;

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", srv->cfg.dir, subs[i]);
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			log_error("repository: cannot create %s: %s", p, strerror(errno));
			return TE_ERR_IO;
		}
	}
	/* The process that signs online writes snapshot and timestamp in
	 * metadata after it dropped to user, through the folder it opened now
	 * (DIR itself stays closed to user); publications, as root, write there
	 * too. */
	snprintf(p, sizeof(p), "%s/repo/metadata", srv->cfg.dir);
	errno = 0;
	if (geteuid() == 0 && srv->cfg.user[0] != '\0' &&
	    ((pw = getpwnam(srv->cfg.user)) == NULL || chown(p, pw->pw_uid, pw->pw_gid) != 0)) {
		log_error("repository: cannot give %s to %s: %s", p, srv->cfg.user,
		          errno != 0 ? strerror(errno) : "no such user");
		return TE_ERR_IO;
	}
	if ((o = srv->repo = calloc(1, sizeof(*o))) == NULL)
		return TE_ERR_NOMEM;
	o->targetsfd = -1;
	if ((o->metafd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_error("repository: cannot open %s: %s", p, strerror(errno));
		return TE_ERR_IO;
	}
	snprintf(p, sizeof(p), "%s/repo/targets", srv->cfg.dir);
	if ((o->targetsfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_error("repository: cannot open %s: %s", p, strerror(errno));
		return TE_ERR_IO;
	}
	/* A release manager's upload (repopub.h) is renamed into targets by
	 * the dropped server, which therefore owns its folders; the files in
	 * them are never rewritten, only added (content-addressed names). */
	errno = 0;
	if (geteuid() == 0 && srv->cfg.user[0] != '\0' &&
	    ((pw = getpwnam(srv->cfg.user)) == NULL ||
	     repo_chown_folders(o->targetsfd, pw->pw_uid, pw->pw_gid, TUF_MAX_NAME_BYTES / 2) != 0)) {
		log_error("repository: cannot give %s and its folders to %s: %s", p, srv->cfg.user,
		          errno != 0 ? strerror(errno) : "no such user");
		return TE_ERR_IO;
	}
	return 0;
}

static void repo_releases_of(json_t *out, const json_t *md)
{
	const json_t *targets = json_object_get(json_object_get(md, "signed"), "targets");
	const char *name;
	json_t *t;

	json_object_foreach((json_t *)targets, name, t) {
		const json_t *cu = json_object_get(t, "custom");
		const char *comp = json_string_value(json_object_get(cu, "component"));
		const char *ver = json_string_value(json_object_get(cu, "version"));
		const char *sbom = json_string_value(json_object_get(cu, "sbom_sha256"));

		if (comp == NULL || ver == NULL || !tuf_target_name_ok(name))
			continue;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "component",
		                                     comp, "version", ver, "sbom", sbom ? sbom : ""));
	}
}

json_t *repo_releases(struct server *srv)
{
	json_t *out = json_array(), *md = NULL, *d;
	char p[96], *text = NULL;
	long long v;
	size_t len, i;
	int fd = repo_metadata_fd(srv);

	if (out == NULL || fd < 0 || (v = repoimport_newest_at(fd, "targets")) == 0)
		return out;
	snprintf(p, sizeof(p), "%lld.targets.json", v);
	if (file_read_all_at(fd, p, TUF_MAX_META_BYTES, &text, &len) != 0 ||
	    tuf_parse(text, len, &md) != 0) {
		free(text);
		return out;
	}
	free(text);
	repo_releases_of(out, md);
	json_array_foreach(json_object_get(json_object_get(json_object_get(md, "signed"),
	                   "delegations"), "roles"), i, d) {
		const char *role = json_string_value(json_object_get(d, "name"));
		json_t *rmd = NULL;

		if (role == NULL || !tuf_role_name_ok(role) || (v = repoimport_newest_at(fd, role)) == 0)
			continue;
		snprintf(p, sizeof(p), "%lld.%s.json", v, role);
		text = NULL;
		if (file_read_all_at(fd, p, TUF_MAX_META_BYTES, &text, &len) == 0 &&
		    tuf_parse(text, len, &rmd) == 0)
			repo_releases_of(out, rmd);
		free(text);
		json_decref(rmd);
	}
	json_decref(md);
	return out;
}

const json_t *repo_release_find(const json_t *releases, const char *name)
{
	const json_t *rel;
	size_t i;

	json_array_foreach(releases, i, rel)
		if (strcmp(json_string_value(json_object_get(rel, "name")), name) == 0)
			return rel;
	return NULL;
}

int64_t repo_timestamp_version(const struct server *srv)
{
	const struct repo_online *o = srv->repo;

	return o != NULL && o->loaded ? o->ts_version : 0;
}

int repo_metadata_fd(const struct server *srv)
{
	return srv->repo != NULL ? srv->repo->metafd : -1;
}

int repo_targets_fd(const struct server *srv)
{
	return srv->repo != NULL ? srv->repo->targetsfd : -1;
}

void repo_free(struct repo_online *r)
{
	if (r == NULL)
		return;
	if (r->metafd >= 0)
		close(r->metafd);
	if (r->targetsfd >= 0)
		close(r->targetsfd);
	free(r);
}

/* /repo/metadata/NAME: N.ROLE.json or timestamp.json, ROLE of [A-Za-z0-9._-]. */
static int repo_meta_name_ok(const char *n)
{
	return strchr(n, '/') == NULL && tuf_target_name_ok(n) &&
	       strlen(n) > 5 && strcmp(n + strlen(n) - 5, ".json") == 0;
}

void repo_serve(struct http_req *r)
{
	const struct repo_online *o = r->srv->repo;
	const char *rest;
	const char *range;
	struct stat st;
	long long first, last;
	int fd = -1, meta, rc;

	if (r->method != EVHTTP_REQ_GET) {
		http_error(r, 405, "method_not_allowed", "the repository is read with GET");
		return;
	}
	meta = strncmp(r->path, "/repo/metadata/", 15) == 0;
	rest = meta ? r->path + 15 : strncmp(r->path, "/repo/targets/", 14) == 0 ? r->path + 14 : NULL;
	/* The names keep to [A-Za-z0-9._-] parts, none starting with '.': no
	 * way out of the folder, and no temporary or marker file. */
	if (o != NULL && rest != NULL && (meta ? repo_meta_name_ok(rest) : tuf_target_name_ok(rest)))
		fd = openat(meta ? o->metafd : o->targetsfd, rest, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		http_error(r, 404, "not_found", "no such file in the repository");
		return;
	}
	/* A target's download resumes where it broke off (one range). */
	range = meta ? NULL : evhttp_find_header(evhttp_request_get_input_headers(r->ev), "Range");
	if (range != NULL) {
		rc = httpresp_range_request(range, (long long)st.st_size, &first, &last);
		if (rc == TE_ERR_TOO_LONG) {
			char cr[64];

			close(fd);
			snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
			evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Range", cr);
			http_error(r, 416, "range_not_satisfiable", "the file has %lld bytes",
			           (long long)st.st_size);
			return;
		}
		if (rc == 0) {
			http_reply_file_range(r, "application/octet-stream", fd, first,
			                      last - first + 1, (int64_t)st.st_size);
			return;
		}
	}
	http_reply_file(r, meta ? "application/json" : "application/octet-stream", fd,
	                (int64_t)st.st_size);
}

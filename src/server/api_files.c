/* api_files.c: data files collected from devices (issue 9, section 2).
 *
 * POST /api/v1/device/file {collection, path, collected_at, and either
 *   refused (why the device did not send it) or size, sha256, mtime,
 *   offset, data}: a chunk (base64url, at most COLLECT_CHUNK_BYTES) is
 *   appended to DIR/files/partial/SERIAL+SHA256.part only at the offset
 *   the server holds, fsynced before the answer {have, done}; any other
 *   offset is answered with what it holds, so an upload cut anywhere
 *   resumes there. A whole part whose SHA-256 matches goes to
 *   DIR/files/blobs/SHA256 (kept once however many devices send it), is
 *   indexed (migration 19) and audited file_stored; a mismatch is removed
 *   and refused. A file past the device's files.quota_mb is refused (413,
 *   audited file_refused) before any byte is kept.
 * GET /api/v1/devices/SERIAL/files, GET /api/v1/files/ID and POST
 *   /api/v1/files/ID/read {offset}: for files:collect, within the user's
 *   sites; the first chunk read is audited file_fetched. */
#include "srvapi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "castfile.h"
#include "codec.h"
#include "err.h"
#include "http.h"
#include "jbody.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "filechunk.h"

#include <event2/http.h>

#define API_FILES_CHUNK   FILECHUNK_BYTES

/* DIR/files/SUB (made 0700 when make), and NAME in it. */
static int api_files_path(struct server *srv, const char *sub, const char *name, int make,
                          char out[PATH_MAX])
{
	return api_data_path(srv, "files", sub, name, "", make, out);
}

/* The request's fields (filechunk.c); 400 answered when one is wrong. */
static int api_file_up_parse(struct http_req *r, json_t *j, struct filechunk *u)
{
	const char *field = NULL;
	int rc;

	if ((rc = filechunk_parse(j, u, &field)) != 0) {
		api_bad_field(r, field, rc);
		return -1;
	}
	snprintf(u->f.device, sizeof(u->f.device), "%s", r->device.serial);
	return 0;
}

static void api_file_done(struct http_req *r, json_int_t have, int done, int64_t id)
{
	json_t *o = json_pack("{s:I, s:b}", "have", have, "done", done);

	if (o != NULL && id > 0)
		json_object_set_new(o, "id", json_integer(id));
	http_reply(r, 200, o);
}

static void api_file_refused(struct http_req *r, const struct filechunk *u, int status,
                             const char *code, const char *why)
{
	server_audit(r->srv, r->device.serial, "file_refused",
	             json_pack("{s:s, s:s, s:s, s:I, s:s}", "device", r->device.serial,
	                       "collection", u->f.collection, "path", u->f.path,
	                       "size", (json_int_t)u->f.size, "reason", why));
	http_error(r, status, code, "file %s: %s", u->f.path, why);
}

/* Is activity this device's own? */
static int api_file_activity_ok(struct http_req *r, const char *activity)
{
	struct store_activity *a = malloc(sizeof(*a));
	int ok = a != NULL && store_activity_get(r->srv->store, activity, a) == 0 &&
	         strcmp(a->device, r->device.serial) == 0;

	free(a);
	return ok;
}

/* Index and audit a file whose bytes are kept (or a device's refusal). */
static void api_file_record(struct http_req *r, struct filechunk *u)
{
	int rc;

	u->f.stored_at = server_now();
	if (u->f.activity[0] != '\0' && !api_file_activity_ok(r, u->f.activity)) {
		log_warn("device %s: file %s names activity %s, which is not its own: not linked",
		         r->device.serial, u->f.path, u->f.activity);
		u->f.activity[0] = '\0';
	}
	rc = store_file_add(r->srv->store, &u->f);
	if (rc == TE_ERR_EXISTS) {
		api_file_done(r, u->f.size, 1, 0);   /* an answer that was lost */
		return;
	}
	if (rc != 0) {
		http_error(r, 503, "storage", "cannot index the file (%s)", te_strerror(rc));
		return;
	}
	rc = u->f.refused[0] != '\0' ?
	     server_audit(r->srv, r->device.serial, "file_refused_on_device",
	                  json_pack("{s:s, s:s, s:s, s:s}", "device", r->device.serial,
	                            "collection", u->f.collection, "path", u->f.path,
	                            "reason", u->f.refused)) :
	     server_audit(r->srv, r->device.serial, "file_stored",
	                  json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "device", r->device.serial,
	                            "collection", u->f.collection, "path", u->f.path,
	                            "size", (json_int_t)u->f.size, "sha256", u->f.sha256,
	                            "id", (json_int_t)u->f.id));
	if (rc != 0) {
		http_error(r, 503, "storage", "cannot audit the file");
		return;
	}
	api_file_done(r, u->f.size, 1, u->f.id);
}

/* The part is whole: check it and keep it as its blob. */
static void api_file_finish(struct http_req *r, struct filechunk *u, int fd,
                            const char *part)
{
	char blob[PATH_MAX], sha[SHA256_HEX_BYTES], *slash;
	uint64_t size = 0;
	struct stat st;
	int rc, dfd;

	if ((rc = castfile_sha256_fd(fd, &size, sha)) != 0) {
		http_error(r, 503, "storage", "cannot read the file back (%s)", te_strerror(rc));
		return;
	}
	if ((json_int_t)size != u->f.size || strcmp(sha, u->f.sha256) != 0) {
		unlink(part);
		api_file_refused(r, u, 400, "sha256_mismatch", "the bytes received do not match "
		                 "the declared SHA-256; sent again from the start");
		return;
	}
	if ((rc = api_files_path(r->srv, "blobs", u->f.sha256, 1, blob)) != 0) {
		http_error(r, 503, "storage", "cannot keep the file (%s)", te_strerror(rc));
		return;
	}
	if (lstat(blob, &st) == 0) {
		unlink(part);                         /* the same bytes are kept already */
	} else if (rename(part, blob) != 0) {
		http_error(r, 503, "storage", "cannot keep the file (%s)", strerror(errno));
		return;
	} else if ((slash = strrchr(blob, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(blob, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);             /* the rename survives a power cut */
			close(dfd);
		}
	}
	api_file_record(r, u);
}

/* 1 when size bytes of sha256 would take the device past its quota (or
 * the store cannot say: 503 answered); 0 when they fit. */
static int api_file_quota_full(struct http_req *r, const char *sha256, int64_t size)
{
	int64_t used = 0, quota = (int64_t)r->srv->cfg.files_quota_mb * 1024 * 1024;

	if (store_file_device_has(r->srv->store, r->device.serial, sha256))
		return 0;
	if (store_file_device_bytes(r->srv->store, r->device.serial, &used) != 0) {
		http_error(r, 503, "storage", "cannot read the device's files");
		return -1;
	}
	return used + size > quota;
}

/* Refused for the quota before any byte is kept (at offset 0 only: a part
 * under way was allowed when it began, for the size in its name). */
static int api_file_over_quota(struct http_req *r, const struct filechunk *u)
{
	int rc = u->offset != 0 ? 0 : api_file_quota_full(r, u->f.sha256, u->f.size);

	if (rc > 0)
		api_file_refused(r, u, 413, "quota", "over the device's files.quota_mb");
	return rc != 0;
}

/* DIR/files/partial/SERIAL+SHA256+SIZE.part: the declared size is part of
 * the name, so a part only ever grows to the size its quota check saw. */
static int api_file_part(struct http_req *r, const char *sha256, int64_t size,
                         char part[PATH_MAX])
{
	char name[MAX_NAME_BYTES + SHA256_HEX_BYTES + 32];
	int rc;

	snprintf(name, sizeof(name), "%s+%s+%lld.part", r->device.serial, sha256,
	         (long long)size);
	if ((rc = api_files_path(r->srv, "partial", name, 1, part)) != 0)
		http_error(r, 503, "storage", "cannot keep the file (%s)", te_strerror(rc));
	return rc;
}

void api_device_file(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_file kept;
	struct filechunk u;
	char part[PATH_MAX];
	int64_t have = 0;
	struct stat st;
	int fd = -1, rc, wrote = 0;

	if (j == NULL)
		return;
	if (api_file_up_parse(r, j, &u) != 0)
		goto out;
	/* Sent again after the answer was lost: it is here already. */
	rc = store_file_find(r->srv->store, u.f.device, u.f.collection, u.f.path,
	                     u.f.collected_at, &kept);
	if (rc == 0) {
		if (strcmp(kept.sha256, u.f.sha256) == 0)
			api_file_done(r, kept.size, 1, kept.id);
		else
			http_error(r, 409, "exists", "file %s of that run is kept already, with "
			           "other contents", u.f.path);
		goto out;
	}
	if (rc != TE_ERR_NOT_FOUND) {
		http_error(r, 503, "storage", "cannot read the files (%s)", te_strerror(rc));
		goto out;
	}
	if (u.f.refused[0] != '\0') {
		api_file_record(r, &u);
		goto out;
	}
	if (api_file_over_quota(r, &u))
		goto out;
	/* The same bytes are kept already (this device's last run, or another
	 * device's): indexed at once, nothing sent again. */
	if (u.offset == 0 && api_files_path(r->srv, "blobs", u.f.sha256, 0, part) == 0 &&
	    lstat(part, &st) == 0 && (json_int_t)st.st_size == u.f.size) {
		api_file_record(r, &u);
		goto out;
	}
	if (api_file_part(r, u.f.sha256, u.f.size, part) != 0)
		goto out;
	if (api_part_append(r, "file", part, u.f.size, u.offset, u.data, API_FILES_CHUNK, &fd,
	                    &have, &wrote) != 0)
		goto out;
	if (wrote && have == u.f.size)
		api_file_finish(r, &u, fd, part);
	else
		api_file_done(r, have, 0, 0);
out:
	if (fd >= 0)
		close(fd);
	json_decref(j);
}

void api_device_file_put(struct http_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	struct filechunk_raw c;
	const char *field = NULL;
	const uint8_t *bytes;
	char part[PATH_MAX];
	int64_t have = 0;
	size_t len = 0;
	int fd = -1, rc, wrote = 0;

	if ((rc = filechunk_raw_parse(uri != NULL ? evhttp_uri_get_query(uri) : NULL, &c,
	                              &field)) != 0) {
		http_error(r, 400, "bad_request", "query \"%s\" is %s (want ?sha256=HEX&size=N"
		           "&offset=N)", field, rc == TE_ERR_NOT_FOUND ? "required" : "not valid");
		return;
	}
	if ((bytes = http_req_raw_body(r, &len)) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if (len > MAX_HTTP_UPLOAD_BYTES || (int64_t)len > c.size - c.offset) {
		http_error(r, 400, "bad_request", "%zu bytes from offset %lld run past the "
		           "declared size %lld", len, (long long)c.offset, (long long)c.size);
		return;
	}
	if (c.offset == 0 && len > 0 && (rc = api_file_quota_full(r, c.sha256, c.size)) != 0) {
		if (rc > 0) {
			server_audit(r->srv, r->device.serial, "file_refused",
			             json_pack("{s:s, s:s, s:I, s:s}", "device", r->device.serial,
			                       "sha256", c.sha256, "size", (json_int_t)c.size,
			                       "reason", "over the device's files.quota_mb"));
			http_error(r, 413, "quota", "file %s: over the device's files.quota_mb",
			           c.sha256);
		}
		return;
	}
	if (api_file_part(r, c.sha256, c.size, part) != 0)
		return;
	if (api_part_write(r, "file", part, c.size, c.offset, bytes, len, &fd, &have,
	                   &wrote) == 0)
		api_file_done(r, have, 0, 0);   /* the JSON request at have == size ends it */
	if (fd >= 0)
		close(fd);
}

/* ---- for people -------------------------------------------------------------- */

static json_t *api_file_json(const struct store_file *f)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id", (json_int_t)f->id,
	                      "device", f->device, "collection", f->collection, "path", f->path,
	                      "size", (json_int_t)f->size, "mtime", (json_int_t)f->mtime,
	                      "collected_at", (json_int_t)f->collected_at,
	                      "stored_at", (json_int_t)f->stored_at);

	if (o != NULL) {
		json_object_set_new(o, "sha256", f->sha256[0] ? json_string(f->sha256) : json_null());
		json_object_set_new(o, "refused", f->refused[0] ? json_string(f->refused)
		                                                : json_null());
	}
	return o;
}

static int api_file_list_cb(const struct store_file *f, void *arg)
{
	return json_array_append_new(arg, api_file_json(f)) == 0 ? 0 : TE_ERR_NOMEM;
}

void api_device_files(struct http_req *r)
{
	struct store_device d;
	json_t *list;

	if (store_device_get(r->srv->store, r->arg, &d) != 0 || !api_site_in_scope(r, d.site)) {
		http_error(r, 404, "no_such_device", "no device with serial %s", r->arg);
		return;
	}
	if ((list = json_array()) == NULL ||
	    store_file_each_for_device(r->srv->store, d.serial, api_file_list_cb, list) != 0) {
		json_decref(list);
		http_error(r, 503, "storage", "cannot read the files");
		return;
	}
	http_reply(r, 200, json_pack("{s:s, s:o}", "device", d.serial, "files", list));
}

/* The file named by r->arg (its id), within the user's sites. */
static int api_file_load(struct http_req *r, struct store_file *f)
{
	struct store_device d;
	char *end;
	long long id = strtoll(r->arg, &end, 10);

	if (*end != '\0' || id <= 0 || store_file_get(r->srv->store, id, f) != 0 ||
	    store_device_get(r->srv->store, f->device, &d) != 0 || !api_site_in_scope(r, d.site)) {
		http_error(r, 404, "no_such_file", "no file with id %s", r->arg);
		return -1;
	}
	return 0;
}

void api_file_get(struct http_req *r)
{
	struct store_file f;

	if (api_file_load(r, &f) == 0)
		http_reply(r, 200, api_file_json(&f));
}

void api_file_read(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_file f;
	char path[PATH_MAX], *text = NULL;
	json_int_t offset;

	if (j == NULL)
		return;
	if (api_file_load(r, &f) != 0 || api_int_field(r, j, "offset", &offset) != 0)
		goto out;
	if (f.refused[0] != '\0') {
		http_error(r, 409, "refused", "file %s was not sent by the device: %s", f.path,
		           f.refused);
		goto out;
	}
	if (offset > f.size) {
		api_bad_field(r, "offset", TE_ERR_INVALID);
		goto out;
	}
	if (api_files_path(r->srv, "blobs", f.sha256, 0, path) != 0 ||
	    api_chunk_read(path, offset, API_FILES_CHUNK, &text) != 0) {
		log_error("file %lld: cannot read it: %s", (long long)f.id, strerror(errno));
		http_error(r, 503, "storage", "cannot read file %lld", (long long)f.id);
		goto out;
	}
	if (offset == 0 && server_audit(r->srv, r->user.name, "file_fetched",
	                                json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)f.id,
	                                          "device", f.device, "path", f.path,
	                                          "sha256", f.sha256)) != 0) {
		http_error(r, 503, "storage", "cannot audit the fetch");
		goto out;
	}
	http_reply(r, 200, json_pack("{s:I, s:I, s:s, s:I, s:s}", "id", (json_int_t)f.id,
	                             "size", (json_int_t)f.size, "sha256", f.sha256,
	                             "offset", offset, "data", text));
out:
	free(text);
	json_decref(j);
}

/* ---- retention ------------------------------------------------------------------ */

static int api_files_prune_cb(const struct store_file *f, void *arg)
{
	return f->sha256[0] ? json_array_append_new(arg, json_string(f->sha256)) : 0;
}

/* Parts of uploads abandoned longer than the retention (a device that
 * never came back): removed. */
static void api_files_prune_parts(struct server *srv, int64_t keep_from)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (api_files_path(srv, "partial", "", 0, dir) != 0 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    snprintf(p, sizeof(p), "%s%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < keep_from &&
		    unlink(p) == 0)
			log_info("files: removed %s, an upload abandoned for files.retention_days", p);
	}
	closedir(d);
}

void api_files_prune(struct server *srv)
{
	json_t *shas = json_array();
	char blob[PATH_MAX];
	size_t i;
	json_t *v;

	api_files_prune_parts(srv, server_now() - srv->cfg.files_retention_days * 86400);
	if (shas == NULL)
		return;
	if (store_file_prune(srv->store, server_now() - srv->cfg.files_retention_days * 86400,
	                     api_files_prune_cb, shas) != 0)
		log_warn("files: could not drop the files past files.retention_days");
	json_array_foreach(shas, i, v)
		if (!store_file_sha_used(srv->store, json_string_value(v)) &&
		    api_files_path(srv, "blobs", json_string_value(v), 0, blob) == 0 &&
		    unlink(blob) != 0 && errno != ENOENT)
			log_warn("files: cannot remove %s: %s", blob, strerror(errno));
	json_decref(shas);
}

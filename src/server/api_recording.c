/* api_recording.c: shell recordings from the device to the server, and on to
 * whoever may see the session (castfile.h).
 *
 * POST /api/v1/device/recording {session, name, size, sha256, offset, data}
 *   from the device whose session it is: data (base64url, at most
 *   CASTFILE_CHUNK_BYTES) is appended to DIR/recordings/SESSION/NAME.part
 *   when offset is what the server holds, and fsynced before the answer
 *   {have, done}; any other offset is answered with what the server holds,
 *   so a transfer cut anywhere (either side restarted) resumes there. When
 *   the part reaches size its SHA-256 is checked: a match is renamed to NAME,
 *   recorded (migration 16) and audited recording_stored; a mismatch is
 *   removed and refused. A file over recording_max_bytes is refused before
 *   any byte is kept.
 * GET /api/v1/sessions/ID/recordings: the list, for whoever may see the
 *   session (its requester, session:end:any, audit:read, its site's
 *   customer roles).
 * POST /api/v1/sessions/ID/recordings/read {name, offset}: one chunk of a
 *   kept recording with its size and SHA-256; the first chunk is audited
 *   recording_viewed.
 *
 * The files are written on the event loop: one chunk's write and fsync, and
 * one hash of at most recording_max_bytes when a file completes. */
#include "srvapi.h"

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

int api_data_path(struct server *srv, const char *top, const char *sub, const char *name,
                  const char *suffix, int make, char out[PATH_MAX])
{
	char dir[PATH_MAX];
	int w;

	w = snprintf(dir, sizeof(dir), "%s/%s", srv->cfg.dir, top);
	if (w < 0 || (size_t)w >= sizeof(dir))
		return TE_ERR_TOO_LONG;
	if (make && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return TE_ERR_IO;
	w = snprintf(out, PATH_MAX, "%s/%s", dir, sub);
	if (w < 0 || w >= PATH_MAX)
		return TE_ERR_TOO_LONG;
	if (make && mkdir(out, 0700) != 0 && errno != EEXIST)
		return TE_ERR_IO;
	w = snprintf(out, PATH_MAX, "%s/%s/%s%s", dir, sub, name, suffix);
	return w < 0 || w >= PATH_MAX ? TE_ERR_TOO_LONG : 0;
}

/* DIR/recordings/SESSION, made 0700 when missing; NAME in it. */
static int api_recording_path(struct server *srv, const char *session, const char *name,
                              const char *suffix, int make, char out[PATH_MAX])
{
	return api_data_path(srv, "recordings", session, name, suffix, make, out);
}

int api_sha256_ok(const char *hex)
{
	return hex_sha256_ok(hex);
}

int api_int_field(struct http_req *r, const json_t *j, const char *key, json_int_t *out)
{
	const json_t *v = json_object_get(j, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		api_bad_field(r, key, v == NULL ? TE_ERR_NOT_FOUND : TE_ERR_INVALID);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* The upload's fields, checked. */
struct api_rec_up {
	struct store_session s;
	char name[CASTFILE_NAME_BYTES];
	char sha256[SHA256_HEX_BYTES];
	json_int_t size, offset;
	const char *data;
};

static int api_rec_up_parse(struct http_req *r, json_t *j, struct api_rec_up *u)
{
	int rc;

	if (api_device_session(r, j, &u->s) != 0)
		return -1;
	if ((rc = jbody_str(j, "name", 1, u->name, sizeof(u->name))) != 0 ||
	    !castfile_name_ok(u->s.id, u->name)) {
		api_bad_field(r, "name", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if ((rc = jbody_str(j, "sha256", 1, u->sha256, sizeof(u->sha256))) != 0 ||
	    !api_sha256_ok(u->sha256)) {
		api_bad_field(r, "sha256", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if (api_int_field(r, j, "size", &u->size) != 0 ||
	    api_int_field(r, j, "offset", &u->offset) != 0)
		return -1;
	u->data = json_string_value(json_object_get(j, "data"));
	if (u->data == NULL || strlen(u->data) > (CASTFILE_CHUNK_BYTES / 3 + 1) * 4) {
		api_bad_field(r, "data", u->data == NULL ? TE_ERR_NOT_FOUND : TE_ERR_TOO_LONG);
		return -1;
	}
	return 0;
}

static void api_rec_refused(struct http_req *r, const struct api_rec_up *u, int status,
                            const char *code, const char *why)
{
	server_audit(r->srv, r->device.serial, "recording_refused",
	             json_pack("{s:s, s:s, s:I, s:s}", "session", u->s.id, "name", u->name,
	                       "size", (json_int_t)u->size, "reason", why));
	http_error(r, status, code, "recording %s: %s", u->name, why);
}

static void api_rec_done(struct http_req *r, json_int_t have, int done)
{
	http_reply(r, 200, json_pack("{s:I, s:b}", "have", have, "done", done));
}

/* The part is whole: check it, keep it under its name, record and audit it. */
static void api_rec_finish(struct http_req *r, const struct api_rec_up *u, int fd,
                           const char *part)
{
	struct store_recording rec;
	char final[PATH_MAX], sha[SHA256_HEX_BYTES], *slash;
	uint64_t size = 0;
	int rc, dfd;

	if ((rc = castfile_sha256_fd(fd, &size, sha)) != 0) {
		http_error(r, 503, "storage", "cannot read the recording back (%s)", te_strerror(rc));
		return;
	}
	if ((json_int_t)size != u->size || strcmp(sha, u->sha256) != 0) {
		unlink(part);
		api_rec_refused(r, u, 400, "sha256_mismatch",
		                "the bytes received do not match the declared SHA-256; sent again "
		                "from the start");
		return;
	}
	if ((rc = api_recording_path(r->srv, u->s.id, u->name, "", 0, final)) != 0 ||
	    rename(part, final) != 0) {
		http_error(r, 503, "storage", "cannot keep the recording (%s)",
		           rc ? te_strerror(rc) : strerror(errno));
		return;
	}
	if ((slash = strrchr(final, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(final, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);   /* the rename survives a power cut */
			close(dfd);
		}
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", u->name);
	snprintf(rec.sha256, sizeof(rec.sha256), "%s", u->sha256);
	rec.size = u->size;
	rec.stored_at = server_now();
	rc = store_recording_add(r->srv->store, u->s.id, &rec);
	if (rc != 0 && rc != TE_ERR_EXISTS) {
		http_error(r, 503, "storage", "cannot record the recording (%s)", te_strerror(rc));
		return;
	}
	if (rc == 0 && server_audit(r->srv, r->device.serial, "recording_stored",
	                            json_pack("{s:s, s:s, s:I, s:s}", "session", u->s.id,
	                                      "name", u->name, "size", u->size,
	                                      "sha256", u->sha256)) != 0) {
		http_error(r, 503, "storage", "cannot audit the recording");
		return;
	}
	api_rec_done(r, u->size, 1);
}

void api_device_recording(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_recording kept;
	struct api_rec_up u;
	char part[PATH_MAX];
	int64_t have = 0;
	int fd = -1, rc, wrote = 0;

	if (j == NULL)
		return;
	memset(&u, 0, sizeof(u));
	if (api_rec_up_parse(r, j, &u) != 0)
		goto out;
	if (u.size > r->srv->cfg.recording_max_bytes) {
		api_rec_refused(r, &u, 413, "too_large", "larger than recording_max_bytes");
		goto out;
	}
	/* Sent again after the answer was lost: it is here already. */
	rc = store_recording_get(r->srv->store, u.s.id, u.name, &kept);
	if (rc == 0) {
		if (strcmp(kept.sha256, u.sha256) == 0)
			api_rec_done(r, kept.size, 1);
		else
			http_error(r, 409, "exists", "recording %s is kept already, with other "
			           "contents", u.name);
		goto out;
	}
	if (rc != TE_ERR_NOT_FOUND) {
		http_error(r, 503, "storage", "cannot read the recordings (%s)", te_strerror(rc));
		goto out;
	}
	if ((rc = api_recording_path(r->srv, u.s.id, u.name, ".part", 1, part)) != 0) {
		http_error(r, 503, "storage", "cannot keep the recording (%s)", te_strerror(rc));
		goto out;
	}
	if (api_part_append(r, "recording", part, u.size, u.offset, u.data, CASTFILE_CHUNK_BYTES,
	                    &fd, &have, &wrote) != 0)
		goto out;
	if (wrote && have == u.size)
		api_rec_finish(r, &u, fd, part);
	else
		api_rec_done(r, have, 0);
out:
	if (fd >= 0)
		close(fd);
	json_decref(j);
}

static int api_recording_list_cb(const struct store_recording *rec, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:I, s:s, s:I}", "name", rec->name,
	                                            "size", (json_int_t)rec->size,
	                                            "sha256", rec->sha256, "stored_at",
	                                            (json_int_t)rec->stored_at)) == 0
	       ? 0 : TE_ERR_NOMEM;
}

void api_session_recordings(struct http_req *r)
{
	struct store_session s;
	json_t *list;
	int rc;

	if (api_session_load(r, &s) != 0)
		return;
	if ((list = json_array()) == NULL ||
	    (rc = store_recording_each(r->srv->store, s.id, api_recording_list_cb, list)) != 0) {
		json_decref(list);
		http_error(r, 503, "storage", "cannot read the recordings");
		return;
	}
	http_reply(r, 200, json_pack("{s:s, s:s, s:o}", "session", s.id, "state", s.state,
	                             "recordings", list));
}

void api_session_recording_read(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_recording rec;
	struct store_session s;
	char name[CASTFILE_NAME_BYTES], path[PATH_MAX], *text = NULL;
	json_int_t offset;
	int rc;

	if (j == NULL)
		return;
	if (api_session_load(r, &s) != 0)
		goto out;
	if ((rc = jbody_str(j, "name", 1, name, sizeof(name))) != 0 ||
	    !castfile_name_ok(s.id, name)) {
		api_bad_field(r, "name", rc ? rc : TE_ERR_INVALID);
		goto out;
	}
	if (api_int_field(r, j, "offset", &offset) != 0)
		goto out;
	if (store_recording_get(r->srv->store, s.id, name, &rec) != 0) {
		http_error(r, 404, "no_such_recording", "session %s has no recording %s", s.id, name);
		goto out;
	}
	if (offset > rec.size) {
		api_bad_field(r, "offset", TE_ERR_INVALID);
		goto out;
	}
	if (api_recording_path(r->srv, s.id, name, "", 0, path) != 0 ||
	    api_chunk_read(path, offset, CASTFILE_CHUNK_BYTES, &text) != 0) {
		log_error("recording %s of session %s: cannot read it: %s", name, s.id,
		          strerror(errno));
		http_error(r, 503, "storage", "cannot read recording %s", name);
		goto out;
	}
	if (offset == 0 && server_audit(r->srv, r->user.name, "recording_viewed",
	                                json_pack("{s:s, s:s, s:s}", "session", s.id, "name",
	                                          name, "sha256", rec.sha256)) != 0) {
		http_error(r, 503, "storage", "cannot audit the viewing");
		goto out;
	}
	http_reply(r, 200, json_pack("{s:s, s:I, s:s, s:I, s:s}", "name", name,
	                             "size", (json_int_t)rec.size, "sha256", rec.sha256,
	                             "offset", offset, "data", text));
out:
	free(text);
	json_decref(j);
}

/* repopub.c: a release manager's publication through the API (repopub.h). */
#include "repopub.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actenv.h"
#include "codec.h"
#include "err.h"
#include "filechunk.h"
#include "filerepl.h"
#include "log.h"
#include "repo.h"
#include "repoimport.h"
#include "server.h"
#include "srvapi.h"

enum repopub_state { PUB_UPLOADING, PUB_IMPORTING, PUB_PUBLISHED, PUB_REFUSED };

static const char *const repopub_state_names[] = {
	"uploading", "importing", "published", "refused",
};

#define REPOPUB_MSG_BYTES 4096

struct repopub {
	char id[ACTENV_ID_BYTES];
	char user[MAX_NAME_BYTES];
	enum repopub_state state;
	int srcfd;                       /* DIR/repo/incoming/ID */
	int64_t touched;                 /* the last request about it */
	int64_t bytes;                   /* uploaded so far */
	size_t nmeta;                    /* metadata files begun */
	json_t *allowed;                 /* {NAME: {length, sha256}} the uploaded roles list */
	char detail[REPOPUB_MSG_BYTES];  /* the import's outcome */
	struct repopub *next;
};

struct repopub_set {
	int incomingfd;
	json_t *online[2];
	struct repopub *list;
	/* the import running, if any */
	int busy;
	pthread_t th;
	int wake[2];
	struct event *wake_ev;
	struct repopub *running;
	struct repoimport_dirs dirs;
	int rc;
	char msg[REPOPUB_MSG_BYTES];
};

/* ---- the query of a chunk ----------------------------------------------------- */

static int repopub_num(const char *v, int64_t max, int64_t *out)
{
	int64_t n;

	if (filechunk_dec(v, strlen(v), &n) != 0 || n > max)
		return TE_ERR_INVALID;
	*out = n;
	return 0;
}

/* metadata/N.root.json or metadata/ROLE.json (ROLE.json a role name). */
static int repopub_meta_name_ok(const char *n)
{
	size_t l = strlen(n);
	char role[80];

	if (l < 6 || l - 5 >= sizeof(role) || strcmp(n + l - 5, ".json") != 0)
		return 0;
	snprintf(role, sizeof(role), "%.*s", (int)(l - 5), n);
	if (role[0] >= '1' && role[0] <= '9') {
		size_t d = strspn(role, "0123456789");

		return d <= 12 && strcmp(role + d, ".root") == 0;
	}
	return tuf_role_name_ok(role);
}

int repopub_chunk_parse(const char *query, struct repopub_chunk *out, const char **field)
{
	struct evkeyvalq kv;
	struct evkeyval *e;
	int seen = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	*field = "query";
	if (query == NULL || strlen(query) > 2 * REPOPUB_PATH_BYTES + 64 ||
	    evhttp_parse_query_str(query, &kv) != 0)
		return TE_ERR_INVALID;
	TAILQ_FOREACH(e, &kv, next) {
		int bit = strcmp(e->key, "path") == 0 ? 1 : strcmp(e->key, "size") == 0 ? 2 :
		          strcmp(e->key, "offset") == 0 ? 4 : 0;

		if (bit == 0 || (seen & bit) != 0) {
			*field = bit == 0 ? "query" : e->key;
			rc = TE_ERR_INVALID;
			break;
		}
		seen |= bit;
		*field = e->key;
		if (bit == 1) {
			if (strlen(e->value) >= sizeof(out->path)) {
				rc = TE_ERR_INVALID;
				break;
			}
			snprintf(out->path, sizeof(out->path), "%s", e->value);
		} else if ((rc = repopub_num(e->value, REPOPUB_BYTES_MAX,
		                             bit == 2 ? &out->size : &out->offset)) != 0) {
			rc = TE_ERR_INVALID;
			break;
		}
	}
	evhttp_clear_headers(&kv);
	if (rc != 0)
		return rc;
	*field = (seen & 1) == 0 ? "path" : (seen & 2) == 0 ? "size" : (seen & 4) == 0 ? "offset" : "";
	if (seen != 7)
		return TE_ERR_NOT_FOUND;
	*field = "path";
	if (strncmp(out->path, "metadata/", 9) == 0 && repopub_meta_name_ok(out->path + 9)) {
		*field = "size";
		if (out->size > TUF_MAX_META_BYTES)
			return TE_ERR_INVALID;
	} else if (strncmp(out->path, "targets/", 8) == 0 && tuf_target_name_ok(out->path + 8) &&
	           strlen(out->path + 8) <= TUF_MAX_TARGET_BYTES) {
		out->is_target = 1;
	} else {
		return TE_ERR_INVALID;
	}
	*field = "offset";
	if (out->offset > out->size)
		return TE_ERR_INVALID;
	*field = "";
	return 0;
}

/* ---- folders -------------------------------------------------------------------- */

/* Remove name under dirfd and all it holds (at most depth folders deep:
 * target paths are bounded by their name's length). */
static void repopub_rmtree(int at, const char *name, int depth)
{
	struct dirent *de;
	int fd;
	DIR *d;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT || depth <= 0)
		return;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			repopub_rmtree(dirfd(d), de->d_name, depth - 1);
	closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

int repopub_prepare(struct server *srv)
{
	struct repopub_set *s;
	const struct passwd *pw;
	char p[PATH_MAX + 32];
	struct dirent *de;
	int fd;
	DIR *d;

	if ((s = srv->repopub = calloc(1, sizeof(*s))) == NULL)
		return TE_ERR_NOMEM;
	s->wake[0] = s->wake[1] = -1;
	s->incomingfd = s->dirs.metafd = s->dirs.targetsfd = s->dirs.srcfd = -1;
	snprintf(p, sizeof(p), "%s/repo/incoming", srv->cfg.dir);
	if (mkdir(p, 0700) != 0 && errno != EEXIST) {
		log_error("repository: cannot create %s: %s", p, strerror(errno));
		return TE_ERR_IO;
	}
	if ((s->incomingfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		log_error("repository: cannot open %s: %s", p, strerror(errno));
		return TE_ERR_IO;
	}
	/* Uploads of a server that stopped are not resumed: empty it. */
	if ((fd = dup(s->incomingfd)) >= 0 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				repopub_rmtree(s->incomingfd, de->d_name, TUF_MAX_NAME_BYTES / 2);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	errno = 0;
	if (geteuid() == 0 && srv->cfg.user[0] != '\0' &&
	    ((pw = getpwnam(srv->cfg.user)) == NULL || fchown(s->incomingfd, pw->pw_uid,
	                                                      pw->pw_gid) != 0)) {
		log_error("repository: cannot give %s to %s: %s", p, srv->cfg.user,
		          errno != 0 ? strerror(errno) : "no such user");
		return TE_ERR_IO;
	}
	(void)fchmod(s->incomingfd, 0700);
	if (repoimport_online_keys(srv->cfg.dir, &s->online[0], &s->online[1]) != 0)
		log_warn("repository: the online keys' public halves (%s/repo/keys) cannot be "
		         "read; publications through the API are refused until a restart",
		         srv->cfg.dir);
	return 0;
}

static void repopub_drop(struct repopub_set *s, struct repopub *p)
{
	struct repopub **pp;

	for (pp = &s->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->srcfd >= 0)
		close(p->srcfd);
	repopub_rmtree(s->incomingfd, p->id, TUF_MAX_NAME_BYTES / 2);
	json_decref(p->allowed);
	free(p);
}

void repopub_tick(struct server *srv)
{
	struct repopub_set *s = srv->repopub;
	struct repopub *p, *next;
	int64_t now = server_now();

	if (s == NULL)
		return;
	for (p = s->list; p != NULL; p = next) {
		next = p->next;
		if (p->state == PUB_IMPORTING)
			continue;
		if (now - p->touched > (p->state == PUB_UPLOADING ? REPOPUB_IDLE_S : REPOPUB_KEEP_S)) {
			log_info("repository: publication %s of %s dropped (%s)", p->id, p->user,
			         p->state == PUB_UPLOADING ? "left idle" : "its result was kept long enough");
			repopub_drop(s, p);
		}
	}
}

void repopub_free(struct server *srv)
{
	struct repopub_set *s = srv->repopub;

	if (s == NULL)
		return;
	if (s->busy)
		pthread_join(s->th, NULL);   /* an import is not cut off halfway */
	if (s->dirs.metafd >= 0)
		close(s->dirs.metafd);
	if (s->dirs.targetsfd >= 0)
		close(s->dirs.targetsfd);
	for (int i = 0; i < 2; i++) {
		if (s->wake[i] >= 0)
			close(s->wake[i]);
		json_decref(s->online[i]);
	}
	if (s->wake_ev != NULL)
		event_free(s->wake_ev);
	while (s->list != NULL)
		repopub_drop(s, s->list);
	if (s->incomingfd >= 0)
		close(s->incomingfd);
	free(s);
	srv->repopub = NULL;
}

/* ---- the API -------------------------------------------------------------------- */

/* The publication the route names, the caller's own; 404 answered else. */
static struct repopub *repopub_find(struct http_req *r)
{
	struct repopub_set *s = r->srv->repopub;
	struct repopub *p;

	for (p = s != NULL ? s->list : NULL; p != NULL; p = p->next)
		if (strcmp(p->id, r->arg) == 0 && strcmp(p->user, r->user.name) == 0) {
			p->touched = server_now();
			return p;
		}
	http_error(r, 404, "not_found", "no publication %s of yours here (a server restart, or "
	           "an hour without uploads, drops one: run tether repo publish again)", r->arg);
	return NULL;
}

void api_repo_pub_new(struct http_req *r)
{
	struct repopub_set *s = r->srv->repopub;
	struct repopub *p, *oldest = NULL;
	int open_all = 0, open_mine = 0, done = 0;

	if (s == NULL || s->online[0] == NULL) {
		http_error(r, 503, "unavailable", "this server cannot take publications: its online "
		           "keys could not be read at its start (see its log)");
		return;
	}
	for (p = s->list; p != NULL; p = p->next) {
		if (p->state <= PUB_IMPORTING) {
			open_all++;
			open_mine += strcmp(p->user, r->user.name) == 0;
		} else if (oldest == NULL || p->touched <= oldest->touched) {
			oldest = p;
		}
		done += p->state > PUB_IMPORTING;
	}
	if (open_mine >= REPOPUB_OPEN_USER_MAX || open_all >= REPOPUB_OPEN_MAX) {
		http_retry_after(r, 60);
		http_error(r, 503, "busy", "%d publications %s under way already; finish one, or "
		           "try again when an idle one is dropped (after %d s)",
		           open_mine >= REPOPUB_OPEN_USER_MAX ? open_mine : open_all,
		           open_mine >= REPOPUB_OPEN_USER_MAX ? "of yours are" : "are",
		           REPOPUB_IDLE_S);
		return;
	}
	if (done >= REPOPUB_DONE_MAX)
		repopub_drop(s, oldest);      /* the oldest result goes first */
	if ((p = calloc(1, sizeof(*p))) == NULL || actenv_new_id(p->id) != 0) {
		free(p);
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	p->id[0] = 'p';
	p->srcfd = -1;
	if ((p->allowed = json_object()) == NULL ||
	    mkdirat(s->incomingfd, p->id, 0700) != 0 ||
	    (p->srcfd = openat(s->incomingfd, p->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	                       O_CLOEXEC)) < 0 ||
	    (mkdirat(p->srcfd, "metadata", 0700) != 0) || mkdirat(p->srcfd, "targets", 0700) != 0) {
		http_error(r, 503, "storage", "cannot make the publication's folder (%s)",
		           strerror(errno));
		if (p->srcfd >= 0)
			close(p->srcfd);
		repopub_rmtree(s->incomingfd, p->id, 2);
		json_decref(p->allowed);
		free(p);
		return;
	}
	snprintf(p->user, sizeof(p->user), "%s", r->user.name);
	p->touched = server_now();
	p->next = s->list;
	s->list = p;
	log_info("repository: publication %s begun by %s", p->id, p->user);
	http_reply(r, 201, json_pack("{s:s, s:s, s:i}", "id", p->id, "state", "uploading",
	                             "chunk_bytes", REPOPUB_CHUNK_BYTES));
}

/* A role's upload is whole: the targets it lists join p->allowed, the
 * names a target upload may have. Read once per role file, when its last
 * chunk lands; a root lists none, and a file that is no TUF document adds
 * nothing (the import refuses it). */
static void repopub_allow_role(struct repopub *p, const char *path)
{
	const json_t *t, *lj;
	const char *name, *sha;
	char *text = NULL;
	json_t *md = NULL;
	size_t len;

	if (path[9] >= '0' && path[9] <= '9')
		return;                           /* metadata/N.root.json */
	if (file_read_all_at(p->srcfd, path, TUF_MAX_META_BYTES, &text, &len) == 0 &&
	    tuf_parse(text, len, &md) == 0)
		json_object_foreach(json_object_get(json_object_get(md, "signed"), "targets"),
		                    name, t) {
			lj = json_object_get(t, "length");
			sha = json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256"));
			if (json_object_size(p->allowed) >= REPOPUB_ALLOWED_MAX)
				break;
			if (tuf_target_name_ok(name) && strlen(name) <= TUF_MAX_TARGET_BYTES &&
			    json_is_integer(lj) && json_integer_value(lj) >= 0 && sha != NULL &&
			    hex_sha256_ok(sha))
				json_object_set_new(p->allowed, name, json_pack("{s:I, s:s}", "length",
				                    json_integer_value(lj), "sha256", sha));
		}
	free(text);
	json_decref(md);
}

/* The folders of path under the publication. */
static int repopub_parents(int srcfd, char *path)
{
	char *slash;
	int rc = 0;

	for (slash = strchr(path, '/'); rc == 0 && slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdirat(srcfd, path, 0700) != 0 && errno != EEXIST)
			rc = TE_ERR_IO;
		*slash = '/';
	}
	return rc;
}

void api_repo_pub_put(struct http_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	struct repopub_chunk c;
	const char *field = NULL;
	const uint8_t *bytes;
	const json_t *want;
	struct statvfs vfs;
	struct stat st;
	struct repopub *p;
	size_t len = 0;
	int fd, rc;

	if ((p = repopub_find(r)) == NULL)
		return;
	if (p->state != PUB_UPLOADING) {
		http_error(r, 409, "conflict", "publication %s is %s; it takes no more files", p->id,
		           repopub_state_names[p->state]);
		return;
	}
	if ((rc = repopub_chunk_parse(uri != NULL ? evhttp_uri_get_query(uri) : NULL, &c,
	                              &field)) != 0) {
		http_error(r, 400, "bad_request", "query \"%s\" is %s (want ?path=metadata/NAME.json"
		           " or targets/NAME&size=N&offset=N)", field,
		           rc == TE_ERR_NOT_FOUND ? "required" : "not valid");
		return;
	}
	if ((bytes = http_req_raw_body(r, &len)) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if ((int64_t)len > c.size - c.offset) {
		http_error(r, 400, "bad_request", "%zu bytes from offset %lld run past the declared "
		           "size %lld", len, (long long)c.offset, (long long)c.size);
		return;
	}
	if (c.is_target) {
		want = json_object_get(p->allowed, c.path + 8);
		if (want == NULL) {
			http_error(r, 400, "bad_request", "%s: no uploaded role lists this target "
			           "(upload the metadata first)", c.path);
			return;
		}
		if (json_integer_value(json_object_get(want, "length")) != c.size) {
			http_error(r, 400, "bad_request", "%s: size %lld, but its role declares %lld",
			           c.path, (long long)c.size,
			           (long long)json_integer_value(json_object_get(want, "length")));
			return;
		}
	}
	fd = openat(p->srcfd, c.path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* A new file: within the publication's bounds, and leaving the
		 * disk its reserve. */
		if (p->bytes + c.size > REPOPUB_BYTES_MAX ||
		    (!c.is_target && p->nmeta >= REPOPUB_META_MAX)) {
			http_error(r, 413, "too_large", "publication %s would pass its bound (%lld bytes,"
			           " %d metadata files)", p->id, (long long)REPOPUB_BYTES_MAX,
			           REPOPUB_META_MAX);
			return;
		}
		if (fstatvfs(p->srcfd, &vfs) != 0 ||
		    (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize < c.size + REPOPUB_RESERVE_BYTES) {
			log_warn("repository: publication %s: no room for %s (%lld bytes)", p->id, c.path,
			         (long long)c.size);
			http_error(r, 507, "disk_full", "the server has no room for %s (%lld bytes and "
			           "its reserve)", c.path, (long long)c.size);
			return;
		}
		if (repopub_parents(p->srcfd, c.path) != 0 ||
		    (fd = openat(p->srcfd, c.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                 0600)) < 0) {
			http_error(r, 400, "bad_request", "%s cannot be kept beside the publication's "
			           "other files (%s)", c.path, strerror(errno));
			return;
		}
		p->bytes += c.size;
		p->nmeta += !c.is_target;
	} else if (fd < 0) {
		http_error(r, 400, "bad_request", "%s cannot be written (%s)", c.path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		http_error(r, 400, "bad_request", "%s is not a file", c.path);
		return;
	}
	if (st.st_size > c.size && ftruncate(fd, 0) == 0)
		st.st_size = 0;                       /* another size now: start again */
	if (c.offset == st.st_size && len > 0) {
		if (pwrite(fd, bytes, len, (off_t)c.offset) != (ssize_t)len || fdatasync(fd) != 0) {
			close(fd);
			http_error(r, 503, "storage", "cannot write %s (%s)", c.path, strerror(errno));
			return;
		}
		st.st_size = c.offset + (off_t)len;
		if (!c.is_target && st.st_size == c.size)
			repopub_allow_role(p, c.path);
	}
	close(fd);
	/* A chunk not at the end of what is here writes nothing: the client
	 * goes on from have. */
	http_reply(r, 200, json_pack("{s:s, s:I, s:b}", "path", c.path, "have",
	                             (json_int_t)st.st_size, "done", st.st_size == c.size));
}

/* The targets the roles list that the server keeps no copy of yet and
 * whose upload is not whole. */
static json_t *repopub_need(struct server *srv, struct repopub *p, int *more)
{
	const json_t *t;
	char kept[TUF_MAX_NAME_BYTES + 96], up[TUF_MAX_TARGET_BYTES + 16];
	json_t *need = json_array();
	const char *name, *base;
	struct stat st;
	int64_t length;

	*more = 0;
	json_object_foreach(p->allowed, name, t) {
		length = json_integer_value(json_object_get(t, "length"));
		base = strrchr(name, '/');
		snprintf(kept, sizeof(kept), "%.*s%s%s.%s", base != NULL ? (int)(base - name) : 0,
		         name, base != NULL ? "/" : "",
		         json_string_value(json_object_get(t, "sha256")), base != NULL ? base + 1 : name);
		if (fstatat(repo_targets_fd(srv), kept, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size == length)
			continue;                      /* kept (the import checks its hash again) */
		snprintf(up, sizeof(up), "targets/%s", name);
		if (fstatat(p->srcfd, up, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == length)
			continue;
		if (json_array_size(need) >= REPOPUB_NEED_MAX) {
			*more = 1;
			break;
		}
		json_array_append_new(need, json_pack("{s:s, s:I}", "name", name, "length",
		                                      (json_int_t)length));
	}
	return need;
}

void api_repo_pub_get(struct http_req *r)
{
	struct repopub *p;
	json_t *o;
	int more = 0;

	if ((p = repopub_find(r)) == NULL)
		return;
	o = json_pack("{s:s, s:s, s:s}", "id", p->id, "state", repopub_state_names[p->state],
	              "user", p->user);
	if (o != NULL && p->state == PUB_UPLOADING) {
		json_object_set_new(o, "need", repopub_need(r->srv, p, &more));
		json_object_set_new(o, "need_more", json_boolean(more));
	}
	if (o != NULL && p->state >= PUB_PUBLISHED)
		json_object_set_new(o, "detail", json_string(p->detail));
	http_reply(r, 200, o);
}

/* ---- the import, on a thread of its own ----------------------------------------- */

static void *repopub_thread(void *arg)
{
	struct repopub_set *s = arg;
	char b = 1;

	s->rc = repoimport_run_at(&s->dirs, s->msg, sizeof(s->msg));
	while (write(s->wake[1], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* On the loop, when the thread is done. */
static void repopub_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct repopub_set *s = srv->repopub;
	struct repopub *p = s->running;
	char b;

	(void)what;
	while (read(fd, &b, 1) < 0 && errno == EINTR)
		;
	pthread_join(s->th, NULL);
	s->busy = 0;
	close(s->dirs.metafd);
	close(s->dirs.targetsfd);
	s->dirs.metafd = s->dirs.targetsfd = -1;
	s->running = NULL;
	p->state = s->rc == 0 ? PUB_PUBLISHED : PUB_REFUSED;
	p->touched = server_now();
	snprintf(p->detail, sizeof(p->detail), "%s", s->msg);
	/* What was not taken in is not kept. */
	close(p->srcfd);
	p->srcfd = -1;
	repopub_rmtree(s->incomingfd, p->id, TUF_MAX_NAME_BYTES / 2);
	log_info("repository: publication %s of %s %s", p->id, p->user,
	         repopub_state_names[p->state]);
	server_audit(srv, p->user, s->rc == 0 ? "repo_published" : "repo_refused",
	             json_pack("{s:s, s:s, s:s, s:I}", "publication", p->id, "result",
	                       repopub_state_names[p->state], "detail", p->detail, "bytes",
	                       (json_int_t)p->bytes));
}

void api_repo_pub_publish(struct http_req *r)
{
	struct repopub_set *s;
	struct repopub *p;
	sigset_t all, old;
	int rc;

	if ((p = repopub_find(r)) == NULL)
		return;
	s = r->srv->repopub;
	if (p->state != PUB_UPLOADING) {
		http_error(r, 409, "conflict", "publication %s is %s already", p->id,
		           repopub_state_names[p->state]);
		return;
	}
	if (s->busy) {
		http_retry_after(r, 2);
		http_error(r, 409, "busy", "another publication is being checked; try again in a "
		           "moment");
		return;
	}
	if (s->wake_ev == NULL) {
		if (pipe2(s->wake, O_CLOEXEC) != 0 ||
		    (s->wake_ev = event_new(r->srv->base, s->wake[0], EV_READ | EV_PERSIST,
		                            repopub_done_cb, r->srv)) == NULL ||
		    event_add(s->wake_ev, NULL) != 0) {
			http_error(r, 503, "internal", "cannot start the check (%s)", strerror(errno));
			return;
		}
	}
	/* Opens of its own: the loop reads these folders meanwhile. */
	s->dirs.metafd = openat(repo_metadata_fd(r->srv), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->dirs.targetsfd = openat(repo_targets_fd(r->srv), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->dirs.srcfd = p->srcfd;
	s->dirs.online[0] = s->online[0];
	s->dirs.online[1] = s->online[1];
	s->dirs.take_targets = 1;
	s->msg[0] = '\0';
	s->running = p;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = s->dirs.metafd < 0 || s->dirs.targetsfd < 0 ? TE_ERR_IO :
	     pthread_create(&s->th, NULL, repopub_thread, s) != 0 ? TE_ERR_SYS : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (s->dirs.metafd >= 0)
			close(s->dirs.metafd);
		if (s->dirs.targetsfd >= 0)
			close(s->dirs.targetsfd);
		s->dirs.metafd = s->dirs.targetsfd = -1;
		s->running = NULL;
		http_error(r, 503, "internal", "cannot start the check (%s)", te_strerror(rc));
		return;
	}
	s->busy = 1;
	p->state = PUB_IMPORTING;
	log_info("repository: publication %s of %s is being checked", p->id, p->user);
	http_reply(r, 202, json_pack("{s:s, s:s}", "id", p->id, "state", "importing"));
}

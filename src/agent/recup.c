/* recup.c: send finished shell recordings to the server (recup.h). */
#include "recup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agentaudit.h"
#include "castfile.h"
#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "text.h"

/* One request in flight; its answer finds u NULL once recup_free ran. */
struct recup_op {
	struct recup *u;
};

struct recup {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	recup_live_fn live;
	void *live_arg;
	struct event *kick_ev, *retry_ev;
	struct recup_op *inflight;
	int retry_s;                       /* the next wait after a failure */
	/* the file being sent */
	int fd;
	char session[MAX_NAME_BYTES];
	char name[CASTFILE_NAME_BYTES];
	char sha256[65];
	uint64_t size, offset;
	uint8_t *chunk;
	char *text;
};

#define RECUP_TEXT_BYTES ((CASTFILE_CHUNK_BYTES / 3 + 2) * 4 + 1)

static void recup_send(struct recup *u);

/* recordings_dir/NAME plus suffix. */
static int recup_path(const struct recup *u, const char *name, const char *suffix,
                      char out[PATH_MAX])
{
	int w = snprintf(out, PATH_MAX, "%s/%s%s", u->conf->recordings_dir, name, suffix);

	return w < 0 || w >= PATH_MAX ? TE_ERR_TOO_LONG : 0;
}

static int recup_has_marker(const struct recup *u, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	return (recup_path(u, name, RECUP_SENT_SUFFIX, p) != 0 || lstat(p, &st) == 0) ||
	       (recup_path(u, name, RECUP_REFUSED_SUFFIX, p) != 0 || lstat(p, &st) == 0);
}

/* Write the marker (what: the server's reason for .refused) whole and
 * durably (filerepl.h: a temporary file, fsync, rename, fsync of the folder;
 * its NAME.sent.tmp never passes castfile_name_ok, so no scan takes it). */
static void recup_mark(struct recup *u, const char *suffix, const char *what)
{
	char p[PATH_MAX], text[1100];
	int n = snprintf(text, sizeof(text), "%s\n", what != NULL ? what : "");

	if (recup_path(u, u->name, suffix, p) != 0 ||
	    file_replace(p, text, what == NULL || n <= 0 ? 0 :
	                 (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1) != 0)
		log_error("recording %s: cannot mark it %s: %s", u->name, suffix, strerror(errno));
}

static void recup_close_file(struct recup *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->name[0] = '\0';
}

/* The next recording to send, opened and hashed; 0 when there is none. */
static int recup_next_file(struct recup *u)
{
	struct dirent *de;
	DIR *d;
	const char *dash;
	size_t sl;
	int found = 0;

	if ((d = opendir(u->conf->recordings_dir)) == NULL)
		return 0;   /* none recorded yet */
	while (!found && (de = readdir(d)) != NULL) {
		if ((dash = strchr(de->d_name, '-')) == NULL ||
		    (sl = (size_t)(dash - de->d_name)) >= sizeof(u->session))
			continue;
		memcpy(u->session, de->d_name, sl);
		u->session[sl] = '\0';
		if (!castfile_name_ok(u->session, de->d_name) || recup_has_marker(u, de->d_name) ||
		    u->live(u->live_arg, u->session))
			continue;
		memcpy(u->name, de->d_name, strlen(de->d_name) + 1);   /* name_ok: it fits */
		u->fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (u->fd < 0 || castfile_sha256_fd(u->fd, &u->size, u->sha256) != 0) {
			log_error("recording %s: cannot read it: %s", de->d_name, strerror(errno));
			recup_close_file(u);
			continue;
		}
		u->offset = 0;
		found = 1;
	}
	closedir(d);
	return found;
}

static void recup_retry_later(struct recup *u, const char *why)
{
	struct timeval tv = { u->retry_s, 0 };

	log_warn("recording %s: not sent now (%s); tried again in %d s", u->name, why,
	         u->retry_s);
	recup_close_file(u);
	evtimer_add(u->retry_ev, &tv);
	u->retry_s = u->retry_s * 2 > RECUP_RETRY_MAX_S ? RECUP_RETRY_MAX_S : u->retry_s * 2;
}

static void recup_next(struct recup *u)
{
	recup_close_file(u);
	if (recup_next_file(u))
		recup_send(u);
}

static void recup_answer(int status, const char *body, size_t len, const char *err,
                         void *arg)
{
	struct recup_op *op = arg;
	struct recup *u = op->u;
	char raw[256], why[1024];
	json_t *j = NULL;
	json_int_t have;

	free(op);
	if (u == NULL)
		return;              /* recup_free ran */
	u->inflight = NULL;
	if (status == 200 && (j = json_loadb(body, len, 0, NULL)) != NULL &&
	    json_is_integer(json_object_get(j, "have")) &&
	    (have = json_integer_value(json_object_get(j, "have"))) >= 0 &&
	    (uint64_t)have <= u->size) {
		if (json_is_true(json_object_get(j, "done"))) {
			recup_mark(u, RECUP_SENT_SUFFIX, NULL);
			agentaudit_log(u->conf, "agent", "recording_sent",
			               "session %s: %s size %llu sha256 %s", u->session, u->name,
			               (unsigned long long)u->size, u->sha256);
			log_info("recording %s: sent to the server", u->name);
			u->retry_s = RECUP_RETRY_MIN_S;
			json_decref(j);
			recup_next(u);
			return;
		}
		u->offset = (uint64_t)have;
		json_decref(j);
		recup_send(u);
		return;
	}
	json_decref(j);
	if (status >= 400 && status < 500 && status != 408 && status != 429) {
		/* The server will never take it: keep its word, go on. */
		snprintf(raw, sizeof(raw), "%d %.*s", status, (int)(len > 200 ? 200 : len),
		         body != NULL ? body : "");
		text_escape_display(raw, why, sizeof(why));   /* the server's words */
		recup_mark(u, RECUP_REFUSED_SUFFIX, why);
		agentaudit_log(u->conf, "agent", "recording_refused", "session %s: %s: %s",
		               u->session, u->name, why);
		log_warn("recording %s: the server refused it: %s", u->name, why);
		recup_next(u);
		return;
	}
	snprintf(why, sizeof(why), "%s", status == 0 ? (err != NULL ? err : "no answer") :
	         status == 200 ? "an answer it could not read" : "server error");
	recup_retry_later(u, why);
}

static void recup_send(struct recup *u)
{
	struct recup_op *op = NULL;
	char *body = NULL;
	ssize_t n;
	json_t *j;
	size_t want = u->size - u->offset > CASTFILE_CHUNK_BYTES ? CASTFILE_CHUNK_BYTES
	                                                         : (size_t)(u->size - u->offset);

	do
		n = pread(u->fd, u->chunk, want, (off_t)u->offset);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)want) {
		recup_retry_later(u, "the file changed while it was sent");
		return;
	}
	if (b64url_encode(u->chunk, want, u->text, RECUP_TEXT_BYTES) != 0 ||
	    (j = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "session", u->session, "name",
	                   u->name, "size", (json_int_t)u->size, "sha256", u->sha256,
	                   "offset", (json_int_t)u->offset, "data", u->text)) == NULL) {
		recup_retry_later(u, "out of memory");
		return;
	}
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL || (op = calloc(1, sizeof(*op))) == NULL) {
		free(body);
		recup_retry_later(u, "out of memory");
		return;
	}
	op->u = u;
	if (apiq_post(u->api, "/api/v1/device/recording", body, recup_answer, op) != 0) {
		free(op);
		free(body);
		recup_retry_later(u, "cannot queue the request");
		return;
	}
	u->inflight = op;
	free(body);
}

static void recup_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct recup *u = arg;

	(void)fd;
	(void)what;
	/* Busy: the folder is looked at again once the current file is done. */
	if (u->inflight == NULL && u->fd < 0)
		recup_next(u);
}

void recup_kick(struct recup *u)
{
	if (u != NULL && !evtimer_pending(u->retry_ev, NULL))
		event_active(u->kick_ev, EV_TIMEOUT, 0);
}

int recup_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
              recup_live_fn live, void *arg, struct recup **out)
{
	struct recup *u;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return TE_ERR_NOMEM;
	u->base = base;
	u->conf = conf;
	u->api = api;
	u->live = live;
	u->live_arg = arg;
	u->fd = -1;
	u->retry_s = RECUP_RETRY_MIN_S;
	if ((u->kick_ev = evtimer_new(base, recup_kick_cb, u)) == NULL ||
	    (u->retry_ev = evtimer_new(base, recup_kick_cb, u)) == NULL ||
	    (u->chunk = malloc(CASTFILE_CHUNK_BYTES)) == NULL ||
	    (u->text = malloc(RECUP_TEXT_BYTES)) == NULL) {
		recup_free(u);
		return TE_ERR_NOMEM;
	}
	*out = u;
	return 0;
}

void recup_free(struct recup *u)
{
	if (u == NULL)
		return;
	if (u->inflight != NULL)
		u->inflight->u = NULL;
	if (u->kick_ev != NULL)
		event_free(u->kick_ev);
	if (u->retry_ev != NULL)
		event_free(u->retry_ev);
	recup_close_file(u);
	free(u->chunk);
	free(u->text);
	free(u);
}

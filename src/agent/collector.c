/* collector.c: a collection's run in the network part (collect.h): the
 * reader's frames into state_dir/outbox, then each file to the server. */
#include "collect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "actenv.h"
#include "agentaudit.h"
#include "clockoff.h"
#include "codec.h"
#include "collectmsg.h"
#include "diag.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "monitor.h"
#include "secret.h"
#include "text.h"

#define COLLECTOR_PART "cur.part"

struct collector_op {
	struct collector *c;
	size_t len;                 /* the raw chunk's bytes; 0 for a JSON request */
};

struct collector_sched;

struct collector {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	char outbox[AGENT_PATH_BYTES];
	struct collector_sched *sched[AGENT_MAX_COLLECT];
	/* the run under way */
	const struct agent_collect *run;
	struct spawn_handle child;
	int fd;
	struct event *rd;
	struct evbuffer *in;
	time_t deadline;
	int64_t run_at;
	unsigned nfiles, nrefused;
	char activity[ACTENV_ID_BYTES];    /* the activity the run is for, "" none */
	collector_done_fn done;            /* told when the run ends (activity runs) */
	void *done_arg;
	char summary[COLLECT_SUMMARY_BYTES]; /* what the run kept and refused */
	int part_fd;                       /* the file being received, or -1 */
	EVP_MD_CTX *md;
	uint64_t part_size;
	char part_name[COLLECTMSG_PATH_MAX];
	int64_t part_mtime;
	/* the upload under way */
	struct event *kick_ev, *retry_ev, *pace_ev;
	struct collector_op *inflight;
	int retry_s;
	int up_fd;
	char up_name[NAME_MAX + 1];        /* the outbox entry, without .json */
	json_t *up_meta;
	uint64_t up_size, up_offset;
	struct timeval up_sent;
	int probe;                         /* the next request asks what the server holds */
	int big;                           /* large chunks may go (COLLECT_BIG_CHUNK_BYTES) */
	uint8_t *chunk;
};

static void collector_upload_next(struct collector *c);

/* ---- the outbox ------------------------------------------------------------- */

static int collector_path(const struct collector *c, const char *name, const char *suffix,
                          char out[PATH_MAX])
{
	int w = snprintf(out, PATH_MAX, "%s/%s%s", c->outbox, name, suffix);

	return w < 0 || w >= PATH_MAX ? TE_ERR_TOO_LONG : 0;
}

/* 1 when the outbox still holds an entry of collection name. */
static int collector_pending(const struct collector *c, const char *name)
{
	struct dirent *de;
	size_t n = strlen(name);
	int found = 0;
	DIR *d;

	if ((d = opendir(c->outbox)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, name, n) == 0 && de->d_name[n] == '+';
	closedir(d);
	return found;
}

/* Keep an entry's description (and its data file, already renamed). */
static int collector_keep_meta(struct collector *c, const char *name, json_t *meta)
{
	char p[PATH_MAX], *text = json_dumps(meta, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	rc = collector_path(c, name, ".json", p) == 0 ? file_replace(p, text, strlen(text))
	                                              : TE_ERR_TOO_LONG;
	free(text);
	return rc;
}

/* ---- the reader's frames -------------------------------------------------------- */

static void collector_part_drop(struct collector *c)
{
	char p[PATH_MAX];

	if (c->part_fd >= 0)
		close(c->part_fd);
	c->part_fd = -1;
	if (collector_path(c, COLLECTOR_PART, "", p) == 0)
		(void)unlink(p);
}

/* One line of the run's summary (an activity's output), while it fits. */
static void collector_note(struct collector *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void collector_note(struct collector *c, const char *fmt, ...)
{
	size_t len = strlen(c->summary);
	va_list ap;
	int w;

	if (len + 2 >= sizeof(c->summary))
		return;
	va_start(ap, fmt);
	w = vsnprintf(c->summary + len, sizeof(c->summary) - len - 1, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(c->summary) - len - 1) {
		c->summary[len] = '\0';          /* a whole line or none */
		return;
	}
	strcat(c->summary, "\n");
}

/* The entry's description with the activity the run is for. */
static json_t *collector_with_activity(struct collector *c, json_t *meta)
{
	if (meta != NULL && c->activity[0] != '\0')
		json_object_set_new(meta, "activity", json_string(c->activity));
	return meta;
}

static void collector_refused(struct collector *c, const char *path, const char *why)
{
	char name[NAME_MAX + 1];
	json_t *meta;

	c->nrefused++;
	agentaudit_log(c->conf, "agent", "file_refused", "collection %s: %s: %s", c->run->name,
	               path, why);
	log_warn("collection %s: %s not sent: %s", c->run->name, path, why);
	snprintf(name, sizeof(name), "%s+%lld-%04u", c->run->name, (long long)c->run_at,
	         c->nfiles + c->nrefused);
	collector_note(c, "refused %s: %s", path, why);
	meta = collector_with_activity(c, json_pack("{s:s, s:s, s:s, s:I}", "collection",
	                               c->run->name, "path", path, "refused", why, "collected_at",
	                               (json_int_t)c->run_at));
	if (meta == NULL || collector_keep_meta(c, name, meta) != 0)
		log_error("collection %s: cannot keep the refusal of %s for the server",
		          c->run->name, path);
	json_decref(meta);
}

static int collector_file_begin(struct collector *c, const struct collectmsg *m)
{
	char p[PATH_MAX];

	collector_part_drop(c);
	if (collector_path(c, COLLECTOR_PART, "", p) != 0 ||
	    (c->part_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	                       0600)) < 0 ||
	    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
		log_error("collection %s: cannot spool %s: %s", c->run->name, m->path,
		          strerror(errno));
		collector_part_drop(c);
		return TE_ERR_IO;
	}
	snprintf(c->part_name, sizeof(c->part_name), "%s", m->path);
	c->part_mtime = m->mtime;
	c->part_size = 0;
	return 0;
}

static int collector_file_data(struct collector *c, const struct collectmsg *m)
{
	if (c->part_fd < 0)
		return TE_ERR_PROTOCOL;
	if (fd_write_all(c->part_fd, m->data, m->len) != 0) {
		log_error("collection %s: cannot spool %s: %s", c->run->name, c->part_name,
		          strerror(errno));
		return TE_ERR_IO;
	}
	EVP_DigestUpdate(c->md, m->data, m->len);
	c->part_size += m->len;
	return 0;
}

static int collector_file_end(struct collector *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char sha[SHA256_HEX_BYTES], name[NAME_MAX + 1], from[PATH_MAX], to[PATH_MAX];
	json_t *meta;

	if (c->part_fd < 0)
		return TE_ERR_PROTOCOL;
	if (fsync(c->part_fd) != 0 || EVP_DigestFinal_ex(c->md, md, &mdlen) != 1 ||
	    hex_encode(md, mdlen, sha, sizeof(sha)) != 0) {
		collector_part_drop(c);
		return TE_ERR_IO;
	}
	close(c->part_fd);
	c->part_fd = -1;
	c->nfiles++;
	snprintf(name, sizeof(name), "%s+%lld-%04u", c->run->name, (long long)c->run_at,
	         c->nfiles + c->nrefused);
	meta = collector_with_activity(c, json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}",
	                               "collection", c->run->name, "path", c->part_name, "size",
	                               (json_int_t)c->part_size, "sha256", sha, "mtime",
	                               (json_int_t)c->part_mtime, "collected_at",
	                               (json_int_t)c->run_at));
	/* The data first, then its description: an entry is whole or absent. */
	if (meta == NULL || collector_path(c, COLLECTOR_PART, "", from) != 0 ||
	    collector_path(c, name, ".data", to) != 0 || rename(from, to) != 0 ||
	    collector_keep_meta(c, name, meta) != 0) {
		log_error("collection %s: cannot keep %s: %s", c->run->name, c->part_name,
		          strerror(errno));
		json_decref(meta);
		return TE_ERR_IO;
	}
	json_decref(meta);
	agentaudit_log(c->conf, "agent", "file_collected", "collection %s: %s size %llu "
	               "sha256 %s", c->run->name, c->part_name, (unsigned long long)c->part_size,
	               sha);
	collector_note(c, "kept %s (%llu bytes, sha256 %s)", c->part_name,
	               (unsigned long long)c->part_size, sha);
	return 0;
}

static void collector_run_end(struct collector *c, const char *fail)
{
	collector_done_fn done = c->done;
	void *done_arg = c->done_arg;

	if (c->rd != NULL) {
		event_free(c->rd);
		c->rd = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	collector_part_drop(c);
	monitor_spawn_stop(&c->child);
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	if (fail != NULL) {
		log_error("collection %s: the run stopped: %s", c->run->name, fail);
		agentaudit_log(c->conf, "agent", "collection_failed", "collection %s: %s",
		               c->run->name, fail);
	} else {
		log_info("collection %s: %u file(s) kept for the server, %u refused", c->run->name,
		         c->nfiles, c->nrefused);
		agentaudit_log(c->conf, "agent", "collection_done", "collection %s: %u file(s), "
		               "%u refused", c->run->name, c->nfiles, c->nrefused);
	}
	c->run = NULL;
	c->done = NULL;
	c->activity[0] = '\0';
	if (done != NULL)
		done(done_arg, fail, c->nfiles, c->nrefused, c->summary);
	collector_upload_next(c);
}

/* Handle every whole frame in the buffer; 1 when the run ended. */
static int collector_frames(struct collector *c)
{
	struct collectmsg m;
	size_t avail, used;
	const uint8_t *p;
	int rc;

	while ((avail = evbuffer_get_length(c->in)) > 0) {
		if (avail > COLLECTMSG_HEAD + COLLECTMSG_DATA_MAX + COLLECTMSG_PATH_MAX)
			avail = COLLECTMSG_HEAD + COLLECTMSG_DATA_MAX + COLLECTMSG_PATH_MAX;
		if ((p = evbuffer_pullup(c->in, (ev_ssize_t)avail)) == NULL)
			return collector_run_end(c, "out of memory"), 1;
		rc = collectmsg_parse(p, avail, &m, &used);
		if (rc == TE_ERR_TRUNCATED)
			return 0;
		if (rc != 0)
			return collector_run_end(c, "the reader broke its protocol"), 1;
		switch (m.type) {
		case COLLECTMSG_FILE:
			rc = collector_file_begin(c, &m);
			break;
		case COLLECTMSG_DATA:
			rc = collector_file_data(c, &m);
			break;
		case COLLECTMSG_END_FILE:
			rc = collector_file_end(c);
			break;
		case COLLECTMSG_ABORT:
			collector_part_drop(c);
			collector_refused(c, c->part_name, m.why);
			break;
		case COLLECTMSG_REFUSED:
			collector_refused(c, m.path, m.why);
			break;
		case COLLECTMSG_END:
			evbuffer_drain(c->in, used);
			return collector_run_end(c, NULL), 1;
		}
		evbuffer_drain(c->in, used);
		if (rc == TE_ERR_PROTOCOL)
			return collector_run_end(c, "the reader broke its protocol"), 1;
		if (rc != 0)
			return collector_run_end(c, "the outbox could not be written"), 1;
	}
	return 0;
}

static void collector_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	int n;

	if ((what & EV_TIMEOUT) || time(NULL) >= c->deadline) {
		collector_run_end(c, "the reader ran past its time limit");
		return;
	}
	n = evbuffer_read(c->in, fd, COLLECTMSG_DATA_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		(void)collector_frames(c);
		return;
	}
	collector_run_end(c, "the reader ended before its last frame");
}

int collector_run(struct collector *c, const char *name)
{
	return collector_run_for(c, name, NULL, NULL, NULL);
}

int collector_run_for(struct collector *c, const char *name, const char *activity,
                      collector_done_fn done, void *arg)
{
	const struct agent_collect *col = agentconf_collect(c->conf, name);
	struct agent_diag d;
	struct timeval tv = { COLLECT_RUN_MAX_S, 0 };
	char why[SPAWN_TEXT_BYTES];
	int rc;

	if (col == NULL)
		return TE_ERR_NOT_FOUND;
	if (c->run != NULL || collector_pending(c, name)) {
		log_info("collection %s: not run now (%s)", name, c->run != NULL ?
		         "another run is under way" : "the last run's files are still being sent");
		return TE_ERR_EXISTS;
	}
	/* The request names the collection; the monitor writes the rest. */
	memset(&d, 0, sizeof(d));
	snprintf(d.buf, sizeof(d.buf), "collect-read%c%s", '\0', name);
	d.args[0] = 0;
	d.args[1] = strlen("collect-read") + 1;
	d.argc = 2;
	if ((rc = diag_spawn_output(c->conf, &d, SPAWN_KIND_COLLECT, name, 0, -1, &c->child, &c->fd,
	                            why, sizeof(why))) != 0) {
		log_error("collection %s: the reader did not start: %s", name, why);
		agentaudit_log(c->conf, "agent", "collection_failed", "collection %s: %s", name, why);
		return rc;
	}
	c->run = col;
	c->run_at = clockoff_now();
	c->nfiles = c->nrefused = 0;
	c->summary[0] = '\0';
	snprintf(c->activity, sizeof(c->activity), "%s", activity != NULL ? activity : "");
	c->done = done;
	c->done_arg = arg;
	c->deadline = time(NULL) + COLLECT_RUN_MAX_S;
	if ((c->rd = event_new(c->base, c->fd, EV_READ | EV_PERSIST, collector_on_read, c)) == NULL ||
	    event_add(c->rd, &tv) != 0)
		collector_run_end(c, "out of memory");
	return 0;
}

/* A scheduled collection: soon after the start, then every every_s. */
struct collector_sched {
	struct collector *c;
	const struct agent_collect *col;
	struct event *ev;
};

static void collector_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector_sched *s = arg;
	struct timeval tv = { s->col->every_s, 0 };

	(void)fd;
	(void)what;
	/* Another collection's run is under way: this one goes next. */
	if (collector_run(s->c, s->col->name) == TE_ERR_EXISTS && s->c->run != NULL)
		tv.tv_sec = COLLECT_FIRST_RUN_S;
	evtimer_add(s->ev, &tv);
}

/* ---- the upload ------------------------------------------------------------------ */

static void collector_up_close(struct collector *c)
{
	if (c->up_fd >= 0)
		close(c->up_fd);
	c->up_fd = -1;
	json_decref(c->up_meta);
	c->up_meta = NULL;
	c->up_name[0] = '\0';
}

static void collector_up_forget(struct collector *c)
{
	char p[PATH_MAX];

	if (collector_path(c, c->up_name, ".data", p) == 0)
		(void)unlink(p);
	if (collector_path(c, c->up_name, ".json", p) == 0)
		(void)unlink(p);
	collector_up_close(c);
}

static void collector_retry_later(struct collector *c, const char *why)
{
	struct timeval tv = { c->retry_s, 0 };

	log_warn("file %s: not sent now (%s); tried again in %d s", c->up_name, why, c->retry_s);
	collector_up_close(c);
	evtimer_add(c->retry_ev, &tv);
	c->retry_s = c->retry_s * 2 > COLLECT_RETRY_MAX_S ? COLLECT_RETRY_MAX_S : c->retry_s * 2;
}

static void collector_send(struct collector *c);

/* The next chunk from have on, no sooner than upload_rate allows for the
 * bytes the last one carried. */
static void collector_pace(struct collector *c, uint64_t have)
{
	struct timeval now, wait;
	uint64_t sent = have > c->up_offset ? have - c->up_offset : 0;
	int64_t need_us, took_us;

	if (c->probe) {
		/* The first request of an entry carries no data: the answer is
		 * what the server holds of it already (an upload cut earlier). */
		c->probe = 0;
		c->big = apiq_keeps_connection(c->api);
		if (have > 0)
			log_info("file %s: the server holds %llu of %llu bytes; resuming there",
			         c->up_name, (unsigned long long)have, (unsigned long long)c->up_size);
		sent = 0;
	}

	c->up_offset = have;
	if (c->conf->upload_rate <= 0 || sent == 0) {
		collector_send(c);
		return;
	}
	gettimeofday(&now, NULL);
	need_us = (int64_t)(sent * 1000000ULL / (uint64_t)c->conf->upload_rate);
	took_us = (int64_t)(now.tv_sec - c->up_sent.tv_sec) * 1000000 +
	          (now.tv_usec - c->up_sent.tv_usec);
	if (took_us >= need_us) {
		collector_send(c);
		return;
	}
	wait.tv_sec = (need_us - took_us) / 1000000;
	wait.tv_usec = (need_us - took_us) % 1000000;
	evtimer_add(c->pace_ev, &wait);
}

static void collector_answer(int status, const char *body, size_t len, const char *err,
                             void *arg)
{
	struct collector_op *op = arg;
	struct collector *c = op->c;
	const char *path, *coll;
	char raw[256], why[1024];
	json_t *j = NULL;
	json_int_t have;

	size_t sent_len = op->len;

	free(op);
	if (c == NULL)
		return;
	c->inflight = NULL;
	if (sent_len > COLLECT_CHUNK_BYTES && (status == 0 || status == 413)) {
		/* A large chunk on a connection the server had not yet seen this
		 * device on (it was closed and made again): small ones from here. */
		log_info("file %s: a chunk of %zu bytes was %s; going on with chunks of %d",
		         c->up_name, sent_len, status == 0 ? "not answered" : "too large now",
		         COLLECT_CHUNK_BYTES);
		c->big = 0;
		if (status == 413) {
			collector_send(c);
			return;
		}
	}
	path = json_string_value(json_object_get(c->up_meta, "path"));
	coll = json_string_value(json_object_get(c->up_meta, "collection"));
	if (status == 200 && (j = json_loadb(body, len, 0, NULL)) != NULL &&
	    json_is_integer(json_object_get(j, "have")) &&
	    (have = json_integer_value(json_object_get(j, "have"))) >= 0 &&
	    (uint64_t)have <= c->up_size) {
		if (json_is_true(json_object_get(j, "done"))) {
			if (json_object_get(c->up_meta, "refused") != NULL)
				log_info("collection %s: the server has the refusal of %s", coll, path);
			else
				agentaudit_log(c->conf, "agent", "file_sent", "collection %s: %s size "
				               "%llu sha256 %s", coll, path, (unsigned long long)c->up_size,
				               json_string_value(json_object_get(c->up_meta, "sha256")));
			c->retry_s = COLLECT_RETRY_MIN_S;
			json_decref(j);
			collector_up_forget(c);
			collector_upload_next(c);
			return;
		}
		json_decref(j);
		collector_pace(c, (uint64_t)have);
		return;
	}
	json_decref(j);
	if (status >= 400 && status < 500 && status != 408 && status != 429) {
		snprintf(raw, sizeof(raw), "%d %.*s", status, (int)(len > 200 ? 200 : len),
		         body != NULL ? body : "");
		text_escape_display(raw, why, sizeof(why));
		agentaudit_log(c->conf, "agent", "file_not_taken", "collection %s: %s: %s", coll,
		               path, why);
		log_warn("collection %s: the server does not take %s: %s", coll, path, why);
		collector_up_forget(c);
		collector_upload_next(c);
		return;
	}
	snprintf(why, sizeof(why), "%s", status == 0 ? (err != NULL ? err : "no answer") :
	         status == 200 ? "an answer it could not read" : "server error");
	collector_retry_later(c, why);
}

/* The bytes the next raw chunk carries: at most two seconds' worth of
 * upload_rate, so that pacing stays smooth. */
static size_t collector_chunk_len(const struct collector *c)
{
	size_t max = c->big ? COLLECT_BIG_CHUNK_BYTES : COLLECT_CHUNK_BYTES;
	uint64_t left = c->up_size - c->up_offset;

	if (c->conf->upload_rate > 0 && (uint64_t)c->conf->upload_rate * 2 < max)
		max = (size_t)c->conf->upload_rate * 2 < 4096 ? 4096 :
		      (size_t)c->conf->upload_rate * 2;
	return left < max ? (size_t)left : max;
}

/* The entry's description with offset and no data: the first request (what
 * does the server hold?) and the last (the bytes are all there: check and
 * keep them), or a refusal's only one. */
static char *collector_json(struct collector *c)
{
	json_t *j = json_deep_copy(c->up_meta);
	char *body;

	if (j == NULL)
		return NULL;
	if (c->up_fd >= 0) {
		json_object_set_new(j, "offset", json_integer((json_int_t)c->up_offset));
		json_object_set_new(j, "data", json_string(""));
	}
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return body;
}

static void collector_send(struct collector *c)
{
	struct collector_op *op = calloc(1, sizeof(*op));
	const char *sha = json_string_value(json_object_get(c->up_meta, "sha256"));
	char *body = NULL, path[160];
	ssize_t n = 0;
	int rc;

	if (op == NULL) {
		collector_retry_later(c, "out of memory");
		return;
	}
	op->c = c;
	if (c->up_fd >= 0 && !c->probe && c->up_offset < c->up_size && sha != NULL) {
		/* made at the first upload: an agent that never collects keeps no
		 * 4 MiB buffer */
		if (c->chunk == NULL && (c->chunk = malloc(COLLECT_BIG_CHUNK_BYTES)) == NULL) {
			free(op);
			collector_retry_later(c, "out of memory");
			return;
		}
		op->len = collector_chunk_len(c);
		do
			n = pread(c->up_fd, c->chunk, op->len, (off_t)c->up_offset);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)op->len) {
			free(op);
			collector_retry_later(c, "the spooled file cannot be read");
			return;
		}
		snprintf(path, sizeof(path), "/api/v1/device/file?sha256=%.64s&size=%llu&offset=%llu",
		         sha, (unsigned long long)c->up_size, (unsigned long long)c->up_offset);
		gettimeofday(&c->up_sent, NULL);
		rc = apiq_put_bytes(c->api, path, c->chunk, op->len, collector_answer, op);
	} else {
		if ((body = collector_json(c)) == NULL) {
			free(op);
			collector_retry_later(c, "out of memory");
			return;
		}
		gettimeofday(&c->up_sent, NULL);
		rc = apiq_post(c->api, "/api/v1/device/file", body, collector_answer, op);
		free(body);
	}
	if (rc != 0) {
		free(op);
		collector_retry_later(c, "cannot queue the request");
		return;
	}
	c->inflight = op;
}

/* The oldest outbox entry, opened; 0 when there is none. */
static int collector_up_open(struct collector *c)
{
	struct dirent *de;
	char best[NAME_MAX + 1] = "", p[PATH_MAX], buf[4096];
	size_t n;
	ssize_t got;
	DIR *d;
	int fd;

	if ((d = opendir(c->outbox)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 || strchr(de->d_name, '+') == NULL)
			continue;
		if (best[0] == '\0' || strcmp(de->d_name, best) < 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (best[0] == '\0')
		return 0;
	best[strlen(best) - 5] = '\0';
	snprintf(c->up_name, sizeof(c->up_name), "%s", best);
	if (collector_path(c, best, ".json", p) != 0 ||
	    (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	c->up_meta = got > 0 ? json_loadb(buf, (size_t)got, 0, NULL) : NULL;
	if (!json_is_object(c->up_meta)) {
		log_error("outbox %s: unreadable, dropped", best);
		collector_up_forget(c);
		return -1;
	}
	c->up_size = (uint64_t)json_integer_value(json_object_get(c->up_meta, "size"));
	c->up_offset = 0;
	c->probe = 1;
	c->big = 0;
	if (json_object_get(c->up_meta, "refused") == NULL &&
	    (collector_path(c, best, ".data", p) != 0 ||
	     (c->up_fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)) {
		log_error("outbox %s: its data is missing, dropped", best);
		collector_up_forget(c);
		return -1;
	}
	return 1;
}

static void collector_upload_next(struct collector *c)
{
	int r;

	if (c->inflight != NULL || c->up_name[0] != '\0' || evtimer_pending(c->retry_ev, NULL))
		return;
	/* Bounded: a broken entry is dropped and the next one looked at. */
	for (int i = 0; i < 64 && (r = collector_up_open(c)) != 0; i++)
		if (r > 0) {
			collector_send(c);
			return;
		}
}

static void collector_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	(void)fd;
	(void)what;
	if (c->up_name[0] != '\0' && c->inflight == NULL)
		collector_send(c);
}

static void collector_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	collector_upload_next(arg);
}

int collector_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
                  struct collector **out)
{
	struct collector *c;
	size_t i;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TE_ERR_NOMEM;
	c->base = base;
	c->conf = conf;
	c->api = api;
	c->fd = c->part_fd = c->up_fd = -1;
	c->child.status_fd = -1;
	c->retry_s = COLLECT_RETRY_MIN_S;
	if (agentconf_state_path(conf, COLLECT_OUTBOX, c->outbox, sizeof(c->outbox)) != 0 ||
	    (mkdir(c->outbox, 0700) != 0 && errno != EEXIST)) {
		log_error("collections: cannot make %s: %s", c->outbox, strerror(errno));
		collector_free(c);
		return TE_ERR_IO;
	}
	if ((c->in = evbuffer_new()) == NULL || (c->md = EVP_MD_CTX_new()) == NULL ||
	    (c->kick_ev = evtimer_new(base, collector_kick_cb, c)) == NULL ||
	    (c->retry_ev = evtimer_new(base, collector_kick_cb, c)) == NULL ||
	    (c->pace_ev = evtimer_new(base, collector_pace_cb, c)) == NULL) {
		collector_free(c);
		return TE_ERR_NOMEM;
	}
	for (i = 0; i < conf->ncollects; i++) {
		struct collector_sched *s;

		if (conf->collects[i].every_s == 0)
			continue;
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->ev = evtimer_new(base, collector_sched_cb, s)) == NULL) {
			free(s);
			collector_free(c);
			return TE_ERR_NOMEM;
		}
		s->c = c;
		s->col = &conf->collects[i];
		c->sched[i] = s;
	}
	*out = c;
	return 0;
}

void collector_start(struct collector *c)
{
	struct timeval soon = { COLLECT_FIRST_RUN_S, 0 };

	for (size_t i = 0; i < AGENT_MAX_COLLECT; i++)
		if (c->sched[i] != NULL)
			evtimer_add(c->sched[i]->ev, &soon);
	event_active(c->kick_ev, EV_TIMEOUT, 0);
}

void collector_free(struct collector *c)
{
	if (c == NULL)
		return;
	if (c->run != NULL) {
		if (c->rd != NULL)
			event_free(c->rd);
		if (c->fd >= 0)
			close(c->fd);
		monitor_spawn_stop(&c->child);
	}
	if (c->part_fd >= 0)
		close(c->part_fd);
	if (c->inflight != NULL)
		c->inflight->c = NULL;
	for (size_t i = 0; i < AGENT_MAX_COLLECT; i++)
		if (c->sched[i] != NULL) {
			event_free(c->sched[i]->ev);
			free(c->sched[i]);
		}
	if (c->kick_ev != NULL)
		event_free(c->kick_ev);
	if (c->retry_ev != NULL)
		event_free(c->retry_ev);
	if (c->pace_ev != NULL)
		event_free(c->pace_ev);
	if (c->in != NULL)
		evbuffer_free(c->in);
	EVP_MD_CTX_free(c->md);
	collector_up_close(c);
	free(c->chunk);
	free(c);
}

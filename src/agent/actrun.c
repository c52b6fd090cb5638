/* actrun.c: the maintenance queue on the device (actrun.h). */
#include "actrun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actenv.h"
#include "agentaudit.h"
#include "capture.h"
#include "clockoff.h"
#include "codec.h"
#include "collect.h"
#include "consent.h"
#include "devreport.h"
#include "devstatus.h"
#include "diag.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "monitor.h"
#include "offline.h"
#include "text.h"
#include "selfupdate.h"
#include "tuf.h"
#include "update.h"

#define ACTRUN_WHY_BYTES 256

enum { STEP_NONE, STEP_FETCH, STEP_INSTALL, STEP_HEALTH, STEP_ROLLBACK, STEP_SELF,
       STEP_RESTART };

struct actrun_op {
	struct actrun *ar;
	char id[ACTENV_ID_BYTES];
};

struct actrun {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	EVP_PKEY *tpub;
	struct collector *collector;
	struct consent *consent;
	char dir[AGENT_PATH_BYTES];
	struct event *retry_ev;
	struct actrun_op *inflight;       /* the report being sent (one at a time) */
	/* the activity running */
	int busy;
	struct actenv env;
	struct capture *cap;              /* its program (diag, config), or NULL */
	/* an install's steps (actrun_install_*) */
	int step;
	struct agent_diag words;          /* the step's argv for the monitor */
	char inst_sha[65], inst_version[DEVSTATUS_VERSION_BYTES], inst_fail[ACTRUN_WHY_BYTES];
	long long inst_counter;
	char *inst_out;                   /* every step's output, ACTRUN_OUTPUT_BYTES at most */
	size_t inst_len;
	int after_restart;                /* the health check runs after install.restart */
	int offline;                      /* ... of an offline install: reported as one */
	char off_by[OFFLINE_REASON_BYTES], off_reason[OFFLINE_REASON_BYTES];
	int off_expired;
	struct event *restart_ev;         /* the device did not restart in time */
	struct devreport *devreport;
	/* the agent's own update (selfupdate.h) */
	int restart;                      /* swapped: the network part exits for it */
	int self_waiting;                 /* the new agent waits for its first answer */
	struct actenv self_env;
	char self_from[DEVSTATUS_VERSION_BYTES], self_to[DEVSTATUS_VERSION_BYTES];
	char self_target[ACTENV_INPUT_BYTES];
	long long self_counter;
	/* the refresh a newer timestamp asks for (actrun_repo_noticed) */
	struct capture *check_cap;
	struct agent_diag check_words;
	int64_t check_for;
	/* the activity waiting for the operator (activity_consent) */
	int asking;
	struct actenv ask;
	struct event *ask_ev;
	time_t ask_deadline;
};

static void actrun_flush(struct actrun *ar);

/* ---- the state files ------------------------------------------------------------ */

static int actrun_path(const struct actrun *ar, const char *id, char out[PATH_MAX])
{
	int w = snprintf(out, PATH_MAX, "%s/%s.json", ar->dir, id);

	return w < 0 || w >= PATH_MAX ? TE_ERR_TOO_LONG : 0;
}

/* A state file is the agent's own, but read bounded all the same: a file
 * that grew past what actrun_keep writes is not one of ours. */
#define ACTRUN_STATE_MAX_BYTES (8 * ACTRUN_OUTPUT_BYTES)

static json_t *actrun_load(const struct actrun *ar, const char *id)
{
	char p[PATH_MAX];
	struct stat sb;

	if (actrun_path(ar, id, p) != 0 || lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > ACTRUN_STATE_MAX_BYTES)
		return NULL;
	return json_load_file(p, JSON_REJECT_DUPLICATES, NULL);
}

/* Has id a state file (of any kind, readable or not)? */
static int actrun_seen(const struct actrun *ar, const char *id)
{
	char p[PATH_MAX];
	struct stat sb;

	return actrun_path(ar, id, p) != 0 || lstat(p, &sb) == 0 || errno != ENOENT;
}

/* Write the state whole (fsync, rename, fsync of the folder). */
static int actrun_keep(struct actrun *ar, const char *id, json_t *st)
{
	char p[PATH_MAX], *text = json_dumps(st, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	rc = actrun_path(ar, id, p) == 0 ? file_replace(p, text, strlen(text)) : TE_ERR_TOO_LONG;
	free(text);
	if (rc != 0)
		log_error("activity %s: its state could not be kept in %s: %s", id, ar->dir,
		          strerror(errno));
	return rc;
}

/* Text the server and a terminal can take: valid UTF-8, no control
 * character but newline and tab (others become '?'), no NUL. */
static void actrun_clean(char *buf, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				buf[i] = '?';
			i++;
			continue;
		}
		n = codec_utf8_len((const unsigned char *)buf + i, len - i);
		if (n == 0) {
			buf[i++] = '?';
			continue;
		}
		i += n;
	}
	buf[len] = '\0';
}

/* ---- reporting -------------------------------------------------------------------- */

static void actrun_retry_later(struct actrun *ar)
{
	struct timeval tv = { ACTRUN_RETRY_S, 0 };

	evtimer_add(ar->retry_ev, &tv);
}

static void actrun_answer(int status, const char *body, size_t len, const char *err, void *arg)
{
	struct actrun_op *op = arg;
	struct actrun *ar = op->ar;
	json_t *st;

	(void)body;
	(void)len;
	if (ar == NULL) {                     /* shutting down */
		free(op);
		return;
	}
	ar->inflight = NULL;
	if (status == 200 || (status >= 400 && status < 500 && status != 408 && status != 429)) {
		/* Taken, or never to be taken (the server does not know it):
		 * either way not sent again. */
		if (status != 200)
			log_warn("activity %s: the server does not take its report (%d)", op->id,
			         status);
		if ((st = actrun_load(ar, op->id)) != NULL) {
			json_object_set_new(st, "reported", json_true());
			(void)actrun_keep(ar, op->id, st);
			json_decref(st);
		}
		free(op);
		actrun_flush(ar);
		return;
	}
	log_warn("activity %s: its report was not taken (%s); again in %d s", op->id,
	         status == 0 ? (err != NULL ? err : "no answer") : "server error", ACTRUN_RETRY_S);
	free(op);
	actrun_retry_later(ar);
}

/* Send the result st holds (id's); one report in flight at a time. */
static void actrun_report(struct actrun *ar, const char *id, const json_t *st)
{
	struct actrun_op *op;
	json_t *o;
	char *body;

	if (ar->inflight != NULL)
		return;                            /* actrun_flush sends it after */
	o = json_pack("{s:s, s:O, s:O, s:O}", "id", id, "state", json_object_get(st, "state"),
	              "why", json_object_get(st, "why"), "output", json_object_get(st, "output"));
	if (o != NULL && json_integer_value(json_object_get(st, "exit_code")) >= 0 &&
	    json_is_integer(json_object_get(st, "exit_code")))
		json_object_set(o, "exit_code", json_object_get(st, "exit_code"));
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL || (op = calloc(1, sizeof(*op))) == NULL) {
		free(body);
		actrun_retry_later(ar);
		return;
	}
	op->ar = ar;
	snprintf(op->id, sizeof(op->id), "%s", id);
	ar->inflight = op;
	if (apiq_post(ar->api, "/api/v1/device/activity", body, actrun_answer, op) != 0) {
		ar->inflight = NULL;
		free(op);
		actrun_retry_later(ar);
	}
	free(body);
}

static int actrun_is_final(const char *state)
{
	return state != NULL && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
	                         strcmp(state, "interrupted") == 0 ||
	                         strcmp(state, "refused_by_device") == 0);
}

/* Call fn with each state file's id and contents, while it returns 0. */
static void actrun_each(struct actrun *ar, int (*fn)(struct actrun *ar, const char *id,
                                                     json_t *st))
{
	const size_t want = ACTENV_ID_BYTES - 3 + sizeof(".json") - 1;   /* "a" + 20 hex */
	struct dirent *de;
	char id[ACTENV_ID_BYTES];
	json_t *st;
	DIR *d;
	int stop = 0;

	if ((d = opendir(ar->dir)) == NULL)
		return;
	while (!stop && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != want || strcmp(de->d_name + want - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, want - 5);
		id[want - 5] = '\0';
		if (!actenv_id_ok(id) || (st = actrun_load(ar, id)) == NULL)
			continue;
		stop = fn(ar, id, st);
		json_decref(st);
	}
	closedir(d);
}

/* A result not taken yet is reported; a reported one is forgotten when old. */
static int actrun_flush_one(struct actrun *ar, const char *id, json_t *st)
{
	char p[PATH_MAX];
	struct stat sb;

	if (json_is_true(json_object_get(st, "reported"))) {
		if (actrun_path(ar, id, p) == 0 && stat(p, &sb) == 0 &&
		    time(NULL) - sb.st_mtime > ACTRUN_KEEP_S)
			(void)unlink(p);
	} else if (actrun_is_final(json_string_value(json_object_get(st, "state")))) {
		actrun_report(ar, id, st);
	}
	return ar->inflight != NULL;          /* one report at a time */
}

static void actrun_flush(struct actrun *ar)
{
	if (ar->inflight == NULL)
		actrun_each(ar, actrun_flush_one);
}

static void actrun_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	actrun_flush(arg);
}

/* A short report that needs no file (started, not_started): sent once. */
static void actrun_tell(struct actrun *ar, const char *id, const char *state, const char *why)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "state", state, "why", why);
	char *body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (body != NULL)
		(void)apiq_post(ar->api, "/api/v1/device/activity", body, NULL, NULL);
	free(body);
}

/* ---- the end of a run ------------------------------------------------------------ */

static void actrun_announce(struct actrun *ar, const char *event, const struct actenv *e,
                            const char *state)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event, "activity", e->id,
	                      "kind", e->kind, "name", e->name);

	if (o != NULL && state != NULL)
		json_object_set_new(o, "state", json_string(state));
	consent_announce(ar->consent, o);
}

/* Keep and report the result of id (whose state file exists or not). */
static void actrun_finish(struct actrun *ar, const struct actenv *e, const char *state,
                          int exit_code, const char *why, const char *output)
{
	json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "id", e->id, "kind",
	                       e->kind, "name", e->name, "state", state, "why", why, "output",
	                       output, "ended_at", (json_int_t)clockoff_now(), "reported", 0);

	if (st != NULL && exit_code >= 0)
		json_object_set_new(st, "exit_code", json_integer(exit_code));
	agentaudit_log(ar->conf, "agent", "activity_end", "activity %s: %s %s: %s%s%s", e->id,
	               e->kind, e->name, state, why[0] ? ": " : "", why);
	log_info("activity %s (%s %s): %s%s%s", e->id, e->kind, e->name, state, why[0] ? ": " : "",
	         why);
	if (st == NULL || actrun_keep(ar, e->id, st) != 0) {
		/* Not kept: reported now at least; a restart would call it interrupted. */
		if (st != NULL)
			actrun_report(ar, e->id, st);
	} else {
		actrun_flush(ar);
	}
	json_decref(st);
	actrun_announce(ar, "activity_ended", e, state);
}

/* A program's end (capture.h): its output and exit status are the result. */
static void actrun_ran(void *arg, const char *fail, int status, char *out, size_t len,
                       unsigned long long dropped)
{
	struct actrun *ar = arg;
	char why[ACTRUN_WHY_BYTES] = "", *text;
	const char *state = "done";
	struct capture *cap = ar->cap;     /* owns out: freed last */

	ar->cap = NULL;
	if ((text = malloc(len + 64)) == NULL) {
		text = out;                        /* not freed below */
	} else {
		memcpy(text, out, len);
		if (dropped > 0)
			len += (size_t)snprintf(text + len, 64, "\n[%llu more bytes of output not kept]\n",
			                        dropped);
	}
	actrun_clean(text, len);
	if (fail != NULL) {
		state = "failed";
		snprintf(why, sizeof(why), "%s", fail);
	} else if (status != 0) {
		state = "failed";
		snprintf(why, sizeof(why), "exited with status %d", status);
	}
	ar->busy = 0;
	actrun_finish(ar, &ar->env, state, status >= 0 ? status : -1, why, text);
	if (text != out)
		free(text);
	capture_free(cap);
}

/* ---- starting one ----------------------------------------------------------------- */

static void actrun_collected(void *arg, const char *fail, unsigned nfiles, unsigned nrefused,
                             const char *summary)
{
	struct actrun *ar = arg;
	char why[ACTRUN_WHY_BYTES] = "", out[COLLECT_SUMMARY_BYTES + 128];

	ar->busy = 0;
	snprintf(out, sizeof(out), "%u file(s) kept for the server, %u refused\n%s", nfiles,
	         nrefused, summary);
	actrun_clean(out, strlen(out));
	if (fail != NULL)
		snprintf(why, sizeof(why), "%s", fail);
	actrun_finish(ar, &ar->env, fail != NULL ? "failed" : "done", fail != NULL ? -1 : 0, why,
	              out);
}

/* Start a program (diag or config): stdin the values for config. */
static int actrun_spawn(struct actrun *ar, const struct agent_diag *d, uint32_t kind,
                        char *why, size_t whysz)
{
	struct capture_spec spec = {
		.argv = d, .kind = kind, .session = ar->env.id, .with_stderr = 1, .in_fd = -1,
		.max = ACTRUN_OUTPUT_BYTES, .over = CAPTURE_OVER_DROPS, .time_s = ACTRUN_RUN_S,
	};
	int in[2] = { -1, -1 }, rc;

	if (kind == SPAWN_KIND_CONFIG) {
		/* The values fit a pipe's buffer (ACTENV_INPUT_BYTES): written whole
		 * now, then the end closed so the program reads EOF. */
		if (pipe2(in, O_CLOEXEC) != 0 ||
		    fd_write_all(in[1], ar->env.input, strlen(ar->env.input)) != 0) {
			snprintf(why, whysz, "cannot pass the values: %s", strerror(errno));
			rc = TE_ERR_SYS;
			goto out;
		}
		close(in[1]);
		in[1] = -1;
		spec.in_fd = in[0];
	}
	rc = capture_start(ar->base, ar->conf, &spec, actrun_ran, ar, &ar->cap, why, whysz);
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	return rc;
}

/* ---- an install (kind install; update.h, docs/updates.md) ------------------------ */

/* The update worker downloads and checks the release as the agent's user;
 * the monitor then runs install.command as root on its own copy, then
 * install.health; a failure of either runs install.rollback. The device
 * stays on the version it had unless every step held. */

static int actrun_install_step(struct actrun *ar, int step, char *why, size_t whysz);

#define ACTRUN_FETCH_S   (4 * 3600)      /* the download, at download_rate */
#define ACTRUN_INSTALL_S 3600            /* the installer */

/* words (at most AGENT_DIAG_MAX_ARGS) as the argv the monitor gets */
static int actrun_words(struct agent_diag *d, const char *const *words)
{
	size_t off = 0, n;

	memset(d, 0, sizeof(*d));
	for (; *words != NULL; words++) {
		n = strlen(*words) + 1;
		if (d->argc >= AGENT_DIAG_MAX_ARGS || off + n > sizeof(d->buf))
			return TE_ERR_TOO_LONG;
		memcpy(d->buf + off, *words, n);
		d->args[d->argc++] = off;
		off += n;
	}
	return 0;
}

/* Keep a step's output (cleaned) under its heading, within the bound. */
static void actrun_install_keep(struct actrun *ar, const char *head, const char *out,
                                size_t len)
{
	size_t room;
	int w;

	if (ar->inst_out == NULL &&
	    (ar->inst_out = calloc(1, ACTRUN_OUTPUT_BYTES + 1)) == NULL)
		return;
	room = ACTRUN_OUTPUT_BYTES - ar->inst_len;
	w = snprintf(ar->inst_out + ar->inst_len, room + 1, "== %s ==\n", head);
	if (w < 0 || (size_t)w > room)
		return;
	ar->inst_len += (size_t)w;
	room -= (size_t)w;
	if (len > room)
		len = room;
	memcpy(ar->inst_out + ar->inst_len, out, len);
	actrun_clean(ar->inst_out + ar->inst_len, len);
	ar->inst_len += len;
	ar->inst_out[ar->inst_len] = '\0';
}

/* The last non-empty line of out, into line. */
static void actrun_last_line(const char *out, size_t len, char *line, size_t linesz)
{
	size_t end = len, start;

	while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	snprintf(line, linesz, "%.*s", (int)(end - start), out + start);
	actrun_clean(line, strlen(line));
}

static void actrun_restart_unnote(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48];

	if (agentconf_state_path(ar->conf, ACTRUN_RESTART_NOTE, p, sizeof(p)) == 0 &&
	    unlink(p) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", p, strerror(errno));
}

/* What the agent that starts after install.restart needs to go on. */
static int actrun_restart_note(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48], *text;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", ar->env.id, "component",
	                      ar->env.name, "target", ar->env.input, "version", ar->inst_version,
	                      "counter", (json_int_t)ar->inst_counter, "sha256", ar->inst_sha);
	int rc;

	if (o != NULL && ar->inst_out != NULL)
		json_object_set_new(o, "output", json_string(ar->inst_out));
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	rc = text == NULL ? TE_ERR_NOMEM :
	     agentconf_state_path(ar->conf, ACTRUN_RESTART_NOTE, p, sizeof(p)) != 0 ?
	     TE_ERR_TOO_LONG : file_replace(p, text, strlen(text));
	free(text);
	return rc;
}

static void actrun_install_end(struct actrun *ar, const char *state, int exit_code,
                               const char *why)
{
	char text[ACTRUN_WHY_BYTES];

	/* cut where it may have been cut: whole characters only */
	snprintf(text, sizeof(text), "%s", why);
	actrun_clean(text, strlen(text));
	ar->busy = 0;
	ar->step = STEP_NONE;
	ar->after_restart = 0;
	if (ar->restart_ev != NULL)
		evtimer_del(ar->restart_ev);
	actrun_restart_unnote(ar);
	if (ar->offline) {
		/* No activity: the offline install's report for the next ping. */
		ar->offline = 0;
		offline_report_add(ar->conf, ar->env.input, ar->inst_version, ar->inst_counter,
		                   strcmp(state, "done") == 0 ? "installed" : "failed", ar->off_by,
		                   ar->off_expired, ar->off_reason);
		log_info("offline install of %s: %s", ar->env.input, text);
		free(ar->inst_out);
		ar->inst_out = NULL;
		ar->inst_len = 0;
		return;
	}
	actrun_finish(ar, &ar->env, state, exit_code, text, ar->inst_out ? ar->inst_out : "");
	free(ar->inst_out);
	ar->inst_out = NULL;
	ar->inst_len = 0;
}

/* The installer or its health check failed: roll back when it can. */
static void actrun_install_undo(struct actrun *ar)
{
	char why[ACTRUN_WHY_BYTES];

	agentaudit_log(ar->conf, "agent", "update_install_failed", "activity %s: %s %s: %s",
	               ar->env.id, ar->env.name, ar->inst_version, ar->inst_fail);
	if (ar->conf->has_rollback &&
	    actrun_install_step(ar, STEP_ROLLBACK, why, sizeof(why)) == 0)
		return;
	snprintf(why, sizeof(why), "%.180s; %s", ar->inst_fail, ar->conf->has_rollback ?
	         "install.rollback could not be started" : "no install.rollback in agent.conf");
	actrun_install_end(ar, "failed", -1, why);
}

/* A step (what) failed, by fail or an exit status: roll back. */
static void actrun_install_failed(struct actrun *ar, const char *what, const char *fail,
                                  int status)
{
	if (fail != NULL)
		snprintf(ar->inst_fail, sizeof(ar->inst_fail), "%s failed (%s)", what, fail);
	else
		snprintf(ar->inst_fail, sizeof(ar->inst_fail), "%s failed (exit status %d)", what,
		         status);
	actrun_install_undo(ar);
}

/* The new binary is in place: note the activity for the agent that starts
 * next, and have this network part end (the monitor runs the new one). */
static void actrun_self_swapped(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48], *text;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", ar->env.id, "to",
	                      ar->inst_version, "from", TETHER_VERSION, "target", ar->env.input,
	                      "counter", (json_int_t)ar->inst_counter, "output",
	                      ar->inst_out ? ar->inst_out : "");

	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL || agentconf_state_path(ar->conf, SELFUPDATE_PENDING, p, sizeof(p)) != 0 ||
	    file_replace(p, text, strlen(text)) != 0)
		log_error("activity %s: the new agent is in place, but its note could not be kept",
		          ar->env.id);
	free(text);
	agentaudit_log(ar->conf, "agent", "update_self_swapped", "activity %s: tether-agent %s "
	               "in place of %s; starting it", ar->env.id, ar->inst_version, TETHER_VERSION);
	log_info("activity %s: tether-agent %s is in place; this agent stops for it", ar->env.id,
	         ar->inst_version);
	ar->busy = 0;
	ar->step = STEP_NONE;
	ar->restart = 1;
	event_base_loopbreak(ar->base);
}

int actrun_wants_restart(const struct actrun *ar)
{
	return ar != NULL && ar->restart;
}

/* At the start: an own update left a note. The old agent back (a result
 * says it fell back) ends the activity failed; the new one waits for its
 * server's first answer (actrun_server_answered). */
static void actrun_self_resume(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48], r[AGENT_PATH_BYTES + 48];
	char why[2 * ACTRUN_WHY_BYTES];
	json_t *o = NULL, *res = NULL;

	if (agentconf_state_path(ar->conf, SELFUPDATE_PENDING, p, sizeof(p)) != 0 ||
	    (o = file_read_json(p, 64 * 1024)) == NULL ||
	    !actenv_id_ok(json_string_value(json_object_get(o, "id")) ?
	                  json_string_value(json_object_get(o, "id")) : "")) {
		json_decref(o);
		return;
	}
	memset(&ar->self_env, 0, sizeof(ar->self_env));
	snprintf(ar->self_env.id, sizeof(ar->self_env.id), "%s",
	         json_string_value(json_object_get(o, "id")));
	snprintf(ar->self_env.kind, sizeof(ar->self_env.kind), "install");
	snprintf(ar->self_env.name, sizeof(ar->self_env.name), SELFUPDATE_COMPONENT);
	snprintf(ar->self_from, sizeof(ar->self_from), "%s",
	         json_string_value(json_object_get(o, "from")) ?: "?");
	snprintf(ar->self_to, sizeof(ar->self_to), "%s",
	         json_string_value(json_object_get(o, "to")) ?: "?");
	snprintf(ar->self_target, sizeof(ar->self_target), "%s",
	         json_string_value(json_object_get(o, "target")) ?: "");
	ar->self_counter = (long long)json_integer_value(json_object_get(o, "counter"));
	if (agentconf_state_path(ar->conf, SELFUPDATE_RESULT, r, sizeof(r)) == 0 &&
	    (res = file_read_json(r, 4096)) != NULL) {
		snprintf(why, sizeof(why), "the new tether-agent %s did not pass its health check "
		         "after its start (%s); fell back to %s", ar->self_to,
		         json_string_value(json_object_get(res, "why")) ?: "?", TETHER_VERSION);
		agentaudit_log(ar->conf, "agent", "update_rolled_back", "activity %s: %s",
		               ar->self_env.id, why);
		(void)unlink(r);
		(void)unlink(p);
		actrun_finish(ar, &ar->self_env, "failed", -1, why, json_string_value(json_object_get(
		              o, "output")) ?: "");
	} else {
		ar->self_waiting = 1;
		log_info("self-update: this is tether-agent %s, on trial until its server answers",
		         TETHER_VERSION);
	}
	json_decref(o);
	json_decref(res);
}

void actrun_server_answered(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48], why[ACTRUN_WHY_BYTES];

	if (ar == NULL || !ar->self_waiting)
		return;
	ar->self_waiting = 0;
	if (agentconf_state_path(ar->conf, SELFUPDATE_OK, p, sizeof(p)) == 0)
		(void)file_replace(p, "ok\n", 3);
	(void)update_installed_set(ar->conf, SELFUPDATE_COMPONENT, ar->self_to, ar->self_counter,
	                           ar->self_target);
	snprintf(why, sizeof(why), "tether-agent updated from %.60s to %.60s; the new agent's "
	         "server answered it", ar->self_from, ar->self_to);
	agentaudit_log(ar->conf, "agent", "update_installed", "activity %s: %s", ar->self_env.id,
	               why);
	if (agentconf_state_path(ar->conf, SELFUPDATE_PENDING, p, sizeof(p)) == 0)
		(void)unlink(p);
	actrun_finish(ar, &ar->self_env, "done", 0, why, "");
}

/* install.rollback ended (fail or status): the result says what the device
 * runs now, from what it noted at its last good install. */
static void actrun_install_undone(struct actrun *ar, const char *fail, int status)
{
	char had[DEVSTATUS_VERSION_BYTES], how[96], why[2 * ACTRUN_WHY_BYTES];
	long long had_counter;

	if (fail != NULL)
		snprintf(how, sizeof(how), "%s", fail);
	else
		snprintf(how, sizeof(how), "exit status %d", status);
	update_installed_get(ar->conf, ar->env.name, had, sizeof(had), &had_counter);
	agentaudit_log(ar->conf, "agent", "update_rolled_back", "activity %s: %s: install.rollback"
	               " %s", ar->env.id, ar->env.name, how);
	snprintf(why, sizeof(why), "%.80s; rolled back (install.rollback: %.40s); %s%.64s",
	         ar->inst_fail,
	         how, fail == NULL && status == 0 ? "the device stays on " :
	         "the rollback did not succeed: check the device, last installed ",
	         had[0] ? had : "(none through tether)");
	actrun_install_end(ar, "failed", fail ? -1 : status, why);
}

static void actrun_install_ok(struct actrun *ar)
{
	char why[ACTRUN_WHY_BYTES];
	const char *target = ar->env.input;

	if (update_installed_set(ar->conf, ar->env.name, ar->inst_version, ar->inst_counter,
	                         target) != 0)
		log_error("activity %s: installed, but %s could not be noted in state_dir/tuf/%s",
		          ar->env.id, ar->inst_version, UPDATE_INSTALLED_FILE);
	agentaudit_log(ar->conf, "agent", "update_installed", "activity %s: %s %s (release "
	               "counter %lld) from %s", ar->env.id, ar->env.name, ar->inst_version,
	               ar->inst_counter, target);
	if (ar->devreport != NULL)
		devreport_refresh(ar->devreport);  /* the new version reported now */
	if (ar->inst_sha[0] != '\0')
		update_unstage(ar->conf, ar->inst_sha);
	snprintf(why, sizeof(why), "installed %s %s (release counter %lld)", ar->env.name,
	         ar->inst_version, ar->inst_counter);
	actrun_install_end(ar, "done", 0, why);
}

/* "staged HEX LENGTH VERSION COUNTER" from the worker. */
static int actrun_install_staged(struct actrun *ar, const char *line)
{
	char hex[65], ver[DEVSTATUS_VERSION_BYTES];
	long long len, counter;

	if (sscanf(line, "staged %64s %lld %64s %lld", hex, &len, ver, &counter) != 4 ||
	    !hex_sha256_ok(hex) || !devstatus_version_ok(ver) || counter < 0)
		return TE_ERR_PROTOCOL;
	memcpy(ar->inst_sha, hex, sizeof(hex));
	snprintf(ar->inst_version, sizeof(ar->inst_version), "%s", ver);
	ar->inst_counter = counter;
	return 0;
}

static void actrun_install_ran(void *arg, const char *fail, int status, char *out, size_t len,
                               unsigned long long dropped)
{
	static const char *const heads[] = { "", "download and check (update fetch)",
	                                     "install.command", "install.health",
	                                     "install.rollback",
	                                     "the new tether-agent checked and put in place",
	                                     "install.restart" };
	struct actrun *ar = arg;
	struct capture *cap = ar->cap;     /* owns out: freed last */
	char head[96], line[ACTRUN_WHY_BYTES], why[ACTRUN_WHY_BYTES + 64];
	int step = ar->step, next = STEP_NONE, rc;

	(void)dropped;
	ar->cap = NULL;
	if (fail != NULL)
		snprintf(head, sizeof(head), "%s: %s", heads[step], fail);
	else
		snprintf(head, sizeof(head), "%s: exit status %d", heads[step], status);
	actrun_install_keep(ar, head, out, len);
	actrun_last_line(out, len, line, sizeof(line));
	capture_free(cap);
	switch (step) {
	case STEP_FETCH:
		if (fail == NULL && status == UPDATE_STAGED && actrun_install_staged(ar, line) == 0) {
			next = strcmp(ar->env.name, SELFUPDATE_COMPONENT) == 0 ? STEP_SELF :
			       STEP_INSTALL;
		} else if (fail == NULL && status == UPDATE_CURRENT) {
			snprintf(why, sizeof(why), "%.180s is installed already (%.60s)", ar->env.input,
			         line);
			actrun_install_end(ar, "done", 0, why);
			return;
		} else if (fail == NULL && status == UPDATE_REFUSED) {
			snprintf(why, sizeof(why), "the device refuses %.100s: %.130s", ar->env.input,
			         line);
			actrun_install_end(ar, "refused_by_device", status, why);
			return;
		} else {
			snprintf(why, sizeof(why), "the download did not complete: %s", fail ? fail :
			         line[0] ? line : "the update worker said nothing");
			actrun_install_end(ar, "failed", fail ? -1 : status, why);
			return;
		}
		break;
	case STEP_INSTALL:
		if (fail == NULL && status == 0 && ar->conf->has_restart) {
			/* The note first: the restart may end this process at once. */
			if (actrun_restart_note(ar) != 0) {
				snprintf(ar->inst_fail, sizeof(ar->inst_fail), "installed, but the note "
				         "for the health check after the restart could not be kept");
				actrun_install_undo(ar);
				return;
			}
			next = STEP_RESTART;
			break;
		}
		if (fail == NULL && status == 0) {
			if (!ar->conf->has_health) {
				actrun_install_ok(ar);
				return;
			}
			next = STEP_HEALTH;
			break;
		}
		actrun_install_failed(ar, "the installer", fail, status);
		return;
	case STEP_HEALTH:
		if (fail == NULL && status == 0) {
			actrun_install_ok(ar);
			return;
		}
		actrun_install_failed(ar, ar->after_restart ? "the health check after the restart" :
		                      "the health check", fail, status);
		return;
	case STEP_RESTART:
		if (fail == NULL && status == 0) {
			struct timeval tv = { ar->conf->install_restart_timeout_s, 0 };

			agentaudit_log(ar->conf, "agent", "update_restart", "activity %s: %s %s "
			               "installed; install.restart ran, the health check follows the "
			               "restart", ar->env.id, ar->env.name, ar->inst_version);
			log_info("activity %s: install.restart ran; waiting for the restart (at most "
			         "%ld s)", ar->env.id, ar->conf->install_restart_timeout_s);
			if (ar->restart_ev != NULL)
				evtimer_add(ar->restart_ev, &tv);
			return;
		}
		actrun_restart_unnote(ar);
		actrun_install_failed(ar, "install.restart", fail, status);
		return;
	case STEP_SELF:
		if (fail == NULL && status == 0) {
			actrun_self_swapped(ar);
			return;
		}
		snprintf(why, sizeof(why), "the new tether-agent %.40s was not put in place: %.180s; "
		         "this agent (%s) stays", ar->inst_version, fail ? fail : line, TETHER_VERSION);
		agentaudit_log(ar->conf, "agent", "update_install_failed", "activity %s: "
		               "tether-agent %s: %s", ar->env.id, ar->inst_version, fail ? fail : line);
		actrun_install_end(ar, "failed", fail ? -1 : status, why);
		return;
	default:                              /* STEP_ROLLBACK */
		actrun_install_undone(ar, fail, status);
		return;
	}
	if ((rc = actrun_install_step(ar, next, why, sizeof(why))) != 0) {
		if (next == STEP_SELF) {
			/* the keeper's checks refused it before anything changed */
			char text[ACTRUN_WHY_BYTES];

			snprintf(text, sizeof(text), "%.200s", why);
			snprintf(why, sizeof(why), "the new tether-agent %.40s was not put in place: "
			         "%.180s; this agent (%s) stays", ar->inst_version, text, TETHER_VERSION);
			agentaudit_log(ar->conf, "agent", "update_install_failed", "activity %s: "
			               "tether-agent %s: %s", ar->env.id, ar->inst_version, text);
			actrun_install_end(ar, "failed", -1, why);
		} else if (next == STEP_INSTALL) {
			actrun_install_end(ar, "failed", -1, why);
		} else if (next == STEP_RESTART) {
			actrun_restart_unnote(ar);
			snprintf(ar->inst_fail, sizeof(ar->inst_fail), "install.restart could not be "
			         "started: %.160s", why);
			actrun_install_undo(ar);
		} else {
			snprintf(ar->inst_fail, sizeof(ar->inst_fail), "install.health could not be "
			         "started: %.160s", why);
			actrun_install_undo(ar);
		}
	}
}

static int actrun_install_step(struct actrun *ar, int step, char *why, size_t whysz)
{
	struct capture_spec spec = {
		.argv = &ar->words, .session = ar->env.id, .with_stderr = 1, .in_fd = -1,
		.max = ACTRUN_OUTPUT_BYTES, .over = CAPTURE_OVER_DROPS,
	};
	const char *fetch[] = { "update-fetch", ar->env.name, ar->env.input, NULL };
	const char *inst[] = { "install", ar->inst_sha, NULL };
	const char *health[] = { "health", NULL };
	const char *undo[] = { "rollback", NULL };
	const char *self[] = { "self", ar->inst_sha, ar->inst_version, NULL };
	const char *restart[] = { "restart", NULL };
	int rc;

	rc = actrun_words(&ar->words, step == STEP_FETCH ? fetch : step == STEP_INSTALL ? inst :
	                  step == STEP_HEALTH ? health : step == STEP_SELF ? self :
	                  step == STEP_RESTART ? restart : undo);
	if (rc != 0) {
		snprintf(why, whysz, "the step's words are too long");
		return rc;
	}
	spec.kind = step == STEP_FETCH ? SPAWN_KIND_UPDATE : SPAWN_KIND_INSTALL;
	spec.time_s = step == STEP_FETCH ? ACTRUN_FETCH_S : step == STEP_INSTALL ?
	              ACTRUN_INSTALL_S : ACTRUN_RUN_S;
	ar->step = step;
	log_info("activity %s: %s", ar->env.id, step == STEP_FETCH ? "download and check" :
	         step == STEP_INSTALL ? "install.command" : step == STEP_HEALTH ?
	         "install.health" : step == STEP_SELF ? "the agent's own update" :
	         step == STEP_RESTART ? "install.restart" : "install.rollback");
	return capture_start(ar->base, ar->conf, &spec, actrun_install_ran, ar, &ar->cap, why,
	                     whysz);
}

/* Is the envelope's kind and name in this agent.conf? */
static int actrun_allowed(const struct actrun *ar, const struct actenv *e, char *why,
                          size_t whysz)
{
	int ok = strcmp(e->kind, "diag") == 0 ? agentconf_diag(ar->conf, e->name) != NULL :
	         strcmp(e->kind, "collect") == 0 ? agentconf_collect(ar->conf, e->name) != NULL :
	         strcmp(e->kind, "config") == 0 ? agentconf_config(ar->conf, e->name) != NULL :
	         strcmp(e->kind, "install") == 0 ?
	         (strcmp(e->name, SELFUPDATE_COMPONENT) == 0 ? ar->conf->self_update :
	          ar->conf->has_install) : 0;

	if (!ok && strcmp(e->kind, "install") == 0 && strcmp(e->name, SELFUPDATE_COMPONENT) == 0)
		snprintf(why, whysz, "this device's agent.conf does not say self_update = yes");
	else if (!ok && strcmp(e->kind, "install") == 0)
		snprintf(why, whysz, "this device's agent.conf has no install.command");
	else if (!ok)
		snprintf(why, whysz, "%s.%s is not in this device's agent.conf", e->kind, e->name);
	return ok;
}

static void actrun_begin(struct actrun *ar, const struct actenv *e)
{
	char why[ACTRUN_WHY_BYTES];
	json_t *st;
	int rc;

	/* "started" is on disk before anything runs: a crash from here on is
	 * reported interrupted, never run again. */
	st = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", e->id, "kind", e->kind, "name",
	               e->name, "state", "started", "started_at", (json_int_t)clockoff_now());
	rc = st != NULL ? actrun_keep(ar, e->id, st) : TE_ERR_NOMEM;
	json_decref(st);
	if (rc != 0) {
		actrun_tell(ar, e->id, "not_started", "the device could not record that it starts it");
		return;
	}
	ar->env = *e;
	ar->busy = 1;
	agentaudit_log(ar->conf, "agent", "activity_start", "activity %s: %s %s", e->id, e->kind,
	               e->name);
	log_info("activity %s: %s %s starts", e->id, e->kind, e->name);
	actrun_announce(ar, "activity_started", e, NULL);
	actrun_tell(ar, e->id, "started", "");
	why[0] = '\0';
	if (strcmp(e->kind, "install") == 0)
		rc = actrun_install_step(ar, STEP_FETCH, why, sizeof(why));
	else if (strcmp(e->kind, "collect") == 0)
		rc = collector_run_for(ar->collector, e->name, e->id, actrun_collected, ar);
	else if (strcmp(e->kind, "diag") == 0)
		rc = actrun_spawn(ar, agentconf_diag(ar->conf, e->name), SPAWN_KIND_DIAG, why,
		                  sizeof(why));
	else
		rc = actrun_spawn(ar, agentconf_config(ar->conf, e->name), SPAWN_KIND_CONFIG, why,
		                  sizeof(why));
	if (rc != 0) {
		ar->busy = 0;
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "%s", rc == TE_ERR_EXISTS ?
			         "another run of this collection is under way or its files are still"
			         " being sent" : "it could not be started");
		actrun_finish(ar, e, "failed", -1, why, "");
	}
}

/* Refuse e (or an envelope that did not open: e NULL, id from the event). */
static void actrun_refuse(struct actrun *ar, const char *id, const struct actenv *e,
                          const char *why)
{
	struct actenv blank;

	agentaudit_log(ar->conf, "server", "activity_refused", "activity %s: %s", id, why);
	log_warn("activity %s refused: %s", id, why);
	if (e == NULL) {
		memset(&blank, 0, sizeof(blank));
		snprintf(blank.id, sizeof(blank.id), "%s", id);
		snprintf(blank.kind, sizeof(blank.kind), "?");
		snprintf(blank.name, sizeof(blank.name), "?");
		e = &blank;
	}
	actrun_finish(ar, e, "refused_by_device", -1, why, "");
}

/* ---- the operator's consent (activity_consent) ------------------------------------ */

static json_t *actrun_request_event(struct actrun *ar)
{
	time_t now = time(NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", "activity_request",
	                 "activity", ar->ask.id, "kind", ar->ask.kind, "name", ar->ask.name,
	                 "input", ar->ask.input, "expires_in_s",
	                 (json_int_t)(ar->ask_deadline > now ? ar->ask_deadline - now : 0));
}

static json_t *actrun_pending(void *arg)
{
	struct actrun *ar = arg;

	return ar->asking ? actrun_request_event(ar) : NULL;
}

static void actrun_ask(struct actrun *ar, const struct actenv *e)
{
	struct timeval tv = { ar->conf->consent_timeout_s, 0 };

	ar->ask = *e;
	ar->asking = 1;
	ar->ask_deadline = time(NULL) + ar->conf->consent_timeout_s;
	evtimer_add(ar->ask_ev, &tv);
	agentaudit_log(ar->conf, "agent", "activity_consent_asked", "activity %s: %s %s",
	               e->id, e->kind, e->name);
	log_info("activity %s (%s %s) waits for the operator's consent", e->id, e->kind, e->name);
	consent_announce(ar->consent, actrun_request_event(ar));
}

static void actrun_ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct actrun *ar = arg;
	char why[ACTRUN_WHY_BYTES];

	(void)fd;
	(void)what;
	if (!ar->asking)
		return;
	ar->asking = 0;
	snprintf(why, sizeof(why), "the operator at the device did not answer within %ld s",
	         ar->conf->consent_timeout_s);
	actrun_refuse(ar, ar->ask.id, &ar->ask, why);
}

static int actrun_answer_op(void *arg, const char *who, const char *id, int accept)
{
	struct actrun *ar = arg;
	struct actenv e;
	char why[ACTRUN_WHY_BYTES];

	if (!ar->asking || strcmp(ar->ask.id, id) != 0)
		return TE_ERR_NOT_FOUND;
	e = ar->ask;
	ar->asking = 0;
	evtimer_del(ar->ask_ev);
	agentaudit_log(ar->conf, who, "activity_consent", "activity %s: %s %s decision %s", id,
	               e.kind, e.name, accept ? "accept" : "deny");
	if (!accept) {
		snprintf(why, sizeof(why), "the operator at the device refused it (%s)", who);
		actrun_refuse(ar, id, &e, why);
	} else if (clockoff_now() >= e.expires_at) {
		actrun_tell(ar, id, "not_started", "its envelope expired while the operator decided");
	} else {
		actrun_begin(ar, &e);
	}
	return 0;
}

void actrun_on_event(struct actrun *ar, const json_t *ev)
{
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *text = json_string_value(json_object_get(ev, "envelope"));
	char why[ACTRUN_WHY_BYTES];
	struct actenv e;
	json_t *st;
	int rc;

	if (id == NULL || !actenv_id_ok(id) || text == NULL) {
		log_warn("ping: malformed activity event ignored");
		return;
	}
	if ((ar->busy && strcmp(ar->env.id, id) == 0) ||
	    (ar->asking && strcmp(ar->ask.id, id) == 0))
		return;                            /* delivered again while it runs or waits */
	if (actrun_seen(ar, id)) {
		/* Seen before: never run twice; its result is said again. A file
		 * that cannot be read still says it was seen. */
		if ((st = actrun_load(ar, id)) == NULL)
			log_error("activity %s: its state file cannot be read; not run again", id);
		else if (actrun_is_final(json_string_value(json_object_get(st, "state"))))
			actrun_report(ar, id, st);
		json_decref(st);
		return;
	}
	if (ar->busy || ar->asking) {
		log_info("activity %s waits: %s %s", id, ar->busy ? ar->env.id : ar->ask.id,
		         ar->busy ? "runs" : "waits for the operator");
		return;
	}
	rc = actenv_verify(text, strlen(text), ar->tpub, clockoff_now(), &e);
	if (rc == TE_ERR_EXPIRED && strcmp(e.id, id) == 0 && strcmp(e.device, ar->conf->serial) == 0) {
		snprintf(why, sizeof(why), "its envelope expired (at %lld, the device's time %lld)"
		         " before it could start", (long long)e.expires_at, (long long)clockoff_now());
		agentaudit_log(ar->conf, "server", "activity_not_started", "activity %s: %s", id, why);
		actrun_tell(ar, id, "not_started", why);
		return;
	}
	if (rc != 0) {
		snprintf(why, sizeof(why), "its envelope is not one this deployment's server signed"
		         " (%s)", te_strerror(rc));
		actrun_refuse(ar, id, NULL, why);
		return;
	}
	if (strcmp(e.id, id) != 0 || strcmp(e.device, ar->conf->serial) != 0) {
		snprintf(why, sizeof(why), "its envelope is for %s of device %s, not %s of this one",
		         e.id, e.device, id);
		actrun_refuse(ar, id, NULL, why);
		return;
	}
	if (!actrun_allowed(ar, &e, why, sizeof(why))) {
		actrun_refuse(ar, id, &e, why);
		return;
	}
	if (ar->conf->activity_consent & agentconf_act_kind(e.kind)) {
		actrun_ask(ar, &e);
		return;
	}
	actrun_begin(ar, &e);
}

/* "started" at the agent's start: it was stopped while the program ran. */
static int actrun_start_one(struct actrun *ar, const char *id, json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	const char *kind = json_string_value(json_object_get(st, "kind"));
	const char *name = json_string_value(json_object_get(st, "name"));
	struct actenv e;

	if (state == NULL || strcmp(state, "started") != 0)
		return 0;
	if (ar->self_waiting && strcmp(ar->self_env.id, id) == 0)
		return 0;                          /* the own update this agent is the trial of */
	if (ar->after_restart && strcmp(ar->env.id, id) == 0)
		return 0;                          /* the install whose restart this was */
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.kind, sizeof(e.kind), "%s", kind != NULL ? kind : "?");
	snprintf(e.name, sizeof(e.name), "%s", name != NULL ? name : "?");
	actrun_finish(ar, &e, "interrupted", -1, "the agent stopped while it ran (a restart, a"
	              " crash or a power cut); not run again", "");
	return 0;
}

/* The device did not restart within install.restart_timeout_s. */
static void actrun_restart_late(evutil_socket_t fd, short what, void *arg)
{
	struct actrun *ar = arg;

	(void)fd;
	(void)what;
	if (!ar->busy || ar->step != STEP_RESTART || ar->cap != NULL)
		return;
	actrun_restart_unnote(ar);
	snprintf(ar->inst_fail, sizeof(ar->inst_fail), "the device did not restart within %ld s "
	         "of install.restart", ar->conf->install_restart_timeout_s);
	actrun_install_undo(ar);
}

/* After the restart: the health check, on the loop. */
static void actrun_restart_health(evutil_socket_t fd, short what, void *arg)
{
	struct actrun *ar = arg;
	char why[ACTRUN_WHY_BYTES];

	(void)fd;
	(void)what;
	if (actrun_install_step(ar, STEP_HEALTH, why, sizeof(why)) != 0) {
		snprintf(ar->inst_fail, sizeof(ar->inst_fail), "install.health could not be "
		         "started after the restart: %.150s", why);
		actrun_install_undo(ar);
	}
}

/* At the start: an install noted before install.restart goes on with its
 * health check (the activity is not "interrupted"). */
static void actrun_restart_resume(struct actrun *ar)
{
	char p[AGENT_PATH_BYTES + 48];
	const char *id, *comp, *target, *ver, *sha, *out;
	json_t *o, *st = NULL;

	if (agentconf_state_path(ar->conf, ACTRUN_RESTART_NOTE, p, sizeof(p)) != 0 ||
	    access(p, F_OK) != 0)
		return;
	o = file_read_json(p, ACTRUN_STATE_MAX_BYTES);
	id = json_string_value(json_object_get(o, "id"));
	comp = json_string_value(json_object_get(o, "component"));
	target = json_string_value(json_object_get(o, "target"));
	ver = json_string_value(json_object_get(o, "version"));
	sha = json_string_value(json_object_get(o, "sha256"));
	out = json_string_value(json_object_get(o, "output"));
	ar->offline = json_is_true(json_object_get(o, "offline"));
	if (ar->offline) {
		/* tether-agent install's: no activity, no staged file. */
		id = "offline";
		sha = "";
	}
	if (id == NULL || (!ar->offline && !actenv_id_ok(id)) || comp == NULL ||
	    !actenv_name_ok(comp) || target == NULL || strlen(target) >= sizeof(ar->env.input) ||
	    !tuf_target_name_ok(target) || ver == NULL || !devstatus_version_ok(ver) ||
	    sha == NULL || (!ar->offline && !hex_sha256_ok(sha)) || !ar->conf->has_health ||
	    (!ar->offline && ((st = actrun_load(ar, id)) == NULL ||
	                      actrun_is_final(json_string_value(json_object_get(st, "state")))))) {
		ar->offline = 0;
		log_warn("%s is not an install waiting for its health check; removed", p);
		(void)unlink(p);
		json_decref(o);
		json_decref(st);
		return;
	}
	json_decref(st);
	memset(&ar->env, 0, sizeof(ar->env));
	snprintf(ar->env.id, sizeof(ar->env.id), "%s", id);
	snprintf(ar->env.kind, sizeof(ar->env.kind), "install");
	snprintf(ar->env.name, sizeof(ar->env.name), "%s", comp);
	snprintf(ar->env.input, sizeof(ar->env.input), "%s", target);
	snprintf(ar->inst_version, sizeof(ar->inst_version), "%s", ver);
	snprintf(ar->inst_sha, sizeof(ar->inst_sha), "%s", sha);
	ar->inst_counter = (long long)json_integer_value(json_object_get(o, "counter"));
	if (out != NULL && (ar->inst_out = calloc(1, ACTRUN_OUTPUT_BYTES + 1)) != NULL) {
		ar->inst_len = strlen(out) < ACTRUN_OUTPUT_BYTES ? strlen(out) : ACTRUN_OUTPUT_BYTES;
		memcpy(ar->inst_out, out, ar->inst_len);
		actrun_clean(ar->inst_out, ar->inst_len);
	}
	if (ar->offline) {
		snprintf(ar->off_by, sizeof(ar->off_by), "%s",
		         json_string_value(json_object_get(o, "by")) ?: "?");
		snprintf(ar->off_reason, sizeof(ar->off_reason), "%s",
		         json_string_value(json_object_get(o, "reason")) ?: "");
		ar->off_expired = json_is_true(json_object_get(o, "expired_ok"));
		actrun_clean(ar->off_by, strlen(ar->off_by));
		actrun_clean(ar->off_reason, strlen(ar->off_reason));
	}
	json_decref(o);
	ar->busy = 1;
	ar->after_restart = 1;
	ar->step = STEP_HEALTH;
	agentaudit_log(ar->conf, "agent", "update_restarted", "activity %s: the agent started "
	               "again after install.restart; install.health runs", ar->env.id);
	log_info("activity %s: started again after install.restart; the health check runs",
	         ar->env.id);
	if (event_base_once(ar->base, -1, EV_TIMEOUT, actrun_restart_health, ar, NULL) != 0)
		actrun_restart_health(-1, 0, ar);
}

void actrun_start(struct actrun *ar)
{
	actrun_self_resume(ar);
	actrun_restart_resume(ar);
	actrun_each(ar, actrun_start_one);
	actrun_flush(ar);
}

int actrun_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
               EVP_PKEY *ticket_pub, struct collector *collector, struct consent *consent,
               struct actrun **out)
{
	struct actrun *ar = calloc(1, sizeof(*ar));

	*out = NULL;
	if (ar == NULL)
		return TE_ERR_NOMEM;
	ar->base = base;
	ar->conf = conf;
	ar->api = api;
	ar->tpub = ticket_pub;
	ar->collector = collector;
	ar->consent = consent;
	if (agentconf_state_path(conf, ACTRUN_DIR, ar->dir, sizeof(ar->dir)) != 0 ||
	    (mkdir(ar->dir, 0700) != 0 && errno != EEXIST)) {
		log_error("cannot make %s: %s", ar->dir, strerror(errno));
		free(ar);
		return TE_ERR_IO;
	}
	if ((ar->retry_ev = evtimer_new(base, actrun_retry_cb, ar)) == NULL ||
	    (ar->ask_ev = evtimer_new(base, actrun_ask_timeout, ar)) == NULL ||
	    (ar->restart_ev = evtimer_new(base, actrun_restart_late, ar)) == NULL) {
		if (ar->retry_ev != NULL)
			event_free(ar->retry_ev);
		if (ar->ask_ev != NULL)
			event_free(ar->ask_ev);
		free(ar);
		return TE_ERR_NOMEM;
	}
	if (consent != NULL) {
		struct consent_activity_hooks h = { actrun_answer_op, actrun_pending, ar };

		consent_set_activity_hooks(consent, &h);
	}
	*out = ar;
	return 0;
}

static void actrun_checked(void *arg, const char *fail, int status, char *out, size_t len,
                           unsigned long long dropped)
{
	struct actrun *ar = arg;
	struct capture *cap = ar->check_cap;
	char line[ACTRUN_WHY_BYTES];

	(void)dropped;
	ar->check_cap = NULL;
	actrun_last_line(out, len, line, sizeof(line));
	if (fail != NULL || status != 0)
		log_warn("update: the repository's timestamp %lld was not taken: %s",
		         (long long)ar->check_for, fail != NULL ? fail : line);
	else
		log_info("update: now trusting %s", line);
	capture_free(cap);
}

void actrun_repo_noticed(struct actrun *ar, int64_t version)
{
	const char *words[] = { "update-check", NULL };
	struct capture_spec spec = {
		.argv = &ar->check_words, .kind = SPAWN_KIND_UPDATE, .session = "update-check",
		.with_stderr = 1, .in_fd = -1, .max = ACTRUN_OUTPUT_BYTES,
		.over = CAPTURE_OVER_DROPS, .time_s = ACTRUN_RUN_S,
	};
	char why[ACTRUN_WHY_BYTES];

	/* One refresh per version: a refused one is not tried in a loop. */
	if (!ar->conf->has_install || ar->check_cap != NULL || version <= ar->check_for ||
	    version <= update_trusted_timestamp(ar->conf))
		return;
	ar->check_for = version;
	log_info("update: the repository serves timestamp %lld; refreshing", (long long)version);
	if (actrun_words(&ar->check_words, words) != 0 ||
	    capture_start(ar->base, ar->conf, &spec, actrun_checked, ar, &ar->check_cap, why,
	                  sizeof(why)) != 0)
		log_warn("update: cannot start the refresh: %s", why);
}

void actrun_set_devreport(struct actrun *ar, struct devreport *dr)
{
	ar->devreport = dr;
}

void actrun_free(struct actrun *ar)
{
	if (ar == NULL)
		return;
	if (ar->inflight != NULL)
		ar->inflight->ar = NULL;          /* apiq_free answers it later */
	if (ar->consent != NULL) {
		struct consent_activity_hooks none = { NULL, NULL, NULL };

		consent_set_activity_hooks(ar->consent, &none);
	}
	capture_free(ar->cap);
	capture_free(ar->check_cap);
	free(ar->inst_out);
	event_free(ar->retry_ev);
	event_free(ar->ask_ev);
	event_free(ar->restart_ev);
	free(ar);
}

/* devreport.c: gather the device's status and hand it to the ping. */
#include "devreport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clockoff.h"
#include "diag.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "monitor.h"
#include "update.h"

struct devreport {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	struct event *timer;             /* the next gathering */
	struct capture *cap;             /* the command's run under way, or NULL */
	int have;                        /* cur is set */
	int gathered;                    /* cur comes from this run, not the kept file */
	struct devstatus cur;
	struct devstatus scratch;        /* the command's parsed output */
	char note_logged[DEVSTATUS_NOTE_BYTES];
	char text[DEVSTATUS_JSON_BYTES]; /* cur as canonical text */
	char key[DEVSTATUS_JSON_BYTES];  /* the same without uptime and free disk */
	char acked_key[DEVSTATUS_JSON_BYTES];
	char posted_key[DEVSTATUS_JSON_BYTES];
	time_t acked_at;
};

/* ---- merging ---------------------------------------------------------------- */

static void devreport_set_agent_version(struct devstatus *s)
{
	size_t i;

	for (i = 0; i < s->nversions; i++)
		if (strcmp(s->versions[i].name, DEVREPORT_AGENT_COMPONENT) >= 0)
			break;
	if (i < s->nversions && strcmp(s->versions[i].name, DEVREPORT_AGENT_COMPONENT) == 0) {
		snprintf(s->versions[i].version, sizeof(s->versions[i].version), "%s",
		         TETHER_VERSION);
		return;
	}
	if (s->nversions >= DEVSTATUS_MAX_VERSIONS)
		return;   /* the command used every slot: its components come first */
	memmove(&s->versions[i + 1], &s->versions[i], (s->nversions - i) * sizeof(s->versions[0]));
	snprintf(s->versions[i].name, sizeof(s->versions[i].name), "%s",
	         DEVREPORT_AGENT_COMPONENT);
	snprintf(s->versions[i].version, sizeof(s->versions[i].version), "%s", TETHER_VERSION);
	s->nversions++;
}

void devreport_merge(const struct devstatus *prev, const struct devstatus *cmd,
                     const char *note, int64_t uptime_s, int64_t disk_free_mb,
                     int64_t now, struct devstatus *out)
{
	const struct devstatus_error *was;

	devstatus_init(out);
	if (cmd != NULL || prev != NULL) {
		const struct devstatus *src = cmd != NULL ? cmd : prev;

		out->health = src->health;
		out->nerrors = src->nerrors;
		memcpy(out->errors, src->errors, sizeof(out->errors));
		out->ncounters = src->ncounters;
		memcpy(out->counters, src->counters, sizeof(out->counters));
		out->nversions = src->nversions;
		memcpy(out->versions, src->versions, sizeof(out->versions));
	}
	for (size_t i = 0; i < out->nerrors; i++) {
		if (out->errors[i].since > 0)
			continue;
		was = prev != NULL ? devstatus_error(prev, out->errors[i].code) : NULL;
		out->errors[i].since = was != NULL && was->since > 0 ? was->since : now;
	}
	devreport_set_agent_version(out);
	out->uptime_s = uptime_s;
	out->disk_free_mb = disk_free_mb;
	if (note != NULL)
		snprintf(out->note, sizeof(out->note), "%s", note);
}

/* ---- the agent's own facts ------------------------------------------------------ */

static int64_t devreport_uptime(void)
{
	struct sysinfo si;

	return sysinfo(&si) == 0 && si.uptime >= 0 ? (int64_t)si.uptime : -1;
}

static int64_t devreport_disk_free_mb(const struct agent_conf *conf)
{
	struct statvfs v;

	if (statvfs(conf->state_dir, &v) != 0)
		return -1;
	return (int64_t)((unsigned long long)v.f_bavail * v.f_frsize / (1024 * 1024));
}

/* ---- publishing ------------------------------------------------------------------- */

static void devreport_keep(struct devreport *dr)
{
	char path[AGENT_PATH_BYTES];
	int rc;

	if (agentconf_state_path(dr->conf, DEVREPORT_FILE, path, sizeof(path)) != 0)
		return;
	if ((rc = file_replace(path, dr->text, strlen(dr->text))) != 0)
		log_warn("status: cannot keep %s: %s", path, strerror(errno));
}

static void devreport_posted(int status, const char *body, size_t len, const char *err,
                             void *arg)
{
	struct devreport *dr = arg;

	(void)body;
	(void)len;
	if (status == 200 && dr != NULL) {
		snprintf(dr->acked_key, sizeof(dr->acked_key), "%s", dr->posted_key);
		dr->acked_at = time(NULL);
		return;
	}
	if (dr != NULL)
		dr->posted_key[0] = '\0';
	if (status != 0 || err == NULL || strcmp(err, "agent shutting down") != 0)
		log_warn("status: the server did not take the status report (%s); the next "
		         "ping carries it", status == 0 ? (err ? err : "no answer") : "refused");
}

/* Set cur from merged; a change of state or of the note is kept on disk
 * and posted at once rather than after the held long-poll. */
static void devreport_publish(struct devreport *dr, const struct devstatus *merged)
{
	struct devstatus bare = *merged;
	/* A command that starts or stops failing is news too. */
	int changed = !dr->gathered || !devstatus_same_state(&dr->cur, merged) ||
	              strcmp(dr->cur.note, merged->note) != 0;

	bare.uptime_s = -1;
	bare.disk_free_mb = -1;
	if (devstatus_text(merged, dr->text, sizeof(dr->text)) != 0 ||
	    devstatus_text(&bare, dr->key, sizeof(dr->key)) != 0) {
		log_error("status: cannot encode the status");
		return;
	}
	if (changed && dr->gathered)
		log_info("status: health %s, %zu error code(s), %zu component version(s)",
		         merged->health ? devstatus_health_name(merged->health) : "not reported",
		         merged->nerrors, merged->nversions);
	dr->cur = *merged;
	dr->have = 1;
	dr->gathered = 1;
	if (!changed)
		return;
	devreport_keep(dr);
	if (dr->api != NULL && strcmp(dr->key, dr->acked_key) != 0 &&
	    strcmp(dr->key, dr->posted_key) != 0) {
		snprintf(dr->posted_key, sizeof(dr->posted_key), "%s", dr->key);
		if (apiq_post(dr->api, "/api/v1/device/status", dr->text, devreport_posted, dr) != 0)
			log_warn("status: cannot queue the status report; the next ping carries it");
	}
}

/* The versions the agent installed, where the command does not say. */
static void devreport_add_installed(const struct agent_conf *conf, struct devstatus *s)
{
	json_t *all = update_installed_load(conf), *e;
	const char *comp, *ver;
	size_t i;

	json_object_foreach(all, comp, e) {
		ver = json_string_value(json_object_get(e, "version"));
		if (ver == NULL || !devstatus_name_ok(comp) || !devstatus_version_ok(ver) ||
		    s->nversions >= DEVSTATUS_MAX_VERSIONS)
			continue;
		for (i = 0; i < s->nversions && strcmp(s->versions[i].name, comp) < 0; i++)
			;
		if (i < s->nversions && strcmp(s->versions[i].name, comp) == 0)
			continue;
		memmove(&s->versions[i + 1], &s->versions[i],
		        (s->nversions - i) * sizeof(s->versions[0]));
		snprintf(s->versions[i].name, sizeof(s->versions[i].name), "%s", comp);
		snprintf(s->versions[i].version, sizeof(s->versions[i].version), "%s", ver);
		s->nversions++;
	}
	json_decref(all);
}

static void devreport_done(struct devreport *dr, const struct devstatus *cmd, const char *note)
{
	struct devstatus merged;

	if (note != NULL && strcmp(note, dr->note_logged) != 0)
		log_warn("status: %s", note);
	snprintf(dr->note_logged, sizeof(dr->note_logged), "%s", note != NULL ? note : "");
	devreport_merge(dr->have ? &dr->cur : NULL, cmd, note, devreport_uptime(),
	                devreport_disk_free_mb(dr->conf), clockoff_now(), &merged);
	devreport_add_installed(dr->conf, &merged);
	devreport_publish(dr, &merged);
}

/* ---- the command ------------------------------------------------------------------- */

static void devreport_schedule(struct devreport *dr, long seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(dr->timer, &tv);
}

/* The run's end: judge what the command printed. */
static void devreport_judged(void *arg, const char *fail, int status, char *out, size_t len,
                             unsigned long long dropped)
{
	struct devreport *dr = arg;
	char note[DEVSTATUS_NOTE_BYTES], why[120];

	struct capture *cap = dr->cap;     /* owns out: freed last */

	(void)dropped;
	dr->cap = NULL;
	if (fail != NULL)
		snprintf(note, sizeof(note), "status command %s", fail);
	else if (status != 0)
		snprintf(note, sizeof(note), "status command exited with status %d", status);
	else if (devstatus_parse(out, len, &dr->scratch, why, sizeof(why)) != 0)
		snprintf(note, sizeof(note), "status command output refused: %s", why);
	else
		note[0] = '\0';
	devreport_done(dr, note[0] ? NULL : &dr->scratch, note[0] ? note : NULL);
	capture_free(cap);
}

static int devreport_run(struct devreport *dr, char *why, size_t whysz)
{
	const struct capture_spec spec = {
		.argv = &dr->conf->status_cmd, .kind = SPAWN_KIND_STATUS, .session = "status",
		.with_stderr = 0, .in_fd = -1, .max = DEVSTATUS_MAX_INPUT,
		.over = CAPTURE_OVER_FAILS, .time_s = DEVREPORT_RUN_S,
	};

	return capture_start(dr->base, dr->conf, &spec, devreport_judged, dr, &dr->cap, why,
	                     whysz);
}

static void devreport_tick(evutil_socket_t fd, short what, void *arg)
{
	struct devreport *dr = arg;
	char why[SPAWN_TEXT_BYTES], note[DEVSTATUS_NOTE_BYTES];

	(void)fd;
	(void)what;
	devreport_schedule(dr, dr->conf->status_interval_s);
	if (dr->cap != NULL)
		return;   /* the last run is still inside its limit */
	if (!dr->conf->has_status_cmd) {
		devreport_done(dr, NULL, NULL);
		return;
	}
	if (devreport_run(dr, why, sizeof(why)) != 0) {
		snprintf(note, sizeof(note), "status command not started: %.120s", why);
		devreport_done(dr, NULL, note);
	}
}

/* The status kept by the last run, for the first-seen times of its errors
 * (the next run's "note" says whether the command still works). */
static void devreport_load(struct devreport *dr)
{
	char path[AGENT_PATH_BYTES], why[128], *buf;
	ssize_t n = -1;
	int fd;

	if (agentconf_state_path(dr->conf, DEVREPORT_FILE, path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if ((buf = malloc(DEVSTATUS_MAX_INPUT + 1)) != NULL)
		n = read(fd, buf, DEVSTATUS_MAX_INPUT + 1);
	close(fd);
	if (n < 0 || n > DEVSTATUS_MAX_INPUT ||
	    devstatus_parse(buf, (size_t)n, &dr->cur, why, sizeof(why)) != 0) {
		log_warn("status: ignoring %s (unreadable or refused)", path);
		devstatus_init(&dr->cur);
		free(buf);
		return;
	}
	free(buf);
	dr->have = 1;
	dr->cur.note[0] = '\0';
}

int devreport_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
                  struct devreport **out)
{
	struct devreport *dr;

	*out = NULL;
	if ((dr = calloc(1, sizeof(*dr))) == NULL ||
	    (dr->timer = evtimer_new(base, devreport_tick, dr)) == NULL) {
		devreport_free(dr);
		return TE_ERR_NOMEM;
	}
	dr->base = base;
	dr->conf = conf;
	dr->api = api;
	devstatus_init(&dr->cur);
	devreport_load(dr);
	*out = dr;
	return 0;
}

void devreport_start(struct devreport *dr)
{
	devreport_schedule(dr, 0);
}

void devreport_refresh(struct devreport *dr)
{
	if (dr != NULL)
		event_active(dr->timer, EV_TIMEOUT, 0);
}

void devreport_free(struct devreport *dr)
{
	if (dr == NULL)
		return;
	capture_free(dr->cap);
	if (dr->timer != NULL)
		event_free(dr->timer);
	free(dr);
}

const char *devreport_pending(struct devreport *dr)
{
	if (dr == NULL || !dr->gathered || dr->text[0] == '\0')
		return NULL;
	if (dr->acked_at > 0 && strcmp(dr->key, dr->acked_key) == 0 &&
	    time(NULL) - dr->acked_at < DEVREPORT_REFRESH_S)
		return NULL;
	return dr->text;
}

void devreport_acked(struct devreport *dr, const char *text)
{
	struct devstatus s, bare;
	char why[64];

	if (dr == NULL || text == NULL)
		return;
	if (strcmp(text, dr->text) == 0) {
		snprintf(dr->acked_key, sizeof(dr->acked_key), "%s", dr->key);
	} else {
		/* A newer status came meanwhile: remember what the server has. */
		if (devstatus_parse(text, strlen(text), &s, why, sizeof(why)) != 0)
			return;
		bare = s;
		bare.uptime_s = -1;
		bare.disk_free_mb = -1;
		if (devstatus_text(&bare, dr->acked_key, sizeof(dr->acked_key)) != 0)
			return;
	}
	dr->acked_at = time(NULL);
}

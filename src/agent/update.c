/* update.c: `tether-agent update check [TARGET] --config FILE` (issue 10,
 * section 3; docs/updates.md): the device's TUF client (lib tufclient.h)
 * run once against the server's repository, from the metadata the device
 * trusts (state_dir/tuf/), which it keeps only when everything verified.
 * With a target, the release's verified entry: what an install will check
 * the downloaded bytes against. Every refusal is audited on the device
 * with its TUF-attack reason.
 *
 * The repository is public (the signatures, not the transport, are what
 * the device trusts), so this needs no key: only the pinned deployment CA.
 * The first root comes from the server the device enrolled with, over that
 * pinned TLS, and is kept from then on; every later root must be signed by
 * the one before it. */
#include "update.h"
#include "update_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agentaudit.h"
#include "devstatus.h"
#include "download.h"
#include "err.h"
#include "filerepl.h"
#include "httpc.h"
#include "pki.h"
#include "tls.h"
#include "tuf.h"
#include "tufclient.h"

#define UPDATE_DIR        "tuf"
#define UPDATE_TIMEOUT_S  30
#define UPDATE_LOCK       ".lock"
#define UPDATE_INSTALLED_MAX_BYTES (64 * 1024)
#define UPDATE_MAX_COMPONENTS      DEVSTATUS_MAX_VERSIONS

static const char *const update_roles[] = { "root", "timestamp", "snapshot", "targets" };

struct update_fetch {
	const struct agent_conf *conf;
	SSL_CTX *ctx;
};

static int update_fetch_cb(void *arg, const char *name, size_t max, char **out, size_t *len)
{
	struct update_fetch *f = arg;
	char path[256], err[256];
	int status = 0, rc;

	*out = NULL;
	snprintf(path, sizeof(path), "/repo/metadata/%s", name);
	rc = httpc_request_sync(f->conf->server, f->ctx, "GET", path, NULL, NULL, UPDATE_TIMEOUT_S,
	                        &status, out, err, sizeof(err));
	if (rc != 0)
		return strstr(err, "too large") != NULL ? TE_ERR_TOO_LONG : rc;
	if (status == 404 || status == 403) {
		free(*out);
		*out = NULL;
		return TE_ERR_NOT_FOUND;
	}
	if (status != 200) {
		free(*out);
		*out = NULL;
		return TE_ERR_PROTOCOL;
	}
	*len = strlen(*out);
	if (*len > max) {
		free(*out);
		*out = NULL;
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

/* Keep doc as state_dir/tuf/NAME.json, owned like state_dir (an
 * administrator's root run must not leave files the agent cannot replace). */
static int update_keep(const struct agent_conf *conf, const char *dir, const char *name,
                       const json_t *doc)
{
	char p[AGENT_PATH_BYTES + 32], *text = json_dumps(doc, JSON_COMPACT);
	struct stat st;
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	snprintf(p, sizeof(p), "%s/%s.json", dir, name);
	rc = file_replace(p, text, strlen(text));
	free(text);
	if (rc == 0 && geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
	    chown(p, st.st_uid, st.st_gid) != 0)
		rc = TE_ERR_IO;
	return rc;
}

static json_t *update_load(const char *dir, const char *name)
{
	char p[AGENT_PATH_BYTES + 32], *text = NULL;
	json_t *md = NULL;
	size_t len = 0;

	snprintf(p, sizeof(p), "%s/%s.json", dir, name);
	if (file_read_all(p, TUFCLIENT_META_MAX_BYTES, &text, &len) == 0)
		(void)tuf_parse(text, len, &md);
	free(text);
	return md;
}

int64_t update_version(const json_t *md)
{
	return (int64_t)json_integer_value(json_object_get(json_object_get(md, "signed"), "version"));
}

static int update_refused(const struct agent_conf *conf, const char *cmd,
                          const struct tufclient *c, const char *what)
{
	fprintf(stderr, "tether-agent %s: refused (%s): %s\n", cmd,
	        tufclient_refusal_name(c->refusal), c->why);
	agentaudit_log(conf, "agent", "update_refused", "%s: %s: %s", what,
	               tufclient_refusal_name(c->refusal), c->why);
	return 1;
}

static void update_print_target(const char *name, const json_t *info)
{
	const json_t *cu = json_object_get(info, "custom"), *h;
	size_t i;

	printf("target %s\n", name);
	printf("length %lld\n", (long long)json_integer_value(json_object_get(info, "length")));
	printf("sha256 %s\n", json_string_value(json_object_get(json_object_get(info, "hashes"),
	                                                         "sha256")));
	if (json_is_string(json_object_get(cu, "component")))
		printf("component %s %s\n", json_string_value(json_object_get(cu, "component")),
		       json_is_string(json_object_get(cu, "version")) ?
		       json_string_value(json_object_get(cu, "version")) : "?");
	if (json_is_integer(json_object_get(cu, "counter")))
		printf("counter %lld\n", (long long)json_integer_value(json_object_get(cu, "counter")));
	if (json_is_array(json_object_get(cu, "hardware"))) {
		printf("hardware");
		json_array_foreach(json_object_get(cu, "hardware"), i, h)
			printf(" %s", json_is_string(h) ? json_string_value(h) : "?");
		printf("\n");
	}
}

/* Take dir's lock (flock, blocking); it is left to the process's end. */
static int update_lock(const char *dir)
{
	char p[AGENT_PATH_BYTES + 16];
	static int fd = -1;
	struct stat st;

	if (fd >= 0)
		return 0;
	snprintf(p, sizeof(p), "%s/%s", dir, UPDATE_LOCK);
	if ((fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	/* run by root: the lock stays the agent's, like the folder */
	if (geteuid() == 0 && stat(dir, &st) == 0)
		(void)!fchown(fd, st.st_uid, st.st_gid);
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			close(fd);
			fd = -1;
			return -1;
		}
	return 0;
}

/* Open the TLS context (the pinned CA, no client certificate) and bring
 * the trusted metadata up to date: c refreshed and kept in state_dir/tuf.
 * 0; else 1 with the refusal audited (what names the step) and said on
 * stderr. *tofu says the first root was taken now. */
static int update_prepare_dir(const struct agent_conf *conf, const char *cmd, char *dir,
                              size_t dirsz)
{
	struct stat st;

	agentconf_state_path(conf, UPDATE_DIR, dir, dirsz);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "tether-agent %s: cannot create %s: %s\n", cmd, dir, strerror(errno));
		return 1;
	}
	/* run by root: the folder stays the agent's, like state_dir */
	if (geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
	    chown(dir, st.st_uid, st.st_gid) != 0) {
		fprintf(stderr, "tether-agent %s: cannot give %s to the agent's user: %s\n", cmd,
		        dir, strerror(errno));
		return 1;
	}
	/* One process at a time reads and replaces the trusted metadata (a
	 * refresh the ping asked for, an install's worker, an administrator's
	 * check, an offline install): the lock is held until this process ends. */
	if (update_lock(dir) != 0) {
		fprintf(stderr, "tether-agent %s: cannot lock %s/%s: %s\n", cmd, dir, UPDATE_LOCK,
		        strerror(errno));
		return 1;
	}
	return 0;
}

int update_refresh_from(const struct agent_conf *conf, const char *cmd,
                        tufclient_fetch_fn fetch, void *arg, int offline, int allow_expired,
                        struct tufclient *c, int *tofu)
{
	char dir[AGENT_PATH_BYTES];
	json_t *root;
	char *text = NULL, *first = NULL;
	size_t len = 0;
	int code = 1;

	*tofu = 0;
	if (update_prepare_dir(conf, cmd, dir, sizeof(dir)) != 0)
		return 1;
	if ((root = update_load(dir, "root")) != NULL) {
		text = json_dumps(root, JSON_COMPACT);
		json_decref(root);
	} else if (offline) {
		/* A stick never tells the device whom to trust. */
		fprintf(stderr, "tether-agent %s: this device trusts no repository yet: it takes "
		        "its first root from the server it enrolled with (tether-agent update "
		        "check, or the ping once a release is published), never from a bundle\n",
		        cmd);
		goto out;
	} else if (fetch(arg, "1.root.json", TUFCLIENT_ROOT_MAX_BYTES, &first, &len) == 0) {
		text = first;
		first = NULL;
		*tofu = 1;
	} else {
		fprintf(stderr, "tether-agent %s: the server publishes no repository yet "
		        "(no /repo/metadata/1.root.json)\n", cmd);
		goto out;
	}
	if (text == NULL || tufclient_init(c, text, strlen(text), (int64_t)time(NULL),
	                                   fetch, arg) != 0) {
		code = update_refused(conf, cmd, c, "the trusted root");
		goto out;
	}
	c->allow_expired_online = allow_expired;
	c->timestamp = update_load(dir, "timestamp");
	c->snapshot = update_load(dir, "snapshot");
	c->targets = update_load(dir, "targets");
	if (tufclient_refresh(c) != 0) {
		code = update_refused(conf, cmd, c, offline ? "the bundle" : "refresh");
		goto out;
	}
	/* Everything verified: this is what the device trusts from now on. */
	{
		const json_t *docs[4] = { c->root, c->timestamp, c->snapshot, c->targets };

		for (size_t i = 0; i < 4; i++)
			if (update_keep(conf, dir, update_roles[i], docs[i]) != 0) {
				fprintf(stderr, "tether-agent %s: cannot keep %s in %s\n", cmd,
				        update_roles[i], dir);
				goto out;
			}
	}
	agentaudit_log(conf, "agent", "update_checked", "%sroot %lld timestamp %lld snapshot "
	               "%lld targets %lld%s", offline ? "offline bundle: " : "",
	               (long long)update_version(c->root), (long long)update_version(c->timestamp),
	               (long long)update_version(c->snapshot), (long long)update_version(c->targets),
	               c->expired_online ? " (timestamp or snapshot expired, accepted)" : "");
	code = 0;
out:
	free(text);
	free(first);
	return code;
}

/* Against the server: the TLS context (the pinned CA, no client
 * certificate) into f, then update_refresh_from. */
static int update_refresh(const struct agent_conf *conf, const char *cmd,
                          struct update_fetch *f, struct tufclient *c, int *tofu)
{
	char ca[AGENT_PATH_BYTES];
	int rc;

	agentconf_state_path(conf, "ca.crt", ca, sizeof(ca));
	/* No client certificate: the device key stays out of this process. */
	if ((rc = tls_client_ctx_new(ca, NULL, NULL, &f->ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(f->ctx, PKI_ROLE_SERVER)) != 0) {
		fprintf(stderr, "tether-agent %s: cannot load the deployment CA from %s: %s\n", cmd,
		        conf->state_dir, te_strerror(rc));
		return 1;
	}
	return update_refresh_from(conf, cmd, update_fetch_cb, f, 0, 0, c, tofu);
}

int update_check(const struct agent_conf *conf, const char *target)
{
	struct update_fetch f = { conf, NULL };
	struct tufclient c;
	json_t *info = NULL;
	int code = 1, tofu = 0;

	memset(&c, 0, sizeof(c));
	if (target != NULL && !tuf_target_name_ok(target)) {
		fprintf(stderr, "tether-agent update check: %s is not a target name\n", target);
		return 2;
	}
	if (update_refresh(conf, "update check", &f, &c, &tofu) != 0)
		goto out;
	printf("root %lld%s, timestamp %lld, snapshot %lld, targets %lld\n",
	       (long long)update_version(c.root), tofu ? " (first trusted now)" : "",
	       (long long)update_version(c.timestamp), (long long)update_version(c.snapshot),
	       (long long)update_version(c.targets));
	if (target != NULL) {
		if (tufclient_target(&c, target, &info) != 0) {
			code = update_refused(conf, "update check", &c, target);
			goto out;
		}
		update_print_target(target, info);
	}
	code = 0;
out:
	json_decref(info);
	tufclient_free(&c);
	SSL_CTX_free(f.ctx);
	return code;
}

int64_t update_trusted_timestamp(const struct agent_conf *conf)
{
	char dir[AGENT_PATH_BYTES];
	json_t *md;
	int64_t v;

	if (agentconf_state_path(conf, UPDATE_DIR, dir, sizeof(dir)) != 0 ||
	    (md = update_load(dir, "timestamp")) == NULL)
		return 0;
	v = update_version(md);
	json_decref(md);
	return v > 0 ? v : 0;
}

/* ---- installed versions -------------------------------------------------------- */

json_t *update_installed_load(const struct agent_conf *conf)
{
	char p[AGENT_PATH_BYTES + 32];
	json_t *o = NULL;

	if (agentconf_state_path(conf, UPDATE_DIR "/" UPDATE_INSTALLED_FILE, p, sizeof(p)) == 0)
		o = file_read_json(p, UPDATE_INSTALLED_MAX_BYTES);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

void update_installed_get(const struct agent_conf *conf, const char *component, char *version,
                          size_t versz, long long *counter)
{
	json_t *all = update_installed_load(conf);
	const json_t *e = json_object_get(all, component);

	snprintf(version, versz, "%s", json_is_string(json_object_get(e, "version")) ?
	         json_string_value(json_object_get(e, "version")) : "");
	*counter = json_is_integer(json_object_get(e, "counter")) ?
	           (long long)json_integer_value(json_object_get(e, "counter")) : -1;
	json_decref(all);
}

int update_installed_set(const struct agent_conf *conf, const char *component,
                         const char *version, long long counter, const char *target)
{
	char p[AGENT_PATH_BYTES + 32], *text;
	json_t *all = update_installed_load(conf);
	struct stat st;
	int rc;

	if (json_object_size(all) >= UPDATE_MAX_COMPONENTS && json_object_get(all, component) == NULL) {
		json_decref(all);
		return TE_ERR_TOO_LONG;
	}
	json_object_set_new(all, component, json_pack("{s:s, s:I, s:s, s:I}", "version", version,
	                                              "counter", (json_int_t)counter, "target",
	                                              target, "at", (json_int_t)time(NULL)));
	text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	if (text == NULL)
		return TE_ERR_NOMEM;
	rc = agentconf_state_path(conf, UPDATE_DIR "/" UPDATE_INSTALLED_FILE, p, sizeof(p));
	if (rc == 0)
		rc = file_replace(p, text, strlen(text));
	/* written by root (an offline install): it stays the agent's */
	if (rc == 0 && geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
	    chown(p, st.st_uid, st.st_gid) != 0)
		rc = TE_ERR_IO;
	free(text);
	return rc;
}

void update_unstage(const struct agent_conf *conf, const char *hex)
{
	char p[AGENT_PATH_BYTES + 96];

	if (agentconf_state_path(conf, UPDATE_DIR "/staged", p, sizeof(p)) == 0) {
		snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%s", hex);
		(void)unlink(p);
	}
}

/* Remove every file in dir but keep (a release downloaded or staged for
 * another activity is not kept waiting: one update at a time). */
static void update_sweep(const char *dir, const char *keep)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int dfd;

	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, keep) != 0)
			(void)unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* ---- the update worker ------------------------------------------------------------ */

/* Say why on stdout (the activity's output, last line) and audit it. */
int update_job_refuse(const struct update_job *j, const char *reason, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	agentaudit_log(j->conf, "agent", "update_refused", "%s: %s: %s", j->target, reason, why);
	printf("refused (%s): %s\n", reason, why);
	return UPDATE_REFUSED;
}

/* What the release says of itself against what this device is. */
int update_job_judge(struct update_job *j)
{
	const json_t *cu = json_object_get(j->info, "custom"), *hw = json_object_get(cu, "hardware"),
	             *h;
	const char *comp = json_string_value(json_object_get(cu, "component"));
	char have[DEVSTATUS_VERSION_BYTES];
	long long have_counter;
	size_t i;
	int fits = 0;

	j->length = (long long)json_integer_value(json_object_get(j->info, "length"));
	j->sha = json_string_value(json_object_get(json_object_get(j->info, "hashes"), "sha256"));
	j->version = json_string_value(json_object_get(cu, "version"));
	j->counter = json_is_integer(json_object_get(cu, "counter")) ?
	             (long long)json_integer_value(json_object_get(cu, "counter")) : -1;
	if (j->sha == NULL || strlen(j->sha) != 64 || j->length <= 0 ||
	    j->length > DOWNLOAD_MAX_BYTES)
		return update_job_refuse(j, "malformed", "the release's signed entry has no sha256 "
		                         "hash or no length this agent takes");
	for (i = 0; i < 64; i++)
		if (!((j->sha[i] >= '0' && j->sha[i] <= '9') || (j->sha[i] >= 'a' && j->sha[i] <= 'f')))
			return update_job_refuse(j, "malformed", "the release's sha256 is not hex");
	if (comp == NULL || strcmp(comp, j->component) != 0)
		return update_job_refuse(j, "wrong_component", "the release is of component %.64s, "
		                         "the activity installs %s", comp ? comp : "(none)",
		                         j->component);
	if (j->version == NULL || !devstatus_version_ok(j->version) || j->counter < 0)
		return update_job_refuse(j, "malformed", "the release has no version or release "
		                         "counter this agent takes");
	if (json_is_array(hw) && json_array_size(hw) > 0) {
		json_array_foreach(hw, i, h)
			fits |= json_is_string(h) && strcmp(json_string_value(h), j->conf->hardware) == 0;
		if (!fits)
			return update_job_refuse(j, "wrong_hardware", "the release is for other hardware "
			                         "than this device's (%s in agent.conf)",
			                         j->conf->hardware[0] ? j->conf->hardware : "no hardware");
	}
	update_installed_get(j->conf, j->component, have, sizeof(have), &have_counter);
	if (j->counter < have_counter)
		return update_job_refuse(j, "rollback", "release counter %lld is below the installed "
		                         "%s's %lld", j->counter, have, have_counter);
	if (j->counter == have_counter) {
		if (strcmp(have, j->version) != 0)
			return update_job_refuse(j, "rollback", "release counter %lld is the installed "
			                         "%s's, with another version", j->counter, have);
		printf("current %s %lld\n", j->version, j->counter);
		return UPDATE_CURRENT;
	}
	return UPDATE_STAGED;
}

/* Free bytes where path lives (its parent when it is not there yet). */
static long long update_free(const char *path, dev_t *dev)
{
	char p[AGENT_PATH_BYTES + 16], *slash;
	struct statvfs sv;
	struct stat st;

	snprintf(p, sizeof(p), "%s", path);
	while (stat(p, &st) != 0 && (slash = strrchr(p, '/')) != NULL && slash != p)
		*slash = '\0';
	*dev = st.st_dev;
	if (statvfs(p, &sv) != 0)
		return -1;
	return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

static void update_progress(void *arg, int64_t held)
{
	const struct update_job *j = arg;

	printf("downloaded %lld of %lld bytes\n", (long long)held, j->length);
	fflush(stdout);
}

/* Download into download/HEX.part, check it, move it to staged/HEX. */
static int update_job_download(struct update_job *j, const struct update_fetch *f)
{
	char dir[AGENT_PATH_BYTES], part[AGENT_PATH_BYTES + 96], staged[AGENT_PATH_BYTES + 96];
	char inst[AGENT_PATH_BYTES + 16], path[TUF_MAX_TARGET_BYTES + 96], why[384], sha[65];
	const char *slash = strrchr(j->target, '/');
	struct download d;
	struct stat st;
	long long need, free_dl, free_inst;
	dev_t dev_dl, dev_inst;
	struct timespec t0, t1;
	long long ms;
	int fd, rc = TE_ERR_IO, tries;

	agentconf_state_path(j->conf, UPDATE_DIR, dir, sizeof(dir));
	snprintf(part, sizeof(part), "%s/download", dir);
	snprintf(staged, sizeof(staged), "%s/staged", dir);
	if ((mkdir(part, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(staged, 0700) != 0 && errno != EEXIST)) {
		printf("failed: cannot make %s: %s\n", part, strerror(errno));
		return UPDATE_FAILED;
	}
	{
		char keep[80];

		snprintf(keep, sizeof(keep), "%s.part", j->sha);
		update_sweep(part, keep);
		update_sweep(staged, j->sha);
	}
	snprintf(part + strlen(part), sizeof(part) - strlen(part), "/%s.part", j->sha);
	snprintf(staged + strlen(staged), sizeof(staged) - strlen(staged), "/%s", j->sha);
	/* The download's rest, and the monitor's copy, must fit. */
	need = j->length - (lstat(part, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= j->length ?
	                    (long long)st.st_size : 0);
	snprintf(inst, sizeof(inst), "%s-install", j->conf->state_dir);
	free_dl = update_free(dir, &dev_dl);
	free_inst = update_free(inst, &dev_inst);
	if (dev_dl == dev_inst)
		need += j->length;
	if (free_dl < 0 || free_dl < need + UPDATE_SPARE_BYTES ||
	    (dev_dl != dev_inst && (free_inst < 0 || free_inst < j->length + UPDATE_SPARE_BYTES)))
		return update_job_refuse(j, "disk_space", "%lld MiB needed where state_dir is, %lld "
		                         "MiB free (and %lld MiB kept spare)",
		                         (need + (1 << 20) - 1) >> 20, free_dl < 0 ? 0 : free_dl >> 20,
		                         UPDATE_SPARE_BYTES >> 20);
	if ((fd = open(part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		printf("failed: cannot open %s: %s\n", part, strerror(errno));
		return UPDATE_FAILED;
	}
	/* Consistent snapshots: the file is named after its hash. */
	snprintf(path, sizeof(path), "/repo/targets/%.*s%s%s.%s",
	         slash != NULL ? (int)(slash - j->target) : 0, j->target, slash != NULL ? "/" : "",
	         j->sha, slash != NULL ? slash + 1 : j->target);
	memset(&d, 0, sizeof(d));
	d.ctx = f->ctx;
	d.server = j->conf->server;
	d.proxy = agentconf_proxy(j->conf, j->conf->server);
	d.path = path;
	d.fd = fd;
	d.length = j->length;
	d.rate = j->conf->download_rate;
	d.progress = update_progress;
	d.arg = j;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (tries = 1; tries <= UPDATE_FETCH_TRIES; tries++) {
		if ((rc = download_run(&d, sha, why, sizeof(why))) == 0 || rc == TE_ERR_TOO_LONG ||
		    rc == TE_ERR_NOT_FOUND)
			break;
		printf("try %d of %d: %s\n", tries, UPDATE_FETCH_TRIES, why);
		fflush(stdout);
		if (tries < UPDATE_FETCH_TRIES)
			sleep(1u << tries);
	}
	if (rc == TE_ERR_TOO_LONG) {
		close(fd);
		(void)unlink(part);
		return update_job_refuse(j, "endless_data", "%s", why);
	}
	if (rc != 0) {
		close(fd);
		agentaudit_log(j->conf, "agent", "update_download_failed", "%s: %s", j->target, why);
		printf("failed: %s (what came is kept; another try goes on from there)\n", why);
		return UPDATE_FAILED;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("downloaded and hashed %lld bytes in %lld ms (%.1f MiB/s)\n", j->length,
	       (long long)ms, ms > 0 ? (double)j->length / 1048576.0 / ((double)ms / 1000.0) : 0.0);
	/* download_run hashed the bytes as they came: no second pass. */
	if (strcmp(sha, j->sha) != 0) {
		close(fd);
		(void)unlink(part);
		return update_job_refuse(j, "arbitrary_software", "the downloaded bytes' SHA-256 "
		                         "(%.16s...) is not the signed one (%.16s...)", sha, j->sha);
	}
	close(fd);
	if (rename(part, staged) != 0) {
		printf("failed: cannot move the download to %s: %s\n", staged, strerror(errno));
		return UPDATE_FAILED;
	}
	agentaudit_log(j->conf, "agent", "update_downloaded", "%s: %lld bytes, sha256 %s",
	               j->target, j->length, j->sha);
	return UPDATE_STAGED;
}

int update_fetch(const struct agent_conf *conf, const char *component, const char *target)
{
	struct update_fetch f = { conf, NULL };
	struct update_job j;
	struct tufclient c;
	json_t *info = NULL;
	char staged[AGENT_PATH_BYTES + 96];
	struct stat st;
	int code = UPDATE_FAILED, tofu;

	memset(&c, 0, sizeof(c));
	memset(&j, 0, sizeof(j));
	j.conf = conf;
	j.component = component;
	j.target = target;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (update_refresh(conf, "update fetch", &f, &c, &tofu) != 0) {
		/* said on stderr: the same pipe as stdout */
		if (c.refusal != TUFCLIENT_OK && c.refusal != TUFCLIENT_FETCH)
			code = UPDATE_REFUSED;
		goto out;
	}
	printf("metadata: root %lld, timestamp %lld, snapshot %lld, targets %lld\n",
	       (long long)update_version(c.root), (long long)update_version(c.timestamp),
	       (long long)update_version(c.snapshot), (long long)update_version(c.targets));
	if (tufclient_target(&c, target, &info) != 0) {
		code = c.refusal == TUFCLIENT_FETCH ? UPDATE_FAILED : UPDATE_REFUSED;
		update_refused(conf, "update fetch", &c, target);
		goto out;
	}
	j.info = info;
	if ((code = update_job_judge(&j)) != UPDATE_STAGED)
		goto out;
	printf("release %s: %s %s, release counter %lld, %lld bytes, sha256 %s\n", target,
	       component, j.version, j.counter, j.length, j.sha);
	agentconf_state_path(conf, UPDATE_DIR "/staged", staged, sizeof(staged));
	snprintf(staged + strlen(staged), sizeof(staged) - strlen(staged), "/%s", j.sha);
	if (lstat(staged, &st) != 0 && (code = update_job_download(&j, &f)) != UPDATE_STAGED)
		goto out;
	printf("staged %s %lld %s %lld\n", j.sha, j.length, j.version, j.counter);
	code = UPDATE_STAGED;
out:
	fflush(stdout);
	json_decref(info);
	tufclient_free(&c);
	SSL_CTX_free(f.ctx);
	return code;
}

/* ---- the monitor's copy ----------------------------------------------------------- */

int update_stage_copy(const struct agent_conf *conf, const char *hex, char *out, size_t outsz,
                      char *why, size_t whysz)
{
	char src[AGENT_PATH_BYTES + 96], dir[AGENT_PATH_BYTES + 16], sha[65];
	struct dirent *de;
	struct stat st, sd;
	int64_t len = 0;
	int in = -1, dfd = -1, o = -1, rc = TE_ERR_IO;
	DIR *dp;

	agentconf_state_path(conf, UPDATE_DIR "/staged", src, sizeof(src));
	snprintf(src + strlen(src), sizeof(src) - strlen(src), "/%s", hex);
	snprintf(dir, sizeof(dir), "%s-install", conf->state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whysz, "cannot make %.*s: %s", 160, dir, strerror(errno));
		return TE_ERR_IO;
	}
	/* Only this process's user may write there: the copy stays as checked. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(dfd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(why, whysz, "%.*s is not a folder only the agent's monitor writes", 160, dir);
		goto out;
	}
	if ((dp = fdopendir(dup(dfd))) != NULL) {
		while ((de = readdir(dp)) != NULL)
			if (de->d_name[0] != '.')
				(void)unlinkat(dfd, de->d_name, 0);
		closedir(dp);
	}
	/* The worker's file: a regular file of state_dir's owner. The folders
	 * on the way are that user's, so a link among them could point this
	 * root process elsewhere; a file of anyone else is not taken. */
	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || stat(conf->state_dir, &sd) != 0 ||
	    st.st_uid != sd.st_uid) {
		snprintf(why, whysz, "no staged update %.16s... of the agent's user: %s", hex,
		         in < 0 ? strerror(errno) : "another owner or kind of file");
		goto out;
	}
	if ((o = openat(dfd, hex, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    file_copy_sha256(in, o, (int64_t)st.st_size, &len, sha) != 0 || fsync(o) != 0) {
		snprintf(why, whysz, "cannot copy the update into %.*s: %s", 160, dir, strerror(errno));
		(void)unlinkat(dfd, hex, 0);
		goto out;
	}
	if (strcmp(sha, hex) != 0) {
		snprintf(why, whysz, "the staged update's SHA-256 is not the one verified");
		(void)unlinkat(dfd, hex, 0);
		rc = TE_ERR_MISMATCH;
		goto out;
	}
	snprintf(out, outsz, "%s/%s", dir, hex);
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (o >= 0)
		close(o);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

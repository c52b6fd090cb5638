/* offline.c: `tether-agent install BUNDLE` (offline.h). */
#include "offline.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "actrun.h"
#include "agentaudit.h"
#include "bundle.h"
#include "codec.h"
#include "devstatus.h"
#include "err.h"
#include "filerepl.h"
#include "text.h"
#include "tuf.h"
#include "update.h"
#include "update_int.h"

struct offline_src {
	int fd;
	struct bundle b;
};

static int offline_read(void *arg, uint64_t off, void *buf, size_t n)
{
	const struct offline_src *s = arg;
	ssize_t r;
	size_t done = 0;

	while (done < n) {
		r = pread(s->fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? TE_ERR_TRUNCATED : TE_ERR_IO;
		done += (size_t)r;
	}
	return 0;
}

/* The TUF client's fetch from the bundle's metadata/. */
static int offline_fetch(void *arg, const char *name, size_t max, char **out, size_t *len)
{
	const struct offline_src *s = arg;
	const struct bundle_entry *e;
	char path[BUNDLE_NAME_BYTES];

	*out = NULL;
	snprintf(path, sizeof(path), "metadata/%s", name);
	if ((e = bundle_find(&s->b, path)) == NULL)
		return TE_ERR_NOT_FOUND;
	if (e->size > max)
		return TE_ERR_TOO_LONG;
	if ((*out = malloc((size_t)e->size + 1)) == NULL)
		return TE_ERR_NOMEM;
	if (offline_read(arg, e->offset, *out, (size_t)e->size) != 0) {
		free(*out);
		*out = NULL;
		return TE_ERR_IO;
	}
	(*out)[e->size] = '\0';
	*len = (size_t)e->size;
	return 0;
}

/* The one release in the bundle: "targets/DIR/HEX.NAME" is target DIR/NAME
 * with SHA-256 HEX. */
static const struct bundle_entry *offline_release(const struct bundle *b, char *target,
                                                  size_t tsz, char hex[65])
{
	const struct bundle_entry *found = NULL;
	const char *name, *slash, *base;
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (strncmp(b->entries[i].name, "targets/", 8) != 0)
			continue;
		if (found != NULL)
			return NULL;                   /* one release per bundle */
		found = &b->entries[i];
	}
	if (found == NULL)
		return NULL;
	name = found->name + 8;
	slash = strrchr(name, '/');
	base = slash != NULL ? slash + 1 : name;
	if (strlen(base) < 66 || base[64] != '.')
		return NULL;
	for (i = 0; i < 64; i++)
		if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
			return NULL;
	memcpy(hex, base, 64);
	hex[64] = '\0';
	snprintf(target, tsz, "%.*s%s", (int)(base - name), name, base + 65);
	return tuf_target_name_ok(target) ? found : NULL;
}

/* Copy the release from the bundle into STATE_DIR-install/HEX, exactly its
 * size, its SHA-256 checked. */
static int offline_copy(const struct agent_conf *conf, const struct offline_src *s,
                        const struct bundle_entry *e, const char *hex, char *out,
                        size_t outsz)
{
	unsigned char buf[65536], md[32];
	char dir[AGENT_PATH_BYTES + 16], sha[65];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t done = 0;
	unsigned mdlen = 0;
	struct stat st;
	int o = -1, rc = TE_ERR_IO;
	size_t n;

	snprintf(dir, sizeof(dir), "%s-install", conf->state_dir);
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || lstat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		fprintf(stderr, "tether-agent install: %s is not a folder only this user writes\n",
		        dir);
		goto out;
	}
	snprintf(out, outsz, "%s/%s", dir, hex);
	(void)unlink(out);
	if ((o = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		goto out;
	while (done < e->size) {
		n = e->size - done < sizeof(buf) ? (size_t)(e->size - done) : sizeof(buf);
		if (offline_read((void *)s, e->offset + done, buf, n) != 0 ||
		    EVP_DigestUpdate(ctx, buf, n) != 1 || fd_write_all(o, buf, n) != 0)
			goto out;
		done += n;
	}
	if (fsync(o) != 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    hex_encode(md, sizeof(md), sha, sizeof(sha)) != 0)
		goto out;
	rc = strcmp(sha, hex) == 0 ? 0 : TE_ERR_MISMATCH;
out:
	if (o >= 0)
		close(o);
	if (rc != 0 && o >= 0)
		(void)unlink(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Run a configured command (file for {}), its output on ours; its exit status. */
static int offline_run(const struct agent_diag *d, const char *file)
{
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	                 "HOME=/", "LANG=C", NULL };
	int status = 0;
	pid_t pid;

	agentconf_diag_argv(d, argv);
	for (size_t i = 1; argv[i] != NULL && file != NULL; i++)
		if (strcmp(argv[i], "{}") == 0)
			argv[i] = (char *)file;
	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if (chdir("/") != 0)
			_exit(127);
		execve(argv[0], argv, envp);
		fprintf(stderr, "tether-agent install: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Who runs this: the login name (it survives sudo) or the uid's. */
static void offline_who(char *out, size_t outsz)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw = getpwuid(getuid());

	snprintf(out, outsz, "%s%s%s", pw != NULL ? pw->pw_name : "?",
	         sudo != NULL && sudo[0] ? " via sudo from " : "", sudo != NULL ? sudo : "");
	if (text_check_display(out, outsz, NULL) != 0)
		snprintf(out, outsz, "uid %ld", (long)getuid());
}

/* The report the next ping carries (offline.h), added to the pending ones. */
void offline_report_add(const struct agent_conf *conf, const char *target, const char *version,
                        long long counter, const char *result, const char *who, int expired,
                        const char *reason)
{
	char p[AGENT_PATH_BYTES + 48], *text = NULL;
	json_t *list = offline_pending(conf);
	struct stat st;

	while (json_array_size(list) >= OFFLINE_MAX_REPORTS)
		json_array_remove(list, 0);             /* the oldest go first */
	json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:b, s:s}", "target",
	                                      target, "version", version, "counter",
	                                      (json_int_t)counter, "result", result, "at",
	                                      (json_int_t)time(NULL), "by", who, "expired_ok",
	                                      expired, "reason", reason));
	if (agentconf_state_path(conf, OFFLINE_REPORTS, p, sizeof(p)) == 0 &&
	    (text = json_dumps(list, JSON_COMPACT)) != NULL &&
	    file_replace(p, text, strlen(text)) == 0 && geteuid() == 0 &&
	    stat(conf->state_dir, &st) == 0)
		(void)!chown(p, st.st_uid, st.st_gid);
	free(text);
	json_decref(list);
}

json_t *offline_pending(const struct agent_conf *conf)
{
	char p[AGENT_PATH_BYTES + 48];
	json_t *list = NULL;

	if (agentconf_state_path(conf, OFFLINE_REPORTS, p, sizeof(p)) == 0)
		list = file_read_json(p, OFFLINE_REPORTS_MAX_BYTES);
	if (!json_is_array(list)) {
		json_decref(list);
		list = json_array();
	}
	return list;
}

void offline_reported(const struct agent_conf *conf, size_t n)
{
	char p[AGENT_PATH_BYTES + 48], *text;
	json_t *list = offline_pending(conf);

	while (n-- > 0 && json_array_size(list) > 0)
		json_array_remove(list, 0);
	if (agentconf_state_path(conf, OFFLINE_REPORTS, p, sizeof(p)) == 0) {
		if (json_array_size(list) == 0)
			(void)unlink(p);
		else if ((text = json_dumps(list, JSON_COMPACT)) != NULL) {
			(void)file_replace(p, text, strlen(text));
			free(text);
		}
	}
	json_decref(list);
}

/* The note the agent that starts after install.restart goes on from
 * (actrun.h ACTRUN_RESTART_NOTE), given to state_dir's owner: that agent's
 * network part removes it. */
static int offline_restart_note(const struct agent_conf *conf, const char *comp,
                                const char *target, const struct update_job *j, const char *who,
                                int expired, const char *reason)
{
	char p[AGENT_PATH_BYTES + 48], *text;
	json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:s, s:b, s:s}", "offline", 1,
	                      "component", comp, "target", target, "version", j->version,
	                      "counter", (json_int_t)j->counter, "by", who, "expired_ok", expired,
	                      "reason", reason);
	struct stat st;
	int rc;

	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	rc = text == NULL ? TE_ERR_NOMEM :
	     agentconf_state_path(conf, ACTRUN_RESTART_NOTE, p, sizeof(p)) != 0 ? TE_ERR_TOO_LONG :
	     file_replace(p, text, strlen(text));
	free(text);
	if (rc == 0 && geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
	    chown(p, st.st_uid, st.st_gid) != 0)
		rc = TE_ERR_IO;
	return rc;
}

static void offline_restart_unnote(const struct agent_conf *conf)
{
	char p[AGENT_PATH_BYTES + 48];

	if (agentconf_state_path(conf, ACTRUN_RESTART_NOTE, p, sizeof(p)) == 0)
		(void)unlink(p);
}

int offline_install(const struct agent_conf *conf, const char *path, int accept_expired,
                    const char *reason)
{
	struct offline_src s = { -1, { NULL, 0 } };
	const struct bundle_entry *rel;
	struct update_job j;
	struct tufclient c;
	struct stat st;
	json_t *info = NULL;
	char why[256], target[TUF_MAX_TARGET_BYTES + 1], hex[65], copy[AGENT_PATH_BYTES + 96];
	char who[128], comp[DEVSTATUS_NAME_BYTES], had[DEVSTATUS_VERSION_BYTES];
	long long had_counter;
	int code = 1, tofu, st_inst, st_health = 0, st_restart = 0;

	memset(&c, 0, sizeof(c));
	memset(&j, 0, sizeof(j));
	offline_who(who, sizeof(who));
	if (accept_expired && (reason == NULL || reason[0] == '\0')) {
		fprintf(stderr, "tether-agent install: --accept-expired needs --reason TEXT: why this "
		        "device is updated from a bundle past its freshness (audited)\n");
		return 2;
	}
	if (!conf->has_install) {
		fprintf(stderr, "tether-agent install: this device's agent.conf has no "
		        "install.command\n");
		return 1;
	}
	if ((s.fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(s.fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		fprintf(stderr, "tether-agent install: cannot read the bundle %s: %s\n", path,
		        s.fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	if (bundle_index(offline_read, &s, (uint64_t)st.st_size, &s.b, why, sizeof(why)) != 0) {
		fprintf(stderr, "tether-agent install: %s is not a bundle this agent takes: %s\n",
		        path, why);
		agentaudit_log(conf, "operator", "update_refused", "offline bundle %s: malformed: %s",
		               path, why);
		goto out;
	}
	if ((rel = offline_release(&s.b, target, sizeof(target), hex)) == NULL) {
		fprintf(stderr, "tether-agent install: the bundle must carry exactly one release, "
		        "as targets/PATH/SHA256.NAME\n");
		goto out;
	}
	printf("bundle %s: release %s\n", path, target);
	/* The same checks as online, from the bundle, against the root the
	 * device trusts already; the expiry of the timestamp and snapshot only
	 * when the operator accepts it. */
	if (update_refresh_from(conf, "install", offline_fetch, &s, 1, accept_expired, &c,
	                        &tofu) != 0) {
		if (c.refusal == TUFCLIENT_FREEZE)
			fprintf(stderr, "tether-agent install: an offline bundle past its freshness is "
			        "installed only when the operator at the device confirms it: "
			        "--accept-expired --reason TEXT (docs/security.md, \"Offline "
			        "installs\")\n");
		goto out;
	}
	if (c.expired_online)
		printf("the bundle's timestamp or snapshot has expired: accepted by %s (%s)\n", who,
		       reason);
	if (tufclient_target(&c, target, &info) != 0) {
		fprintf(stderr, "tether-agent install: refused (%s): %s\n",
		        tufclient_refusal_name(c.refusal), c.why);
		agentaudit_log(conf, "operator", "update_refused", "%s: %s: %s", target,
		               tufclient_refusal_name(c.refusal), c.why);
		goto out;
	}
	snprintf(comp, sizeof(comp), "%s", json_is_string(json_object_get(json_object_get(info,
	         "custom"), "component")) ? json_string_value(json_object_get(json_object_get(
	         info, "custom"), "component")) : "");
	j.conf = conf;
	j.component = comp;
	j.target = target;
	j.info = info;
	if ((code = update_job_judge(&j)) == UPDATE_CURRENT) {
		printf("%s %s is installed already\n", comp, j.version);
		code = 0;
		goto out;
	}
	if (code != UPDATE_STAGED) {
		code = 1;
		goto out;
	}
	code = 1;
	if ((uint64_t)j.length != rel->size || strcmp(j.sha, hex) != 0) {
		update_job_refuse(&j, "arbitrary_software", "the bundle's file (%llu bytes, named "
		                  "%.16s...) is not the signed release (%lld bytes, sha256 %.16s...)",
		                  (unsigned long long)rel->size, hex, j.length, j.sha);
		goto out;
	}
	if (offline_copy(conf, &s, rel, hex, copy, sizeof(copy)) != 0) {
		update_job_refuse(&j, "arbitrary_software", "the bundle's bytes do not have the "
		                  "signed SHA-256 (or could not be copied)");
		goto out;
	}
	update_installed_get(conf, comp, had, sizeof(had), &had_counter);
	printf("installing %s %s (release counter %lld) with %s\n", comp, j.version, j.counter,
	       conf->install_cmd.buf);
	st_inst = offline_run(&conf->install_cmd, copy);
	(void)unlink(copy);
	if (st_inst == 0 && conf->has_restart) {
		/* The health check is the next agent's, after the restart (actrun.c),
		 * and so is the report. */
		if (offline_restart_note(conf, comp, target, &j, who, c.expired_online,
		                         reason != NULL ? reason : "") != 0) {
			st_restart = -1;
		} else {
			agentaudit_log(conf, "operator", "update_restart", "offline bundle %s: %s %s "
			               "installed; install.restart runs, the health check follows the "
			               "restart (by %s)", path, comp, j.version, who);
			printf("installed %s %s; install.restart restarts the device now: install.health "
			       "runs when the agent starts again, and the server hears of the result at "
			       "the next ping\n", comp, j.version);
			if ((st_restart = offline_run(&conf->install_restart, NULL)) == 0) {
				code = 0;
				goto out;
			}
			offline_restart_unnote(conf);
		}
	} else if (st_inst == 0 && conf->has_health) {
		st_health = offline_run(&conf->install_health, NULL);
	}
	if (st_inst != 0 || st_health != 0 || st_restart != 0) {
		char fail[96];

		if (st_restart < 0)
			snprintf(fail, sizeof(fail), "the note for the health check after the restart "
			         "could not be kept");
		else
			snprintf(fail, sizeof(fail), "%s failed (exit status %d)", st_inst != 0 ?
			         "the installer" : st_health != 0 ? "the health check" :
			         "install.restart", st_inst != 0 ? st_inst : st_health != 0 ? st_health :
			         st_restart);
		agentaudit_log(conf, "operator", "update_install_failed", "offline bundle %s: %s %s: "
		               "%s (by %s)", path, comp, j.version, fail, who);
		if (conf->has_rollback) {
			int rb = offline_run(&conf->install_rollback, NULL);

			agentaudit_log(conf, "operator", "update_rolled_back", "offline bundle: %s: "
			               "install.rollback exit status %d", comp, rb);
			fprintf(stderr, "tether-agent install: %s; rolled back (install.rollback exit "
			        "status %d); the device stays on %s\n", fail, rb, had[0] ? had :
			        "what it ran before");
		} else {
			fprintf(stderr, "tether-agent install: %s; no install.rollback in agent.conf\n",
			        fail);
		}
		offline_report_add(conf, target, j.version, j.counter, "failed", who, c.expired_online,
		             reason != NULL ? reason : "");
		goto out;
	}
	if (update_installed_set(conf, comp, j.version, j.counter, target) != 0)
		fprintf(stderr, "tether-agent install: installed, but it could not be noted in "
		        "state_dir/tuf/%s\n", UPDATE_INSTALLED_FILE);
	agentaudit_log(conf, "operator", "update_installed", "offline bundle %s: %s %s (release "
	               "counter %lld) from %s, by %s%s%s", path, comp, j.version, j.counter,
	               target, who, c.expired_online ? "; expired timestamp accepted: " : "",
	               c.expired_online ? reason : "");
	offline_report_add(conf, target, j.version, j.counter, "installed", who, c.expired_online,
	             reason != NULL ? reason : "");
	printf("installed %s %s (release counter %lld); the server hears of it at the next "
	       "ping\n", comp, j.version, j.counter);
	code = 0;
out:
	json_decref(info);
	tufclient_free(&c);
	bundle_free(&s.b);
	if (s.fd >= 0)
		close(s.fd);
	return code;
}

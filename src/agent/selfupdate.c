/* selfupdate.c: the agent updating itself (selfupdate.h). */
#include "selfupdate.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "download.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "update.h"

static char self_exe[AGENT_PATH_BYTES];
static char **self_argv;

void selfupdate_set_self(const char *exe, char **argv)
{
	snprintf(self_exe, sizeof(self_exe), "%s", exe);
	self_argv = argv;
}

const char *selfupdate_exe(void)
{
	return self_exe;
}

void selfupdate_reexec(const char *path)
{
	sigset_t none;

	if (path == NULL || path[0] == '\0')
		path = self_exe;
	if (path[0] == '\0' || self_argv == NULL)
		return;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_info("monitor: starting %s again", path);
	execv(path, self_argv);
	log_error("monitor: cannot start %s again: %s", path, strerror(errno));
}

/* ---- step 1: the health check before the swap ---------------------------------- */

/* Run argv as the agent's user (when root), at most SELFUPDATE_CHECK_S;
 * its output (stdout and stderr, the first outsz - 1 bytes) into out.
 * The exit status, or -1. */
static int selfupdate_run(const struct agent_conf *conf, char *const argv[], char *out,
                          size_t outsz)
{
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };
	const struct passwd *pw = geteuid() == 0 ? getpwnam(conf->user) : NULL;
	time_t until = time(NULL) + SELFUPDATE_CHECK_S;
	size_t len = 0;
	int p[2], status = -1, fd;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if ((geteuid() == 0 && (pw == NULL || pw->pw_uid == 0)) || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) != 0 || dup2(p[1], 1) != 1 ||
		    dup2(p[1], 2) != 2)
			_exit(127);
		if (pw != NULL && (setgroups(1, &pw->pw_gid) != 0 ||
		                   setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		                   setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0))
			_exit(127);
		if (chdir("/") != 0)
			_exit(127);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int left = (int)(until - time(NULL));

		if (left <= 0 || poll(&pf, 1, left * 1000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if ((n = read(p[0], out + len, outsz - 1 - len)) <= 0 || (len += (size_t)n) >= outsz - 1)
			break;
	}
	out[len] = '\0';
	close(p[0]);
	/* a program that keeps its output open after it is cut off: no wait forever */
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of out, cleaned for a message. */
static const char *selfupdate_line(char *out)
{
	char *nl = strchr(out, '\n');

	if (nl != NULL)
		*nl = '\0';
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return out;
}

/* ---- step 2: the swap --------------------------------------------------------------- */

/* Copy from into a new file at to (mode 0755), fsynced. */
static int selfupdate_copy(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out, rc;
	int64_t len;
	char sha[65];

	if (in < 0)
		return TE_ERR_IO;
	(void)unlink(to);
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755)) < 0) {
		close(in);
		return TE_ERR_IO;
	}
	rc = file_copy_sha256(in, out, DOWNLOAD_MAX_BYTES, &len, sha);
	if (rc == 0 && (fchmod(out, 0755) != 0 || fsync(out) != 0))
		rc = TE_ERR_IO;
	close(in);
	close(out);
	if (rc != 0)
		(void)unlink(to);
	return rc;
}

static void selfupdate_marker_path(const struct agent_conf *conf, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-install/%s", conf->state_dir, SELFUPDATE_TRIAL);
}

int selfupdate_install(const struct agent_conf *conf, const char *hex, const char *version,
                       char *bin, size_t binsz, char *why, size_t whysz)
{
	char copy[AGENT_PATH_BYTES + 96], out[512], want[128], tmp[AGENT_PATH_BYTES + 16];
	char prev[AGENT_PATH_BYTES + 16], marker[AGENT_PATH_BYTES + 64], *text;
	char *argv_v[] = { copy, "--version", NULL };
	char *argv_t[] = { copy, "selftest", "--config", (char *)conf->path, NULL };
	json_t *m;
	int rc, st;

	if (self_exe[0] == '\0') {
		snprintf(why, whysz, "the agent does not know its own binary's path");
		return TE_ERR_INVALID;
	}
	if ((rc = update_stage_copy(conf, hex, copy, sizeof(copy), why, whysz)) != 0)
		return rc;
	/* The agent's user runs the checks: it may pass through the folder
	 * (not list or write it) and run the copy. */
	snprintf(tmp, sizeof(tmp), "%s-install", conf->state_dir);
	if (chmod(tmp, 0711) != 0 || chmod(copy, 0755) != 0) {
		snprintf(why, whysz, "cannot make the new binary executable: %s", strerror(errno));
		return TE_ERR_IO;
	}
	snprintf(want, sizeof(want), "tether-agent %s", version);
	if ((st = selfupdate_run(conf, argv_v, out, sizeof(out))) != 0 ||
	    strcmp(selfupdate_line(out), want) != 0) {
		snprintf(why, whysz, "the new binary's --version says '%.80s' (exit status %d), not "
		         "'%.80s'", out, st, want);
		(void)unlink(copy);
		return TE_ERR_MISMATCH;
	}
	if ((st = selfupdate_run(conf, argv_t, out, sizeof(out))) != 0) {
		snprintf(why, whysz, "the new binary's selftest failed (exit status %d): %.120s", st,
		         selfupdate_line(out));
		(void)unlink(copy);
		return TE_ERR_DENIED;
	}
	/* The swap: BIN.prev the old one (a link), the new one renamed over BIN. */
	snprintf(tmp, sizeof(tmp), "%s.new", self_exe);
	snprintf(prev, sizeof(prev), "%s.prev", self_exe);
	if (selfupdate_copy(copy, tmp) != 0) {
		snprintf(why, whysz, "cannot write %.160s: %s", tmp, strerror(errno));
		(void)unlink(copy);
		return TE_ERR_IO;
	}
	(void)unlink(copy);
	(void)unlink(prev);
	if (link(self_exe, prev) != 0 || rename(tmp, self_exe) != 0) {
		snprintf(why, whysz, "cannot put the new binary in place of %.160s: %s", self_exe,
		         strerror(errno));
		(void)unlink(tmp);
		return TE_ERR_IO;
	}
	selfupdate_marker_path(conf, marker, sizeof(marker));
	m = json_pack("{s:s, s:s, s:i, s:I}", "bin", self_exe, "to", version, "starts", 0,
	              "deadline", (json_int_t)0);
	text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	rc = text != NULL ? file_replace_mode(marker, text, strlen(text), 0600) : TE_ERR_NOMEM;
	free(text);
	if (rc != 0) {
		/* Without the marker nothing would watch the new one: undo. */
		(void)rename(prev, self_exe);
		snprintf(why, whysz, "cannot write %.160s; the old binary is back", marker);
		return rc;
	}
	snprintf(bin, binsz, "%s", self_exe);
	log_info("self-update: %s is tether-agent %s now (the old one kept as %s)", self_exe,
	         version, prev);
	return 0;
}

/* ---- step 4: the trial, in the new monitor --------------------------------------- */

static json_t *selfupdate_marker_load(const struct agent_conf *conf)
{
	char p[AGENT_PATH_BYTES + 64];

	selfupdate_marker_path(conf, p, sizeof(p));
	return file_read_json(p, 4096);
}

int selfupdate_trial_begin(const struct agent_conf *conf, struct selfupdate_trial *t)
{
	char p[AGENT_PATH_BYTES + 64], *text;
	json_t *m = selfupdate_marker_load(conf);
	int starts;

	memset(t, 0, sizeof(*t));
	if (m == NULL)
		return 0;
	snprintf(t->bin, sizeof(t->bin), "%s", json_string_value(json_object_get(m, "bin")) ?
	         json_string_value(json_object_get(m, "bin")) : self_exe);
	starts = (int)json_integer_value(json_object_get(m, "starts")) + 1;
	t->deadline = (time_t)json_integer_value(json_object_get(m, "deadline"));
	if (t->deadline == 0)
		t->deadline = time(NULL) + SELFUPDATE_TRIAL_S;
	json_object_set_new(m, "starts", json_integer(starts));
	json_object_set_new(m, "deadline", json_integer((json_int_t)t->deadline));
	selfupdate_marker_path(conf, p, sizeof(p));
	if ((text = json_dumps(m, JSON_COMPACT)) != NULL)
		(void)file_replace_mode(p, text, strlen(text), 0600);
	free(text);
	json_decref(m);
	t->active = 1;
	log_info("self-update: trial of the new agent, start %d of at most %d; its server must "
	         "answer within %d s", starts, SELFUPDATE_MAX_STARTS, SELFUPDATE_TRIAL_S);
	return starts > SELFUPDATE_MAX_STARTS ? -1 : 1;
}

int selfupdate_trial_check(const struct agent_conf *conf, struct selfupdate_trial *t,
                           time_t now)
{
	char ok[AGENT_PATH_BYTES + 32], p[AGENT_PATH_BYTES + 64];

	if (!t->active)
		return 0;
	if (agentconf_state_path(conf, SELFUPDATE_OK, ok, sizeof(ok)) == 0 && access(ok, F_OK) == 0) {
		selfupdate_marker_path(conf, p, sizeof(p));
		(void)unlink(p);
		(void)unlink(ok);
		t->active = 0;
		log_info("self-update: the new agent's server answered; it stays");
		return 1;
	}
	return now > t->deadline ? -1 : 0;
}

void selfupdate_fall_back(const struct agent_conf *conf, struct selfupdate_trial *t,
                          const char *why)
{
	char prev[AGENT_PATH_BYTES + 16], p[AGENT_PATH_BYTES + 64], *text;
	json_t *r = json_pack("{s:s, s:s}", "result", "fell_back", "why", why);
	struct stat st;

	snprintf(prev, sizeof(prev), "%s.prev", t->bin);
	if (rename(prev, t->bin) != 0)
		log_error("self-update: cannot put %s back: %s", prev, strerror(errno));
	else
		log_warn("self-update: %s; the previous binary is back in %s", why, t->bin);
	if (agentconf_state_path(conf, SELFUPDATE_RESULT, p, sizeof(p)) == 0 && r != NULL &&
	    (text = json_dumps(r, JSON_COMPACT)) != NULL) {
		if (file_replace(p, text, strlen(text)) == 0 && geteuid() == 0 &&
		    stat(conf->state_dir, &st) == 0)
			(void)!chown(p, st.st_uid, st.st_gid);
		free(text);
	}
	json_decref(r);
	selfupdate_marker_path(conf, p, sizeof(p));
	(void)unlink(p);
	t->active = 0;
}

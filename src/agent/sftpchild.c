/* sftpchild.c: `tether-agent sftp-server` (the SFTP engine on stdin and
 * stdout, audit lines on fd 3), how the worker starts it, and how the
 * worker reads its audit lines. See sftpchild.h. */
#include "sftpchild.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentconf.h"
#include "bounds.h"
#include "childproc.h"
#include "err.h"
#include "monitor.h"
#include "sftpd.h"

#define SFTPCHILD_AUDIT_FD 3
#define SFTPCHILD_IO_BYTES 65536

static const char *const sftpchild_actions[] = {
	"file_read", "file_write", "file_refused", "file_remove", "dir_create",
	"dir_remove", "file_rename", NULL
};

/* ---- the worker's side ---------------------------------------------------- */

int sftpchild_argv(const struct sftpchild_spec *spec, const char **argv, size_t max)
{
	size_t i, n = 0;

	if (max < 5 + 3 * spec->nroots + 2 * spec->nrefuse + 1)
		return TE_ERR_TOO_LONG;
	argv[n++] = "tether-agent";
	argv[n++] = "sftp-server";
	for (i = 0; i < spec->nroots; i++) {
		if (spec->names != NULL && spec->names[i] != NULL) {
			argv[n++] = "--area";
			argv[n++] = spec->names[i];
			argv[n++] = spec->roots[i];
		} else {
			argv[n++] = "--root";
			argv[n++] = spec->roots[i];
		}
	}
	for (i = 0; i < spec->nrefuse; i++) {
		argv[n++] = "--refuse";
		argv[n++] = spec->refuse[i];
	}
	if (spec->write_ok)
		argv[n++] = "--write";
	if (spec->patient_ok)
		argv[n++] = "--patient-records";
	if (spec->casefold)
		argv[n++] = "--case-insensitive";
	argv[n] = NULL;
	return 0;
}

static void sftpchild_close_pipes(int p[3][2])
{
	int i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			if (p[i][j] >= 0)
				close(p[i][j]);
}

/* In the child: the pipes onto 0, 1 and 3, everything else closed. Only
 * async-signal-safe calls until execv. */
static void sftpchild_exec(const char *prog, char *const argv[], int p[3][2], pid_t parent)
{
	int in = p[0][0], out = p[1][1], aud = p[2][1];

	childproc_reset_signals();
	childproc_die_with(parent, SIGKILL, 127);
	/* Move the ends above 3 first, so no dup2 below overwrites another. */
	if ((in = fcntl(in, F_DUPFD, 10)) < 0 || (out = fcntl(out, F_DUPFD, 10)) < 0 ||
	    (aud = fcntl(aud, F_DUPFD, 10)) < 0)
		_exit(127);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(aud, SFTPCHILD_AUDIT_FD) < 0)
		_exit(127);
	close_range(SFTPCHILD_AUDIT_FD + 1, ~0U, 0);
	execv(prog, argv);
	_exit(127);
}

int sftpchild_spawn(const char *prog, char *const argv[], int fds[3], pid_t *pid)
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	pid_t self = getpid();
	int i;

	fds[0] = fds[1] = fds[2] = -1;
	*pid = -1;
	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			sftpchild_close_pipes(p);
			return TE_ERR_SYS;
		}
	if ((*pid = fork()) < 0) {
		sftpchild_close_pipes(p);
		return TE_ERR_SYS;
	}
	if (*pid == 0)
		sftpchild_exec(prog, argv, p, self);          /* never returns */
	fds[0] = p[0][1];
	fds[1] = p[1][0];
	fds[2] = p[2][0];
	p[0][1] = p[1][0] = p[2][0] = -1;
	sftpchild_close_pipes(p);
	for (i = 0; i < 3; i++)
		(void)fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	return 0;
}

int sftpchild_start(const struct agent_conf *conf, const char *session,
                    const struct sftpchild_spec *spec, struct spawn_handle *h,
                    int *in, int *out, int *aud, char *why, size_t whysz)
{
	const char *argv[SFTPCHILD_MAX_ARGS];
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct spawn_req *req = NULL;
	int fds[SPAWN_MAX_FDS], devnull = -1, i, rc;
	size_t n;

	*in = *out = *aud = -1;
	if ((rc = sftpchild_argv(spec, argv, SFTPCHILD_MAX_ARGS)) != 0) {
		snprintf(why, whysz, "too many files.* and patient_data.* entries");
		return rc;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return TE_ERR_NOMEM;
	}
	/* The monitor runs this program's own sftp-server: argv from its
	 * second word (it puts "tether-agent" in front itself). */
	req->kind = SPAWN_KIND_SFTP;
	req->nfds = 4;
	snprintf(req->session, sizeof(req->session), "%s", session);
	for (n = 1; argv[n] != NULL; n++) {
		if (n - 1 >= SPAWN_MAX_ARGS || strlen(argv[n]) >= SPAWN_MAX_ARG_BYTES) {
			snprintf(why, whysz, "a files.* or patient_data.* entry is too long");
			rc = TE_ERR_TOO_LONG;
			goto out;
		}
		memcpy(req->argv[n - 1], argv[n], strlen(argv[n]) + 1);
	}
	req->argc = (uint32_t)(n - 1);
	rc = TE_ERR_SYS;
	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			snprintf(why, whysz, "cannot make a pipe: %s", strerror(errno));
			goto out;
		}
	if ((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		snprintf(why, whysz, "/dev/null: %s", strerror(errno));
		goto out;
	}
	/* stdin, stdout, stderr (nothing: the child reports on fd 3), audit. */
	fds[0] = p[0][0];
	fds[1] = p[1][1];
	fds[2] = devnull;
	fds[3] = p[2][1];
	if ((rc = monitor_spawn(conf, req, fds, h, why, whysz)) != 0)
		goto out;
	*in = p[0][1];
	*out = p[1][0];
	*aud = p[2][0];
	p[0][1] = p[1][0] = p[2][0] = -1;
	for (i = 0; i < 3; i++) {
		int *fd = i == 0 ? in : i == 1 ? out : aud;

		(void)fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	}
out:
	sftpchild_close_pipes(p);
	if (devnull >= 0)
		close(devnull);
	free(req);
	return rc;
}

static int sftpchild_action_ok(const char *a)
{
	size_t i;

	for (i = 0; sftpchild_actions[i] != NULL; i++)
		if (strcmp(a, sftpchild_actions[i]) == 0)
			return 1;
	return 0;
}

/* A detail is flat: a few fields, each a string, a number, a boolean or
 * null (what the engine writes), so the audit trail gets no nested
 * structure the child made up. */
static int sftpchild_detail_ok(json_t *d)
{
	const char *k;
	json_t *v;

	if (!json_is_object(d) || json_object_size(d) > SFTPCHILD_MAX_DETAIL_KEYS)
		return 0;
	json_object_foreach(d, k, v) {
		if (strlen(k) >= SFTPCHILD_ACTION_BYTES)
			return 0;
		if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v) &&
		    !json_is_null(v))
			return 0;
		if (json_is_string(v) && json_string_length(v) >= PATH_MAX)
			return 0;
	}
	return 1;
}

int sftpchild_audit_line(const char *line, size_t len,
                         char action[SFTPCHILD_ACTION_BYTES], json_t **detail)
{
	json_t *o, *a, *d;
	int rc = TE_ERR_INVALID;

	*detail = NULL;
	action[0] = '\0';
	if (len > MAX_SFTP_AUDIT_LINE_BYTES)
		return TE_ERR_TOO_LONG;
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return TE_ERR_INVALID;
	a = json_object_get(o, "action");
	d = json_object_get(o, "detail");
	if (json_is_object(o) && json_object_size(o) == 2 && json_is_string(a) &&
	    sftpchild_action_ok(json_string_value(a)) && sftpchild_detail_ok(d)) {
		snprintf(action, SFTPCHILD_ACTION_BYTES, "%s", json_string_value(a));
		*detail = json_incref(d);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* ---- the child's side ----------------------------------------------------- */

static int sftpchild_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The engine's audit callback: one JSON line on fd 3. A record too long
 * for a line (two paths near PATH_MAX) keeps its action and says so. */
static void sftpchild_audit(void *arg, const char *action, json_t *detail)
{
	json_t *o = json_pack("{s:s, s:o}", "action", action, "detail", detail);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	char small[128];

	(void)arg;
	if (text != NULL && strlen(text) + 1 <= MAX_SFTP_AUDIT_LINE_BYTES) {
		(void)sftpchild_write_all(SFTPCHILD_AUDIT_FD, text, strlen(text));
	} else {
		snprintf(small, sizeof(small), "{\"action\":\"%s\",\"detail\":"
		         "{\"truncated\":true}}", action);
		(void)sftpchild_write_all(SFTPCHILD_AUDIT_FD, small, strlen(small));
	}
	(void)sftpchild_write_all(SFTPCHILD_AUDIT_FD, "\n", 1);
	free(text);
	json_decref(o);
}

static int sftpchild_parse(int argc, char **argv, struct sftpd_policy *pol,
                           const char **roots, const char **names,
                           const char **refuse)
{
	int i;

	memset(pol, 0, sizeof(*pol));
	pol->roots = roots;
	pol->refuse = refuse;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc &&
		    pol->nroots < AGENT_MAX_FILE_ROOTS) {
			names[pol->nroots] = NULL;
			roots[pol->nroots++] = argv[++i];
		} else if (strcmp(argv[i], "--area") == 0 && i + 2 < argc &&
		           pol->nroots < AGENT_MAX_FILE_ROOTS) {
			pol->names = names;
			names[pol->nroots] = argv[++i];
			roots[pol->nroots++] = argv[++i];
		}
		else if (strcmp(argv[i], "--refuse") == 0 && i + 1 < argc &&
		         pol->nrefuse < AGENT_MAX_PATIENT)
			refuse[pol->nrefuse++] = argv[++i];
		else if (strcmp(argv[i], "--write") == 0)
			pol->write_ok = 1;
		else if (strcmp(argv[i], "--patient-records") == 0)
			pol->patient_ok = 1;
		else if (strcmp(argv[i], "--case-insensitive") == 0)
			pol->casefold = 1;
		else
			return -1;
	}
	return 0;
}

/* Pump stdin into the engine and its replies to stdout until the client
 * closes its side or the engine ends the channel. */
static int sftpchild_serve(struct sftpd *s)
{
	static char buf[SFTPCHILD_IO_BYTES];
	struct pollfd pf[2];
	const void *p;
	size_t n;
	ssize_t r;
	int in_open = 1, failed = 0;

	for (;;) {
		n = sftpd_output(s, &p);
		if (!in_open && n == 0)
			break;
		/* Not polled while the engine holds requests back (its output is
		 * full): the client's bytes wait in the pipe, then in the worker. */
		pf[0].fd = in_open && sftpd_wants_input(s) ? 0 : -1;
		pf[0].events = POLLIN;
		pf[1].fd = 1;
		pf[1].events = n > 0 ? POLLOUT : 0;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return SFTPCHILD_EXIT_ENGINE;
		}
		if (pf[1].revents & (POLLERR | POLLHUP))
			return failed ? SFTPCHILD_EXIT_ENGINE : 0;   /* the reader went away */
		if (n > 0 && (pf[1].revents & POLLOUT)) {
			r = write(1, p, n);
			if (r < 0 && errno != EINTR && errno != EAGAIN)
				return SFTPCHILD_EXIT_ENGINE;
			if (r > 0)
				sftpd_consume(s, (size_t)r);
		}
		if (pf[0].fd == 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = read(0, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0)
				in_open = 0;
			else if (sftpd_input(s, buf, (size_t)r) != 0)
				in_open = 0, failed = 1;
		}
		if (in_open && sftpd_input(s, NULL, 0) != 0)
			in_open = 0, failed = 1;   /* found while held-back requests ran */
	}
	return failed ? SFTPCHILD_EXIT_ENGINE : 0;
}

int sftpchild_main(int argc, char **argv)
{
	const char *roots[AGENT_MAX_FILE_ROOTS], *names[AGENT_MAX_FILE_ROOTS];
	const char *refuse[AGENT_MAX_PATIENT];
	struct sftpd_policy pol;
	struct sftpd *s = NULL;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (fcntl(SFTPCHILD_AUDIT_FD, F_GETFD) < 0 ||
	    sftpchild_parse(argc, argv, &pol, roots, names, refuse) != 0) {
		fprintf(stderr, "tether-agent sftp-server: started by the agent's session "
		        "worker only: (--root DIR | --area NAME DIR)... [--refuse PATTERN...]"
		        " [--write] "
		        "[--patient-records] [--case-insensitive], audit on fd 3\n");
		return SFTPCHILD_EXIT_USAGE;
	}
	if ((rc = sftpd_new(&pol, sftpchild_audit, NULL, &s)) != 0) {
		fprintf(stderr, "tether-agent sftp-server: %s\n", te_strerror(rc));
		return SFTPCHILD_EXIT_USAGE;
	}
	rc = sftpchild_serve(s);
	sftpd_free(s);            /* audits transfers left open */
	return rc;
}

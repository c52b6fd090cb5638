/* spawn.c: the keeper and the child it starts (see spawn.h).
 *
 * Everything the child needs (argv, envp, ids, the covers) is prepared in
 * the keeper before fork; the child only makes system calls until execve
 * and reports a failure as one byte on a close-on-exec pipe. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childproc.h"
#include "actenv.h"
#include "codec.h"
#include "devstatus.h"
#include "err.h"
#include "log.h"
#include "shell.h"
#include "tuf.h"
#include "selfupdate.h"
#include "update.h"

#define SPAWN_NENV        8
#define SPAWN_ENV_BYTES   (AGENT_PATH_BYTES + 32)
#define SPAWN_MAP_BYTES   64
#define SPAWN_AGENT_COVERS 4
#define SPAWN_MAX_COVERS  (SHELL_MAX_HIDE + SPAWN_AGENT_COVERS)
#define SPAWN_FD_HIGH     64    /* where fds wait before they become 0..n-1 */

/* One byte the child writes before it would exec. */
#define SPAWN_CHILD_ISOLATE 'n'
#define SPAWN_CHILD_EXEC    'e'

struct spawn_plan {
	enum spawn_mode mode;
	const struct spawn_req *req;
	char *argv[SPAWN_MAX_ARGS + 2];
	char *envp[SPAWN_NENV + 1];
	char env[SPAWN_NENV][SPAWN_ENV_BYTES];
	char exe[AGENT_PATH_BYTES];
	char numbers[3][24];             /* collect-read's limits and case flag */
	char home[AGENT_PATH_BYTES];
	char uid_map[SPAWN_MAP_BYTES], gid_map[SPAWN_MAP_BYTES];
	uid_t uid;
	gid_t gid;
	struct shell_hide *covers;       /* SPAWN_MAX_COVERS */
	size_t ncovers;
	int ns;                          /* new namespaces for this child */
	int as_root;                     /* the installer: no uid drop */
	char staged[AGENT_PATH_BYTES];   /* install: the monitor's copy of the file */
	int fds[SPAWN_MAX_FDS];
	int nfds;
	int errfd;
};

/* ---- what may run ------------------------------------------------------------ */

static int spawn_diag_matches(const struct agent_diag *d, const struct spawn_req *req)
{
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	uint32_t i;

	agentconf_diag_argv(d, argv);
	for (i = 0; i < req->argc; i++)
		if (argv[i] == NULL || strcmp(argv[i], req->argv[i]) != 0)
			return 0;
	return argv[i] == NULL;
}

int spawn_check(const struct agent_conf *conf, const struct spawn_req *req,
                char *why, size_t whysz)
{
	size_t i;

	switch (req->kind) {
	case SPAWN_KIND_SHELL:
		/* The configured shell, interactive or with one -c command. */
		if (strcmp(req->argv[0], conf->shell) == 0 &&
		    (req->argc == 1 || (req->argc == 3 && strcmp(req->argv[1], "-c") == 0)))
			return 0;
		break;
	case SPAWN_KIND_DIAG:
		for (i = 0; i < conf->ndiags; i++)
			if (spawn_diag_matches(&conf->diags[i], req))
				return 0;
		break;
	case SPAWN_KIND_STATUS:
		if (conf->has_status_cmd && spawn_diag_matches(&conf->status_cmd, req) &&
		    !(req->flags & SPAWN_F_PTY))
			return 0;
		break;
	case SPAWN_KIND_CONFIG:
		/* Exactly a configured config.NAME argv; its stdin a pipe. */
		for (i = 0; i < conf->nconfigs; i++)
			if (spawn_diag_matches(&conf->configs[i], req) && !(req->flags & SPAWN_F_PTY))
				return 0;
		break;
	case SPAWN_KIND_COLLECT:
		/* A configured collection by name; the monitor writes the rest
		 * of argv, the patient-data list included, which the reader
		 * checks each file against (and reports) before opening it. */
		if (req->argc == 2 && strcmp(req->argv[0], "collect-read") == 0 &&
		    agentconf_collect(conf, req->argv[1]) != NULL && req->nfds == 3 &&
		    req->flags == 0)
			return 0;
		break;
	case SPAWN_KIND_UPDATE:
		/* This very program's update worker, for one target of the
		 * repository, as the agent's own user: it holds no key. */
		if ((conf->has_install || conf->self_update) && req->argc == 3 &&
		    strcmp(req->argv[0], "update-fetch") == 0 &&
		    actenv_name_ok(req->argv[1]) && tuf_target_name_ok(req->argv[2]) &&
		    req->flags == 0)
			return 0;
		if ((conf->has_install || conf->self_update) && req->argc == 1 &&
		    strcmp(req->argv[0], "update-check") == 0 &&
		    req->flags == 0)
			return 0;
		break;
	case SPAWN_KIND_INSTALL:
		/* The configured installer on the staged file the monitor copies
		 * first (named by its SHA-256), or the health check or rollback. */
		if (req->flags != 0)
			break;
		if (req->argc == 3 && strcmp(req->argv[0], "self") == 0 && conf->self_update &&
		    hex_sha256_ok(req->argv[1]) && devstatus_version_ok(req->argv[2]))
			return 0;
		if (!conf->has_install)
			break;
		if (req->argc == 2 && strcmp(req->argv[0], "install") == 0 &&
		    hex_sha256_ok(req->argv[1]))
			return 0;
		if (req->argc == 1 && ((strcmp(req->argv[0], "health") == 0 && conf->has_health) ||
		                       (strcmp(req->argv[0], "rollback") == 0 && conf->has_rollback) ||
		                       (strcmp(req->argv[0], "restart") == 0 && conf->has_restart)))
			return 0;
		break;
	case SPAWN_KIND_SFTP:
		/* This very program's sftp-server subcommand, over fds 0-3. */
		if (strcmp(req->argv[0], "sftp-server") == 0 && req->nfds == 4 &&
		    !(req->flags & SPAWN_F_PTY))
			return 0;
		break;
	}
	snprintf(why, whysz, "the monitor does not start this program");
	return TE_ERR_DENIED;
}

/* ---- the plan ------------------------------------------------------------------ */

static void spawn_env(struct spawn_plan *p, size_t *n, const char *key, const char *val)
{
	if (*n >= SPAWN_NENV)
		return;
	snprintf(p->env[*n], sizeof(p->env[*n]), "%s=%s", key, val);
	p->envp[*n] = p->env[*n];
	p->envp[++(*n)] = NULL;
}

/* Is path equal to or below dir? */
static int spawn_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' ||
	                                      (n > 0 && dir[n - 1] == '/'));
}

/* In namespace mode: the agent's own folders, each covered unless another
 * of them already covers it. */
static int spawn_agent_covers(const struct agent_conf *conf, struct spawn_plan *p,
                              char *why, size_t whysz)
{
	char dirs[SPAWN_AGENT_COVERS][AGENT_PATH_BYTES];
	struct stat st;
	char *slash;
	size_t i, k;
	int skip;

	snprintf(dirs[0], sizeof(dirs[0]), "%s", conf->state_dir);
	snprintf(dirs[1], sizeof(dirs[1]), "%s", conf->consent_socket);
	if ((slash = strrchr(dirs[1], '/')) != NULL)
		*slash = '\0';
	snprintf(dirs[2], sizeof(dirs[2]), "%.*s", (int)sizeof(dirs[2]) - 1, conf->recordings_dir);
	/* where installs are copied and the agent's own update keeps its
	 * trial (update.h): the monitor makes it at its start */
	snprintf(dirs[3], sizeof(dirs[3]), "%.*s-install", (int)sizeof(dirs[3]) - 9, conf->state_dir);
	for (i = 0; i < SPAWN_AGENT_COVERS; i++) {
		if (i == 3 && (lstat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)))
			continue;                      /* not there: nothing to hide */
		if (dirs[i][0] != '/' || dirs[i][1] == '\0') {
			snprintf(why, whysz, "cannot cover the agent's folder '%.*s'", 160, dirs[i]);
			return TE_ERR_INVALID;
		}
		for (skip = 0, k = 0; k < SPAWN_AGENT_COVERS && !skip; k++)
			skip = k != i && spawn_path_under(dirs[i], dirs[k]) &&
			       (strcmp(dirs[i], dirs[k]) != 0 || k < i);
		if (skip)
			continue;
		memcpy(p->covers[p->ncovers].path, dirs[i], sizeof(dirs[i]));
		p->covers[p->ncovers++].dir = 1;
	}
	return 0;
}

static int spawn_covers(const struct agent_conf *conf, struct spawn_plan *p,
                        char *why, size_t whysz)
{
	struct shell_hide *hide = NULL;
	size_t nhide = 0;
	int rc;

	if ((p->covers = calloc(SPAWN_MAX_COVERS, sizeof(*p->covers))) == NULL)
		return TE_ERR_NOMEM;
	/* The refusal list first: the agent's covers may lie above it. */
	if (p->req->flags & SPAWN_F_COVER) {
		if ((rc = shell_hide_list(conf, &hide, &nhide, why, whysz)) != 0)
			return rc;
		memcpy(p->covers, hide, nhide * sizeof(*hide));
		p->ncovers = nhide;
		free(hide);
	}
	if (p->mode == SPAWN_MODE_NAMESPACE)
		return spawn_agent_covers(conf, p, why, whysz);
	return 0;
}

static int spawn_identity(const struct agent_conf *conf, struct spawn_plan *p,
                          char *why, size_t whysz)
{
	struct passwd *pw;

	if (p->mode == SPAWN_MODE_SUPPORT_USER && p->req->kind == SPAWN_KIND_INSTALL) {
		pw = getpwuid(0);                  /* the installer is the device's root */
		p->as_root = 1;
	} else if (p->mode == SPAWN_MODE_SUPPORT_USER && p->req->kind == SPAWN_KIND_UPDATE) {
		if ((pw = getpwnam(conf->user)) == NULL || pw->pw_uid == 0) {
			snprintf(why, whysz, "user %s is not a usable account for the update worker",
			         conf->user);
			return TE_ERR_DENIED;
		}
	} else if (p->mode == SPAWN_MODE_SUPPORT_USER) {
		if ((pw = getpwnam(conf->support_user)) == NULL || pw->pw_uid == 0) {
			snprintf(why, whysz, "support_user %s is not a usable account",
			         conf->support_user);
			return TE_ERR_DENIED;
		}
	} else {
		pw = getpwuid(geteuid());
	}
	p->uid = pw != NULL ? pw->pw_uid : geteuid();
	p->gid = pw != NULL ? pw->pw_gid : getegid();
	snprintf(p->home, sizeof(p->home), "%s",
	         pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	{
		size_t n = 0;
		const char *name = pw != NULL ? pw->pw_name : "unknown";

		p->envp[0] = NULL;
		spawn_env(p, &n, "HOME", p->home);
		spawn_env(p, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
		spawn_env(p, &n, "SHELL", conf->shell);
		spawn_env(p, &n, "USER", name);
		spawn_env(p, &n, "LOGNAME", name);
		spawn_env(p, &n, "TERM", p->req->term[0] ? p->req->term : "dumb");
		spawn_env(p, &n, "TETHER_SESSION", p->req->session);
	}
	snprintf(p->uid_map, sizeof(p->uid_map), "%lu %lu 1\n",
	         (unsigned long)geteuid(), (unsigned long)geteuid());
	snprintf(p->gid_map, sizeof(p->gid_map), "%lu %lu 1\n",
	         (unsigned long)getegid(), (unsigned long)getegid());
	return 0;
}

/* The installer's argv from agent.conf. For "install HEX", the staged
 * file (state_dir/update/staged/HEX, the update worker's) is first copied
 * by the monitor into state_dir/update/install/HEX, a folder only root
 * writes when the agent starts as root, its SHA-256 checked against HEX
 * while it is copied: the installer reads bytes nobody else can change
 * under it, and they are the bytes the worker verified. {} is that copy. */
static int spawn_install_plan(const struct agent_conf *conf, struct spawn_plan *p,
                              char *why, size_t whysz)
{
	const struct agent_diag *d;
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	size_t i;
	int rc;

	/* The agent's own update: checked and swapped here (selfupdate.h);
	 * the child then says the new binary's version from its place. */
	if (strcmp(p->req->argv[0], "self") == 0) {
		if ((rc = selfupdate_install(conf, p->req->argv[1], p->req->argv[2], p->exe,
		                             sizeof(p->exe), why, whysz)) != 0)
			return rc;
		p->argv[0] = p->exe;
		p->argv[1] = "--version";
		p->argv[2] = NULL;
		p->ns = 0;
		return 0;
	}
	d = strcmp(p->req->argv[0], "install") == 0 ? &conf->install_cmd :
	    strcmp(p->req->argv[0], "health") == 0 ? &conf->install_health :
	    strcmp(p->req->argv[0], "restart") == 0 ? &conf->install_restart :
	    &conf->install_rollback;
	if (d == &conf->install_cmd &&
	    (rc = update_stage_copy(conf, p->req->argv[1], p->staged, sizeof(p->staged), why,
	                            whysz)) != 0)
		return rc;
	agentconf_diag_argv(d, argv);
	snprintf(p->exe, sizeof(p->exe), "%s", argv[0]);
	for (i = 0; argv[i] != NULL; i++)
		p->argv[i] = strcmp(argv[i], "{}") == 0 && d == &conf->install_cmd ? p->staged :
		             argv[i];
	p->argv[i] = NULL;
	p->ns = 0;
	return 0;
}

static int spawn_prepare(const struct agent_conf *conf, struct spawn_plan *p,
                         char *why, size_t whysz)
{
	uint32_t i, a = 0;
	int rc;

	if ((rc = spawn_check(conf, p->req, why, whysz)) != 0 ||
	    (rc = spawn_identity(conf, p, why, whysz)) != 0 ||
	    (rc = spawn_covers(conf, p, why, whysz)) != 0)
		return rc;
	if (p->req->kind == SPAWN_KIND_COLLECT) {
		/* collect-read PATTERN MAX_FILE MAX_TOTAL CASEFOLD PATIENT...:
		 * every word from the monitor's own config, none from the
		 * network part but the collection's name. */
		const struct agent_collect *c = agentconf_collect(conf, p->req->argv[1]);

		snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
		snprintf(p->numbers[0], sizeof(p->numbers[0]), "%lld", c->max_file);
		snprintf(p->numbers[1], sizeof(p->numbers[1]), "%lld", c->max_total);
		snprintf(p->numbers[2], sizeof(p->numbers[2]), "%d", conf->patient_casefold);
		p->argv[a++] = "tether-agent";
		p->argv[a++] = "collect-read";
		p->argv[a++] = (char *)c->pattern;
		for (i = 0; i < 3; i++)
			p->argv[a++] = p->numbers[i];
		for (i = 0; i < conf->npatient; i++)
			p->argv[a++] = (char *)conf->patient[i].path;
		p->argv[a] = NULL;
		p->ns = p->mode == SPAWN_MODE_NAMESPACE;
		return 0;
	} else if (p->req->kind == SPAWN_KIND_UPDATE) {
		/* tether-agent update fetch --config FILE COMPONENT TARGET, or
		 * tether-agent update check --config FILE */
		snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
		p->argv[a++] = "tether-agent";
		p->argv[a++] = "update";
		p->argv[a++] = p->req->argc == 3 ? "fetch" : "check";
		p->argv[a++] = "--config";
		p->argv[a++] = (char *)conf->path;
		if (p->req->argc == 3) {
			p->argv[a++] = (char *)p->req->argv[1];
			p->argv[a++] = (char *)p->req->argv[2];
		}
		p->argv[a] = NULL;
		p->ns = 0;
		return 0;
	} else if (p->req->kind == SPAWN_KIND_INSTALL) {
		return spawn_install_plan(conf, p, why, whysz);
	} else if (p->req->kind == SPAWN_KIND_SFTP) {
		snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
		p->argv[a++] = "tether-agent";
	} else if (strlen(p->req->argv[0]) < sizeof(p->exe)) {
		memcpy(p->exe, p->req->argv[0], strlen(p->req->argv[0]) + 1);
	} else {
		snprintf(why, whysz, "the program's path is too long");
		return TE_ERR_TOO_LONG;
	}
	for (i = 0; i < p->req->argc; i++)
		p->argv[a++] = (char *)p->req->argv[i];
	p->argv[a] = NULL;
	p->ns = p->mode == SPAWN_MODE_NAMESPACE || (p->req->flags & SPAWN_F_COVER);
	return 0;
}

/* ---- the child ------------------------------------------------------------------ */

static void spawn_child_fail(int errfd, char code)
{
	(void)!write(errfd, &code, 1);
	_exit(127);
}

static int spawn_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Map the keeper's own uid and gid into a new user namespace. */
static int spawn_map_ids(const struct spawn_plan *p)
{
	if (spawn_write_file("/proc/self/uid_map", p->uid_map) != 0)
		return -1;
	/* Unprivileged: setgroups must be off before gid_map can be written. */
	if (spawn_write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	return spawn_write_file("/proc/self/gid_map", p->gid_map);
}

/* PID 1 of the new PID namespace: private mounts, a fresh /proc (so no
 * /proc/PID reaches outside), then the covers. In namespace mode a second
 * user+mount namespace locks them; as root the uid drop that follows does. */
static int spawn_cover(const struct spawn_plan *p)
{
	size_t i;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return -1;
	for (i = 0; i < p->ncovers; i++) {
		if (p->covers[i].dir) {
			if (mount("tether-hidden", p->covers[i].path, "tmpfs",
			          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			          "size=4k,mode=0555") != 0)
				return -1;
		} else if (mount("/dev/null", p->covers[i].path, NULL, MS_BIND, NULL) != 0) {
			return -1;
		}
	}
	if (p->mode == SPAWN_MODE_NAMESPACE &&
	    (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || spawn_map_ids(p) != 0))
		return -1;
	return 0;
}

static int spawn_drop(const struct spawn_plan *p)
{
	if (p->mode != SPAWN_MODE_SUPPORT_USER || p->as_root)
		return 0;
	if (setgroups(1, &p->gid) != 0 || setresgid(p->gid, p->gid, p->gid) != 0 ||
	    setresuid(p->uid, p->uid, p->uid) != 0)
		return -1;
	/* Never go on as root by mistake. */
	return setuid(0) == 0 || geteuid() == 0 || getuid() == 0 ? -1 : 0;
}

/* The passed fds become 0..nfds-1 (a PTY slave 0, 1 and 2 and the
 * controlling terminal); everything else is closed. */
static int spawn_fds(const struct spawn_plan *p)
{
	int i, n = p->req->flags & SPAWN_F_PTY ? 3 : p->nfds;

	for (i = 0; i < n; i++)
		if (dup2(p->fds[(p->req->flags & SPAWN_F_PTY) ? 0 : i], i) != i)
			return -1;
	if ((p->req->flags & SPAWN_F_PTY) && ioctl(0, TIOCSCTTY, 0) != 0)
		return -1;
	/* errfd sits at SPAWN_FD_HIGH and is close-on-exec; the rest goes. */
	if (close_range((unsigned int)n, SPAWN_FD_HIGH - 1, 0) != 0 ||
	    close_range(SPAWN_FD_HIGH + 1, ~0U, 0) != 0) {
		if (errno != ENOSYS)
			return -1;
		for (i = n; i < 65536; i++)
			if (i != SPAWN_FD_HIGH)
				close(i);
	}
	return 0;
}

static void spawn_child(const struct spawn_plan *p)
{
	childproc_reset_signals();
	if (setsid() < 0)
		spawn_child_fail(p->errfd, SPAWN_CHILD_EXEC);
	if (p->ns && spawn_cover(p) != 0)
		spawn_child_fail(p->errfd, SPAWN_CHILD_ISOLATE);
	if (spawn_drop(p) != 0)
		spawn_child_fail(p->errfd, SPAWN_CHILD_ISOLATE);
	/* The uid change cleared it: die with the keeper. As PID 1 of its own
	 * namespace the child cannot compare getppid(); a keeper that died
	 * before this point closed the pipe's read end, which poll says. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	{
		struct pollfd pf = { p->errfd, POLLOUT, 0 };

		if (poll(&pf, 1, 0) < 0 || (pf.revents & (POLLERR | POLLHUP)))
			_exit(127);
	}
	if (spawn_fds(p) != 0)
		spawn_child_fail(p->errfd, SPAWN_CHILD_EXEC);
	if (chdir(p->home) != 0 && chdir("/") != 0)
		spawn_child_fail(p->errfd, SPAWN_CHILD_EXEC);
	execve(p->exe, p->argv, p->envp);
	spawn_child_fail(p->errfd, SPAWN_CHILD_EXEC);
}

/* ---- the keeper ------------------------------------------------------------------ */

void spawn_send_status(int fd, uint32_t type, int32_t value, const char *text)
{
	struct spawn_status st;
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int n;

	memset(&st, 0, sizeof(st));
	st.type = type;
	st.value = value;
	snprintf(st.text, sizeof(st.text), "%s", text != NULL ? text : "");
	if ((n = spawnmsg_encode_status(&st, buf, sizeof(buf))) > 0)
		(void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

/* Where the child will find them: errfd at SPAWN_FD_HIGH, the passed fds
 * above it, so that moving them to 0..n-1 overwrites nothing. */
static int spawn_place_fds(struct spawn_plan *p, const int *fds, int errfd)
{
	int i;

	if (dup3(errfd, SPAWN_FD_HIGH, O_CLOEXEC) != SPAWN_FD_HIGH)
		return -1;
	close(errfd);
	p->errfd = SPAWN_FD_HIGH;
	p->nfds = (int)p->req->nfds;
	for (i = 0; i < p->nfds; i++)
		if ((p->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, SPAWN_FD_HIGH + 1)) < 0)
			return -1;
	/* The same fd may be passed twice (stdout and stderr). */
	for (i = 0; i < p->nfds; i++)
		(void)close(fds[i]);
	return 0;
}

/* Make the namespaces the child will be PID 1 of. */
static int spawn_unshare(const struct spawn_plan *p)
{
	if (!p->ns)
		return 0;
	if (p->mode == SPAWN_MODE_SUPPORT_USER)
		return unshare(CLONE_NEWNS | CLONE_NEWPID);
	/* Not dumpable (the agent never is) makes /proc/self/uid_map root's. */
	prctl(PR_SET_DUMPABLE, 1);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0 || spawn_map_ids(p) != 0)
		return -1;
	return 0;
}

/* The child's exec (EOF on the pipe), or its failure code; 0 on exec. */
static char spawn_confirm(int fd)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	char code = SPAWN_CHILD_EXEC;
	ssize_t n;

	if (poll(&pf, 1, SPAWN_START_TIMEOUT_S * 1000) <= 0)
		return SPAWN_CHILD_EXEC;
	while ((n = read(fd, &code, 1)) < 0 && errno == EINTR)
		;
	return n == 0 ? 0 : code;
}

static int spawn_status_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	       WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Hang up the child's group, give it SPAWN_KILL_WAIT_MS, then kill it. */
static int spawn_stop(pid_t pid, int pidfd)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };
	int status = 0;

	kill(-pid, SIGHUP);
	kill(pid, SIGHUP);
	if (pidfd < 0 || poll(&pf, 1, SPAWN_KILL_WAIT_MS) <= 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);               /* what it left behind */
	return spawn_status_of(status);
}

/* Until the child exits, the status socket closes or SIGTERM comes. */
static void spawn_watch(pid_t pid, int status_fd)
{
	struct pollfd pf[3];
	sigset_t term;
	char b[SPAWN_MSG_MAX_BYTES];
	int pidfd, sigfd, status = 0, code;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	sigfd = signalfd(-1, &term, SFD_CLOEXEC);
	for (;;) {
		pf[0] = (struct pollfd){ status_fd, POLLIN, 0 };
		pf[1] = (struct pollfd){ pidfd, POLLIN, 0 };
		pf[2] = (struct pollfd){ sigfd, POLLIN, 0 };
		/* Without a pidfd, look for the exit every 200 ms. */
		if (poll(pf, 3, pidfd < 0 ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents || (pidfd < 0 && waitpid(pid, &status, WNOHANG) == pid)) {
			if (pidfd >= 0)
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
			kill(-pid, SIGKILL);
			spawn_send_status(status_fd, SPAWN_MSG_EXITED, spawn_status_of(status), NULL);
			return;
		}
		/* Any message, EOF or a hang-up from the worker means stop. */
		if (pf[0].revents || pf[2].revents) {
			if (pf[0].revents & POLLIN)
				(void)!recv(status_fd, b, sizeof(b), MSG_DONTWAIT);
			code = spawn_stop(pid, pidfd);
			spawn_send_status(status_fd, SPAWN_MSG_EXITED, code, NULL);
			return;
		}
	}
	spawn_send_status(status_fd, SPAWN_MSG_EXITED, spawn_stop(pid, pidfd), NULL);
}

static void spawn_fail(int status_fd, int32_t code, const char *why)
{
	spawn_send_status(status_fd, SPAWN_MSG_FAILED, code, why);
	_exit(1);
}

void spawn_keeper(const struct agent_conf *conf, enum spawn_mode mode,
                  const struct spawn_req *req, const int *fds, int status_fd)
{
	struct spawn_plan *p;
	char why[SPAWN_TEXT_BYTES];
	int pipefd[2];
	pid_t pid;
	char code;

	prctl(PR_SET_NAME, "tether-keeper");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		spawn_fail(status_fd, SPAWN_FAIL_SYS, "out of memory");
	p->mode = mode;
	p->req = req;
	why[0] = '\0';
	if (spawn_prepare(conf, p, why, sizeof(why)) != 0)
		spawn_fail(status_fd, p->req->flags & SPAWN_F_COVER ? SPAWN_FAIL_ISOLATE :
		           SPAWN_FAIL_REFUSED, why);
	if ((req->flags & SPAWN_F_PTY) && mode == SPAWN_MODE_SUPPORT_USER &&
	    fchown(fds[0], p->uid, (gid_t)-1) != 0)
		spawn_fail(status_fd, SPAWN_FAIL_SYS, "cannot give the terminal to the support user");
	if (pipe2(pipefd, O_CLOEXEC) != 0 || spawn_place_fds(p, fds, pipefd[1]) != 0)
		spawn_fail(status_fd, SPAWN_FAIL_SYS, "cannot set up the descriptors");
	if (spawn_unshare(p) != 0)
		spawn_fail(status_fd, SPAWN_FAIL_ISOLATE, mode == SPAWN_MODE_NAMESPACE ?
		           "no user, mount and PID namespaces for the child here" :
		           "no mount and PID namespaces for the child here");
	if ((pid = fork()) < 0)
		spawn_fail(status_fd, SPAWN_FAIL_SYS, "cannot fork");
	if (pid == 0) {
		close(pipefd[0]);
		close(status_fd);
		spawn_child(p);
	}
	close(p->errfd);
	for (int i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	if ((code = spawn_confirm(pipefd[0])) != 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		spawn_fail(status_fd, code == SPAWN_CHILD_ISOLATE ? SPAWN_FAIL_ISOLATE :
		           SPAWN_FAIL_EXEC, code == SPAWN_CHILD_ISOLATE ?
		           "the child could not be isolated (namespaces, covers or uid)" :
		           "the program could not be started");
	}
	close(pipefd[0]);
	spawn_send_status(status_fd, SPAWN_MSG_STARTED, (int32_t)pid, NULL);
	spawn_watch(pid, status_fd);
	if (p->staged[0] != '\0')
		(void)unlink(p->staged);           /* the installer is done with its copy */
	_exit(0);
}

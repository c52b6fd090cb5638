/* shell.c: PTY shell, asciicast v2 recording, patient-data namespaces.
 *
 * The worker that calls shell_start has a second thread (the TLS pump), so
 * everything the child needs (argv, envp, the uid/gid maps, the list of
 * paths to cover) is prepared before fork; the child only makes system
 * calls until it execs. */

#include "shell.h"

#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "childproc.h"
#include "codec.h"
#include "err.h"
#include "log.h"
#include "pdmatch.h"

#define SHELL_EVENT_BYTES   4096               /* output bytes per "o" event */
#define SHELL_LINE_BYTES    (6 * SHELL_EVENT_BYTES + 128)
#define SHELL_MAP_BYTES     64
#define SHELL_ENV_BYTES     (AGENT_PATH_BYTES + 32)
#define SHELL_NENV          8
#define SHELL_KILL_WAIT_MS  1000

/* Failure codes the child writes to the parent before it would exec. */
#define SHELL_CHILD_NS   'n'    /* the namespaces or covers could not be set up */
#define SHELL_CHILD_EXEC 'e'    /* the shell could not be started */

struct shell {
	pid_t pid;
	int master;
	int rec;                        /* the .cast file */
	EVP_MD_CTX *md;
	struct timespec t0;
	unsigned long long bytes;
	unsigned char carry[4];         /* an incomplete UTF-8 sequence */
	size_t ncarry;
	int exited;
	int status;
	struct shell_result res;
};

/* ---- JSON text ------------------------------------------------------------ */

size_t shell_json_escape(const unsigned char *in, size_t len, char *out,
                         size_t outsz, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, n;

	*used = 0;
	if (outsz == 0)
		return 0;
	while (i < len) {
		unsigned char ch = in[i];
		char esc[8];
		size_t elen = 0;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\', esc[1] = (char)ch, elen = 2;
			n = 1;
		} else if (ch < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4], esc[5] = hex[ch & 15], elen = 6;
			n = 1;
		} else if (ch < 0x80) {
			esc[0] = (char)ch, elen = 1;
			n = 1;
		} else if ((n = codec_utf8_len(in + i, len - i)) == SIZE_MAX) {
			break;                  /* the rest comes with the next read */
		} else if (n == 0) {
			memcpy(esc, "\\ufffd", 6), elen = 6;
			n = 1;
		} else {
			if (o + n + 1 > outsz)
				return *used = 0, 0;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			continue;
		}
		if (o + elen + 1 > outsz)
			return *used = 0, 0;
		memcpy(out + o, esc, elen);
		o += elen;
		i += n;
	}
	out[o] = '\0';
	*used = i;
	return o;
}

/* ---- the recording -------------------------------------------------------- */

static int shell_rec_write(struct shell *sh, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(sh->rec, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TE_ERR_IO;
		off += (size_t)n;
	}
	return EVP_DigestUpdate(sh->md, text, len) == 1 ? 0 : TE_ERR_SYS;
}

static double shell_elapsed(const struct shell *sh)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - sh->t0.tv_sec) +
	       (double)(now.tv_nsec - sh->t0.tv_nsec) / 1e9;
}

int shell_record(struct shell *sh, const void *data, size_t len)
{
	unsigned char buf[SHELL_EVENT_BYTES + sizeof(sh->carry)];
	char line[SHELL_LINE_BYTES];
	size_t used, elen, off = 0, take;
	int n, rc;

	sh->bytes += len;
	while (off < len) {
		take = len - off;
		if (take > SHELL_EVENT_BYTES)
			take = SHELL_EVENT_BYTES;
		memcpy(buf, sh->carry, sh->ncarry);
		memcpy(buf + sh->ncarry, (const unsigned char *)data + off, take);
		off += take;
		take += sh->ncarry;
		n = snprintf(line, sizeof(line), "[%.6f, \"o\", \"", shell_elapsed(sh));
		elen = shell_json_escape(buf, take, line + n, sizeof(line) - (size_t)n - 4,
		                         &used);
		/* Only an incomplete UTF-8 tail (at most 3 bytes) is carried over;
		 * more would mean line was too small, which its size rules out. */
		if (take - used >= sizeof(sh->carry))
			return TE_ERR_TOO_LONG;
		sh->ncarry = take - used;
		memcpy(sh->carry, buf + used, sh->ncarry);
		if (used == 0)
			continue;
		memcpy(line + n + elen, "\"]\n", 4);
		if ((rc = shell_rec_write(sh, line, (size_t)n + elen + 3)) != 0)
			return rc;
	}
	return 0;
}

/* The PTY's window size: 0, or -1 with errno set. */
static int shell_winsize(int master, unsigned int cols, unsigned int rows)
{
	struct winsize ws;

	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)cols;
	ws.ws_row = (unsigned short)rows;
	return ioctl(master, TIOCSWINSZ, &ws);
}

int shell_resize(struct shell *sh, unsigned int cols, unsigned int rows)
{
	char line[96];
	int n;

	if (cols == 0 || rows == 0 || cols > 10000 || rows > 10000)
		return TE_ERR_INVALID;
	if (shell_winsize(sh->master, cols, rows) != 0)
		return TE_ERR_SYS;
	n = snprintf(line, sizeof(line), "[%.6f, \"r\", \"%ux%u\"]\n",
	             shell_elapsed(sh), cols, rows);
	return shell_rec_write(sh, line, (size_t)n);
}

/* A TERM value from the client goes into the environment and the header:
 * only a plain name is taken. */
static const char *shell_term(const char *term)
{
	size_t i, n = term != NULL ? strlen(term) : 0;

	if (n == 0 || n >= SHELL_TERM_BYTES)
		return "dumb";
	for (i = 0; i < n; i++)
		if (!((term[i] >= 'a' && term[i] <= 'z') || (term[i] >= 'A' && term[i] <= 'Z') ||
		      (term[i] >= '0' && term[i] <= '9') || term[i] == '-' ||
		      term[i] == '_' || term[i] == '.' || term[i] == '+'))
			return "dumb";
	return term;
}

static int shell_rec_open(const struct agent_conf *conf, const struct shell_spec *spec,
                          struct shell *sh, const char *term, unsigned int cols,
                          unsigned int rows, char *why, size_t whysz)
{
	struct stat st;
	json_t *h;
	char *text = NULL;
	int n, rc;

	if (mkdir(conf->recordings_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whysz, "cannot create %s: %s", conf->recordings_dir,
		         strerror(errno));
		return TE_ERR_SYS;
	}
	if (lstat(conf->recordings_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whysz, "%s is not a directory", conf->recordings_dir);
		return TE_ERR_INVALID;
	}
	n = snprintf(sh->res.recording, sizeof(sh->res.recording), "%s/%s-%u.cast",
	             conf->recordings_dir, spec->session, spec->channel);
	if (n < 0 || (size_t)n >= sizeof(sh->res.recording)) {
		snprintf(why, whysz, "recording path too long");
		return TE_ERR_TOO_LONG;
	}
	sh->rec = open(sh->res.recording, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	               O_CLOEXEC, 0600);
	if (sh->rec < 0) {
		snprintf(why, whysz, "cannot create %s: %s", sh->res.recording,
		         strerror(errno));
		return TE_ERR_SYS;
	}
	if ((sh->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(sh->md, EVP_sha256(), NULL) != 1)
		return TE_ERR_NOMEM;
	clock_gettime(CLOCK_MONOTONIC, &sh->t0);
	h = json_pack("{s:i, s:i, s:i, s:I, s:{s:s, s:s}, s:s+}", "version", 2,
	              "width", (int)cols, "height", (int)rows,
	              "timestamp", (json_int_t)time(NULL), "env", "TERM", term,
	              "SHELL", conf->shell, "title", "session ", spec->session);
	if (h == NULL || (text = json_dumps(h, JSON_COMPACT)) == NULL) {
		json_decref(h);
		return TE_ERR_NOMEM;
	}
	json_decref(h);
	rc = shell_rec_write(sh, text, strlen(text));
	if (rc == 0)
		rc = shell_rec_write(sh, "\n", 1);
	free(text);
	if (rc != 0)
		snprintf(why, whysz, "cannot write the recording: %s", te_strerror(rc));
	return rc;
}

/* ---- the refusal list ------------------------------------------------------- */

/* What the cover hides: pdmatch's rule (the same SFTP applies), walked
 * under each pattern's fixed prefix, plus the other names of refused files
 * found there and in the files.* folders. Any bound hit is TE_ERR_DENIED:
 * the shell is refused rather than run with something left uncovered. */
static int shell_hide_list(const struct agent_conf *conf, struct pdmatch_cover **out,
                           size_t *nout, char *why, size_t whysz)
{
	const char *pats[AGENT_MAX_PATIENT], *roots[AGENT_MAX_FILE_ROOTS];
	char what[PDMATCH_WHY_BYTES];
	struct pdmatch *m = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < conf->npatient; i++)
		pats[i] = conf->patient[i].path;
	for (i = 0; i < conf->nfiles; i++)
		roots[i] = conf->files[i].path;
	rc = pdmatch_new(pats, conf->npatient, conf->patient_casefold, &m, what,
	                 sizeof(what));
	if (rc == 0)
		rc = pdmatch_scan(m, roots, conf->nfiles, out, nout, what, sizeof(what));
	pdmatch_free(m);
	if (rc == TE_ERR_NOMEM)
		return rc;
	if (rc != 0) {
		snprintf(why, whysz, "patient data cannot be hidden from a shell on this "
		         "device: %s", what);
		return TE_ERR_DENIED;
	}
	return 0;
}

/* ---- the child -------------------------------------------------------------- */

struct shell_exec {
	char slave[64];
	char *argv[4];
	char *envp[SHELL_NENV + 1];
	char env[SHELL_NENV][SHELL_ENV_BYTES];
	char home[AGENT_PATH_BYTES];
	char uid_map[SHELL_MAP_BYTES];
	char gid_map[SHELL_MAP_BYTES];
	const struct pdmatch_cover *hide;
	size_t nhide;
	int hide_on;
	int errfd;
};

static void shell_child_fail(int errfd, char code)
{
	(void)!write(errfd, &code, 1);
	_exit(127);
}

static int shell_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Map our own uid and gid into the new user namespace. */
static int shell_map_ids(const struct shell_exec *x)
{
	if (shell_write_file("/proc/self/uid_map", x->uid_map) != 0)
		return -1;
	/* Unprivileged: setgroups must be off before gid_map can be written. */
	if (shell_write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	return shell_write_file("/proc/self/gid_map", x->gid_map);
}

/* Inside the new namespaces (PID 1 of the new PID namespace): a fresh
 * /proc, the covers, then a second user+mount namespace which makes every
 * mount above locked, so even a shell with capabilities there cannot
 * unmount a cover. */
static int shell_cover(const struct shell_exec *x)
{
	size_t i;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return -1;
	for (i = 0; i < x->nhide; i++) {
		if (x->hide[i].dir) {
			if (mount("tether-hidden", x->hide[i].path, "tmpfs",
			          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			          "size=4k,mode=0555") != 0)
				return -1;
		} else if (mount("/dev/null", x->hide[i].path, NULL, MS_BIND, NULL) != 0) {
			return -1;
		}
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || shell_map_ids(x) != 0)
		return -1;
	return 0;
}

static void shell_child_exec(const struct shell_exec *x)
{
	int fd;

	if (setsid() < 0)
		shell_child_fail(x->errfd, SHELL_CHILD_EXEC);
	if ((fd = open(x->slave, O_RDWR)) < 0)
		shell_child_fail(x->errfd, SHELL_CHILD_EXEC);
	(void)ioctl(fd, TIOCSCTTY, 0);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		shell_child_fail(x->errfd, SHELL_CHILD_EXEC);
	if (fd > 2)
		close(fd);
	if (chdir(x->home) != 0 && chdir("/") != 0)
		shell_child_fail(x->errfd, SHELL_CHILD_EXEC);
	execve(x->argv[0], x->argv, x->envp);
	shell_child_fail(x->errfd, SHELL_CHILD_EXEC);
}

/* The intermediate process of the covered shell: new user, mount and PID
 * namespaces; its child is PID 1 there and becomes the shell. Its exit
 * status is the shell's. */
static void shell_child_ns(const struct shell_exec *x)
{
	pid_t pid;
	int status;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0 ||
	    shell_map_ids(x) != 0)
		shell_child_fail(x->errfd, SHELL_CHILD_NS);
	pid = fork();
	if (pid < 0)
		shell_child_fail(x->errfd, SHELL_CHILD_NS);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (shell_cover(x) != 0)
			shell_child_fail(x->errfd, SHELL_CHILD_NS);
		shell_child_exec(x);
	}
	close(x->errfd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) :
	      WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127);
}

static void shell_child(const struct shell_exec *x)
{
	childproc_reset_signals();
	/* A worker that dropped privileges is not dumpable, which makes
	 * /proc/self/uid_map root's: this child (which execs the shell next
	 * anyway) must be able to write its own maps. */
	prctl(PR_SET_DUMPABLE, 1);
	/* Nothing of the worker's (TLS, SSH, recording) reaches the shell. */
	if (x->errfd > 3)
		close_range(3, (unsigned int)x->errfd - 1, 0);
	close_range((unsigned int)x->errfd + 1, ~0U, 0);
	if (x->hide_on)
		shell_child_ns(x);
	shell_child_exec(x);
}

static void shell_env(struct shell_exec *x, size_t *n, const char *key,
                      const char *val)
{
	if (*n >= SHELL_NENV)
		return;
	snprintf(x->env[*n], sizeof(x->env[*n]), "%s=%s", key, val);
	x->envp[*n] = x->env[*n];
	(*n)++;
	x->envp[*n] = NULL;
}

static void shell_prepare(const struct agent_conf *conf, const struct shell_spec *spec,
                          const char *term, struct shell_exec *x)
{
	struct passwd *pw = getpwuid(getuid());
	size_t n = 0;

	snprintf(x->home, sizeof(x->home), "%s",
	         pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	shell_env(x, &n, "TERM", term);
	shell_env(x, &n, "HOME", x->home);
	shell_env(x, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
	shell_env(x, &n, "SHELL", conf->shell);
	shell_env(x, &n, "USER", pw != NULL ? pw->pw_name : "unknown");
	shell_env(x, &n, "LOGNAME", pw != NULL ? pw->pw_name : "unknown");
	shell_env(x, &n, "TETHER_SESSION", spec->session);
	x->argv[0] = (char *)conf->shell;
	if (spec->command != NULL) {
		x->argv[1] = "-c";
		x->argv[2] = (char *)spec->command;
		x->argv[3] = NULL;
	} else {
		x->argv[1] = NULL;
	}
	snprintf(x->uid_map, sizeof(x->uid_map), "%lu %lu 1\n",
	         (unsigned long)geteuid(), (unsigned long)geteuid());
	snprintf(x->gid_map, sizeof(x->gid_map), "%lu %lu 1\n",
	         (unsigned long)getegid(), (unsigned long)getegid());
}

static int shell_pty(struct shell *sh, struct shell_exec *x, unsigned int cols,
                     unsigned int rows)
{
	sh->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sh->master < 0 || grantpt(sh->master) != 0 || unlockpt(sh->master) != 0 ||
	    ptsname_r(sh->master, x->slave, sizeof(x->slave)) != 0)
		return TE_ERR_SYS;
	if (shell_winsize(sh->master, cols, rows) != 0)
		return TE_ERR_SYS;
	return fcntl(sh->master, F_SETFL, fcntl(sh->master, F_GETFL) | O_NONBLOCK) == 0
	       ? 0 : TE_ERR_SYS;
}

/* Wait for the child's exec (EOF on the pipe) or its failure code. */
static int shell_confirm(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char code = 0;
	ssize_t n;

	if (poll(&p, 1, SHELL_START_TIMEOUT_S * 1000) <= 0)
		return TE_ERR_TIMEOUT;
	while ((n = read(fd, &code, 1)) < 0 && errno == EINTR)
		;
	if (n == 0)
		return 0;
	return code == SHELL_CHILD_NS ? TE_ERR_DENIED : TE_ERR_SYS;
}

static void shell_discard(struct shell *sh)
{
	int status;

	if (sh->pid > 0) {
		kill(sh->pid, SIGKILL);
		while (waitpid(sh->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (sh->master >= 0)
		close(sh->master);
	if (sh->rec >= 0) {
		close(sh->rec);
		unlink(sh->res.recording);
	}
	EVP_MD_CTX_free(sh->md);
	free(sh);
}

int shell_start(const struct agent_conf *conf, const struct shell_spec *spec,
                struct shell **out, char *why, size_t whysz)
{
	struct shell *sh = NULL;
	struct shell_exec *x = NULL;
	struct pdmatch_cover *hide = NULL;
	unsigned int cols = spec->cols ? spec->cols : SHELL_DEFAULT_COLS;
	unsigned int rows = spec->rows ? spec->rows : SHELL_DEFAULT_ROWS;
	const char *term = shell_term(spec->term);
	int pipefd[2] = { -1, -1 }, rc;

	*out = NULL;
	snprintf(why, whysz, "out of memory");
	if ((sh = calloc(1, sizeof(*sh))) == NULL || (x = calloc(1, sizeof(*x))) == NULL) {
		free(sh);
		return TE_ERR_NOMEM;
	}
	sh->master = sh->rec = -1;
	sh->res.exit_status = -1;
	if (cols > 10000 || rows > 10000)
		cols = SHELL_DEFAULT_COLS, rows = SHELL_DEFAULT_ROWS;
	if (spec->hide_patient &&
	    (rc = shell_hide_list(conf, &hide, &x->nhide, why, whysz)) != 0)
		goto fail;
	x->hide = hide;
	x->hide_on = spec->hide_patient;
	shell_prepare(conf, spec, term, x);
	if ((rc = shell_rec_open(conf, spec, sh, term, cols, rows, why, whysz)) != 0)
		goto fail;
	if ((rc = shell_pty(sh, x, cols, rows)) != 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(why, whysz, "cannot open a pseudo-terminal: %s", strerror(errno));
		rc = TE_ERR_SYS;
		goto fail;
	}
	x->errfd = pipefd[1];
	if ((sh->pid = fork()) < 0) {
		snprintf(why, whysz, "cannot fork: %s", strerror(errno));
		rc = TE_ERR_SYS;
		goto fail;
	}
	if (sh->pid == 0)
		shell_child(x);         /* never returns */
	close(pipefd[1]);
	pipefd[1] = -1;
	if ((rc = shell_confirm(pipefd[0])) != 0) {
		if (rc == TE_ERR_DENIED)
			snprintf(why, whysz, "patient data cannot be hidden from a shell "
			         "on this device");
		else
			snprintf(why, whysz, "the shell %s could not be started", conf->shell);
		goto fail;
	}
	close(pipefd[0]);
	pdmatch_cover_free(hide, x->nhide);
	free(x);
	*out = sh;
	return 0;
fail:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	pdmatch_cover_free(hide, x->nhide);
	free(x);
	shell_discard(sh);
	return rc;
}

const char *shell_recording(const struct shell *sh)
{
	return sh->res.recording;
}

int shell_fd(const struct shell *sh)
{
	return sh->master;
}

static void shell_note_status(struct shell *sh, int status)
{
	sh->exited = 1;
	sh->res.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) :
	                      WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int shell_exited(struct shell *sh)
{
	int status;

	if (!sh->exited && waitpid(sh->pid, &status, WNOHANG) == sh->pid)
		shell_note_status(sh, status);
	return sh->exited;
}

void shell_finish(struct shell *sh, struct shell_result *res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int status, waited = 0;

	if (!shell_exited(sh)) {
		/* Hang up like a terminal would, give it a moment, then kill. */
		close(sh->master);
		sh->master = -1;
		kill(-sh->pid, SIGHUP);
		kill(sh->pid, SIGHUP);
		while (!shell_exited(sh) && waited < SHELL_KILL_WAIT_MS) {
			usleep(50 * 1000);
			waited += 50;
		}
		if (!sh->exited) {
			kill(-sh->pid, SIGKILL);
			kill(sh->pid, SIGKILL);
			while (waitpid(sh->pid, &status, 0) < 0 && errno == EINTR)
				;
			shell_note_status(sh, status);
		}
	}
	if (sh->master >= 0)
		close(sh->master);
	if (sh->ncarry > 0) {
		/* A sequence the shell never completed: one U+FFFD per byte. */
		char line[64];
		int n = snprintf(line, sizeof(line), "[%.6f, \"o\", \"", shell_elapsed(sh));

		for (i = 0; i < sh->ncarry; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "\\ufffd");
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\"]\n");
		(void)shell_rec_write(sh, line, (size_t)n);
		sh->ncarry = 0;
	}
	if (EVP_DigestFinal_ex(sh->md, md, &mdlen) == 1)
		(void)hex_encode(md, mdlen, sh->res.sha256, sizeof(sh->res.sha256));
	close(sh->rec);
	sh->res.bytes = sh->bytes;
	*res = sh->res;
	EVP_MD_CTX_free(sh->md);
	free(sh);
}

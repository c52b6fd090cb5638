/* shell.c: PTY shell, asciicast v2 recording, and the refusal list the
 * patient-data cover hides. The shell itself is started by the agent's
 * monitor (monitor.h, spawn.h); the worker keeps the PTY master and the
 * recording. */

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

#include "codec.h"
#include "err.h"
#include "log.h"
#include "monitor.h"
#include "pdmatch.h"

#define SHELL_EVENT_BYTES   4096               /* output bytes per "o" event */
#define SHELL_LINE_BYTES    (6 * SHELL_EVENT_BYTES + 128)

struct shell {
	struct spawn_handle child;
	int master;
	int rec;                        /* the .cast file */
	EVP_MD_CTX *md;
	struct timespec t0;
	unsigned long long bytes;
	unsigned char carry[4];         /* an incomplete UTF-8 sequence */
	size_t ncarry;
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
	/* A visit's later connections number their channels from 0 again. */
	if (spec->conn > 0)
		n = snprintf(sh->res.recording, sizeof(sh->res.recording), "%s/%s-c%lld-%u.cast",
		             conf->recordings_dir, spec->session, (long long)spec->conn,
		             spec->channel);
	else
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

int shell_hide_list(const struct agent_conf *conf, struct shell_hide **out,
                    size_t *nout, char *why, size_t whysz)
{
	const char *pats[AGENT_MAX_PATIENT], *roots[AGENT_MAX_FILE_ROOTS];
	char what[PDMATCH_WHY_BYTES];
	struct pdmatch_cover *c = NULL;
	struct shell_hide *h = NULL;
	struct pdmatch *m = NULL;
	size_t i, nc = 0;
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
		rc = pdmatch_scan(m, roots, conf->nfiles, &c, &nc, what, sizeof(what));
	pdmatch_free(m);
	if (rc == 0 && nc > SHELL_MAX_HIDE) {
		snprintf(what, sizeof(what), "the refusal list matches more than %d paths",
		         SHELL_MAX_HIDE);
		rc = TE_ERR_TOO_LONG;
	}
	for (i = 0; rc == 0 && i < nc; i++)
		if (strlen(c[i].path) >= sizeof(h->path)) {
			snprintf(what, sizeof(what), "a refused path is longer than %d bytes",
			         AGENT_PATH_BYTES - 1);
			rc = TE_ERR_TOO_LONG;
		}
	if (rc == 0 && nc > 0 && (h = calloc(nc, sizeof(*h))) == NULL)
		rc = TE_ERR_NOMEM;
	for (i = 0; rc == 0 && i < nc; i++) {
		snprintf(h[i].path, sizeof(h[i].path), "%s", c[i].path);
		h[i].dir = c[i].dir;
	}
	pdmatch_cover_free(c, nc);
	if (rc == TE_ERR_NOMEM)
		return rc;
	if (rc != 0) {
		snprintf(why, whysz, SHELL_COVER_REFUSED ": %s", what);
		return TE_ERR_DENIED;
	}
	*out = h;
	*nout = nc;
	return 0;
}

/* The PTY: the master stays here (non-blocking), the slave goes to the
 * monitor for the child. */
static int shell_pty(struct shell *sh, int *slave, unsigned int cols, unsigned int rows)
{
	char name[64];

	sh->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sh->master < 0 || grantpt(sh->master) != 0 || unlockpt(sh->master) != 0 ||
	    ptsname_r(sh->master, name, sizeof(name)) != 0)
		return TE_ERR_SYS;
	if (shell_winsize(sh->master, cols, rows) != 0)
		return TE_ERR_SYS;
	if ((*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return TE_ERR_SYS;
	return fcntl(sh->master, F_SETFL, fcntl(sh->master, F_GETFL) | O_NONBLOCK) == 0
	       ? 0 : TE_ERR_SYS;
}

static void shell_discard(struct shell *sh)
{
	monitor_spawn_stop(&sh->child);
	if (sh->master >= 0)
		close(sh->master);
	if (sh->rec >= 0) {
		close(sh->rec);
		unlink(sh->res.recording);
	}
	EVP_MD_CTX_free(sh->md);
	free(sh);
}

/* What the monitor is asked to start: the shell, interactive or -c. */
static void shell_request(const struct agent_conf *conf, const struct shell_spec *spec,
                          const char *term, struct spawn_req *req)
{
	memset(req, 0, sizeof(*req));
	req->kind = SPAWN_KIND_SHELL;
	req->flags = SPAWN_F_PTY | (spec->hide_patient ? SPAWN_F_COVER : 0);
	req->nfds = 1;
	snprintf(req->term, sizeof(req->term), "%s", term);
	snprintf(req->session, sizeof(req->session), "%s", spec->session);
	snprintf(req->argv[0], sizeof(req->argv[0]), "%s", conf->shell);
	req->argc = 1;
	if (spec->command != NULL) {
		snprintf(req->argv[1], sizeof(req->argv[1]), "-c");
		snprintf(req->argv[2], sizeof(req->argv[2]), "%s", spec->command);
		req->argc = 3;
	}
}

int shell_start(const struct agent_conf *conf, const struct shell_spec *spec,
                struct shell **out, char *why, size_t whysz)
{
	struct shell *sh = NULL;
	struct spawn_req *req = NULL;
	unsigned int cols = spec->cols ? spec->cols : SHELL_DEFAULT_COLS;
	unsigned int rows = spec->rows ? spec->rows : SHELL_DEFAULT_ROWS;
	const char *term = shell_term(spec->term);
	int slave = -1, rc;

	*out = NULL;
	snprintf(why, whysz, "out of memory");
	if ((sh = calloc(1, sizeof(*sh))) == NULL || (req = calloc(1, sizeof(*req))) == NULL) {
		free(sh);
		return TE_ERR_NOMEM;
	}
	sh->master = sh->rec = sh->child.status_fd = -1;
	sh->res.exit_status = -1;
	if (cols > 10000 || rows > 10000)
		cols = SHELL_DEFAULT_COLS, rows = SHELL_DEFAULT_ROWS;
	if (spec->command != NULL && strlen(spec->command) >= sizeof(req->argv[2])) {
		snprintf(why, whysz, "the command is longer than %d bytes",
		         SPAWN_MAX_ARG_BYTES - 1);
		rc = TE_ERR_TOO_LONG;
		goto fail;
	}
	shell_request(conf, spec, term, req);
	if ((rc = shell_rec_open(conf, spec, sh, term, cols, rows, why, whysz)) != 0)
		goto fail;
	if ((rc = shell_pty(sh, &slave, cols, rows)) != 0) {
		snprintf(why, whysz, "cannot open a pseudo-terminal: %s", strerror(errno));
		goto fail;
	}
	rc = monitor_spawn(conf, req, &slave, &sh->child, why, whysz);
	close(slave);
	if (rc == TE_ERR_DENIED && spec->hide_patient) {
		log_warn("shell for session %s: %s", spec->session, why);
		/* The keeper's own reason names the bound it hit; keep that one. */
		if (strncmp(why, SHELL_COVER_REFUSED, strlen(SHELL_COVER_REFUSED)) != 0)
			snprintf(why, whysz, SHELL_COVER_REFUSED);
	} else if (rc == TE_ERR_DENIED) {
		char detail[SPAWN_TEXT_BYTES];

		snprintf(detail, sizeof(detail), "%s", why);
		snprintf(why, whysz, "the shell cannot be kept apart from the agent on "
		         "this device (%s)", detail);
	}
	if (rc != 0)
		goto fail;
	free(req);
	*out = sh;
	return 0;
fail:
	free(req);
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

int shell_exited(struct shell *sh)
{
	if (monitor_spawn_poll(&sh->child))
		sh->res.exit_status = sh->child.exit_status;
	return sh->child.exited;
}

void shell_finish(struct shell *sh, struct shell_result *res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!shell_exited(sh)) {
		/* Hang up like a terminal would; the keeper then SIGHUPs the
		 * shell's group, waits a moment and kills what is left. */
		close(sh->master);
		sh->master = -1;
		monitor_spawn_stop(&sh->child);
		sh->res.exit_status = sh->child.exit_status;
	}
	monitor_spawn_stop(&sh->child);
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

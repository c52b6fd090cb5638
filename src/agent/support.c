/* support.c: support account password, and its lockout on disk. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agentaudit.h"
#include "bounds.h"
#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "privdrop.h"
#include "secret.h"
#include "supportlock.h"

#define SUPPORT_PW_MAX_BYTES 256

static struct supportlock_policy support_policy(const struct agent_conf *conf)
{
	struct supportlock_policy p = {
		conf->support_max_failures, conf->support_lock_base_s,
		conf->support_lock_max_s
	};

	/* A conf not from agentconf_load (zeroed): the built-in defaults. */
	if (p.max_failures <= 0 || p.base_s <= 0 || p.max_s < p.base_s) {
		p.max_failures = SUPPORT_MAX_FAILURES;
		p.base_s = SUPPORT_LOCK_BASE_S;
		p.max_s = SUPPORT_LOCK_MAX_S;
	}
	return p;
}

/* ---- the lockout record ---------------------------------------------------- */

/* Read state_dir/support.failures. An absent file is no failures; a file
 * that does not parse counts as a full run ending now (fail closed, and
 * the lock ends by itself); *mended is then set so the caller rewrites it. */
static int support_record_read(const struct agent_conf *conf, int64_t now,
                               struct supportlock *l, int *mended)
{
	char path[AGENT_PATH_BYTES], buf[SUPPORTLOCK_TEXT_BYTES + 1];
	ssize_t n;
	int fd, rc;

	memset(l, 0, sizeof(*l));
	if ((rc = agentconf_state_path(conf, "support.failures", path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : TE_ERR_SYS;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return TE_ERR_IO;
	if (supportlock_parse(buf, (size_t)n, l) != 0) {
		log_warn("%s does not parse; counting the support account as locked", path);
		l->failures = support_policy(conf).max_failures;
		l->last_failure_at = now;
		*mended = 1;
	}
	/* The bare count of earlier versions, or a clock set back: the run
	 * of failures is taken to have ended now. */
	if (l->failures > 0 && (l->last_failure_at <= 0 || l->last_failure_at > now)) {
		l->last_failure_at = now;
		*mended = 1;
	}
	return 0;
}

static int support_record_write(const struct agent_conf *conf, const struct supportlock *l)
{
	char path[AGENT_PATH_BYTES], buf[SUPPORTLOCK_TEXT_BYTES];
	int n, rc;

	if ((rc = agentconf_state_path(conf, "support.failures", path, sizeof(path))) != 0)
		return rc;
	if ((n = supportlock_format(l, buf, sizeof(buf))) < 0)
		return n;
	return file_replace(path, buf, (size_t)n);
}

/* state_dir/support.lock, held exclusively: parallel attempts (several
 * session workers) read and write the record one at a time. */
static int support_lock_take(const struct agent_conf *conf)
{
	char path[AGENT_PATH_BYTES];
	int fd, rc;

	if ((rc = agentconf_state_path(conf, "support.lock", path, sizeof(path))) != 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return TE_ERR_SYS;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return TE_ERR_SYS;
		}
	}
	return fd;
}

enum support_op {
	SUPPORT_LOOK,      /* read (and mend) only */
	SUPPORT_RESERVE,   /* count one failure unless locked */
	SUPPORT_CLEAR      /* forget every failure */
};

/* One step on the record under its lock. RESERVE returns TE_ERR_LOCKED
 * (the record unchanged, *remaining_s set) when the account is locked. */
static int support_step(const struct agent_conf *conf, enum support_op op, int64_t now,
                        struct supportlock *l, long *remaining_s)
{
	struct supportlock_policy p = support_policy(conf);
	int fd, rc, dirty = 0;

	*remaining_s = 0;
	if ((fd = support_lock_take(conf)) < 0)
		return fd;
	if ((rc = support_record_read(conf, now, l, &dirty)) != 0)
		goto out;
	*remaining_s = supportlock_remaining(&p, l, now);
	if (op == SUPPORT_RESERVE && *remaining_s > 0) {
		rc = TE_ERR_LOCKED;
	} else if (op == SUPPORT_RESERVE) {
		supportlock_fail(&p, l, now);
		dirty = 1;
	} else if (op == SUPPORT_CLEAR && (l->failures != 0 || l->last_failure_at != 0)) {
		memset(l, 0, sizeof(*l));
		dirty = 1;
	}
	if (dirty) {
		int wrc = support_record_write(conf, l);

		if (wrc != 0)
			rc = wrc;
	}
out:
	close(fd);
	return rc;
}

int support_status(const struct agent_conf *conf, int64_t now, long *failures,
                   long *remaining_s)
{
	struct supportlock l;
	long rem = 0;
	int rc = support_step(conf, SUPPORT_LOOK, now, &l, &rem);

	if (failures != NULL)
		*failures = rc == 0 ? l.failures : 0;
	if (remaining_s != NULL)
		*remaining_s = rc == 0 ? rem : 0;
	return rc;
}

int support_failures(const struct agent_conf *conf)
{
	long n = 0;
	int rc = support_status(conf, (int64_t)time(NULL), &n, NULL);

	return rc != 0 ? rc : (int)n;
}

/* ---- the password ------------------------------------------------------------ */

int support_store(const struct agent_conf *conf, const char *password)
{
	char hash[PWHASH_BYTES], path[AGENT_PATH_BYTES];
	struct supportlock l;
	long rem;
	int rc;

	if (strlen(password) < PASSWORD_MIN_CHARS)
		return TE_ERR_INVALID;
	if ((rc = agentconf_state_path(conf, "support.hash", path, sizeof(path))) != 0)
		return rc;
	if ((rc = secret_pwhash(password, hash)) != 0)
		goto out;
	if ((rc = file_replace(path, hash, strlen(hash))) != 0)
		goto out;
	rc = support_step(conf, SUPPORT_CLEAR, (int64_t)time(NULL), &l, &rem);
out:
	secret_wipe(hash, sizeof(hash));
	return rc;
}

static int support_load_hash(const struct agent_conf *conf, char hash[PWHASH_BYTES])
{
	char path[AGENT_PATH_BYTES];
	ssize_t n;
	int fd, rc;

	if ((rc = agentconf_state_path(conf, "support.hash", path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return TE_ERR_NOT_FOUND;
	n = read(fd, hash, PWHASH_BYTES - 1);
	close(fd);
	if (n <= 0)
		return TE_ERR_INVALID;
	hash[n] = '\0';
	hash[strcspn(hash, "\r\n")] = '\0';
	return 0;
}

int support_verify_at(const struct agent_conf *conf, const char *password,
                      int64_t now, struct support_attempt *a)
{
	struct supportlock_policy p = support_policy(conf);
	struct support_attempt local;
	struct supportlock l;
	char hash[PWHASH_BYTES];
	long rem;
	int rc;

	if (a == NULL)
		a = &local;
	memset(a, 0, sizeof(*a));
	/* No terminal to ask on gives an empty password: not a guess. */
	if (password == NULL || password[0] == '\0')
		return TE_ERR_DENIED;
	/* Count the attempt as a failure before the slow hash check, under the
	 * record's lock: parallel attempts each take one of the tries and
	 * cannot all pass a check made before any of them failed. Success
	 * clears the record. */
	rc = support_step(conf, SUPPORT_RESERVE, now, &l, &rem);
	if (rc == TE_ERR_LOCKED) {
		a->failures = l.failures;
		a->remaining_s = rem;
		a->until = now + rem;
		return rc;
	}
	if (rc != 0)
		return rc;
	a->counted = 1;
	a->failures = l.failures;
	if ((rc = support_load_hash(conf, hash)) != 0)
		goto wrong;
	if ((rc = secret_pwverify(hash, password)) == 0) {
		a->counted = 0;
		a->failures = 0;
		rc = support_step(conf, SUPPORT_CLEAR, now, &l, &rem);
		goto out;
	}
wrong:
	a->lock_s = supportlock_lock_s(&p, a->failures);
	if (a->lock_s > 0) {
		a->until = now + a->lock_s;
		rc = TE_ERR_LOCKED;
	} else if (rc != TE_ERR_NOT_FOUND && rc != TE_ERR_INVALID) {
		rc = TE_ERR_DENIED;
	}
out:
	secret_wipe(hash, sizeof(hash));
	return rc;
}

int support_verify(const struct agent_conf *conf, const char *password,
                   struct support_attempt *a)
{
	return support_verify_at(conf, password, (int64_t)time(NULL), a);
}

int support_generate(char *out, size_t outsz)
{
	uint8_t raw[15];
	int rc;

	/* 15 random bytes = 20 base64url characters, above PASSWORD_MIN_CHARS. */
	if ((rc = secret_random(raw, sizeof(raw))) != 0)
		return rc;
	rc = b64url_encode(raw, sizeof(raw), out, outsz);
	secret_wipe(raw, sizeof(raw));
	return rc;
}

int support_read_password(int fd, char *out, size_t outsz)
{
	size_t len = 0;
	char c;
	ssize_t n;

	if (outsz == 0)
		return TE_ERR_TOO_LONG;
	while ((n = read(fd, &c, 1)) == 1 && c != '\n') {
		if (len + 1 >= outsz) {
			secret_wipe(out, outsz);
			return TE_ERR_TOO_LONG;
		}
		out[len++] = c;
	}
	if (n < 0)
		return TE_ERR_IO;
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	return 0;
}

/* ---- `tether-agent support-password` ----------------------------------------- */

void support_cmd_usage(FILE *f)
{
	fprintf(f,
	    "usage: tether-agent support-password --config FILE [--generate | --status]\n"
	    "\n"
	    "Sets the password of the device support account, which a specialist\n"
	    "enters on the device's SSH prompt after the operator has consented.\n"
	    "The new password comes from stdin (asked twice, without echo, on a\n"
	    "terminal; at least %d characters), or --generate makes a random one\n"
	    "and prints it once. Setting it clears a lockout; the old password\n"
	    "stops working at once, also for a running agent. Audited.\n"
	    "\n"
	    "  --status     print the wrong passwords in a row and any lock; change nothing\n"
	    "  --generate   make a random password and print it once\n"
	    "\n"
	    "Run it as root or as the agent's user: as root it acts as the owner of\n"
	    "state_dir, so the files it writes stay the agent's.\n", PASSWORD_MIN_CHARS);
}

/* One line from the terminal on stdin without echo, or from stdin as is. */
static int support_prompt(const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0, rc;

	if (!tty)
		return support_read_password(STDIN_FILENO, out, outsz);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* echo off before the prompt: a password typed at once is not shown */
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	fprintf(stderr, "%s", prompt);
	rc = support_read_password(STDIN_FILENO, out, outsz);
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
	return rc;
}

static int support_new_password(char *pw, size_t pwsz, int generate)
{
	char again[SUPPORT_PW_MAX_BYTES];
	int rc;

	if (generate)
		return support_generate(pw, pwsz);
	if ((rc = support_prompt("New support password: ", pw, pwsz)) != 0) {
		fprintf(stderr, "support-password: cannot read the password from "
		        "stdin: %s\n", te_strerror(rc));
		return rc;
	}
	if (strlen(pw) < PASSWORD_MIN_CHARS) {
		fprintf(stderr, "support-password: the password must have at least "
		        "%d characters\n", PASSWORD_MIN_CHARS);
		return TE_ERR_INVALID;
	}
	if (isatty(STDIN_FILENO)) {
		rc = support_prompt("Again: ", again, sizeof(again));
		if (rc == 0 && strcmp(pw, again) != 0) {
			fprintf(stderr, "support-password: the two passwords differ; "
			        "nothing changed\n");
			rc = TE_ERR_INVALID;
		}
		secret_wipe(again, sizeof(again));
	}
	return rc;
}

/* As root, become the owner of state_dir: the files written next (hash,
 * lockout record, audit log) must stay the agent's, not root's. */
static int support_become_owner(const struct agent_conf *conf)
{
	struct passwd *pw;
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(conf->state_dir, &st) != 0) {
		fprintf(stderr, "support-password: %s: %s\n", conf->state_dir, strerror(errno));
		return TE_ERR_NOT_FOUND;
	}
	if (st.st_uid == 0)
		return 0;
	if ((pw = getpwuid(st.st_uid)) == NULL || privdrop_to(pw->pw_name) != 0) {
		fprintf(stderr, "support-password: cannot act as uid %ld, the owner of %s\n",
		        (long)st.st_uid, conf->state_dir);
		return TE_ERR_SYS;
	}
	return 0;
}

static int support_cmd_status(const struct agent_conf *conf)
{
	long failures = 0, rem = 0;
	int rc = support_status(conf, (int64_t)time(NULL), &failures, &rem);

	if (rc != 0) {
		fprintf(stderr, "support-password: cannot read the lockout in %s: %s\n",
		        conf->state_dir, te_strerror(rc));
		return rc;
	}
	if (rem > 0)
		printf("support account %s: locked for %ld s more after %ld wrong "
		       "passwords in a row\n", conf->support_user, rem, failures);
	else
		printf("support account %s: not locked; %ld wrong passwords in a row "
		       "(it locks at %ld)\n", conf->support_user, failures,
		       support_policy(conf).max_failures);
	return 0;
}

int support_cmd_password(const struct agent_conf *conf, int flags)
{
	char pw[SUPPORT_PW_MAX_BYTES], who[MAX_NAME_BYTES + 32];
	struct passwd *by = getpwuid(getuid());
	long failures = 0, rem = 0;
	int rc;

	snprintf(who, sizeof(who), "%s (uid %ld)", by != NULL ? by->pw_name : "?",
	         (long)getuid());
	if ((rc = support_become_owner(conf)) != 0)
		return rc;
	if (flags & SUPPORT_CMD_STATUS)
		return support_cmd_status(conf);
	if ((rc = support_new_password(pw, sizeof(pw), flags & SUPPORT_CMD_GENERATE)) != 0)
		goto out;
	(void)support_status(conf, (int64_t)time(NULL), &failures, &rem);
	if ((rc = support_store(conf, pw)) != 0) {
		fprintf(stderr, "support-password: cannot store the password in %s: "
		        "%s\n", conf->state_dir, te_strerror(rc));
		goto out;
	}
	agentaudit_log(conf, "operator", "support_password_set",
	               "support user %s; set by %s%s; lockout cleared (%ld wrong "
	               "passwords in a row, %ld s of lock left)", conf->support_user,
	               who, (flags & SUPPORT_CMD_GENERATE) ? ", generated" : "",
	               failures, rem);
	if (flags & SUPPORT_CMD_GENERATE)
		printf("support password for %s (shown once; hand it to the specialists "
		       "through your vault): %s\n", conf->support_user, pw);
	else
		printf("support password for %s set; the old one no longer works; "
		       "lockout cleared\n", conf->support_user);
out:
	secret_wipe(pw, sizeof(pw));
	return rc;
}

/* support.c: support account password, failure counter and lockout. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agentaudit.h"
#include "bounds.h"
#include "codec.h"
#include "err.h"
#include "log.h"
#include "secret.h"

#define SUPPORT_PW_MAX_BYTES 256
#define SUPPORT_COUNT_BYTES  32

static int support_write_file(const char *path, const char *text)
{
	char tmp[AGENT_PATH_BYTES + 8];
	size_t len = strlen(text);
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return TE_ERR_TOO_LONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return TE_ERR_SYS;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		rc = TE_ERR_IO;
	if (close(fd) != 0 && rc == 0)
		rc = TE_ERR_IO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = TE_ERR_SYS;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* Read the counter under an exclusive lock, apply delta (or reset when
 * reset != 0), write it back. Returns the new count or a te_err. */
static int support_counter_update(const struct agent_conf *conf, int delta, int reset)
{
	char path[AGENT_PATH_BYTES], buf[SUPPORT_COUNT_BYTES];
	ssize_t n;
	long count = 0;
	int fd, rc;

	if ((rc = agentconf_state_path(conf, "support.failures", path, sizeof(path))) != 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return TE_ERR_SYS;
	if (flock(fd, LOCK_EX) != 0) {
		rc = TE_ERR_SYS;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		count = strtol(buf, NULL, 10);
		/* A mangled counter counts as locked: fail closed. */
		if (count < 0 || count > 1000000)
			count = SUPPORT_MAX_FAILURES;
	}
	count = reset ? 0 : count + delta;
	if (delta != 0 || reset) {
		n = snprintf(buf, sizeof(buf), "%ld\n", count);
		if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
		    fsync(fd) != 0) {
			rc = TE_ERR_IO;
			goto out;
		}
	}
	rc = (int)count;
out:
	close(fd);
	return rc;
}

int support_failures(const struct agent_conf *conf)
{
	return support_counter_update(conf, 0, 0);
}

int support_store(const struct agent_conf *conf, const char *password)
{
	char hash[PWHASH_BYTES], path[AGENT_PATH_BYTES];
	int rc;

	if (strlen(password) < PASSWORD_MIN_CHARS)
		return TE_ERR_INVALID;
	if ((rc = agentconf_state_path(conf, "support.hash", path, sizeof(path))) != 0)
		return rc;
	if ((rc = secret_pwhash(password, hash)) != 0)
		goto out;
	if ((rc = support_write_file(path, hash)) != 0)
		goto out;
	rc = support_counter_update(conf, 0, 1);
	rc = rc < 0 ? rc : 0;
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

int support_verify(const struct agent_conf *conf, const char *password)
{
	char hash[PWHASH_BYTES];
	int rc, count;

	/* Count the attempt as a failure before the slow hash check, under the
	 * counter's lock: parallel attempts (several SSH workers) each take
	 * one of the SUPPORT_MAX_FAILURES tries and cannot all pass a check
	 * made before any of them failed. Success clears the counter. */
	if ((count = support_failures(conf)) < 0)
		return count;
	if (count >= SUPPORT_MAX_FAILURES)
		return TE_ERR_LOCKED;
	if ((count = support_counter_update(conf, 1, 0)) < 0)
		return count;
	if (count > SUPPORT_MAX_FAILURES)
		return TE_ERR_LOCKED;   /* another attempt took the last try */
	if ((rc = support_load_hash(conf, hash)) != 0)
		goto out;
	rc = secret_pwverify(hash, password);
	if (rc == 0) {
		count = support_counter_update(conf, 0, 1);
		rc = count < 0 ? count : 0;
		goto out;
	}
	rc = count >= SUPPORT_MAX_FAILURES ? TE_ERR_LOCKED : TE_ERR_DENIED;
out:
	secret_wipe(hash, sizeof(hash));
	return rc;
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

int support_cmd_password(const struct agent_conf *conf)
{
	char pw[SUPPORT_PW_MAX_BYTES];
	int rc;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "New support password (at least %d characters): ",
		        PASSWORD_MIN_CHARS);
	if ((rc = support_read_password(STDIN_FILENO, pw, sizeof(pw))) != 0) {
		fprintf(stderr, "support-password: cannot read the password from "
		        "stdin: %s\n", te_strerror(rc));
		goto out;
	}
	if (strlen(pw) < PASSWORD_MIN_CHARS) {
		fprintf(stderr, "support-password: the password must have at least "
		        "%d characters\n", PASSWORD_MIN_CHARS);
		rc = TE_ERR_INVALID;
		goto out;
	}
	if ((rc = support_store(conf, pw)) != 0) {
		fprintf(stderr, "support-password: cannot store the password in %s: "
		        "%s\n", conf->state_dir, te_strerror(rc));
		goto out;
	}
	agentaudit_log(conf, "operator", "support_password_set",
	               "support user %s; failure counter reset", conf->support_user);
	printf("support password for %s set; lockout cleared\n", conf->support_user);
out:
	secret_wipe(pw, sizeof(pw));
	return rc;
}

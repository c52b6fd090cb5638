/* agentaudit.c: append to and verify the agent's audit log. */
#include "agentaudit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit.h"
#include "codec.h"
#include "err.h"
#include "log.h"

#define AGENTAUDIT_DETAIL_BYTES 2048

/* Replace, in place, every byte that is not part of valid UTF-8 with '?'.
 * Details quote what SSH clients sent (a user name, a forward's host) and
 * the audit chain stores only UTF-8: bytes chosen to be invalid, or a
 * character cut by truncation, must not make a record unwritable, unseen. */
void agentaudit_clean_utf8(char *text)
{
	size_t len = strlen(text), i = 0, n;

	while (i < len) {
		/* A sequence cut by the end is invalid here: nothing follows. */
		n = codec_utf8_len((const unsigned char *)text + i, len - i);
		if (n == 0 || n == SIZE_MAX)
			text[i++] = '?';
		else
			i += n;
	}
}

int agentaudit_log(const struct agent_conf *conf, const char *actor,
                   const char *action, const char *fmt, ...)
{
	char path[AGENT_PATH_BYTES], lockpath[AGENT_PATH_BYTES];
	char detail[AGENTAUDIT_DETAIL_BYTES];
	struct audit_log *log = NULL;
	va_list ap;
	int lockfd = -1, rc;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	agentaudit_clean_utf8(detail);
	if ((rc = agentconf_state_path(conf, "audit.log", path, sizeof(path))) != 0 ||
	    (rc = agentconf_state_path(conf, "audit.lock", lockpath, sizeof(lockpath))) != 0)
		goto out;
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
		rc = TE_ERR_SYS;
		goto out;
	}
	if ((rc = audit_log_open(path, &log)) != 0)
		goto out;
	rc = audit_log_append(log, actor, action, detail);
out:
	audit_log_close(log);
	if (lockfd >= 0)
		close(lockfd);     /* releases the lock */
	if (rc != 0)
		log_error("audit: cannot record %s (%s): %s", action, detail,
		          te_strerror(rc));
	return rc;
}

int agentaudit_head(const struct agent_conf *conf, int64_t *seq,
                    char hash[SHA256_HEX_BYTES])
{
	char path[AGENT_PATH_BYTES];
	int fd, rc;

	*seq = 0;
	memcpy(hash, AUDIT_GENESIS_HASH, SHA256_HEX_BYTES);
	if ((rc = agentconf_state_path(conf, "audit.log", path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : TE_ERR_SYS;
	/* The shared lock waits out an append in progress (audit_log_append
	 * holds the exclusive one while it writes). */
	rc = flock(fd, LOCK_SH) != 0 ? TE_ERR_SYS : audit_fd_head(fd, seq, hash);
	close(fd);              /* releases the lock */
	return rc;
}

int agentaudit_verify(const struct agent_conf *conf)
{
	struct audit_verifier v;
	char path[AGENT_PATH_BYTES];
	int rc;

	if ((rc = agentconf_state_path(conf, "audit.log", path, sizeof(path))) != 0)
		return rc;
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "audit: %s: %s\n", path, strerror(errno));
		return TE_ERR_NOT_FOUND;
	}
	audit_verifier_init(&v);
	rc = audit_file_verify(path, &v);
	if (rc == 0 && !v.failed) {
		printf("audit: %lld records, chain intact\n", (long long)v.count);
		/* To compare with the server's anchor for this device. */
		printf("audit: head seq %lld hash %s\n", (long long)v.count, v.prev);
		return 0;
	}
	fprintf(stderr, "audit: %s: %s\n", path,
	        v.why[0] != '\0' ? v.why : te_strerror(rc));
	return rc != 0 ? rc : TE_ERR_CHAIN;
}

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

/* The process's open log: its head stays in memory between appends (see
 * audit.h), so an append reads nothing unless another process (a session
 * worker, `support set-password`) appended meanwhile. A worker forked from
 * the agent inherits it; the library reopens the file in the child. */
static struct {
	struct audit_log *log;
	char path[AGENT_PATH_BYTES];
	int open_rc;                    /* a refused open; TE_ERR_CHAIN is kept until
	                                 * a restart, others are tried again */
	unsigned long failures;         /* appends that failed in this process */
	char why[AUDIT_WHY_BYTES];      /* why the last one failed */
} agentaudit_st;

void agentaudit_close(void)
{
	audit_log_close(agentaudit_st.log);
	memset(&agentaudit_st, 0, sizeof(agentaudit_st));
}

/* The open handle for path: opened (verified in full, a torn last line cut
 * off and recorded) on first use. A chain that is broken elsewhere is not
 * read again at every append: it stays refused until the agent restarts. */
static int agentaudit_handle(const char *path, struct audit_log **out)
{
	struct audit_open_report rep;
	int rc;

	if (strcmp(agentaudit_st.path, path) != 0) {
		agentaudit_close();
		snprintf(agentaudit_st.path, sizeof(agentaudit_st.path), "%s", path);
	}
	if (agentaudit_st.log == NULL && agentaudit_st.open_rc != TE_ERR_CHAIN) {
		rc = audit_log_open_recover(path, "agent", &agentaudit_st.log, &rep);
		agentaudit_st.open_rc = rc;
		if (rc != 0)
			snprintf(agentaudit_st.why, sizeof(agentaudit_st.why), "%s",
			         rep.why[0] ? rep.why : te_strerror(rc));
		else if (rep.dropped_bytes > 0)
			log_warn("audit: a torn last line (%llu bytes) after record %lld was "
			         "cut off at start and recorded as audit_recovered",
			         (unsigned long long)rep.dropped_bytes, (long long)rep.after_seq);
	}
	*out = agentaudit_st.log;
	return agentaudit_st.log != NULL ? 0 : agentaudit_st.open_rc;
}

int agentaudit_log(const struct agent_conf *conf, const char *actor,
                   const char *action, const char *fmt, ...)
{
	char path[AGENT_PATH_BYTES];
	char detail[AGENTAUDIT_DETAIL_BYTES];
	struct audit_log *log = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	agentaudit_clean_utf8(detail);
	if ((rc = agentconf_state_path(conf, "audit.log", path, sizeof(path))) != 0) {
		snprintf(agentaudit_st.why, sizeof(agentaudit_st.why), "no audit.log path");
		goto out;
	}
	if ((rc = agentaudit_handle(path, &log)) != 0)
		goto out;
	if ((rc = audit_log_append(log, actor, action, detail)) != 0) {
		snprintf(agentaudit_st.why, sizeof(agentaudit_st.why), "%s",
		         audit_log_why(log)[0] ? audit_log_why(log) : te_strerror(rc));
		/* A failed fsync or an undo that failed leaves the handle unable
		 * to vouch for the file, not the file broken: the next append
		 * opens it again, verifying it and cutting off any torn tail, so
		 * the trail comes back by itself once the disk recovers. A file
		 * replaced or shrunk (TE_ERR_CHAIN) stays refused. */
		if (rc == TE_ERR_IO && audit_log_broken(log)) {
			audit_log_close(agentaudit_st.log);
			agentaudit_st.log = NULL;
			agentaudit_st.open_rc = TE_ERR_IO;
		}
	}
out:
	if (rc != 0) {
		agentaudit_st.failures++;
		log_error("audit: cannot record %s (%s): %s", action, detail,
		          agentaudit_st.why);
	}
	return rc;
}

const char *agentaudit_why(void)
{
	return agentaudit_st.why[0] ? agentaudit_st.why : "unknown error";
}

unsigned long agentaudit_failures(void)
{
	return agentaudit_st.failures;
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

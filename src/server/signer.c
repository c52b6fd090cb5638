/* signer.c: the HTTP process's side of the signer (signer.h): start it,
 * and one synchronous request and reply per call. The signer answers in
 * microseconds (one signature or one HMAC), so a call does not hold up the
 * event loop; a mutex keeps calls from worker threads whole. */
#include "signer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "secret.h"
#include "signer_int.h"

#define SIGNER_START_TIMEOUT_MS 30000   /* key loading, under sanitizers too */

struct signer {
	int fd;
	pid_t pid;
	int dead;
	pthread_mutex_t lock;
	void (*dead_cb)(void *arg);
	void *dead_arg;
};

static void signer_mark_dead(struct signer *s, const char *why)
{
	if (s->dead)
		return;
	s->dead = 1;
	log_error("signer process (pid %ld) %s: the server holds no keys without it and stops"
	          " (fail closed)", (long)s->pid, why);
	if (s->dead_cb != NULL)
		s->dead_cb(s->dead_arg);
}

/* Wait for one datagram into buf; its length, or a negative te_err. */
static ssize_t signer_recv(int fd, uint8_t *buf, size_t bufsz, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;
	int r;

	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return TE_ERR_TIMEOUT;
	if (r < 0)
		return TE_ERR_SYS;
	while ((n = recv(fd, buf, bufsz, 0)) < 0 && errno == EINTR)
		;
	return n <= 0 ? TE_ERR_IO : n;
}

/* Send w, wait for a reply of type want (or SIGNMSG_ERROR); rd over its
 * payload in buf. Anything else from the signer is fatal to it. */
static int signer_call_locked(struct signer *s, struct signmsg_wr *w, enum signmsg_type want,
                              uint8_t *buf, struct signmsg_rd *rd)
{
	enum signmsg_type type;
	ssize_t n;
	int rc;

	if (s->dead)
		return TE_ERR_IO;
	if (w->err != 0)
		return w->err;
	if (send(s->fd, w->buf, w->len, MSG_NOSIGNAL) != (ssize_t)w->len) {
		signer_mark_dead(s, "cannot be reached");
		return TE_ERR_IO;
	}
	if ((n = signer_recv(s->fd, buf, MAX_SIGNMSG_BYTES + 1, SIGNER_REPLY_TIMEOUT_MS)) < 0) {
		signer_mark_dead(s, n == TE_ERR_TIMEOUT ? "did not answer" : "is gone");
		return TE_ERR_IO;
	}
	if (signmsg_parse(buf, (size_t)n, &type, rd) != 0 ||
	    (type != want && type != SIGNMSG_ERROR)) {
		signer_mark_dead(s, "sent a malformed reply");
		return TE_ERR_PROTOCOL;
	}
	if (type == SIGNMSG_ERROR) {
		rc = (int)(int64_t)signmsg_get_u64(rd);
		return rc < 0 ? rc : TE_ERR_PROTOCOL;
	}
	return 0;
}

static int signer_call(struct signer *s, struct signmsg_wr *w, enum signmsg_type want,
                       uint8_t *buf, struct signmsg_rd *rd)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = signer_call_locked(s, w, want, buf, rd);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int signer_start(const struct srvconf *cfg, struct signer **out)
{
	struct signer *s = calloc(1, sizeof(*s));
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_rd rd;
	enum signmsg_type type;
	int sv[2] = { -1, -1 }, rc;
	ssize_t n;

	*out = NULL;
	if (s == NULL)
		return TE_ERR_NOMEM;
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		rc = TE_ERR_SYS;
		goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	if ((s->pid = fork()) < 0) {
		rc = TE_ERR_SYS;
		goto fail;
	}
	if (s->pid == 0) {
		close(sv[0]);
		signer_child_main(cfg, sv[1]);   /* never returns */
	}
	close(sv[1]);
	s->fd = sv[0];
	/* The first message says whether the keys loaded (the signer logged why not). */
	n = signer_recv(s->fd, buf, sizeof(buf), SIGNER_START_TIMEOUT_MS);
	if (n < 0 || signmsg_parse(buf, (size_t)n, &type, &rd) != 0 || type != SIGNMSG_ERROR) {
		rc = TE_ERR_IO;
		goto fail;
	}
	if ((rc = (int)(int64_t)signmsg_get_u64(&rd)) != 0)
		goto fail;
	log_info("signer process started (pid %ld): it alone holds the ticket, CA, TOTP and"
	         " checkpoint keys", (long)s->pid);
	*out = s;
	return 0;
fail:
	s->dead = 1;
	signer_free(s);
	return rc != 0 ? rc : TE_ERR_IO;
}

void signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);   /* the signer reads EOF and exits */
	if (s->pid > 0)
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void signer_on_dead(struct signer *s, void (*cb)(void *arg), void *arg)
{
	s->dead_cb = cb;
	s->dead_arg = arg;
}

int signer_check(struct signer *s)
{
	int status;
	pid_t r;

	if (s->dead)
		return TE_ERR_IO;
	while ((r = waitpid(s->pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return 0;
	if (r == s->pid)
		s->pid = -1;   /* reaped: signer_free must not wait for it again */
	signer_mark_dead(s, "exited");
	return TE_ERR_IO;
}

pid_t signer_pid(const struct signer *s)
{
	return s->pid;
}

int signer_ticket(struct signer *s, const struct signmsg_ticket *t, char *out, size_t outsz)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_wr w;
	struct signmsg_rd rd;
	int rc;

	out[0] = '\0';
	if ((rc = signmsg_ticket_encode(&w, t)) != 0 ||
	    (rc = signer_call(s, &w, SIGNMSG_TICKET_OK, buf, &rd)) != 0)
		return rc;
	signmsg_get_str(&rd, out, outsz);
	return signmsg_done(&rd);
}

int signer_activity(struct signer *s, const struct actenv *e, char *out, size_t outsz)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_wr w;
	struct signmsg_rd rd;
	int rc;

	out[0] = '\0';
	signmsg_begin(&w, SIGNMSG_ACTIVITY);
	signmsg_put_str(&w, e->id);
	signmsg_put_str(&w, e->device);
	signmsg_put_str(&w, e->kind);
	signmsg_put_str(&w, e->name);
	signmsg_put_str(&w, e->input);
	signmsg_put_u64(&w, (uint64_t)e->expires_at);
	if ((rc = signmsg_end(&w)) != 0 ||
	    (rc = signer_call(s, &w, SIGNMSG_ACTIVITY_OK, buf, &rd)) != 0)
		return rc;
	signmsg_get_str(&rd, out, outsz);
	return signmsg_done(&rd);
}

/* The document of a SIGNMSG_TUF_OK reply into *doc (malloc'd). */
static int signer_tuf_call(struct signer *s, struct signmsg_wr *w, char **doc)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_rd rd;
	char *text;
	int rc;

	*doc = NULL;
	if ((rc = signmsg_end(w)) != 0 || (rc = signer_call(s, w, SIGNMSG_TUF_OK, buf, &rd)) != 0)
		return rc;
	if ((text = malloc(MAX_SIGNMSG_BYTES)) == NULL)
		return TE_ERR_NOMEM;
	signmsg_get_str(&rd, text, MAX_SIGNMSG_BYTES);
	if ((rc = signmsg_done(&rd)) != 0) {
		free(text);
		return rc;
	}
	*doc = text;
	return 0;
}

int signer_tuf_snapshot(struct signer *s, int64_t version, int64_t expires,
                        const struct tufonline_role *roles, size_t n, char **doc)
{
	struct signmsg_wr w;

	signmsg_begin(&w, SIGNMSG_TUF_SNAPSHOT);
	signmsg_put_u64(&w, (uint64_t)version);
	signmsg_put_u64(&w, (uint64_t)expires);
	signmsg_put_u64(&w, (uint64_t)n);
	for (size_t i = 0; i < n; i++) {
		signmsg_put_str(&w, roles[i].name);
		signmsg_put_u64(&w, (uint64_t)roles[i].version);
	}
	return signer_tuf_call(s, &w, doc);
}

int signer_tuf_timestamp(struct signer *s, int64_t version, int64_t expires,
                         int64_t snap_version, int64_t snap_len, const char *snap_sha256,
                         char **doc)
{
	struct signmsg_wr w;

	signmsg_begin(&w, SIGNMSG_TUF_TIMESTAMP);
	signmsg_put_u64(&w, (uint64_t)version);
	signmsg_put_u64(&w, (uint64_t)expires);
	signmsg_put_u64(&w, (uint64_t)snap_version);
	signmsg_put_u64(&w, (uint64_t)snap_len);
	signmsg_put_str(&w, snap_sha256);
	return signer_tuf_call(s, &w, doc);
}

int signer_cert(struct signer *s, const char *serial, const char *csr_pem, char **pem)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_wr w;
	struct signmsg_rd rd;
	int rc;

	*pem = NULL;
	signmsg_begin(&w, SIGNMSG_CERT);
	signmsg_put_str(&w, serial);
	signmsg_put_str(&w, csr_pem);
	if ((rc = signmsg_end(&w)) != 0 ||
	    (rc = signer_call(s, &w, SIGNMSG_CERT_OK, buf, &rd)) != 0)
		return rc;
	if ((*pem = malloc(MAX_PEM_BYTES + 1)) == NULL)
		return TE_ERR_NOMEM;
	signmsg_get_str(&rd, *pem, MAX_PEM_BYTES + 1);
	if ((rc = signmsg_done(&rd)) != 0) {
		free(*pem);
		*pem = NULL;
	}
	return rc;
}

int signer_totp_new(struct signer *s, uint8_t secret[TOTP_SECRET_BYTES],
                    char box[STORE_BOX_BYTES])
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_wr w;
	struct signmsg_rd rd;
	size_t n = 0;
	int rc;

	signmsg_begin(&w, SIGNMSG_TOTP_NEW);
	if ((rc = signmsg_end(&w)) != 0 ||
	    (rc = signer_call(s, &w, SIGNMSG_TOTP_NEW_OK, buf, &rd)) != 0)
		return rc;
	signmsg_get_bytes(&rd, secret, TOTP_SECRET_BYTES, &n);
	signmsg_get_str(&rd, box, STORE_BOX_BYTES);
	rc = signmsg_done(&rd);
	if (rc == 0 && n != TOTP_SECRET_BYTES)
		rc = TE_ERR_PROTOCOL;
	secret_wipe(buf, sizeof(buf));
	return rc;
}

int signer_totp_check(struct signer *s, const char *box, const char *code,
                      int64_t last_step, int *verdict, int64_t *matched)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signmsg_totp_check c;
	struct signmsg_wr w;
	struct signmsg_rd rd;
	int rc;

	*matched = 0;
	*verdict = TE_ERR_DENIED;
	memset(&c, 0, sizeof(c));
	if (strlen(box) >= sizeof(c.box) || strlen(code) >= sizeof(c.code))
		return TE_ERR_INVALID;
	snprintf(c.box, sizeof(c.box), "%s", box);
	snprintf(c.code, sizeof(c.code), "%s", code);
	c.last_step = last_step;
	rc = signmsg_totp_check_encode(&w, &c);
	secret_wipe(&c, sizeof(c));
	if (rc != 0 || (rc = signer_call(s, &w, SIGNMSG_TOTP_CHECK_OK, buf, &rd)) != 0)
		goto out;
	*verdict = (int)(int64_t)signmsg_get_u64(&rd);
	*matched = (int64_t)signmsg_get_u64(&rd);
	if ((rc = signmsg_done(&rd)) != 0 || *verdict > 0) {
		*verdict = TE_ERR_DENIED;
		rc = TE_ERR_PROTOCOL;
	}
out:
	secret_wipe(&w, sizeof(w));
	return rc;
}

int signer_checkpoint(struct signer *s, int64_t seq, const char *hash, struct checkpoint *out)
{
	uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	char text[MAX_CHECKPOINT_BYTES + 1];
	struct signmsg_wr w;
	struct signmsg_rd rd;
	int rc;

	signmsg_begin(&w, SIGNMSG_CHECKPOINT);
	signmsg_put_u64(&w, (uint64_t)seq);
	signmsg_put_str(&w, hash);
	if ((rc = signmsg_end(&w)) != 0 ||
	    (rc = signer_call(s, &w, SIGNMSG_CHECKPOINT_OK, buf, &rd)) != 0)
		return rc;
	signmsg_get_str(&rd, text, sizeof(text));
	if ((rc = signmsg_done(&rd)) != 0)
		return rc;
	if ((rc = checkpoint_parse(text, strlen(text), out)) != 0 || out->seq != seq ||
	    strcmp(out->hash, hash) != 0)
		return TE_ERR_PROTOCOL;
	return 0;
}

/* signer_proc.c: the signer process (signer.h). It loads the keys, drops
 * to the server's user, and answers one request at a time; each handler
 * applies the signer's own policy to what it is asked. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "mfakey.h"
#include "pki.h"
#include "privdrop.h"
#include "secret.h"
#include "signer.h"
#include "signer_int.h"
#include "ticket.h"
#include "tickets.h"
#include "tufonline.h"

struct signer_keys {
	const struct srvconf *cfg;
	EVP_PKEY *ticket_key;
	X509 *issuing;
	EVP_PKEY *issuing_key;
	EVP_PKEY *checkpoint_key;
	EVP_PKEY *snapshot_key;            /* the repository's online roles */
	EVP_PKEY *timestamp_key;
	uint8_t totp_key[MFAKEY_BYTES];
	int64_t checkpoint_seq;            /* the highest seq signed in this run */
};

int signer_checkpoint_key_ensure(const char *dir, char *errbuf, size_t errsz)
{
	char d[PATH_MAX], priv[PATH_MAX + 32], pub[PATH_MAX + 32];
	int rc;

	snprintf(d, sizeof(d), "%s/audit", dir);
	if (mkdir(d, 0700) != 0 && errno != EEXIST) {
		snprintf(errbuf, errsz, "cannot create %s: %s", d, strerror(errno));
		return TE_ERR_SYS;
	}
	snprintf(priv, sizeof(priv), "%s/%s", dir, SIGNER_CHECKPOINT_KEY);
	snprintf(pub, sizeof(pub), "%s/%s", dir, SIGNER_CHECKPOINT_PUB);
	if (access(priv, F_OK) == 0)
		return 0;
	if ((rc = ticket_key_generate(priv, pub)) != 0)
		snprintf(errbuf, errsz, "cannot create the checkpoint key %s: %s", priv,
		         te_strerror(rc));
	return rc;
}

static int signer_load(struct signer_keys *k)
{
	const char *d = k->cfg->dir;
	char p[PATH_MAX + 32], errbuf[PATH_MAX + 128];
	int rc;

#define SIGNER_FILE(name) snprintf(p, sizeof(p), "%s/%s", d, name)
	SIGNER_FILE("ca/issuing.crt");
	if ((rc = pki_cert_load(p, &k->issuing)) != 0)
		goto fail;
	SIGNER_FILE("ca/issuing.key");
	if ((rc = pki_key_load(p, &k->issuing_key)) != 0)
		goto fail;
	SIGNER_FILE("ticket/ticket.key");
	if ((rc = ticket_key_load_private(p, &k->ticket_key)) != 0)
		goto fail;
	if ((rc = mfakey_ensure(d, k->totp_key, errbuf, sizeof(errbuf))) != 0 ||
	    (rc = signer_checkpoint_key_ensure(d, errbuf, sizeof(errbuf))) != 0) {
		log_error("signer: %s", errbuf);
		return rc;
	}
	SIGNER_FILE(SIGNER_CHECKPOINT_KEY);
	if ((rc = ticket_key_load_private(p, &k->checkpoint_key)) != 0)
		goto fail;
	if ((rc = tufonline_keys_ensure(d, errbuf, sizeof(errbuf))) != 0) {
		log_error("signer: %s", errbuf);
		return rc;
	}
	SIGNER_FILE(TUFONLINE_SNAPSHOT_KEY);
	if ((rc = ticket_key_load_private(p, &k->snapshot_key)) != 0)
		goto fail;
	SIGNER_FILE(TUFONLINE_TIMESTAMP_KEY);
	if ((rc = ticket_key_load_private(p, &k->timestamp_key)) != 0)
		goto fail;
#undef SIGNER_FILE
	return 0;
fail:
	log_error("signer: cannot load %s: %s", p, te_strerror(rc));
	return rc;
}

static int signer_send(int fd, struct signmsg_wr *w)
{
	int rc = signmsg_end(w);

	if (rc == 0 && send(fd, w->buf, w->len, MSG_NOSIGNAL) != (ssize_t)w->len)
		rc = TE_ERR_IO;
	return rc;
}

static int signer_send_error(int fd, int err)
{
	struct signmsg_wr w;

	signmsg_begin(&w, SIGNMSG_ERROR);
	signmsg_put_u64(&w, (uint64_t)(int64_t)err);
	return signer_send(fd, &w);
}

/* [A-Za-z0-9._-], 1..MAX_NAME_BYTES-1: a serial the CN may carry. */
static int signer_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static int signer_do_ticket(struct signer_keys *k, struct signmsg_rd *rd, struct signmsg_wr *w)
{
	struct signmsg_ticket req;
	char text[MAX_TICKET_BYTES + 1];
	int rc;

	if ((rc = signmsg_ticket_decode(rd, &req)) != 0 ||
	    (rc = tickets_sign(k->ticket_key, &req, (int64_t)time(NULL), text, sizeof(text))) != 0)
		return rc;
	signmsg_begin(w, SIGNMSG_TICKET_OK);
	signmsg_put_str(w, text);
	return 0;
}

/* The signer's policy: the issue time and nonce are its own, the expiry
 * must be ahead and within ACTENV_MAX_TTL_S; actenv_sign checks the rest. */
static int signer_do_activity(struct signer_keys *k, struct signmsg_rd *rd,
                              struct signmsg_wr *w)
{
	struct actenv e;
	char text[MAX_ACTENV_BYTES + 1];
	int64_t now = (int64_t)time(NULL);
	int rc;

	memset(&e, 0, sizeof(e));
	signmsg_get_str(rd, e.id, sizeof(e.id));
	signmsg_get_str(rd, e.device, sizeof(e.device));
	signmsg_get_str(rd, e.kind, sizeof(e.kind));
	signmsg_get_str(rd, e.name, sizeof(e.name));
	signmsg_get_str(rd, e.input, sizeof(e.input));
	e.expires_at = (int64_t)signmsg_get_u64(rd);
	if ((rc = signmsg_done(rd)) != 0)
		return rc;
	if (e.expires_at <= now || e.expires_at - now > ACTENV_MAX_TTL_S)
		return TE_ERR_INVALID;
	e.issued_at = now;
	if ((rc = actenv_sign(&e, k->ticket_key, text, sizeof(text))) != 0)
		return rc;
	signmsg_begin(w, SIGNMSG_ACTIVITY_OK);
	signmsg_put_str(w, text);
	return 0;
}

/* The repository's online roles: the signer builds each document itself
 * from the numbers asked for, within tufonline.h's bounds. */
static int signer_tuf_reply(struct signmsg_wr *w, char *doc, size_t len, int rc)
{
	if (rc == 0 && len + 16 > MAX_SIGNMSG_BYTES)
		rc = TE_ERR_TOO_LONG;
	if (rc == 0) {
		signmsg_begin(w, SIGNMSG_TUF_OK);
		signmsg_put_str(w, doc);
	}
	free(doc);
	return rc;
}

static int signer_do_tuf_snapshot(struct signer_keys *k, struct signmsg_rd *rd,
                                  struct signmsg_wr *w)
{
	struct tufonline_role roles[TUFONLINE_MAX_ROLES];
	int64_t version = (int64_t)signmsg_get_u64(rd), expires = (int64_t)signmsg_get_u64(rd);
	uint64_t n = signmsg_get_u64(rd);
	char *doc = NULL;
	size_t len = 0;
	int rc;

	if (n == 0 || n > TUFONLINE_MAX_ROLES)
		return TE_ERR_INVALID;
	for (uint64_t i = 0; i < n; i++) {
		signmsg_get_str(rd, roles[i].name, sizeof(roles[i].name));
		roles[i].version = (int64_t)signmsg_get_u64(rd);
	}
	if ((rc = signmsg_done(rd)) != 0)
		return rc;
	rc = tufonline_snapshot(k->snapshot_key, (int64_t)time(NULL), version, expires, roles,
	                        (size_t)n, &doc, &len);
	return signer_tuf_reply(w, doc, len, rc);
}

static int signer_do_tuf_timestamp(struct signer_keys *k, struct signmsg_rd *rd,
                                   struct signmsg_wr *w)
{
	int64_t version = (int64_t)signmsg_get_u64(rd), expires = (int64_t)signmsg_get_u64(rd);
	int64_t sv = (int64_t)signmsg_get_u64(rd), slen = (int64_t)signmsg_get_u64(rd);
	char sha[65], *doc = NULL;
	size_t len = 0;
	int rc;

	signmsg_get_str(rd, sha, sizeof(sha));
	if ((rc = signmsg_done(rd)) != 0)
		return rc;
	rc = tufonline_timestamp(k->timestamp_key, (int64_t)time(NULL), version, expires, sv, slen,
	                         sha, &doc, &len);
	return signer_tuf_reply(w, doc, len, rc);
}

static int signer_do_cert(struct signer_keys *k, struct signmsg_rd *rd, struct signmsg_wr *w)
{
	char serial[MAX_NAME_BYTES], *csr = malloc(MAX_CSR_BYTES + 1), *pem = NULL;
	EVP_PKEY *pub = NULL;
	X509 *cert = NULL;
	int rc;

	if (csr == NULL)
		return TE_ERR_NOMEM;
	signmsg_get_str(rd, serial, sizeof(serial));
	signmsg_get_str(rd, csr, MAX_CSR_BYTES + 1);
	if ((rc = signmsg_done(rd)) != 0)
		goto out;
	/* Role, name and lifetime are the signer's: only the key comes from the CSR. */
	if (!signer_name_ok(serial) || pki_csr_pubkey(csr, strlen(csr), &pub) != 0) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	if ((rc = pki_issue(k->issuing, k->issuing_key, pub, PKI_ROLE_DEVICE, serial, NULL,
	                    SIGNER_CERT_DAYS, 0, &cert)) != 0 ||
	    (rc = pki_cert_to_pem(cert, &pem)) != 0)
		goto out;
	signmsg_begin(w, SIGNMSG_CERT_OK);
	signmsg_put_str(w, pem);
	log_info("signer: issued a device certificate for %s", serial);
out:
	free(csr);
	free(pem);
	X509_free(cert);
	EVP_PKEY_free(pub);
	return rc;
}

static int signer_do_totp_new(struct signer_keys *k, struct signmsg_wr *w)
{
	uint8_t secret[TOTP_SECRET_BYTES];
	char box[STORE_BOX_BYTES];
	int rc;

	if ((rc = secret_random(secret, sizeof(secret))) == 0 &&
	    (rc = mfakey_seal(k->totp_key, secret, sizeof(secret), box)) == 0) {
		signmsg_begin(w, SIGNMSG_TOTP_NEW_OK);
		signmsg_put_bytes(w, secret, sizeof(secret));
		signmsg_put_str(w, box);
	}
	secret_wipe(secret, sizeof(secret));
	return rc;
}

static int signer_do_totp_check(struct signer_keys *k, struct signmsg_rd *rd,
                                struct signmsg_wr *w)
{
	struct signmsg_totp_check c;
	uint8_t key[TOTP_MAX_KEY_BYTES];
	size_t keylen = 0;
	int64_t step = 0;
	int rc;

	if ((rc = signmsg_totp_check_decode(rd, &c)) != 0)
		goto out;
	if ((rc = mfakey_open(k->totp_key, c.box, key, sizeof(key), &keylen)) != 0)
		goto out;
	rc = totp_verify(key, keylen, c.code, (int64_t)time(NULL), c.last_step, &step);
	signmsg_begin(w, SIGNMSG_TOTP_CHECK_OK);
	signmsg_put_u64(w, (uint64_t)(int64_t)rc);
	signmsg_put_u64(w, (uint64_t)step);
	rc = 0;
out:
	secret_wipe(key, sizeof(key));
	secret_wipe(&c, sizeof(c));
	return rc;
}

static int signer_do_checkpoint(struct signer_keys *k, struct signmsg_rd *rd,
                                struct signmsg_wr *w)
{
	struct checkpoint cp;
	json_t *o = NULL;
	char *text = NULL;
	int rc;

	memset(&cp, 0, sizeof(cp));
	cp.seq = (int64_t)signmsg_get_u64(rd);
	signmsg_get_str(rd, cp.hash, sizeof(cp.hash));
	if ((rc = signmsg_done(rd)) != 0)
		return rc;
	/* Never a checkpoint below one already signed: that would help hide a cut. */
	if (cp.seq < k->checkpoint_seq)
		return TE_ERR_REPLAY;
	if (strlen(k->cfg->public_host) >= sizeof(cp.server))
		return TE_ERR_TOO_LONG;
	memcpy(cp.server, k->cfg->public_host, strlen(k->cfg->public_host) + 1);
	cp.time = (int64_t)time(NULL);
	if ((rc = checkpoint_sign(&cp, k->checkpoint_key)) != 0)
		return rc;
	if ((o = checkpoint_to_json(&cp)) == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	k->checkpoint_seq = cp.seq;
	signmsg_begin(w, SIGNMSG_CHECKPOINT_OK);
	signmsg_put_str(w, text);
out:
	json_decref(o);
	free(text);
	return rc;
}

/* One request: 0 when answered (perhaps with an error), else fatal. */
static int signer_serve_one(struct signer_keys *k, int fd, const uint8_t *buf, size_t n)
{
	struct signmsg_wr *w = calloc(1, sizeof(*w));
	enum signmsg_type type = SIGNMSG_ERROR;
	struct signmsg_rd rd;
	int rc;

	if (w == NULL)
		return TE_ERR_NOMEM;
	if (signmsg_parse(buf, n, &type, &rd) != 0) {
		log_error("signer: malformed request (%zu bytes, type %u): closing the connection",
		          n, n >= 4 ? (unsigned)buf[3] | (unsigned)buf[2] << 8 : 0u);
		rc = TE_ERR_PROTOCOL;
		goto out;
	}
	switch (type) {
	case SIGNMSG_TICKET: rc = signer_do_ticket(k, &rd, w); break;
	case SIGNMSG_CERT: rc = signer_do_cert(k, &rd, w); break;
	case SIGNMSG_TOTP_NEW: rc = signmsg_done(&rd) ? TE_ERR_INVALID : signer_do_totp_new(k, w); break;
	case SIGNMSG_TOTP_CHECK: rc = signer_do_totp_check(k, &rd, w); break;
	case SIGNMSG_CHECKPOINT: rc = signer_do_checkpoint(k, &rd, w); break;
	case SIGNMSG_ACTIVITY: rc = signer_do_activity(k, &rd, w); break;
	case SIGNMSG_TUF_SNAPSHOT: rc = signer_do_tuf_snapshot(k, &rd, w); break;
	case SIGNMSG_TUF_TIMESTAMP: rc = signer_do_tuf_timestamp(k, &rd, w); break;
	default:
		log_error("signer: request of reply type %d: closing the connection", (int)type);
		rc = TE_ERR_PROTOCOL;
		goto out;
	}
	if (rc != 0) {
		log_warn("signer: request type %d refused: %s", (int)type, te_strerror(rc));
		rc = signer_send_error(fd, rc);
	} else {
		rc = signer_send(fd, w);
	}
out:
	secret_wipe(w, sizeof(*w));
	free(w);
	return rc;
}

static void signer_keys_free(struct signer_keys *k)
{
	EVP_PKEY_free(k->ticket_key);
	EVP_PKEY_free(k->issuing_key);
	EVP_PKEY_free(k->checkpoint_key);
	EVP_PKEY_free(k->snapshot_key);
	EVP_PKEY_free(k->timestamp_key);
	X509_free(k->issuing);
	secret_wipe(k->totp_key, sizeof(k->totp_key));
}

_Noreturn void signer_child_main(const struct srvconf *cfg, int fd)
{
	static uint8_t buf[MAX_SIGNMSG_BYTES + 1];
	struct signer_keys k;
	int code = 1, rc;
	ssize_t n;

	/* Nothing of the parent's but stdio and this socket. */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	/* The HTTP process ends the signer by closing the socket, after its
	 * shutdown checkpoint; a terminal's ^C or a unit's SIGTERM to the whole
	 * group must not end it first. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	log_init("tether-server[signer]", cfg->log_level);
	memset(&k, 0, sizeof(k));
	k.cfg = cfg;
	privdrop_harden();
	rc = signer_load(&k);
	if (rc == 0 && (rc = privdrop_to(cfg->user)) != 0)
		log_error("signer: cannot drop privileges to %s: %s", cfg->user, te_strerror(rc));
	if (rc == 0)
		rc = signer_sandbox();
	if (signer_send_error(fd, rc) != 0 || rc != 0)
		goto out;
	for (;;) {
		while ((n = recv(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
			;
		if (n == 0) {
			code = 0;       /* the HTTP process closed: a clean stop */
			break;
		}
		if (n < 0) {
			log_error("signer: recv: %s", strerror(errno));
			break;
		}
		if (signer_serve_one(&k, fd, buf, (size_t)n) != 0)
			break;
	}
out:
	signer_keys_free(&k);
	close(fd);
	_exit(code);
}

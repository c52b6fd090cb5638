/* ticket.c: Ed25519-signed session tickets (see ticket.h for the wire form).
 *
 * Verification order matters: the text is bounded and split, the signature is
 * checked over the raw payload bytes, and only then is the payload parsed as
 * JSON, so unauthenticated bytes never reach the JSON parser. */
#include "ticket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "codec.h"
#include "err.h"
#include "secret.h"
#include "sigtext.h"

#define TICKET_NONCE_HEX 32
#define TICKET_PAYLOAD_MAX ((MAX_TICKET_BYTES / 4) * 3)

const char *ticket_leg_name(enum ticket_leg leg)
{
	switch (leg) {
	case TICKET_LEG_DEVICE: return "device";
	case TICKET_LEG_CLIENT: return "client";
	}
	return "unknown";
}

static int ticket_nonce_ok(const char *nonce)
{
	size_t i;

	for (i = 0; i < TICKET_NONCE_HEX; i++) {
		char c = nonce[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return nonce[TICKET_NONCE_HEX] == '\0';
}

/* No control characters: ticket fields end up in preamble answers, log
 * lines and audit records, where a newline could forge a line. */
static int ticket_text_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static int ticket_name_ok(const char *s, size_t max, int may_be_empty)
{
	size_t n = strnlen(s, max);

	return n < max && (may_be_empty || n > 0) && ticket_text_ok(s, n);
}

static int ticket_fields_ok(const struct ticket *t)
{
	return ticket_name_ok(t->session, sizeof(t->session), 0) &&
	       ticket_name_ok(t->device, sizeof(t->device), 0) &&
	       ticket_name_ok(t->user, sizeof(t->user), 0) &&
	       ticket_name_ok(t->relay, sizeof(t->relay), 0) &&
	       ticket_name_ok(t->actions, sizeof(t->actions), 1) &&
	       (t->leg == TICKET_LEG_DEVICE || t->leg == TICKET_LEG_CLIENT) &&
	       t->expires_at > t->issued_at &&
	       t->end_at >= 0 && t->idle_s >= 0 && t->conn >= 0 && t->conn <= TICKET_MAX_CONN;
}

/* Compact JSON payload in the documented key order; caller frees. An empty
 * nonce is replaced by a fresh random one. */
static int ticket_payload_new(const struct ticket *t, char **out)
{
	char nonce[TICKET_NONCE_HEX + 1];
	uint8_t raw[TICKET_NONCE_HEX / 2];
	json_t *o = NULL;
	int rc;

	*out = NULL;
	if (t->nonce[0] == '\0') {
		if ((rc = secret_random(raw, sizeof(raw))) != 0 ||
		    (rc = hex_encode(raw, sizeof(raw), nonce, sizeof(nonce))) != 0)
			return rc;
	} else if (ticket_nonce_ok(t->nonce)) {
		memcpy(nonce, t->nonce, sizeof(nonce));
	} else {
		return TE_ERR_INVALID;
	}
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:I}",
	              "v", 1, "sid", t->session, "dev", t->device, "usr", t->user,
	              "rly", t->relay, "leg", ticket_leg_name(t->leg),
	              "iat", (json_int_t)t->issued_at, "exp", (json_int_t)t->expires_at,
	              "nonce", nonce, "act", t->actions,
	              "end", (json_int_t)t->end_at, "idle", (json_int_t)t->idle_s);
	if (o == NULL)
		return TE_ERR_INVALID; /* not UTF-8, or out of memory */
	/* Only when set: a session's first connection has the old payload. */
	if (t->conn > 0 && json_object_set_new(o, "cn", json_integer(t->conn)) != 0) {
		json_decref(o);
		return TE_ERR_NOMEM;
	}
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out != NULL ? 0 : TE_ERR_NOMEM;
}

int ticket_sign(const struct ticket *t, EVP_PKEY *key, char *out, size_t outsz)
{
	char *payload = NULL;
	int rc;

	if (t == NULL || key == NULL || out == NULL || outsz == 0)
		return TE_ERR_INVALID;
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 || !ticket_fields_ok(t))
		return TE_ERR_INVALID;
	if ((rc = ticket_payload_new(t, &payload)) == 0)
		rc = sigtext_make(key, "", payload, strlen(payload), MAX_TICKET_BYTES, out, outsz);
	else
		out[0] = '\0';
	free(payload);
	return rc;
}

/* Copy a JSON string member into dst (bounded); 0 or TE_ERR_INVALID. */
static int ticket_get_str(json_t *o, const char *name, char *dst, size_t dstsz,
                          int may_be_empty)
{
	json_t *j = json_object_get(o, name);
	size_t n;

	if (!json_is_string(j))
		return TE_ERR_INVALID;
	n = json_string_length(j);
	if (n >= dstsz || (n == 0 && !may_be_empty) || !ticket_text_ok(json_string_value(j), n))
		return TE_ERR_INVALID;
	memcpy(dst, json_string_value(j), n);
	dst[n] = '\0';
	return 0;
}

static int ticket_from_json(const uint8_t *payload, size_t plen, struct ticket *t)
{
	static const char *const known[] = { "v", "sid", "dev", "usr", "rly", "leg",
	                                     "iat", "exp", "nonce", "act",
	                                     "end", "idle" };
	char leg[8];
	json_t *o, *j;
	int rc = TE_ERR_INVALID;

	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	/* Every known member, plus "cn" when the connection number is not 0. */
	j = json_object_get(o, "cn");
	if (json_object_size(o) != sizeof(known) / sizeof(known[0]) + (j != NULL ? 1 : 0))
		goto out;
	t->conn = 0;
	if (j != NULL) {
		if (!json_is_integer(j) || json_integer_value(j) < 1 ||
		    json_integer_value(j) > TICKET_MAX_CONN)
			goto out;
		t->conn = json_integer_value(j);
	}
	j = json_object_get(o, "v");
	if (!json_is_integer(j) || json_integer_value(j) != 1)
		goto out;
	if (ticket_get_str(o, "sid", t->session, sizeof(t->session), 0) != 0 ||
	    ticket_get_str(o, "dev", t->device, sizeof(t->device), 0) != 0 ||
	    ticket_get_str(o, "usr", t->user, sizeof(t->user), 0) != 0 ||
	    ticket_get_str(o, "rly", t->relay, sizeof(t->relay), 0) != 0 ||
	    ticket_get_str(o, "leg", leg, sizeof(leg), 0) != 0 ||
	    ticket_get_str(o, "nonce", t->nonce, sizeof(t->nonce), 0) != 0 ||
	    ticket_get_str(o, "act", t->actions, sizeof(t->actions), 1) != 0)
		goto out;
	if (strcmp(leg, "device") == 0)
		t->leg = TICKET_LEG_DEVICE;
	else if (strcmp(leg, "client") == 0)
		t->leg = TICKET_LEG_CLIENT;
	else
		goto out;
	if (!ticket_nonce_ok(t->nonce))
		goto out;
	j = json_object_get(o, "iat");
	if (!json_is_integer(j))
		goto out;
	t->issued_at = json_integer_value(j);
	j = json_object_get(o, "exp");
	if (!json_is_integer(j))
		goto out;
	t->expires_at = json_integer_value(j);
	if (t->expires_at <= t->issued_at)
		goto out;
	j = json_object_get(o, "end");
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		goto out;
	t->end_at = json_integer_value(j);
	j = json_object_get(o, "idle");
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		goto out;
	t->idle_s = json_integer_value(j);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int ticket_verify(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                  struct ticket *out)
{
	return ticket_verify_window(text, len, pub, now, out, NULL, NULL);
}

int ticket_verify_window(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                         struct ticket *out, int64_t *iat, int64_t *exp)
{
	uint8_t payload[TICKET_PAYLOAD_MAX];
	size_t plen = 0;
	struct ticket t;
	int rc;

	if (text == NULL || pub == NULL || out == NULL)
		return TE_ERR_INVALID;
	if ((rc = sigtext_open(text, len, MAX_TICKET_BYTES, pub, "", payload, sizeof(payload),
	                       &plen)) != 0)
		return rc;
	memset(&t, 0, sizeof(t));
	if ((rc = ticket_from_json(payload, plen, &t)) != 0)
		return rc;
	/* Not-yet-valid (beyond the skew) is reported as expired: either way the
	 * ticket is outside its window. */
	if (now >= t.expires_at || now < t.issued_at - TICKET_SKEW_S) {
		if (iat != NULL && exp != NULL) {
			*iat = t.issued_at;
			*exp = t.expires_at;
		}
		return TE_ERR_EXPIRED;
	}
	*out = t;
	return 0;
}

int ticket_check_binding(const struct ticket *t, enum ticket_leg leg,
                         const char *relay, const char *device)
{
	if (t == NULL || relay == NULL)
		return TE_ERR_INVALID;
	if (t->leg != leg || strcmp(t->relay, relay) != 0)
		return TE_ERR_MISMATCH;
	if (device != NULL && strcmp(t->device, device) != 0)
		return TE_ERR_MISMATCH;
	return 0;
}

int ticket_allows(const struct ticket *t, const char *action)
{
	const char *p, *end;
	size_t alen;

	if (t == NULL || action == NULL || (alen = strlen(action)) == 0)
		return 0;
	p = t->actions;
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == alen && memcmp(p, action, alen) == 0)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Write a PEM key to path with the given mode; the file is replaced. */
static int ticket_key_write(const char *path, EVP_PKEY *key, int private, mode_t mode)
{
	FILE *f = NULL;
	int fd = -1, rc = TE_ERR_IO;

	(void)unlink(path); /* so the new mode applies even if the file existed */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return TE_ERR_SYS;
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return TE_ERR_SYS;
	}
	if (private ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1
	            : PEM_write_PUBKEY(f, key) != 1)
		goto out;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	rc = 0;
out:
	if (fclose(f) != 0 && rc == 0)
		rc = TE_ERR_IO;
	return rc;
}

int ticket_key_generate(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *key = NULL;
	int rc;

	if (priv_path == NULL || pub_path == NULL)
		return TE_ERR_INVALID;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		return TE_ERR_CRYPTO;
	if ((rc = ticket_key_write(priv_path, key, 1, 0600)) != 0)
		goto out;
	rc = ticket_key_write(pub_path, key, 0, 0644);
out:
	EVP_PKEY_free(key);
	return rc;
}

/* Read a whole PEM file into buf; TE_ERR_TOO_LONG when it does not fit. */
static int ticket_key_read(const char *path, char *buf, size_t bufsz, size_t *len)
{
	ssize_t n = 0;
	int fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_SYS;
	while (*len < bufsz) {
		n = read(fd, buf + *len, bufsz - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (n < 0)
		return TE_ERR_IO;
	return *len >= bufsz ? TE_ERR_TOO_LONG : 0;
}

static int ticket_key_load(const char *path, int private, EVP_PKEY **out)
{
	char buf[MAX_PEM_BYTES + 1];
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL || out == NULL)
		return TE_ERR_INVALID;
	*out = NULL;
	if ((rc = ticket_key_read(path, buf, sizeof(buf), &len)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	key = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
	              : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		ERR_clear_error(); /* keep the queue clean for the TLS code */
		rc = TE_ERR_INVALID;
		goto out;
	}
	*out = key;
	key = NULL;
out:
	BIO_free(bio);
	EVP_PKEY_free(key);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int ticket_key_load_private(const char *path, EVP_PKEY **out)
{
	return ticket_key_load(path, 1, out);
}

int ticket_key_load_public(const char *path, EVP_PKEY **out)
{
	return ticket_key_load(path, 0, out);
}

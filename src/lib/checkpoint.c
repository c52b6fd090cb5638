/* checkpoint.c: signed audit checkpoints (checkpoint.h). */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "codec.h"
#include "err.h"
#include "filerepl.h"

/* Lowercase hex of exactly n digits. */
static int checkpoint_hex_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

/* A server name: host-name characters only, so the signed text has no
 * line breaks of its own. */
static int checkpoint_server_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' ||
		      s[i] == '_' || s[i] == ':' || s[i] == '[' || s[i] == ']'))
			return 0;
	return 1;
}

static int checkpoint_fields_ok(const struct checkpoint *cp)
{
	return cp->seq >= 1 && cp->time >= 0 && checkpoint_server_ok(cp->server) &&
	       checkpoint_hex_ok(cp->hash, SHA256_HEX_BYTES - 1);
}

int checkpoint_message(const struct checkpoint *cp, char *out, size_t outsz)
{
	int n;

	if (!checkpoint_fields_ok(cp))
		return TE_ERR_INVALID;
	n = snprintf(out, outsz, "%s\n%s\n%lld\n%s\n%lld\n", CHECKPOINT_TAG, cp->server,
	             (long long)cp->seq, cp->hash, (long long)cp->time);
	return n < 0 || (size_t)n >= outsz ? TE_ERR_TOO_LONG : 0;
}

int checkpoint_sign(struct checkpoint *cp, EVP_PKEY *key)
{
	char msg[MAX_CHECKPOINT_BYTES];
	uint8_t sig[CHECKPOINT_SIG_BYTES];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = NULL;
	int rc;

	cp->sig[0] = '\0';
	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		return TE_ERR_INVALID;
	if ((rc = checkpoint_message(cp, msg, sizeof(msg))) != 0)
		return rc;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return TE_ERR_NOMEM;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)msg, strlen(msg)) != 1 ||
	    siglen != CHECKPOINT_SIG_BYTES)
		rc = TE_ERR_CRYPTO;
	else
		rc = hex_encode(sig, siglen, cp->sig, sizeof(cp->sig));
	EVP_MD_CTX_free(ctx);
	return rc;
}

int checkpoint_verify(const struct checkpoint *cp, EVP_PKEY *pub)
{
	char msg[MAX_CHECKPOINT_BYTES];
	uint8_t sig[CHECKPOINT_SIG_BYTES];
	size_t siglen = 0;
	EVP_MD_CTX *ctx = NULL;
	int rc = TE_ERR_SIGNATURE;

	if (pub == NULL || checkpoint_message(cp, msg, sizeof(msg)) != 0 ||
	    hex_decode(cp->sig, sig, sizeof(sig), &siglen) != 0 || siglen != sizeof(sig))
		return TE_ERR_SIGNATURE;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return TE_ERR_NOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)msg, strlen(msg)) == 1)
		rc = 0;
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int checkpoint_get_str(const json_t *o, const char *key, char *out, size_t outsz)
{
	const json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) >= outsz ||
	    strlen(json_string_value(v)) != n)
		return TE_ERR_INVALID;
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int checkpoint_get_int(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return TE_ERR_INVALID;
	*out = json_integer_value(v);
	return 0;
}

int checkpoint_from_json(const json_t *o, struct checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	if (!json_is_object(o) || json_object_size(o) != 5 ||
	    checkpoint_get_str(o, "server", cp->server, sizeof(cp->server)) != 0 ||
	    checkpoint_get_int(o, "seq", &cp->seq) != 0 ||
	    checkpoint_get_str(o, "hash", cp->hash, sizeof(cp->hash)) != 0 ||
	    checkpoint_get_int(o, "time", &cp->time) != 0 ||
	    checkpoint_get_str(o, "sig", cp->sig, sizeof(cp->sig)) != 0 ||
	    !checkpoint_fields_ok(cp) || !checkpoint_hex_ok(cp->sig, CHECKPOINT_SIG_HEX_BYTES - 1)) {
		memset(cp, 0, sizeof(*cp));
		return TE_ERR_INVALID;
	}
	return 0;
}

int checkpoint_parse(const char *text, size_t len, struct checkpoint *cp)
{
	json_t *o;
	int rc;

	memset(cp, 0, sizeof(*cp));
	if (len > MAX_CHECKPOINT_BYTES)
		return TE_ERR_TOO_LONG;
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return TE_ERR_INVALID;
	rc = checkpoint_from_json(o, cp);
	json_decref(o);
	return rc;
}

json_t *checkpoint_to_json(const struct checkpoint *cp)
{
	return json_pack("{s:s, s:I, s:s, s:I, s:s}", "server", cp->server, "seq",
	                 (json_int_t)cp->seq, "hash", cp->hash, "time", (json_int_t)cp->time,
	                 "sig", cp->sig);
}

enum checkpoint_verdict checkpoint_compare(const struct checkpoint *held,
                                           const struct checkpoint *shown)
{
	if (held == NULL || shown->seq > held->seq)
		return CHECKPOINT_NEWER;
	if (shown->seq < held->seq)
		return CHECKPOINT_OLDER;
	if (strcmp(shown->hash, held->hash) != 0 || shown->time != held->time)
		return CHECKPOINT_FORK;
	return CHECKPOINT_SAME;
}

int checkpoint_file_load(const char *path, struct checkpoint *cp)
{
	char buf[MAX_CHECKPOINT_BYTES + 1];
	ssize_t n;
	int fd;

	memset(cp, 0, sizeof(*cp));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return TE_ERR_IO;
	if ((size_t)n > MAX_CHECKPOINT_BYTES)
		return TE_ERR_TOO_LONG;
	return checkpoint_parse(buf, (size_t)n, cp);
}

int checkpoint_file_save(const char *path, const struct checkpoint *cp)
{
	json_t *o = checkpoint_to_json(cp);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL, *line;
	size_t len = text ? strlen(text) : 0;
	int rc;

	json_decref(o);
	if (text == NULL)
		return TE_ERR_NOMEM;
	if ((line = realloc(text, len + 2)) == NULL) {
		free(text);
		return TE_ERR_NOMEM;
	}
	line[len] = '\n';
	rc = file_replace(path, line, len + 1);
	free(line);
	return rc;
}

int checkpoint_fd_load(int fd, struct checkpoint *cp)
{
	char buf[MAX_CHECKPOINT_BYTES + 1];
	ssize_t n;

	memset(cp, 0, sizeof(*cp));
	if ((n = pread(fd, buf, sizeof(buf), 0)) < 0)
		return TE_ERR_IO;
	if (n == 0)
		return TE_ERR_NOT_FOUND;
	if ((size_t)n > MAX_CHECKPOINT_BYTES)
		return TE_ERR_TOO_LONG;
	return checkpoint_parse(buf, (size_t)n, cp);
}

int checkpoint_fd_save(int fd, const struct checkpoint *cp)
{
	json_t *o = checkpoint_to_json(cp);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;
	int rc = TE_ERR_IO;

	json_decref(o);
	if (text == NULL)
		return TE_ERR_NOMEM;
	if (pwrite(fd, text, len, 0) == (ssize_t)len && ftruncate(fd, (off_t)len) == 0 &&
	    fsync(fd) == 0)
		rc = 0;
	free(text);
	return rc;
}

int checkpoint_keep(EVP_PKEY *pub, const char *path, int fd, const struct checkpoint *shown,
                    struct checkpoint *held)
{
	enum checkpoint_verdict v;
	int rc;

	memset(held, 0, sizeof(*held));
	if ((rc = checkpoint_verify(shown, pub)) != 0)
		return rc;
	rc = fd >= 0 ? checkpoint_fd_load(fd, held) : checkpoint_file_load(path, held);
	if (rc != 0 && rc != TE_ERR_NOT_FOUND)
		return rc;   /* a damaged file is not silently replaced by any checkpoint */
	v = checkpoint_compare(rc == 0 ? held : NULL, shown);
	if (v == CHECKPOINT_NEWER &&
	    (rc = fd >= 0 ? checkpoint_fd_save(fd, shown) : checkpoint_file_save(path, shown)) != 0)
		return rc;
	return (int)v;
}

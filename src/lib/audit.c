/* audit.c: hash-chained audit records: the chain hash, the verifier, one
 * file line's parser and a log file's head (the file-backed log itself is
 * auditlog.c; the format is in audit.h).
 *
 * actor and action must not contain '\n': the hash input separates fields
 * with '\n', and a newline inside a field would let two different records
 * share one hash. detail is the last variable field before the fixed-width
 * prev hash, so it may contain anything. */
#include "audit.h"
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "codec.h"
#include "err.h"
#include "log.h"

void audit_now(char out[AUDIT_TS_BYTES])
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(out, AUDIT_TS_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, AUDIT_TS_BYTES, "1970-01-01T00:00:00Z");
}

int audit_chain_hash(int64_t seq, const char *ts, const char *actor,
                     const char *action, const char *detail, const char *prev,
                     char out[SHA256_HEX_BYTES])
{
	const char *parts[5] = { ts, actor, action, detail, prev };
	uint8_t md[32];
	char num[24];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int rc = TE_ERR_CRYPTO, i;

	for (i = 0; i < 5; i++)
		if (parts[i] == NULL)
			return TE_ERR_INVALID;
	snprintf(num, sizeof(num), "%" PRId64, seq);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return TE_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, num, strlen(num)) != 1)
		goto out;
	for (i = 0; i < 5; i++) {
		if (EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
		    EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		goto out;
	rc = hex_encode(md, sizeof(md), out, SHA256_HEX_BYTES);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

void audit_verifier_init(struct audit_verifier *v)
{
	memset(v, 0, sizeof(*v));
	v->expect_seq = 1;
	memcpy(v->prev, AUDIT_GENESIS_HASH, SHA256_HEX_BYTES);
}

int audit_verifier_fail(struct audit_verifier *v, int64_t seq, const char *what)
{
	v->failed = 1;
	v->bad_seq = seq;
	snprintf(v->why, sizeof(v->why), "record %" PRId64 ": %s", seq, what);
	return TE_ERR_CHAIN;
}

int audit_verifier_feed(struct audit_verifier *v, const struct audit_record *rec)
{
	char hash[SHA256_HEX_BYTES], what[96];

	if (v->failed)
		return TE_ERR_CHAIN;
	if (rec->actor == NULL || rec->action == NULL || rec->detail == NULL ||
	    strchr(rec->actor, '\n') != NULL || strchr(rec->action, '\n') != NULL)
		return audit_verifier_fail(v, rec->seq, "malformed fields");
	if (audit_chain_hash(rec->seq, rec->ts, rec->actor, rec->action, rec->detail,
	                     rec->prev, hash) != 0 ||
	    !secret_equal_str(hash, rec->hash))
		return audit_verifier_fail(v, rec->seq, "hash mismatch (edited)");
	if (rec->seq != v->expect_seq) {
		snprintf(what, sizeof(what), "expected seq %" PRId64 " (%s)", v->expect_seq,
		         rec->seq > v->expect_seq ? "record deleted or moved"
		                                  : "record out of order or repeated");
		return audit_verifier_fail(v, rec->seq, what);
	}
	if (!secret_equal_str(rec->prev, v->prev))
		return audit_verifier_fail(v, rec->seq,
		                           "prev does not match the previous record's hash");
	memcpy(v->prev, rec->hash, SHA256_HEX_BYTES);
	v->expect_seq++;
	v->count++;
	return 0;
}

static int audit_hex64_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* "YYYY-MM-DDTHH:MM:SSZ" shape check; the value itself is only hashed. */
static int audit_ts_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	return s[i] == '\0';
}

/* Copy a JSON string member into buf at *pos (see audit_parse_line). */
static const char *audit_take_str(json_t *o, const char *name, char *buf,
                                  size_t len, size_t *pos)
{
	json_t *j = json_object_get(o, name);
	size_t n;
	char *dst;

	if (!json_is_string(j))
		return NULL;
	n = json_string_length(j);
	/* Always true for text jansson accepted (a decoded string is shorter than
	 * its quoted form), but the bound is checked rather than assumed. */
	if (n + 1 > len - *pos)
		return NULL;
	dst = buf + *pos;
	memcpy(dst, json_string_value(j), n);
	dst[n] = '\0';
	*pos += n + 1;
	return dst;
}

/* Copy a fixed-shape string member into dst (dstsz includes the NUL). */
static int audit_take_fixed(json_t *o, const char *name, char *dst, size_t dstsz)
{
	json_t *j = json_object_get(o, name);

	if (!json_is_string(j) || json_string_length(j) != dstsz - 1)
		return TE_ERR_INVALID;
	memcpy(dst, json_string_value(j), dstsz);
	return 0;
}

/* The JSON is decoded by jansson; actor, action and detail are then copied
 * back over buf (the text is no longer needed), so rec's pointers live as
 * long as buf. */
int audit_parse_line(char *buf, size_t len, struct audit_record *rec)
{
	json_t *o = NULL, *j;
	size_t pos = 0;
	int rc = TE_ERR_INVALID;

	if (buf == NULL || rec == NULL)
		return TE_ERR_INVALID;
	if (len > MAX_AUDIT_LINE_BYTES)
		return TE_ERR_TOO_LONG;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0 || memchr(buf, '\0', len) != NULL)
		return TE_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o) || json_object_size(o) != 7)
		goto out;
	j = json_object_get(o, "seq");
	if (!json_is_integer(j) || json_integer_value(j) < 1)
		goto out;
	rec->seq = json_integer_value(j);
	if (audit_take_fixed(o, "ts", rec->ts, sizeof(rec->ts)) != 0 ||
	    audit_take_fixed(o, "prev", rec->prev, sizeof(rec->prev)) != 0 ||
	    audit_take_fixed(o, "hash", rec->hash, sizeof(rec->hash)) != 0)
		goto out;
	if (!audit_ts_ok(rec->ts) || !audit_hex64_ok(rec->prev) || !audit_hex64_ok(rec->hash))
		goto out;
	if ((rec->actor = audit_take_str(o, "actor", buf, len, &pos)) == NULL ||
	    (rec->action = audit_take_str(o, "action", buf, len, &pos)) == NULL ||
	    (rec->detail = audit_take_str(o, "detail", buf, len, &pos)) == NULL)
		goto out;
	if (strchr(rec->actor, '\n') != NULL || strchr(rec->action, '\n') != NULL)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc != 0) {
		rec->actor = rec->action = rec->detail = NULL;
	}
	return rc;
}

/* The last line of the n bytes at buf (which end the file) as a record. The
 * line must end in '\n' and start at the file's start or after a '\n'. */
static int audit_last_record(char *buf, size_t n, int whole_file,
                             struct audit_record *rec)
{
	size_t start;

	if (n == 0 || buf[n - 1] != '\n')
		return TE_ERR_CHAIN;           /* an append cut short */
	for (start = n - 1; start > 0 && buf[start - 1] != '\n'; start--)
		;
	if (start == 0 && !whole_file)
		return TE_ERR_CHAIN;           /* longer than any record may be */
	return audit_parse_line(buf + start, n - start, rec) == 0 ? 0 : TE_ERR_CHAIN;
}

int audit_fd_head(int fd, int64_t *seq, char hash[SHA256_HEX_BYTES])
{
	struct audit_record rec;
	struct stat st;
	char *buf = NULL;
	size_t want, have = 0;
	ssize_t got;
	int rc = 0;

	if (seq == NULL || hash == NULL)
		return TE_ERR_INVALID;
	*seq = 0;
	memcpy(hash, AUDIT_GENESIS_HASH, SHA256_HEX_BYTES);
	if (fd < 0 || fstat(fd, &st) != 0)
		return TE_ERR_SYS;
	if (st.st_size == 0)
		return 0;
	/* One byte more than the longest record, to see where it starts. */
	want = (size_t)st.st_size < MAX_AUDIT_LINE_BYTES + 1 ? (size_t)st.st_size
	                                                     : MAX_AUDIT_LINE_BYTES + 1;
	if ((buf = malloc(want)) == NULL)
		return TE_ERR_NOMEM;
	while (have < want) {
		got = pread(fd, buf + have, want - have, st.st_size - (off_t)want + (off_t)have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = TE_ERR_IO;
			goto out;
		}
		have += (size_t)got;
	}
	if ((rc = audit_last_record(buf, have, want == (size_t)st.st_size, &rec)) != 0)
		goto out;
	*seq = rec.seq;
	memcpy(hash, rec.hash, SHA256_HEX_BYTES);
out:
	free(buf);
	return rc;
}

/* bundle.c: the offline update bundle, a strict ustar reader and the header
 * writer (bundle.h). */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tuf.h"

#define USTAR_NAME     0
#define USTAR_SIZE     124
#define USTAR_MTIME    136
#define USTAR_CHKSUM   148
#define USTAR_TYPE     156
#define USTAR_MAGIC    257
#define USTAR_PREFIX   345

/* An octal field of n bytes: digits, then NUL or spaces; leading spaces
 * allowed. -1 for anything else. */
static int64_t bundle_octal(const uint8_t *f, size_t n)
{
	size_t i = 0;
	int64_t v = 0;
	int digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v > (INT64_MAX >> 3))
			return -1;
		v = (v << 3) | (f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	return digits > 0 ? v : -1;
}

/* A field of n bytes as text: NUL-terminated within it, or all of it. */
static size_t bundle_field(const uint8_t *f, size_t n, char *out)
{
	size_t len = 0;

	while (len < n && f[len] != '\0')
		len++;
	memcpy(out, f, len);
	out[len] = '\0';
	return len;
}

/* "N.ROLE.json" (N from 1) or "timestamp.json". */
static int bundle_meta_name_ok(const char *s)
{
	char role[TUF_MAX_NAME_BYTES + 1];
	size_t n = strlen(s), i = 0;

	if (strcmp(s, "timestamp.json") == 0)
		return 1;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 18 || s[0] == '0' || s[i] != '.' || n < i + 7 ||
	    strcmp(s + n - 5, ".json") != 0 || n - 5 - i - 1 > TUF_MAX_NAME_BYTES)
		return 0;
	memcpy(role, s + i + 1, n - 5 - i - 1);
	role[n - 5 - i - 1] = '\0';
	return tuf_role_name_ok(role);
}

static int bundle_name_ok(const char *name)
{
	if (strncmp(name, "metadata/", 9) == 0)
		return bundle_meta_name_ok(name + 9);
	if (strncmp(name, "targets/", 8) == 0)
		return tuf_target_name_ok(name + 8);
	return 0;
}

static int bundle_all_zero(const uint8_t *b)
{
	for (size_t i = 0; i < BUNDLE_BLOCK; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int bundle_checksum_ok(const uint8_t *b)
{
	int64_t want = bundle_octal(b + USTAR_CHKSUM, 8), sum = 0;

	for (size_t i = 0; i < BUNDLE_BLOCK; i++)
		sum += (i >= USTAR_CHKSUM && i < USTAR_CHKSUM + 8) ? ' ' : b[i];
	return want >= 0 && sum == want;
}

/* One header into e (name and size); *dir says it is a folder (skipped). */
static int bundle_header_parse(const uint8_t *b, struct bundle_entry *e, int *dir, char *why,
                               size_t whysz)
{
	char name[101], prefix[156];
	size_t nl, pl;
	int64_t size;

	if (memcmp(b + USTAR_MAGIC, "ustar", 5) != 0 || !bundle_checksum_ok(b)) {
		snprintf(why, whysz, "not a ustar header (or its checksum is wrong)");
		return TE_ERR_INVALID;
	}
	if (b[USTAR_TYPE] != '0' && b[USTAR_TYPE] != '\0' && b[USTAR_TYPE] != '5') {
		snprintf(why, whysz, "an entry of type '%c': only files and folders are taken",
		         b[USTAR_TYPE] >= 0x21 && b[USTAR_TYPE] < 0x7f ? b[USTAR_TYPE] : '?');
		return TE_ERR_INVALID;
	}
	nl = bundle_field(b + USTAR_NAME, 100, name);
	pl = bundle_field(b + USTAR_PREFIX, 155, prefix);
	if (nl == 0 || pl + 1 + nl >= sizeof(e->name)) {
		snprintf(why, whysz, "an entry without a name, or with one too long");
		return TE_ERR_INVALID;
	}
	memcpy(e->name, prefix, pl);
	if (pl > 0)
		e->name[pl++] = '/';
	memcpy(e->name + pl, name, nl + 1);
	if ((size = bundle_octal(b + USTAR_SIZE, 12)) < 0 || (uint64_t)size > BUNDLE_MAX_SIZE) {
		snprintf(why, whysz, "entry %.64s has no size this reader takes", e->name);
		return TE_ERR_INVALID;
	}
	e->size = (uint64_t)size;
	*dir = b[USTAR_TYPE] == '5';
	if (*dir) {
		size_t n = strlen(e->name);

		if (n > 0 && e->name[n - 1] == '/')
			e->name[n - 1] = '\0';
		if (size != 0 || (strcmp(e->name, "metadata") != 0 && strcmp(e->name, "targets") != 0 &&
		                  !(strncmp(e->name, "targets/", 8) == 0 &&
		                    tuf_target_name_ok(e->name + 8)))) {
			snprintf(why, whysz, "folder %.64s is not one a bundle has", e->name);
			return TE_ERR_INVALID;
		}
		return 0;
	}
	if (!bundle_name_ok(e->name)) {
		/* the name is the archive's, shown only through %.64s of safe bytes */
		for (char *p = e->name; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		snprintf(why, whysz, "entry %.64s is not a repository file (metadata/N.ROLE.json, "
		         "metadata/timestamp.json or targets/PATH)", e->name);
		return TE_ERR_INVALID;
	}
	return 0;
}

int bundle_index(bundle_read_fn rd, void *arg, uint64_t total, struct bundle *b, char *why,
                 size_t whysz)
{
	uint8_t blk[BUNDLE_BLOCK];
	struct bundle_entry e;
	uint64_t off = 0, blocks;
	int rc, dir;

	memset(b, 0, sizeof(*b));
	why[0] = '\0';
	if ((b->entries = calloc(BUNDLE_MAX_ENTRIES, sizeof(*b->entries))) == NULL)
		return TE_ERR_NOMEM;
	for (;;) {
		if (off + BUNDLE_BLOCK > total) {
			if (off == total && b->n > 0)
				return 0;              /* no end blocks: taken, as tar does */
			snprintf(why, whysz, "the archive ends inside a header");
			rc = TE_ERR_TRUNCATED;
			goto bad;
		}
		if ((rc = rd(arg, off, blk, sizeof(blk))) != 0) {
			snprintf(why, whysz, "cannot read the archive at %llu", (unsigned long long)off);
			goto bad;
		}
		if (bundle_all_zero(blk)) {
			if (b->n == 0) {
				snprintf(why, whysz, "the archive is empty");
				rc = TE_ERR_INVALID;
				goto bad;
			}
			return 0;
		}
		memset(&e, 0, sizeof(e));
		if ((rc = bundle_header_parse(blk, &e, &dir, why, whysz)) != 0)
			goto bad;
		off += BUNDLE_BLOCK;
		blocks = (e.size + BUNDLE_BLOCK - 1) / BUNDLE_BLOCK;
		if (e.size > total - off) {
			snprintf(why, whysz, "entry %.64s goes past the archive's end", e.name);
			rc = TE_ERR_TOO_LONG;
			goto bad;
		}
		e.offset = off;
		off += blocks * BUNDLE_BLOCK;
		if (dir)
			continue;
		if (bundle_find(b, e.name) != NULL) {
			snprintf(why, whysz, "entry %.64s is there twice", e.name);
			rc = TE_ERR_EXISTS;
			goto bad;
		}
		if (b->n >= BUNDLE_MAX_ENTRIES) {
			snprintf(why, whysz, "more than %d entries", BUNDLE_MAX_ENTRIES);
			rc = TE_ERR_TOO_LONG;
			goto bad;
		}
		b->entries[b->n++] = e;
	}
bad:
	bundle_free(b);
	return rc;
}

void bundle_free(struct bundle *b)
{
	free(b->entries);
	b->entries = NULL;
	b->n = 0;
}

const struct bundle_entry *bundle_find(const struct bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->entries[i].name, name) == 0)
			return &b->entries[i];
	return NULL;
}

int bundle_header(uint8_t blk[BUNDLE_BLOCK], const char *name, uint64_t size, int64_t mtime)
{
	size_t n = strlen(name), cut;
	unsigned sum = 0;

	memset(blk, 0, BUNDLE_BLOCK);
	if (n <= 100) {
		memcpy(blk + USTAR_NAME, name, n);
	} else {
		/* prefix/name: the last '/' that leaves at most 100 after it */
		for (cut = n - 1; cut > 0 && (name[cut] != '/' || n - cut - 1 > 100); cut--)
			;
		if (cut == 0 || cut > 155 || n - cut - 1 == 0)
			return TE_ERR_TOO_LONG;
		memcpy(blk + USTAR_PREFIX, name, cut);
		memcpy(blk + USTAR_NAME, name + cut + 1, n - cut - 1);
	}
	if (size > 077777777777ULL)
		return TE_ERR_TOO_LONG;
	snprintf((char *)blk + 100, 8, "%07o", 0644);
	snprintf((char *)blk + 108, 8, "%07o", 0);
	snprintf((char *)blk + 116, 8, "%07o", 0);
	snprintf((char *)blk + USTAR_SIZE, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)blk + USTAR_MTIME, 12, "%011llo",
	         (unsigned long long)(mtime > 0 ? mtime : 0) & 077777777777ULL);
	blk[USTAR_TYPE] = '0';
	memcpy(blk + USTAR_MAGIC, "ustar", 6);        /* with its NUL */
	memcpy(blk + 263, "00", 2);
	memset(blk + USTAR_CHKSUM, ' ', 8);
	for (size_t i = 0; i < BUNDLE_BLOCK; i++)
		sum += blk[i];
	snprintf((char *)blk + USTAR_CHKSUM, 8, "%06o", sum);
	blk[USTAR_CHKSUM + 7] = ' ';
	return 0;
}

/* filechunk.h: one request of a device's data-file upload (POST
 * /api/v1/device/file, api_files.c), parsed by a pure function so that it
 * can be fuzzed on its own. */
#ifndef TETHER_SERVER_FILECHUNK_H
#define TETHER_SERVER_FILECHUNK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

#define FILECHUNK_BYTES      (128 * 1024)   /* the data one request carries */

struct filechunk {
	struct store_file f;        /* collection, path, collected_at; refused, or
	                             * size, sha256 and mtime */
	int64_t offset;
	const char *data;           /* base64url, into j; NULL for a refusal */
};

/* A raw chunk's query (PUT /api/v1/device/file?sha256=H&size=S&offset=N,
 * api_files.c): each of the three exactly once and nothing else; H is 64
 * lower-case hex digits, S and N decimal, at most 2^50, N at most S. 0, or
 * a te_err with *field naming the key that is missing or wrong ("query"
 * for a malformed or unknown pair). */
struct filechunk_raw {
	char sha256[SHA256_HEX_BYTES];
	int64_t size;
	int64_t offset;
};
int filechunk_raw_parse(const char *query, struct filechunk_raw *out, const char **field);
/* The decimal digits of v[0..n) into *out: at most 2^50, no sign, no
 * leading zero but "0" itself. 0 or TE_ERR_INVALID. For other queries of
 * sizes and offsets too (repopub.c). */
int filechunk_dec(const char *v, size_t n, int64_t *out);

/* Check j's fields into out. 0, or a te_err with *field naming the field
 * that is missing or wrong. Text fields are displayable text; a path is
 * absolute; data is at most FILECHUNK_BYTES once decoded. */
int filechunk_parse(const json_t *j, struct filechunk *out, const char **field);

#endif

/* cjson.h: canonical JSON, the byte form TUF signs (the OLPC form that
 * securesystemslib and every TUF client use): objects with their keys
 * sorted by byte value, no whitespace, strings with only '"' and '\'
 * escaped (every other byte as it is), integers only (no real numbers).
 *
 * Two parties that hold the same JSON value make the same bytes, so a
 * signature over them can be checked by anyone who parses the document
 * again, whatever spacing or key order it was sent in. */
#ifndef TETHER_CJSON_H
#define TETHER_CJSON_H

#include <stddef.h>

#include <jansson.h>

/* The canonical bytes of v into *out (malloc'd, NUL-terminated; the caller
 * frees), their length in *len. TE_ERR_INVALID for a real number (TUF has
 * none) or nesting deeper than 32, TE_ERR_TOO_LONG past max bytes,
 * TE_ERR_NOMEM. */
int cjson_encode(const json_t *v, size_t max, char **out, size_t *len);

#endif

/* jbody.h: bounded JSON request bodies and typed field access. */
#ifndef TETHER_SERVER_JBODY_H
#define TETHER_SERVER_JBODY_H

#include <stddef.h>

#include <jansson.h>

/* Parse a JSON object of at most MAX_HTTP_BODY_BYTES (duplicate keys are
 * refused). TE_ERR_TOO_LONG / TE_ERR_INVALID. */
int jbody_parse(const char *body, size_t len, json_t **out);
/* Copy a string field into out. Missing: TE_ERR_NOT_FOUND when required,
 * else out = "" and 0. Wrong type or embedded NUL: TE_ERR_INVALID; longer
 * than outsz - 1: TE_ERR_TOO_LONG. */
int jbody_str(const json_t *obj, const char *key, int required, char *out,
              size_t outsz);
/* 1 when s is a non-empty name of [A-Za-z0-9._-] shorter than MAX_NAME_BYTES. */
int jbody_name_ok(const char *s);
/* 1 when s is displayable text (lib text.h: UTF-8 without controls or
 * bidirectional overrides); reasons, versions, customer names. */
int jbody_text_ok(const char *s);

/* Compact JSON text of o (stolen; NULL gives NULL); caller frees. */
char *jbody_dump(json_t *o);

/* Wipe the text of a string field in place (passwords, tokens). */
void jbody_wipe(json_t *obj, const char *key);

#endif

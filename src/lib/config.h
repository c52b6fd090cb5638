/* config.h: "key = value" files with '#' comments. Bounded; unknown keys are
 * an error so that a typo never silently falls back to a default. */
#ifndef TETHER_CONFIG_H
#define TETHER_CONFIG_H

#include <stddef.h>

struct config;

/* Parse a file. On error returns a te_err and writes "path:line: what" to
 * errbuf. allowed_keys is a NULL-terminated list; a key ending in '.'
 * (e.g. "service.") allows any key with that prefix. */
int config_load(const char *path, const char *const *allowed_keys,
                struct config **out, char *errbuf, size_t errsz);
int config_parse(const char *text, size_t len, const char *name,
                 const char *const *allowed_keys, struct config **out,
                 char *errbuf, size_t errsz);
void config_free(struct config *cfg);
/* Value or def when absent. The pointer lives as long as cfg. */
const char *config_get(const struct config *cfg, const char *key, const char *def);
/* Integer in [min,max] or def when absent; TE_ERR_INVALID with errbuf set otherwise. */
int config_get_int(const struct config *cfg, const char *key, long def,
                   long min, long max, long *out, char *errbuf, size_t errsz);
/* The line a key was read from (0 when absent), for messages about its value. */
unsigned config_line(const struct config *cfg, const char *key);
/* Iterate keys with a prefix: returns the count; calls fn for each entry in file order. */
size_t config_each_prefix(const struct config *cfg, const char *prefix,
                          void (*fn)(const char *key, const char *value, void *arg),
                          void *arg);

/* "30s", "15m" (or "15min"), "6h", "2d" or plain seconds, at most 100
 * years: the seconds, or -1 when malformed. */
long config_duration(const char *v);
/* "512K", "10M", "2G" or plain bytes, at most 1 TiB: the bytes, or -1. */
long long config_size(const char *v);

#endif

/* cjson.c: canonical JSON (cjson.h). */
#include "cjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define CJSON_MAX_DEPTH 32

struct cjson_buf {
	char *p;
	size_t len, cap, max;
};

static int cjson_put(struct cjson_buf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (n > b->max - b->len)
		return TE_ERR_TOO_LONG;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return TE_ERR_NOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int cjson_string(struct cjson_buf *b, const char *s, size_t n)
{
	size_t i, from = 0;
	int rc;

	if ((rc = cjson_put(b, "\"", 1)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if ((rc = cjson_put(b, s + from, i - from)) != 0 ||
		    (rc = cjson_put(b, "\\", 1)) != 0)
			return rc;
		from = i;
	}
	if ((rc = cjson_put(b, s + from, n - from)) != 0)
		return rc;
	return cjson_put(b, "\"", 1);
}

static int cjson_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cjson_value(struct cjson_buf *b, const json_t *v, int depth);

static int cjson_object(struct cjson_buf *b, const json_t *v, int depth)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys = NULL;
	const char *k;
	json_t *x;
	int rc = 0;

	if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL)
		return TE_ERR_NOMEM;
	json_object_foreach((json_t *)v, k, x)
		keys[i++] = k;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cjson_key_cmp);
	if ((rc = cjson_put(b, "{", 1)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((i > 0 && (rc = cjson_put(b, ",", 1)) != 0) ||
		    (rc = cjson_string(b, keys[i], strlen(keys[i]))) != 0 ||
		    (rc = cjson_put(b, ":", 1)) != 0 ||
		    (rc = cjson_value(b, json_object_get(v, keys[i]), depth + 1)) != 0)
			goto out;
	}
	rc = cjson_put(b, "}", 1);
out:
	free(keys);
	return rc;
}

static int cjson_value(struct cjson_buf *b, const json_t *v, int depth)
{
	char num[32];
	size_t i;
	int rc;

	if (depth > CJSON_MAX_DEPTH)
		return TE_ERR_INVALID;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return cjson_object(b, v, depth);
	case JSON_ARRAY:
		if ((rc = cjson_put(b, "[", 1)) != 0)
			return rc;
		for (i = 0; i < json_array_size(v); i++)
			if ((i > 0 && (rc = cjson_put(b, ",", 1)) != 0) ||
			    (rc = cjson_value(b, json_array_get(v, i), depth + 1)) != 0)
				return rc;
		return cjson_put(b, "]", 1);
	case JSON_STRING:
		return cjson_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cjson_put(b, num, strlen(num));
	case JSON_TRUE:
		return cjson_put(b, "true", 4);
	case JSON_FALSE:
		return cjson_put(b, "false", 5);
	case JSON_NULL:
		return cjson_put(b, "null", 4);
	default:
		return TE_ERR_INVALID;    /* a real number */
	}
}

int cjson_encode(const json_t *v, size_t max, char **out, size_t *len)
{
	struct cjson_buf b = { NULL, 0, 0, max };
	int rc;

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return TE_ERR_INVALID;
	if ((rc = cjson_value(&b, v, 0)) != 0) {
		free(b.p);
		return rc;
	}
	if (b.p == NULL && (b.p = calloc(1, 1)) == NULL)
		return TE_ERR_NOMEM;
	*out = b.p;
	*len = b.len;
	return 0;
}

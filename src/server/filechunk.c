/* filechunk.c: a data-file upload request's fields (filechunk.h). */
#include "filechunk.h"

#include "actenv.h"

#include <string.h>

#include "err.h"
#include "jbody.h"

#define FILECHUNK_INT_MAX ((int64_t)1 << 50)

static int filechunk_int(const json_t *j, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(j, key);

	if (v == NULL)
		return TE_ERR_NOT_FOUND;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)FILECHUNK_INT_MAX)
		return TE_ERR_INVALID;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int filechunk_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

int filechunk_parse(const json_t *j, struct filechunk *out, const char **field)
{
	struct store_file *f = &out->f;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return *field = "body", TE_ERR_INVALID;
	if ((rc = jbody_str(j, "collection", 1, f->collection, sizeof(f->collection))) != 0 ||
	    !jbody_name_ok(f->collection))
		return *field = "collection", rc ? rc : TE_ERR_INVALID;
	if ((rc = jbody_str(j, "path", 1, f->path, sizeof(f->path))) != 0 || f->path[0] != '/' ||
	    !jbody_text_ok(f->path))
		return *field = "path", rc ? rc : TE_ERR_INVALID;
	if ((rc = filechunk_int(j, "collected_at", &f->collected_at)) != 0)
		return *field = "collected_at", rc;
	/* The maintenance queue's activity whose run collected it, if any. */
	if (json_object_get(j, "activity") != NULL &&
	    ((rc = jbody_str(j, "activity", 1, f->activity, sizeof(f->activity))) != 0 ||
	     !actenv_id_ok(f->activity)))
		return *field = "activity", rc ? rc : TE_ERR_INVALID;
	if (json_object_get(j, "refused") != NULL) {
		if ((rc = jbody_str(j, "refused", 1, f->refused, sizeof(f->refused))) != 0 ||
		    f->refused[0] == '\0' || !jbody_text_ok(f->refused))
			return *field = "refused", rc ? rc : TE_ERR_INVALID;
		return 0;
	}
	if ((rc = jbody_str(j, "sha256", 1, f->sha256, sizeof(f->sha256))) != 0 ||
	    !filechunk_hex64(f->sha256))
		return *field = "sha256", rc ? rc : TE_ERR_INVALID;
	if ((rc = filechunk_int(j, "size", &f->size)) != 0)
		return *field = "size", rc;
	if ((rc = filechunk_int(j, "mtime", &f->mtime)) != 0)
		return *field = "mtime", rc;
	if ((rc = filechunk_int(j, "offset", &out->offset)) != 0)
		return *field = "offset", rc;
	if (out->offset > f->size)
		return *field = "offset", TE_ERR_INVALID;
	out->data = json_string_value(json_object_get(j, "data"));
	if (out->data == NULL)
		return *field = "data", TE_ERR_NOT_FOUND;
	if (strlen(out->data) > (FILECHUNK_BYTES / 3 + 1) * 4)
		return *field = "data", TE_ERR_TOO_LONG;
	return 0;
}

int filechunk_dec(const char *v, size_t n, int64_t *out)
{
	int64_t x = 0;
	size_t i;

	if (n == 0 || n > 16 || (n > 1 && v[0] == '0'))
		return TE_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return TE_ERR_INVALID;
		x = x * 10 + (v[i] - '0');
	}
	if (x > FILECHUNK_INT_MAX)
		return TE_ERR_INVALID;
	*out = x;
	return 0;
}

int filechunk_raw_parse(const char *query, struct filechunk_raw *out, const char **field)
{
	const char *p = query, *eq, *end;
	unsigned seen = 0, bit;
	size_t kl, vl;

	memset(out, 0, sizeof(*out));
	if (query == NULL)
		return *field = "sha256", TE_ERR_NOT_FOUND;
	if (strlen(query) > 256)
		return *field = "query", TE_ERR_TOO_LONG;
	while (*p != '\0') {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			return *field = "query", TE_ERR_INVALID;
		kl = (size_t)(eq - p);
		vl = (size_t)(end - eq - 1);
		if (kl == 6 && memcmp(p, "sha256", 6) == 0) {
			bit = 1;
			*field = "sha256";
			if (vl != SHA256_HEX_BYTES - 1)
				return TE_ERR_INVALID;
			memcpy(out->sha256, eq + 1, vl);
			out->sha256[vl] = '\0';
			if (!filechunk_hex64(out->sha256))
				return TE_ERR_INVALID;
		} else if (kl == 4 && memcmp(p, "size", 4) == 0) {
			bit = 2;
			*field = "size";
			if (filechunk_dec(eq + 1, vl, &out->size) != 0)
				return TE_ERR_INVALID;
		} else if (kl == 6 && memcmp(p, "offset", 6) == 0) {
			bit = 4;
			*field = "offset";
			if (filechunk_dec(eq + 1, vl, &out->offset) != 0)
				return TE_ERR_INVALID;
		} else {
			return *field = "query", TE_ERR_INVALID;
		}
		if (seen & bit)
			return TE_ERR_INVALID;        /* *field names the repeated key */
		seen |= bit;
		p = *end == '&' ? end + 1 : end;
	}
	if (!(seen & 1))
		return *field = "sha256", TE_ERR_NOT_FOUND;
	if (!(seen & 2))
		return *field = "size", TE_ERR_NOT_FOUND;
	if (!(seen & 4))
		return *field = "offset", TE_ERR_NOT_FOUND;
	if (out->offset > out->size)
		return *field = "offset", TE_ERR_INVALID;
	return 0;
}

/* jbody.c: the one way request bodies become JSON for the handlers. */
#include "jbody.h"

#include <string.h>

#include <openssl/crypto.h>

#include "bounds.h"
#include "err.h"
#include "text.h"

int jbody_parse(const char *body, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	if (body == NULL || len == 0)
		return TE_ERR_INVALID;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return TE_ERR_INVALID;
	if (!json_is_object(j)) {
		json_decref(j);
		return TE_ERR_INVALID;
	}
	*out = j;
	return 0;
}

int jbody_str(const json_t *obj, const char *key, int required, char *out,
              size_t outsz)
{
	const json_t *v = json_object_get(obj, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return required ? TE_ERR_NOT_FOUND : 0;
	if (!json_is_string(v))
		return TE_ERR_INVALID;
	n = json_string_length(v);
	if (memchr(json_string_value(v), '\0', n) != NULL)
		return TE_ERR_INVALID;
	if (n >= outsz)
		return TE_ERR_TOO_LONG;
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	return 0;
}

int jbody_name_ok(const char *s)
{
	size_t n = strnlen(s, MAX_NAME_BYTES);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int jbody_text_ok(const char *s)
{
	return text_check_display(s, MAX_HTTP_BODY_BYTES, NULL) == 0;
}

char *jbody_dump(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

void jbody_wipe(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	/* jansson owns the buffer; its length is fixed, so wiping is safe. */
	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

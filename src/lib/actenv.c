/* actenv.c: activity envelopes (actenv.h). The signature is checked over
 * the raw payload (sigtext_open) before the payload is parsed. */
#include "actenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"
#include "secret.h"
#include "sigtext.h"
#include "text.h"
#include "tuf.h"

#define ACTENV_PAYLOAD_MAX ((MAX_ACTENV_BYTES / 4) * 3)
#define ACTENV_ID_HEX 20

int actenv_kind_ok(const char *kind)
{
	return strcmp(kind, "diag") == 0 || strcmp(kind, "collect") == 0 ||
	       strcmp(kind, "config") == 0 || strcmp(kind, "install") == 0;
}

static int actenv_hex_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

int actenv_id_ok(const char *id)
{
	return id[0] == 'a' && strnlen(id, ACTENV_ID_BYTES) == ACTENV_ID_HEX + 1 &&
	       actenv_hex_ok(id + 1, ACTENV_ID_HEX);
}

int actenv_name_ok(const char *name)
{
	size_t n = strnlen(name, MAX_NAME_BYTES);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int actenv_input_ok(const char *input)
{
	char line[ACTENV_INPUT_BYTES];
	const char *p = input;

	if (strnlen(input, ACTENV_INPUT_BYTES) >= ACTENV_INPUT_BYTES)
		return 0;
	while (text_next_line(&p, line, sizeof(line)))
		if (text_check_display(line, sizeof(line), NULL) != 0)
			return 0;
	return 1;
}

int actenv_input_fits(const char *kind, const char *input)
{
	if (strcmp(kind, "config") == 0)
		return input[0] != '\0' && actenv_input_ok(input);
	if (strcmp(kind, "install") == 0)
		return tuf_target_name_ok(input);
	return input[0] == '\0';
}

int actenv_new_id(char out[ACTENV_ID_BYTES])
{
	uint8_t raw[ACTENV_ID_HEX / 2];
	int rc;

	out[0] = 'a';
	if ((rc = secret_random(raw, sizeof(raw))) != 0)
		return rc;
	return hex_encode(raw, sizeof(raw), out + 1, ACTENV_ID_BYTES - 1);
}

static int actenv_fields_ok(const struct actenv *e)
{
	return actenv_id_ok(e->id) && actenv_name_ok(e->device) && actenv_kind_ok(e->kind) &&
	       actenv_name_ok(e->name) && actenv_input_ok(e->input) &&
	       actenv_input_fits(e->kind, e->input) &&
	       e->expires_at > e->issued_at && e->expires_at - e->issued_at <= ACTENV_MAX_TTL_S;
}

int actenv_sign(const struct actenv *e, EVP_PKEY *key, char *out, size_t outsz)
{
	char nonce[33];
	uint8_t raw[16];
	json_t *o;
	char *payload = NULL;
	int rc;

	if (outsz > 0)
		out[0] = '\0';
	if (!actenv_fields_ok(e))
		return TE_ERR_INVALID;
	if (e->nonce[0] != '\0') {
		if (!actenv_hex_ok(e->nonce, 32))
			return TE_ERR_INVALID;
		memcpy(nonce, e->nonce, sizeof(nonce));
	} else if ((rc = secret_random(raw, sizeof(raw))) != 0 ||
	           (rc = hex_encode(raw, sizeof(raw), nonce, sizeof(nonce))) != 0) {
		return rc;
	}
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "v", 1, "id", e->id,
	              "dev", e->device, "kind", e->kind, "name", e->name, "input", e->input,
	              "iat", (json_int_t)e->issued_at, "exp", (json_int_t)e->expires_at,
	              "nonce", nonce);
	if (o == NULL)
		return TE_ERR_INVALID;
	payload = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (payload == NULL)
		return TE_ERR_NOMEM;
	rc = sigtext_make(key, ACTENV_DOMAIN, payload, strlen(payload), MAX_ACTENV_BYTES, out,
	                  outsz);
	free(payload);
	return rc;
}

static int actenv_str(json_t *o, const char *key, char *dst, size_t dstsz)
{
	json_t *j = json_object_get(o, key);
	size_t n;

	if (!json_is_string(j) || (n = json_string_length(j)) >= dstsz ||
	    strlen(json_string_value(j)) != n)
		return TE_ERR_INVALID;
	memcpy(dst, json_string_value(j), n + 1);
	return 0;
}

static int actenv_from_json(const uint8_t *payload, size_t plen, struct actenv *e)
{
	json_t *o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	json_t *v, *iat, *exp;
	int rc = TE_ERR_INVALID;

	if (!json_is_object(o) || json_object_size(o) != 9)
		goto out;
	v = json_object_get(o, "v");
	iat = json_object_get(o, "iat");
	exp = json_object_get(o, "exp");
	if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_integer(iat) ||
	    !json_is_integer(exp) ||
	    actenv_str(o, "id", e->id, sizeof(e->id)) != 0 ||
	    actenv_str(o, "dev", e->device, sizeof(e->device)) != 0 ||
	    actenv_str(o, "kind", e->kind, sizeof(e->kind)) != 0 ||
	    actenv_str(o, "name", e->name, sizeof(e->name)) != 0 ||
	    actenv_str(o, "input", e->input, sizeof(e->input)) != 0 ||
	    actenv_str(o, "nonce", e->nonce, sizeof(e->nonce)) != 0)
		goto out;
	e->issued_at = json_integer_value(iat);
	e->expires_at = json_integer_value(exp);
	if (actenv_fields_ok(e) && actenv_hex_ok(e->nonce, 32))
		rc = 0;
out:
	json_decref(o);
	return rc;
}

int actenv_verify(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                  struct actenv *out)
{
	uint8_t payload[ACTENV_PAYLOAD_MAX];
	size_t plen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sigtext_open(text, len, MAX_ACTENV_BYTES, pub, ACTENV_DOMAIN, payload,
	                       sizeof(payload), &plen)) != 0)
		return rc;
	if ((rc = actenv_from_json(payload, plen, out)) != 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	if (now >= out->expires_at || now < out->issued_at - ACTENV_SKEW_S)
		return TE_ERR_EXPIRED;
	return 0;
}

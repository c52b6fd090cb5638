/* tickets.c: one signed, single-use ticket per leg; the nonce makes each
 * unique so the relay can refuse a replay. */
#include "tickets.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"
#include "secret.h"

int tickets_actions(const char *services_json, char *out, size_t outsz)
{
	json_error_t jerr;
	json_t *arr = json_loads(services_json, 0, &jerr);
	size_t used = 0;
	int rc = 0;

	out[0] = '\0';
	if (!json_is_array(arr)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *svc = json_string_value(json_array_get(arr, i));
		int n;

		if (svc == NULL) {
			rc = TE_ERR_INVALID;
			goto out;
		}
		n = snprintf(out + used, outsz - used, "%sforward:%s", used ? "," : "", svc);
		if (n < 0 || (size_t)n >= outsz - used) {
			rc = TE_ERR_TOO_LONG;
			goto out;
		}
		used += (size_t)n;
	}
out:
	json_decref(arr);
	return rc;
}

int tickets_issue(EVP_PKEY *key, const struct store_session *s, const char *relay,
                  enum ticket_leg leg, int64_t now, char *out, size_t outsz)
{
	struct ticket t;
	uint8_t nonce[16];
	int rc;

	memset(&t, 0, sizeof(t));
	snprintf(t.session, sizeof(t.session), "%s", s->id);
	snprintf(t.device, sizeof(t.device), "%s", s->device);
	snprintf(t.user, sizeof(t.user), "%s", s->user);
	snprintf(t.relay, sizeof(t.relay), "%s", relay);
	t.leg = leg;
	t.issued_at = now;
	t.expires_at = now + TICKET_TTL_S;
	if ((rc = secret_random(nonce, sizeof(nonce))) != 0 ||
	    (rc = hex_encode(nonce, sizeof(nonce), t.nonce, sizeof(t.nonce))) != 0 ||
	    (rc = tickets_actions(s->services, t.actions, sizeof(t.actions))) != 0)
		return rc;
	return ticket_sign(&t, key, out, outsz);
}

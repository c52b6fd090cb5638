/* tickets.c: one signed, single-use ticket per leg; the nonce makes each
 * unique so the relay can refuse a replay. The ticket carries what the
 * policy granted the session (forwards and actions) and its limits, which
 * the agent enforces again on the device. */
#include "tickets.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"
#include "secret.h"
#include "signer.h"

/* Append each string of the JSON array text (prefix before each) to out. */
static int tickets_append(const char *json, const char *prefix, char *out, size_t outsz,
                          size_t *used)
{
	json_error_t jerr;
	json_t *arr = json_loads(json, 0, &jerr);
	int rc = 0;

	if (!json_is_array(arr)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *v = json_string_value(json_array_get(arr, i));
		int n;

		if (v == NULL || strchr(v, ',') != NULL) {
			rc = TE_ERR_INVALID;
			goto out;
		}
		n = snprintf(out + *used, outsz - *used, "%s%s%s", *used ? "," : "", prefix, v);
		if (n < 0 || (size_t)n >= outsz - *used) {
			rc = TE_ERR_TOO_LONG;
			goto out;
		}
		*used += (size_t)n;
	}
out:
	json_decref(arr);
	return rc;
}

int tickets_actions(const char *services_json, const char *actions_json, char *out,
                    size_t outsz)
{
	size_t used = 0;
	int rc;

	if (outsz == 0)
		return TE_ERR_TOO_LONG;
	out[0] = '\0';
	if ((rc = tickets_append(services_json, "forward:", out, outsz, &used)) == 0 &&
	    actions_json != NULL && actions_json[0] != '\0')
		rc = tickets_append(actions_json, "", out, outsz, &used);
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

int64_t tickets_end_at(const struct store_session *s, int64_t now)
{
	int64_t since;

	if (s->max_s <= 0)
		return 0;
	/* From the start, else from the consent (the device leg is signed just
	 * before the move to consented, so "now" is the consent time there). */
	if (s->started_at > 0)
		since = s->started_at;
	else if (strcmp(s->state, "consented") == 0)
		since = s->updated_at;
	else
		since = now;
	return since + s->max_s;
}

int tickets_request(const struct store_session *s, const char *relay, enum ticket_leg leg,
                    int64_t now, struct signmsg_ticket *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->session, sizeof(out->session), "%s", s->id);
	snprintf(out->device, sizeof(out->device), "%s", s->device);
	snprintf(out->user, sizeof(out->user), "%s", s->user);
	snprintf(out->relay, sizeof(out->relay), "%s", relay);
	out->leg = leg;
	out->end_at = tickets_end_at(s, now);
	out->idle_s = s->idle_s;
	return tickets_actions(s->services, s->actions, out->actions, sizeof(out->actions));
}

int tickets_sign(EVP_PKEY *key, const struct signmsg_ticket *req, int64_t now, char *out,
                 size_t outsz)
{
	struct ticket t;

	if (req->leg != TICKET_LEG_DEVICE && req->leg != TICKET_LEG_CLIENT)
		return TE_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	memcpy(t.session, req->session, sizeof(t.session));
	memcpy(t.device, req->device, sizeof(t.device));
	memcpy(t.user, req->user, sizeof(t.user));
	memcpy(t.relay, req->relay, sizeof(t.relay));
	memcpy(t.actions, req->actions, sizeof(t.actions));
	t.leg = (enum ticket_leg)req->leg;
	/* The signer's clock and lifetime, and a nonce of its own (ticket_sign
	 * makes one for an empty nonce): no ticket outlives TICKET_TTL_S. */
	t.issued_at = now;
	t.expires_at = now + TICKET_TTL_S;
	t.end_at = req->end_at;
	t.idle_s = req->idle_s;
	t.conn = req->conn;   /* ticket_sign refuses one outside 0..TICKET_MAX_CONN */
	return ticket_sign(&t, key, out, outsz);
}

int tickets_issue(struct signer *sg, const struct store_session *s, const char *relay,
                  enum ticket_leg leg, int64_t now, char *out, size_t outsz)
{
	return tickets_issue_conn(sg, s, relay, leg, 0, now, out, outsz);
}

int tickets_issue_conn(struct signer *sg, const struct store_session *s, const char *relay,
                       enum ticket_leg leg, int64_t conn, int64_t now, char *out,
                       size_t outsz)
{
	struct signmsg_ticket req;
	int rc;

	if ((rc = tickets_request(s, relay, leg, now, &req)) != 0)
		return rc;
	req.conn = conn;
	return signer_ticket(sg, &req, out, outsz);
}

/* srvsession.c: session states, legal moves, timeouts and audited moves. */
#include "srvsession.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"
#include "secret.h"

static const char *const session_names[] = {
	"awaiting_consent", "consented", "active", "refused", "expired", "ended",
	"awaiting_customer",
};
#define SESSION_N_STATES (sizeof(session_names) / sizeof(session_names[0]))

const char *session_state_name(enum session_state s)
{
	if ((unsigned)s >= SESSION_N_STATES)
		return "unknown";
	return session_names[s];
}

int session_state_parse(const char *name, enum session_state *out)
{
	for (size_t i = 0; i < SESSION_N_STATES; i++) {
		if (strcmp(name, session_names[i]) == 0) {
			*out = (enum session_state)i;
			return 0;
		}
	}
	return TE_ERR_INVALID;
}

int session_state_is_final(enum session_state s)
{
	return s == SESSION_REFUSED || s == SESSION_EXPIRED || s == SESSION_ENDED;
}

int session_transition_ok(enum session_state from, enum session_state to)
{
	switch (from) {
	case SESSION_AWAITING_CUSTOMER:
		/* ended: withdrawn, or the site's remote service switched off. */
		return to == SESSION_AWAITING_CONSENT || to == SESSION_REFUSED ||
		       to == SESSION_EXPIRED || to == SESSION_ENDED;
	case SESSION_AWAITING_CONSENT:
		/* ended: the specialist withdrew the request before an answer. */
		return to == SESSION_CONSENTED || to == SESSION_REFUSED ||
		       to == SESSION_EXPIRED || to == SESSION_ENDED;
	case SESSION_CONSENTED:
		return to == SESSION_ACTIVE || to == SESSION_ENDED;
	case SESSION_ACTIVE:
		return to == SESSION_ENDED;
	default:
		return 0;
	}
}

int session_due(const struct store_session *s, int64_t now,
                const struct session_limits *lim, enum session_state *to,
                char *reason, size_t reasonsz)
{
	enum session_state st;

	if (session_state_parse(s->state, &st) != 0)
		return 0;
	switch (st) {
	case SESSION_AWAITING_CUSTOMER:
		if (now < s->customer_deadline)
			return 0;
		if (strcmp(s->customer, "notice") == 0) {
			*to = SESSION_AWAITING_CONSENT;
			snprintf(reason, reasonsz, "the customer was notified and did not refuse"
			         " within the notice window");
		} else {
			*to = SESSION_EXPIRED;
			snprintf(reason, reasonsz, "no approval from the customer by the deadline");
		}
		return 1;
	case SESSION_AWAITING_CONSENT:
		/* updated_at: when it reached the operator (after any customer step). */
		if (now < s->updated_at + lim->consent_timeout_s + SESSION_CONSENT_GRACE_S)
			return 0;
		*to = SESSION_EXPIRED;
		snprintf(reason, reasonsz, "no answer from the operator within %lld s",
		         (long long)lim->consent_timeout_s);
		return 1;
	case SESSION_CONSENTED:
		if (now < s->updated_at + lim->start_timeout_s)
			return 0;
		*to = SESSION_ENDED;
		snprintf(reason, reasonsz, "no connection through the relay within %lld s",
		         (long long)lim->start_timeout_s);
		return 1;
	case SESSION_ACTIVE: {
		int64_t max_s = s->max_s > 0 ? s->max_s : lim->max_s;

		if (now < s->started_at + max_s + SESSION_END_GRACE_S)
			return 0;
		*to = SESSION_ENDED;
		snprintf(reason, reasonsz, "maximum session duration of %lld s reached",
		         (long long)max_s);
		return 1;
	}
	default:
		return 0;
	}
}

int session_id_new(char out[STORE_SESSION_ID_BYTES])
{
	uint8_t raw[16];
	int rc;

	if ((rc = secret_random(raw, sizeof(raw))) != 0)
		return rc;
	return hex_encode(raw, sizeof(raw), out, STORE_SESSION_ID_BYTES);
}

static char *session_detail(const struct store_session *s, enum session_state to,
                            const char *reason, const char *relay)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "session", s->id,
	                      "device", s->device, "from", s->state,
	                      "to", session_state_name(to), "reason", reason ? reason : "");
	char *text;

	if (o == NULL)
		return NULL;
	if (relay != NULL)
		json_object_set_new(o, "relay", json_string(relay));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

int session_move(struct store *st, const struct store_session *s,
                 enum session_state to, const char *reason, const char *relay,
                 const char *actor, int64_t now)
{
	struct store_audit_entry audit;
	enum session_state from;
	char action[48];
	char *detail = NULL;
	int rc;

	if (session_state_parse(s->state, &from) != 0 || !session_transition_ok(from, to))
		return TE_ERR_INVALID;
	if (session_state_is_final(to) && (reason == NULL || reason[0] == '\0'))
		return TE_ERR_INVALID;
	if ((detail = session_detail(s, to, reason, relay)) == NULL)
		return TE_ERR_NOMEM;
	snprintf(action, sizeof(action), "session_%s", session_state_name(to));
	audit.actor = actor;
	audit.action = action;
	audit.detail = detail;
	rc = store_session_set_state(st, s->id, s->state, session_state_name(to),
	                             session_state_is_final(to) ? reason : "",
	                             relay, now, &audit);
	free(detail);
	return rc;
}

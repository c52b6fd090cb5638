/* relaymove.c: moving a consented session off a relay its leg could not
 * use (relaymove.h). */
#include "relaymove.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "log.h"
#include "relayhealth.h"
#include "relaypick.h"

static int relaymove_current(struct server *srv, const struct store_session *s,
                             struct store_relay *out)
{
	return store_relay_get(srv->store, s->relay, out) == 0 ? 0 : TE_ERR_NOT_FOUND;
}

/* One compare-and-set attempt; TE_ERR_MISMATCH when s changed meanwhile. */
static int relaymove_once(struct server *srv, struct store_session *s, const char *failed,
                          const char *actor, const char *leg, const char *why,
                          struct store_relay *out)
{
	struct store_audit_entry audit;
	struct store_relay to;
	json_t *o;
	char *detail;
	int rc;

	if ((rc = relaypick_choose(srv->store, srv->health, &srv->relay_cursor, failed, &to)) != 0)
		return rc;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "session", s->id, "from", failed,
	              "to", to.name, "leg", leg, "reason", why, "move", s->relay_moves + 1);
	detail = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (detail == NULL)
		return TE_ERR_NOMEM;
	audit.actor = actor;
	audit.action = "session_relay_moved";
	audit.detail = detail;
	rc = store_session_move_relay(srv->store, s->id, failed, to.name, RELAYMOVE_MAX,
	                              server_now(), &audit);
	free(detail);
	if (rc != 0)
		return rc;
	log_warn("session %s: moved from relay %s to %s: the %s leg could not use it (%s)",
	         s->id, failed, to.name, leg, why);
	snprintf(s->relay, sizeof(s->relay), "%s", to.name);
	s->relay_moves++;
	s->client_ticket = 0;
	*out = to;
	return 0;
}

int relaymove_session(struct server *srv, struct store_session *s, const char *failed,
                      const char *actor, const char *leg, const char *why,
                      struct store_relay *out)
{
	int rc = TE_ERR_MISMATCH;

	/* A concurrent report can win the compare-and-set; the second look
	 * then finds the session moved and answers with its relay. */
	for (int tries = 0; tries < 2 && rc == TE_ERR_MISMATCH; tries++) {
		if (tries > 0 && store_session_get(srv->store, s->id, s) != 0)
			return TE_ERR_NOT_FOUND;
		if (strcmp(s->state, "consented") != 0)
			return TE_ERR_INVALID;
		if (strcmp(s->relay, failed) != 0)
			return relaymove_current(srv, s, out);
		if (s->relay_moves >= RELAYMOVE_MAX)
			return TE_ERR_DENIED;
		/* The report is a hint to look now, not a verdict for others. */
		if (srv->health != NULL)
			relayhealth_check_now(srv->health);
		rc = relaymove_once(srv, s, failed, actor, leg, why, out);
	}
	return rc;
}

void relaymove_http_error(struct http_req *r, const struct store_session *s, int rc)
{
	switch (rc) {
	case TE_ERR_INVALID:
		/* An active session's first connection met on its relay; a visit's
		 * later connection does not take the others elsewhere. */
		if (strcmp(s->state, "active") == 0)
			http_error(r, 409, "bad_state", "session %s is active on relay %s: only a"
			           " consented session moves to another relay; if %s is gone,"
			           " request a new session", s->id, s->relay, s->relay);
		else
			http_error(r, 409, "bad_state", "session %s is %s; only a consented session"
			           " moves to another relay", s->id, s->state);
		break;
	case TE_ERR_DENIED:
		http_error(r, 409, "relay_moves", "session %s has moved relays %d times already;"
		           " request a new session", s->id, s->relay_moves);
		break;
	case TE_ERR_NOT_FOUND:
		http_error(r, 503, "no_relay", "relay %s failed and no other relay is registered;"
		           " an administrator must add one", s->relay);
		break;
	case TE_ERR_IO:
		http_error(r, 503, "no_relay", "relay %s failed and no other relay is reachable"
		           " right now; try again shortly", s->relay);
		break;
	default:
		http_error(r, 503, "internal", "could not move session %s to another relay (%s)",
		           s->id, te_strerror(rc));
	}
}

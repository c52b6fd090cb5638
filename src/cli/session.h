/* session.h: `tether session request|status|wait|end`, and the same steps
 * for ssh/forward. */
#ifndef TETHER_CLI_SESSION_H
#define TETHER_CLI_SESSION_H

#include <signal.h>
#include <stddef.h>

#include "api.h"
#include "cliout.h"

#define SESSION_POLL_INTERVAL_S 1
/* How long one GET of a session's state may be held by the server while
 * nothing changes (the server caps it at 25 s). */
#define SESSION_WAIT_HOLD_S 5
/* `session wait` gives up after this unless --timeout says otherwise; the
 * server itself expires a request after the consent timeout. */
#define SESSION_WAIT_DEFAULT_S  (CONSENT_TIMEOUT_S + 60)

int session_main(const struct cli *cli, int argc, char **argv);

/* What a session request asks for. services (forwards) and actions
 * ("shell", "files:read", "files:write", "diag:NAME", "patient_records";
 * docs/access-control.md) may be empty: the field is then left out. */
struct session_ask {
	const char *device;
	const char *reason;
	const char *const *services;
	size_t nservices;
	const char *const *actions;
	size_t nactions;
	int escalation;                  /* 1: ask as an escalation */
};

/* POST /api/v1/sessions; *id (malloc'd) is the new session's id; *resp (may
 * be NULL) the server's answer. Errors printed. */
int session_request(struct api *a, const struct session_ask *ask, char **id,
                    json_t **resp);

/* Poll until the session leaves awaiting_consent. 0 when consented or
 * active; TE_ERR_DENIED when refused, expired or ended (the reason printed);
 * TE_ERR_TIMEOUT after timeout_s; TE_ERR_IO when *stop became non-zero.
 * *last (may be NULL) gets the last session object seen. */
int session_wait(struct api *a, const char *id, int timeout_s,
                 volatile sig_atomic_t *stop, json_t **last);

/* Say on stderr what the session waits for, from its object s (a request's
 * answer or a status): the customer (approval, or a notice's deadline) or
 * the operator at device. */
void session_say_waiting(const json_t *s, const char *id, const char *device);

/* After a connection closed: read the session up to tries times, a second
 * apart, until it is final; then print why it ended (the server's
 * end_reason, sanitised: operator, site switched off, limit, revoked...).
 * 1 when it was final (and said so), 0 otherwise. */
int session_ended_why(struct api *a, const char *id, int tries);

/* POST /api/v1/sessions/ID/end. Errors printed. */
int session_end(struct api *a, const char *id, json_t **resp);

#endif

/* consent.h: the operator's consent, through a local UNIX socket.
 *
 * Protocol (docs/protocol.md "Consent socket"): one request line per
 * connection, at most MAX_CONSENT_LINE_BYTES: LIST, ACCEPT ID, DENY ID,
 * END ID, STATUS (the active sessions), WATCH (the connection stays open
 * and gets one JSON line per change, for the device's session indicator;
 * at most CONSENT_MAX_WATCHERS at once). Peers are checked by SO_PEERCRED:
 * root, the agent's own uid, or a member of consent_group. */
#ifndef TETHER_CONSENT_H
#define TETHER_CONSENT_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "agentconf.h"
#include "apiq.h"
#include "bounds.h"

#define CONSENT_MAX_WATCHERS       4
#define CONSENT_WATCH_BACKLOG_BYTES (64 * 1024) /* a watcher this far behind is dropped */

enum consent_cmd {
	CONSENT_CMD_LIST = 1,
	CONSENT_CMD_ACCEPT,
	CONSENT_CMD_DENY,
	CONSENT_CMD_END,
	CONSENT_CMD_STATUS,
	CONSENT_CMD_WATCH,
};

struct consent_line {
	enum consent_cmd cmd;
	char id[MAX_NAME_BYTES];   /* empty for LIST, STATUS, WATCH */
};

/* Parse one request line (with or without its trailing "\n" or "\r\n").
 * Pure: no I/O, bounded by MAX_CONSENT_LINE_BYTES. Returns 0,
 * TE_ERR_TOO_LONG, or TE_ERR_INVALID for anything else. */
int consent_parse_line(const char *buf, size_t len, struct consent_line *out);
/* Is this a well-formed session id: 1..MAX_NAME_BYTES-1 of [A-Za-z0-9._-]? */
int consent_id_ok(const char *id);

/* A session_request event from the server. */
struct consent_event {
	char session[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	char region[MAX_NAME_BYTES];
	char reason[MAX_REASON_BYTES];
	long level;
	char services[MAX_SERVICES][MAX_NAME_BYTES];
	size_t nservices;
	char actions[MAX_ACTIONS_BYTES]; /* "shell,files:read", "" when none sent */
	long timeout_s;            /* 0 when the server sent none */
};

/* Fill ev from a JSON event text; TE_ERR_INVALID when fields are missing. */
int consent_event_parse(const char *json, size_t len, struct consent_event *ev);

struct consent;

/* Serve the consent socket listen_fd (made by the monitor with
 * consent_socket_open), or, when it is -1, create it here. Consent answers
 * and end reports go through api; shell recordings through upq (NULL: api),
 * so that a recording's chunk never holds up an answer. */
int consent_new(struct event_base *base, const struct agent_conf *conf,
                struct apiq *api, struct apiq *upq, EVP_PKEY *ticket_pub, int listen_fd,
                struct consent **out);
/* Create the listening socket: unlink a stale one, then 0660 and
 * consent_group, or 0600 when there is no group. */
int consent_socket_open(const struct agent_conf *conf, int *out);
/* Stop all workers (SIGTERM) and close the socket. A session with a
 * tunnel is ended "agent stopped": audited, and its end report kept and
 * sent (consent_ending counts those still in flight). */
void consent_shutdown(struct consent *c);
size_t consent_ending(const struct consent *c);
/* At start: each session state_dir/live-sessions still lists (an earlier
 * run that did not end it) is audited and reported ended, "agent
 * restarted" (sessrec.h). */
void consent_recover(struct consent *c);
/* fn for the id of each session the agent holds, in any state (the ping's
 * "sessions", which the server reconciles against). */
void consent_each_id(const struct consent *c, void (*fn)(const char *id, void *arg),
                     void *arg);
/* 1 when an answer to an end report settles it: 2xx, or a 4xx other than
 * 408, 409 and 429 (it would never change); otherwise it is sent again. */
int consent_end_acked(int status);
void consent_free(struct consent *c);
/* The maintenance queue's requests for the operator (actrun.h), answered
 * on the same socket with ACCEPT ID / DENY ID of the activity's id. */
struct consent_activity_hooks {
	/* 0 when id was waiting for the operator (now answered), else
	 * TE_ERR_NOT_FOUND. */
	int (*answer)(void *arg, const char *who, const char *id, int accept);
	/* The request waiting for the operator as an object for LIST and
	 * WATCH ({"event":"activity_request",...}), or NULL. */
	json_t *(*pending)(void *arg);
	void *arg;
};
void consent_set_activity_hooks(struct consent *c, const struct consent_activity_hooks *h);
/* Tell every `consent watch` o (stolen): what the device does that the
 * operator should see, such as a maintenance activity (actrun.h). */
void consent_announce(struct consent *c, json_t *o);
/* From the ping loop. A request already known is not asked again. */
void consent_on_request(struct consent *c, const struct consent_event *ev);
void consent_on_session_end(struct consent *c, const char *session,
                            const char *reason);
/* A worker exited (from the SIGCHLD handler after waitpid). */
void consent_on_worker_exit(struct consent *c, pid_t pid, int status);
/* Number of workers still running (for a clean shutdown). */
size_t consent_workers(const struct consent *c);
/* SIGKILL and reap every worker still running (end of a bounded shutdown). */
void consent_kill_workers(struct consent *c);

/* The reason a worker's exit status gives for the session's end
 * ("idle timeout", "maximum duration reached", else "tunnel closed"). */
const char *consent_worker_end_reason(int status);

/* Client side: `tether-agent consent list|status|watch|accept ID|deny ID|end ID`. */
int consent_client(const struct agent_conf *conf, const char *verb,
                   const char *id);

#endif

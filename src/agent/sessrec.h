/* sessrec.h: the agent's durable session records in state_dir.
 *
 * live-sessions: the sessions with a running tunnel, one id a line,
 * rewritten whenever one starts or goes. A network part that starts and
 * finds ids there was not stopped cleanly (a crash, a SIGKILL): it audits
 * each as ended "agent restarted" and reports it to the server.
 *
 * session-ends: the end reports the server has not acknowledged yet, one
 * "ID REASON" a line. A report is added before it is sent and removed once
 * the server answers 2xx (or a 4xx that will never change), so an end
 * survives an outage of the server and a restart of the agent; the ping
 * carries the file's reports until one is answered 200.
 *
 * Both are written whole and atomically (a temporary file, fsync, rename,
 * fsync of the folder), 0600, by the network part only. Their parser
 * (sessrec_parse) is bounded and fuzzed: a file it cannot read counts as
 * empty, with a log line, never as a reason to stop. */
#ifndef TETHER_SESSREC_H
#define TETHER_SESSREC_H

#include <stddef.h>

#include "agentconf.h"
#include "bounds.h"

#define SESSREC_LIVE_FILE "live-sessions"
#define SESSREC_ENDS_FILE "session-ends"
#define SESSREC_MAX 32                 /* entries kept in one file */
#define SESSREC_FILE_MAX_BYTES (SESSREC_MAX * (MAX_NAME_BYTES + MAX_REASON_BYTES + 2))
/* The reasons the agent gives for sessions it could not end itself. */
#define SESSREC_REASON_RESTARTED "agent restarted"
#define SESSREC_REASON_STOPPED   "agent stopped"

struct sessrec {
	char id[MAX_NAME_BYTES];
	char reason[MAX_REASON_BYTES];     /* "" in live-sessions */
};

/* Parse the lines "ID" or "ID REASON" of buf (len bytes, at most
 * SESSREC_FILE_MAX_BYTES): ids as consent_id_ok, reasons displayable text.
 * Bad lines are skipped and counted in *bad; at most max entries (later
 * ones count as bad). Pure. */
int sessrec_parse(const char *buf, size_t len, struct sessrec *out, size_t max,
                  size_t *n, size_t *bad);
/* Read state_dir/name; a missing file is no entries. */
int sessrec_load(const struct agent_conf *conf, const char *name, struct sessrec *out,
                 size_t max, size_t *n);
/* Replace state_dir/name with these n entries, atomically and durably. */
int sessrec_store(const struct agent_conf *conf, const char *name,
                  const struct sessrec *r, size_t n);
/* Add (or replace the reason of) one end report / remove one. */
int sessrec_end_add(const struct agent_conf *conf, const char *id, const char *reason);
int sessrec_end_done(const struct agent_conf *conf, const char *id);

#endif

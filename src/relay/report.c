/* report.c: a bounded queue of JSON bodies drained through one httpc handle,
 * each first written to the spool and removed from it once acknowledged.
 *
 * httpc allows one request in flight per handle, so the queue is sent in
 * order, one at a time. Sending is always started from a timer callback,
 * never from inside another callback, so that an httpc that calls back early
 * cannot recurse into us. */
#include "report.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <jansson.h>

#include "bounds.h"
#include "checkpoint.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "ticket.h"

#include <openssl/rand.h>

#define REPORT_BACKOFF_MAX_S 16

struct relay_report {
	struct event_base *base;
	struct httpc *http;               /* NULL when reporting is disabled */
	struct event *kick;               /* timer that sends the head of the queue */
	char *items[RELAY_REPORT_QUEUE_MAX];
	uint64_t spooled[RELAY_REPORT_QUEUE_MAX];  /* spool id of items[i]; 0: none */
	struct spool *spool;              /* NULL: reports in memory only */
	size_t head;
	size_t count;
	int in_flight;                    /* items[head] is being sent */
	int attempts;                     /* failed tries of items[head] */
	char *audit_path;                 /* for log lines */
	int audit_fd;                     /* read-only; -1: no audit heads in reports */
	struct relay_audit_head audit_open;
	EVP_PKEY *cp_pub;                 /* NULL: checkpoints not kept */
	char *cp_path;                    /* for log lines */
	int cp_fd;                        /* the kept checkpoint, opened before the drop */
	struct checkpoint cp_refused;     /* the last one refused, audited once */
	void (*cp_audit)(void *arg, const char *action, json_t *detail);
	void *cp_arg;
};

static char **report_slot(struct relay_report *r, size_t i)
{
	return &r->items[(r->head + i) % RELAY_REPORT_QUEUE_MAX];
}

static uint64_t *report_sid(struct relay_report *r, size_t i)
{
	return &r->spooled[(r->head + i) % RELAY_REPORT_QUEUE_MAX];
}

/* Remove queue entry i (0 is the head), keeping the order of the others.
 * forget: delivered (or given up on), so its spool file goes too; else it
 * stays for the next run. */
static void report_remove(struct relay_report *r, size_t i, int forget)
{
	if (i == 0)
		r->attempts = 0;  /* the retry count belongs to the head */
	if (forget && r->spool != NULL && *report_sid(r, i) != 0 &&
	    spool_remove(r->spool, *report_sid(r, i)) != 0)
		log_error("cannot remove delivered report %llu from the spool; it will be"
		          " sent again (the server takes it once)",
		          (unsigned long long)*report_sid(r, i));
	free(*report_slot(r, i));
	for (; i + 1 < r->count; i++) {
		*report_slot(r, i) = *report_slot(r, i + 1);
		*report_sid(r, i) = *report_sid(r, i + 1);
	}
	*report_slot(r, r->count - 1) = NULL;
	*report_sid(r, r->count - 1) = 0;
	r->count--;
}

static void report_schedule(struct relay_report *r, int delay_s)
{
	struct timeval tv = { delay_s, 0 };

	/* A pending timer (perhaps a retry backoff) already covers the queue. */
	if (r->http == NULL || r->count == 0 || r->in_flight ||
	    evtimer_pending(r->kick, NULL))
		return;
	evtimer_add(r->kick, &tv);
}

static void report_failed(struct relay_report *r, const char *why)
{
	int delay;

	/* Never dropped: a session's end must reach the server (a report left
	 * out keeps the session "active" there until its maximum duration). */
	if (r->attempts < 16)
		r->attempts++;
	delay = BACKOFF_MIN_S << (r->attempts - 1);
	if (delay > REPORT_BACKOFF_MAX_S || delay <= 0)
		delay = REPORT_BACKOFF_MAX_S;
	log_warn("relay event report failed (%s); retry %d in %d s", why,
	         r->attempts, delay);
	report_schedule(r, delay);
}

/* The checkpoint in a server answer: kept, or refused once (report.h). */
static void report_checkpoint(struct relay_report *r, const char *body, size_t len)
{
	json_t *o = r->cp_pub != NULL && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	const json_t *j = json_object_get(o, "checkpoint");
	struct checkpoint shown, held;
	int rc;

	if (j == NULL)
		goto out;
	if (checkpoint_from_json(j, &shown) != 0) {
		log_warn("the server's audit checkpoint is malformed; not kept");
		goto out;
	}
	rc = checkpoint_keep(r->cp_pub, r->cp_path, r->cp_fd, &shown, &held);
	if (rc == CHECKPOINT_NEWER || rc == CHECKPOINT_SAME ||
	    (shown.seq == r->cp_refused.seq && shown.time == r->cp_refused.time &&
	     strcmp(shown.hash, r->cp_refused.hash) == 0))
		goto out;
	r->cp_refused = shown;
	if (rc < 0 && rc != TE_ERR_SIGNATURE) {
		log_error("the server's audit checkpoint seq %lld cannot be kept in %s: %s",
		          (long long)shown.seq, r->cp_path, te_strerror(rc));
		goto out;
	}
	log_error("the server's audit checkpoint seq %lld is refused: %s (this relay holds seq"
	          " %lld)", (long long)shown.seq, rc == CHECKPOINT_OLDER ? "below the one held:"
	          " the server's audit trail was cut or rolled back" : rc == CHECKPOINT_FORK ?
	          "it conflicts with the one held: the trail was rewritten" :
	          rc == TE_ERR_SIGNATURE ? "its signature does not verify" : te_strerror(rc),
	          (long long)held.seq);
	if (r->cp_audit != NULL && (rc == CHECKPOINT_OLDER || rc == CHECKPOINT_FORK ||
	                            rc == TE_ERR_SIGNATURE))
		r->cp_audit(r->cp_arg, "server_checkpoint_refused", json_pack("{s:s, s:I, s:I}",
		            "reason", rc == CHECKPOINT_OLDER ? "lower_seq" : rc == CHECKPOINT_FORK ?
		            "conflict" : "bad_signature", "held_seq", (json_int_t)held.seq,
		            "shown_seq", (json_int_t)shown.seq));
out:
	json_decref(o);
}

static void report_done(int status, const char *body, size_t len,
                        const char *err, void *arg)
{
	struct relay_report *r = arg;
	char why[128];

	r->in_flight = 0;
	if (status >= 200 && status < 300) {
		report_checkpoint(r, body, len);
		report_remove(r, 0, 1);
		report_schedule(r, 0);
		return;
	}
	if (status >= 400 && status < 500) {
		/* The server understood and refused; sending it again cannot help. */
		log_error("server refused relay event report: HTTP %d %.*s", status,
		          (int)(len > 200 ? 200 : len), body != NULL ? body : "");
		report_remove(r, 0, 1);
		report_schedule(r, 0);
		return;
	}
	if (status == 0)
		snprintf(why, sizeof(why), "%s", err != NULL ? err : "no response");
	else
		snprintf(why, sizeof(why), "HTTP %d", status);
	report_failed(r, why);
}

static void report_kick(evutil_socket_t fd, short what, void *arg)
{
	struct relay_report *r = arg;
	int rc;

	if (r->in_flight || r->count == 0)
		return;
	r->in_flight = 1;
	rc = httpc_request(r->http, "POST", RELAY_REPORT_PATH, NULL,
	                   *report_slot(r, 0), report_done, r);
	if (rc != 0) {
		r->in_flight = 0;
		report_failed(r, te_strerror(rc));
	}
}

int relay_report_new(struct event_base *base, const char *server_url,
                     SSL_CTX *ctx, struct relay_report **out)
{
	struct relay_report *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TE_ERR_NOMEM;
	r->base = base;
	r->audit_fd = -1;
	r->cp_fd = -1;
	if ((r->kick = evtimer_new(base, report_kick, r)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if (server_url != NULL && server_url[0] != '\0') {
		if ((rc = httpc_new(base, server_url, ctx, &r->http)) != 0)
			goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	relay_report_free(r);
	return rc;
}

void relay_report_free(struct relay_report *r)
{
	if (r == NULL)
		return;
	if (r->count > 0)
		log_warn("relay exiting with %zu event report(s) not delivered%s", r->count,
		         r->spool != NULL ? "; they stay in the spool for the next run" : "");
	if (r->http != NULL) {
		httpc_cancel(r->http);
		httpc_free(r->http);
	}
	while (r->count > 0)
		report_remove(r, 0, 0);
	spool_free(r->spool);
	if (r->kick != NULL)
		event_free(r->kick);
	free(r->audit_path);
	if (r->audit_fd >= 0)
		close(r->audit_fd);
	EVP_PKEY_free(r->cp_pub);
	free(r->cp_path);
	if (r->cp_fd >= 0)
		close(r->cp_fd);
	free(r);
}

int relay_report_set_checkpoint(struct relay_report *r, const char *pub_path,
                                const char *keep_path,
                                void (*audit)(void *arg, const char *action, json_t *detail),
                                void *arg)
{
	int rc;

	if (access(pub_path, F_OK) != 0) {
		log_info("no %s (a relay folder from before signed audit checkpoints): the"
		         " server's checkpoints are not kept", pub_path);
		return 0;
	}
	if ((r->cp_path = strdup(keep_path)) == NULL)
		return TE_ERR_NOMEM;
	/* Opened now, like the audit log: the relay folder stays root's after
	 * the drop. */
	if ((r->cp_fd = open(keep_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return TE_ERR_IO;
	if ((rc = ticket_key_load_public(pub_path, &r->cp_pub)) != 0)
		return rc;
	r->cp_audit = audit;
	r->cp_arg = arg;
	return 0;
}

int relay_report_set_audit(struct relay_report *r, const char *path,
                           const struct relay_audit_head *open)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return TE_ERR_NOMEM;
	/* Opened now: after the privilege drop the log may not be readable. */
	if ((fd = relay_audit_open_ro(path)) < 0) {
		free(copy);
		return TE_ERR_IO;
	}
	free(r->audit_path);
	if (r->audit_fd >= 0)
		close(r->audit_fd);
	r->audit_path = copy;
	r->audit_fd = fd;
	r->audit_open = *open;
	return 0;
}

/* The server anchors these (docs/security.md). A log we cannot read leaves
 * the fields out; the event itself still matters more. */
static void report_add_audit(const struct relay_report *r, json_t *obj)
{
	struct relay_audit_head head;
	int rc;

	if (r->audit_fd < 0)
		return;
	if ((rc = relay_audit_fd_head(r->audit_fd, &head)) != 0) {
		log_warn("relay event report without audit head: cannot read %s: %s",
		         r->audit_path, te_strerror(rc));
		return;
	}
	json_object_set_new(obj, "audit_head", json_pack("{s:I, s:s}", "seq",
	                    (json_int_t)head.seq, "hash", head.hash));
	json_object_set_new(obj, "audit_open", json_pack("{s:I, s:s}", "seq",
	                    (json_int_t)r->audit_open.seq, "hash", r->audit_open.hash));
}

size_t relay_report_pending(const struct relay_report *r)
{
	return r->count;
}

/* Append body (owned) with spool id sid to the queue. */
static void report_enqueue(struct relay_report *r, char *body, uint64_t sid)
{
	if (r->count == RELAY_REPORT_QUEUE_MAX) {
		/* Keep the newest; never touch the head while it is in flight. */
		log_error("relay event queue full (%d); dropping the oldest report",
		          RELAY_REPORT_QUEUE_MAX);
		report_remove(r, r->in_flight ? 1 : 0, 1);
	}
	*report_slot(r, r->count) = body;
	*report_sid(r, r->count) = sid;
	r->count++;
	report_schedule(r, 0);
}

static int report_load_one(void *arg, uint64_t id, char *body)
{
	report_enqueue(arg, body, id);
	return 0;
}

int relay_report_set_spool(struct relay_report *r, const char *spool_path,
                           const char *owner)
{
	int rc;

	if (r->http == NULL)
		return 0;   /* nothing is sent, so nothing waits */
	if ((rc = spool_open(spool_path, owner, &r->spool)) != 0)
		return rc;
	if ((rc = spool_load(r->spool, report_load_one, r)) != 0)
		return rc;
	if (r->count > 0)
		log_info("%zu event report(s) from an earlier run in %s: sending them first",
		         r->count, spool_path);
	return 0;
}

int relay_report_event(struct relay_report *r, const char *session,
                       const char *event, uint64_t bytes_device_to_client,
                       uint64_t bytes_client_to_device, const char *reason)
{
	return relay_report_conn_event(r, session, 0, event, bytes_device_to_client,
	                               bytes_client_to_device, reason);
}

int relay_report_conn_event(struct relay_report *r, const char *session, int64_t conn,
                            const char *event, uint64_t bytes_device_to_client,
                            uint64_t bytes_client_to_device, const char *reason)
{
	unsigned char raw[RELAY_REPORT_ID_BYTES];
	char id[2 * RELAY_REPORT_ID_BYTES + 1];
	uint64_t sid = 0;
	json_t *obj;
	char *body;
	int rc;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return TE_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	obj = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", id, "session", session,
	                "event", event,
	                "bytes_device_to_client", (json_int_t)bytes_device_to_client,
	                "bytes_client_to_device", (json_int_t)bytes_client_to_device,
	                "reason", reason != NULL ? reason : "");
	if (obj == NULL)
		return TE_ERR_NOMEM;
	if (conn > 0)       /* a visit's later connection (docs/protocol.md) */
		json_object_set_new(obj, "conn", json_integer(conn));
	report_add_audit(r, obj);
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (body == NULL)
		return TE_ERR_NOMEM;
	if (r->http == NULL) {
		log_info("relay event (not reported, no server configured): %s", body);
		free(body);
		return 0;
	}
	/* On disk first: a crash or restart from here on loses nothing. A spool
	 * that cannot be written (disk full) still leaves the report in memory. */
	if (r->spool != NULL && (rc = spool_put(r->spool, body, strlen(body), &sid)) != 0)
		log_error("cannot spool the %s report of session %s (%s): it is kept in"
		          " memory only", event, session, te_strerror(rc));
	report_enqueue(r, body, sid);
	return 0;
}

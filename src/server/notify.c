/* notify.c: the notifications outbox: queueing (any process that has the
 * store), and the running server's deliverer, which takes the pending
 * notification due first, offers it to each configured way (webhook, then
 * command) that has not accepted it yet, and records the outcome with its
 * audit record: delivered, failed after notify.max_attempts, or pending
 * again after an exponential backoff with jitter. One attempt is in flight
 * at a time; a 1 s timer (kicked by notify_enqueue) finds the next one, so
 * rows queued by other processes (`tether-server notify test`) go out too. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "notify_send.h"
#include "secret.h"
#include "server.h"

#define NOTIFY_POLL_S          1
#define NOTIFY_MIN_SECRET_BYTES 16
#define NOTIFY_ACTOR           "server"

struct notifier {
	struct server *srv;
	struct event *tick;               /* NOTIFY_POLL_S, persistent */
	struct notify_hook *hook;         /* NULL: no webhook configured */
	struct notify_cmd *cmd;           /* NULL: no command configured */
	unsigned char secret[NOTIFY_MAX_SECRET_BYTES];
	size_t secret_len;
	int want;                         /* STORE_NOTIFY_VIA_* configured */
	struct store_notification *cur;   /* the attempt in flight, or NULL */
	int done;                         /* ways that accepted cur so far */
	int tried;                        /* ways offered cur in this attempt */
	char err[NOTIFY_ERROR_BYTES];     /* why this attempt failed */
};

json_t *notify_body(int64_t id, const char *event, const char *site,
                    int64_t created_at, const json_t *payload)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)id, "event", event,
	                      "site", site, "created_at", (json_int_t)created_at);
	const char *k;
	json_t *v;

	if (o == NULL)
		return NULL;
	if (payload != NULL && json_is_object(payload)) {
		json_object_foreach((json_t *)payload, k, v) {
			if (json_object_get(o, k) != NULL)
				continue;
			if (json_object_set(o, k, v) != 0) {
				json_decref(o);
				return NULL;
			}
		}
	}
	return o;
}

int notify_sign(const unsigned char *key, size_t keylen, int64_t timestamp,
                const char *body, size_t bodylen, char out[NOTIFY_SIG_HEX_BYTES])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char ts[32];
	EVP_MAC *alg = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t n = 0;
	int rc = TE_ERR_CRYPTO, tl;

	out[0] = '\0';
	tl = snprintf(ts, sizeof(ts), "%lld.", (long long)timestamp);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(alg)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)tl) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, bodylen) != 1 ||
	    EVP_MAC_final(ctx, mac, &n, sizeof(mac)) != 1 || n != 32 ||
	    hex_encode(mac, n, out, NOTIFY_SIG_HEX_BYTES) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
	return rc;
}

long notify_backoff_s(long base_s, long max_s, int attempts, uint32_t rnd)
{
	long d = base_s < 1 ? 1 : base_s, jitter;

	if (max_s < d)
		max_s = d;
	for (int i = 1; i < attempts && d < max_s; i++)
		d = d > max_s / 2 ? max_s : d * 2;
	if (d > max_s)
		d = max_s;
	jitter = d / 4;
	if (jitter > 0)
		d = d - jitter + (long)(rnd % (uint32_t)(jitter + 1));
	return d < 1 ? 1 : d;
}

/* 1 when event is a short word of [a-z0-9_.-]: it goes into an HTTP
 * header and an environment variable as is. */
static int notify_event_ok(const char *event)
{
	size_t n = strlen(event);

	if (n == 0 || n >= NOTIFY_EVENT_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = event[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* What store_notify_add's body callback needs. */
struct notify_add {
	const char *event;
	const char *site;
	const json_t *payload;
};

static char *notify_add_body(int64_t id, int64_t created_at, void *arg)
{
	const struct notify_add *a = arg;

	return jbody_dump(notify_body(id, a->event, a->site, created_at, a->payload));
}

int notify_queue(struct store *st, const char *event, const char *site,
                 json_t *payload, int64_t *id)
{
	struct notify_add a = { event, site != NULL ? site : "", payload };
	int rc;

	*id = 0;
	/* A NULL payload is most likely a json_pack that failed: refused rather
	 * than sent without its details. */
	if (event == NULL || !notify_event_ok(event) ||
	    (a.site[0] != '\0' && !jbody_name_ok(a.site)) || !json_is_object(payload))
		rc = TE_ERR_INVALID;
	else
		rc = store_notify_add(st, event, a.site, server_now(), notify_add_body, &a, id);
	json_decref(payload);
	return rc;
}

int notify_enqueue(struct server *srv, const char *event, const char *site, json_t *payload)
{
	int64_t id = 0;
	int rc;

	if ((rc = notify_queue(srv->store, event, site, payload, &id)) != 0) {
		log_error("notify: could not queue %s for site %s: %s", event ? event : "(none)",
		          site != NULL && site[0] != '\0' ? site : "-", te_strerror(rc));
		return rc;
	}
	log_info("notify: queued %s #%lld", event, (long long)id);
	if (srv->notify != NULL && srv->notify->tick != NULL)
		event_active(srv->notify->tick, EV_TIMEOUT, 0);
	return 0;
}

/* ---- the deliverer ---- */

static void notify_next_way(struct notifier *n);

/* ["webhook"?, "command"?] for the ways in the set. */
static json_t *notify_via_json(int ways)
{
	json_t *a = json_array();

	if (a != NULL && (ways & STORE_NOTIFY_VIA_WEBHOOK))
		json_array_append_new(a, json_string("webhook"));
	if (a != NULL && (ways & STORE_NOTIFY_VIA_COMMAND))
		json_array_append_new(a, json_string("command"));
	return a;
}

/* Record the attempt's outcome (and audit it when final), then look for
 * the next notification. */
static void notify_finish(struct notifier *n)
{
	struct store_notification *cur = n->cur;
	const struct srvconf_notify *cfg = &n->srv->cfg.notify;
	struct store_audit_entry audit = { NOTIFY_ACTOR, NULL, NULL };
	int64_t now = server_now(), next_at = now;
	int attempts = cur->attempts + 1, rc;
	const char *state;
	char *detail = NULL;
	uint32_t rnd = 0;

	if ((n->done & n->want) == n->want) {
		state = "delivered";
		audit.action = "notify_delivered";
		detail = jbody_dump(json_pack("{s:I, s:s, s:s, s:i, s:o}", "id",
		                    (json_int_t)cur->id, "event", cur->event, "site", cur->site,
		                    "attempts", attempts, "via", notify_via_json(n->want)));
		n->err[0] = '\0';
	} else if (attempts >= cfg->max_attempts) {
		state = "failed";
		audit.action = "notify_failed";
		detail = jbody_dump(json_pack("{s:I, s:s, s:s, s:i, s:s}", "id",
		                    (json_int_t)cur->id, "event", cur->event, "site", cur->site,
		                    "attempts", attempts, "error", n->err));
	} else {
		state = "pending";
		(void)secret_random(&rnd, sizeof(rnd));
		next_at = now + notify_backoff_s(cfg->backoff_base_s, cfg->backoff_max_s,
		                                 attempts, rnd);
	}
	audit.detail = detail != NULL ? detail : "{}";
	rc = store_notify_attempted(n->srv->store, cur->id, state, attempts, n->done, now,
	                            next_at, n->err, audit.action != NULL ? &audit : NULL);
	if (rc != 0)
		log_error("notify: could not record attempt %d of #%lld: %s", attempts,
		          (long long)cur->id, te_strerror(rc));
	else if (strcmp(state, "pending") == 0)
		log_warn("notify: #%lld %s attempt %d failed: %s; next try in %lld s",
		         (long long)cur->id, cur->event, attempts, n->err,
		         (long long)(next_at - now));
	else
		log_info("notify: #%lld %s %s after %d attempt%s%s%s", (long long)cur->id,
		         cur->event, state, attempts, attempts == 1 ? "" : "s",
		         n->err[0] ? ": " : "", n->err);
	free(detail);
	free(n->cur);
	n->cur = NULL;
	/* Drain the queue without waiting for the next tick. */
	if (rc == 0 && strcmp(state, "pending") != 0)
		event_active(n->tick, EV_TIMEOUT, 0);
}

static void notify_way_done(int ok, const char *err, void *arg, int way)
{
	struct notifier *n = arg;

	if (n->cur == NULL)
		return;
	if (ok)
		n->done |= way;
	else if (n->err[0] == '\0')
		snprintf(n->err, sizeof(n->err), "%s", err != NULL ? err : "failed");
	notify_next_way(n);
}

static void notify_hook_cb(int ok, const char *err, void *arg)
{
	notify_way_done(ok, err, arg, STORE_NOTIFY_VIA_WEBHOOK);
}

static void notify_cmd_cb(int ok, const char *err, void *arg)
{
	notify_way_done(ok, err, arg, STORE_NOTIFY_VIA_COMMAND);
}

/* Start the next way that has not accepted cur yet; finish when none is
 * left. A way that cannot even start counts as this attempt's failure. */
static void notify_next_way(struct notifier *n)
{
	struct store_notification *cur = n->cur;
	char sig[NOTIFY_SIG_HEX_BYTES];
	int64_t ts = server_now();
	int rc;

	if ((n->want & STORE_NOTIFY_VIA_WEBHOOK) && !(n->done & STORE_NOTIFY_VIA_WEBHOOK) &&
	    !(n->tried & STORE_NOTIFY_VIA_WEBHOOK)) {
		n->tried |= STORE_NOTIFY_VIA_WEBHOOK;
		rc = notify_sign(n->secret, n->secret_len, ts, cur->body, strlen(cur->body), sig);
		if (rc == 0)
			rc = notify_hook_post(n->hook, cur->event, cur->id, ts, sig, cur->body,
			                      notify_hook_cb, n);
		if (rc == 0)
			return;
		if (n->err[0] == '\0')
			snprintf(n->err, sizeof(n->err), "webhook request not sent: %s", te_strerror(rc));
	}
	if ((n->want & STORE_NOTIFY_VIA_COMMAND) && !(n->done & STORE_NOTIFY_VIA_COMMAND) &&
	    !(n->tried & STORE_NOTIFY_VIA_COMMAND)) {
		n->tried |= STORE_NOTIFY_VIA_COMMAND;
		rc = notify_cmd_run(n->cmd, cur->event, cur->id, cur->body, notify_cmd_cb, n);
		if (rc == 0)
			return;
		if (n->err[0] == '\0')
			snprintf(n->err, sizeof(n->err), "command not started: %s", te_strerror(rc));
	}
	notify_finish(n);
}

static void notify_tick(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	int rc;

	if (n->cur != NULL || n->want == 0)
		return;
	if ((n->cur = malloc(sizeof(*n->cur))) == NULL)
		return;
	if ((rc = store_notify_due(n->srv->store, server_now(), n->cur)) != 0) {
		if (rc != TE_ERR_NOT_FOUND)
			log_error("notify: cannot read the outbox: %s", te_strerror(rc));
		free(n->cur);
		n->cur = NULL;
		return;
	}
	n->done = n->cur->done_via & n->want;
	n->tried = 0;
	n->err[0] = '\0';
	notify_next_way(n);
}

/* Read the HMAC key: a regular file that only its owner can read, of at
 * least NOTIFY_MIN_SECRET_BYTES once one trailing newline is dropped. */
static int notify_secret_load(struct notifier *n, const char *path, char *errbuf,
                              size_t errsz)
{
	struct stat sb;
	ssize_t got;
	size_t len = 0;
	int fd, rc = TE_ERR_INVALID;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(errbuf, errsz, "notify.webhook_secret_file %s: %s", path, strerror(errno));
		return TE_ERR_NOT_FOUND;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(errbuf, errsz, "notify.webhook_secret_file %s is not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(errbuf, errsz, "notify.webhook_secret_file %s can be read by group or "
		         "others (mode %03o); chmod 600 it", path, (unsigned)(sb.st_mode & 0777));
		rc = TE_ERR_DENIED;
		goto out;
	}
	while (len < sizeof(n->secret) &&
	       (got = read(fd, n->secret + len, sizeof(n->secret) - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(errbuf, errsz, "notify.webhook_secret_file %s: %s", path, strerror(errno));
			rc = TE_ERR_IO;
			goto out;
		}
		len += (size_t)got;
	}
	if (len == sizeof(n->secret)) {
		snprintf(errbuf, errsz, "notify.webhook_secret_file %s is longer than %d bytes",
		         path, NOTIFY_MAX_SECRET_BYTES - 1);
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	if (len > 0 && n->secret[len - 1] == '\n')
		len--;
	if (len > 0 && n->secret[len - 1] == '\r')
		len--;
	if (len < NOTIFY_MIN_SECRET_BYTES) {
		snprintf(errbuf, errsz, "notify.webhook_secret_file %s holds fewer than %d bytes "
		         "(make one with: openssl rand -hex 32 > FILE)", path, NOTIFY_MIN_SECRET_BYTES);
		goto out;
	}
	n->secret_len = len;
	rc = 0;
out:
	if (rc != 0)
		secret_wipe(n->secret, sizeof(n->secret));
	close(fd);
	return rc;
}

static int notify_setup(struct notifier *n, char *errbuf, size_t errsz)
{
	const struct srvconf_notify *cfg = &n->srv->cfg.notify;
	int rc;

	if (cfg->webhook_url[0] != '\0') {
		if ((rc = notify_secret_load(n, cfg->webhook_secret_file, errbuf, errsz)) != 0 ||
		    (rc = notify_hook_new(n->srv->base, cfg->webhook_url, cfg->webhook_ca, &n->hook,
		                          errbuf, errsz)) != 0)
			return rc;
		n->want |= STORE_NOTIFY_VIA_WEBHOOK;
	}
	if (cfg->command[0] != '\0') {
		if (access(cfg->command, X_OK) != 0) {
			snprintf(errbuf, errsz, "notify.command %s: %s", cfg->command, strerror(errno));
			return TE_ERR_NOT_FOUND;
		}
		if ((rc = notify_cmd_new(n->srv->base, cfg->command, &n->cmd)) != 0) {
			snprintf(errbuf, errsz, "notify.command: %s", te_strerror(rc));
			return rc;
		}
		n->want |= STORE_NOTIFY_VIA_COMMAND;
	}
	return 0;
}

int notify_start(struct server *srv)
{
	struct timeval poll = { NOTIFY_POLL_S, 0 };
	struct notifier *n;
	char errbuf[PATH_MAX + 160] = "";
	int rc;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return TE_ERR_NOMEM;
	n->srv = srv;
	srv->notify = n;
	if ((rc = notify_setup(n, errbuf, sizeof(errbuf))) != 0) {
		log_error("notify: %s", errbuf[0] ? errbuf : te_strerror(rc));
		notify_stop(srv);
		return rc;
	}
	if (n->want == 0) {
		log_warn("notify: notifications are not configured (no notify.webhook_url or "
		         "notify.command): they stay queued; see `tether-server notify list`");
		return 0;
	}
	if ((n->tick = event_new(srv->base, -1, EV_PERSIST, notify_tick, n)) == NULL) {
		notify_stop(srv);
		return TE_ERR_NOMEM;
	}
	event_add(n->tick, &poll);
	log_info("notify: delivering by %s",
	         n->want == (STORE_NOTIFY_VIA_WEBHOOK | STORE_NOTIFY_VIA_COMMAND) ?
	         "webhook and command" : n->want == STORE_NOTIFY_VIA_WEBHOOK ? "webhook" : "command");
	/* Whatever was left pending by the last run goes out now. */
	event_active(n->tick, EV_TIMEOUT, 0);
	return 0;
}

void notify_stop(struct server *srv)
{
	struct notifier *n = srv->notify;

	if (n == NULL)
		return;
	/* An attempt in flight is abandoned unrecorded: it is tried again,
	 * with the same id, at the next start. */
	notify_hook_free(n->hook);
	notify_cmd_free(n->cmd);
	if (n->tick != NULL)
		event_free(n->tick);
	free(n->cur);
	secret_wipe(n->secret, sizeof(n->secret));
	free(n);
	srv->notify = NULL;
}

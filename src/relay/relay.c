/* relay.c: the relay's lifecycle: keys and TLS contexts, the audit log, the
 * two listeners, and shutdown. Per-connection work is in leg.c and splice.c. */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "audit.h"
#include "err.h"
#include "log.h"
#include "nonce.h"
#include "relay_int.h"
#include "report.h"
#include "pki.h"
#include "tls.h"
#include <openssl/x509_vfy.h>

#define RELAY_LISTEN_BACKLOG 128
#define RELAY_START_WAIT_STEP_MS 50

int relay_audit(struct relay *r, const char *action, json_t *detail)
{
	char *text = NULL;
	int rc;

	if (detail != NULL)
		text = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	if (r->audit == NULL) {
		free(text);
		return 0;
	}
	rc = audit_log_append(r->audit, r->cfg->name, action,
	                      text != NULL ? text : "{}");
	if (rc != 0) {
		r->counts.audit_failures++;
		log_error("audit: cannot append %s record: %s", action, relay_audit_why(r));
	} else {
		r->counts.audit_appends++;
	}
	free(text);
	return rc;
}

const char *relay_audit_why(const struct relay *r)
{
	const char *why = audit_log_why(r->audit);

	return why[0] != '\0' ? why : "unknown error";
}

static void relay_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                            struct sockaddr *sa, int salen, void *arg)
{
	struct relay *r = arg;

	relay_leg_accept(r, fd, sa, salen,
	                 l == r->device_listener ? TICKET_LEG_DEVICE : TICKET_LEG_CLIENT);
}

static void relay_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct relay *r = arg;

	connlimit_accept_failed(r->limits, l);
}

/* "A.B.C.D:PORT" or "[v6]:PORT" with PORT 0..65535 (0: the kernel picks,
 * which libevent's own parser refuses). */
static int relay_parse_addr(const char *addr, struct sockaddr_storage *ss, int *sslen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(addr, ':');
	size_t hl;
	char *end;
	long port;

	if (colon == NULL || colon == addr || colon[1] == '\0')
		return TE_ERR_INVALID;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return TE_ERR_INVALID;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hl < 3 || addr[hl - 1] != ']')
			return TE_ERR_INVALID;
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return TE_ERR_INVALID;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (evutil_inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sslen = (int)sizeof(struct sockaddr_in);
		return 0;
	}
	if (evutil_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sslen = (int)sizeof(struct sockaddr_in6);
		return 0;
	}
	return TE_ERR_INVALID;
}

static int relay_listen(struct relay *r, const char *addr, const char *what,
                        struct evconnlistener **out, char *errbuf, size_t errsz)
{
	struct sockaddr_storage ss;
	int sslen = 0;

	if (relay_parse_addr(addr, &ss, &sslen) != 0) {
		snprintf(errbuf, errsz, "%s \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:17001)",
		         what, addr);
		return TE_ERR_INVALID;
	}
	*out = evconnlistener_new_bind(r->base, relay_accept_cb, r,
	                               LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                               LEV_OPT_CLOSE_ON_EXEC, RELAY_LISTEN_BACKLOG,
	                               (struct sockaddr *)&ss, sslen);
	if (*out == NULL) {
		snprintf(errbuf, errsz, "cannot listen on %s %s: %s", what, addr,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return TE_ERR_SYS;
	}
	evconnlistener_set_error_cb(*out, relay_accept_error_cb);
	return 0;
}

static int relay_port_of(struct evconnlistener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (l == NULL || getsockname(evconnlistener_get_fd(l),
	                             (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int relay_device_port(const struct relay *r)
{
	return relay_port_of(r->device_listener);
}

int relay_client_port(const struct relay *r)
{
	return relay_port_of(r->client_listener);
}

size_t relay_leg_count(const struct relay *r)
{
	return r->nlegs;
}

size_t relay_session_count(const struct relay *r)
{
	return r->nsessions;
}

uint64_t relay_pause_count(const struct relay *r)
{
	return __atomic_load_n(&r->pauses, __ATOMIC_RELAXED);
}

/* Devices may present only their leaf (openssl s_client -cert does); the
 * issuing CA that signed it is the one after our own leaf in cert. Adding it
 * to the verify store only helps build the chain: verification still has to
 * end at the self-signed root from ca, since partial chains stay off. */
static int relay_trust_own_chain(SSL_CTX *ctx)
{
	STACK_OF(X509) *chain = NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int i;

	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || store == NULL)
		return TE_ERR_CRYPTO;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(chain, i)) != 1)
			return TE_ERR_CRYPTO;
	}
	return 0;
}

/* Keys, certificates and TLS contexts. */
static int relay_load_crypto(struct relay *r, char *errbuf, size_t errsz)
{
	const struct relay_config *cfg = r->cfg;
	int rc;

	if ((rc = ticket_key_load_public(cfg->ticket_pubkey, &r->ticket_pub)) != 0) {
		snprintf(errbuf, errsz, "cannot load the ticket public key %s: %s",
		         cfg->ticket_pubkey, te_strerror(rc));
		return rc;
	}
	/* The device port demands a certificate from the deployment CA, so a
	 * stranger's certificate fails in the handshake, before any ticket. */
	if ((rc = tls_server_ctx_new(cfg->cert, cfg->key, cfg->ca,
	                             TLS_CLIENT_CERT_REQUIRED, &r->device_ctx)) != 0 ||
	    (rc = tls_server_ctx_new(cfg->cert, cfg->key, cfg->ca,
	                             TLS_CLIENT_CERT_NONE, &r->client_ctx)) != 0) {
		snprintf(errbuf, errsz, "cannot set up TLS with cert %s, key %s, ca %s: %s (%s)",
		         cfg->cert, cfg->key, cfg->ca, te_strerror(rc), tls_last_error());
		return rc;
	}
	if ((rc = relay_trust_own_chain(r->device_ctx)) != 0) {
		snprintf(errbuf, errsz, "cannot use the CA chain in %s: %s", cfg->cert,
		         tls_last_error());
		return rc;
	}
	if (cfg->server != NULL && cfg->server[0] != '\0' &&
	    ((rc = tls_client_ctx_new(cfg->ca, cfg->cert, cfg->key, &r->report_ctx)) != 0 ||
	     (rc = tls_ctx_expect_role(r->report_ctx, PKI_ROLE_SERVER)) != 0)) {
		snprintf(errbuf, errsz, "cannot set up the TLS client for %s: %s (%s)",
		         cfg->server, te_strerror(rc), tls_last_error());
		return rc;
	}
	return 0;
}

static void relay_audit_start(struct relay *r)
{
	json_t *d = json_pack("{s:s, s:s, s:i, s:i, s:I}",
	                      "device_listen", r->cfg->device_listen,
	                      "client_listen", r->cfg->client_listen,
	                      "device_port", relay_device_port(r),
	                      "client_port", relay_client_port(r),
	                      "started_at", (json_int_t)r->started_at);

	relay_audit(r, "relay_start", d);
}

static void relay_checkpoint_audit(void *arg, const char *action, json_t *detail)
{
	relay_audit(arg, action, detail);
}

/* The server's signed audit checkpoints: checkpoint.pub beside the ticket
 * key (written by `tether-server relay add`), the latest one shown kept
 * beside the audit log as AUDIT_LOG.checkpoint. */
static int relay_checkpoint_setup(struct relay *r, char *errbuf, size_t errsz)
{
	const struct relay_config *cfg = r->cfg;
	char pub[PATH_MAX], keep[PATH_MAX];
	const char *slash = strrchr(cfg->ticket_pubkey, '/');
	int n = slash == NULL ? 0 : (int)(slash - cfg->ticket_pubkey) + 1;
	int rc;

	if (snprintf(pub, sizeof(pub), "%.*scheckpoint.pub", n, cfg->ticket_pubkey) >=
	    (int)sizeof(pub) ||
	    snprintf(keep, sizeof(keep), "%s.checkpoint", cfg->audit_log) >= (int)sizeof(keep))
		rc = TE_ERR_TOO_LONG;
	else
		rc = relay_report_set_checkpoint(r->report, pub, keep, relay_checkpoint_audit, r);
	if (rc != 0)
		snprintf(errbuf, errsz, "cannot load the checkpoint key %s: %s", pub, te_strerror(rc));
	return rc;
}

/* Tickets carry whole seconds, so one issued in the second this run began
 * cannot be told from one the previous run accepted just before it stopped.
 * Opening the ports only once that second is over means no ticket issued
 * for this run (the server picks a relay that answers) carries it. Bounded:
 * at most one second, in a few sleeps. */
static void relay_wait_past_start(const struct relay *r)
{
	struct timespec ts = { 0, RELAY_START_WAIT_STEP_MS * 1000000L };
	int i;

	for (i = 0; i < 2 * (1000 / RELAY_START_WAIT_STEP_MS) &&
	     (int64_t)time(NULL) <= r->started_at; i++)
		nanosleep(&ts, NULL);
}

/* Leg limits: per address, and overall below the descriptor limit. */
static int relay_limits_new(struct relay *r)
{
	struct connlimit_conf c = {
		r->cfg->max_legs > 0 ? r->cfg->max_legs : RELAY_MAX_LEGS,
		r->cfg->max_legs_per_addr > 0 ? r->cfg->max_legs_per_addr : CONNLIMIT_MAX_PER_ADDR,
		r->cfg->max_handshakes_per_addr > 0 ? r->cfg->max_handshakes_per_addr :
		CONNLIMIT_MAX_PENDING_PER_ADDR,
	};
	int rc = connlimit_new(r->base, "relay", &c, &r->limits);

	if (rc == 0)
		log_info("relay: at most %ld legs open (%ld per address, %ld of them in "
		         "handshake)", connlimit_max_total(r->limits), c.max_per_addr,
		         c.max_pending_per_addr);
	return rc;
}

/* Undelivered event reports wait in AUDIT_LOG.reports/, made now (as root,
 * then given to the run user) so that the dropped relay can write there. */
static int relay_spool_setup(struct relay *r, char *errbuf, size_t errsz)
{
	char path[PATH_MAX];
	int n, rc;

	n = snprintf(path, sizeof(path), "%s%s", r->cfg->audit_log, RELAY_SPOOL_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(errbuf, errsz, "the audit log path %s is too long", r->cfg->audit_log);
		return TE_ERR_TOO_LONG;
	}
	if ((rc = relay_report_set_spool(r->report, path, r->cfg->user)) != 0)
		snprintf(errbuf, errsz, "cannot use the report spool %s: %s", path,
		         te_strerror(rc));
	return rc;
}

int relay_new(struct event_base *base, const struct relay_config *cfg,
              struct relay **out, char *errbuf, size_t errsz)
{
	struct relay_audit_head open_head;
	struct audit_open_report rep;
	struct relay *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(errbuf, errsz, "out of memory");
		return TE_ERR_NOMEM;
	}
	r->base = base;
	r->cfg = cfg;
	r->started_at = (int64_t)time(NULL);
	if ((rc = relay_load_crypto(r, errbuf, errsz)) != 0)
		goto out;
	/* A torn last line (power cut) is cut off and recorded; any other break
	 * keeps the relay from starting: no sessions without a trail. */
	if ((rc = audit_log_open_recover(cfg->audit_log, cfg->name, &r->audit, &rep)) != 0) {
		snprintf(errbuf, errsz, "cannot open the audit log %s: %s%s", cfg->audit_log,
		         rep.why[0] ? rep.why : te_strerror(rc), rc == TE_ERR_CHAIN ?
		         " (run \"tether-relay audit verify\" to see where)" : "");
		goto out;
	}
	/* The head as found, before this run appends: the server compares it
	 * with its anchor to see records removed while the relay was stopped. */
	if ((rc = relay_audit_file_head(cfg->audit_log, &open_head)) != 0) {
		snprintf(errbuf, errsz, "cannot read the head of the audit log %s: %s",
		         cfg->audit_log, te_strerror(rc));
		goto out;
	}
	if ((rc = relay_limits_new(r)) != 0) {
		snprintf(errbuf, errsz, "out of memory");
		goto out;
	}
	if ((rc = relay_nonces_new(RELAY_MAX_NONCES, &r->nonces)) != 0 ||
	    (rc = relay_report_new(base, cfg->server, r->report_ctx, &r->report)) != 0 ||
	    (rc = relay_report_set_audit(r->report, cfg->audit_log, &open_head)) != 0) {
		snprintf(errbuf, errsz, "cannot set up reporting to \"%s\": %s",
		         cfg->server, te_strerror(rc));
		goto out;
	}
	if ((rc = relay_spool_setup(r, errbuf, errsz)) != 0 ||
	    (rc = relay_checkpoint_setup(r, errbuf, errsz)) != 0)
		goto out;
	relay_wait_past_start(r);
	if ((rc = relay_listen(r, cfg->device_listen, "device_listen",
	                       &r->device_listener, errbuf, errsz)) != 0 ||
	    (rc = relay_listen(r, cfg->client_listen, "client_listen",
	                       &r->client_listener, errbuf, errsz)) != 0)
		goto out;
	if ((rc = relay_metrics_start(r, errbuf, errsz)) != 0)
		goto out;
	relay_audit_start(r);
	r->started = 1;
	log_info("relay %s: device port %d, client port %d", cfg->name,
	         relay_device_port(r), relay_client_port(r));
	*out = r;
	r = NULL;
	rc = 0;
out:
	relay_free(r);
	return rc;
}

void relay_note_reload(struct relay *r, const char *done, const char *why)
{
	relay_audit(r, "relay_reload", json_pack("{s:s, s:s, s:s}", "name", r->cfg->name,
	            "applied", done, "error", why));
}

void relay_free(struct relay *r)
{
	struct relay_leg *leg;

	if (r == NULL)
		return;
	if (r->device_listener != NULL)
		evconnlistener_free(r->device_listener);
	if (r->client_listener != NULL)
		evconnlistener_free(r->client_listener);
	relay_metrics_stop(r);
	/* End sessions first so that each gets its end record. */
	for (leg = r->legs; leg != NULL; leg = leg->next) {
		if (leg->sess != NULL)
			relay_session_end(leg->sess, r, "relay shutting down");
	}
	while (r->legs != NULL)
		relay_leg_free(r->legs, 1);
	if (r->started)
		relay_audit(r, "relay_stop", json_pack("{s:s}", "name", r->cfg->name));
	relay_report_free(r->report);
	relay_nonces_free(r->nonces);
	connlimit_free(r->limits);
	if (r->audit != NULL)
		audit_log_close(r->audit);
	SSL_CTX_free(r->device_ctx);
	SSL_CTX_free(r->client_ctx);
	SSL_CTX_free(r->report_ctx);
	EVP_PKEY_free(r->ticket_pub);
	free(r);
}

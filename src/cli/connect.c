/* connect.c: the specialist's leg of the relay tunnel, through the same
 * proxy as the API calls (api_proxy) when one applies to the relay. */
#include "connect.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "err.h"
#include "httpproxy.h"
#include "secret.h"
#include "pki.h"
#include "tls.h"
#include "visit.h"

#define CONNECT_ERRBUF_BYTES 512
/* connect_relay's answer when the relay could not be used at all. */
#define CONNECT_RELAY_DOWN 1

struct connect_target {
	const char *ticket;
	const char *name;
	const char *host;
	char port[8];
};

int connect_preamble(const char *ticket, char *out, size_t outsz)
{
	size_t i, n = strlen(ticket);
	int w;

	if (n == 0 || n > MAX_TICKET_BYTES)
		return TE_ERR_INVALID;
	for (i = 0; i < n; i++)
		if ((unsigned char)ticket[i] <= 0x20 || ticket[i] == 0x7f)
			return TE_ERR_INVALID;
	w = snprintf(out, outsz, "TETHER/1 client %s\n", ticket);
	if (w < 0 || (size_t)w >= outsz || (size_t)w > MAX_PREAMBLE_BYTES)
		return TE_ERR_TOO_LONG;
	return 0;
}

static int connect_parse(const struct cli *cli, const json_t *resp,
                         struct connect_target *t)
{
	const char *what = "getting a relay ticket";
	json_t *relay = json_object_get(resp, "relay");
	long long port;

	if (api_get_str(resp, "ticket", &t->ticket) != 0) {
		api_bad_answer(cli, what, "ticket");
		return TE_ERR_PROTOCOL;
	}
	if (!json_is_object(relay) || api_get_str(relay, "host", &t->host) != 0 ||
	    api_get_int(relay, "client_port", &port) != 0 || port < 1 ||
	    port > 65535) {
		api_bad_answer(cli, what, "relay");
		return TE_ERR_PROTOCOL;
	}
	if (api_get_str(relay, "name", &t->name) != 0)
		t->name = t->host;
	snprintf(t->port, sizeof(t->port), "%lld", port);
	return 0;
}

/* Why the relay could not be reached, with advice fitting the path. */
static void connect_unreachable(const struct cli *cli,
                                const struct connect_target *t,
                                const char *proxy, const char *err, int retry)
{
	char desc[HTTPPROXY_HOST_BYTES + 16] = "?";

	if (retry) {
		/* Not the last word: the server moves the session (relaymove.h). */
		fprintf(stderr, "tether: cannot reach relay %s at %s:%s: %s; asking the "
		        "server for another relay\n", t->name, t->host, t->port, err);
		return;
	}
	if (proxy == NULL) {
		cliout_error(cli, "relay_unreachable", "cannot reach relay %s at "
		             "%s:%s: %s — the relay may be down; ask your "
		             "administrator, then start a new session", t->name,
		             t->host, t->port, err);
		return;
	}
	/* Only host:port of the proxy: its URL may hold a password. */
	httpproxy_describe(proxy, desc, sizeof(desc));
	cliout_error(cli, strstr(err, "proxy") != NULL ? "proxy_failed" :
	             "relay_unreachable", "cannot reach relay %s at %s:%s via "
	             "proxy %s: %s — the proxy must allow CONNECT to port %s; "
	             "it comes from tether login --proxy, else HTTPS_PROXY "
	             "(hosts listed in NO_PROXY are reached directly); then "
	             "start a new session", t->name, t->host, t->port, desc, err,
	             t->port);
}

/* Whole seconds left of the relay leg's deadline (at least 1). */
static int connect_deadline_left_s(const struct timespec *start)
{
	struct timespec now;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = CONNECT_RELAY_DEADLINE_S - (long)(now.tv_sec - start->tv_sec);
	return left > 0 ? (int)left : 1;
}

/* Dial the relay (through proxy unless NULL), present the ticket and read
 * its verdict, all within CONNECT_RELAY_DEADLINE_S. CONNECT_RELAY_DOWN when
 * the relay could not be used at all (no connection, not that relay, no
 * answer) and retry is set: the caller then asks for another relay, and
 * only a note is printed. A relay's refusal is always final. */
static int connect_relay(const struct cli *cli, const char *id, SSL_CTX *ctx,
                         const char *proxy, const struct connect_target *t,
                         int retry, SSL **out)
{
	char errbuf[CONNECT_ERRBUF_BYTES], line[MAX_PREAMBLE_BYTES + 1];
	char code[64] = "", *msg;
	struct timespec start;
	SSL *ssl = NULL;
	int r;

	*out = NULL;
	errbuf[0] = '\0';
	if ((r = connect_preamble(t->ticket, line, sizeof(line))) != 0) {
		api_bad_answer(cli, "getting a relay ticket", "ticket");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	r = tls_connect(ctx, t->host, t->port, proxy, CONNECT_RELAY_DEADLINE_S, &ssl,
	                errbuf, sizeof(errbuf));
	if (r != 0) {
		connect_unreachable(cli, t, proxy, errbuf[0] != '\0' ? errbuf :
		                    te_strerror(r), retry);
		r = retry ? CONNECT_RELAY_DOWN : r;
		goto out;
	}
	/* The CA check proved a relay; the name proves the one the server chose. */
	if ((r = tls_peer_check(ssl, PKI_ROLE_RELAY, t->name != t->host ? t->name : NULL)) != 0) {
		secret_wipe(line, sizeof(line));
		connect_unreachable(cli, t, proxy, "the certificate is not that relay's",
		                    retry);
		r = retry ? CONNECT_RELAY_DOWN : r;
		goto out;
	}
	r = tls_write_all(ssl, line, strlen(line));
	secret_wipe(line, sizeof(line));
	if (r == 0)
		r = tls_read_line(ssl, line, sizeof(line), connect_deadline_left_s(&start));
	if (r != 0 && retry) {
		fprintf(stderr, "tether: relay %s at %s:%s did not answer the ticket: %s; "
		        "asking the server for another relay\n", t->name, t->host,
		        t->port, te_strerror(r));
		r = CONNECT_RELAY_DOWN;
		goto out;
	}
	if (r != 0) {
		cliout_error(cli, "relay_failed", "relay %s at %s:%s did not answer "
		             "the ticket: %s", t->name, t->host, t->port,
		             te_strerror(r));
		goto out;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
		*out = ssl;
		ssl = NULL;
		goto out;
	}
	r = TE_ERR_DENIED;
	msg = line;
	if (strncmp(line, "ERR ", 4) == 0 && sscanf(line + 4, "%63s", code) == 1)
		msg = line + 4 + strlen(code) + (line[4 + strlen(code)] == ' ');
	cliout_error(cli, code[0] != '\0' ? code : "relay_refused",
	             "relay %s refused session %s: %s%s%s — start a new session "
	             "(tickets are single use and short-lived)", t->name, id,
	             code[0] != '\0' ? code : "unexpected answer",
	             msg[0] != '\0' ? ": " : "", msg);
out:
	tls_close(ssl);
	return r;
}

int connect_main(const struct cli *cli_in, int argc, char **argv)
{
	/* stdout belongs to ssh's byte stream: errors go to stderr only. */
	const struct cli quiet = { .json = 0 };
	const struct cli *cli = &quiet;
	const char *pos[1], *hostkey;
	char path[160], id[MAX_NAME_BYTES], host[MAX_NAME_BYTES];
	struct connect_target t;
	struct api *a = NULL;
	SSL_CTX *ctx = NULL;
	json_t *resp = NULL, *body = NULL;
	SSL *ssl = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL, r, moves;

	(void)cli_in;
	if (cliargs_parse("connect", argc, argv, NULL, 0, pos, 1, 1, &npos,
	                  NULL) != 0)
		return CLI_EXIT_USAGE;
	if (cliargs_check_name(pos[0]) != 0 || strlen(pos[0]) >= sizeof(id)) {
		cliout_usage("connect: '%s' is not a session id or DEVICE%s", pos[0],
		             VISIT_HOST_SUFFIX);
		return CLI_EXIT_USAGE;
	}
	/* DEVICE.tether (the ssh-config entry): the caller's open session there. */
	if (api_open(cli, 0, &a) != 0 ||
	    visit_resolve(cli, a, pos[0], id, sizeof(id), host, sizeof(host)) != 0)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/sessions/%s/connect", id);
	/* The relay's certificate comes from the same deployment CA; no client
	 * certificate, the ticket is the credential. */
	if (tls_client_ctx_new(a->st->ca, NULL, NULL, &ctx) != 0 ||
	    tls_ctx_expect_role(ctx, PKI_ROLE_RELAY) != 0) {
		cliout_error(cli, "bad_ca", "cannot use the CA file %s", a->st->ca);
		goto out;
	}
	/* A relay this leg cannot use is named in the next request, and the
	 * server moves the session (or has moved it on the device's word);
	 * the server bounds the moves too (RELAYMOVE_MAX). */
	for (moves = 0;; moves++) {
		if (api_call(a, "getting a relay ticket", "POST", path, body, &resp) != 0 ||
		    connect_parse(cli, resp, &t) != 0)
			goto out;
		/* DEVICE.tether: ssh checks the device's registered host key. */
		if (moves == 0 && host[0] != '\0' &&
		    (api_get_str(resp, "ssh_hostkey", &hostkey) != 0 ||
		     visit_known_host(cli, host, hostkey) != 0))
			goto out;
		r = connect_relay(cli, id, ctx, api_proxy(a->st->proxy, t.host), &t,
		                  moves < CONNECT_RELAY_MOVES, &ssl);
		if (r == 0)
			break;
		if (r != CONNECT_RELAY_DOWN)
			goto out;
		json_decref(body);
		body = json_pack("{s:s}", "failed_relay", t.name);
		json_decref(resp);   /* wipes the used ticket */
		resp = NULL;
		if (body == NULL) {
			cliout_error(cli, "nomem", "out of memory");
			goto out;
		}
	}
	r = tls_pump(ssl, 0, 1, NULL, NULL);
	if (r != 0) {
		cliout_error(cli, "tunnel_failed", "the tunnel through relay %s "
		             "broke: %s", t.name, te_strerror(r));
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	tls_close(ssl);
	SSL_CTX_free(ctx);
	json_decref(resp);   /* main.c's jansson allocator wipes the ticket */
	json_decref(body);
	api_free(a);
	return rc;
}

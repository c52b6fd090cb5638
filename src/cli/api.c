/* api.c: the CLI's HTTPS requests (httpc_request_sync_via with a context
 * that trusts only the deployment CA, through the proxy api_proxy picks)
 * and their error messages. */
#include "api.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "err.h"
#include "httpc.h"
#include "httpproxy.h"
#include "secret.h"
#include "pki.h"
#include "tls.h"

#define API_ERRBUF_BYTES 512

int api_ctx_new(const struct cli *cli, const char *ca_file, SSL_CTX **out)
{
	int r;

	if ((r = tls_client_ctx_new(ca_file, NULL, NULL, out)) != 0 ||
	    (r = tls_ctx_expect_role(*out, PKI_ROLE_SERVER)) != 0)
		cliout_error(cli, "bad_ca",
		             "cannot use the CA file %s: %s — check --ca (the "
		             "deployment's ca/root.crt)", ca_file, te_strerror(r));
	return r;
}

int api_open(const struct cli *cli, int flags, struct api **out)
{
	char path[PATH_MAX];
	struct api *a;
	int r;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return TE_ERR_NOMEM;
	a->cli = cli;
	if ((r = clistate_path(path, sizeof(path))) != 0) {
		cliout_error(cli, "no_home", "cannot find where the login is kept: "
		             "%s — set TETHER_HOME or HOME", te_strerror(r));
		goto out;
	}
	if ((a->state_path = strdup(path)) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	r = clistate_load(path, &a->st);
	if (r == TE_ERR_NOT_FOUND || (r == 0 && a->st->token == NULL)) {
		cliout_error(cli, "not_logged_in", "not logged in; run tether "
		             "login --server URL --ca FILE --user NAME");
		r = TE_ERR_DENIED;
		goto out;
	}
	if (r != 0) {
		cliout_error(cli, "bad_state", "cannot read the login file %s: %s — "
		             "run tether login again", path, te_strerror(r));
		goto out;
	}
	if (!(flags & API_OPEN_EXPIRED_OK) && a->st->expires_at != 0 && a->st->expires_at <= (long long)time(NULL)) {
		cliout_error(cli, "login_expired", "your login expired; run tether "
		             "login --server %s --ca %s --user %s", a->st->server,
		             a->st->ca, a->st->user);
		r = TE_ERR_EXPIRED;
		goto out;
	}
	if ((r = api_ctx_new(cli, a->st->ca, &a->ctx)) != 0)
		goto out;
	*out = a;
	a = NULL;
out:
	api_free(a);
	return r;
}

void api_free(struct api *a)
{
	if (a == NULL)
		return;
	clistate_free(a->st);
	free(a->state_path);
	SSL_CTX_free(a->ctx);
	free(a);
}

const char *api_proxy(const char *stored, const char *dest)
{
	if (stored != NULL && stored[0] != '\0')
		return stored;
	return httpproxy_from_env(dest);
}

/* Turn the transport's error text into advice. */
static const char *api_reach_hint(const char *err, const char *proxy)
{
	if (proxy != NULL && strstr(err, "proxy") != NULL)
		return "the proxy comes from tether login --proxy, else "
		       "HTTPS_PROXY (hosts listed in NO_PROXY are reached "
		       "directly)";
	if (strstr(err, "certificate") != NULL)
		return "is this the server the --ca file given to tether login "
		       "belongs to?";
	if (strstr(err, "resolve") != NULL)
		return "check the host name in --server";
	return "is tether-server running? check --server";
}

/* api_send with a body of any type (NULL data: none). */
static int api_send_raw(const struct cli *cli, const char *server, const char *proxy,
                        SSL_CTX *ctx, const char *bearer, const char *method,
                        const char *path, const char *ctype, const void *data,
                        size_t datalen, int *status, json_t **out)
{
	char errbuf[API_ERRBUF_BYTES];
	char *body = NULL;
	json_error_t jerr;
	size_t len = 0;
	json_t *v;
	int r;

	*out = NULL;
	*status = 0;
	errbuf[0] = '\0';
	r = httpc_request_sync_raw(server, proxy, ctx, method, path, bearer, ctype, data,
	                           datalen, HTTP_TIMEOUT_S, status, &body, errbuf,
	                           sizeof(errbuf));
	if (body != NULL)
		len = strlen(body);
	if (r != 0) {
		/* httpc's texts name the proxy by host:port only, never with
		 * its credentials. */
		if (errbuf[0] == '\0')
			snprintf(errbuf, sizeof(errbuf), "%s", te_strerror(r));
		cliout_error(cli, proxy != NULL && strstr(errbuf, "proxy") != NULL ?
		             "proxy_failed" : "unreachable", "cannot reach %s: %s — %s",
		             server, errbuf, api_reach_hint(errbuf, proxy));
		goto out;
	}
	/* httpc bounds the body too; this keeps the parse bounded whatever
	 * the transport underneath. */
	if (body != NULL && len <= MAX_HTTP_BODY_BYTES) {
		v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (v != NULL && !json_is_object(v)) {
			json_decref(v);
			v = NULL;
		}
		*out = v;
	}
out:
	if (body != NULL) {
		/* Answers carry tokens and tickets. */
		secret_wipe(body, len);
		free(body);
	}
	return r;
}

int api_send(const struct cli *cli, const char *server, const char *proxy,
             SSL_CTX *ctx, const char *bearer, const char *method,
             const char *path, const char *body_text, int *status,
             json_t **out)
{
	if (body_text == NULL && strcmp(method, "POST") == 0)
		body_text = "{}";
	if (body_text != NULL && strlen(body_text) > MAX_HTTP_BODY_BYTES) {
		*out = NULL;
		*status = 0;
		cliout_error(cli, "too_large", "the request to %s is too large", server);
		return TE_ERR_TOO_LONG;
	}
	return api_send_raw(cli, server, proxy, ctx, bearer, method, path, "application/json",
	                    body_text, body_text != NULL ? strlen(body_text) : 0, status, out);
}

void api_report(const struct cli *cli, const char *what, int status,
                const json_t *resp)
{
	const char *code = NULL, *msg = NULL;

	if (status == 401) {
		cliout_error(cli, "unauthorized", "%s failed: your login expired or "
		             "was revoked; run tether login", what);
		return;
	}
	if (resp != NULL) {
		api_get_str(resp, "error", &code);
		api_get_str(resp, "message", &msg);
	}
	if (msg != NULL)
		cliout_error(cli, code != NULL ? code : "failed", "%s failed: %s (%s, "
		             "HTTP %d)", what, msg, code != NULL ? code : "error",
		             status);
	else
		cliout_error(cli, "bad_answer", "%s failed: the server answered HTTP "
		             "%d without an explanation — check the server's log",
		             what, status);
}

/* The answer of an api_call or api_call_raw: 0 with *out, or printed. */
static int api_answer(struct api *a, const char *what, int status, json_t *resp,
                      json_t **out)
{
	if (status < 200 || status > 299) {
		api_report(a->cli, what, status, resp);
		json_decref(resp);
		return status == 401 || status == 403 ? TE_ERR_DENIED : TE_ERR_PROTOCOL;
	}
	if (resp == NULL) {
		cliout_error(a->cli, "bad_answer", "%s: the server's answer is not a "
		             "JSON object — is --server a tether-server?", what);
		return TE_ERR_PROTOCOL;
	}
	if (out != NULL)
		*out = resp;
	else
		json_decref(resp);
	return 0;
}

int api_call_raw(struct api *a, const char *what, const char *method, const char *path,
                 const char *ctype, const void *data, size_t len, json_t **out)
{
	json_t *resp = NULL;
	int status = 0, r;

	if (out != NULL)
		*out = NULL;
	r = api_send_raw(a->cli, a->st->server, api_proxy(a->st->proxy, a->st->server), a->ctx,
	                 a->st->token, method, path, ctype, data, len, &status, &resp);
	return r != 0 ? r : api_answer(a, what, status, resp, out);
}

int api_call(struct api *a, const char *what, const char *method,
             const char *path, const json_t *body, json_t **out)
{
	json_t *resp = NULL;
	char *text = NULL;
	int status = 0, r;

	if (out != NULL)
		*out = NULL;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return TE_ERR_NOMEM;
	r = api_send(a->cli, a->st->server, api_proxy(a->st->proxy, a->st->server),
	             a->ctx, a->st->token, method, path, text, &status, &resp);
	if (r == 0) {
		r = api_answer(a, what, status, resp, out);
		resp = NULL;
	}
	if (text != NULL) {
		/* Bodies may carry a one-time code. */
		secret_wipe(text, strlen(text));
		free(text);
	}
	json_decref(resp);
	return r;
}

int api_post(const struct cli *cli, const char *what, const char *path,
             const json_t *body, json_t **out)
{
	struct api *a = NULL;
	int r;

	*out = NULL;
	if ((r = api_open(cli, 0, &a)) == 0)
		r = api_call(a, what, "POST", path, body, out);
	api_free(a);
	return r;
}

int api_get_str(const json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || !json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return TE_ERR_INVALID;
	*out = json_string_value(v);
	return 0;
}

int api_get_int(const json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL || !json_is_integer(v))
		return TE_ERR_INVALID;
	*out = (long long)json_integer_value(v);
	return 0;
}

void api_bad_answer(const struct cli *cli, const char *what, const char *field)
{
	cliout_error(cli, "bad_answer", "%s: the server's answer lacks a valid "
	             "\"%s\" — is the server the same version as this tether?",
	             what, field);
}

/* GET path and check that the answer's key is an array of objects (each
 * with a string id_key too, when id_key is not NULL). *resp gets the
 * answer, for the caller to free even on failure, and *list the array
 * inside it. Any failure is printed and returned. */
static int api_get_list(struct api *a, const char *what, const char *path, const char *key,
                        const char *id_key, json_t **resp, json_t **list)
{
	const char *id;
	json_t *x;
	size_t i;
	int rc;

	*list = NULL;
	if ((rc = api_call(a, what, "GET", path, NULL, resp)) != 0)
		return rc;
	*list = json_object_get(*resp, key);
	if (!json_is_array(*list))
		goto bad;
	json_array_foreach(*list, i, x) {
		if (!json_is_object(x) || (id_key != NULL && api_get_str(x, id_key, &id) != 0))
			goto bad;
	}
	return 0;
bad:
	api_bad_answer(a->cli, what, key);
	return TE_ERR_INVALID;
}

int api_list(const struct cli *cli, const char *what, const char *path, const char *key,
             const char *id_key, const char *empty_text, void (*print)(const json_t *list))
{
	struct api *a = NULL;
	json_t *resp = NULL, *list;
	int rc = CLI_EXIT_FAIL;

	if (api_open(cli, 0, &a) != 0 ||
	    api_get_list(a, what, path, key, id_key, &resp, &list) != 0)
		goto out;
	if (cli->json)
		cliout_json(resp);
	else if (json_array_size(list) == 0)
		printf("%s\n", empty_text);
	else
		print(list);
	rc = CLI_EXIT_OK;
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

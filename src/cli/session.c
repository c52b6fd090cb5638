/* session.c: request a session, follow it through consent, end it. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "cliargs.h"
#include "err.h"
#include "text.h"

#define SESSION_PATH_BYTES 160
#define SESSION_WHAT_BYTES 160

static int session_check_id(const char *id)
{
	if (cliargs_check_name(id) != 0) {
		cliout_usage("'%s' is not a session id", id);
		return TE_ERR_INVALID;
	}
	return 0;
}

/* req[key] = the n strings as an array; nothing when n is 0. */
static int session_set_list(json_t *req, const char *key,
                            const char *const *items, size_t n)
{
	json_t *list;
	size_t i;

	if (n == 0)
		return 0;
	if ((list = json_array()) == NULL)
		return TE_ERR_NOMEM;
	for (i = 0; i < n; i++)
		if (json_array_append_new(list, json_string(items[i])) != 0) {
			json_decref(list);
			return TE_ERR_NOMEM;
		}
	return json_object_set_new(req, key, list) == 0 ? 0 : TE_ERR_NOMEM;
}

int session_request(struct api *a, const struct session_ask *ask, char **id,
                    json_t **resp)
{
	char what[SESSION_WHAT_BYTES];
	json_t *req = NULL, *ans = NULL;
	const char *sid;
	int r = TE_ERR_NOMEM;

	*id = NULL;
	if (resp != NULL)
		*resp = NULL;
	snprintf(what, sizeof(what), "requesting a session on %s", ask->device);
	req = json_pack("{s:s, s:s}", "device", ask->device, "reason", ask->reason);
	if (req == NULL ||
	    session_set_list(req, "services", ask->services, ask->nservices) != 0 ||
	    session_set_list(req, "actions", ask->actions, ask->nactions) != 0 ||
	    (ask->escalation && json_object_set_new(req, "escalation", json_true()) != 0))
		goto out;
	if ((r = api_call(a, what, "POST", "/api/v1/sessions", req, &ans)) != 0)
		goto out;
	if (api_get_str(ans, "id", &sid) != 0 || cliargs_check_name(sid) != 0) {
		api_bad_answer(a->cli, what, "id");
		r = TE_ERR_PROTOCOL;
		goto out;
	}
	if ((*id = strdup(sid)) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if (resp != NULL) {
		*resp = ans;
		ans = NULL;
	}
out:
	json_decref(req);
	json_decref(ans);
	return r;
}

/* The session; with seen (a state) and wait_s > 0, the server holds the
 * answer until the session leaves that state or wait_s pass. */
static int session_get_wait(struct api *a, const char *id, const char *seen, int wait_s,
                            json_t **out)
{
	char path[SESSION_PATH_BYTES], what[SESSION_WHAT_BYTES];

	if (seen != NULL && wait_s > 0)
		snprintf(path, sizeof(path), "/api/v1/sessions/%s?wait=%d&state=%s", id, wait_s,
		         seen);
	else
		snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	snprintf(what, sizeof(what), "reading session %s", id);
	return api_call(a, what, "GET", path, NULL, out);
}

static int session_get(struct api *a, const char *id, json_t **out)
{
	return session_get_wait(a, id, NULL, 0, out);
}

int session_ended_why(struct api *a, const char *id, int tries)
{
	struct timespec pause = { SESSION_POLL_INTERVAL_S, 0 };
	const char *state, *why;
	json_t *s = NULL;
	int final = 0;

	for (int i = 0; i < tries && !final; i++) {
		if (i > 0)
			nanosleep(&pause, NULL);
		json_decref(s);
		s = NULL;
		if (session_get(a, id, &s) != 0 || api_get_str(s, "state", &state) != 0)
			break;
		if (strcmp(state, "ended") != 0 && strcmp(state, "expired") != 0 &&
		    strcmp(state, "refused") != 0)
			continue;
		final = 1;
		if (api_get_str(s, "end_reason", &why) != 0 || why[0] == '\0')
			why = "no reason recorded";
		cliout_error(a->cli, state, "session %s %s: %s", id, state, why);
	}
	json_decref(s);
	return final;
}

int session_end(struct api *a, const char *id, json_t **resp)
{
	char path[SESSION_PATH_BYTES], what[SESSION_WHAT_BYTES];

	snprintf(path, sizeof(path), "/api/v1/sessions/%s/end", id);
	snprintf(what, sizeof(what), "ending session %s", id);
	return api_call(a, what, "POST", path, NULL, resp);
}

static double session_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Explain a final state; the words "refused" and "no answer" are what
 * scripts and people look for. */
static void session_explain(const struct cli *cli, const char *id,
                            const char *state, const char *why)
{
	if (strcmp(state, "refused") == 0)
		cliout_error(cli, "refused", "the operator refused the session %s%s%s",
		             id, why != NULL ? ": " : "", why != NULL ? why : "");
	else if (strcmp(state, "expired") == 0 && why != NULL &&
	         strstr(why, "no answer") != NULL)
		cliout_error(cli, "expired", "session %s expired: %s", id, why);
	else if (strcmp(state, "expired") == 0)
		cliout_error(cli, "expired", "session %s expired: no answer from the "
		             "operator in time%s%s", id, why != NULL ? " — " : "",
		             why != NULL ? why : "");
	else
		cliout_error(cli, state, "session %s is %s%s%s", id, state,
		             why != NULL ? ": " : "", why != NULL ? why : "");
}

/* One poll: 1 while awaiting consent, 0 when usable, <0 when final or on
 * errors (printed). */
static int session_poll(struct api *a, const char *id, int wait_s, json_t **last)
{
	const char *state, *why, *seen = NULL;
	json_t *s = NULL;
	int r;

	if (*last != NULL && api_get_str(*last, "state", &seen) != 0)
		seen = NULL;
	if ((r = session_get_wait(a, id, seen, wait_s, &s)) != 0)
		return r;
	if (api_get_str(s, "state", &state) != 0) {
		api_bad_answer(a->cli, "reading the session", "state");
		json_decref(s);
		return TE_ERR_PROTOCOL;
	}
	json_decref(*last);
	*last = s;
	if (strcmp(state, "awaiting_consent") == 0 || strcmp(state, "awaiting_customer") == 0)
		return 1;
	if (strcmp(state, "consented") == 0 || strcmp(state, "active") == 0)
		return 0;
	if (api_get_str(s, "end_reason", &why) != 0)
		why = NULL;
	session_explain(a->cli, id, state, why);
	return TE_ERR_DENIED;
}

/* 1 when the session object waits for the customer (approval or notice). */
static int session_at_customer(const json_t *s)
{
	const char *state;

	return s != NULL && api_get_str(s, "state", &state) == 0 &&
	       strcmp(state, "awaiting_customer") == 0;
}

void session_say_waiting(const json_t *s, const char *id, const char *device)
{
	char when[64], shown[TEXT_ESCAPED_BYTES(MAX_NAME_BYTES)];
	const char *kind = NULL, *site = NULL;

	(void)api_get_str(s, "customer", &kind);
	if (api_get_str(s, "site", &site) != 0)
		site = NULL;
	if (!session_at_customer(s)) {
		fprintf(stderr, "waiting for the operator at %s to accept...\n", device);
		return;
	}
	cliout_when(json_object_get(s, "customer_deadline"), when, sizeof(when));
	if (kind != NULL && strcmp(kind, "notice") == 0)
		fprintf(stderr, "waiting for the customer%s%s: session %s goes ahead unless they"
		        " refuse it by %s; then the operator at %s is asked...\n",
		        site ? " of site " : "", site ? cliout_text(site, shown, sizeof(shown)) : "",
		        id, when, device);
	else
		fprintf(stderr, "waiting for the customer%s%s to approve session %s (by %s);"
		        " then the operator at %s is asked...\n", site ? " of site " : "",
		        site ? cliout_text(site, shown, sizeof(shown)) : "", id, when, device);
}

int session_wait(struct api *a, const char *id, int timeout_s,
                 volatile sig_atomic_t *stop, json_t **last)
{
	struct timespec pause;
	double deadline = session_now() + timeout_s, asked, left;
	json_t *seen = NULL;
	int r, customer = -1, wait;
	const char *device, *st;
	char before[32];

	for (;;) {
		if (stop != NULL && *stop) {
			r = TE_ERR_IO;
			break;
		}
		/* Held by the server until the state changes (a consent is heard
		 * at once), a few seconds at a time so that a signal is seen. */
		left = deadline - session_now();
		wait = left >= SESSION_WAIT_HOLD_S ? SESSION_WAIT_HOLD_S : left > 1 ? (int)left : 0;
		asked = session_now();
		snprintf(before, sizeof(before), "%s",
		         seen != NULL && api_get_str(seen, "state", &st) == 0 ? st : "");
		if ((r = session_poll(a, id, seen != NULL ? wait : 0, &seen)) <= 0)
			break;
		/* The customer has let it through: now it is the operator's turn. */
		if (customer == 1 && !session_at_customer(seen) && !a->cli->json &&
		    api_get_str(seen, "device", &device) == 0)
			session_say_waiting(seen, id, device);
		customer = session_at_customer(seen);
		if (session_now() >= deadline) {
			cliout_error(a->cli, "timeout", "gave up after %d s: session %s "
			             "is still awaiting %s — wait "
			             "again, or cancel it with tether session end %s",
			             timeout_s, id, customer ? "the customer's approval" :
			             "the operator's consent", id);
			r = TE_ERR_TIMEOUT;
			break;
		}
		/* A server that answered at once (an older one, or the hold could
		 * not be kept) is asked again after a pause, never in a tight loop;
		 * a signal cuts the pause short and the loop then sees *stop. */
		if (api_get_str(seen, "state", &st) == 0 && strcmp(st, before) == 0 &&
		    (left = SESSION_POLL_INTERVAL_S - (session_now() - asked)) > 0) {
			pause.tv_sec = (time_t)left;
			pause.tv_nsec = (long)((left - (double)pause.tv_sec) * 1e9);
			nanosleep(&pause, NULL);
		}
	}
	if (last != NULL)
		*last = seen;
	else
		json_decref(seen);
	return r;
}

/* The value-less flags of session request, taken out of argv before the
 * strict parser sees the rest. */
struct session_flags {
	int shell, patient_records, escalation;
};

static int session_take_flags(int argc, char **argv, char **rest, struct session_flags *f)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--shell") == 0)
			f->shell = 1;
		else if (strcmp(argv[i], "--patient-records") == 0)
			f->patient_records = 1;
		else if (strcmp(argv[i], "--escalation") == 0)
			f->escalation = 1;
		else
			rest[n++] = argv[i];
	}
	return n;
}

/* --shell, --files read|write, --diag NAME..., --patient-records as the
 * request's actions (docs/protocol.md); each checked before sending. */
static int session_actions(const struct session_flags *f, const char *files,
                           const char *const *diags, size_t ndiag,
                           char store[][MAX_NAME_BYTES], const char **out, size_t *n)
{
	*n = 0;
	if (f->shell)
		out[(*n)++] = "shell";
	if (files != NULL && strcmp(files, "read") != 0 && strcmp(files, "write") != 0) {
		cliout_usage("session request: --files is read or write");
		return -1;
	}
	if (files != NULL)
		out[(*n)++] = strcmp(files, "read") == 0 ? "files:read" : "files:write";
	for (size_t i = 0; i < ndiag; i++) {
		if (cliargs_check_name(diags[i]) != 0 ||
		    strlen(diags[i]) + 6 > MAX_NAME_BYTES) {
			cliout_usage("session request: '%s' is not a diagnostic name", diags[i]);
			return -1;
		}
		snprintf(store[i], MAX_NAME_BYTES, "diag:%s", diags[i]);
		out[(*n)++] = store[i];
	}
	if (f->patient_records)
		out[(*n)++] = "patient_records";
	return 0;
}

#define SESSION_MAX_DIAGS 8

static int session_cmd_request(const struct cli *cli, int argc, char **argv)
{
	const char *reason = NULL, *services[MAX_SERVICES], *pos[1], *files = NULL;
	const char *diags[SESSION_MAX_DIAGS], *actions[SESSION_MAX_DIAGS + 3];
	char diag_store[SESSION_MAX_DIAGS][MAX_NAME_BYTES];
	size_t nserv = 0, ndiag = 0, nact = 0, npos, i;
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL },
		{ "--service", NULL, services, MAX_SERVICES, &nserv },
		{ "--files", &files, NULL, 0, NULL },
		{ "--diag", NULL, diags, SESSION_MAX_DIAGS, &ndiag },
	};
	struct session_flags flags = { 0 };
	struct api *a = NULL;
	json_t *resp = NULL;
	struct session_ask ask = { 0 };
	char *id = NULL, **rest = NULL;
	int rc = CLI_EXIT_FAIL, nrest;

	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
		return CLI_EXIT_FAIL;
	nrest = session_take_flags(argc, argv, rest, &flags);
	if (cliargs_parse("session request", nrest, rest, opts, 4, pos, 1, 1,
	                  &npos, NULL) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	rc = CLI_EXIT_USAGE;
	if (reason == NULL) {
		cliout_usage("session request: --reason TEXT is required (the service "
		             "ticket, at most %d characters)", MAX_REASON_BYTES - 1);
		goto out;
	}
	if (cliargs_check_reason(reason) != 0)
		goto out;
	for (i = 0; i < nserv; i++) {
		if (cliargs_check_name(services[i]) != 0) {
			cliout_usage("session request: '%s' is not a service name",
			             services[i]);
			goto out;
		}
	}
	if (cliargs_check_name(pos[0]) != 0) {
		cliout_usage("session request: '%s' is not a device serial", pos[0]);
		goto out;
	}
	if (session_actions(&flags, files, diags, ndiag, diag_store, actions, &nact) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	ask.device = pos[0];
	ask.reason = reason;
	ask.services = services;
	ask.nservices = nserv;
	ask.actions = actions;
	ask.nactions = nact;
	ask.escalation = flags.escalation;
	if (api_open(cli, 0, &a) != 0 || session_request(a, &ask, &id, &resp) != 0)
		goto out;
	if (cli->json) {
		cliout_json(resp);
	} else {
		const char *state;

		printf("%s\n", id);
		if (api_get_str(resp, "state", &state) == 0 &&
		    strcmp(state, "awaiting_customer") == 0)
			fprintf(stderr, "session %s waits for the customer of the device's site"
			        " (a notice or an approval) before the operator is asked\n", id);
	}
	rc = CLI_EXIT_OK;
out:
	free(rest);
	free(id);
	json_decref(resp);
	api_free(a);
	return rc;
}

static void session_print(const json_t *s)
{
	static const char *const keys[] = {
		"id", "device", "user", "reason", "state", "end_reason", "relay"
	};
	const json_t *granted = json_object_get(s, "granted");
	char shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)];
	const char *v;
	size_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (api_get_str(s, keys[k], &v) == 0)
			printf("%-11s %s\n", keys[k], cliout_text(v, shown, sizeof(shown)));
	if (json_is_array(granted)) {
		printf("%-11s", "granted");
		for (k = 0; k < json_array_size(granted); k++)
			if (json_is_string(json_array_get(granted, k)))
				printf(" %s", cliout_text(json_string_value(json_array_get(granted, k)),
				                          shown, sizeof(shown)));
		printf("%s\n", json_array_size(granted) == 0 ? " (nothing)" : "");
	}
}

static int session_cmd_status(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *state;
	struct api *a = NULL;
	json_t *s = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("session status", argc, argv, NULL, 0, pos, 1, 1,
	                  &npos, NULL) != 0 || session_check_id(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (api_open(cli, 0, &a) != 0 || session_get(a, pos[0], &s) != 0)
		goto out;
	if (api_get_str(s, "state", &state) != 0) {
		api_bad_answer(cli, "reading the session", "state");
		goto out;
	}
	if (cli->json)
		cliout_json(s);
	else
		session_print(s);
	rc = CLI_EXIT_OK;
out:
	json_decref(s);
	api_free(a);
	return rc;
}

static int session_cmd_end(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	struct api *a = NULL;
	json_t *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("session end", argc, argv, NULL, 0, pos, 1, 1, &npos,
	                  NULL) != 0 || session_check_id(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (api_open(cli, 0, &a) != 0 || session_end(a, pos[0], &resp) != 0)
		goto out;
	if (cli->json)
		cliout_json(resp);
	else
		printf("session %s ended\n", pos[0]);
	rc = CLI_EXIT_OK;
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

static int session_parse_timeout(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > SESSION_MAX_S) {
		cliout_usage("session wait: --timeout must be 1..%d seconds",
		             SESSION_MAX_S);
		return TE_ERR_INVALID;
	}
	*out = (int)v;
	return 0;
}

static int session_cmd_wait(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *timeout = NULL, *state;
	const struct cliargs_opt opts[] = {
		{ "--timeout", &timeout, NULL, 0, NULL },
	};
	int secs = SESSION_WAIT_DEFAULT_S, rc = CLI_EXIT_FAIL;
	struct api *a = NULL;
	json_t *last = NULL;
	size_t npos;

	if (cliargs_parse("session wait", argc, argv, opts, 1, pos, 1, 1, &npos,
	                  NULL) != 0 || session_check_id(pos[0]) != 0 ||
	    (timeout != NULL && session_parse_timeout(timeout, &secs) != 0))
		return CLI_EXIT_USAGE;
	if (api_open(cli, 0, &a) != 0 ||
	    session_wait(a, pos[0], secs, NULL, &last) != 0)
		goto out;
	if (cli->json)
		cliout_json(last);
	else if (api_get_str(last, "state", &state) == 0)
		printf("session %s is %s\n", pos[0], state);
	rc = CLI_EXIT_OK;
out:
	json_decref(last);
	api_free(a);
	return rc;
}

int session_main(const struct cli *cli, int argc, char **argv)
{
	static const struct cliargs_cmd cmds[] = {
		{ "request", session_cmd_request }, { "status", session_cmd_status },
		{ "wait", session_cmd_wait }, { "end", session_cmd_end },
	};

	return cliargs_dispatch(cli, "session", cmds, sizeof(cmds) / sizeof(cmds[0]), argc,
	                        argv);
}

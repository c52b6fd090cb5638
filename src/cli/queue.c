/* queue.c: the maintenance queue from the command line (queue.h). */
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actenv.h"
#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "config.h"
#include "err.h"
#include "text.h"
#include "tuf.h"

#define QUEUE_MAX_DEVICES 64           /* serials on one command line */
#define QUEUE_SHOWN_BYTES TEXT_ESCAPED_BYTES(2 * MAX_REASON_BYTES)

/* WHEN as unix time; -1 with a usage message when it is not one. */
static long long queue_when(const char *opt, const char *s)
{
	struct tm tm;
	char *end;
	long long v, d;
	const char *p;

	if (strcmp(s, "now") == 0)
		return (long long)time(NULL);
	if (s[0] == '+' && (d = config_duration(s + 1)) > 0)
		return (long long)time(NULL) + d;
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M", &tm)) != NULL && (*p == '\0' || strcmp(p, "Z") == 0))
		return (long long)timegm(&tm);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && *end == '\0' && end != s && v > 1000000000LL)
		return v;
	cliout_usage("queue: %s is now, +DURATION (+2h), YYYY-MM-DDTHH:MM (UTC) or unix seconds",
	             opt);
	return -1;
}

/* The new values of a config change, from a file or stdin. */
static int queue_values(const char *path, char *out, size_t outsz)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t n;

	if (f == NULL) {
		cliout_usage("queue add: cannot read --values %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, outsz, f);
	if (f != stdin)
		fclose(f);
	if (n >= outsz) {
		cliout_usage("queue add: --values holds more than %zu bytes", outsz - 1);
		return -1;
	}
	out[n] = '\0';
	if (strlen(out) != n || !actenv_input_ok(out)) {
		cliout_usage("queue add: --values must be printable text lines");
		return -1;
	}
	return 0;
}

int queue_target_devices(json_t *req, const char *cmd, const struct queue_sel *sel,
                         const char *const *serials, size_t n)
{
	json_t *x;

	if (sel != NULL) {
		if ((x = queue_select(sel)) == NULL)
			return -1;
		return json_object_set_new(req, "select", x);
	}
	if ((x = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (cliargs_check_name(serials[i]) != 0) {
			cliout_usage("%s: '%s' is not a device serial", cmd, serials[i]);
			json_decref(x);
			return -1;
		}
		json_array_append_new(x, json_string(serials[i]));
	}
	return json_object_set_new(req, "devices", x);
}

json_t *queue_select(const struct queue_sel *s)
{
	json_t *o = json_object();
	long long n;

#define QUEUE_SEL(key, v) if ((v) != NULL) json_object_set_new(o, key, json_string(v))
	QUEUE_SEL("site", s->site);
	QUEUE_SEL("product", s->product);
	QUEUE_SEL("health", s->health);
	QUEUE_SEL("error", s->error);
	QUEUE_SEL("below", s->below);
#undef QUEUE_SEL
	if (s->not_seen != NULL) {
		if ((n = config_duration(s->not_seen)) < 1) {
			cliout_usage("queue add: --not-seen is a duration such as 1h or 2d");
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, "not_seen_s", json_integer(n));
	}
	return o;
}

static int queue_add(const struct cli *cli, int argc, char **argv)
{
	const char *pos[2 + QUEUE_MAX_DEVICES], *reason = NULL, *values = NULL, *nb = NULL,
	           *na = NULL, *window = NULL;
	struct queue_sel s = { 0 };
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL }, { "--values", &values, NULL, 0, NULL },
		{ "--not-before", &nb, NULL, 0, NULL }, { "--not-after", &na, NULL, 0, NULL },
		{ "--window", &window, NULL, 0, NULL }, { "--site", &s.site, NULL, 0, NULL },
		{ "--product", &s.product, NULL, 0, NULL }, { "--health", &s.health, NULL, 0, NULL },
		{ "--error", &s.error, NULL, 0, NULL }, { "--below", &s.below, NULL, 0, NULL },
		{ "--not-seen", &s.not_seen, NULL, 0, NULL },
	};
	char input[ACTENV_INPUT_BYTES] = "", shown[QUEUE_SHOWN_BYTES];
	json_t *req = NULL, *resp = NULL, *x;
	long long t;
	size_t npos, i;
	int rc = CLI_EXIT_USAGE, selecting, install;

	if (cliargs_parse("queue add", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 2,
	                  2 + QUEUE_MAX_DEVICES, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	selecting = s.site || s.product || s.health || s.error || s.below || s.not_seen;
	install = strcmp(pos[0], "install") == 0;
	if (!actenv_kind_ok(pos[0]) || !(install ? tuf_target_name_ok(pos[1]) :
	                                 actenv_name_ok(pos[1]))) {
		cliout_usage("queue add: KIND is diag, collect, config or install, NAME the device's"
		             " diag.NAME, collect.NAME or config.NAME, or for install the"
		             " repository's target (such as injector/injector-fw-2.1.0.raucb)");
		return CLI_EXIT_USAGE;
	}
	if ((npos > 2) == selecting) {
		cliout_usage("queue add: name DEVICE serials or a selection (--site, --product,"
		             " --health, --error, --below, --not-seen), one or the other");
		return CLI_EXIT_USAGE;
	}
	if (reason == NULL) {
		cliout_usage("queue add needs --reason TEXT (a ticket number, or why)");
		return CLI_EXIT_USAGE;
	}
	if (cliargs_check_reason(reason) != 0)
		return CLI_EXIT_USAGE;
	if ((values != NULL) != (strcmp(pos[0], "config") == 0)) {
		cliout_usage("queue add: --values FILE goes with KIND config, and only with it");
		return CLI_EXIT_USAGE;
	}
	if (values != NULL && queue_values(values, input, sizeof(input)) != 0)
		return CLI_EXIT_USAGE;
	req = install ? json_pack("{s:s, s:s, s:s}", "kind", pos[0], "target", pos[1], "reason",
	                          reason) :
	      json_pack("{s:s, s:s, s:s, s:s}", "kind", pos[0], "name", pos[1], "reason", reason,
	                "input", input);
	if (req == NULL)
		return CLI_EXIT_FAIL;
	if (window != NULL)
		json_object_set_new(req, "window", json_string(window));
	if (nb != NULL) {
		if ((t = queue_when("--not-before", nb)) < 0)
			goto out;
		json_object_set_new(req, "not_before", json_integer(t));
	}
	if (na != NULL) {
		if ((t = queue_when("--not-after", na)) < 0)
			goto out;
		json_object_set_new(req, "not_after", json_integer(t));
	}
	if (queue_target_devices(req, "queue add", selecting ? &s : NULL, pos + 2, npos - 2) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (api_post(cli, "queueing", "/api/v1/activities", req, &resp) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(resp);
		goto out;
	}
	printf("batch %s:\n", cliout_text(json_string_value(json_object_get(resp, "batch")) ?
	       json_string_value(json_object_get(resp, "batch")) : "?", shown, sizeof(shown)));
	json_array_foreach(json_object_get(resp, "activities"), i, x) {
		const char *id = json_string_value(json_object_get(x, "id"));
		const char *dev = json_string_value(json_object_get(x, "device"));
		const char *st = json_string_value(json_object_get(x, "state"));
		char b1[QUEUE_SHOWN_BYTES], b2[QUEUE_SHOWN_BYTES];

		printf("  %s  %s  %s\n", cliout_text(id ? id : "?", shown, sizeof(shown)),
		       cliout_text(dev ? dev : "?", b1, sizeof(b1)),
		       cliout_text(st ? st : "?", b2, sizeof(b2)));
	}
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

static void queue_cells(const json_t *a, char cells[][CLIOUT_CELL_BYTES])
{
	static const char *const keys[] = { "id", "device", "kind", "name", "state" };
	time_t t;

	for (size_t k = 0; k < 5; k++) {
		const char *v = json_string_value(json_object_get(a, keys[k]));

		snprintf(cells[k], CLIOUT_CELL_BYTES, "%s", v != NULL && v[0] ? v : "-");
	}
	t = (time_t)json_integer_value(json_object_get(a, "created_at"));
	cliout_time(t, cells[5], CLIOUT_CELL_BYTES);
	snprintf(cells[6], CLIOUT_CELL_BYTES, "%s",
	         json_string_value(json_object_get(a, "why")) &&
	         json_string_value(json_object_get(a, "why"))[0] ?
	         json_string_value(json_object_get(a, "why")) :
	         json_string_value(json_object_get(a, "reason")) ?
	         json_string_value(json_object_get(a, "reason")) : "");
}

static int queue_q(char *q, size_t qsz, const char *key, const char *v)
{
	size_t len = strlen(q);
	int w;

	if (v == NULL)
		return 0;
	if (cliargs_check_name(v) != 0) {
		cliout_usage("queue list: --%s takes letters, digits, '.', '_' and '-'", key);
		return -1;
	}
	w = snprintf(q + len, qsz - len, "%s%s=%s", len ? "&" : "?", key, v);
	return w < 0 || (size_t)w >= qsz - len ? -1 : 0;
}

static int queue_list(const struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "ID", "DEVICE", "KIND", "NAME", "STATE", "CREATED",
	                                    "WHY / REASON" };
	const char *dev = NULL, *site = NULL, *state = NULL, *batch = NULL, *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--device", &dev, NULL, 0, NULL }, { "--site", &site, NULL, 0, NULL },
		{ "--state", &state, NULL, 0, NULL }, { "--batch", &batch, NULL, 0, NULL },
	};
	char q[256] = "", path[300];
	json_t *resp = NULL, *list;
	struct api *a = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("queue list", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0,
	                  0, &npos, NULL) != 0 ||
	    queue_q(q, sizeof(q), "device", dev) != 0 || queue_q(q, sizeof(q), "site", site) != 0 ||
	    queue_q(q, sizeof(q), "state", state) != 0 || queue_q(q, sizeof(q), "batch", batch) != 0)
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/activities%s", q);
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "listing the queue", "GET", path, NULL, &resp) != 0)
		goto out;
	if (!json_is_array(list = json_object_get(resp, "activities"))) {
		api_bad_answer(cli, "listing the queue", "activities");
		goto out;
	}
	rc = CLI_EXIT_OK;
	if (cli->json)
		cliout_json(resp);
	else if (json_array_size(list) == 0)
		printf("no activities\n");
	else
		cliout_table(list, head, 7, queue_cells);
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

/* Print text (the output) line by line, each made safe. */
static void queue_print_lines(const char *text)
{
	char line[1024], shown[TEXT_ESCAPED_BYTES(1024)];

	while (text_next_line(&text, line, sizeof(line)))
		printf("    %s\n", cliout_text(line, shown, sizeof(shown)));
}

static int queue_show(const struct cli *cli, int argc, char **argv)
{
	static const char *const keys[] = { "id", "device", "site", "kind", "name", "state", "why",
	                                    "reason", "created_by", "decided_by", "window",
	                                    "retry_of", "batch" };
	static const char *const times[] = { "created_at", "not_before", "not_after",
	                                     "released_at", "started_at", "ended_at" };
	const char *pos[1], *v;
	char path[128], shown[QUEUE_SHOWN_BYTES], when[64];
	json_t *r = NULL, *f, *x;
	struct api *a = NULL;
	size_t npos, i;
	long long code;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("queue show", argc, argv, NULL, 0, pos, 1, 1, &npos, NULL) != 0 ||
	    cliargs_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/activities/%s", pos[0]);
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "reading an activity", "GET", path, NULL, &r) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(r);
		goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_string_value(json_object_get(r, keys[i]))) != NULL && v[0])
			printf("%-12s %s\n", keys[i], cliout_text(v, shown, sizeof(shown)));
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		x = json_object_get(r, times[i]);
		if (json_integer_value(x) > 0) {
			cliout_when(x, when, sizeof(when));
			printf("%-12s %s\n", times[i], when);
		}
	}
	if (api_get_int(r, "exit_code", &code) == 0)
		printf("%-12s %lld\n", "exit_code", code);
	if ((v = json_string_value(json_object_get(r, "input"))) != NULL && v[0]) {
		printf("input:\n");
		queue_print_lines(v);
	}
	if ((v = json_string_value(json_object_get(r, "output"))) != NULL && v[0]) {
		printf("output:\n");
		queue_print_lines(v);
	}
	f = json_object_get(r, "files");
	if (json_array_size(f) > 0) {
		printf("files:\n");
		json_array_foreach(f, i, x) {
			long long id = 0, size = 0;
			const char *p = json_string_value(json_object_get(x, "path"));
			const char *refused = json_string_value(json_object_get(x, "refused"));
			char b2[QUEUE_SHOWN_BYTES];

			(void)api_get_int(x, "id", &id);
			(void)api_get_int(x, "size", &size);
			printf("    %lld  %s  %s\n", id, cliout_text(p ? p : "?", shown, sizeof(shown)),
			       refused && refused[0] ? cliout_text(refused, b2, sizeof(b2)) :
			       (snprintf(b2, sizeof(b2), "%lld bytes", size), b2));
		}
	}
out:
	json_decref(r);
	api_free(a);
	return rc;
}

static int queue_cancel(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *reason = NULL, *state;
	const struct cliargs_opt opts[] = { { "--reason", &reason, NULL, 0, NULL } };
	char path[128];
	json_t *req, *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("queue cancel", argc, argv, opts, 1, pos, 1, 1, &npos, NULL) != 0 ||
	    cliargs_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (reason == NULL || cliargs_check_reason(reason) != 0) {
		if (reason == NULL)
			cliout_usage("queue cancel needs --reason TEXT");
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/api/v1/activities/%s/cancel", pos[0]);
	if ((req = json_pack("{s:s}", "reason", reason)) == NULL ||
	    api_post(cli, "cancelling", path, req, &resp) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json)
		cliout_json(resp);
	else if (api_get_str(resp, "state", &state) == 0)
		printf("activity %s is %s\n", pos[0], state);
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

static int queue_retry(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *na = NULL, *id;
	const struct cliargs_opt opts[] = { { "--not-after", &na, NULL, 0, NULL } };
	char path[128], shown[QUEUE_SHOWN_BYTES];
	json_t *req = json_object(), *resp = NULL;
	long long t;
	size_t npos;
	int rc = CLI_EXIT_USAGE;

	if (cliargs_parse("queue retry", argc, argv, opts, 1, pos, 1, 1, &npos, NULL) != 0 ||
	    cliargs_check_name(pos[0]) != 0)
		goto out;
	if (na != NULL) {
		if ((t = queue_when("--not-after", na)) < 0)
			goto out;
		json_object_set_new(req, "not_after", json_integer(t));
	}
	rc = CLI_EXIT_FAIL;
	snprintf(path, sizeof(path), "/api/v1/activities/%s/retry", pos[0]);
	if (api_post(cli, "retrying", path, req, &resp) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json)
		cliout_json(resp);
	else if ((id = json_string_value(json_object_get(json_array_get(
	              json_object_get(resp, "activities"), 0), "id"))) != NULL)
		printf("activity %s retries %s\n", cliout_text(id, shown, sizeof(shown)), pos[0]);
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

int queue_main(const struct cli *cli, int argc, char **argv)
{
	static const struct cliargs_cmd cmds[] = {
		{ "add", queue_add }, { "list", queue_list }, { "show", queue_show },
		{ "cancel", queue_cancel }, { "retry", queue_retry },
	};

	/* `tether queue [CMD] --help` is answered from the usage text (main.c). */
	return cliargs_dispatch(cli, "queue", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

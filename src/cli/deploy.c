/* deploy.c: `tether deploy create|status|pause|resume|abort` (deploy.h). */
#include "deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "queue.h"
#include "text.h"
#include "tuf.h"

#define DEPLOY_MAX_DEVICES 64
#define DEPLOY_SHOWN_BYTES TEXT_ESCAPED_BYTES(2 * MAX_REASON_BYTES)
#define DEPLOY_WATCH_S     2
#define DEPLOY_WATCH_MAX_S (24 * 3600)

static const char *deploy_str(const json_t *o, const char *k, char *buf, size_t sz)
{
	const char *v = json_string_value(json_object_get(o, k));

	return cliout_text(v != NULL ? v : "", buf, sz);
}

/* "1,10,50,100" into a JSON array; NULL (said) when it is not that. */
static json_t *deploy_waves(const char *s)
{
	json_t *arr = json_array();
	char *end;
	long v;

	while (arr != NULL && *s) {
		v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 100 || (*end != ',' && *end != '\0'))
			goto bad;
		json_array_append_new(arr, json_integer(v));
		s = *end == ',' ? end + 1 : end;
	}
	if (arr != NULL && json_array_size(arr) > 0)
		return arr;
bad:
	json_decref(arr);
	cliout_usage("deploy create: --waves is increasing percentages, the last 100, such as "
	             "1,10,50,100");
	return NULL;
}

static int deploy_create(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1 + DEPLOY_MAX_DEVICES], *reason = NULL, *waves = NULL, *maxf = NULL,
	           *window = NULL;
	struct queue_sel s = { 0 };
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL }, { "--waves", &waves, NULL, 0, NULL },
		{ "--max-failures", &maxf, NULL, 0, NULL }, { "--window", &window, NULL, 0, NULL },
		{ "--site", &s.site, NULL, 0, NULL }, { "--product", &s.product, NULL, 0, NULL },
		{ "--health", &s.health, NULL, 0, NULL }, { "--error", &s.error, NULL, 0, NULL },
		{ "--below", &s.below, NULL, 0, NULL }, { "--not-seen", &s.not_seen, NULL, 0, NULL },
	};
	char b1[DEPLOY_SHOWN_BYTES], b2[DEPLOY_SHOWN_BYTES];
	json_t *req = NULL, *resp = NULL, *x;
	size_t npos;
	int rc = CLI_EXIT_USAGE, selecting;
	char *end;
	long v;

	if (cliargs_parse("deploy create", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 1,
	                  1 + DEPLOY_MAX_DEVICES, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	selecting = s.site || s.product || s.health || s.error || s.below || s.not_seen;
	if (!tuf_target_name_ok(pos[0])) {
		cliout_usage("deploy create: TARGET is a release of the repository, such as "
		             "injector/pump-2.1.raucb");
		return CLI_EXIT_USAGE;
	}
	if ((npos > 1) == selecting) {
		cliout_usage("deploy create: name DEVICE serials or a selection (--site, --product, "
		             "--health, --error, --below, --not-seen), one or the other");
		return CLI_EXIT_USAGE;
	}
	if (reason == NULL) {
		cliout_usage("deploy create needs --reason TEXT (a change request, or why)");
		return CLI_EXIT_USAGE;
	}
	if (cliargs_check_reason(reason) != 0)
		return CLI_EXIT_USAGE;
	if ((req = json_pack("{s:s, s:s}", "target", pos[0], "reason", reason)) == NULL)
		return CLI_EXIT_FAIL;
	if (waves != NULL) {
		if ((x = deploy_waves(waves)) == NULL)
			goto out;
		json_object_set_new(req, "waves", x);
	}
	if (maxf != NULL) {
		v = strtol(maxf, &end, 10);
		if (end == maxf || *end != '\0' || v < 0 || v > 100) {
			cliout_usage("deploy create: --max-failures is a percentage, 0 to 100");
			goto out;
		}
		json_object_set_new(req, "max_failure_pct", json_integer(v));
	}
	if (window != NULL)
		json_object_set_new(req, "window", json_string(window));
	if (queue_target_devices(req, "deploy create", selecting ? &s : NULL, pos + 1,
	                         npos - 1) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (api_post(cli, "creating the deployment", "/api/v1/deployments", req, &resp) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(resp);
		goto out;
	}
	printf("deployment %s: %s to %lld device(s) in %zu wave(s); wave 1 queued\n",
	       deploy_str(resp, "id", b1, sizeof(b1)), deploy_str(resp, "target", b2, sizeof(b2)),
	       (long long)json_integer_value(json_object_get(resp, "devices")),
	       json_array_size(json_object_get(resp, "waves")));
	printf("follow it with: tether deploy status %s\n", deploy_str(resp, "id", b1, sizeof(b1)));
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

/* One deployment's progress, a line per wave; lines printed into *lines. */
static void deploy_print(const json_t *d, int *lines)
{
	char b1[DEPLOY_SHOWN_BYTES], b2[DEPLOY_SHOWN_BYTES], b3[DEPLOY_SHOWN_BYTES];
	char b4[DEPLOY_SHOWN_BYTES], share[16];
	const json_t *w;
	size_t i;
	int n = 0;

	printf("deployment %s  %s %s  %s\n", deploy_str(d, "id", b1, sizeof(b1)),
	       deploy_str(d, "target", b2, sizeof(b2)), deploy_str(d, "version", b3, sizeof(b3)),
	       deploy_str(d, "state", b4, sizeof(b4)));
	n++;
	if (json_string_length(json_object_get(d, "why")) > 0) {
		printf("  %s\n", deploy_str(d, "why", b1, sizeof(b1)));
		n++;
	}
	printf("  %-6s %-8s %-8s %-6s %-6s %-7s %s\n", "wave", "share", "devices", "done",
	       "failed", "pending", "");
	n++;
	json_array_foreach(json_object_get(d, "waves"), i, w) {
		long long devs = json_integer_value(json_object_get(w, "devices"));
		long long done = json_integer_value(json_object_get(w, "done"));
		char bar[24];
		int fill = devs > 0 ? (int)(done * 20 / devs) : 0;

		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(20 - fill));
		bar[20] = '\0';
		snprintf(share, sizeof(share), "%lld%%",
		         (long long)json_integer_value(json_object_get(w, "percent")));
		if (json_is_true(json_object_get(w, "started")))
			printf("  %-6zu %-8s %-8lld %-6lld %-6lld %-7lld [%s]\n", i + 1, share, devs,
			       done, (long long)json_integer_value(json_object_get(w, "failed")),
			       (long long)json_integer_value(json_object_get(w, "pending")), bar);
		else
			printf("  %-6zu %-8s %-8lld %-6s %-6s %-7s not started\n", i + 1, share, devs,
			       "-", "-", "-");
		n++;
	}
	*lines = n;
}

static void deploy_print_list(const json_t *list)
{
	char b1[DEPLOY_SHOWN_BYTES], b2[DEPLOY_SHOWN_BYTES], b3[DEPLOY_SHOWN_BYTES];
	const json_t *d;
	size_t i;

	printf("%-22s %-10s %-6s %-8s %s\n", "ID", "STATE", "WAVE", "DEVICES", "TARGET");
	json_array_foreach(list, i, d)
		printf("%-22s %-10s %lld/%-4zu %-8lld %s\n", deploy_str(d, "id", b1, sizeof(b1)),
		       deploy_str(d, "state", b2, sizeof(b2)),
		       (long long)json_integer_value(json_object_get(d, "wave")),
		       json_array_size(json_object_get(d, "waves")),
		       (long long)json_integer_value(json_object_get(d, "devices")),
		       deploy_str(d, "target", b3, sizeof(b3)));
}

static int deploy_status(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	char *args[4];
	int once = 0, lines = 0, live, rc = CLI_EXIT_FAIL, n = 0, i;
	char path[128];
	struct api *a = NULL;
	json_t *d = NULL;
	time_t until = time(NULL) + DEPLOY_WATCH_MAX_S;
	size_t npos;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			once = 1;
		} else if (n < 4) {
			args[n++] = argv[i];
		} else {
			cliout_usage("deploy status [ID] [--once]");
			return CLI_EXIT_USAGE;
		}
	}
	if (cliargs_parse("deploy status", n, args, NULL, 0, pos, 0, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (npos == 0)
		return api_list(cli, "listing deployments", "/api/v1/deployments", "deployments", "id",
		                "no deployments", deploy_print_list);
	if (cliargs_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/deployments/%s", pos[0]);
	if (api_open(cli, 0, &a) != 0)
		return CLI_EXIT_FAIL;
	/* On a terminal, a running deployment is followed live until it ends. */
	live = !once && !cli->json && isatty(STDOUT_FILENO);
	for (;;) {
		json_decref(d);
		d = NULL;
		if (api_call(a, "reading the deployment", "GET", path, NULL, &d) != 0)
			goto out;
		if (cli->json) {
			cliout_json(d);
			break;
		}
		if (lines > 0)
			printf("\033[%dA\033[J", lines);    /* over the last drawing */
		deploy_print(d, &lines);
		fflush(stdout);
		if (!live || strcmp(json_string_value(json_object_get(d, "state")), "running") != 0 ||
		    time(NULL) > until)
			break;
		sleep(DEPLOY_WATCH_S);
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(d);
	api_free(a);
	return rc;
}

static int deploy_act(const struct cli *cli, const char *verb, int argc, char **argv)
{
	const char *pos[1], *reason = NULL;
	const struct cliargs_opt opts[] = { { "--reason", &reason, NULL, 0, NULL } };
	char path[160], what[64], b1[DEPLOY_SHOWN_BYTES];
	json_t *req, *resp = NULL;
	size_t npos;
	int rc;

	snprintf(what, sizeof(what), "deploy %s", verb);
	if (cliargs_parse(what, argc, argv, opts, 1, pos, 1, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (reason == NULL) {
		cliout_usage("deploy %s needs --reason TEXT", verb);
		return CLI_EXIT_USAGE;
	}
	if (cliargs_check_name(pos[0]) != 0 || cliargs_check_reason(reason) != 0)
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/deployments/%s/%s", pos[0], verb);
	if ((req = json_pack("{s:s}", "reason", reason)) == NULL)
		return CLI_EXIT_FAIL;
	snprintf(what, sizeof(what), "%s the deployment", strcmp(verb, "pause") == 0 ? "pausing" :
	         strcmp(verb, "resume") == 0 ? "resuming" : "aborting");
	rc = api_post(cli, what, path, req, &resp) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	if (rc == CLI_EXIT_OK && cli->json)
		cliout_json(resp);
	else if (rc == CLI_EXIT_OK)
		printf("deployment %s is %s%s\n", pos[0], deploy_str(resp, "state", b1, sizeof(b1)),
		       json_integer_value(json_object_get(resp, "cancelled")) > 0 ?
		       "; the installs that had not started are cancelled" : "");
	json_decref(req);
	json_decref(resp);
	return rc;
}

int deploy_main(const struct cli *cli, int argc, char **argv)
{
	if (argc < 1) {
		cliout_usage("deploy: say create, status, pause, resume or abort");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "create") == 0)
		return deploy_create(cli, argc - 1, argv + 1);
	if (strcmp(argv[0], "status") == 0)
		return deploy_status(cli, argc - 1, argv + 1);
	if (strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0 ||
	    strcmp(argv[0], "abort") == 0)
		return deploy_act(cli, argv[0], argc - 1, argv + 1);
	cliout_usage("deploy: say create, status, pause, resume or abort, not %s", argv[0]);
	return CLI_EXIT_USAGE;
}

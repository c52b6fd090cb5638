/* admin_notify.c: the notifications outbox for administrators.
 *
 *   tether-server notify list --dir DIR [--json]
 *       every notification: state, attempts, next try, last error; what a
 *       customer has not been told is visible here.
 *   tether-server notify test --dir DIR [--site NAME]
 *       queue a "test" notification, delivered by the running server like
 *       any other: a check of the webhook or command setup end to end. */
#include "admin_notify.h"
#include "admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "jbody.h"
#include "notify.h"
#include "srvconf.h"
#include "store.h"

struct admin_notify_opts {
	const char *dir;
	const char *site;
	int json;
};

static int admin_notify_usage(const char *what)
{
	fprintf(stderr, "tether-server: %s\nusage:\n"
	        "  tether-server notify list --dir DIR [--json]\n"
	        "  tether-server notify test --dir DIR [--site NAME]\n", what);
	return 2;
}

static int admin_notify_opts(int argc, char **argv, struct admin_notify_opts *o)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if ((strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--site") == 0) &&
		           i + 1 < argc) {
			*(argv[i][2] == 'd' ? &o->dir : &o->site) = argv[i + 1];
			i++;
		} else {
			fprintf(stderr, "tether-server: unknown or incomplete option %s\n", argv[i]);
			return -1;
		}
	}
	return o->dir != NULL ? 0 : -1;
}

static int admin_notify_open(const char *dir, struct store **st)
{
	struct srvconf cfg;

	return admin_open(dir, &cfg, st);
}

static void admin_notify_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, outsz, "-");
	else
		strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int admin_notify_print(const struct store_notification *n, void *arg)
{
	json_t *list = arg, *body;
	char when[32];

	if (list != NULL) {
		body = json_loads(n->body, 0, NULL);
		return json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:I, s:i, s:I, s:I,"
		                             " s:s, s:o?}", "id", (json_int_t)n->id, "event", n->event,
		                             "site", n->site, "state", n->state,
		                             "created_at", (json_int_t)n->created_at,
		                             "attempts", n->attempts,
		                             "next_at", (json_int_t)n->next_at,
		                             "delivered_at", (json_int_t)n->delivered_at,
		                             "last_error", n->last_error, "body", body)) == 0
		       ? 0 : TE_ERR_NOMEM;
	}
	admin_notify_time(strcmp(n->state, "pending") == 0 ? n->next_at : n->delivered_at,
	                  when, sizeof(when));
	printf("%-6lld %-9s %-20s %-16s %8d  %-20s  %s\n", (long long)n->id, n->state,
	       n->event, n->site[0] ? n->site : "-", n->attempts,
	       strcmp(n->state, "failed") == 0 ? "-" : when,
	       n->last_error[0] ? n->last_error : "-");
	return 0;
}

static int admin_notify_list(const struct admin_notify_opts *o)
{
	struct store *st = NULL;
	json_t *list = NULL;
	char *text = NULL;
	int code = 1;

	if (o->json && (list = json_array()) == NULL)
		return 1;
	if (admin_notify_open(o->dir, &st) != 0)
		goto out;
	if (!o->json)
		printf("%-6s %-9s %-20s %-16s %8s  %-20s  %s\n", "ID", "STATE", "EVENT", "SITE",
		       "ATTEMPTS", "NEXT TRY/DELIVERED", "LAST ERROR");
	if (store_notify_each(st, admin_notify_print, list) != 0) {
		fprintf(stderr, "tether-server: could not read the notifications outbox\n");
		goto out;
	}
	if (o->json) {
		if ((text = jbody_dump(json_pack("{s:O}", "notifications", list))) == NULL)
			goto out;
		printf("%s\n", text);
	}
	code = 0;
out:
	free(text);
	json_decref(list);
	store_close(st);
	return code;
}

static int admin_notify_test(const struct admin_notify_opts *o)
{
	struct store *st = NULL;
	char *detail = NULL;
	int64_t id = 0;
	int rc, code = 1;

	if (admin_notify_open(o->dir, &st) != 0)
		goto out;
	rc = notify_queue(st, "test", o->site != NULL ? o->site : "",
	                  json_pack("{s:s}", "message", "test notification from "
	                            "`tether-server notify test`"), &id);
	if (rc != 0) {
		fprintf(stderr, "tether-server: could not queue the test notification: %s\n",
		        te_strerror(rc));
		goto out;
	}
	detail = jbody_dump(json_pack("{s:I, s:s}", "id", (json_int_t)id, "site",
	                              o->site != NULL ? o->site : ""));
	if (store_audit_append(st, "admin", "notify_test", detail ? detail : "{}") != 0)
		fprintf(stderr, "tether-server: warning: could not write the audit record\n");
	printf("queued test notification #%lld; the running server delivers it "
	       "(see `tether-server notify list --dir %s`)\n", (long long)id, o->dir);
	code = 0;
out:
	free(detail);
	store_close(st);
	return code;
}

int admin_notify_main(int argc, char **argv)
{
	struct admin_notify_opts o = { 0 };

	if (argc < 1)
		return admin_notify_usage("notify needs list or test");
	if (admin_notify_opts(argc - 1, argv + 1, &o) != 0)
		return admin_notify_usage("--dir DIR is required");
	if (strcmp(argv[0], "list") == 0 && o.site == NULL)
		return admin_notify_list(&o);
	if (strcmp(argv[0], "test") == 0 && !o.json)
		return admin_notify_test(&o);
	return admin_notify_usage("unknown notify command or option");
}

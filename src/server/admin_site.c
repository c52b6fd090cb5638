/* admin_site.c: `tether-server site add|set|list`, `user certify` and
 * `policy check|show`, run by an operator on the server host against the
 * deployment directory. Every change is audited with actor "admin". */
#include "admin.h"
#include "admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "activity.h"
#include "jbody.h"
#include "mwindow.h"
#include "policy.h"
#include "srvconf.h"
#include "srvsession.h"
#include "store.h"

#define ADMIN_SITE_ACTOR "admin"

struct admin_site_opts {
	const char *dir, *customer, *contract_until, *approval, *remote, *reason;
	const char *product, *until;
	const char *change_control, *cc_kinds, *windows, *timezone;
	int json;
};

static int admin_site_opts(int argc, char **argv, struct admin_site_opts *o)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "--dir", offsetof(struct admin_site_opts, dir) },
		{ "--customer", offsetof(struct admin_site_opts, customer) },
		{ "--contract-until", offsetof(struct admin_site_opts, contract_until) },
		{ "--approval", offsetof(struct admin_site_opts, approval) },
		{ "--remote", offsetof(struct admin_site_opts, remote) },
		{ "--reason", offsetof(struct admin_site_opts, reason) },
		{ "--product", offsetof(struct admin_site_opts, product) },
		{ "--until", offsetof(struct admin_site_opts, until) },
		{ "--change-control", offsetof(struct admin_site_opts, change_control) },
		{ "--kinds", offsetof(struct admin_site_opts, cc_kinds) },
		{ "--windows", offsetof(struct admin_site_opts, windows) },
		{ "--timezone", offsetof(struct admin_site_opts, timezone) },
	};

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		size_t k;

		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(argv[i], keys[k].name) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) || i + 1 >= argc) {
			admin_err("%s %s", argv[i], k == sizeof(keys) / sizeof(keys[0]) ?
			          "is not an option here" : "needs a value");
			return -1;
		}
		*(const char **)((char *)o + keys[k].off) = argv[++i];
	}
	if (o->dir == NULL) {
		admin_err("--dir DIR is required");
		return -1;
	}
	return 0;
}

/* A real calendar date written YYYY-MM-DD. */
static int admin_date_ok(const char *s)
{
	struct tm tm;
	char back[STORE_DATE_BYTES];
	const char *end;

	if (s == NULL || strlen(s) != 10)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return 0;
	/* strptime accepts 2026-02-31; a round trip through timegm does not. */
	tm.tm_hour = 12;
	{
		time_t t = timegm(&tm);
		struct tm again;

		gmtime_r(&t, &again);
		strftime(back, sizeof(back), "%Y-%m-%d", &again);
	}
	return strcmp(back, s) == 0;
}

static int admin_site_open(const char *dir, struct store **st)
{
	struct srvconf cfg;

	*st = NULL;
	return admin_open(dir, &cfg, st);
}

static int admin_site_add(const char *name, const struct admin_site_opts *o)
{
	struct store_audit_entry audit = { ADMIN_SITE_ACTOR, "site_add", NULL };
	const char *mode = o->approval ? o->approval : "none";
	struct store *st = NULL;
	struct store_site s;
	char *detail = NULL;
	int rc, code = 1;

	memset(&s, 0, sizeof(s));
	if (admin_text_check("site add", "--customer", o->customer, sizeof(s.customer)) != 0)
		return 2;
	if (!jbody_name_ok(name) || !admin_date_ok(o->contract_until) ||
	    !policy_approval_mode_ok(mode)) {
		admin_err("site add: NAME of [A-Za-z0-9._-], --customer TEXT, --contract-until"
		          " YYYY-MM-DD (the last day covered) and --approval none|escalations|all");
		return 2;
	}
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.customer, sizeof(s.customer), "%s", o->customer);
	snprintf(s.contract_until, sizeof(s.contract_until), "%s", o->contract_until);
	snprintf(s.approval_mode, sizeof(s.approval_mode), "%s", mode);
	s.remote_enabled = 1;
	s.created_at = (int64_t)time(NULL);
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s}", "site", name, "customer",
	                                   o->customer, "contract_until", o->contract_until,
	                                   "approval_mode", mode))) == NULL ||
	    admin_site_open(o->dir, &st) != 0)
		goto out;
	audit.detail = detail;
	if ((rc = store_site_add(st, &s, &audit)) != 0) {
		admin_err("could not add site %s: %s", name, rc == TE_ERR_EXISTS ?
		          "a site with this name exists" : te_strerror(rc));
		goto out;
	}
	fprintf(stderr, "tether-server: site %s (%s) added; contract until %s, approval %s\n",
	        name, o->customer, o->contract_until, mode);
	code = 0;
out:
	free(detail);
	store_close(st);
	return code;
}

struct admin_site_end_ctx {
	struct store *st;
	const char *reason;
	int n;
};

static int admin_site_end_cb(const struct store_session *s, void *arg)
{
	struct admin_site_end_ctx *c = arg;

	if (session_move(c->st, s, SESSION_ENDED, c->reason, NULL, ADMIN_SITE_ACTOR,
	                 (int64_t)time(NULL)) == 0)
		c->n++;
	return 0;
}

/* The change-control options: 0, or -1 with why said. */
static int admin_site_cc_check(const struct admin_site_opts *o)
{
	struct mwindow w;
	char bad[128];

	if (o->change_control != NULL && strcmp(o->change_control, "none") != 0 &&
	    strcmp(o->change_control, "approval") != 0) {
		admin_err("site set: --change-control none|approval");
		return -1;
	}
	if (o->cc_kinds != NULL && (strlen(o->cc_kinds) >= STORE_CC_KINDS_BYTES ||
	                            !activity_kinds_ok(o->cc_kinds))) {
		admin_err("site set: --kinds lists diag, collect, config (comma-separated; \"\":"
		          " every kind)");
		return -1;
	}
	if (o->windows != NULL && (strlen(o->windows) >= MWINDOW_SPEC_BYTES ||
	                           mwindow_parse(o->windows, &w, bad, sizeof(bad)) != 0)) {
		admin_err("site set: --windows: %s", strlen(o->windows) >= MWINDOW_SPEC_BYTES ?
		          "too long" : bad);
		return -1;
	}
	if (o->timezone != NULL && mwindow_tz_ok(o->timezone) != 0) {
		admin_err("site set: --timezone must be a zone of the tz database (as in"
		          " /usr/share/zoneinfo), such as Europe/Berlin, or UTC");
		return -1;
	}
	return 0;
}

static int admin_site_set_check(const struct admin_site_opts *o)
{
	if (admin_site_cc_check(o) != 0)
		return -1;
	if ((o->contract_until != NULL && !admin_date_ok(o->contract_until)) ||
	    (o->approval != NULL && !policy_approval_mode_ok(o->approval)) ||
	    (o->remote != NULL && strcmp(o->remote, "on") != 0 && strcmp(o->remote, "off") != 0) ||
	    (o->remote != NULL && o->reason == NULL)) {
		admin_err("site set: --contract-until YYYY-MM-DD, --approval none|escalations|all,"
		          " --remote on|off with --reason TEXT");
		return -1;
	}
	if (o->remote != NULL && admin_text_check("site set", "--reason", o->reason,
	                                          MAX_REASON_BYTES) != 0)
		return -1;
	if (o->contract_until == NULL && o->approval == NULL && o->remote == NULL &&
	    o->change_control == NULL && o->cc_kinds == NULL && o->windows == NULL &&
	    o->timezone == NULL) {
		admin_err("site set: nothing to change");
		return -1;
	}
	return 0;
}

static int admin_site_set(const char *name, const struct admin_site_opts *o)
{
	struct store_audit_entry audit = { ADMIN_SITE_ACTOR, "site_set", NULL };
	struct admin_site_end_ctx c = { NULL, NULL, 0 };
	char *detail = NULL, reason[2 * MAX_REASON_BYTES];
	struct store *st = NULL;
	struct store_site s;
	int rc, code = 1;

	if (admin_site_set_check(o) != 0)
		return 2;
	if (admin_site_open(o->dir, &st) != 0)
		goto out;
	if (store_site_get(st, name, &s) != 0) {
		admin_err("site set: no site %s", name);
		goto out;
	}
	if (o->contract_until != NULL)
		snprintf(s.contract_until, sizeof(s.contract_until), "%s", o->contract_until);
	if (o->approval != NULL)
		snprintf(s.approval_mode, sizeof(s.approval_mode), "%s", o->approval);
#define ADMIN_SITE_SET(field, opt) \
	if (opt != NULL) snprintf(s.field, sizeof(s.field), "%s", opt)
	ADMIN_SITE_SET(change_control, o->change_control);
	ADMIN_SITE_SET(cc_kinds, o->cc_kinds);
	ADMIN_SITE_SET(windows, o->windows);
	ADMIN_SITE_SET(timezone, o->timezone);
#undef ADMIN_SITE_SET
	if (o->remote != NULL) {
		s.remote_enabled = strcmp(o->remote, "on") == 0;
		snprintf(s.remote_changed_by, sizeof(s.remote_changed_by), ADMIN_SITE_ACTOR);
		snprintf(s.remote_reason, sizeof(s.remote_reason), "%s", o->reason);
		audit.action = s.remote_enabled ? "site_remote_on" : "site_remote_off";
	}
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s}",
	                                   "site", name, "contract_until", s.contract_until,
	                                   "approval_mode", s.approval_mode, "remote_enabled",
	                                   s.remote_enabled, "by", ADMIN_SITE_ACTOR, "reason",
	                                   o->reason ? o->reason : "", "change_control",
	                                   s.change_control, "kinds", s.cc_kinds, "windows",
	                                   s.windows, "timezone", s.timezone))) == NULL)
		goto out;
	audit.detail = detail;
	if ((rc = store_site_update(st, &s, &audit)) != 0) {
		admin_err("could not change site %s: %s", name, te_strerror(rc));
		goto out;
	}
	if (o->remote != NULL && !s.remote_enabled) {
		/* The running server tells each device at its next ping. */
		snprintf(reason, sizeof(reason), "remote service switched off for site %s by an"
		         " administrator on the server host: %s", name, o->reason);
		c.st = st;
		c.reason = reason;
		(void)store_session_each_open_at_site(st, name, admin_site_end_cb, &c);
		fprintf(stderr, "tether-server: %d open session(s) of site %s ended\n", c.n, name);
	}
	fprintf(stderr, "tether-server: site %s: contract until %s, approval %s, remote %s,"
	        " change control %s%s%s%s, windows %s (%s)\n", name, s.contract_until,
	        s.approval_mode, s.remote_enabled ? "on" : "off", s.change_control,
	        s.cc_kinds[0] ? " (" : "", s.cc_kinds, s.cc_kinds[0] ? ")" : "",
	        s.windows[0] ? s.windows : "none: any time", s.timezone);
	code = 0;
out:
	free(detail);
	store_close(st);
	return code;
}

static int admin_site_list_cb(const struct store_site *s, void *arg)
{
	json_t *arr = arg;

	if (arr != NULL)
		return json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s,"
		       " s:s, s:s, s:s, s:s}", "name", s->name, "customer", s->customer,
		       "contract_until", s->contract_until, "remote_enabled", s->remote_enabled,
		       "remote_changed_by", s->remote_changed_by, "remote_reason", s->remote_reason,
		       "approval_mode", s->approval_mode, "change_control", s->change_control,
		       "cc_kinds", s->cc_kinds, "windows", s->windows, "timezone", s->timezone))
		       == 0 ? 0 : TE_ERR_NOMEM;
	printf("%-20s %-30s contract-until %s  remote %-3s  approval %s  change-control %s%s%s"
	       "  windows %s (%s)\n", s->name, s->customer, s->contract_until,
	       s->remote_enabled ? "on" : "off", s->approval_mode, s->change_control,
	       s->cc_kinds[0] ? ":" : "", s->cc_kinds, s->windows[0] ? s->windows : "-",
	       s->timezone);
	return 0;
}

static int admin_site_list(const struct admin_site_opts *o)
{
	struct store *st = NULL;
	json_t *arr = o->json ? json_array() : NULL;
	int code = 1;

	if (admin_site_open(o->dir, &st) != 0)
		goto out;
	if (store_site_each(st, admin_site_list_cb, arr) != 0) {
		admin_err("site list: could not read the sites");
		goto out;
	}
	if (arr != NULL) {
		char *text = json_dumps(arr, JSON_INDENT(2));

		printf("%s\n", text ? text : "[]");
		free(text);
	}
	code = 0;
out:
	json_decref(arr);
	store_close(st);
	return code;
}

static int admin_user_certify(const char *name, const struct admin_site_opts *o)
{
	struct store_audit_entry audit = { ADMIN_SITE_ACTOR, "user_certify", NULL };
	struct store *st = NULL;
	struct store_user u;
	char *detail = NULL;
	int rc, code = 1;

	if (!jbody_name_ok(name) || o->product == NULL || !jbody_name_ok(o->product) ||
	    !admin_date_ok(o->until)) {
		admin_err("user certify: NAME --product FAMILY --until YYYY-MM-DD (the last"
		          " day the certification is valid)");
		return 2;
	}
	if (admin_site_open(o->dir, &st) != 0)
		goto out;
	if (store_user_get(st, name, &u) != 0) {
		admin_err("user certify: no user %s", name);
		goto out;
	}
	if (admin_product_check(st, "user certify", o->product) != 0)
		goto out;
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s}", "user", name, "role", u.role,
	                                   "product", o->product, "until", o->until))) == NULL)
		goto out;
	audit.detail = detail;
	if ((rc = store_cert_set(st, name, o->product, o->until, &audit)) != 0) {
		admin_err("could not certify %s: %s", name, te_strerror(rc));
		goto out;
	}
	fprintf(stderr, "tether-server: %s is certified for %s until %s\n", name, o->product,
	        o->until);
	code = 0;
out:
	free(detail);
	store_close(st);
	return code;
}

/* The matrix as text: one line per role with its permissions. */
static void admin_policy_print(const struct policy *p)
{
	for (size_t i = 0; i < POLICY_N_ROLES; i++) {
		const struct policy_role *r = &p->roles[i];
		char name[40];

		if (r->level > 0)
			snprintf(name, sizeof(name), "%s.%d", r->name, r->level);
		else
			snprintf(name, sizeof(name), "%s", r->name);
		printf("%-20s", name);
		for (size_t k = 0; k < r->nperms; k++)
			printf(" %s", r->perms[k]);
		printf("%s\n", r->nperms == 0 ? " (nothing)" : "");
	}
	for (size_t i = 0; i <= p->nregions; i++) {
		const struct policy_region *g = i < p->nregions ? &p->regions[i] : &p->def;

		printf("region %-8s %s", g->code, g->allow ? "allow" : "deny");
		for (int l = 1, first = 1; g->allow && l <= 3; l++) {
			if (!(g->levels & (1u << l)))
				continue;
			printf("%s%d", first ? " levels=" : ",", l);
			first = 0;
		}
		if (g->escalation)
			printf(" escalation");
		if (g->notice_s > 0)
			printf(" notice_s=%lld", (long long)g->notice_s);
		printf("\n");
	}
	printf("session.max_duration_s %lld\nsession.idle_timeout_s %lld\n"
	       "approval.timeout_s %lld\n", (long long)p->max_duration_s,
	       (long long)p->idle_timeout_s, (long long)p->approval_timeout_s);
}

static int admin_policy(const char *what, const struct admin_site_opts *o)
{
	struct policy *p = NULL;
	char errbuf[512] = "";
	int rc;

	if ((rc = policy_load(o->dir, &p, errbuf, sizeof(errbuf))) != 0) {
		admin_err("%s", errbuf[0] ? errbuf : te_strerror(rc));
		return 1;
	}
	if (strcmp(what, "check") == 0) {
		printf("%s/%s: ok\n", o->dir, POLICY_FILE);
	} else if (o->json) {
		json_t *j = policy_json(p);
		char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(j);
	} else {
		admin_policy_print(p);
	}
	policy_free(p);
	return 0;
}

int admin_site_main(int argc, char **argv)
{
	struct admin_site_opts o;
	const char *area = argv[0], *verb = argc >= 2 ? argv[1] : "";
	int named = strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0 ||
	            strcmp(verb, "certify") == 0;

	if (verb[0] == '\0' || verb[0] == '-') {
		admin_err("%s needs a command: site add|set|list, user certify, policy"
		          " check|show (see tether-server --help)", area);
		return 2;
	}
	if (strcmp(area, "policy") == 0 && strcmp(verb, "default") == 0 && argc == 2) {
		/* For a deployment made before policy.conf existed. */
		fputs(policy_default_text(), stdout);
		return 0;
	}
	if (named && (argc < 3 || argv[2][0] == '-')) {
		admin_err("%s %s needs a name", area, verb);
		return 2;
	}
	if (admin_site_opts(argc - 2 - named, argv + 2 + named, &o) != 0)
		return 2;
	if (strcmp(area, "site") == 0 && strcmp(verb, "add") == 0)
		return admin_site_add(argv[2], &o);
	if (strcmp(area, "site") == 0 && strcmp(verb, "set") == 0)
		return admin_site_set(argv[2], &o);
	if (strcmp(area, "site") == 0 && strcmp(verb, "list") == 0)
		return admin_site_list(&o);
	if (strcmp(area, "user") == 0 && strcmp(verb, "certify") == 0)
		return admin_user_certify(argv[2], &o);
	if (strcmp(area, "policy") == 0 && (strcmp(verb, "check") == 0 ||
	                                    strcmp(verb, "show") == 0))
		return admin_policy(verb, &o);
	admin_err("unknown command %s %s (see tether-server --help)", area, verb);
	return 2;
}

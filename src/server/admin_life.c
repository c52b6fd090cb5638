/* admin_life.c: the administrator's lifecycle commands, run on the server
 * host against the deployment directory: `device list|reissue-token`,
 * `user list|set|disable|enable`, `relay list|remove` and
 * `product add|list`. Every change is audited with actor "admin"; the
 * lists only read. */
#include "admin_life.h"
#include "admin_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bounds.h"
#include "err.h"
#include "jbody.h"
#include "policy.h"
#include "region.h"
#include "relaypick.h"
#include "secret.h"
#include "srvconf.h"
#include "store.h"
#include "text.h"

#define LIFE_ACTOR "admin"

struct life_args {
	const char *group, *cmd, *name;   /* "user", "set", "alice" */
	const char *dir, *role, *level, *region, *site, *reason;
	int json;
};

struct life_cmd {
	const char *group, *cmd;
	int takes_name;                   /* a NAME (or SERIAL) after the command */
	const char *opts;                 /* the options it takes, " --dir --json " */
	const char *usage;
	int (*fn)(const struct life_args *, struct store *);
};

/* Print a JSON document built by the caller (stolen) on stdout. */
static int life_print_json(json_t *doc)
{
	char *text = jbody_dump(doc);

	if (text == NULL)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static void life_when(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		snprintf(out, outsz, "never");
	else
		strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

/* ---- devices ---- */

struct life_list {
	json_t *arr;                      /* --json; NULL for text */
	int n;
};

static int life_device_cb(const struct store_device *d, void *arg)
{
	struct life_list *l = arg;
	char seen[32], cust[STORE_TEXT_BYTES * 6];

	l->n++;
	if (l->arr != NULL)
		return json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
		       "serial", d->serial, "customer", d->customer, "product", d->product,
		       "site", d->site, "status", d->status, "last_seen", (json_int_t)d->last_seen,
		       "agent_version", d->agent_version)) == 0 ? 0 : TE_ERR_NOMEM;
	life_when(d->last_seen, seen, sizeof(seen));
	printf("%-20s %-10s %-12s %-16s %-20s %s\n", d->serial, d->status, d->product, d->site,
	       seen, text_escape_display(d->customer, cust, sizeof(cust)));
	return 0;
}

static int life_device_list(const struct life_args *a, struct store *st)
{
	struct life_list l = { NULL, 0 };
	int code = 1;

	if (a->json && (l.arr = json_array()) == NULL)
		return 1;
	if (!a->json)
		printf("%-20s %-10s %-12s %-16s %-20s %s\n", "SERIAL", "STATUS", "PRODUCT", "SITE",
		       "LAST SEEN", "CUSTOMER");
	if (store_device_each(st, life_device_cb, &l) != 0) {
		admin_err("device list: could not read the devices");
		goto out;
	}
	code = a->json ? life_print_json(json_pack("{s:O}", "devices", l.arr)) : 0;
out:
	json_decref(l.arr);
	return code;
}

/* A new one-time enrollment token for a device that was revoked, or whose
 * hardware or key was replaced: its certificate is refused from now on,
 * and `tether-agent enroll` with the token makes a new key and certificate. */
static int life_device_reissue(const struct life_args *a, struct store *st)
{
	struct store_audit_entry audit = { LIFE_ACTOR, "device_reissue_token", NULL };
	struct store_device *d = NULL;
	char token[TOKEN_TEXT_BYTES], hash[SHA256_HEX_BYTES], *detail = NULL;
	int64_t exp = (int64_t)time(NULL) + ENROLL_TOKEN_TTL_S;
	int rc, code = 1;

	token[0] = '\0';
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	if ((rc = store_device_get(st, a->name, d)) != 0) {
		admin_err("device reissue-token: %s", rc == TE_ERR_NOT_FOUND ?
		          "no device with this serial (add it with `tether-server device add`)" :
		          te_strerror(rc));
		goto out;
	}
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:I}", "serial", d->serial,
	                                   "was", d->status, "old_cert_fp", d->cert_fp,
	                                   "token_expires_at", (json_int_t)exp))) == NULL)
		goto out;
	audit.detail = detail;
	if ((rc = secret_token_new(token)) != 0 ||
	    (rc = secret_sha256_hex(token, strlen(token), hash)) != 0 ||
	    (rc = store_device_reissue(st, d->serial, hash, exp, &audit)) != 0) {
		admin_err("device reissue-token: could not make the token: %s", te_strerror(rc));
		goto out;
	}
	printf("%s\n", token);
	fprintf(stderr, "tether-server: device %s (was %s) may enroll again with the token above,"
	        " valid once, for %d hours.\n  Its old certificate is refused from now on; on the"
	        " device run\n  tether-agent enroll --config FILE --token TOKEN --ca-fingerprint FP"
	        "\n  with an empty state folder, which makes a new key.\n", d->serial, d->status,
	        ENROLL_TOKEN_TTL_S / 3600);
	code = 0;
out:
	OPENSSL_cleanse(token, sizeof(token));
	free(detail);
	free(d);
	return code;
}

/* ---- users ---- */

static int life_user_cb(const struct store_user *u, void *arg)
{
	struct life_list *l = arg;
	char made[32];

	l->n++;
	if (l->arr != NULL)
		return json_array_append_new(l->arr, json_pack("{s:s, s:s, s:i, s:s, s:s, s:b}",
		       "name", u->name, "role", u->role, "level", u->level, "region", u->region,
		       "site", u->site, "disabled", u->disabled)) == 0 ? 0 : TE_ERR_NOMEM;
	life_when(u->created_at, made, sizeof(made));
	printf("%-20s %-18s %-5d %-6s %-16s %-8s %s\n", u->name, u->role, u->level,
	       u->region[0] ? u->region : "-", u->site[0] ? u->site : "-",
	       u->disabled ? "disabled" : "active", made);
	return 0;
}

static int life_user_list(const struct life_args *a, struct store *st)
{
	struct life_list l = { NULL, 0 };
	int code = 1;

	if (a->json && (l.arr = json_array()) == NULL)
		return 1;
	if (!a->json)
		printf("%-20s %-18s %-5s %-6s %-16s %-8s %s\n", "NAME", "ROLE", "LEVEL", "REGION",
		       "SITE", "STATE", "CREATED");
	if (store_user_each(st, life_user_cb, &l) != 0) {
		admin_err("user list: could not read the users");
		goto out;
	}
	code = a->json ? life_print_json(json_pack("{s:O}", "users", l.arr)) : 0;
out:
	json_decref(l.arr);
	return code;
}

/* Apply the options of `user set` to u and check the result as `user add`
 * would; says what is wrong and returns -1. */
static int life_user_apply(const struct life_args *a, struct store *st, struct store_user *u)
{
	struct store_site where;
	char *end = NULL;
	long level;

	if (a->role != NULL) {
		if (!policy_role_valid(a->role)) {
			admin_err("user set: --role must be specialist, customer_approver,"
			          " customer_viewer, release_manager, administrator or auditor");
			return -1;
		}
		snprintf(u->role, sizeof(u->role), "%s", a->role);
		if (!policy_role_is_customer(u->role) && a->site == NULL)
			u->site[0] = '\0';
	}
	if (a->level != NULL) {
		level = strtol(a->level, &end, 10);
		if (a->level[0] == '\0' || *end != '\0' || level < 1 || level > 3) {
			admin_err("user set: --level must be 1, 2 or 3");
			return -1;
		}
		u->level = (int)level;
	}
	if (a->region != NULL && a->region[0] != '\0' && region_normalise(a->region, u->region) != 0) {
		admin_err("user set: --region must be an ISO 3166 country code such as US or DE"
		          " (\"%s\" is not one)", jbody_name_ok(a->region) ? a->region : "?");
		return -1;
	}
	if (a->region != NULL && a->region[0] == '\0')
		u->region[0] = '\0';
	if (a->site != NULL) {
		if (!jbody_name_ok(a->site) || store_site_get(st, a->site, &where) != 0) {
			admin_err("user set: no site %s; add it first with `tether-server site add`",
			          jbody_name_ok(a->site) ? a->site : "?");
			return -1;
		}
		snprintf(u->site, sizeof(u->site), "%s", a->site);
	}
	if (policy_role_is_customer(u->role) != (u->site[0] != '\0')) {
		admin_err(u->site[0] == '\0' ? "user set: a %s acts for one site: give --site SITE" :
		          "user set: --site is only for customer_approver and customer_viewer"
		          " (not %s)", u->role);
		return -1;
	}
	return 0;
}

static int life_user_set(const struct life_args *a, struct store *st)
{
	struct store_audit_entry audit = { LIFE_ACTOR, "user_set", NULL };
	struct store_user u;
	char *detail = NULL;
	int rc, code = 1;

	if (a->role == NULL && a->level == NULL && a->region == NULL && a->site == NULL) {
		admin_err("user set: give at least one of --role, --level, --region, --site");
		return 2;
	}
	if ((rc = store_user_get(st, a->name, &u)) != 0) {
		admin_err("user set: %s", rc == TE_ERR_NOT_FOUND ? "no such user" : te_strerror(rc));
		goto out;
	}
	if (life_user_apply(a, st, &u) != 0) {
		code = 2;
		goto out;
	}
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:i, s:s, s:s}", "user", u.name, "role",
	                                   u.role, "level", u.level, "region", u.region, "site",
	                                   u.site))) == NULL)
		goto out;
	audit.detail = detail;
	if ((rc = store_user_update(st, &u, &audit)) != 0) {
		admin_err("user set: %s", te_strerror(rc));
		goto out;
	}
	printf("user %s: %s, level %d, region %s, site %s\n", u.name, u.role, u.level,
	       u.region[0] ? u.region : "-", u.site[0] ? u.site : "-");
	code = 0;
out:
	free(detail);
	secret_wipe(&u, sizeof(u));
	return code;
}

static int life_user_able(const struct life_args *a, struct store *st, int disable)
{
	struct store_audit_entry audit = { LIFE_ACTOR, disable ? "user_disable" : "user_enable",
	                                   NULL };
	char *detail = NULL;
	int rc, revoked = 0, code = 1;

	if (a->reason != NULL && admin_text_check("user disable", "--reason", a->reason,
	                                          MAX_REASON_BYTES) != 0)
		return 2;
	if ((detail = jbody_dump(json_pack("{s:s, s:s?}", "user", a->name, "reason",
	                                   a->reason))) == NULL)
		return 1;
	audit.detail = detail;
	rc = store_user_set_disabled(st, a->name, disable, &revoked, &audit);
	if (rc == TE_ERR_EXISTS) {
		printf("user %s: already %s\n", a->name, disable ? "disabled" : "enabled");
		code = 0;
	} else if (rc != 0) {
		admin_err("user %s: %s", a->cmd, rc == TE_ERR_NOT_FOUND ? "no such user" :
		          te_strerror(rc));
	} else if (disable) {
		printf("user %s: disabled; %d login%s revoked, and logging in is refused until"
		       " `tether-server user enable %s`\n", a->name, revoked, revoked == 1 ? "" : "s",
		       a->name);
		code = 0;
	} else {
		printf("user %s: enabled; the user may log in again\n", a->name);
		code = 0;
	}
	free(detail);
	return code;
}

static int life_user_disable(const struct life_args *a, struct store *st)
{
	return life_user_able(a, st, 1);
}

static int life_user_enable(const struct life_args *a, struct store *st)
{
	return life_user_able(a, st, 0);
}

/* ---- relays ---- */

static int life_relay_list(const struct life_args *a, struct store *st)
{
	struct store_relay *r;
	json_t *arr = NULL;
	size_t n = 0;
	int code = 1;

	if ((r = calloc(RELAYPICK_MAX_RELAYS, sizeof(*r))) == NULL ||
	    (a->json && (arr = json_array()) == NULL))
		goto out;
	if (store_relay_list(st, r, RELAYPICK_MAX_RELAYS, &n) != 0) {
		admin_err("relay list: could not read the relays");
		goto out;
	}
	if (!a->json)
		printf("%-20s %-24s %-11s %-11s %s\n", "NAME", "HOST", "DEVICE PORT", "CLIENT PORT",
		       "CERTIFICATE SHA-256");
	for (size_t i = 0; i < n; i++) {
		if (arr != NULL)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:i, s:s}", "name",
			                      r[i].name, "host", r[i].host, "device_port",
			                      r[i].device_port, "client_port", r[i].client_port,
			                      "cert_fp", r[i].cert_fp));
		else
			printf("%-20s %-24s %-11d %-11d %s\n", r[i].name, r[i].host, r[i].device_port,
			       r[i].client_port, r[i].cert_fp);
	}
	code = a->json ? life_print_json(json_pack("{s:O}", "relays", arr)) : 0;
out:
	json_decref(arr);
	free(r);
	return code;
}

static int life_relay_remove(const struct life_args *a, struct store *st)
{
	struct store_audit_entry audit = { LIFE_ACTOR, "relay_remove", NULL };
	struct store_relay r;
	char *detail = NULL;
	int rc, code = 1;

	if ((rc = store_relay_get(st, a->name, &r)) != 0) {
		admin_err("relay remove: %s", rc == TE_ERR_NOT_FOUND ? "no relay with this name"
		                                                     : te_strerror(rc));
		return 1;
	}
	if ((detail = jbody_dump(json_pack("{s:s, s:s, s:s}", "name", r.name, "host", r.host,
	                                   "cert_fp", r.cert_fp))) == NULL)
		return 1;
	audit.detail = detail;
	if ((rc = store_relay_remove(st, a->name, &audit)) != 0) {
		admin_err("relay remove: %s", te_strerror(rc));
		goto out;
	}
	printf("relay %s: removed; no new session is sent through it, and its certificate is"
	       " refused by the server.\n  Stop tether-relay on %s; its folder %s/relays/%s may"
	       " be deleted.\n", r.name, r.host, a->dir, r.name);
	code = 0;
out:
	free(detail);
	return code;
}

/* ---- product families ---- */

static int life_product_cb(const char *name, int64_t created_at, void *arg)
{
	struct life_list *l = arg;
	char made[32];

	l->n++;
	if (l->arr != NULL)
		return json_array_append_new(l->arr, json_pack("{s:s, s:I}", "name", name,
		       "created_at", (json_int_t)created_at)) == 0 ? 0 : TE_ERR_NOMEM;
	life_when(created_at, made, sizeof(made));
	printf("%-24s %s\n", name, made);
	return 0;
}

static int life_product_list(const struct life_args *a, struct store *st)
{
	struct life_list l = { NULL, 0 };
	int code = 1;

	if (a->json && (l.arr = json_array()) == NULL)
		return 1;
	if (!a->json)
		printf("%-24s %s\n", "PRODUCT FAMILY", "ADDED");
	if (store_product_each(st, life_product_cb, &l) != 0) {
		admin_err("product list: could not read the product families");
		goto out;
	}
	code = a->json ? life_print_json(json_pack("{s:O}", "products", l.arr)) : 0;
out:
	json_decref(l.arr);
	return code;
}

static int life_product_add(const struct life_args *a, struct store *st)
{
	struct store_audit_entry audit = { LIFE_ACTOR, "product_add", NULL };
	char *detail;
	int rc;

	if ((detail = jbody_dump(json_pack("{s:s}", "product", a->name))) == NULL)
		return 1;
	audit.detail = detail;
	rc = store_product_add(st, a->name, (int64_t)time(NULL), &audit);
	free(detail);
	if (rc == TE_ERR_EXISTS) {
		admin_err("product add: the product family %s is registered already", a->name);
		return 1;
	}
	if (rc != 0) {
		admin_err("product add: %s", te_strerror(rc));
		return 1;
	}
	printf("product family %s: registered\n", a->name);
	return 0;
}

static const struct life_cmd life_cmds[] = {
	{ "device", "list", 0, " --dir --json ", "device list --dir DIR [--json]",
	  life_device_list },
	{ "device", "reissue-token", 1, " --dir ", "device reissue-token SERIAL --dir DIR\n"
	  "                (a revoked or replaced device: prints a new one-time enrollment token; the old\n"
	  "                certificate is refused from now on; the device enrolls again\n"
	  "                with a new key)",
	  life_device_reissue },
	{ "user", "list", 0, " --dir --json ", "user list --dir DIR [--json]", life_user_list },
	{ "user", "set", 1, " --dir --role --level --region --site ",
	  "user set NAME [--role ROLE] [--level 1-3] [--region CC] [--site SITE] --dir DIR\n"
	  "                (CC: an ISO 3166 country code, either case; --region \"\" clears it)",
	  life_user_set },
	{ "user", "disable", 1, " --dir --reason ", "user disable NAME [--reason TEXT] --dir DIR\n"
	  "                (revokes the user's logins and refuses new ones until enable)",
	  life_user_disable },
	{ "user", "enable", 1, " --dir ", "user enable NAME --dir DIR", life_user_enable },
	{ "relay", "list", 0, " --dir --json ", "relay list --dir DIR [--json]", life_relay_list },
	{ "relay", "remove", 1, " --dir ", "relay remove NAME --dir DIR\n"
	  "                (no new session goes through it; its certificate is refused by\n"
	  "                the server)",
	  life_relay_remove },
	{ "product", "add", 1, " --dir ", "product add FAMILY --dir DIR\n"
	  "                (once any family is registered, device add and user certify take only\n"
	  "                registered ones, so a typo is refused)", life_product_add },
	{ "product", "list", 0, " --dir --json ", "product list --dir DIR [--json]",
	  life_product_list },
};
#define LIFE_NCMDS (sizeof(life_cmds) / sizeof(life_cmds[0]))

static const struct life_cmd *life_find(const char *group, const char *cmd)
{
	for (size_t i = 0; i < LIFE_NCMDS; i++)
		if (strcmp(life_cmds[i].group, group) == 0 && strcmp(life_cmds[i].cmd, cmd) == 0)
			return &life_cmds[i];
	return NULL;
}

int admin_life_handles(int argc, char **argv)
{
	return argc >= 2 && life_find(argv[0], argv[1]) != NULL;
}

void admin_life_usage(FILE *f)
{
	for (size_t i = 0; i < LIFE_NCMDS; i++)
		fprintf(f, "  tether-server %s\n", life_cmds[i].usage);
}

static int life_help_asked(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int life_parse(const struct life_cmd *c, int argc, char **argv, struct life_args *a)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "--dir", offsetof(struct life_args, dir) },
		{ "--role", offsetof(struct life_args, role) },
		{ "--level", offsetof(struct life_args, level) },
		{ "--region", offsetof(struct life_args, region) },
		{ "--site", offsetof(struct life_args, site) },
		{ "--reason", offsetof(struct life_args, reason) },
	};
	char pat[40];
	int i = 2;

	memset(a, 0, sizeof(*a));
	a->group = c->group;
	a->cmd = c->cmd;
	if (c->takes_name) {
		if (argc < 3 || argv[2][0] == '-') {
			admin_err("%s %s needs a %s", c->group, c->cmd,
			          strcmp(c->group, "device") == 0 ? "serial" : "name");
			return -1;
		}
		a->name = argv[i++];
		if (!jbody_name_ok(a->name)) {
			admin_err("%s %s: the %s must be a name of [A-Za-z0-9._-]", c->group, c->cmd,
			          strcmp(c->group, "device") == 0 ? "serial" : "name");
			return -1;
		}
	}
	for (; i < argc; i++) {
		size_t k;

		snprintf(pat, sizeof(pat), " %s ", argv[i]);
		if (strlen(argv[i]) > 20 || strstr(c->opts, pat) == NULL) {
			admin_err("%s %s: %s is not an option here", c->group, c->cmd,
			          jbody_name_ok(argv[i]) ? argv[i] : "that");
			return -1;
		}
		if (strcmp(argv[i], "--json") == 0) {
			a->json = 1;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(argv[i], keys[k].name) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) || i + 1 >= argc) {
			admin_err("%s %s: %s needs a value", c->group, c->cmd, argv[i]);
			return -1;
		}
		*(const char **)((char *)a + keys[k].off) = argv[++i];
	}
	if (a->dir == NULL) {
		admin_err("%s %s: --dir DIR is required", c->group, c->cmd);
		return -1;
	}
	return 0;
}

int admin_life_main(int argc, char **argv)
{
	const struct life_cmd *c = life_find(argv[0], argv[1]);
	struct life_args a;
	struct srvconf cfg;
	struct store *st = NULL;
	int code = 1;

	if (life_help_asked(argc, argv)) {
		printf("usage: tether-server %s\n", c->usage);
		return 0;
	}
	if (life_parse(c, argc, argv, &a) != 0) {
		fprintf(stderr, "usage: tether-server %s\n", c->usage);
		return 2;
	}
	if (admin_open(a.dir, &cfg, &st) == 0)
		code = c->fn(&a, st);
	store_close(st);
	return code;
}

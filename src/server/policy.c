/* policy.c: parse DIR/policy.conf and answer "may this role do that".
 *
 * The file is read with the strict config module (unknown keys are an
 * error), then every value is checked here; a bad value names its line. */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"

const char *const policy_role_names[] = {
	"specialist", "customer_approver", "customer_viewer", "release_manager",
	"administrator", "auditor", NULL,
};

/* The roles' keys, in the order of struct policy's roles[]. */
static const char *const policy_role_keys[POLICY_N_ROLES] = {
	"role.specialist.1", "role.specialist.2", "role.specialist.3",
	"role.customer_approver", "role.customer_viewer", "role.release_manager",
	"role.administrator", "role.auditor",
};

static const char *const policy_keys[] = {
	"role.specialist.1", "role.specialist.2", "role.specialist.3",
	"role.customer_approver", "role.customer_viewer", "role.release_manager",
	"role.administrator", "role.auditor", "region.", "session.max_duration_s",
	"session.idle_timeout_s", "approval.timeout_s", NULL,
};

/* Permissions that are single words (the API's and three session actions). */
static const char *const policy_words[] = {
	POLICY_DEVICES_VIEW, POLICY_USERS_VIEW, POLICY_AUDIT_READ, POLICY_SESSION_REQUEST,
	POLICY_SESSION_END_SITE, POLICY_SESSION_END_ANY, POLICY_APPROVALS_VIEW,
	POLICY_APPROVALS_DECIDE, POLICY_SITES_VIEW, POLICY_SITE_SWITCH, POLICY_SITE_APPROVAL,
	POLICY_FILES_COLLECT, POLICY_RECORDS_VIEW, POLICY_QUEUE_VIEW, POLICY_QUEUE_ADD,
	POLICY_QUEUE_CANCEL, POLICY_CONFIG_CHANGE, POLICY_SOFTWARE_INSTALL, POLICY_ADVISORIES_VIEW,
	POLICY_REPO_PUBLISH, "shell", "files:read", "files:write", "patient_records", NULL,
};

static const char policy_default[] =
	"# tether access policy (written by `tether-server init`).\n"
	"# Read by `tether-server run` at start; check a change with\n"
	"#     tether-server policy check --dir DIR\n"
	"# and see the effective matrix with `tether-server policy show --dir DIR`.\n"
	"# Unknown keys and unknown permissions are errors.\n"
	"#\n"
	"# role.ROLE = PERMISSION ...   (role.specialist.1, .2, .3 for the levels)\n"
	"#   @ROLE        every permission of a role defined above, e.g. @specialist.1\n"
	"#   API:     devices:view users:view audit:read session:request\n"
	"#            session:end:site session:end:any approvals:view approvals:decide\n"
	"#            sites:view site:switch site:approval files:collect (data files\n"
	"#            collected from devices: list and fetch) records:view (service\n"
	"#            records) queue:view queue:add queue:cancel (the maintenance\n"
	"#            queue; queueing also needs diag:NAME, files:collect,\n"
	"#            config:change or software:install for its kind)\n"
	"#            advisories:view (imported OSV advisories matched against the\n"
	"#            fleet) repo:publish (a release manager's signed releases\n"
	"#            uploaded with tether repo publish)\n"
	"#   session: forward:NAME forward:* files:read files:write (includes read)\n"
	"#            shell diag:NAME diag:* patient_records\n"
	"# patient_records is in no role by default: add it to a role to let it ask\n"
	"# for patient data; each such session also needs the customer's approval.\n"
	"role.specialist.1 = devices:view session:request forward:screen files:read diag:status"
	" records:view queue:view\n"
	"role.specialist.2 = @specialist.1 forward:* files:write diag:* files:collect"
	" queue:add queue:cancel\n"
	"role.specialist.3 = @specialist.2 shell config:change\n"
	"role.customer_approver = devices:view sites:view approvals:view approvals:decide"
	" site:switch site:approval session:end:site records:view queue:view\n"
	"role.customer_viewer = devices:view sites:view approvals:view records:view queue:view\n"
	"role.release_manager = devices:view advisories:view queue:view queue:add"
	" queue:cancel software:install repo:publish\n"
	"role.administrator = devices:view users:view sites:view session:end:any site:switch"
	" site:approval audit:read records:view queue:view queue:cancel advisories:view\n"
	"role.auditor = devices:view sites:view audit:read records:view queue:view"
	" advisories:view\n"
	"\n"
	"# region.CC = deny | allow [levels=1,2,3] [escalation] [notice_s=SECONDS]\n"
	"#   CC is the specialist's region (ISO 3166 code); region.default is the\n"
	"#   rule for every region without its own. levels: the specialist levels\n"
	"#   allowed (all when left out); escalation: only requests marked as an\n"
	"#   escalation; notice_s: the site's customer is notified first and the\n"
	"#   session goes ahead unless they refuse within that many seconds.\n"
	"region.US = allow levels=1,2,3\n"
	"region.CA = allow levels=3 escalation notice_s=3600\n"
	"region.default = deny\n"
	"\n"
	"# Longest session and idle timeout (0: none), carried in the ticket and\n"
	"# enforced by the agent; the server ends sessions past the maximum.\n"
	"session.max_duration_s = 14400\n"
	"session.idle_timeout_s = 900\n"
	"# Seconds a customer has to approve a session that needs approval.\n"
	"approval.timeout_s = 86400\n";

const char *policy_default_text(void)
{
	return policy_default;
}

int policy_role_valid(const char *role)
{
	for (size_t i = 0; policy_role_names[i] != NULL; i++)
		if (strcmp(role, policy_role_names[i]) == 0)
			return 1;
	return 0;
}

int policy_role_is_customer(const char *role)
{
	return strcmp(role, "customer_approver") == 0 || strcmp(role, "customer_viewer") == 0;
}

int policy_approval_mode_ok(const char *m)
{
	return strcmp(m, "none") == 0 || strcmp(m, "escalations") == 0 || strcmp(m, "all") == 0;
}

static int policy_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int policy_perm_valid(const char *perm)
{
	const char *arg = NULL;

	for (size_t i = 0; policy_words[i] != NULL; i++)
		if (strcmp(perm, policy_words[i]) == 0)
			return 1;
	if (strncmp(perm, "forward:", 8) == 0)
		arg = perm + 8;
	else if (strncmp(perm, "diag:", 5) == 0)
		arg = perm + 5;
	return arg != NULL && (strcmp(arg, "*") == 0 || policy_name_ok(arg));
}

static const struct policy_role *policy_role_find(const struct policy *p, const char *role,
                                                  int level)
{
	for (size_t i = 0; i < POLICY_N_ROLES; i++) {
		const struct policy_role *r = &p->roles[i];

		if (strcmp(r->name, role) == 0 && (r->level == 0 || r->level == level))
			return r;
	}
	return NULL;
}

static int policy_role_has(const struct policy_role *r, const char *perm)
{
	for (size_t i = 0; i < r->nperms; i++)
		if (strcmp(r->perms[i], perm) == 0)
			return 1;
	return 0;
}

int policy_allows(const struct policy *p, const char *role, int level, const char *perm)
{
	const struct policy_role *r;

	if (p == NULL || role == NULL || perm == NULL ||
	    (r = policy_role_find(p, role, level)) == NULL)
		return 0;
	if (policy_role_has(r, perm))
		return 1;
	if (strncmp(perm, "forward:", 8) == 0)
		return policy_role_has(r, "forward:*");
	if (strncmp(perm, "diag:", 5) == 0)
		return policy_role_has(r, "diag:*");
	if (strcmp(perm, "files:read") == 0)
		return policy_role_has(r, "files:write");
	return 0;
}

const struct policy_region *policy_region_rule(const struct policy *p, const char *region)
{
	for (size_t i = 0; i < p->nregions; i++)
		if (strcmp(p->regions[i].code, region) == 0)
			return &p->regions[i];
	return &p->def;
}

static void policy_levels_text(unsigned levels, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (int l = 1; l <= 3 && used < outsz; l++)
		if (levels & (1u << l))
			used += (size_t)snprintf(out + used, outsz - used, "%s%d", used ? "," : "", l);
}

int policy_region_check(const struct policy_region *rule, const char *region, int level,
                        int escalation, char *why, size_t whysz)
{
	char lv[16];

	if (!rule->allow) {
		snprintf(why, whysz, "the policy does not allow remote sessions from region %s"
		         " (rule region.%s = deny)", region[0] ? region : "(none)", rule->code);
		return TE_ERR_DENIED;
	}
	if (level < 1 || level > 3 || !(rule->levels & (1u << level))) {
		policy_levels_text(rule->levels, lv, sizeof(lv));
		snprintf(why, whysz, "specialists based in region %s may open sessions only at"
		         " level %s; you are level %d (rule region.%s)", region, lv, level,
		         rule->code);
		return TE_ERR_DENIED;
	}
	if (rule->escalation && !escalation) {
		snprintf(why, whysz, "specialists based in region %s may open sessions only as an"
		         " escalation; ask again marked as one (--escalation) (rule region.%s)",
		         region, rule->code);
		return TE_ERR_DENIED;
	}
	return 0;
}

/* ---- parsing ---- */

struct policy_parse_ctx {
	struct policy *p;
	const struct config *cfg;
	const char *name;
	int defined[POLICY_N_ROLES];
	int rc;
	char *errbuf;
	size_t errsz;
};

static void policy_err(struct policy_parse_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void policy_err(struct policy_parse_ctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->rc != 0)
		return;   /* the first error is the one reported */
	c->rc = TE_ERR_INVALID;
	if (c->errbuf == NULL || c->errsz == 0)
		return;
	n = snprintf(c->errbuf, c->errsz, "%s:%u: %s: ", c->name, config_line(c->cfg, key), key);
	if (n < 0 || (size_t)n >= c->errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(c->errbuf + n, c->errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

static int policy_role_index(const char *key)
{
	for (int i = 0; i < POLICY_N_ROLES; i++)
		if (strcmp(policy_role_keys[i], key) == 0)
			return i;
	return -1;
}

static void policy_role_add(struct policy_parse_ctx *c, const char *key,
                            struct policy_role *r, const char *perm)
{
	if (policy_role_has(r, perm))
		return;
	if (r->nperms >= POLICY_MAX_PERMS) {
		policy_err(c, key, "more than %d permissions", POLICY_MAX_PERMS);
		return;
	}
	snprintf(r->perms[r->nperms++], POLICY_PERM_BYTES, "%s", perm);
}

/* "@specialist.1": copy a role defined on an earlier line. */
static void policy_role_include(struct policy_parse_ctx *c, const char *key,
                                struct policy_role *r, const char *word)
{
	char other[POLICY_PERM_BYTES + 8];
	int k;

	snprintf(other, sizeof(other), "role.%s", word + 1);
	if ((k = policy_role_index(other)) < 0) {
		policy_err(c, key, "%s is not a role (roles: specialist.1, specialist.2,"
		           " specialist.3, customer_approver, customer_viewer, release_manager,"
		           " administrator, auditor)", word);
		return;
	}
	if (!c->defined[k]) {
		policy_err(c, key, "%s must name a role defined on an earlier line", word);
		return;
	}
	for (size_t i = 0; i < c->p->roles[k].nperms && c->rc == 0; i++)
		policy_role_add(c, key, r, c->p->roles[k].perms[i]);
}

static void policy_role_cb(const char *key, const char *value, void *arg)
{
	struct policy_parse_ctx *c = arg;
	char word[POLICY_PERM_BYTES];
	const char *v = value;
	struct policy_role *r;
	int k = policy_role_index(key);

	if (k < 0 || c->rc != 0)
		return;
	r = &c->p->roles[k];
	while (*v != '\0' && c->rc == 0) {
		size_t n;

		v += strspn(v, " \t");
		if ((n = strcspn(v, " \t")) == 0)
			break;
		if (n >= sizeof(word)) {
			policy_err(c, key, "a permission is longer than %d characters",
			           POLICY_PERM_BYTES - 1);
			return;
		}
		memcpy(word, v, n);
		word[n] = '\0';
		v += n;
		if (word[0] == '@')
			policy_role_include(c, key, r, word);
		else if (!policy_perm_valid(word))
			policy_err(c, key, "unknown permission '%s' (see the comment at the top of"
			           " the file for the list)", word);
		else
			policy_role_add(c, key, r, word);
	}
	c->defined[k] = 1;
}

static int policy_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "1,2,3" -> bits 1..3 */
static int policy_levels(const char *s, unsigned *out)
{
	*out = 0;
	while (*s != '\0') {
		if (*s < '1' || *s > '3' || (s[1] != ',' && s[1] != '\0'))
			return -1;
		*out |= 1u << (*s - '0');
		s += s[1] == ',' ? 2 : 1;
		if (s[-1] == ',' && *s == '\0')
			return -1;
	}
	return *out != 0 ? 0 : -1;
}

static void policy_region_word(struct policy_parse_ctx *c, const char *key,
                               struct policy_region *rule, const char *w)
{
	long n;

	if (strncmp(w, "levels=", 7) == 0) {
		if (policy_levels(w + 7, &rule->levels) != 0)
			policy_err(c, key, "levels must be a list of 1, 2 and 3 such as levels=1,2,3");
	} else if (strcmp(w, "escalation") == 0) {
		rule->escalation = 1;
	} else if (strncmp(w, "notice_s=", 9) == 0) {
		if (policy_number(w + 9, 1, 7 * 24 * 3600, &n) != 0)
			policy_err(c, key, "notice_s must be seconds in [1, %d]", 7 * 24 * 3600);
		else
			rule->notice_s = n;
	} else {
		policy_err(c, key, "unknown word '%s' (expected levels=, escalation or"
		           " notice_s=)", w);
	}
}

static int policy_region_code_ok(const char *code)
{
	return strcmp(code, "default") == 0 ||
	       (strlen(code) == 2 && isupper((unsigned char)code[0]) &&
	        isupper((unsigned char)code[1]));
}

static void policy_region_cb(const char *key, const char *value, void *arg)
{
	struct policy_parse_ctx *c = arg;
	const char *code = key + strlen("region."), *v = value;
	struct policy_region rule;
	char w[64];
	size_t n;

	if (c->rc != 0)
		return;
	memset(&rule, 0, sizeof(rule));
	if (!policy_region_code_ok(code)) {
		policy_err(c, key, "a region is a two-letter upper-case code such as US, or"
		           " default");
		return;
	}
	snprintf(rule.code, sizeof(rule.code), "%s", code);
	for (int i = 0; *v != '\0' && c->rc == 0; i++) {
		v += strspn(v, " \t");
		if ((n = strcspn(v, " \t")) == 0)
			break;
		if (n >= sizeof(w)) {
			policy_err(c, key, "a word is too long");
			return;
		}
		memcpy(w, v, n);
		w[n] = '\0';
		v += n;
		if (i == 0 && (strcmp(w, "allow") == 0 || strcmp(w, "deny") == 0)) {
			rule.allow = w[0] == 'a';
			rule.levels = rule.allow ? 0xe : 0;
		} else if (i == 0) {
			policy_err(c, key, "a rule starts with allow or deny");
		} else if (!rule.allow) {
			policy_err(c, key, "deny takes no further words");
		} else {
			policy_region_word(c, key, &rule, w);
		}
	}
	if (c->rc != 0)
		return;
	if (value[strspn(value, " \t")] == '\0') {
		policy_err(c, key, "a rule starts with allow or deny");
		return;
	}
	if (strcmp(code, "default") == 0) {
		c->p->def = rule;
		return;
	}
	if (c->p->nregions >= POLICY_MAX_REGIONS) {
		policy_err(c, key, "more than %d regions", POLICY_MAX_REGIONS);
		return;
	}
	c->p->regions[c->p->nregions++] = rule;
}

static int policy_numbers(struct policy_parse_ctx *c)
{
	long v;
	int rc;

	if ((rc = config_get_int(c->cfg, "session.max_duration_s", POLICY_MAX_DURATION_S, 10,
	                         30L * 24 * 3600, &v, c->errbuf, c->errsz)) != 0)
		return rc;
	c->p->max_duration_s = v;
	if ((rc = config_get_int(c->cfg, "session.idle_timeout_s", POLICY_IDLE_TIMEOUT_S, 0,
	                         24L * 3600, &v, c->errbuf, c->errsz)) != 0)
		return rc;
	c->p->idle_timeout_s = v;
	if ((rc = config_get_int(c->cfg, "approval.timeout_s", POLICY_APPROVAL_S, 1,
	                         30L * 24 * 3600, &v, c->errbuf, c->errsz)) != 0)
		return rc;
	c->p->approval_timeout_s = v;
	return 0;
}

int policy_parse(const char *text, size_t len, const char *name,
                 struct policy **out, char *errbuf, size_t errsz)
{
	struct policy_parse_ctx c;
	struct config *cfg = NULL;
	struct policy *p = NULL;
	int rc;

	if (out == NULL)
		return TE_ERR_INVALID;
	*out = NULL;
	if ((rc = config_parse(text, len, name, policy_keys, &cfg, errbuf, errsz)) != 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		config_free(cfg);
		return TE_ERR_NOMEM;
	}
	for (int i = 0; i < POLICY_N_ROLES; i++) {
		const char *k = policy_role_keys[i] + strlen("role.");
		const char *dot = strchr(k, '.');

		snprintf(p->roles[i].name, sizeof(p->roles[i].name), "%.*s",
		         dot ? (int)(dot - k) : (int)strlen(k), k);
		p->roles[i].level = dot ? dot[1] - '0' : 0;
	}
	snprintf(p->def.code, sizeof(p->def.code), "default");
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.cfg = cfg;
	c.name = name ? name : POLICY_FILE;
	c.errbuf = errbuf;
	c.errsz = errsz;
	config_each_prefix(cfg, "role.", policy_role_cb, &c);
	if (c.rc == 0)
		config_each_prefix(cfg, "region.", policy_region_cb, &c);
	rc = c.rc != 0 ? c.rc : policy_numbers(&c);
	config_free(cfg);
	if (rc != 0) {
		policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int policy_load(const char *dir, struct policy **out, char *errbuf, size_t errsz)
{
	char path[PATH_MAX];
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, POLICY_FILE) >= (int)sizeof(path))
		return TE_ERR_TOO_LONG;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(errbuf, errsz, "%s: %s (`tether-server init` writes it; for an older"
		         " deployment: tether-server policy default > %s)", path, strerror(errno),
		         path);
		return TE_ERR_NOT_FOUND;
	}
	if ((buf = malloc(MAX_CONFIG_FILE_BYTES + 1)) == NULL) {
		fclose(f);
		return TE_ERR_NOMEM;
	}
	n = fread(buf, 1, MAX_CONFIG_FILE_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(errbuf, errsz, "%s: read error", path);
		rc = TE_ERR_IO;
	} else {
		/* config_parse refuses a file over the bound with a clear message. */
		rc = policy_parse(buf, n, path, out, errbuf, errsz);
	}
	fclose(f);
	free(buf);
	return rc;
}

void policy_free(struct policy *p)
{
	free(p);
}

/* ---- the matrix ---- */

static json_t *policy_region_json(const struct policy_region *r)
{
	json_t *levels = json_array();

	for (int l = 1; l <= 3; l++)
		if (r->levels & (1u << l))
			json_array_append_new(levels, json_integer(l));
	return json_pack("{s:s, s:s, s:o, s:b, s:I}", "region", r->code,
	                 "rule", r->allow ? "allow" : "deny", "levels", levels,
	                 "escalation", r->escalation, "notice_s", (json_int_t)r->notice_s);
}

json_t *policy_json(const struct policy *p)
{
	json_t *roles = json_array(), *regions = json_array();

	for (size_t i = 0; i < POLICY_N_ROLES; i++) {
		const struct policy_role *r = &p->roles[i];
		json_t *perms = json_array();

		for (size_t k = 0; k < r->nperms; k++)
			json_array_append_new(perms, json_string(r->perms[k]));
		json_array_append_new(roles, json_pack("{s:s, s:i, s:o}", "role", r->name,
		                      "level", r->level, "permissions", perms));
	}
	for (size_t i = 0; i < p->nregions; i++)
		json_array_append_new(regions, policy_region_json(&p->regions[i]));
	json_array_append_new(regions, policy_region_json(&p->def));
	return json_pack("{s:o, s:o, s:{s:I, s:I, s:I}}", "roles", roles, "regions", regions,
	                 "limits", "session.max_duration_s", (json_int_t)p->max_duration_s,
	                 "session.idle_timeout_s", (json_int_t)p->idle_timeout_s,
	                 "approval.timeout_s", (json_int_t)p->approval_timeout_s);
}

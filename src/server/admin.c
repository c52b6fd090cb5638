/* admin.c: relay/device/user add, device revoke and audit verify/list/device, run by an operator
 * on the server host against the deployment directory. */
#include "admin.h"
#include "admin_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bounds.h"
#include "deploy.h"
#include "signer.h"
#include "err.h"
#include "jbody.h"
#include "pki.h"
#include "policy.h"
#include "region.h"
#include "secret.h"
#include "srvconf.h"
#include "srvsession.h"
#include "store.h"
#include "text.h"
#include "invite.h"


void admin_err(const char *fmt, ...)
{
	va_list ap;

	fputs("tether-server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void admin_print_code(const char *user, const char *shown, int64_t expires_at)
{
	char when[64];
	time_t t = (time_t)expires_at;
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
	/* stdout carries the code alone, for scripts; the rest goes to stderr */
	printf("%s\n", shown);
	fflush(stdout);
	fprintf(stderr, "tether-server: the enrollment code above is for %s only, valid once,"
	        " until %s. Give it to them in person or by a channel you trust; they run\n"
	        "  tether enroll --server URL --ca root.crt --user %s\n"
	        "choose their password, then enroll TOTP (tether mfa enroll). You never see"
	        " their password.\n", user, when, user);
}

int admin_text_check(const char *cmd, const char *opt, const char *s, size_t max)
{
	const char *why = NULL;

	if (s == NULL || s[0] == '\0') {
		admin_err("%s: %s is required (text of at most %zu characters)", cmd, opt, max - 1);
		return -1;
	}
	if (text_check_display(s, max, &why) != 0) {
		admin_err("%s: %s is refused: it holds %s, which could change what an operator"
		          " reads", cmd, opt, why);
		return -1;
	}
	return 0;
}

int admin_open(const char *dir, struct srvconf *cfg, struct store **st)
{
	char errbuf[512] = "";
	int rc;

	if ((rc = srvconf_load(dir, cfg, errbuf, sizeof(errbuf))) != 0) {
		admin_err("%s (is %s a deployment made by `tether-server init`?)",
		          errbuf[0] ? errbuf : te_strerror(rc), dir);
		return rc;
	}
	if ((rc = store_open(cfg->db_path, st)) != 0)
		admin_err("cannot open the database %s: %s", cfg->db_path, te_strerror(rc));
	return rc;
}

struct admin_names {
	char text[512];
	size_t len;
};

static int admin_names_cb(const char *name, int64_t created_at, void *arg)
{
	struct admin_names *n = arg;
	int w;

	(void)created_at;
	w = snprintf(n->text + n->len, sizeof(n->text) - n->len, "%s%s", n->len ? ", " : "",
	             name);
	if (w < 0 || (size_t)w >= sizeof(n->text) - n->len)
		return 1;   /* enough to show */
	n->len += (size_t)w;
	return 0;
}

int admin_product_check(struct store *st, const char *cmd, const char *product)
{
	struct admin_names n = { "", 0 };
	int64_t count = 0;
	int rc;

	if ((rc = store_product_get(st, product)) == 0)
		return 0;
	if (rc == TE_ERR_NOT_FOUND && store_product_count(st, &count) == 0 && count == 0) {
		fprintf(stderr, "tether-server: note: no product family is registered yet, so %s is"
		        " taken unchecked;\n  register them with `tether-server product add FAMILY`"
		        " and a typo is refused\n", product);
		return 0;
	}
	if (rc != TE_ERR_NOT_FOUND) {
		admin_err("%s: cannot read the product families: %s", cmd, te_strerror(rc));
		return -1;
	}
	(void)store_product_each(st, admin_names_cb, &n);
	admin_err("%s: %s is not a registered product family (registered: %s); check the"
	          " spelling, or register it with `tether-server product add %s`", cmd, product,
	          n.text, product);
	return -1;
}

static void admin_audit(struct store *st, const char *action, json_t *detail)
{
	char *text = jbody_dump(detail);

	if (store_audit_append(st, ADMIN_ACTOR, action, text ? text : "{}") != 0)
		admin_err("warning: could not write the audit record for %s", action);
	free(text);
}

static int admin_relay_conf(const struct admin_relay_opts *o, const char *rdir,
                            const struct srvconf *cfg)
{
	const char *keynote = o->csr != NULL ?
		"# relay.key is the key `tether-relay init` made on the relay host; copy\n"
		"# this file next to it.\n" :
		"# relay.key was made on the server host (relay add without --csr).\n";
	const char *bind = (strcmp(o->host, "127.0.0.1") == 0 || strcmp(o->host, "localhost") == 0)
	                   ? "127.0.0.1" : "0.0.0.0";
	char p[PATH_MAX + 32], audit[PATH_MAX];
	FILE *f;

	if ((size_t)snprintf(audit, sizeof(audit), "%s%saudit.log",
	                     o->state_dir != NULL ? o->state_dir : "",
	                     o->state_dir != NULL ? "/" : "") >= sizeof(audit))
		return TE_ERR_TOO_LONG;
	snprintf(p, sizeof(p), "%s/tether-relay.conf", rdir);
	if ((f = fopen(p, "wx")) == NULL)
		return TE_ERR_IO;
	fprintf(f, "# tether-relay configuration (written by `tether-server relay add`).\n"
	        "# Relative paths are relative to this folder.\n"
	        "%s"
	        "name = %s\n"
	        "device_listen = %s:%d\n"
	        "client_listen = %s:%d\n"
	        "cert = relay.crt\n"
	        "key = relay.key\n"
	        "ca = ca.crt\n"
	        "ticket_pubkey = ticket.pub\n"
	        "server = https://%s:%s\n"
	        "# The only files the relay writes: this trail, AUDIT_LOG.checkpoint and\n"
	        "# the report spool AUDIT_LOG.reports/ (relay add --state-dir).\n"
	        "audit_log = %s\n"
	        "unpaired_timeout_s = %d\n"
	        "user =\n",
	        keynote, o->name, bind, o->device_port, bind, o->client_port,
	        cfg->public_host, cfg->listen_port, audit, UNPAIRED_LEG_TIMEOUT_S);
	return fclose(f) == 0 ? 0 : TE_ERR_IO;
}

/* Undo a half-written relay folder so that `relay add` can simply be run again. */
static void admin_relay_unwind(const char *rdir)
{
	static const char *const files[] = {
		"relay.crt", "relay.key", "ca.crt", "ticket.pub", "checkpoint.pub",
		"tether-relay.conf", NULL
	};
	char p[PATH_MAX + 32];

	for (int i = 0; files[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", rdir, files[i]);
		unlink(p);
	}
	rmdir(rdir);
}

/* pub: the relay's own public key from its CSR; NULL makes a key here. */
static int admin_relay_files(const struct admin_relay_opts *o, const struct srvconf *cfg,
                             EVP_PKEY *pub, char fp[SHA256_HEX_BYTES])
{
	char rdir[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32], sans[512];
	int rc;

	snprintf(rdir, sizeof(rdir), "%s/relays/%s", o->dir, o->name);
	if (mkdir(rdir, 0700) != 0) {
		admin_err("cannot create %s: %s", rdir, errno == EEXIST ?
		          "it exists already (relay names are unique)" : strerror(errno));
		return TE_ERR_EXISTS;
	}
	snprintf(a, sizeof(a), "%s/relay.crt", rdir);
	snprintf(b, sizeof(b), "%s/relay.key", rdir);
	if ((rc = deploy_sans(o->host, sans, sizeof(sans))) != 0)
		goto fail;
	rc = pub != NULL ? deploy_issue_cert(o->dir, PKI_ROLE_RELAY, o->name, sans, pub, a, fp)
	                 : deploy_issue_files(o->dir, PKI_ROLE_RELAY, o->name, sans, a, b, fp);
	if (rc != 0)
		goto fail;
	snprintf(a, sizeof(a), "%s/ca/root.crt", o->dir);
	snprintf(b, sizeof(b), "%s/ca.crt", rdir);
	if ((rc = deploy_copy_file(a, b, 0644)) != 0)
		goto fail;
	snprintf(a, sizeof(a), "%s/ticket/ticket.pub", o->dir);
	snprintf(b, sizeof(b), "%s/ticket.pub", rdir);
	if ((rc = deploy_copy_file(a, b, 0644)) != 0 || (rc = admin_relay_conf(o, rdir, cfg)) != 0)
		goto fail;
	/* The relay keeps the server's latest signed audit checkpoint, checked
	 * with this key; a deployment made before checkpoints has none until
	 * its first `run`. */
	snprintf(a, sizeof(a), "%s/%s", o->dir, SIGNER_CHECKPOINT_PUB);
	snprintf(b, sizeof(b), "%s/checkpoint.pub", rdir);
	if (access(a, F_OK) == 0 && (rc = deploy_copy_file(a, b, 0644)) != 0)
		goto fail;
	return 0;
fail:
	admin_err("could not write the relay files in %s: %s", rdir, te_strerror(rc));
	admin_relay_unwind(rdir);
	return rc;
}

/* Read the relay's CSR (bounded) and return its public key once its
 * self-signature verifies. Role and name come from the command, not the CSR. */
static int admin_relay_csr(const char *path, EVP_PKEY **pub)
{
	char *buf = NULL;
	FILE *f = NULL;
	size_t n;
	int rc = TE_ERR_IO;

	*pub = NULL;
	if ((buf = malloc(MAX_CSR_BYTES + 1)) == NULL)
		return TE_ERR_NOMEM;
	if ((f = fopen(path, "r")) == NULL) {
		admin_err("relay add: cannot read the CSR %s: %s", path, strerror(errno));
		goto out;
	}
	n = fread(buf, 1, MAX_CSR_BYTES + 1, f);
	if (ferror(f)) {
		admin_err("relay add: cannot read the CSR %s", path);
		goto out;
	}
	if (n > MAX_CSR_BYTES) {
		admin_err("relay add: %s is over %d bytes: not a CSR from `tether-relay init`",
		          path, MAX_CSR_BYTES);
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	if ((rc = pki_csr_pubkey(buf, n, pub)) == TE_ERR_SIGNATURE)
		admin_err("relay add: the CSR %s is refused: its signature does not verify (damaged"
		          " or altered on the way? run `tether-relay init` again on a fresh folder)",
		          path);
	else if (rc != 0)
		admin_err("relay add: the CSR %s is refused: not a PEM certificate request for a"
		          " P-256 key (make it with `tether-relay init`)", path);
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

static void admin_relay_note(const struct admin_relay_opts *o)
{
	if (o->csr != NULL)
		fprintf(stderr, "tether-server: relay %s registered with the key from its CSR.\n"
		        "  Copy relay.crt, ca.crt, ticket.pub, checkpoint.pub and tether-relay.conf from"
		        " the folder\n  below to the relay host, into the folder where `tether-relay init` wrote"
		        " relay.key,\n  then run there: tether-relay run --config"
		        " FOLDER/tether-relay.conf\n", o->name);
	else
		fprintf(stderr, "tether-server: relay %s registered; its private key was made on"
		        " this host\n  (relay.key in the folder below: the single-host convenience"
		        " for demos and tests).\n  For a relay on its own host, run `tether-relay init"
		        " --dir DIR --name %s` there\n  and `relay add ... --csr relay.csr` here: the"
		        " key then never leaves the relay.\n", o->name, o->name);
}

int admin_relay_add(const struct admin_relay_opts *o)
{
	struct store *st = NULL;
	struct srvconf cfg;
	struct store_relay r;
	EVP_PKEY *pub = NULL;
	int rc, code = 1;

	memset(&r, 0, sizeof(r));
	if (!jbody_name_ok(o->name) || strlen(o->host) >= sizeof(r.host) ||
	    !jbody_name_ok(o->host) || o->device_port < 1 || o->device_port > 65535 ||
	    o->client_port < 1 || o->client_port > 65535) {
		admin_err("relay add: NAME and --host must be names of [A-Za-z0-9._-], ports 1-65535");
		return 2;
	}
	/* A bad CSR is refused before anything is written or registered. */
	if (o->csr != NULL && admin_relay_csr(o->csr, &pub) != 0)
		goto out;
	if ((rc = admin_open(o->dir, &cfg, &st)) != 0)
		goto out;
	if (store_relay_get(st, o->name, &r) == 0) {
		admin_err("relay %s is already registered", o->name);
		goto out;
	}
	snprintf(r.name, sizeof(r.name), "%s", o->name);
	snprintf(r.host, sizeof(r.host), "%s", o->host);
	r.device_port = o->device_port;
	r.client_port = o->client_port;
	if ((rc = admin_relay_files(o, &cfg, pub, r.cert_fp)) != 0)
		goto out;
	if ((rc = store_relay_add(st, &r)) != 0) {
		char rdir[PATH_MAX];

		admin_err("could not register relay %s: %s", o->name, te_strerror(rc));
		snprintf(rdir, sizeof(rdir), "%s/relays/%s", o->dir, o->name);
		admin_relay_unwind(rdir);
		goto out;
	}
	admin_audit(st, "relay_add", json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "name", r.name,
	            "host", r.host, "device_port", r.device_port, "client_port",
	            r.client_port, "fingerprint", r.cert_fp,
	            "key_made_on", pub != NULL ? "relay" : "server"));
	admin_relay_note(o);
	printf("%s/relays/%s\n", o->dir, o->name);
	code = 0;
out:
	EVP_PKEY_free(pub);
	store_close(st);
	return code;
}

int admin_device_add(const char *serial, const char *customer, const char *product,
                     const char *site, const char *dir)
{
	struct store_site where;
	struct store *st = NULL;
	struct srvconf cfg;
	struct store_device d;
	char token[TOKEN_TEXT_BYTES], hash[SHA256_HEX_BYTES];
	int64_t exp = (int64_t)time(NULL) + ENROLL_TOKEN_TTL_S;
	int rc, code = 1;

	memset(&d, 0, sizeof(d));
	if (!jbody_name_ok(serial) || !jbody_name_ok(product)) {
		admin_err("device add: SERIAL and --product must be names of [A-Za-z0-9._-]");
		return 2;
	}
	if (admin_text_check("device add", "--customer", customer, sizeof(d.customer)) != 0)
		return 2;
	if ((rc = admin_open(dir, &cfg, &st)) != 0)
		goto out;
	if (!jbody_name_ok(site) || store_site_get(st, site, &where) != 0) {
		admin_err("device add: no site %s; add it first with `tether-server site add`", site);
		goto out;
	}
	if (strcmp(where.customer, customer) != 0) {
		char c1[STORE_TEXT_BYTES * 6], c2[STORE_TEXT_BYTES * 6];

		admin_err("device add: the customer \"%s\" is not the customer of site %s (\"%s\");"
		          " a device belongs to its site's customer", text_escape_display(customer,
		          c1, sizeof(c1)), site, text_escape_display(where.customer, c2, sizeof(c2)));
		goto out;
	}
	if (admin_product_check(st, "device add", product) != 0)
		goto out;
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	snprintf(d.customer, sizeof(d.customer), "%s", customer);
	snprintf(d.product, sizeof(d.product), "%s", product);
	snprintf(d.status, sizeof(d.status), "registered");
	d.created_at = (int64_t)time(NULL);
	if ((rc = store_device_add(st, &d)) != 0) {
		admin_err("could not add device %s: %s", serial, rc == TE_ERR_EXISTS ?
		          "a device with this serial exists already (see `tether-server device"
		          " list`; a replaced device enrolls again after `device reissue-token`)" :
		          te_strerror(rc));
		goto out;
	}
	if ((rc = store_device_set_site(st, serial, site, NULL)) != 0) {
		admin_err("could not place device %s at site %s: %s", serial, site, te_strerror(rc));
		goto out;
	}
	if ((rc = secret_token_new(token)) != 0 ||
	    (rc = secret_sha256_hex(token, strlen(token), hash)) != 0 ||
	    (rc = store_enroll_token_add(st, hash, serial, exp)) != 0) {
		admin_err("could not create the enrollment token: %s", te_strerror(rc));
		goto out;
	}
	admin_audit(st, "device_add", json_pack("{s:s, s:s, s:s, s:s, s:I}", "serial", serial,
	            "customer", customer, "product", product, "site", site,
	            "token_expires_at", (json_int_t)exp));
	printf("%s\n", token);
	fprintf(stderr, "tether-server: device %s added; the enrollment token above is valid"
	        " once, for %d hours, for this serial only\n", serial, ENROLL_TOKEN_TTL_S / 3600);
	code = 0;
out:
	OPENSSL_cleanse(token, sizeof(token));
	store_close(st);
	return code;
}

static int admin_user_check(const struct admin_user_opts *o, char region[REGION_CODE_BYTES])
{
	if (!jbody_name_ok(o->name)) {
		admin_err("user add: NAME must be of [A-Za-z0-9._-], at most %d characters",
		          MAX_NAME_BYTES - 1);
		return -1;
	}
	if (!policy_role_valid(o->role)) {
		admin_err("user add: --role must be specialist, customer_approver, customer_viewer,"
		          " release_manager, administrator or auditor");
		return -1;
	}
	if (policy_role_is_customer(o->role) != (o->site != NULL)) {
		admin_err(o->site == NULL ? "user add: a %s acts for one site: give --site SITE" :
		          "user add: --site is only for customer_approver and customer_viewer"
		          " (not %s)", o->role);
		return -1;
	}
	if (o->level < 1 || o->level > 3) {
		admin_err("user add: --level must be 1, 2 or 3");
		return -1;
	}
	if (o->region[0] != '\0' && region_normalise(o->region, region) != 0) {
		admin_err("user add: --region must be an ISO 3166 country code such as US or DE"
		          " (\"%s\" is not one)", jbody_name_ok(o->region) ? o->region : "?");
		return -1;
	}
	return 0;
}

int admin_user_add(const struct admin_user_opts *o)
{
	struct store *st = NULL;
	struct srvconf cfg;
	struct store_user u;
	struct store_site where;
	char shown[INVITE_CODE_TEXT_BYTES], region[REGION_CODE_BYTES] = "";
	int64_t ttl = ENROLL_CODE_TTL_S, expires_at = 0;
	int rc, code = 1;

	memset(&u, 0, sizeof(u));
	shown[0] = '\0';
	if (admin_user_check(o, region) != 0)
		return 2;
	if (o->expires != NULL && invite_parse_ttl(o->expires, &ttl) != 0) {
		admin_err("user add: --expires must be a time such as 24h, 90m or 7d (1 minute to"
		          " 30 days)");
		return 2;
	}
	if ((rc = admin_open(o->dir, &cfg, &st)) != 0)
		goto out;
	if (o->site != NULL && (!jbody_name_ok(o->site) || store_site_get(st, o->site, &where) != 0)) {
		admin_err("user add: no site %s; add it first with `tether-server site add`", o->site);
		goto out;
	}
	snprintf(u.name, sizeof(u.name), "%s", o->name);
	snprintf(u.role, sizeof(u.role), "%s", o->role);
	snprintf(u.region, sizeof(u.region), "%s", region);
	u.level = o->level;
	u.created_at = (int64_t)time(NULL);
	/* No password: the user chooses one with the enrollment code below. */
	if ((rc = store_user_add(st, &u)) != 0) {
		admin_err("could not add user %s: %s", o->name, rc == TE_ERR_EXISTS ?
		          "a user with this name exists already (see `tether-server user list`)" :
		          te_strerror(rc));
		goto out;
	}
	if (o->site != NULL && (rc = store_user_set_site(st, u.name, o->site, NULL)) != 0) {
		admin_err("could not place user %s at site %s: %s", u.name, o->site, te_strerror(rc));
		goto out;
	}
	admin_audit(st, "user_add", json_pack("{s:s, s:s, s:i, s:s, s:s}", "user", u.name,
	            "role", u.role, "level", u.level, "region", u.region,
	            "site", o->site ? o->site : ""));
	if ((rc = invite_issue(st, ADMIN_ACTOR, u.name, "user_add", (int64_t)time(NULL), ttl,
	                       shown, &expires_at)) != 0) {
		admin_err("user %s added, but no enrollment code could be made (%s); run"
		          " `tether-server user invite %s`", u.name, te_strerror(rc), u.name);
		goto out;
	}
	fprintf(stderr, "tether-server: user %s (%s, level %d) added\n", u.name, u.role, u.level);
	admin_print_code(u.name, shown, expires_at);
	code = 0;
out:
	OPENSSL_cleanse(shown, sizeof(shown));
	store_close(st);
	return code;
}

struct admin_audit_ctx {
	struct audit_verifier v;
	json_t *list;     /* audit list --json */
	int text;         /* audit list */
};

static int admin_audit_cb(const struct audit_record *rec, void *arg)
{
	struct admin_audit_ctx *c = arg;

	if (c->list != NULL)
		return json_array_append_new(c->list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
		       "seq", (json_int_t)rec->seq, "ts", rec->ts, "actor", rec->actor,
		       "action", rec->action, "detail", rec->detail, "prev", rec->prev,
		       "hash", rec->hash)) == 0 ? 0 : TE_ERR_NOMEM;
	if (c->text) {
		printf("%lld %s %s %s %s\n", (long long)rec->seq, rec->ts, rec->actor,
		       rec->action, rec->detail);
		return 0;
	}
	(void)audit_verifier_feed(&c->v, rec);
	return 0;
}

int admin_audit_list(const char *dir, int json)
{
	struct admin_audit_ctx c;
	struct store *st = NULL;
	struct srvconf cfg;
	char *text = NULL;
	int code = 1;

	memset(&c, 0, sizeof(c));
	c.text = !json;
	if (json && (c.list = json_array()) == NULL)
		return 1;
	if (admin_open(dir, &cfg, &st) != 0)
		goto out;
	if (store_audit_each(st, admin_audit_cb, &c) != 0) {
		admin_err("audit: could not read the audit table");
		goto out;
	}
	if (json) {
		if ((text = jbody_dump(json_pack("{s:O}", "records", c.list))) == NULL)
			goto out;
		printf("%s\n", text);
	}
	code = 0;
out:
	free(text);
	json_decref(c.list);
	store_close(st);
	return code;
}

/* One line about a device's audit head, or the JSON member for it. */
static void admin_head_print(const char *kind, const char *name, const char *what,
                             const struct store_audit_head *h, int present)
{
	if (present)
		printf("%s %s: %s seq %lld hash %s\n", kind, name, what, (long long)h->seq, h->hash);
	else
		printf("%s %s: %s none\n", kind, name, what);
}

static json_t *admin_head_json(const struct store_audit_head *h, int present)
{
	return present ? json_pack("{s:I, s:s}", "seq", (json_int_t)h->seq, "hash", h->hash)
	               : json_null();
}

/* Print kind name's anchor and last rollback (as JSON keyed by key when
 * json); 1 when a rollback is on record, 0 otherwise. */
static int admin_anchor_report(const char *kind, const char *key, const char *name,
                               const struct store_audit_head *head,
                               const struct store_audit_head *rb, int json)
{
	int has_head = head->seq > 0, has_rb = rb->hash[0] != '\0';
	char *text;

	if (json) {
		text = jbody_dump(json_pack("{s:s, s:o, s:o}", key, name, "audit_head",
		                            admin_head_json(head, has_head), "audit_rollback",
		                            admin_head_json(rb, has_rb)));
		if (text == NULL)
			return 1;
		printf("%s\n", text);
		free(text);
	} else {
		admin_head_print(kind, name, "audit anchor", head, has_head);
		admin_head_print(kind, name, "audit rollback", rb, has_rb);
		if (has_rb)
			printf("%s %s: its audit log lost or rewrote records the server had seen;"
			       " see %s_audit_rollback in `audit list`\n", kind, name, kind);
	}
	return has_rb ? 1 : 0;
}

/* The device's audit anchor as the server holds it: what the device's own
 * `tether-agent audit verify` head must reach, never fall below. Exit 1 when
 * a rollback is on record, so scripts can check a fleet. */
int admin_audit_device(const char *dir, const char *serial, int json)
{
	struct store *st = NULL;
	struct store_device *d = NULL;
	struct srvconf cfg;
	int rc, code = 1;

	if ((d = calloc(1, sizeof(*d))) == NULL || admin_open(dir, &cfg, &st) != 0)
		goto out;
	if ((rc = store_device_get(st, serial, d)) != 0) {
		admin_err("audit device: %s", rc == TE_ERR_NOT_FOUND ? "no device with this serial"
		                                                     : te_strerror(rc));
		goto out;
	}
	code = admin_anchor_report("device", "serial", d->serial, &d->audit_head,
	                           &d->audit_rollback, json);
out:
	free(d);
	store_close(st);
	return code;
}

/* The relay's audit anchor, as admin_audit_device for a device. */
int admin_audit_relay(const char *dir, const char *name, int json)
{
	struct store *st = NULL;
	struct store_relay rl;
	struct srvconf cfg;
	int rc, code = 1;

	if (admin_open(dir, &cfg, &st) != 0)
		goto out;
	if ((rc = store_relay_get(st, name, &rl)) != 0) {
		admin_err("audit relay: %s", rc == TE_ERR_NOT_FOUND ? "no relay with this name"
		                                                    : te_strerror(rc));
		goto out;
	}
	code = admin_anchor_report("relay", "relay", rl.name, &rl.audit_head,
	                           &rl.audit_rollback, json);
out:
	store_close(st);
	return code;
}

struct admin_revoke_ctx {
	struct store *st;
	int ended, failed;
};

/* End every session of the device that is not final yet; the running server
 * tells the agent at its next ping (or held long-poll). */
static int admin_revoke_session_cb(const struct store_session *s, void *arg)
{
	struct admin_revoke_ctx *c = arg;
	enum session_state state;

	if (session_state_parse(s->state, &state) != 0 || session_state_is_final(state))
		return 0;
	if (session_move(c->st, s, SESSION_ENDED, SESSION_REVOKED_REASON, NULL, ADMIN_ACTOR,
	                 (int64_t)time(NULL)) == 0) {
		printf("device %s: session %s (%s) ended: %s\n", s->device, s->id, s->state,
		       SESSION_REVOKED_REASON);
		c->ended++;
	} else {
		admin_err("device revoke: could not end session %s (it moved meanwhile?)", s->id);
		c->failed++;
	}
	return 0;
}

/* Mark the device revoked (audited device_revoke with the reason), then end
 * its open sessions. Running it again on a revoked device only ends what is
 * still open, so a half-finished run can be repeated. */
int admin_device_revoke(const char *dir, const char *serial, const char *reason)
{
	struct admin_revoke_ctx c = { NULL, 0, 0 };
	struct store_audit_entry a = { ADMIN_ACTOR, "device_revoke", NULL };
	struct srvconf cfg;
	char *detail = NULL;
	int rc, code = 1;

	if (!jbody_name_ok(serial)) {
		admin_err("device revoke: SERIAL must be a name of [A-Za-z0-9._-]");
		return 2;
	}
	if (admin_text_check("device revoke", "--reason", reason, MAX_REASON_BYTES) != 0)
		return 2;
	if (admin_open(dir, &cfg, &c.st) != 0)
		goto out;
	if ((detail = jbody_dump(json_pack("{s:s, s:s}", "serial", serial, "reason",
	                                   reason))) == NULL)
		goto out;
	a.detail = detail;
	rc = store_device_revoke(c.st, serial, &a);
	if (rc == TE_ERR_EXISTS) {
		printf("device %s: already revoked\n", serial);
	} else if (rc != 0) {
		admin_err("device revoke: %s", rc == TE_ERR_NOT_FOUND ?
		          "no device with this serial" : te_strerror(rc));
		goto out;
	} else {
		printf("device %s: revoked (%s); its pings, consent and session-end calls now"
		       " get 403 device_revoked and new session requests are refused\n",
		       serial, reason);
	}
	if (store_session_each_for_device(c.st, serial, admin_revoke_session_cb, &c) != 0)
		c.failed++;
	printf("device %s: %d open session%s ended\n", serial, c.ended, c.ended == 1 ? "" : "s");
	code = c.failed ? 1 : 0;
out:
	free(detail);
	store_close(c.st);
	return code;
}

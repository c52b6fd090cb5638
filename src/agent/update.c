/* update.c: `tether-agent update check [TARGET] --config FILE` (issue 10,
 * section 3; docs/updates.md): the device's TUF client (lib tufclient.h)
 * run once against the server's repository, from the metadata the device
 * trusts (state_dir/tuf/), which it keeps only when everything verified.
 * With a target, the release's verified entry: what an install will check
 * the downloaded bytes against. Every refusal is audited on the device
 * with its TUF-attack reason.
 *
 * The repository is public (the signatures, not the transport, are what
 * the device trusts), so this needs no key: only the pinned deployment CA.
 * The first root comes from the server the device enrolled with, over that
 * pinned TLS, and is kept from then on; every later root must be signed by
 * the one before it. */
#include "update.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentaudit.h"
#include "err.h"
#include "filerepl.h"
#include "httpc.h"
#include "pki.h"
#include "tls.h"
#include "tuf.h"
#include "tufclient.h"

#define UPDATE_DIR        "tuf"
#define UPDATE_TIMEOUT_S  30

static const char *const update_roles[] = { "root", "timestamp", "snapshot", "targets" };

struct update_fetch {
	const struct agent_conf *conf;
	SSL_CTX *ctx;
};

static int update_fetch_cb(void *arg, const char *name, size_t max, char **out, size_t *len)
{
	struct update_fetch *f = arg;
	char path[256], err[256];
	int status = 0, rc;

	*out = NULL;
	snprintf(path, sizeof(path), "/repo/metadata/%s", name);
	rc = httpc_request_sync(f->conf->server, f->ctx, "GET", path, NULL, NULL, UPDATE_TIMEOUT_S,
	                        &status, out, err, sizeof(err));
	if (rc != 0)
		return strstr(err, "too large") != NULL ? TE_ERR_TOO_LONG : rc;
	if (status == 404 || status == 403) {
		free(*out);
		*out = NULL;
		return TE_ERR_NOT_FOUND;
	}
	if (status != 200) {
		free(*out);
		*out = NULL;
		return TE_ERR_PROTOCOL;
	}
	*len = strlen(*out);
	if (*len > max) {
		free(*out);
		*out = NULL;
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

/* Keep doc as state_dir/tuf/NAME.json, owned like state_dir (an
 * administrator's root run must not leave files the agent cannot replace). */
static int update_keep(const struct agent_conf *conf, const char *dir, const char *name,
                       const json_t *doc)
{
	char p[AGENT_PATH_BYTES + 32], *text = json_dumps(doc, JSON_COMPACT);
	struct stat st;
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	snprintf(p, sizeof(p), "%s/%s.json", dir, name);
	rc = file_replace(p, text, strlen(text));
	free(text);
	if (rc == 0 && geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
	    chown(p, st.st_uid, st.st_gid) != 0)
		rc = TE_ERR_IO;
	return rc;
}

static json_t *update_load(const char *dir, const char *name)
{
	char p[AGENT_PATH_BYTES + 32], *text = NULL;
	json_t *md = NULL;
	size_t len = 0;

	snprintf(p, sizeof(p), "%s/%s.json", dir, name);
	if (file_read_all(p, TUFCLIENT_META_MAX_BYTES, &text, &len) == 0)
		(void)tuf_parse(text, len, &md);
	free(text);
	return md;
}

static int64_t update_version(const json_t *md)
{
	return (int64_t)json_integer_value(json_object_get(json_object_get(md, "signed"), "version"));
}

static int update_refused(const struct agent_conf *conf, const struct tufclient *c,
                          const char *what)
{
	fprintf(stderr, "tether-agent update check: refused (%s): %s\n",
	        tufclient_refusal_name(c->refusal), c->why);
	agentaudit_log(conf, "agent", "update_refused", "%s: %s: %s", what,
	               tufclient_refusal_name(c->refusal), c->why);
	return 1;
}

static void update_print_target(const char *name, const json_t *info)
{
	const json_t *cu = json_object_get(info, "custom"), *h;
	size_t i;

	printf("target %s\n", name);
	printf("length %lld\n", (long long)json_integer_value(json_object_get(info, "length")));
	printf("sha256 %s\n", json_string_value(json_object_get(json_object_get(info, "hashes"),
	                                                         "sha256")));
	if (json_is_string(json_object_get(cu, "component")))
		printf("component %s %s\n", json_string_value(json_object_get(cu, "component")),
		       json_is_string(json_object_get(cu, "version")) ?
		       json_string_value(json_object_get(cu, "version")) : "?");
	if (json_is_integer(json_object_get(cu, "counter")))
		printf("counter %lld\n", (long long)json_integer_value(json_object_get(cu, "counter")));
	if (json_is_array(json_object_get(cu, "hardware"))) {
		printf("hardware");
		json_array_foreach(json_object_get(cu, "hardware"), i, h)
			printf(" %s", json_is_string(h) ? json_string_value(h) : "?");
		printf("\n");
	}
}

int update_check(const struct agent_conf *conf, const char *target)
{
	char dir[AGENT_PATH_BYTES], ca[AGENT_PATH_BYTES];
	struct update_fetch f = { conf, NULL };
	struct tufclient c;
	json_t *root, *info = NULL;
	char *text = NULL, *first = NULL;
	size_t len = 0;
	int rc, code = 1, tofu = 0;

	memset(&c, 0, sizeof(c));
	if (target != NULL && !tuf_target_name_ok(target)) {
		fprintf(stderr, "tether-agent update check: %s is not a target name\n", target);
		return 2;
	}
	agentconf_state_path(conf, UPDATE_DIR, dir, sizeof(dir));
	agentconf_state_path(conf, "ca.crt", ca, sizeof(ca));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "tether-agent update check: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	{
		struct stat st;

		/* run by root: the folder stays the agent's, like state_dir */
		if (geteuid() == 0 && stat(conf->state_dir, &st) == 0 &&
		    chown(dir, st.st_uid, st.st_gid) != 0) {
			fprintf(stderr, "tether-agent update check: cannot give %s to the agent's "
			        "user: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	/* No client certificate: the device key stays out of this process. */
	if ((rc = tls_client_ctx_new(ca, NULL, NULL, &f.ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(f.ctx, PKI_ROLE_SERVER)) != 0) {
		fprintf(stderr, "tether-agent update check: cannot load the deployment CA from %s: "
		        "%s\n", conf->state_dir, te_strerror(rc));
		goto out;
	}
	if ((root = update_load(dir, "root")) != NULL) {
		text = json_dumps(root, JSON_COMPACT);
		json_decref(root);
	} else if (update_fetch_cb(&f, "1.root.json", TUFCLIENT_ROOT_MAX_BYTES, &first, &len) == 0) {
		text = first;
		first = NULL;
		tofu = 1;
	} else {
		fprintf(stderr, "tether-agent update check: the server publishes no repository yet "
		        "(no /repo/metadata/1.root.json)\n");
		goto out;
	}
	if (text == NULL || tufclient_init(&c, text, strlen(text), (int64_t)time(NULL),
	                                   update_fetch_cb, &f) != 0) {
		code = update_refused(conf, &c, "the trusted root");
		goto out;
	}
	c.timestamp = update_load(dir, "timestamp");
	c.snapshot = update_load(dir, "snapshot");
	c.targets = update_load(dir, "targets");
	if (tufclient_refresh(&c) != 0) {
		code = update_refused(conf, &c, "refresh");
		goto out;
	}
	/* Everything verified: this is what the device trusts from now on. */
	{
		const json_t *docs[4] = { c.root, c.timestamp, c.snapshot, c.targets };

		for (size_t i = 0; i < 4; i++)
			if (update_keep(conf, dir, update_roles[i], docs[i]) != 0) {
				fprintf(stderr, "tether-agent update check: cannot keep %s in %s\n",
				        update_roles[i], dir);
				goto out;
			}
	}
	printf("root %lld%s, timestamp %lld, snapshot %lld, targets %lld\n",
	       (long long)update_version(c.root), tofu ? " (first trusted now)" : "",
	       (long long)update_version(c.timestamp), (long long)update_version(c.snapshot),
	       (long long)update_version(c.targets));
	agentaudit_log(conf, "agent", "update_checked", "root %lld timestamp %lld snapshot %lld "
	               "targets %lld", (long long)update_version(c.root),
	               (long long)update_version(c.timestamp), (long long)update_version(c.snapshot),
	               (long long)update_version(c.targets));
	if (target != NULL) {
		if (tufclient_target(&c, target, &info) != 0) {
			code = update_refused(conf, &c, target);
			goto out;
		}
		update_print_target(target, info);
	}
	code = 0;
out:
	json_decref(info);
	tufclient_free(&c);
	free(text);
	free(first);
	SSL_CTX_free(f.ctx);
	return code;
}

/* repo.c: `tether repo`, the release manager's side of the software
 * repository (issue 10; docs/updates.md). Everything here runs offline on
 * the release manager's machine: the root and targets keys (and a product
 * family's delegated keys) are made and used here and never reach the
 * server, which signs only snapshot and timestamp, online.
 *
 * A working folder DIR holds metadata/root.json (the newest root, and each
 * version as metadata/N.root.json), metadata/targets.json, one
 * metadata/ROLE.json per delegated role, and targets/ with the files. A
 * change to a role that was signed makes its next version, unsigned; `repo
 * sign` signs it; `repo status` says what verifies against the root. */
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bounds.h"
#include "cliargs.h"
#include "cliout.h"
#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "tuf.h"

#define REPO_PATH_BYTES     4096
#define REPO_DEFAULT_DAYS   365
#define REPO_MAX_DAYS       (10 * 365)
#define REPO_MAX_LIST       16          /* keys or hardware names in one option */
#define REPO_FILE_MAX       ((size_t)1 << 40)
#define REPO_ROLE_BYTES     64

static const char *const repo_top_roles[] = { "root", "targets", "snapshot", "timestamp" };

/* ---- files ------------------------------------------------------------------- */

static int repo_path(char out[REPO_PATH_BYTES], const char *dir, const char *sub,
                     const char *name)
{
	int n = snprintf(out, REPO_PATH_BYTES, "%s/%s%s%s", dir, sub, name[0] ? "/" : "", name);

	return n < 0 || n >= REPO_PATH_BYTES ? TE_ERR_TOO_LONG : 0;
}

/* A role's document from DIR/metadata/NAME.json. */
static int repo_load(const char *dir, const char *name, json_t **md)
{
	char p[REPO_PATH_BYTES], file[REPO_ROLE_BYTES + 8], *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(file, sizeof(file), "%s.json", name);
	if ((rc = repo_path(p, dir, "metadata", file)) != 0 ||
	    (rc = file_read_all(p, TUF_MAX_META_BYTES, &text, &len)) != 0)
		return rc;
	rc = tuf_parse(text, len, md);
	free(text);
	return rc;
}

static int repo_write_json(const char *path, const json_t *md)
{
	char *text = json_dumps(md, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc;

	if (text == NULL)
		return TE_ERR_NOMEM;
	rc = file_replace(path, text, strlen(text));
	free(text);
	return rc;
}

/* Keep a role's document; root also as metadata/VERSION.root.json, the
 * chain a client follows from any older root. */
static int repo_save(const char *dir, const char *name, const json_t *md)
{
	char p[REPO_PATH_BYTES], file[REPO_ROLE_BYTES + 32];
	int rc;

	snprintf(file, sizeof(file), "%s.json", name);
	if ((rc = repo_path(p, dir, "metadata", file)) != 0 || (rc = repo_write_json(p, md)) != 0)
		return rc;
	if (strcmp(name, "root") != 0)
		return 0;
	snprintf(file, sizeof(file), "%lld.root.json", (long long)json_integer_value(
	         json_object_get(json_object_get(md, "signed"), "version")));
	if ((rc = repo_path(p, dir, "metadata", file)) != 0)
		return rc;
	return repo_write_json(p, md);
}

/* ---- keys -------------------------------------------------------------------- */

/* A private key (PEM) for signing. */
static int repo_private_key(const char *path, EVP_PKEY **key)
{
	FILE *f = fopen(path, "r");

	*key = NULL;
	if (f == NULL)
		return TE_ERR_NOT_FOUND;
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (*key == NULL || EVP_PKEY_get_id(*key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return TE_ERR_INVALID;
	}
	return 0;
}

/* A public key: a .pub file (the TUF key object, or a PEM public key as the
 * server's online keys are), or a private key's PEM. */
static int repo_public_key(const char *path, json_t **key, char id[TUF_KEYID_BYTES])
{
	char *text = NULL;
	size_t len = 0;
	EVP_PKEY *pk = NULL;
	int rc;

	*key = NULL;
	if ((rc = file_read_all(path, 16384, &text, &len)) != 0)
		return rc;
	if ((*key = json_loadb(text, len, 0, NULL)) != NULL) {
		free(text);
		if ((rc = tuf_keyid(*key, id)) != 0) {
			json_decref(*key);
			*key = NULL;
		}
		return rc;
	}
	free(text);
	{
		FILE *f = fopen(path, "r");

		if (f != NULL) {
			pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);   /* the server's online keys */
			fclose(f);
		}
	}
	if (pk == NULL && (rc = repo_private_key(path, &pk)) != 0)
		return rc;
	rc = tuf_key_json(pk, key, id);
	EVP_PKEY_free(pk);
	return rc;
}

/* Comma-separated key files into keys (id -> key) and ids. */
static int repo_key_list(const char *what, const char *list, json_t *keys, json_t **ids)
{
	char buf[REPO_PATH_BYTES * 2], id[TUF_KEYID_BYTES], *save = NULL, *f;
	json_t *k;
	int rc, n = 0;

	*ids = json_array();
	if (list == NULL || snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		cliout_usage("repo: %s: name the key files, comma-separated", what);
		return TE_ERR_INVALID;
	}
	for (f = strtok_r(buf, ",", &save); f != NULL; f = strtok_r(NULL, ",", &save)) {
		if (++n > REPO_MAX_LIST || (rc = repo_public_key(f, &k, id)) != 0) {
			fprintf(stderr, "tether repo: %s: %s: %s\n", what, f,
			        n > REPO_MAX_LIST ? "too many keys" :
			        "not an Ed25519 key (tether repo keygen makes one)");
			return TE_ERR_INVALID;
		}
		json_object_set_new(keys, id, k);
		json_array_append_new(*ids, json_string(id));
	}
	return 0;
}

static int repo_threshold(const char *v, size_t nkeys, long *out)
{
	char *end;

	*out = v == NULL ? 1 : strtol(v, &end, 10);
	if ((v != NULL && (*end != '\0' || end == v)) || *out < 1 || (size_t)*out > nkeys) {
		cliout_usage("repo: a threshold is 1 to the number of keys (%zu)", nkeys);
		return TE_ERR_INVALID;
	}
	return 0;
}

static int repo_days(const char *v, long *out)
{
	char *end;

	*out = v == NULL ? REPO_DEFAULT_DAYS : strtol(v, &end, 10);
	if ((v != NULL && (*end != '\0' || end == v)) || *out < 1 || *out > REPO_MAX_DAYS) {
		cliout_usage("repo: --expires is days, 1 to %d", REPO_MAX_DAYS);
		return TE_ERR_INVALID;
	}
	return 0;
}

static void repo_set_expiry(json_t *md, long days)
{
	char t[TUF_TIME_BYTES];

	tuf_time_format((int64_t)time(NULL) + (int64_t)days * 86400, t);
	json_object_set_new(json_object_get(md, "signed"), "expires", json_string(t));
}

/* The role is about to change: a signed version makes way for the next,
 * unsigned; an unsigned one (already changed since) stays as it is. */
static void repo_touch(json_t *md, long days)
{
	json_t *s = json_object_get(md, "signed");

	if (json_array_size(json_object_get(md, "signatures")) > 0)
		json_object_set_new(s, "version",
		                    json_integer(json_integer_value(json_object_get(s, "version")) + 1));
	json_object_set_new(md, "signatures", json_array());
	repo_set_expiry(md, days);
}

static json_t *repo_new_role(const char *type, long version, long days)
{
	json_t *md = json_pack("{s:[], s:{s:s, s:s, s:i}}", "signatures", "signed", "_type",
	                       type, "spec_version", TUF_SPEC_VERSION, "version", (int)version);

	if (md != NULL)
		repo_set_expiry(md, days);
	return md;
}

/* ---- keygen ------------------------------------------------------------------ */

static int repo_keygen(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	char pub[REPO_PATH_BYTES], id[TUF_KEYID_BYTES];
	EVP_PKEY *key = NULL;
	json_t *kj = NULL;
	size_t npos;
	FILE *f = NULL;
	int fd = -1, rc = CLI_EXIT_FAIL;

	(void)cli;
	if (cliargs_parse("repo keygen", argc, argv, NULL, 0, pos, 1, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (snprintf(pub, sizeof(pub), "%s.pub", pos[0]) >= (int)sizeof(pub)) {
		cliout_usage("repo keygen: the path is too long");
		return CLI_EXIT_USAGE;
	}
	/* Never over an existing key: a lost key cannot be made again. */
	if ((fd = open(pos[0], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "tether repo keygen: %s: %s\n", pos[0], errno == EEXIST ?
		        "exists already; keys are never overwritten" : strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (f = fdopen(fd, "w")) == NULL || (fd = -1, 0) ||
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0 || tuf_key_json(key, &kj, id) != 0 ||
	    repo_write_json(pub, kj) != 0) {
		fprintf(stderr, "tether repo keygen: cannot write the key: %s\n", strerror(errno));
		unlink(pos[0]);
		goto out;
	}
	printf("%s\n", id);
	fprintf(stderr, "tether repo keygen: private key %s (keep it offline), public %s\n",
	        pos[0], pub);
	rc = CLI_EXIT_OK;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	EVP_PKEY_free(key);
	json_decref(kj);
	return rc;
}

/* ---- init and root --------------------------------------------------------- */

struct repo_keyopts {
	const char *key[4], *threshold[4];   /* by repo_top_roles */
	const char *expires;
};

/* Set the roles named in o into root's "signed" (keys kept for the others). */
static int repo_root_roles(json_t *s, const struct repo_keyopts *o, int all)
{
	json_t *keys = json_object_get(s, "keys"), *roles = json_object_get(s, "roles"), *ids;
	const char *k;
	json_t *v, *used;
	size_t i, j;
	long th;

	for (i = 0; i < 4; i++) {
		if (o->key[i] == NULL) {
			if (all) {
				cliout_usage("repo init: --%s-key is needed", repo_top_roles[i]);
				return TE_ERR_INVALID;
			}
			continue;
		}
		if (repo_key_list(repo_top_roles[i], o->key[i], keys, &ids) != 0 ||
		    repo_threshold(o->threshold[i], json_array_size(ids), &th) != 0) {
			json_decref(ids);
			return TE_ERR_INVALID;
		}
		json_object_set_new(roles, repo_top_roles[i],
		                    json_pack("{s:o, s:i}", "keyids", ids, "threshold", (int)th));
	}
	/* Keys no role lists any more leave the root (a key rotated out). */
	used = json_object();
	for (i = 0; i < 4; i++) {
		ids = json_object_get(json_object_get(roles, repo_top_roles[i]), "keyids");
		for (j = 0; j < json_array_size(ids); j++)
			json_object_set_new(used, json_string_value(json_array_get(ids, j)), json_true());
	}
	{
		void *tmp;
		json_object_foreach_safe(keys, tmp, k, v)
			if (json_object_get(used, k) == NULL)
				json_object_del(keys, k);
	}
	json_decref(used);
	return 0;
}

static int repo_root_opts(const char *cmd, int argc, char **argv, struct repo_keyopts *o,
                          const char **dir)
{
	const struct cliargs_opt opts[] = {
		{ "--root-key", &o->key[0], NULL, 0, NULL },
		{ "--targets-key", &o->key[1], NULL, 0, NULL },
		{ "--snapshot-key", &o->key[2], NULL, 0, NULL },
		{ "--timestamp-key", &o->key[3], NULL, 0, NULL },
		{ "--root-threshold", &o->threshold[0], NULL, 0, NULL },
		{ "--targets-threshold", &o->threshold[1], NULL, 0, NULL },
		{ "--snapshot-threshold", &o->threshold[2], NULL, 0, NULL },
		{ "--timestamp-threshold", &o->threshold[3], NULL, 0, NULL },
		{ "--expires", &o->expires, NULL, 0, NULL },
	};
	size_t npos;

	memset(o, 0, sizeof(*o));
	return cliargs_parse(cmd, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), dir, 1, 1,
	                     &npos, NULL);
}

static int repo_init(const struct cli *cli, int argc, char **argv)
{
	struct repo_keyopts o;
	const char *dir;
	char p[REPO_PATH_BYTES];
	json_t *root = NULL, *targets = NULL;
	long days;
	int rc = CLI_EXIT_FAIL;

	(void)cli;
	if (repo_root_opts("repo init", argc, argv, &o, &dir) != 0 || repo_days(o.expires, &days) != 0)
		return CLI_EXIT_USAGE;
	if (repo_path(p, dir, "metadata", "root.json") == 0 && access(p, F_OK) == 0) {
		fprintf(stderr, "tether repo init: %s has a root already; `tether repo root` makes "
		        "its next version\n", dir);
		return CLI_EXIT_FAIL;
	}
	root = repo_new_role("root", 1, days);
	json_object_set_new(json_object_get(root, "signed"), "consistent_snapshot", json_true());
	json_object_set_new(json_object_get(root, "signed"), "keys", json_object());
	json_object_set_new(json_object_get(root, "signed"), "roles", json_object());
	if (repo_root_roles(json_object_get(root, "signed"), &o, 1) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	targets = repo_new_role("targets", 1, days);
	json_object_set_new(json_object_get(targets, "signed"), "targets", json_object());
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
	    repo_path(p, dir, "metadata", "") != 0 || (mkdir(p, 0755) != 0 && errno != EEXIST) ||
	    repo_path(p, dir, "targets", "") != 0 || (mkdir(p, 0755) != 0 && errno != EEXIST) ||
	    repo_save(dir, "root", root) != 0 || repo_save(dir, "targets", targets) != 0) {
		fprintf(stderr, "tether repo init: cannot write %s: %s\n", dir, strerror(errno));
		goto out;
	}
	fprintf(stderr, "tether repo init: root and targets version 1 in %s; sign both with "
	        "`tether repo sign %s root --key ...` and `... targets --key ...`\n", dir, dir);
	rc = CLI_EXIT_OK;
out:
	json_decref(root);
	json_decref(targets);
	return rc;
}

/* The next root version: changed keys or thresholds, a new expiry. It must
 * be signed by the new root keys and by the old ones (repo sign, twice). */
static int repo_root(const struct cli *cli, int argc, char **argv)
{
	struct repo_keyopts o;
	const char *dir;
	json_t *root = NULL;
	long days;
	int rc = CLI_EXIT_FAIL;

	(void)cli;
	if (repo_root_opts("repo root", argc, argv, &o, &dir) != 0 || repo_days(o.expires, &days) != 0)
		return CLI_EXIT_USAGE;
	if (repo_load(dir, "root", &root) != 0) {
		fprintf(stderr, "tether repo root: no root in %s (tether repo init)\n", dir);
		return CLI_EXIT_FAIL;
	}
	if (json_array_size(json_object_get(root, "signatures")) == 0) {
		fprintf(stderr, "tether repo root: root version %lld is not signed yet; sign it "
		        "(or change it with tether repo init in a new folder)\n", (long long)
		        json_integer_value(json_object_get(json_object_get(root, "signed"), "version")));
		goto out;
	}
	repo_touch(root, days);
	if (repo_root_roles(json_object_get(root, "signed"), &o, 0) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (repo_save(dir, "root", root) != 0) {
		fprintf(stderr, "tether repo root: cannot write %s\n", dir);
		goto out;
	}
	fprintf(stderr, "tether repo root: root version %lld made; sign it with the new root "
	        "keys and with the old ones\n", (long long)json_integer_value(
	        json_object_get(json_object_get(root, "signed"), "version")));
	rc = CLI_EXIT_OK;
out:
	json_decref(root);
	return rc;
}

/* ---- delegations and targets ----------------------------------------------- */

static int repo_role_name_ok(const char *r)
{
	for (size_t i = 0; i < sizeof(repo_top_roles) / sizeof(repo_top_roles[0]); i++)
		if (strcmp(r, repo_top_roles[i]) == 0)
			return 0;
	return tuf_role_name_ok(r);
}

/* The delegation of role in targets' "signed", or NULL. */
static json_t *repo_delegation(json_t *targets, const char *role)
{
	json_t *roles = json_object_get(json_object_get(json_object_get(targets, "signed"),
	                                                "delegations"), "roles"), *d;
	size_t i;

	json_array_foreach(roles, i, d)
		if (json_is_string(json_object_get(d, "name")) &&
		    strcmp(json_string_value(json_object_get(d, "name")), role) == 0)
			return d;
	return NULL;
}

static int repo_delegate(const struct cli *cli, int argc, char **argv)
{
	const char *pos[2], *keyl = NULL, *th = NULL, *paths = NULL, *exp = NULL;
	const struct cliargs_opt opts[] = {
		{ "--key", &keyl, NULL, 0, NULL }, { "--threshold", &th, NULL, 0, NULL },
		{ "--paths", &paths, NULL, 0, NULL }, { "--expires", &exp, NULL, 0, NULL },
	};
	json_t *targets = NULL, *role = NULL, *dl, *ids = NULL, *pl;
	char buf[1024], *save = NULL, *p;
	size_t npos;
	long days, thr;
	int rc = CLI_EXIT_USAGE;

	(void)cli;
	if (cliargs_parse("repo delegate", argc, argv, opts, 4, pos, 2, 2, &npos, NULL) != 0 ||
	    repo_days(exp, &days) != 0)
		return CLI_EXIT_USAGE;
	if (!repo_role_name_ok(pos[1]) || paths == NULL ||
	    snprintf(buf, sizeof(buf), "%s", paths) >= (int)sizeof(buf)) {
		cliout_usage("repo delegate DIR ROLE --key K[,K] --paths 'FAMILY/*' [--threshold N]: "
		             "ROLE is a product family's name ([A-Za-z0-9._-])");
		return CLI_EXIT_USAGE;
	}
	if (repo_load(pos[0], "targets", &targets) != 0) {
		fprintf(stderr, "tether repo delegate: no targets in %s (tether repo init)\n", pos[0]);
		return CLI_EXIT_FAIL;
	}
	repo_touch(targets, days);
	dl = json_object_get(json_object_get(targets, "signed"), "delegations");
	if (dl == NULL) {
		dl = json_pack("{s:{}, s:[]}", "keys", "roles");
		json_object_set_new(json_object_get(targets, "signed"), "delegations", dl);
	}
	if (repo_key_list("delegate", keyl, json_object_get(dl, "keys"), &ids) != 0 ||
	    repo_threshold(th, json_array_size(ids), &thr) != 0)
		goto out;
	pl = json_array();
	for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
		json_array_append_new(pl, json_string(p));
	if (repo_delegation(targets, pos[1]) != NULL) {
		json_t *d = repo_delegation(targets, pos[1]);

		json_object_set(d, "keyids", ids);
		json_object_set_new(d, "threshold", json_integer(thr));
		json_object_set_new(d, "paths", pl);
	} else {
		json_array_append_new(json_object_get(dl, "roles"),
		                      json_pack("{s:s, s:O, s:i, s:o, s:b}", "name", pos[1], "keyids",
		                                ids, "threshold", (int)thr, "paths", pl,
		                                "terminating", 1));
	}
	rc = CLI_EXIT_FAIL;
	if (repo_load(pos[0], pos[1], &role) == TE_ERR_NOT_FOUND) {
		role = repo_new_role("targets", 1, days);
		json_object_set_new(json_object_get(role, "signed"), "targets", json_object());
		if (repo_save(pos[0], pos[1], role) != 0)
			goto out;
	}
	if (repo_save(pos[0], "targets", targets) != 0)
		goto out;
	fprintf(stderr, "tether repo delegate: %s may sign %s; sign targets again (tether repo "
	        "sign %s targets --key ...)\n", pos[1], paths, pos[0]);
	rc = CLI_EXIT_OK;
out:
	json_decref(ids);
	json_decref(targets);
	json_decref(role);
	return rc;
}

/* Copy from into DIR/targets/NAME (folders made), its length and SHA-256. */
static int repo_copy_target(const char *dir, const char *name, const char *from,
                            json_int_t *length, char sha[65])
{
	char to[REPO_PATH_BYTES], tmp[REPO_PATH_BYTES + 8], *slash;
	int in = -1, out = -1, rc = TE_ERR_IO;
	int64_t len = 0;

	*length = 0;
	if (repo_path(to, dir, "targets", name) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.part", to) >= (int)sizeof(tmp))
		return TE_ERR_TOO_LONG;
	for (slash = strchr(to + strlen(dir) + 9, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(to, 0755) != 0 && errno != EEXIST)
			return TE_ERR_IO;
		*slash = '/';
	}
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0 &&
	    (rc = file_copy_sha256(in, out, INT64_MAX, &len, sha)) == 0 &&
	    (fsync(out) != 0 || rename(tmp, to) != 0))
		rc = TE_ERR_IO;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc != 0)
		unlink(tmp);
	*length = (json_int_t)len;
	return rc;
}

struct repo_add_opts {
	const char *name, *role, *product, *hardware, *component, *version, *counter, *sbom, *exp;
};

/* The highest release counter of component among role's targets. */
static long long repo_counter_max(const json_t *targets, const char *component)
{
	const char *k;
	json_t *t;
	long long max = 0, c;

	json_object_foreach((json_t *)targets, k, t) {
		const json_t *cu = json_object_get(t, "custom");
		const char *comp = json_string_value(json_object_get(cu, "component"));

		c = json_integer_value(json_object_get(cu, "counter"));
		if (comp != NULL && strcmp(comp, component) == 0 && c > max)
			max = c;
	}
	return max;
}

static int repo_add(const struct cli *cli, int argc, char **argv)
{
	struct repo_add_opts o = { 0 };
	const struct cliargs_opt opts[] = {
		{ "--name", &o.name, NULL, 0, NULL }, { "--role", &o.role, NULL, 0, NULL },
		{ "--product", &o.product, NULL, 0, NULL }, { "--hardware", &o.hardware, NULL, 0, NULL },
		{ "--component", &o.component, NULL, 0, NULL }, { "--version", &o.version, NULL, 0, NULL },
		{ "--counter", &o.counter, NULL, 0, NULL }, { "--sbom", &o.sbom, NULL, 0, NULL },
		{ "--expires", &o.exp, NULL, 0, NULL },
	};
	const char *pos[2];
	char sha[65], sbom_sha[65], sbom_name[256], buf[1024], *save = NULL, *h, *end;
	json_t *md = NULL, *targets, *custom = NULL, *hw, *top = NULL, *d, *pat;
	json_int_t len = 0, slen = 0;
	long long counter;
	size_t npos, i;
	long days;
	int rc = CLI_EXIT_USAGE, inside = 0;

	(void)cli;
	if (cliargs_parse("repo add", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 2, 2,
	                  &npos, NULL) != 0 || repo_days(o.exp, &days) != 0)
		return CLI_EXIT_USAGE;
	if (o.role == NULL)
		o.role = "targets";
	if (o.name == NULL || !tuf_target_name_ok(o.name) || strlen(o.name) > TUF_MAX_TARGET_BYTES || o.product == NULL ||
	    cliargs_check_name(o.product) != 0 || o.hardware == NULL || o.component == NULL ||
	    cliargs_check_name(o.component) != 0 || o.version == NULL ||
	    cliargs_check_name(o.version) != 0 || o.counter == NULL ||
	    (counter = strtoll(o.counter, &end, 10)) < 1 || *end != '\0' ||
	    snprintf(buf, sizeof(buf), "%s", o.hardware) >= (int)sizeof(buf) ||
	    (strcmp(o.role, "targets") != 0 && !repo_role_name_ok(o.role))) {
		cliout_usage("repo add DIR FILE --name FAMILY/FILE --product P --hardware H[,H] "
		             "--component C --version V --counter N [--sbom FILE] [--role ROLE] "
		             "(names of [A-Za-z0-9._-], counter >= 1)");
		return CLI_EXIT_USAGE;
	}
	rc = CLI_EXIT_FAIL;
	if (repo_load(pos[0], o.role, &md) != 0) {
		fprintf(stderr, "tether repo add: no role %s in %s (tether repo delegate)\n", o.role,
		        pos[0]);
		goto out;
	}
	/* A delegated role signs only inside its paths: clients would ignore
	 * the rest, so it is refused here, where the mistake is made. */
	if (strcmp(o.role, "targets") != 0) {
		if (repo_load(pos[0], "targets", &top) != 0 || (d = repo_delegation(top, o.role)) == NULL) {
			fprintf(stderr, "tether repo add: targets does not delegate to %s\n", o.role);
			goto out;
		}
		json_array_foreach(json_object_get(d, "paths"), i, pat)
			inside |= tuf_path_match(json_string_value(pat), o.name);
		if (!inside) {
			fprintf(stderr, "tether repo add: %s is outside what %s may sign\n", o.name, o.role);
			goto out;
		}
	}
	targets = json_object_get(json_object_get(md, "signed"), "targets");
	if (counter <= repo_counter_max(targets, o.component)) {
		fprintf(stderr, "tether repo add: release counter %lld of %s is not above the %lld "
		        "it has reached; it never goes down\n", counter, o.component,
		        repo_counter_max(targets, o.component));
		goto out;
	}
	hw = json_array();
	for (h = strtok_r(buf, ",", &save); h != NULL; h = strtok_r(NULL, ",", &save))
		json_array_append_new(hw, json_string(h));
	custom = json_pack("{s:s, s:o, s:s, s:s, s:I}", "product", o.product, "hardware", hw,
	                   "component", o.component, "version", o.version, "counter",
	                   (json_int_t)counter);
	if (o.sbom != NULL) {
		snprintf(sbom_name, sizeof(sbom_name), "%s.cdx.json", o.name);
		if (repo_copy_target(pos[0], sbom_name, o.sbom, &slen, sbom_sha) != 0) {
			fprintf(stderr, "tether repo add: cannot copy %s: %s\n", o.sbom, strerror(errno));
			goto out;
		}
		json_object_set_new(custom, "sbom_sha256", json_string(sbom_sha));
		json_object_set_new(targets, sbom_name,
		                    json_pack("{s:I, s:{s:s}, s:{s:s}}", "length", slen, "hashes",
		                              "sha256", sbom_sha, "custom", "sbom_of", o.name));
	}
	if (repo_copy_target(pos[0], o.name, pos[1], &len, sha) != 0) {
		fprintf(stderr, "tether repo add: cannot copy %s: %s\n", pos[1], strerror(errno));
		goto out;
	}
	repo_touch(md, days);
	json_object_set_new(targets, o.name, json_pack("{s:I, s:{s:s}, s:O}", "length", len,
	                                                "hashes", "sha256", sha, "custom", custom));
	if (repo_save(pos[0], o.role, md) != 0) {
		fprintf(stderr, "tether repo add: cannot write %s\n", pos[0]);
		goto out;
	}
	printf("%s\t%lld\t%s\n", o.name, (long long)len, sha);
	rc = CLI_EXIT_OK;
out:
	json_decref(custom);
	json_decref(md);
	json_decref(top);
	return rc;
}

/* ---- sign and status --------------------------------------------------------- */

static int repo_sign(const struct cli *cli, int argc, char **argv)
{
	const char *pos[2], *keyl = NULL;
	const struct cliargs_opt opts[] = { { "--key", &keyl, NULL, 0, NULL } };
	char buf[REPO_PATH_BYTES * 2], *save = NULL, *f;
	EVP_PKEY *key;
	json_t *md = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	(void)cli;
	if (cliargs_parse("repo sign", argc, argv, opts, 1, pos, 2, 2, &npos, NULL) != 0 ||
	    keyl == NULL || snprintf(buf, sizeof(buf), "%s", keyl) >= (int)sizeof(buf) ||
	    (strcmp(pos[1], "root") != 0 && strcmp(pos[1], "targets") != 0 &&
	     !repo_role_name_ok(pos[1]))) {
		cliout_usage("repo sign DIR ROLE --key KEYFILE[,KEYFILE]: ROLE is root, targets or "
		             "a delegated role (snapshot and timestamp are the server's)");
		return CLI_EXIT_USAGE;
	}
	if (repo_load(pos[0], pos[1], &md) != 0) {
		fprintf(stderr, "tether repo sign: no role %s in %s\n", pos[1], pos[0]);
		return CLI_EXIT_FAIL;
	}
	for (f = strtok_r(buf, ",", &save); f != NULL; f = strtok_r(NULL, ",", &save)) {
		if (repo_private_key(f, &key) != 0) {
			fprintf(stderr, "tether repo sign: %s: not an Ed25519 private key\n", f);
			goto out;
		}
		rc = tuf_sign(md, key);
		EVP_PKEY_free(key);
		if (rc != 0) {
			fprintf(stderr, "tether repo sign: cannot sign %s: %s\n", pos[1], te_strerror(rc));
			rc = CLI_EXIT_FAIL;
			goto out;
		}
	}
	rc = repo_save(pos[0], pos[1], md) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	if (rc != CLI_EXIT_OK)
		fprintf(stderr, "tether repo sign: cannot write %s\n", pos[0]);
out:
	json_decref(md);
	return rc;
}

/* How md stands against keyids/threshold of keys: "ok", "unsigned" or
 * "needs N more signatures", and "expired" when past its date. */
static void repo_state(const json_t *md, const json_t *keys, const json_t *ids, long th,
                       json_t *row)
{
	int64_t v = 0, e = 0;
	long valid = 0;
	char t[TUF_TIME_BYTES], st[64];
	const char *type = json_string_value(json_object_get(json_object_get(md, "signed"), "_type"));

	if (type == NULL || tuf_check_signed(md, type, &v, &e) != 0) {
		json_object_set_new(row, "state", json_string("malformed"));
		return;
	}
	tuf_time_format(e, t);
	(void)tuf_verify(md, keys, ids, th, &valid);
	if (valid >= th)
		snprintf(st, sizeof(st), e <= (int64_t)time(NULL) ? "expired" : "ok");
	else if (valid == 0 && json_array_size(json_object_get(md, "signatures")) == 0)
		snprintf(st, sizeof(st), "unsigned");
	else
		snprintf(st, sizeof(st), "needs %ld more signature(s)", th - valid);
	json_object_set_new(row, "version", json_integer(v));
	json_object_set_new(row, "expires", json_string(t));
	json_object_set_new(row, "signatures", json_sprintf("%ld of %ld", valid, th));
	json_object_set_new(row, "state", json_string(st));
	if (strcmp(type, "targets") == 0)     /* root lists keys, not targets */
		json_object_set_new(row, "targets", json_integer((json_int_t)json_object_size(
		                    json_object_get(json_object_get(md, "signed"), "targets"))));
}

static void repo_status_cells(const json_t *row, char cells[][CLIOUT_CELL_BYTES])
{
	const char *keys[] = { "role", "version", "expires", "signatures", "targets", "state" };

	for (size_t i = 0; i < 6; i++) {
		const json_t *v = json_object_get(row, keys[i]);

		if (json_is_integer(v))
			snprintf(cells[i], CLIOUT_CELL_BYTES, "%lld", (long long)json_integer_value(v));
		else
			snprintf(cells[i], CLIOUT_CELL_BYTES, "%s", json_is_string(v) ?
			         json_string_value(v) : "-");
	}
}

static int repo_status(const struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "ROLE", "VERSION", "EXPIRES", "SIGNED", "TARGETS",
	                                    "STATE" };
	const char *pos[1];
	json_t *root = NULL, *prev = NULL, *targets = NULL, *md, *rows = json_array(), *row, *d;
	const json_t *ids = NULL, *rs;
	char file[64];
	long th = 0;
	size_t npos, i;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("repo status", argc, argv, NULL, 0, pos, 1, 1, &npos, NULL) != 0) {
		json_decref(rows);
		return CLI_EXIT_USAGE;
	}
	if (repo_load(pos[0], "root", &root) != 0) {
		fprintf(stderr, "tether repo status: no root in %s (tether repo init)\n", pos[0]);
		goto out;
	}
	rs = json_object_get(root, "signed");
	row = json_pack("{s:s}", "role", "root");
	if (tuf_role_keys(rs, "root", &ids, &th) == 0)
		repo_state(root, json_object_get(rs, "keys"), ids, th, row);
	/* A new root needs the old root's threshold too. */
	snprintf(file, sizeof(file), "%lld.root", (long long)json_integer_value(
	         json_object_get(rs, "version")) - 1);
	if (json_integer_value(json_object_get(rs, "version")) > 1 &&
	    repo_load(pos[0], file, &prev) == 0 &&
	    tuf_role_keys(json_object_get(prev, "signed"), "root", &ids, &th) == 0 &&
	    tuf_verify(root, json_object_get(json_object_get(prev, "signed"), "keys"), ids, th,
	               NULL) != 0)
		json_object_set_new(row, "state", json_string("needs the previous root's keys"));
	json_array_append_new(rows, row);
	if (repo_load(pos[0], "targets", &targets) == 0) {
		row = json_pack("{s:s}", "role", "targets");
		if (tuf_role_keys(rs, "targets", &ids, &th) == 0)
			repo_state(targets, json_object_get(rs, "keys"), ids, th, row);
		json_array_append_new(rows, row);
		json_array_foreach(json_object_get(json_object_get(json_object_get(targets, "signed"),
		                   "delegations"), "roles"), i, d) {
			const char *name = json_string_value(json_object_get(d, "name"));

			if (name == NULL || !repo_role_name_ok(name) || repo_load(pos[0], name, &md) != 0)
				continue;
			row = json_pack("{s:s}", "role", name);
			if (tuf_delegation_keys(d, &ids, &th) == 0)
				repo_state(md, json_object_get(json_object_get(json_object_get(targets,
				           "signed"), "delegations"), "keys"), ids, th, row);
			json_array_append_new(rows, row);
			json_decref(md);
		}
	}
	if (cli->json)
		cliout_json(rows);
	else
		cliout_table(rows, head, 6, repo_status_cells);
	rc = CLI_EXIT_OK;
out:
	json_decref(rows);
	json_decref(root);
	json_decref(prev);
	json_decref(targets);
	return rc;
}

int repo_main(const struct cli *cli, int argc, char **argv)
{
	static const struct cliargs_cmd cmds[] = {
		{ "keygen", repo_keygen }, { "init", repo_init }, { "root", repo_root },
		{ "delegate", repo_delegate }, { "add", repo_add }, { "sign", repo_sign },
		{ "status", repo_status }, { "publish", repo_publish },
	};

	return cliargs_dispatch(cli, "repo", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

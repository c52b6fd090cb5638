/* api_advisory.c: GET /api/v1/advisories (issue 10, section 6;
 * docs/updates.md): the imported OSV advisories matched against what the
 * fleet runs, for the manufacturer's postmarket cybersecurity process.
 *
 * What a device runs is read two ways: the component versions it reports
 * (its status), and the SBOM (CycloneDX) of the release the repository
 * publishes for each of those component versions, whose components the
 * device runs too. Each affected (advisory, package, device) is a row with
 * the device's site and customer, how it was found, and the published
 * release that fixes it: the lowest release of the component above the
 * fixed version, or for a package found in an SBOM, the lowest newer
 * release of the device's component whose SBOM no longer has it affected.
 * Devices are those of the user's sites. At most API_ADV_MAX_ROWS rows and
 * API_ADV_MAX_RUNS (device, package) pairs are looked at; past either,
 * "truncated" says the list is not whole. The runs are sorted by package
 * once, so each advisory looks only at the runs of its packages. */
#include "srvapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devstatus.h"
#include "err.h"
#include "filerepl.h"
#include "http.h"
#include "osv.h"
#include "repo.h"
#include "repoimport.h"
#include "server.h"
#include "store.h"
#include "tuf.h"

#define API_ADV_MAX_ROWS     10000
#define API_ADV_MAX_RUNS     200000   /* (device, component, version) kept */
#define API_ADV_SBOM_BYTES   (4 * 1024 * 1024)
#define API_ADV_SBOM_ITEMS   5000

/* A device the user may see. */
struct api_adv_dev {
	char serial[MAX_NAME_BYTES], site[MAX_NAME_BYTES], customer[STORE_TEXT_BYTES];
};

/* One thing a device runs: a component it reports (base == itself), or a
 * package in the SBOM of the release of a component it reports. */
struct api_adv_run {
	size_t dev;
	int from_sbom;
	char component[OSV_NAME_BYTES], version[OSV_VERSION_BYTES];
	char base_component[OSV_NAME_BYTES], base_version[OSV_VERSION_BYTES];
};

struct api_adv {
	struct http_req *r;
	json_t *releases;     /* [{name, component, version, sbom}] from the repository */
	json_t *sboms;        /* release name -> [[name, version], ...] (cache) */
	struct api_adv_dev *devs;
	size_t ndevs, devcap;
	struct api_adv_run *runs;  /* sorted by component once all are in */
	size_t nruns, cap;
	json_t *rows;
	int truncated;
	struct osv osv;
};

/* The release's SBOM components as [[name, version], ...] (cached; [] when
 * it has none or it cannot be read). */
static const json_t *api_adv_sbom(struct api_adv *a, const json_t *rel)
{
	const char *name = json_string_value(json_object_get(rel, "name"));
	const char *sha = json_string_value(json_object_get(rel, "sbom"));
	const char *base = strrchr(name, '/');
	json_t *list = json_object_get(a->sboms, name), *doc = NULL, *c;
	char p[TUF_MAX_NAME_BYTES + 96], *text = NULL;
	size_t len, i;
	int fd = repo_targets_fd(a->r->srv);

	if (list != NULL)
		return list;
	list = json_array();
	json_object_set_new(a->sboms, name, list);
	if (sha == NULL || strlen(sha) != 64 || fd < 0)
		return list;
	snprintf(p, sizeof(p), "%.*s%s%s.%s.cdx.json", base ? (int)(base - name) : 0, name,
	         base ? "/" : "", sha, base ? base + 1 : name);
	if (file_read_all_at(fd, p, API_ADV_SBOM_BYTES, &text, &len) != 0 ||
	    (doc = json_loadb(text, len, 0, NULL)) == NULL) {
		free(text);
		return list;
	}
	free(text);
	json_array_foreach(json_object_get(doc, "components"), i, c) {
		const char *cn = json_string_value(json_object_get(c, "name"));
		const char *cv = json_string_value(json_object_get(c, "version"));

		if (i >= API_ADV_SBOM_ITEMS)
			break;
		if (cn != NULL && cv != NULL && strlen(cn) < OSV_NAME_BYTES &&
		    strlen(cv) < OSV_VERSION_BYTES && devstatus_version_ok(cv))
			json_array_append_new(list, json_pack("[s, s]", cn, cv));
	}
	json_decref(doc);
	return list;
}

static const json_t *api_adv_release(struct api_adv *a, const char *comp, const char *ver)
{
	size_t i;
	json_t *rel;

	json_array_foreach(a->releases, i, rel)
		if (strcmp(json_string_value(json_object_get(rel, "component")), comp) == 0 &&
		    strcmp(json_string_value(json_object_get(rel, "version")), ver) == 0)
			return rel;
	return NULL;
}

/* ---- what the devices run ----------------------------------------------------- */

static int api_adv_add_run(struct api_adv *a, int from_sbom, const char *comp, const char *ver,
                           const char *bc, const char *bv)
{
	struct api_adv_run *n;

	if (a->nruns >= API_ADV_MAX_RUNS) {
		a->truncated = 1;         /* said in the answer: the list is not whole */
		return 0;
	}
	if (a->nruns == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;

		if ((n = realloc(a->runs, cap * sizeof(*n))) == NULL)
			return TE_ERR_NOMEM;
		a->runs = n;
		a->cap = cap;
	}
	n = &a->runs[a->nruns++];
	n->dev = a->ndevs - 1;
	n->from_sbom = from_sbom;
	snprintf(n->component, sizeof(n->component), "%s", comp);
	snprintf(n->version, sizeof(n->version), "%s", ver);
	snprintf(n->base_component, sizeof(n->base_component), "%s", bc);
	snprintf(n->base_version, sizeof(n->base_version), "%s", bv);
	return 0;
}

static int api_adv_add_dev(struct api_adv *a, const struct store_device *d)
{
	struct api_adv_dev *n;

	if (a->ndevs == a->devcap) {
		size_t cap = a->devcap ? a->devcap * 2 : 64;

		if ((n = realloc(a->devs, cap * sizeof(*n))) == NULL)
			return TE_ERR_NOMEM;
		a->devs = n;
		a->devcap = cap;
	}
	n = &a->devs[a->ndevs++];
	snprintf(n->serial, sizeof(n->serial), "%s", d->serial);
	snprintf(n->site, sizeof(n->site), "%s", d->site);
	snprintf(n->customer, sizeof(n->customer), "%s", d->customer);
	return 0;
}

static int api_adv_device_cb(const struct store_device *d, void *arg)
{
	struct api_adv *a = arg;
	struct store_devstatus *st = malloc(sizeof(*st));
	struct devstatus *s = malloc(sizeof(*s));
	const json_t *rel, *list, *c;
	char why[128];
	size_t i, j;
	int rc = 0;

	if (st == NULL || s == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if (strcmp(d->status, "revoked") == 0 || !api_site_in_scope(a->r, d->site) ||
	    store_devstatus_get(a->r->srv->store, d->serial, st) != 0 ||
	    devstatus_parse(st->status, strlen(st->status), s, why, sizeof(why)) != 0 ||
	    s->nversions == 0 || (rc = api_adv_add_dev(a, d)) != 0)
		goto out;
	for (i = 0; i < s->nversions && rc == 0; i++) {
		const char *comp = s->versions[i].name, *ver = s->versions[i].version;

		rc = api_adv_add_run(a, 0, comp, ver, comp, ver);
		if (rc != 0 || (rel = api_adv_release(a, comp, ver)) == NULL)
			continue;
		list = api_adv_sbom(a, rel);
		json_array_foreach(list, j, c)
			if ((rc = api_adv_add_run(a, 1, json_string_value(json_array_get(c, 0)),
			                          json_string_value(json_array_get(c, 1)), comp, ver)) != 0)
				break;
	}
out:
	free(st);
	free(s);
	return rc;
}

static int api_adv_run_cmp(const void *x, const void *y)
{
	return strcmp(((const struct api_adv_run *)x)->component,
	              ((const struct api_adv_run *)y)->component);
}

/* ---- matching ----------------------------------------------------------------- */

/* The published release that fixes r for package: see the file's head. */
static void api_adv_fixed_by(struct api_adv *a, const struct api_adv_run *r, const char *fixed,
                             char *out, size_t outsz)
{
	const char *best = NULL, *best_ver = NULL, *f;
	size_t i, j;
	json_t *rel, *c;

	out[0] = '\0';
	json_array_foreach(a->releases, i, rel) {
		const char *comp = json_string_value(json_object_get(rel, "component"));
		const char *ver = json_string_value(json_object_get(rel, "version"));
		int ok;

		if (strcmp(comp, r->base_component) != 0 || devstatus_vercmp(ver, r->base_version) <= 0)
			continue;
		if (!r->from_sbom) {
			ok = fixed[0] != '\0' && devstatus_vercmp(ver, fixed) >= 0;
		} else {
			/* its SBOM has the package, and not at an affected version */
			ok = 0;
			json_array_foreach(api_adv_sbom(a, rel), j, c)
				if (strcmp(json_string_value(json_array_get(c, 0)), r->component) == 0)
					ok = !osv_affects(&a->osv, r->component,
					                  json_string_value(json_array_get(c, 1)), &f);
		}
		if (ok && (best_ver == NULL || devstatus_vercmp(ver, best_ver) < 0)) {
			best = json_string_value(json_object_get(rel, "name"));
			best_ver = ver;
		}
	}
	if (best != NULL)
		snprintf(out, outsz, "%s", best);
}

/* The runs of component: a range of the sorted runs. */
static size_t api_adv_first(const struct api_adv *a, const char *component)
{
	size_t lo = 0, hi = a->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(a->runs[mid].component, component) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int api_adv_cb(const char *id, const char *body, void *arg)
{
	struct api_adv *a = arg;
	char why[256], fixed_by[TUF_MAX_NAME_BYTES], via[OSV_NAME_BYTES + OSV_VERSION_BYTES + 16];
	const char *fixed;
	json_t *j = json_loads(body, 0, NULL);
	size_t i, k;

	(void)id;
	if (j == NULL || osv_from_json(j, &a->osv, why, sizeof(why)) != 0) {
		json_decref(j);
		return 0;                     /* checked at import; skip what no longer parses */
	}
	json_decref(j);
	for (k = 0; k < a->osv.naffected; k++) {
		const char *pkg = a->osv.affected[k].package;

		/* a package named twice in one advisory is looked at once */
		for (i = 0; i < k && strcmp(a->osv.affected[i].package, pkg) != 0; i++)
			;
		if (i < k)
			continue;
		for (i = api_adv_first(a, pkg); i < a->nruns && strcmp(a->runs[i].component, pkg) == 0;
		     i++) {
			const struct api_adv_run *r = &a->runs[i];
			const struct api_adv_dev *d = &a->devs[r->dev];

			if (!osv_affects(&a->osv, r->component, r->version, &fixed))
				continue;
			if (json_array_size(a->rows) >= API_ADV_MAX_ROWS) {
				a->truncated = 1;
				return 1;
			}
			api_adv_fixed_by(a, r, fixed, fixed_by, sizeof(fixed_by));
			if (r->from_sbom)
				snprintf(via, sizeof(via), "sbom of %s %s", r->base_component, r->base_version);
			else
				snprintf(via, sizeof(via), "reported");
			json_array_append_new(a->rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
			                      "s:s, s:s, s:s}", "advisory", a->osv.id, "summary",
			                      a->osv.summary, "package", r->component, "version",
			                      r->version, "device", d->serial, "site", d->site,
			                      "customer", d->customer, "via", via, "fixed_version", fixed,
			                      "fixed_by", fixed_by));
		}
	}
	return 0;
}

static int api_adv_row_cmp(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	static const char *const keys[] = { "customer", "site", "device", "advisory", "package" };
	int c;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((c = strcmp(json_string_value(json_object_get(a, keys[i])),
		                json_string_value(json_object_get(b, keys[i])))) != 0)
			return c;
	return 0;
}

void api_advisories(struct http_req *r)
{
	struct api_adv *a = calloc(1, sizeof(*a));
	json_t **sorted = NULL, *rows;
	size_t n, i;
	int rc = TE_ERR_NOMEM;

	if (a == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	a->r = r;
	if ((a->releases = repo_releases(r->srv)) != NULL && (a->sboms = json_object()) != NULL &&
	    (a->rows = json_array()) != NULL &&
	    (rc = store_device_each(r->srv->store, api_adv_device_cb, a)) == 0) {
		if (a->nruns > 1)
			qsort(a->runs, a->nruns, sizeof(*a->runs), api_adv_run_cmp);
		rc = store_advisory_each(r->srv->store, api_adv_cb, a);
		rc = rc == 1 ? 0 : rc;
	}
	if (rc != 0) {
		http_error(r, 503, "storage", "cannot match the advisories (%s)", te_strerror(rc));
		goto out;
	}
	/* by customer, site and device: how the postmarket process reads it */
	n = json_array_size(a->rows);
	rows = json_array();
	if (n > 0 && (sorted = calloc(n, sizeof(*sorted))) != NULL) {
		for (i = 0; i < n; i++)
			sorted[i] = json_array_get(a->rows, i);
		qsort(sorted, n, sizeof(*sorted), api_adv_row_cmp);
		for (i = 0; i < n; i++)
			json_array_append(rows, sorted[i]);
	}
	http_reply(r, 200, json_pack("{s:o, s:b, s:I}", "affected", rows, "truncated", a->truncated,
	                             "releases", (json_int_t)json_array_size(a->releases)));
out:
	free(sorted);
	json_decref(a->releases);
	json_decref(a->sboms);
	json_decref(a->rows);
	free(a->runs);
	free(a->devs);
	free(a);
}

/* osv.c: OSV advisories (osv.h). */
#include "osv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devstatus.h"
#include "err.h"
#include "text.h"

static int osv_bad(char *why, size_t whysz, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int osv_bad(char *why, size_t whysz, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return rc;
}

/* s into out when it is a string of 1..outsz-1 bytes of the alphabet ok. */
static int osv_str(const json_t *v, char *out, size_t outsz, int (*ok)(const char *))
{
	const char *s = json_string_value(v);

	if (s == NULL || s[0] == '\0' || strlen(s) >= outsz || (ok != NULL && !ok(s)))
		return -1;
	snprintf(out, outsz, "%s", s);
	return 0;
}

/* Package names: [A-Za-z0-9._+:@/-] (npm scopes, Debian names, Maven
 * coordinates), nothing a terminal would act on. */
static int osv_name_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._+:@/-", *s) != NULL))
			return 0;
	return 1;
}

static int osv_range(const json_t *r, struct osv_affected *a, char *why, size_t whysz)
{
	const char *type = json_string_value(json_object_get(r, "type"));
	const json_t *evs = json_object_get(r, "events"), *e;
	size_t i;

	if (type == NULL || !json_is_array(evs))
		return osv_bad(why, whysz, TE_ERR_INVALID, "a range has no %s", "type or events");
	if (strcmp(type, "GIT") == 0)
		return 0;                    /* commits, not versions a device reports */
	json_array_foreach(evs, i, e) {
		struct osv_event *ev;
		const char *k;
		json_t *v;

		if (a->nevents >= OSV_MAX_EVENTS)
			return osv_bad(why, whysz, TE_ERR_TOO_LONG, "more than %s range events",
			               "32");
		ev = &a->events[a->nevents];
		if (!json_is_object(e) || json_object_size(e) != 1)
			return osv_bad(why, whysz, TE_ERR_INVALID, "a range event is not %s",
			               "one of introduced, fixed, last_affected");
		json_object_foreach((json_t *)e, k, v) {
			if (strcmp(k, "introduced") == 0)
				ev->kind = OSV_INTRODUCED;
			else if (strcmp(k, "fixed") == 0)
				ev->kind = OSV_FIXED;
			else if (strcmp(k, "last_affected") == 0)
				ev->kind = OSV_LAST_AFFECTED;
			else if (strcmp(k, "limit") == 0)
				goto next;               /* GIT only */
			else
				return osv_bad(why, whysz, TE_ERR_INVALID, "unknown range event %.40s", k);
			if (osv_str(v, ev->version, sizeof(ev->version), devstatus_version_ok) != 0)
				return osv_bad(why, whysz, TE_ERR_INVALID, "range event %.40s has no "
				               "version of [A-Za-z0-9._+~:-]", k);
		}
		a->nevents++;
next:
		;
	}
	return 0;
}

int osv_from_json(const json_t *o, struct osv *out, char *why, size_t whysz)
{
	const json_t *aff, *x, *r, *v;
	const char *summary;
	size_t i, j;
	int rc;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (!json_is_object(o))
		return osv_bad(why, whysz, TE_ERR_INVALID, "an advisory is %s", "a JSON object");
	if (osv_str(json_object_get(o, "id"), out->id, sizeof(out->id), osv_name_ok) != 0)
		return osv_bad(why, whysz, TE_ERR_INVALID, "no %s (of [A-Za-z0-9._+:@/-])", "id");
	summary = json_string_value(json_object_get(o, "summary"));
	snprintf(out->summary, sizeof(out->summary), "%s", summary != NULL ? summary : "");
	if (text_check_display(out->summary, sizeof(out->summary), NULL) != 0)
		snprintf(out->summary, sizeof(out->summary), "(summary not displayable)");
	(void)osv_str(json_object_get(o, "modified"), out->modified, sizeof(out->modified),
	              devstatus_version_ok);
	aff = json_object_get(o, "affected");
	if (!json_is_array(aff) || json_array_size(aff) == 0)
		return osv_bad(why, whysz, TE_ERR_INVALID, "%s: nothing affected", out->id);
	if (json_array_size(aff) > OSV_MAX_AFFECTED)
		return osv_bad(why, whysz, TE_ERR_TOO_LONG, "%s: too many affected packages", out->id);
	json_array_foreach(aff, i, x) {
		struct osv_affected *a = &out->affected[out->naffected];

		if (osv_str(json_object_get(json_object_get(x, "package"), "name"), a->package,
		            sizeof(a->package), osv_name_ok) != 0)
			return osv_bad(why, whysz, TE_ERR_INVALID, "%s: an affected package has no "
			               "name", out->id);
		json_array_foreach(json_object_get(x, "ranges"), j, r)
			if ((rc = osv_range(r, a, why, whysz)) != 0)
				return rc;
		if (json_array_size(json_object_get(x, "versions")) > OSV_MAX_VERSIONS)
			return osv_bad(why, whysz, TE_ERR_TOO_LONG, "%s: too many listed versions",
			               out->id);
		json_array_foreach(json_object_get(x, "versions"), j, v)
			if (osv_str(v, a->versions[a->nversions], OSV_VERSION_BYTES,
			            devstatus_version_ok) == 0)
				a->nversions++;
		out->naffected++;
	}
	return 0;
}

/* Is version inside the range events (OSV's evaluation: walk the events
 * in version order; introduced opens, fixed and last_affected close)? */
static int osv_in_range(const struct osv_affected *a, const char *version, const char **fixed)
{
	int affected = 0, cmp;
	size_t i;

	*fixed = "";
	/* The events as given are sorted in practice; take each one on its
	 * own merits instead of trusting the order: an introduced at or below
	 * the version opens, unless a fixed at or below it (and above that
	 * introduced) or a last_affected below it closes again. */
	for (i = 0; i < a->nevents; i++) {
		const struct osv_event *in = &a->events[i];
		const char *close = "";
		int closed = 0;

		if (in->kind != OSV_INTRODUCED ||
		    (strcmp(in->version, "0") != 0 && devstatus_vercmp(version, in->version) < 0))
			continue;
		for (size_t j = 0; j < a->nevents; j++) {
			const struct osv_event *e = &a->events[j];

			if (e->kind == OSV_INTRODUCED ||
			    (strcmp(in->version, "0") != 0 && devstatus_vercmp(e->version, in->version) <= 0))
				continue;
			cmp = devstatus_vercmp(version, e->version);
			if ((e->kind == OSV_FIXED && cmp >= 0) || (e->kind == OSV_LAST_AFFECTED && cmp > 0))
				closed = 1;
			else if (e->kind == OSV_FIXED &&
			         (close[0] == '\0' || devstatus_vercmp(e->version, close) < 0))
				close = e->version;      /* the nearest fix above the version */
		}
		if (!closed) {
			affected = 1;
			*fixed = close;
		}
	}
	return affected;
}

int osv_affects(const struct osv *a, const char *package, const char *version,
                const char **fixed)
{
	size_t i, j;

	*fixed = "";
	for (i = 0; i < a->naffected; i++) {
		const struct osv_affected *x = &a->affected[i];

		if (strcmp(x->package, package) != 0)
			continue;
		if (osv_in_range(x, version, fixed))
			return 1;
		for (j = 0; j < x->nversions; j++)
			if (strcmp(x->versions[j], version) == 0) {
				*fixed = "";
				return 1;
			}
	}
	return 0;
}

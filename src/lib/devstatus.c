/* devstatus.c: the device status object: bounds, canonical form, history
 * comparison and version order. */
#include "devstatus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "text.h"

static const char *const devstatus_health_names[] = { "", "ok", "warning", "fault" };

void devstatus_init(struct devstatus *s)
{
	memset(s, 0, sizeof(*s));
	s->uptime_s = -1;
	s->disk_free_mb = -1;
}

const char *devstatus_health_name(enum devstatus_health h)
{
	return h >= DEVSTATUS_OK && h <= DEVSTATUS_FAULT ? devstatus_health_names[h] : "";
}

int devstatus_health_parse(const char *name, enum devstatus_health *out)
{
	for (int h = DEVSTATUS_OK; h <= DEVSTATUS_FAULT; h++)
		if (strcmp(name, devstatus_health_names[h]) == 0) {
			*out = (enum devstatus_health)h;
			return 0;
		}
	return TE_ERR_INVALID;
}

/* 1..max-1 bytes, each a letter, a digit or in extra. */
static int devstatus_alpha_ok(const char *s, size_t max, const char *extra)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n + 1 >= max ||
		    !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || strchr(extra, s[n]) != NULL))
			return 0;
	return n > 0;
}

int devstatus_code_ok(const char *s)
{
	return devstatus_alpha_ok(s, DEVSTATUS_CODE_BYTES, "._:-");
}

int devstatus_name_ok(const char *s)
{
	return devstatus_alpha_ok(s, DEVSTATUS_NAME_BYTES, "._-");
}

int devstatus_version_ok(const char *s)
{
	return devstatus_alpha_ok(s, DEVSTATUS_VERSION_BYTES, "._+~:-");
}

/* why = "FIELD must ..." */
static int devstatus_bad(char *why, size_t whysz, int rc, const char *must, const char *what)
{
	snprintf(why, whysz, "%s %s", what, must);
	return rc;
}

static int devstatus_int(const json_t *v, int64_t max, int64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return TE_ERR_INVALID;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int devstatus_cmp_error(const void *a, const void *b)
{
	return strcmp(((const struct devstatus_error *)a)->code,
	              ((const struct devstatus_error *)b)->code);
}

static int devstatus_cmp_counter(const void *a, const void *b)
{
	return strcmp(((const struct devstatus_counter *)a)->name,
	              ((const struct devstatus_counter *)b)->name);
}

static int devstatus_cmp_version(const void *a, const void *b)
{
	return strcmp(((const struct devstatus_version *)a)->name,
	              ((const struct devstatus_version *)b)->name);
}

static int devstatus_errors(const json_t *arr, struct devstatus *out, char *why, size_t whysz)
{
	const json_t *e, *v;
	const char *key;
	size_t i;

	if (!json_is_array(arr))
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be an array", "errors");
	if (json_array_size(arr) > DEVSTATUS_MAX_ERRORS) {
		snprintf(why, whysz, "errors: more than %d", DEVSTATUS_MAX_ERRORS);
		return TE_ERR_TOO_LONG;
	}
	json_array_foreach(arr, i, e) {
		struct devstatus_error *d = &out->errors[i];

		if (!json_is_object(e))
			goto bad;
		json_object_foreach((json_t *)e, key, v)
			if (strcmp(key, "code") != 0 && strcmp(key, "since") != 0)
				goto bad;
		v = json_object_get(e, "code");
		if (!json_is_string(v) || !devstatus_code_ok(json_string_value(v)))
			goto bad;
		snprintf(d->code, sizeof(d->code), "%s", json_string_value(v));
		v = json_object_get(e, "since");
		if (v != NULL && devstatus_int(v, DEVSTATUS_MAX_TIME, &d->since) != 0)
			goto bad;
		if (devstatus_error(out, d->code) != NULL) {
			snprintf(why, whysz, "errors[%zu]: code listed twice", i);
			return TE_ERR_INVALID;
		}
		out->nerrors++;
		continue;
bad:
		snprintf(why, whysz, "errors[%zu]: an object with \"code\" (1..%d of "
		         "[A-Za-z0-9._:-]) and optional \"since\" (Unix seconds)", i,
		         DEVSTATUS_CODE_BYTES - 1);
		return TE_ERR_INVALID;
	}
	qsort(out->errors, out->nerrors, sizeof(out->errors[0]), devstatus_cmp_error);
	return 0;
}

static int devstatus_counters(const json_t *o, struct devstatus *out, char *why, size_t whysz)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(o))
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be an object", "counters");
	if (json_object_size(o) > DEVSTATUS_MAX_COUNTERS) {
		snprintf(why, whysz, "counters: more than %d", DEVSTATUS_MAX_COUNTERS);
		return TE_ERR_TOO_LONG;
	}
	json_object_foreach((json_t *)o, key, v) {
		struct devstatus_counter *c = &out->counters[out->ncounters];

		if (!devstatus_name_ok(key) || devstatus_int(v, DEVSTATUS_MAX_COUNT, &c->value) != 0) {
			snprintf(why, whysz, "counters: each name 1..%d of [A-Za-z0-9._-], each "
			         "value an integer 0..2^53", DEVSTATUS_NAME_BYTES - 1);
			return TE_ERR_INVALID;
		}
		snprintf(c->name, sizeof(c->name), "%s", key);
		out->ncounters++;
	}
	qsort(out->counters, out->ncounters, sizeof(out->counters[0]), devstatus_cmp_counter);
	return 0;
}

static int devstatus_versions(const json_t *o, struct devstatus *out, char *why, size_t whysz)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(o))
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be an object", "versions");
	if (json_object_size(o) > DEVSTATUS_MAX_VERSIONS) {
		snprintf(why, whysz, "versions: more than %d", DEVSTATUS_MAX_VERSIONS);
		return TE_ERR_TOO_LONG;
	}
	json_object_foreach((json_t *)o, key, v) {
		struct devstatus_version *c = &out->versions[out->nversions];

		if (!devstatus_name_ok(key) || !json_is_string(v) ||
		    !devstatus_version_ok(json_string_value(v))) {
			snprintf(why, whysz, "versions: each component 1..%d of [A-Za-z0-9._-], "
			         "each version a string of 1..%d of [A-Za-z0-9._+~:-]",
			         DEVSTATUS_NAME_BYTES - 1, DEVSTATUS_VERSION_BYTES - 1);
			return TE_ERR_INVALID;
		}
		snprintf(c->name, sizeof(c->name), "%s", key);
		snprintf(c->version, sizeof(c->version), "%s", json_string_value(v));
		out->nversions++;
	}
	qsort(out->versions, out->nversions, sizeof(out->versions[0]), devstatus_cmp_version);
	return 0;
}

static int devstatus_scalars(const json_t *o, struct devstatus *out, char *why, size_t whysz)
{
	const json_t *v;
	const char *tw;

	if ((v = json_object_get(o, "health")) != NULL &&
	    (!json_is_string(v) || devstatus_health_parse(json_string_value(v), &out->health) != 0))
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be ok, warning or fault",
		                     "health");
	if ((v = json_object_get(o, "uptime_s")) != NULL &&
	    devstatus_int(v, DEVSTATUS_MAX_TIME, &out->uptime_s) != 0)
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be an integer >= 0",
		                     "uptime_s");
	if ((v = json_object_get(o, "disk_free_mb")) != NULL &&
	    devstatus_int(v, DEVSTATUS_MAX_TIME, &out->disk_free_mb) != 0)
		return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be an integer >= 0",
		                     "disk_free_mb");
	if ((v = json_object_get(o, "note")) != NULL) {
		if (!json_is_string(v) ||
		    text_check_display(json_string_value(v), DEVSTATUS_NOTE_BYTES, &tw) != 0)
			return devstatus_bad(why, whysz, TE_ERR_INVALID, "must be displayable text"
			                     " of at most 160 bytes", "note");
		snprintf(out->note, sizeof(out->note), "%s", json_string_value(v));
	}
	return 0;
}

int devstatus_from_json(const json_t *o, struct devstatus *out, char *why, size_t whysz)
{
	static const char *const keys[] = { "health", "errors", "counters", "versions",
	                                    "uptime_s", "disk_free_mb", "note", NULL };
	const char *key;
	const json_t *v;
	size_t k;
	int rc;

	devstatus_init(out);
	if (!json_is_object(o)) {
		snprintf(why, whysz, "the status must be a JSON object");
		return TE_ERR_INVALID;
	}
	json_object_foreach((json_t *)o, key, v) {
		for (k = 0; keys[k] != NULL && strcmp(keys[k], key) != 0; k++)
			;
		if (keys[k] == NULL) {
			char shown[TEXT_ESCAPED_BYTES(24)], cut[25];

			snprintf(cut, sizeof(cut), "%s", key);
			snprintf(why, whysz, "unknown field \"%s\"",
			         text_escape_display(cut, shown, sizeof(shown)));
			devstatus_init(out);
			return TE_ERR_INVALID;
		}
	}
	if ((rc = devstatus_scalars(o, out, why, whysz)) == 0 &&
	    ((v = json_object_get(o, "errors")) == NULL ||
	     (rc = devstatus_errors(v, out, why, whysz)) == 0) &&
	    ((v = json_object_get(o, "counters")) == NULL ||
	     (rc = devstatus_counters(v, out, why, whysz)) == 0) &&
	    ((v = json_object_get(o, "versions")) == NULL ||
	     (rc = devstatus_versions(v, out, why, whysz)) == 0))
		return 0;
	devstatus_init(out);
	return rc;
}

int devstatus_parse(const char *buf, size_t len, struct devstatus *out, char *why,
                    size_t whysz)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	devstatus_init(out);
	if (len > DEVSTATUS_MAX_INPUT) {
		snprintf(why, whysz, "more than %d bytes", DEVSTATUS_MAX_INPUT);
		return TE_ERR_TOO_LONG;
	}
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(why, whysz, "not JSON (line %d, column %d)", jerr.line, jerr.column);
		return TE_ERR_INVALID;
	}
	rc = devstatus_from_json(o, out, why, whysz);
	json_decref(o);
	return rc;
}

json_t *devstatus_to_json(const struct devstatus *s)
{
	json_t *o = json_object(), *errs = json_array(), *cnt = json_object(),
	       *ver = json_object(), *e;
	size_t i;
	int bad = o == NULL || errs == NULL || cnt == NULL || ver == NULL;

	for (i = 0; !bad && i < s->nerrors; i++) {
		e = json_pack("{s:s}", "code", s->errors[i].code);
		if (e != NULL && s->errors[i].since > 0)
			json_object_set_new(e, "since", json_integer(s->errors[i].since));
		bad = json_array_append_new(errs, e) != 0;
	}
	for (i = 0; !bad && i < s->ncounters; i++)
		bad = json_object_set_new(cnt, s->counters[i].name,
		                          json_integer(s->counters[i].value)) != 0;
	for (i = 0; !bad && i < s->nversions; i++)
		bad = json_object_set_new(ver, s->versions[i].name,
		                          json_string(s->versions[i].version)) != 0;
	if (!bad && s->health != DEVSTATUS_UNKNOWN)
		bad = json_object_set_new(o, "health",
		                          json_string(devstatus_health_name(s->health))) != 0;
	if (!bad && s->uptime_s >= 0)
		bad = json_object_set_new(o, "uptime_s", json_integer(s->uptime_s)) != 0;
	if (!bad && s->disk_free_mb >= 0)
		bad = json_object_set_new(o, "disk_free_mb", json_integer(s->disk_free_mb)) != 0;
	if (!bad && s->note[0] != '\0')
		bad = json_object_set_new(o, "note", json_string(s->note)) != 0;
	if (!bad) {
		bad = json_object_set(o, "errors", errs) != 0 ||
		      json_object_set(o, "counters", cnt) != 0 ||
		      json_object_set(o, "versions", ver) != 0;
	}
	json_decref(errs);
	json_decref(cnt);
	json_decref(ver);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int devstatus_text(const struct devstatus *s, char *out, size_t outsz)
{
	json_t *o = devstatus_to_json(s);
	size_t n;

	if (o == NULL)
		return TE_ERR_NOMEM;
	n = json_dumpb(o, out, outsz, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (n == 0 || n >= outsz)
		return TE_ERR_TOO_LONG;
	out[n] = '\0';
	return 0;
}

const struct devstatus_error *devstatus_error(const struct devstatus *s, const char *code)
{
	for (size_t i = 0; i < s->nerrors; i++)
		if (strcmp(s->errors[i].code, code) == 0)
			return &s->errors[i];
	return NULL;
}

const char *devstatus_version(const struct devstatus *s, const char *name)
{
	for (size_t i = 0; i < s->nversions; i++)
		if (strcmp(s->versions[i].name, name) == 0)
			return s->versions[i].version;
	return NULL;
}

int devstatus_same_state(const struct devstatus *a, const struct devstatus *b)
{
	size_t i;

	if (a->health != b->health || a->nerrors != b->nerrors || a->nversions != b->nversions)
		return 0;
	for (i = 0; i < a->nerrors; i++)
		if (strcmp(a->errors[i].code, b->errors[i].code) != 0)
			return 0;
	for (i = 0; i < a->nversions; i++)
		if (strcmp(a->versions[i].name, b->versions[i].name) != 0 ||
		    strcmp(a->versions[i].version, b->versions[i].version) != 0)
			return 0;
	return 1;
}

static int devstatus_digit(char c)
{
	return c >= '0' && c <= '9';
}

int devstatus_vercmp(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (devstatus_digit(*a) && devstatus_digit(*b)) {
			size_t la, lb;

			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			for (la = 0; devstatus_digit(a[la]); la++)
				;
			for (lb = 0; devstatus_digit(b[lb]); lb++)
				;
			if (la != lb)
				return la < lb ? -1 : 1;
			for (size_t i = 0; i < la; i++)
				if (a[i] != b[i])
					return a[i] < b[i] ? -1 : 1;
			a += la;
			b += lb;
			continue;
		}
		if (devstatus_digit(*a) != devstatus_digit(*b))
			return devstatus_digit(*a) ? 1 : -1;   /* "2.1" after "2.a" */
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a == '\0' ? (*b == '\0' ? 0 : -1) : 1;
}

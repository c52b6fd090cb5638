/* srvping.c: parse the device's ping body; everything here is untrusted. */
#include "srvping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clockoff.h"
#include "err.h"
#include "jbody.h"
#include "tuf.h"

static int ping_parse_service(const json_t *o, struct ping_service *out)
{
	const json_t *port;
	int rc;

	if (!json_is_object(o))
		return TE_ERR_INVALID;
	if ((rc = jbody_str(o, "name", 1, out->name, sizeof(out->name))) != 0)
		return rc == TE_ERR_NOT_FOUND ? TE_ERR_INVALID : rc;
	if (!jbody_name_ok(out->name))
		return TE_ERR_INVALID;
	port = json_object_get(o, "port");
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535)
		return TE_ERR_INVALID;
	out->port = (int)json_integer_value(port);
	return 0;
}

/* arr is an array of at most max items: 0, TE_ERR_INVALID, TE_ERR_TOO_LONG. */
static int ping_array(const json_t *arr, size_t max)
{
	if (!json_is_array(arr))
		return TE_ERR_INVALID;
	return json_array_size(arr) > max ? TE_ERR_TOO_LONG : 0;
}

static int ping_parse_services(const json_t *arr, struct ping_req *out)
{
	size_t i;
	int rc;

	if (arr == NULL)
		return 0;
	out->has_services = 1;
	if ((rc = ping_array(arr, MAX_SERVICES)) != 0)
		return rc;
	for (i = 0; i < json_array_size(arr); i++) {
		if ((rc = ping_parse_service(json_array_get(arr, i), &out->services[i])) != 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (strcmp(out->services[k].name, out->services[i].name) == 0)
				return TE_ERR_INVALID;   /* a name must mean one port */
	}
	out->n_services = i;
	return 0;
}

static int ping_hex64_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int ping_parse_head(const json_t *o, struct store_audit_head *out, int *present)
{
	const json_t *seq;
	int rc;

	*present = 0;
	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return 0;
	if (!json_is_object(o) || json_object_size(o) != 2)
		return TE_ERR_INVALID;
	seq = json_object_get(o, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 0)
		return TE_ERR_INVALID;
	if ((rc = jbody_str(o, "hash", 1, out->hash, sizeof(out->hash))) != 0)
		return rc == TE_ERR_NOT_FOUND ? TE_ERR_INVALID : rc;
	out->seq = (int64_t)json_integer_value(seq);
	if (!ping_hex64_ok(out->hash) ||
	    (out->seq == 0 && strcmp(out->hash, AUDIT_GENESIS_HASH) != 0))
		return TE_ERR_INVALID;
	*present = 1;
	return 0;
}

static int ping_parse_audit_head(const json_t *o, struct ping_req *out)
{
	return ping_parse_head(o, &out->audit_head, &out->has_audit_head);
}

enum ping_audit_verdict ping_audit_check(const struct store_audit_head *anchor,
                                         const struct store_audit_head *last_rollback,
                                         const struct store_audit_head *reported)
{
	if (reported->seq > anchor->seq)
		return PING_AUDIT_ADVANCE;
	if (anchor->seq == 0 ||
	    (reported->seq == anchor->seq && strcmp(reported->hash, anchor->hash) == 0))
		return PING_AUDIT_KEEP;
	/* Hashes are public values, so a plain comparison is fine here. */
	if (last_rollback->hash[0] != '\0' && reported->seq == last_rollback->seq &&
	    strcmp(reported->hash, last_rollback->hash) == 0)
		return PING_AUDIT_ROLLBACK_SEEN;
	return PING_AUDIT_ROLLBACK;
}

/* The agent's clock offset from the server's (its own estimate). */
static int ping_parse_clock(const json_t *o, struct ping_req *out)
{
	json_int_t v;

	if (o == NULL)
		return 0;
	if (!json_is_integer(o))
		return TE_ERR_INVALID;
	v = json_integer_value(o);
	if (v > CLOCKOFF_MAX_S || v < -CLOCKOFF_MAX_S)
		return TE_ERR_INVALID;
	out->has_clock_offset = 1;
	out->clock_offset_s = (int64_t)v;
	return 0;
}

/* A JSON array of at most max names (jbody_name_ok), each shorter than each
 * bytes, into buf as max rows of each bytes; unique refuses a repeat. */
static int ping_parse_name_list(const json_t *arr, size_t max, char *buf, size_t each,
                                int unique, size_t *n)
{
	const json_t *v;
	size_t i;
	int rc;

	if ((rc = ping_array(arr, max)) != 0)
		return rc;
	json_array_foreach(arr, i, v) {
		char *row = buf + i * each;

		if (!json_is_string(v) || json_string_length(v) >= each ||
		    !jbody_name_ok(json_string_value(v)))
			return TE_ERR_INVALID;
		memcpy(row, json_string_value(v), json_string_length(v) + 1);
		for (size_t k = 0; unique && k < i; k++)
			if (strcmp(buf + k * each, row) == 0)
				return TE_ERR_INVALID;
	}
	*n = i;
	return 0;
}

/* "sessions": ["<id>", ...], each a session id, at most PING_MAX_SESSIONS. */
static int ping_parse_sessions(const json_t *arr, struct ping_req *out)
{
	int rc;

	if (arr == NULL)
		return 0;
	if ((rc = ping_parse_name_list(arr, PING_MAX_SESSIONS, out->sessions[0],
	                               sizeof(out->sessions[0]), 0, &out->n_sessions)) != 0)
		return rc;
	out->has_sessions = 1;
	return 0;
}

/* "ended": [{"session": "<id>", "reason": "<text>"}, ...]. */
static int ping_parse_ended(const json_t *arr, struct ping_req *out)
{
	const json_t *v;
	size_t i;
	int rc;

	if (arr == NULL)
		return 0;
	if ((rc = ping_array(arr, PING_MAX_SESSIONS)) != 0)
		return rc;
	json_array_foreach(arr, i, v) {
		struct ping_ended *e = &out->ended[i];

		if (!json_is_object(v) || json_object_size(v) != 2)
			return TE_ERR_INVALID;
		if ((rc = jbody_str(v, "session", 1, e->session, sizeof(e->session))) != 0 ||
		    (rc = jbody_str(v, "reason", 1, e->reason, sizeof(e->reason))) != 0)
			return rc == TE_ERR_NOT_FOUND ? TE_ERR_INVALID : rc;
		if (!jbody_name_ok(e->session) || e->reason[0] == '\0' ||
		    !jbody_text_ok(e->reason))
			return TE_ERR_INVALID;
	}
	out->n_ended = i;
	return 0;
}

/* "offline_installs": [{target, version, counter, result, at, by,
 * expired_ok, reason}], each field checked. */
static int ping_parse_offline(const json_t *arr, struct ping_req *out)
{
	const json_t *v, *x;
	size_t i;
	int rc;

	if (arr == NULL)
		return 0;
	if ((rc = ping_array(arr, PING_MAX_OFFLINE)) != 0)
		return rc;
	json_array_foreach(arr, i, v) {
		struct ping_offline *e = &out->offline[i];

		if (!json_is_object(v) || json_object_size(v) != 8)
			return TE_ERR_INVALID;
		if ((rc = jbody_str(v, "target", 1, e->target, sizeof(e->target))) != 0 ||
		    (rc = jbody_str(v, "version", 1, e->version, sizeof(e->version))) != 0 ||
		    (rc = jbody_str(v, "result", 1, e->result, sizeof(e->result))) != 0 ||
		    (rc = jbody_str(v, "by", 1, e->by, sizeof(e->by))) != 0 ||
		    (rc = jbody_str(v, "reason", 1, e->reason, sizeof(e->reason))) != 0)
			return rc == TE_ERR_NOT_FOUND ? TE_ERR_INVALID : rc;
		if (!tuf_target_name_ok(e->target) || !devstatus_version_ok(e->version) ||
		    (strcmp(e->result, "installed") != 0 && strcmp(e->result, "failed") != 0) ||
		    e->by[0] == '\0' || !jbody_text_ok(e->by) ||
		    (e->reason[0] != '\0' && !jbody_text_ok(e->reason)))
			return TE_ERR_INVALID;
		x = json_object_get(v, "counter");
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return TE_ERR_INVALID;
		e->counter = (int64_t)json_integer_value(x);
		x = json_object_get(v, "at");
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return TE_ERR_INVALID;
		e->at = (int64_t)json_integer_value(x);
		x = json_object_get(v, "expired_ok");
		if (!json_is_boolean(x))
			return TE_ERR_INVALID;
		e->expired_ok = json_is_true(x);
	}
	out->n_offline = i;
	return 0;
}

/* "diags" / "files": ["name", ...], each a unique name. */
static int ping_parse_names(const json_t *arr, struct ping_names *out)
{
	int rc;

	if (arr == NULL)
		return 0;
	if ((rc = ping_parse_name_list(arr, PING_MAX_OFFERS, out->name[0], sizeof(out->name[0]),
	                               1, &out->n)) != 0)
		return rc;
	out->present = 1;
	return 0;
}

int ping_parse_request(const char *body, size_t len, struct ping_req *out)
{
	json_t *j = NULL;
	const json_t *w;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jbody_parse(body, len, &j)) != 0)
		goto out;
	if ((rc = jbody_str(j, "version", 0, out->version, sizeof(out->version))) != 0 ||
	    (rc = jbody_str(j, "status", 0, out->status, sizeof(out->status))) != 0)
		goto out;
	if (!jbody_text_ok(out->version) || !jbody_text_ok(out->status)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	w = json_object_get(j, "wait");
	if (w != NULL && !json_is_boolean(w)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	out->wait = json_is_true(w);
	w = json_object_get(j, "hold_s");
	if (w != NULL && (!json_is_integer(w) || json_integer_value(w) < 1 ||
	                  json_integer_value(w) > LONGPOLL_MAX_S)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	out->hold_s = w != NULL ? (int)json_integer_value(w) : 0;
	w = json_object_get(j, "checkpoint_seq");
	if (w != NULL && (!json_is_integer(w) || json_integer_value(w) < 0)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	out->checkpoint_seq = w != NULL ? (int64_t)json_integer_value(w) : -1;
	w = json_object_get(j, "repo_timestamp");
	if (w != NULL && (!json_is_integer(w) || json_integer_value(w) < 0)) {
		rc = TE_ERR_INVALID;
		goto out;
	}
	out->repo_timestamp = w != NULL ? (int64_t)json_integer_value(w) : -1;
	if ((rc = ping_parse_services(json_object_get(j, "services"), out)) != 0 ||
	    (rc = ping_parse_clock(json_object_get(j, "clock_offset_s"), out)) != 0)
		goto out;
	if ((rc = ping_parse_audit_head(json_object_get(j, "audit_head"), out)) != 0 ||
	    (rc = ping_parse_sessions(json_object_get(j, "sessions"), out)) != 0)
		goto out;
	if ((rc = ping_parse_ended(json_object_get(j, "ended"), out)) != 0 ||
	    (rc = ping_parse_names(json_object_get(j, "diags"), &out->diags)) != 0)
		goto out;
	if ((rc = ping_parse_names(json_object_get(j, "files"), &out->files)) != 0)
		goto out;
	/* Offline install reports the server cannot take do not cost the ping
	 * either: a ping refused for them would be sent again and again. They
	 * are left out, which the server logs, and audited as refused. */
	if (ping_parse_offline(json_object_get(j, "offline_installs"), out) != 0) {
		out->n_offline = 0;
		out->offline_refused = 1;
	}
	/* A status the server cannot take does not cost the ping (a newer
	 * agent's field, say): it is left out and why is logged. */
	if ((w = json_object_get(j, "device_status")) != NULL)
		out->has_status = devstatus_from_json(w, &out->devstatus, out->status_why,
		                                      sizeof(out->status_why)) == 0;
out:
	json_decref(j);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int ping_services_json(const struct ping_req *p, char *out, size_t outsz)
{
	json_t *arr = json_array();
	char *text = NULL;
	int rc = TE_ERR_NOMEM;

	if (arr == NULL)
		goto out;
	for (size_t i = 0; i < p->n_services; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:i}", "name",
		                          p->services[i].name, "port", p->services[i].port)) != 0)
			goto out;
	}
	if ((text = json_dumps(arr, JSON_COMPACT)) == NULL)
		goto out;
	rc = snprintf(out, outsz, "%s", text) >= (int)outsz ? TE_ERR_TOO_LONG : 0;
out:
	free(text);
	json_decref(arr);
	return rc;
}

int ping_names_json(const struct ping_names *n, char *out, size_t outsz)
{
	json_t *arr = json_array();
	char *text = NULL;
	int rc = TE_ERR_NOMEM;

	if (arr == NULL)
		goto out;
	for (size_t i = 0; i < n->n; i++)
		if (json_array_append_new(arr, json_string(n->name[i])) != 0)
			goto out;
	if ((text = json_dumps(arr, JSON_COMPACT)) == NULL)
		goto out;
	rc = snprintf(out, outsz, "%s", text) >= (int)outsz ? TE_ERR_TOO_LONG : 0;
out:
	free(text);
	json_decref(arr);
	return rc;
}

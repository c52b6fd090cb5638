/* srvapi.h: routing of /api/v1 requests to their handlers, with the
 * authentication each endpoint needs (docs/protocol.md). */
#ifndef TETHER_SERVER_API_H
#define TETHER_SERVER_API_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "http.h"

/* Route, authenticate and handle r; always ends in a reply or a hold. */
void api_dispatch(struct http_req *r);

/* Handlers (api_user.c, api_device.c). Each replies to r. */
void api_login(struct http_req *r);
/* POST /api/v1/login/renew: a new token for a full-scope one (even expired,
 * not revoked) with the second factor alone, within login_renew_max_s of
 * the password login it descends from. */
void api_login_renew(struct http_req *r);
void api_logout(struct http_req *r);
/* GET /api/v1/devices pages (api_user.c) */
#define API_DEVICES_PAGE_DEFAULT 500
#define API_DEVICES_PAGE_MAX 1000
void api_devices(struct http_req *r);
/* Call cb for every device (not revoked, within the user's sites) that
 * the filters of select ({"site","product","health","error","below",
 * "not_seen_s"}, as GET /api/v1/devices takes them) match; more than max
 * is refused. 0, or -1 with the error answered (cb's error too). */
int api_fleet_select(struct http_req *r, const json_t *select, long max, store_device_cb cb,
                     void *arg);
void api_device_get(struct http_req *r);
void api_session_new(struct http_req *r);
void api_session_get(struct http_req *r);
/* The answer to a held GET /api/v1/sessions/ID?wait (longpoll.h). */
#define API_SESSION_WAIT_MAX_S 25
void api_session_wait_answer(struct http_req *r, void *arg);
void api_session_list(struct http_req *r);
void api_session_connect(struct http_req *r);
void api_session_end(struct http_req *r);
void api_ca(struct http_req *r);
void api_enroll(struct http_req *r);
void api_ping(struct http_req *r);
void api_consent(struct http_req *r);
void api_device_session_end(struct http_req *r);
void api_device_relay_failed(struct http_req *r);
void api_relay_event(struct http_req *r);
/* Shell recordings (api_recording.c). */
void api_device_recording(struct http_req *r);
void api_device_status(struct http_req *r);
void api_device_file(struct http_req *r);
/* GET /api/v1/advisories: OSV advisories matched against the fleet (api_advisory.c). */
void api_advisories(struct http_req *r);
/* PUT /api/v1/device/file?sha256=&size=&offset= (api_files.c): a raw chunk. */
void api_device_file_put(struct http_req *r);
void api_device_files(struct http_req *r);
void api_file_get(struct http_req *r);
void api_file_read(struct http_req *r);
/* Drop the data files past files.retention_days and their blobs no row
 * holds any more (api_files.c). */
struct server;
void api_files_prune(struct server *srv);
/* DIR/TOP/SUB/NAME+SUFFIX into out; with make, DIR/TOP and DIR/TOP/SUB
 * are made 0700 when missing (api_recording.c). */
int api_data_path(struct server *srv, const char *top, const char *sub, const char *name,
                  const char *suffix, int make, char out[PATH_MAX]);
/* Append a device's chunk (b64, base64url, at most maxchunk bytes decoded)
 * to part, which may hold at most size bytes (api_part.c): the part is
 * opened (*fd, the caller closes it), a longer one left by another attempt
 * is emptied, and *have is what it holds. Only when offset is that much is
 * the chunk written and fdatasync'd (*wrote 1, *have past it); any other
 * offset writes nothing. -1 when an error was answered (what names the
 * file in it: "recording", "file"). */
int api_part_append(struct http_req *r, const char *what, const char *part, int64_t size,
                    int64_t offset, const char *b64, size_t maxchunk, int *fd,
                    int64_t *have, int *wrote);
/* The same with the chunk's n bytes as they are (a raw PUT). */
int api_part_write(struct http_req *r, const char *what, const char *part, int64_t size,
                   int64_t offset, const uint8_t *buf, size_t n, int *fd, int64_t *have,
                   int *wrote);
/* At most maxchunk bytes of path from offset, base64url, into *text
 * (malloc'd). 0 or TE_ERR_IO / TE_ERR_NOMEM (errno says why). */
int api_chunk_read(const char *path, int64_t offset, size_t maxchunk, char **text);
/* Call fn for each key=value of r's query (api_fleet.c), stopping at the
 * first that answers an error (-1); a query that does not parse is a 400. */
typedef int (*api_query_fn)(struct http_req *r, const char *key, const char *value,
                            void *arg);
int api_query_each(struct http_req *r, api_query_fn fn, void *arg);
/* ?limit=: an integer 1..max into *out, else a 400 answered and -1. */
int api_query_limit(struct http_req *r, const char *v, long max, long *out);
/* 64 lower-case hex digits (api_recording.c). */
int api_sha256_ok(const char *hex);
/* Field key of j, an integer >= 0, into out; else a 400 is answered and -1. */
int api_int_field(struct http_req *r, const json_t *j, const char *key, json_int_t *out);
void api_session_recordings(struct http_req *r);
void api_session_recording_read(struct http_req *r);
/* The body's "session" of the calling device (or relay), or 404/400
 * answered and -1 (api_device.c). */
int api_device_session(struct http_req *r, json_t *j, struct store_session *s);
/* r->arg's session when r's user may see it, or 404 answered and -1
 * (api_session.c). */
int api_session_load(struct http_req *r, struct store_session *s);
/* GET /healthz: no authentication; ok or degraded (srvmetrics.c). */
void api_healthz(struct http_req *r);
/* Customer control (api_site.c). */
void api_approvals(struct http_req *r);
void api_approval_approve(struct http_req *r);
void api_approval_refuse(struct http_req *r);
void api_sites(struct http_req *r);
void api_site_remote(struct http_req *r);
void api_site_approval(struct http_req *r);

/* Customer roles act for one site (api_site.c). api_user_scope: site ""
 * for other roles, the user's own site for customer roles (TE_ERR_DENIED
 * when they have none); api_site_in_scope: 1 when the user may act on it. */
int api_user_scope(struct http_req *r, char site[MAX_NAME_BYTES]);
int api_site_in_scope(struct http_req *r, const char *site);
/* What s was granted: "forward:NAME" for each service, then its actions. */
json_t *api_session_granted(const struct store_session *s);
/* Today's UTC date as YYYY-MM-DD (contracts and certifications). */
void api_today(char out[STORE_DATE_BYTES]);

/* "specialist level 2", "customer_approver", ... for messages. */
void api_role_text(const struct store_user *u, char *out, size_t outsz);

/* Reply to a held or fresh ping with the device's pending events. */
void api_ping_answer(struct http_req *r, void *arg);
/* 1 when d counts as online: its long-poll is held or was answered within
 * one period, or (short-poll, or unknown since this server started) it
 * pinged within one long-poll plus one short-poll period (api_user.c). */
int api_device_online(struct server *srv, const struct store_device *d);
/* A device as the API shows it (api_user.c); full adds its SSH host key. */
json_t *api_device_json(struct server *srv, const struct store_device *d, int full);
/* 1 when the store says serial is revoked (read fresh, not from r). */
int api_device_is_revoked(struct server *srv, const char *serial);

/* 503 with Retry-After: the password workers' queue is full (pwpool.h). */
void api_pwpool_busy(struct http_req *r);
/* Parse r's body as a JSON object or reply 400 and return NULL. */
json_t *api_body(struct http_req *r);
/* Reply 400 for a jbody_str failure on field `key`. */
void api_bad_field(struct http_req *r, const char *key, int err);
/* Read string field key of j into out (outsz bytes) as text an operator or
 * a terminal will show (lib text.h); required also means not empty. On a
 * bad value answers 400 naming the field and what is wrong, returns -1. */
int api_text_field(struct http_req *r, const json_t *j, const char *key, int required,
                   char *out, size_t outsz);

#endif

/* srvapi.h: routing of /api/v1 requests to their handlers, with the
 * authentication each endpoint needs (docs/protocol.md). */
#ifndef TETHER_SERVER_API_H
#define TETHER_SERVER_API_H

#include <jansson.h>

#include "http.h"

/* Route, authenticate and handle r; always ends in a reply or a hold. */
void api_dispatch(struct http_req *r);

/* Handlers (api_user.c, api_device.c). Each replies to r. */
void api_login(struct http_req *r);
void api_logout(struct http_req *r);
void api_devices(struct http_req *r);
void api_device_get(struct http_req *r);
void api_session_new(struct http_req *r);
void api_session_get(struct http_req *r);
void api_session_connect(struct http_req *r);
void api_session_end(struct http_req *r);
void api_ca(struct http_req *r);
void api_enroll(struct http_req *r);
void api_ping(struct http_req *r);
void api_consent(struct http_req *r);
void api_device_session_end(struct http_req *r);
void api_relay_event(struct http_req *r);

/* Reply to a held or fresh ping with the device's pending events. */
void api_ping_answer(struct http_req *r, void *arg);
/* 1 when the store says serial is revoked (read fresh, not from r). */
int api_device_is_revoked(struct server *srv, const char *serial);

/* Parse r's body as a JSON object or reply 400 and return NULL. */
json_t *api_body(struct http_req *r);
/* Reply 400 for a jbody_str failure on field `key`. */
void api_bad_field(struct http_req *r, const char *key, int err);

#endif

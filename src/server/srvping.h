/* srvping.h: the device ping request (POST /api/v1/ping), parsed by a pure
 * function so that it can be fuzzed on its own. */
#ifndef TETHER_SERVER_PING_H
#define TETHER_SERVER_PING_H

#include <stddef.h>

#include "bounds.h"
#include "store.h"

#define PING_STATUS_BYTES 32

struct ping_service {
	char name[MAX_NAME_BYTES];
	int port;
};

struct ping_req {
	char version[STORE_VERSION_BYTES];
	char status[PING_STATUS_BYTES];
	int wait;                                   /* 1: hold as a long-poll */
	int has_services;                           /* "services" was present */
	size_t n_services;
	struct ping_service services[MAX_SERVICES];
};

/* Parse and validate a ping body. All fields are optional ("wait" defaults
 * to false); present fields must have the right type and bounds. Returns 0
 * or TE_ERR_INVALID / TE_ERR_TOO_LONG; out is zeroed first. */
int ping_parse_request(const char *body, size_t len, struct ping_req *out);
/* The services as the JSON array stored with the device. */
int ping_services_json(const struct ping_req *p, char *out, size_t outsz);

#endif

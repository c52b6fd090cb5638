/* actenv.h: the signed envelope the server releases an activity of the
 * maintenance queue in (docs/fleet.md, "The maintenance queue").
 *
 * Wire form: sigtext.h with the domain ACTENV_DOMAIN and the payload
 *     {"v":1,"id":"a...","dev":"SERIAL","kind":"diag"|"collect"|"config"|"install",
 *      "name":"NAME","input":"...","iat":N,"exp":N,"nonce":"32 hex"}
 * signed by the server's ticket key (the signer process), so the agent
 * checks it with the ticket.pub it got at enrollment. input carries a
 * configuration change's new values (kind config), or the repository
 * target to install (kind install, whose name is the target's component:
 * docs/updates.md); "" otherwise.
 * exp is when the activity may no longer start: its not-after, or the end
 * of the maintenance window it was released in when that comes first. */
#ifndef TETHER_ACTENV_H
#define TETHER_ACTENV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "bounds.h"

#define ACTENV_DOMAIN      "tether activity v1\n"
#define ACTENV_ID_BYTES    24             /* "a" and 20 hex digits, NUL */
#define ACTENV_KIND_BYTES  8
#define ACTENV_INPUT_BYTES 1024           /* a config change's values, NUL included */
#define MAX_ACTENV_BYTES   3072           /* the envelope's text */
#define ACTENV_MAX_TTL_S   (31 * 24 * 3600)
#define ACTENV_SKEW_S      60             /* iat ahead of the device's clock */

struct actenv {
	char id[ACTENV_ID_BYTES];
	char device[MAX_NAME_BYTES];
	char kind[ACTENV_KIND_BYTES];
	char name[MAX_NAME_BYTES];
	char input[ACTENV_INPUT_BYTES];
	int64_t issued_at;
	int64_t expires_at;
	char nonce[33];                   /* "" when signing: a fresh one */
};

/* Is kind one an activity may have (diag, collect, config, install)? */
int actenv_kind_ok(const char *kind);
/* An activity id: "a" and 20 lowercase hex digits. */
int actenv_id_ok(const char *id);
/* A name (diag.NAME, collect.NAME, config.NAME): 1..63 of [A-Za-z0-9._-]. */
int actenv_name_ok(const char *name);
/* A config change's values: printable UTF-8 lines (tab allowed), no other
 * control character or bidirectional override, under ACTENV_INPUT_BYTES. */
int actenv_input_ok(const char *input);
/* Does input go with kind: a config's values (not empty), an install's
 * target name (tuf.h), nothing for the others? */
int actenv_input_fits(const char *kind, const char *input);
/* A fresh id into out. */
int actenv_new_id(char out[ACTENV_ID_BYTES]);

int actenv_sign(const struct actenv *e, EVP_PKEY *key, char *out, size_t outsz);
/* Open and check text: the signature (TE_ERR_SIGNATURE), the form
 * (TE_ERR_INVALID / TE_ERR_TOO_LONG), then the time: TE_ERR_EXPIRED when
 * now >= exp or now < iat - ACTENV_SKEW_S. The fields are in *out whenever
 * the signature held (also when expired), else out is zeroed. The device
 * and the kind and name against the agent's config are the caller's. */
int actenv_verify(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                  struct actenv *out);

#endif

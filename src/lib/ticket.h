/* ticket.h: Ed25519-signed, single-use session tickets.
 *
 * Wire form (text, at most MAX_TICKET_BYTES):
 *     base64url(payload) "." base64url(signature)
 * payload is compact JSON:
 *     {"v":1,"sid":"...","dev":"SERIAL","usr":"alice","rly":"relay-1",
 *      "leg":"device"|"client","iat":1700000000,"exp":1700000060,
 *      "nonce":"32 hex digits","act":"forward:http,shell",
 *      "end":1700014400,"idle":900[,"cn":3]}
 * act lists what the session may do (see docs/access-control.md for every
 * action); end is when the session must be over (unix time, 0: no limit) and
 * idle the idle timeout in seconds (0: none); the agent enforces both.
 * cn, present only when not 0, numbers one connection of a session (a
 * visit, docs/architecture.md): the relay pairs the device and client legs
 * of the same session and cn, so each connection has its own two legs.
 * The signature covers the payload bytes exactly as sent. */
#ifndef TETHER_TICKET_H
#define TETHER_TICKET_H

#include <stdint.h>
#include <openssl/evp.h>
#include "bounds.h"

enum ticket_leg { TICKET_LEG_DEVICE = 1, TICKET_LEG_CLIENT = 2 };

struct ticket {
	char session[MAX_NAME_BYTES];
	char device[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	char relay[MAX_NAME_BYTES];
	enum ticket_leg leg;
	int64_t issued_at;
	int64_t expires_at;
	char nonce[33];
	char actions[MAX_ACTIONS_BYTES];
	int64_t end_at;     /* session must end by this time; 0: no limit */
	int64_t idle_s;     /* idle timeout; 0: none */
	int64_t conn;       /* connection number in the session, 0..TICKET_MAX_CONN */
};

/* The highest connection number a ticket may carry. */
#define TICKET_MAX_CONN 65535

/* The one login name of a device's SSH server, whatever Unix account
 * (agent.conf support_user) what the specialist runs there runs as. */
#define TICKET_SSH_LOGIN "support"

const char *ticket_leg_name(enum ticket_leg leg);
/* Sign t with an Ed25519 private key into out (NUL-terminated). */
int ticket_sign(const struct ticket *t, EVP_PKEY *key, char *out, size_t outsz);
/* Parse and verify signature and expiry (now must be < expires_at and
 * >= issued_at - 5 s of clock skew). Fills out only on success.
 * TE_ERR_INVALID / TE_ERR_TOO_LONG for malformed text, TE_ERR_SIGNATURE for
 * a bad signature or wrong key, TE_ERR_EXPIRED when expired. */
int ticket_verify(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                  struct ticket *out);
/* The tolerance for a ticket's issued_at ahead of now. */
#define TICKET_SKEW_S 5
/* As ticket_verify; on TE_ERR_EXPIRED (the signature verified, the window
 * did not hold) *iat and *exp get the ticket's window, to say why. */
int ticket_verify_window(const char *text, size_t len, EVP_PKEY *pub, int64_t now,
                         struct ticket *out, int64_t *iat, int64_t *exp);
/* Check a verified ticket's binding: leg and relay name; device may be NULL
 * (client leg). TE_ERR_MISMATCH when any differs. */
int ticket_check_binding(const struct ticket *t, enum ticket_leg leg,
                         const char *relay, const char *device);
/* Does the comma-separated action list grant action? 1 yes, 0 no. */
int ticket_allows(const struct ticket *t, const char *action);

/* Ed25519 key files (PEM). Private key files are written 0600. */
int ticket_key_generate(const char *priv_path, const char *pub_path);
int ticket_key_load_private(const char *path, EVP_PKEY **out);
int ticket_key_load_public(const char *path, EVP_PKEY **out);

#endif

/* invite.h: one-time enrollment codes for user accounts. An administrator
 * never sets a user's password: `tether-server user add` (and `user invite`,
 * `user reset-password`) hand out a code that expires; the user spends it
 * once at POST /api/v1/account/enroll to choose the password, then enrolls
 * TOTP with the setup login it returns. */
#ifndef TETHER_SERVER_INVITE_H
#define TETHER_SERVER_INVITE_H

#include <stdint.h>

#include "http.h"
#include "secret.h"
#include "store.h"

#define INVITE_CODE_CHARS      16   /* 80 bits: 5 per character */
#define INVITE_CODE_TEXT_BYTES (INVITE_CODE_CHARS + INVITE_CODE_CHARS / 4)  /* dashes, NUL */
#define INVITE_TYPED_BYTES     64   /* what a user may type (spaces, dashes) */

/* "24h", "90m", "2d", "3600s" or "3600" into seconds, 60 s .. 30 days. */
int invite_parse_ttl(const char *s, int64_t *out);
/* SHA-256 hex of a typed code, upper-cased without dashes or spaces;
 * TE_ERR_INVALID when it cannot be a code. */
int invite_code_hash(const char *typed, char hash[SHA256_HEX_BYTES]);
/* Issue user a fresh code valid for ttl_s (replacing an earlier one; the
 * password is removed and the tokens revoked) and audit actor's
 * "user_invite" with why. The code, as XXXX-XXXX-XXXX-XXXX, in shown. */
int invite_issue(struct store *st, const char *actor, const char *user, const char *why,
                 int64_t now, int64_t ttl_s, char shown[INVITE_CODE_TEXT_BYTES],
                 int64_t *expires_at);

/* POST /api/v1/account/enroll {user, code, password} (public). */
void api_account_enroll(struct http_req *r);

#endif

/* apiacct.h: accounts and MFA over the API (api_account.c), shared with the
 * login in api_user.c and the authentication in srvapi.c. */
#ifndef TETHER_SERVER_APIACCT_H
#define TETHER_SERVER_APIACCT_H

#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "store.h"

/* POST /api/v1/account/totp, .../totp/confirm, .../password (setup or full
 * token). */
void api_account_totp(struct http_req *r);
void api_account_totp_confirm(struct http_req *r);
void api_account_password(struct http_req *r);

/* What a user must still do before a full token, as a JSON array of
 * "totp_enrollment" / "password_change" (empty when nothing). */
json_t *api_account_pending(const struct store_account *a);
/* One sentence naming the commands that finish the pending steps. */
const char *api_account_next_steps(const struct store_account *a);

/* Issue a token for u (full scope when nothing is pending, else setup)
 * and add "token", "scope", "expires_at", "expires_in_s", "idle_timeout_s",
 * "user", "role", "level", "region" (and "setup_required") to out. The
 * token's scope goes to scope_out. 0 or a te_err. */
int api_account_token(struct http_req *r, const struct store_user *u,
                      const struct store_account *a, json_t *out,
                      const char **scope_out);

/* Use a recovery code typed by user (dashes, spaces and case ignored):
 * 0 when it was an unused one (now used; audited recovery_code_used with
 * how many are left), TE_ERR_DENIED otherwise. */
int api_recovery_use(struct server *srv, const char *user, const char *code,
                     const char *addr, int64_t now);

#endif

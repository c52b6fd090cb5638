/* admin_user.c: an administrator's account commands, run on the server host
 * against the deployment directory: hand out a one-time enrollment code
 * (invite, reset-password), lift a login lock, revoke every token of a
 * user, and reset a user's TOTP. Each is audited with actor "admin". */
#include "admin_user.h"
#include "admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bounds.h"
#include "err.h"
#include "invite.h"
#include "jbody.h"
#include "secret.h"
#include "srvconf.h"
#include "store.h"

#define ADMIN_USER_ACTOR "admin"

struct admin_user_args {
	const char *cmd, *name, *dir, *addr, *expires;
};

/* Open the deployment's store and check that the user exists. */
static int admin_user_open(const struct admin_user_args *a, struct store **st)
{
	struct srvconf cfg;
	struct store_user u;
	int rc;

	*st = NULL;
	if ((rc = admin_open(a->dir, &cfg, st)) != 0)
		return rc;
	if ((rc = store_user_get(*st, a->name, &u)) != 0) {
		admin_err("user %s: %s", a->name, rc == TE_ERR_NOT_FOUND ?
		          "no such user" : te_strerror(rc));
		secret_wipe(&u, sizeof(u));
		return rc;
	}
	secret_wipe(&u, sizeof(u));
	return 0;
}

static void admin_user_audit(struct store *st, const char *action, json_t *detail)
{
	char *text = jbody_dump(detail);

	if (text == NULL || store_audit_append(st, ADMIN_USER_ACTOR, action, text) != 0)
		admin_err("warning: could not write the audit record for %s", action);
	free(text);
}

static int admin_user_unlock(const struct admin_user_args *a, struct store *st)
{
	int ru = store_login_clear(st, STORE_LOCK_USER, a->name);
	int ra = a->addr != NULL ? store_login_clear(st, STORE_LOCK_ADDR, a->addr) : TE_ERR_NOT_FOUND;

	if ((ru != 0 && ru != TE_ERR_NOT_FOUND) || (ra != 0 && ra != TE_ERR_NOT_FOUND)) {
		admin_err("user unlock: %s", te_strerror(ru != 0 && ru != TE_ERR_NOT_FOUND ? ru : ra));
		return 1;
	}
	admin_user_audit(st, "user_unlock", json_pack("{s:s, s:s?, s:b, s:b}", "user", a->name,
	                 "addr", a->addr, "user_cleared", ru == 0, "addr_cleared", ra == 0));
	printf("user %s: %s\n", a->name, ru == 0 ? "failed-login count and lock cleared" :
	       "no failed logins on record");
	if (a->addr != NULL)
		printf("address %s: %s\n", a->addr, ra == 0 ? "failed-login count and lock cleared" :
		       "no failed logins on record");
	return 0;
}

static void admin_user_revoked(struct store *st, const char *name, int count, const char *why)
{
	admin_user_audit(st, "tokens_revoked", json_pack("{s:s, s:i, s:s}", "user", name,
	                 "count", count, "reason", why));
	printf("user %s: %d token%s revoked\n", name, count, count == 1 ? "" : "s");
}

/* A new one-time enrollment code for the user (invite), or the same after
 * a forgotten password (reset-password): the old password stops working
 * and every token is revoked until the user chooses a new one with the
 * code. The administrator never sets or sees a password. */
static int admin_user_issue(const struct admin_user_args *a, struct store *st, const char *why)
{
	char shown[INVITE_CODE_TEXT_BYTES];
	int64_t ttl = ENROLL_CODE_TTL_S, expires_at = 0;
	int rc;

	if (a->expires != NULL && invite_parse_ttl(a->expires, &ttl) != 0) {
		admin_err("user %s: --expires must be a time such as 24h, 90m or 7d (1 minute to"
		          " 30 days)", a->cmd);
		return 2;
	}
	if ((rc = invite_issue(st, ADMIN_USER_ACTOR, a->name, why, (int64_t)time(NULL), ttl,
	                       shown, &expires_at)) != 0) {
		admin_err("user %s: %s", a->cmd, te_strerror(rc));
		return 1;
	}
	fprintf(stderr, "tether-server: user %s: the password was removed and every login"
	        " revoked until the code is used\n", a->name);
	admin_print_code(a->name, shown, expires_at);
	secret_wipe(shown, sizeof(shown));
	return 0;
}

static int admin_user_invite(const struct admin_user_args *a, struct store *st)
{
	return admin_user_issue(a, st, "invite");
}

static int admin_user_reset_password(const struct admin_user_args *a, struct store *st)
{
	return admin_user_issue(a, st, "reset_password");
}

static int admin_user_revoke_tokens(const struct admin_user_args *a, struct store *st)
{
	int rc, count = 0;

	if ((rc = store_token_revoke_user(st, a->name, &count, NULL)) != 0) {
		admin_err("user revoke-tokens: %s", te_strerror(rc));
		return 1;
	}
	admin_user_revoked(st, a->name, count, "administrator");
	return 0;
}

static int admin_user_reset_mfa(const struct admin_user_args *a, struct store *st)
{
	struct store_audit_entry audit = { ADMIN_USER_ACTOR, "mfa_reset", NULL };
	char *detail = jbody_dump(json_pack("{s:s}", "user", a->name));
	int rc, revoked = 0;

	audit.detail = detail;
	rc = detail != NULL ? store_mfa_reset(st, a->name, &revoked, &audit) : TE_ERR_NOMEM;
	free(detail);
	if (rc == TE_ERR_NOT_FOUND) {
		printf("user %s: no TOTP enrolled or pending; nothing to reset\n", a->name);
		return 0;
	}
	if (rc != 0) {
		admin_err("user reset-mfa: %s", te_strerror(rc));
		return 1;
	}
	printf("user %s: TOTP and recovery codes removed; the user enrolls again at the"
	       " next login\n", a->name);
	admin_user_revoked(st, a->name, revoked, "mfa_reset");
	return 0;
}

static int admin_user_parse(int argc, char **argv, struct admin_user_args *a)
{
	memset(a, 0, sizeof(*a));
	if (argc < 2 || argv[1][0] == '-') {
		admin_err("user %s needs a user name", argv[0]);
		return -1;
	}
	a->cmd = argv[0];
	a->name = argv[1];
	for (int i = 2; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--dir") == 0 ? &a->dir :
		                   strcmp(argv[i], "--addr") == 0 ? &a->addr :
		                   strcmp(argv[i], "--expires") == 0 ? &a->expires : NULL;

		if (dst == NULL || i + 1 >= argc) {
			admin_err("user %s: %s %s", a->cmd, argv[i], dst == NULL ?
			          "is not an option here" : "needs a value");
			return -1;
		}
		*dst = argv[++i];
	}
	if (a->dir == NULL) {
		admin_err("user %s: --dir DIR is required", a->cmd);
		return -1;
	}
	if (!jbody_name_ok(a->name)) {
		admin_err("user %s: NAME must be of [A-Za-z0-9._-]", a->cmd);
		return -1;
	}
	if (a->addr != NULL && (strcmp(a->cmd, "unlock") != 0 || a->addr[0] == '\0' ||
	                        strlen(a->addr) >= 64 || !jbody_text_ok(a->addr))) {
		admin_err("user %s: --addr IP is only for unlock", a->cmd);
		return -1;
	}
	if (a->expires != NULL && strcmp(a->cmd, "invite") != 0 &&
	    strcmp(a->cmd, "reset-password") != 0) {
		admin_err("user %s: --expires is only for invite and reset-password", a->cmd);
		return -1;
	}
	return 0;
}

int admin_user_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct admin_user_args *, struct store *);
	} cmds[] = {
		{ "unlock", admin_user_unlock },
		{ "invite", admin_user_invite },
		{ "reset-password", admin_user_reset_password },
		{ "revoke-tokens", admin_user_revoke_tokens },
		{ "reset-mfa", admin_user_reset_mfa },
	};
	struct admin_user_args a;
	struct store *st = NULL;
	int code = 1;
	size_t k;

	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (argc >= 1 && strcmp(argv[0], cmds[k].name) == 0)
			break;
	if (k == sizeof(cmds) / sizeof(cmds[0])) {
		admin_err("unknown user command; use add, invite, unlock, reset-password,"
		          " revoke-tokens or reset-mfa");
		return 2;
	}
	if (admin_user_parse(argc, argv, &a) != 0)
		return 2;
	if (admin_user_open(&a, &st) == 0)
		code = cmds[k].fn(&a, st);
	store_close(st);
	return code;
}

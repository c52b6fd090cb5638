/* store_origin.c: who ran an offline administration command, added to
 * every audit record that command appends (store.h store_audit_set_origin).
 * One hook in the append path rather than a field at each call site, so
 * that no admin command can forget it. */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"

static json_t *store_origin;           /* members to add; NULL: none (the daemon) */

int store_audit_set_origin(const char *os_user, long os_uid, const char *sudo_user,
                           long login_uid, const char *login_user)
{
	json_t *o = json_object();

	if (o == NULL)
		return TE_ERR_NOMEM;
	/* Both names are recorded as what they are: os_user is the account the
	 * kernel says ran the command; sudo_user is what sudo put in the
	 * environment, a claim that anyone can set without sudo. */
	json_object_set_new(o, "os_user", json_string(os_user));
	json_object_set_new(o, "os_uid", json_integer(os_uid));
	if (sudo_user != NULL)
		json_object_set_new(o, "sudo_user", json_string(sudo_user));
	/* The kernel's login uid: set once at login (pam_loginuid) and kept
	 * through sudo, su and runuser, so it names the person even when the
	 * command runs as the daemon's account, as the README has it. */
	if (login_uid >= 0) {
		json_object_set_new(o, "login_uid", json_integer(login_uid));
		if (login_user != NULL)
			json_object_set_new(o, "login_user", json_string(login_user));
	}
	json_decref(store_origin);
	store_origin = o;
	return 0;
}

char *store_audit_with_origin(const char *detail)
{
	json_t *d;
	char *out = NULL;

	if (store_origin == NULL)
		return NULL;
	d = json_loads(detail, JSON_REJECT_DUPLICATES, NULL);
	if (d == NULL || !json_is_object(d)) {
		/* Not an object: keep it whole under "detail". */
		json_decref(d);
		d = json_pack("{s:s}", "detail", detail);
	}
	if (d != NULL && json_object_update_missing(d, store_origin) == 0)
		out = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return out;
}

/* admin.h: the offline administration commands of tether-server. Each
 * returns the process exit code and prints what to do on failure. */
#ifndef TETHER_SERVER_ADMIN_H
#define TETHER_SERVER_ADMIN_H

#include <stddef.h>

struct admin_relay_opts {
	const char *name, *host, *dir;
	int device_port, client_port;
	/* Path of the relay's CSR (from `tether-relay init`): the relay keeps its
	 * key. NULL: the key is made here (single-host convenience). */
	const char *csr;
	/* Absolute folder the relay writes in (its audit log, kept checkpoint
	 * and report spool: the unit's StateDirectory=). NULL: next to the
	 * config (a single-folder demo or test). */
	const char *state_dir;
};

struct admin_user_opts {
	const char *name, *role, *region, *dir;
	int level;
	const char *site;       /* required for customer roles, NULL otherwise */
	const char *expires;    /* the enrollment code's life ("24h"); NULL: default */
};

int admin_relay_add(const struct admin_relay_opts *o);
/* site must be a registered site (admin_site.c). */
int admin_device_add(const char *serial, const char *customer, const char *product,
                     const char *site, const char *dir);
int admin_user_add(const struct admin_user_opts *o);
/* Mark the device revoked (audited device_revoke with reason) and end its
 * open sessions with SESSION_REVOKED_REASON. */
int admin_device_revoke(const char *dir, const char *serial, const char *reason);
/* `audit verify`: the chain, then every stored signed checkpoint against it
 * (admin_verify.c); checkpoint_file: also one kept by a device or a relay. */
int admin_audit_verify(const char *dir, const char *checkpoint_file);
int admin_audit_list(const char *dir, int json);
/* A device's audit anchor and last rollback; exit 1 when a rollback is on
 * record (or on error). */
int admin_audit_device(const char *dir, const char *serial, int json);
/* The same for a relay's audit anchor (relay_audit_rollback). */
int admin_audit_relay(const char *dir, const char *name, int json);

/* Sites, certifications and the access policy (admin_site.c):
 * `site add|set|list`, `user certify`, `policy check|show`. argv[0] is
 * "site", "user" or "policy". */
int admin_site_main(int argc, char **argv);

/* tether-server repo publish SRC --dir DIR | repo keys --dir DIR (admin_repo.c). */
int admin_repo_publish(const char *dir, const char *src);
/* `repo keys [--rotate snapshot|timestamp]`: print the online public
 * keys, after retiring the named one (a new one is made). */
int admin_repo_keys(const char *dir, const char *rotate);
/* `repo bundle TARGET --output FILE`: the offline bundle (bundle.h). */
int admin_repo_bundle(const char *dir, const char *target, const char *out);

/* tether-server advisories import FILE --dir DIR (admin_advisory.c). */
int admin_advisories_import(const char *dir, const char *file);

#endif

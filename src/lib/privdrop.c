/* privdrop.c: drop root after the ports are bound, and keep secrets out of
 * core files and away from ptrace. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define PRIVDROP_PW_BUF_BYTES 4096

void privdrop_harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		log_warn("privdrop: cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("privdrop: cannot clear dumpable: %s", strerror(errno));
}

int privdrop_to(const char *user)
{
	char buf[PRIVDROP_PW_BUF_BYTES];
	struct passwd pw, *res = NULL;
	int rc;

	privdrop_harden();
	/* Whatever happens below, no later exec may gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_error("privdrop: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	if (user == NULL || user[0] == '\0' || geteuid() != 0)
		return 0;
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || res == NULL) {
		log_error("privdrop: no such user '%s'", user);
		return TE_ERR_NOT_FOUND;
	}
	if (pw.pw_uid == 0) {
		log_error("privdrop: refusing to 'drop' to uid 0 (%s)", user);
		return TE_ERR_INVALID;
	}
	/* Supplementary groups first, while we still may; only the primary group
	 * is kept so that root's groups do not leak to the daemon. */
	if (setgroups(1, &pw.pw_gid) != 0 ||
	    setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
	    setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
		log_error("privdrop: cannot switch to %s: %s", user, strerror(errno));
		return TE_ERR_SYS;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 || geteuid() == 0 ||
	    (pw.pw_gid != 0 && (setgid(0) == 0 || getegid() == 0))) {
		log_error("privdrop: root could be regained after dropping to %s", user);
		abort(); /* a daemon that believes it dropped privileges must not run on */
	}
	/* setuid clears the dumpable flag on its own, but say so explicitly. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_info("privdrop: now running as %s (uid %ld)", user, (long)pw.pw_uid);
	return 0;
}

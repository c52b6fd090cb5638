/* srvconf.h: the deployment directory's tether-server.conf. */
#ifndef TETHER_SERVER_SRVCONF_H
#define TETHER_SERVER_SRVCONF_H

#include <limits.h>
#include <stddef.h>

#include "bounds.h"
#include "log.h"

#define SRVCONF_FILE          "tether-server.conf"
#define SRVCONF_DEFAULT_LISTEN "127.0.0.1:8443"
#define SRVCONF_DEFAULT_DB    "tether.db"

struct srvconf {
	char dir[PATH_MAX];           /* deployment directory */
	char listen_host[256];
	char listen_port[16];
	char public_host[256];
	char db_path[PATH_MAX];       /* resolved against dir */
	long consent_timeout_s;
	long longpoll_s;
	long session_max_s;
	long token_ttl_s;
	long token_idle_s;            /* a token unused this long is refused */
	long login_max_failures;      /* per user name, before a lock */
	long login_addr_max_failures; /* per source address, before a lock */
	long login_lock_base_s;       /* first lock; doubles with each failure after */
	long login_lock_max_s;        /* longest lock */
	char user[MAX_NAME_BYTES];
	enum log_level log_level;
};

/* Load DIR/tether-server.conf; on error a te_err with errbuf filled. */
int srvconf_load(const char *dir, struct srvconf *out, char *errbuf, size_t errsz);
/* Join dir and a relative file name into out (absolute names kept as is). */
int srvconf_path(const char *dir, const char *name, char *out, size_t outsz);
/* Split "ADDR:PORT" (ADDR may be "[v6]"); TE_ERR_INVALID when malformed. */
int srvconf_split_hostport(const char *s, char *host, size_t hostsz,
                           char *port, size_t portsz);

#endif

/* deploy.h: `tether-server init`: a new deployment directory. */
#ifndef TETHER_SERVER_DEPLOY_H
#define TETHER_SERVER_DEPLOY_H

#include <stddef.h>
#include <openssl/evp.h>

struct deploy_opts {
	const char *dir;
	const char *host;      /* server cert name and public_host; NULL: localhost */
	const char *listen;    /* ADDR:PORT; NULL: SRVCONF_DEFAULT_LISTEN */
};

/* Create everything; prints the root CA fingerprint. Returns 0 or a te_err
 * with errbuf saying what to do. */
int deploy_init(const struct deploy_opts *o, char *errbuf, size_t errsz);
/* "DNS:localhost,IP:127.0.0.1" plus host as DNS: or IP: when not already there. */
int deploy_sans(const char *host, char *out, size_t outsz);
/* Write a new key+cert issued by the deployment's issuing CA: certfile gets the
 * leaf then the issuing CA. Returns the leaf fingerprint. */
int deploy_issue_files(const char *dir, const char *role, const char *cn,
                       const char *sans, const char *certfile, const char *keyfile,
                       char fp[65]);
/* Issue a certificate for a public key made elsewhere (a relay's CSR):
 * certfile gets the leaf then the issuing CA. Returns the leaf fingerprint. */
int deploy_issue_cert(const char *dir, const char *role, const char *cn, const char *sans,
                      EVP_PKEY *pub, const char *certfile, char fp[65]);
/* Copy a small file (certificates, public keys) with the given mode. */
int deploy_copy_file(const char *from, const char *to, int mode);

#endif

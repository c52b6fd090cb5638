/* deploy.c: the deployment directory: CA, server certificate, ticket key,
 * config and database (docs/architecture.md, "Deployment directory"). */
#include "deploy.h"
#include "signer.h"
#include "tufonline.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "mfakey.h"
#include "pki.h"
#include "secret.h"
#include "policy.h"
#include "srvconf.h"
#include "store.h"
#include "ticket.h"

#define DEPLOY_ROOT_DAYS    3650
#define DEPLOY_ISSUING_DAYS 1825
#define DEPLOY_LEAF_DAYS    825

int deploy_sans(const char *host, char *out, size_t outsz)
{
	struct in6_addr a6;
	struct in_addr a4;
	int n;

	if (host == NULL || strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0)
		n = snprintf(out, outsz, "DNS:localhost,IP:127.0.0.1");
	else if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		n = snprintf(out, outsz, "DNS:localhost,IP:127.0.0.1,IP:%s", host);
	else
		n = snprintf(out, outsz, "DNS:localhost,IP:127.0.0.1,DNS:%s", host);
	return (n < 0 || (size_t)n >= outsz) ? TE_ERR_TOO_LONG : 0;
}

/* 1 when dir does not exist or is an empty directory. */
static int deploy_dir_fresh(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int fresh = 1;

	if (d == NULL)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			fresh = 0;
			break;
		}
	}
	closedir(d);
	return fresh;
}

static int deploy_mkdirs(const char *dir)
{
	static const char *const subs[] = { "ca", "server", "ticket", "relays", NULL };
	char p[PATH_MAX];

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return TE_ERR_SYS;
	for (int i = 0; subs[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (mkdir(p, 0700) != 0)
			return TE_ERR_SYS;
	}
	return 0;
}

static int deploy_ca(const char *dir, char fp[SHA256_HEX_BYTES])
{
	EVP_PKEY *rkey = NULL, *ikey = NULL;
	X509 *root = NULL, *issuing = NULL;
	char p[PATH_MAX];
	int rc;

	if ((rc = pki_key_new(&rkey)) != 0 ||
	    (rc = pki_ca_new("tether root CA", DEPLOY_ROOT_DAYS, rkey, &root)) != 0 ||
	    (rc = pki_key_new(&ikey)) != 0 ||
	    (rc = pki_issue(root, rkey, ikey, "ca", "tether issuing CA", NULL,
	                    DEPLOY_ISSUING_DAYS, 1, &issuing)) != 0 ||
	    (rc = pki_cert_fingerprint(root, fp)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/ca/root.key", dir);
	if ((rc = pki_key_save(p, rkey)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/ca/root.crt", dir);
	if ((rc = pki_cert_save(p, &root, 1)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/ca/issuing.key", dir);
	if ((rc = pki_key_save(p, ikey)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/ca/issuing.crt", dir);
	rc = pki_cert_save(p, &issuing, 1);
out:
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	X509_free(root);
	X509_free(issuing);
	return rc;
}

int deploy_issue_cert(const char *dir, const char *role, const char *cn, const char *sans,
                      EVP_PKEY *pub, const char *certfile, char fp[65])
{
	EVP_PKEY *ikey = NULL;
	X509 *issuing = NULL, *chain[2] = { NULL, NULL };
	char p[PATH_MAX];
	int rc;

	snprintf(p, sizeof(p), "%s/ca/issuing.key", dir);
	if ((rc = pki_key_load(p, &ikey)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s/ca/issuing.crt", dir);
	if ((rc = pki_cert_load(p, &issuing)) != 0 ||
	    (rc = pki_issue(issuing, ikey, pub, role, cn, sans, DEPLOY_LEAF_DAYS, 0,
	                    &chain[0])) != 0 ||
	    (rc = pki_cert_fingerprint(chain[0], fp)) != 0)
		goto out;
	chain[1] = issuing;
	rc = pki_cert_save(certfile, chain, 2);
out:
	EVP_PKEY_free(ikey);
	X509_free(issuing);
	X509_free(chain[0]);
	return rc;
}

int deploy_issue_files(const char *dir, const char *role, const char *cn,
                       const char *sans, const char *certfile, const char *keyfile,
                       char fp[65])
{
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = pki_key_new(&key)) != 0 ||
	    (rc = pki_key_save(keyfile, key)) != 0)
		goto out;
	rc = deploy_issue_cert(dir, role, cn, sans, key, certfile, fp);
out:
	EVP_PKEY_free(key);
	return rc;
}

int deploy_copy_file(const char *from, const char *to, int mode)
{
	char buf[4096];
	int in = -1, out = -1, rc = TE_ERR_IO;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto out;
	rc = n == 0 ? 0 : TE_ERR_IO;
out:
	if (in >= 0) close(in);
	if (out >= 0 && close(out) != 0) rc = TE_ERR_IO;
	return rc;
}

static int deploy_conf(const char *dir, const char *listen, const char *host)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, SRVCONF_FILE);
	if ((f = fopen(p, "wx")) == NULL)
		return TE_ERR_IO;
	fprintf(f,
	        "# tether-server configuration (written by `tether-server init`).\n"
	        "# Unknown keys are an error. Paths are relative to this folder.\n\n"
	        "# Address and port of the HTTPS API.\n"
	        "listen = %s\n"
	        "# Name agents, relays and people use to reach this server.\n"
	        "public_host = %s\n"
	        "# SQLite database.\n"
	        "db = %s\n"
	        "# Seconds the operator has to answer a session request.\n"
	        "consent_timeout_s = %d\n"
	        "# Seconds a device ping is held open waiting for an event.\n"
	        "longpoll_s = %d\n"
	        "# A device clock further off than this many seconds is flagged by\n"
	        "# `tether devices` and audited (device_clock_skew); sessions still work.\n"
	        "# clock_skew_warn_s = 30\n"
	        "# (The longest session and the idle timeout are in policy.conf.)\n"
	        "# Lifetime of a login token, in seconds (at most a day).\n"
	        "token_ttl_s = %d\n"
	        "# A login token unused for this many seconds is refused.\n"
	        "token_idle_s = %d\n"
	        "# A full login may be renewed with the one-time code alone (`tether renew`)\n"
	        "# for this many seconds after its password login (0: never); audited\n"
	        "# login_renewed.\n"
	        "# login_renew_max_s = 28800\n"
	        "# Lockout: after login.max_failures consecutive failed logins for one\n"
	        "# user name (known or not), or login.addr_max_failures from one source\n"
	        "# address, logins are refused for login.lock_base_s seconds, doubling with\n"
	        "# each further failure up to login.lock_max_s. `tether-server user unlock`\n"
	        "# lifts a lock.\n"
	        "login.max_failures = %d\n"
	        "login.addr_max_failures = %d\n"
	        "login.lock_base_s = %d\n"
	        "login.lock_max_s = %d\n"
	        "# Drop to this user after binding the port (when started as root).\n"
	        "user =\n"
	        "# debug, info, warn or error.\n"
	        "log_level = info\n"
	        "# text (a timestamp on each line; journald priority prefixes under\n"
	        "# systemd) or json (one object a line).\n"
	        "log_format = text\n"
	        "# Prometheus GET /metrics and GET /healthz over plain HTTP on their own\n"
	        "# listener; off unless set. Keep it on loopback or a management network.\n"
	        "# metrics_listen = 127.0.0.1:9464\n",
	        listen, host, SRVCONF_DEFAULT_DB, CONSENT_TIMEOUT_S, LONGPOLL_HOLD_S,
	        API_TOKEN_TTL_S, API_TOKEN_IDLE_S, LOGIN_MAX_FAILURES,
	        LOGIN_ADDR_MAX_FAILURES, LOGIN_LOCK_BASE_S, LOGIN_LOCK_MAX_S);
	fputs(SRVCONF_NOTIFY_TEMPLATE, f);  /* the notify.* keys (srvconf.h) */
	fputs(SRVCONF_STATUS_TEMPLATE, f);  /* status.* and alert.* */
	fputs(SRVCONF_SIEM_TEMPLATE, f);    /* siem.* */
	return fclose(f) == 0 ? 0 : TE_ERR_IO;
}

/* DIR/policy.conf: the documented default access policy (policy.h). */
static int deploy_policy(const char *dir)
{
	const char *text = policy_default_text();
	char p[PATH_MAX];
	FILE *f;
	int rc = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, POLICY_FILE);
	if ((f = fopen(p, "wx")) == NULL)
		return TE_ERR_IO;
	if (fwrite(text, 1, strlen(text), f) != strlen(text))
		rc = TE_ERR_IO;
	if (fclose(f) != 0)
		rc = TE_ERR_IO;
	return rc;
}

static int deploy_server_cert(const char *dir, const char *host)
{
	char sans[512], crt[PATH_MAX], key[PATH_MAX], fp[SHA256_HEX_BYTES];
	int rc;

	if ((rc = deploy_sans(host, sans, sizeof(sans))) != 0)
		return rc;
	snprintf(crt, sizeof(crt), "%s/server/server.crt", dir);
	snprintf(key, sizeof(key), "%s/server/server.key", dir);
	return deploy_issue_files(dir, PKI_ROLE_SERVER, host, sans, crt, key, fp);
}

static int deploy_db(const char *dir, const char *host)
{
	struct store *st = NULL;
	char p[PATH_MAX], detail[512];
	int rc;

	mode_t old;

	snprintf(p, sizeof(p), "%s/%s", dir, SRVCONF_DEFAULT_DB);
	old = umask(077);   /* the database holds password hashes */
	rc = store_open(p, &st);
	umask(old);
	if (rc != 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"host\":\"%s\"}", host);
	rc = store_audit_append(st, "admin", "init", detail);
	store_close(st);
	return rc;
}

int deploy_init(const struct deploy_opts *o, char *errbuf, size_t errsz)
{
	const char *host = o->host ? o->host : "localhost";
	const char *listen = o->listen ? o->listen : SRVCONF_DEFAULT_LISTEN;
	char fp[SHA256_HEX_BYTES], h[256], port[16], p1[PATH_MAX], p2[PATH_MAX];
	const char *step = "create the directories";
	int rc;

	if (srvconf_split_hostport(listen, h, sizeof(h), port, sizeof(port)) != 0) {
		snprintf(errbuf, errsz, "--listen must be ADDR:PORT, e.g. 127.0.0.1:8443");
		return TE_ERR_INVALID;
	}
	if (strlen(host) >= MAX_NAME_BYTES || strpbrk(host, " \t\n\",/\\") != NULL) {
		snprintf(errbuf, errsz, "--host must be a host name or an IP address");
		return TE_ERR_INVALID;
	}
	if (!deploy_dir_fresh(o->dir)) {
		snprintf(errbuf, errsz, "%s already exists and is not empty; choose a new"
		         " directory (an existing deployment is never overwritten)", o->dir);
		return TE_ERR_EXISTS;
	}
	if ((rc = deploy_mkdirs(o->dir)) != 0)
		goto fail;
	step = "create the CA";
	if ((rc = deploy_ca(o->dir, fp)) != 0)
		goto fail;
	step = "issue the server certificate";
	if ((rc = deploy_server_cert(o->dir, host)) != 0)
		goto fail;
	step = "create the ticket key";
	snprintf(p1, sizeof(p1), "%s/ticket/ticket.key", o->dir);
	snprintf(p2, sizeof(p2), "%s/ticket/ticket.pub", o->dir);
	if ((rc = ticket_key_generate(p1, p2)) != 0)
		goto fail;
	step = "write the config";
	if ((rc = deploy_conf(o->dir, listen, host)) != 0)
		goto fail;
	step = "create the TOTP sealing key";
	{
		uint8_t key[MFAKEY_BYTES];
		char kerr[256];
		rc = mfakey_ensure(o->dir, key, kerr, sizeof(kerr));
		secret_wipe(key, sizeof(key));
		if (rc != 0)
			goto fail;
	}
	step = "create the audit checkpoint key";
	{
		char kerr[PATH_MAX + 128];
		if ((rc = signer_checkpoint_key_ensure(o->dir, kerr, sizeof(kerr))) != 0)
			goto fail;
	}
	step = "create the software repository's online keys";
	{
		char kerr[PATH_MAX + 128];
		if ((rc = tufonline_keys_ensure(o->dir, kerr, sizeof(kerr))) != 0)
			goto fail;
	}
	step = "write the access policy";
	if ((rc = deploy_policy(o->dir)) != 0)
		goto fail;
	step = "create the database";
	if ((rc = deploy_db(o->dir, host)) != 0)
		goto fail;
	printf("%s\n", fp);
	fprintf(stderr, "tether-server: deployment created in %s\n"
	        "  root CA fingerprint (agents pin it with --ca-fingerprint): %s\n"
	        "  next: tether-server relay add / device add / user add --dir %s\n",
	        o->dir, fp, o->dir);
	return 0;
fail:
	snprintf(errbuf, errsz, "could not %s in %s: %s", step, o->dir, te_strerror(rc));
	return rc;
}

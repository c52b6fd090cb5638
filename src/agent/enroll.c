/* enroll.c: fetch and pin the CA, generate keys, POST /api/v1/enroll. */
#include "enroll.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/libssh.h>
#include <openssl/ssl.h>

#include "agentaudit.h"
#include "err.h"
#include "httpc.h"
#include "httpproxy.h"
#include "log.h"
#include "pki.h"
#include "support.h"
#include "ticket.h"
#include "ping.h"
#include "tls.h"

#define ENROLL_PW_BYTES 256

static const char *const enroll_files[] = {
	"device.crt", "device.key", "ca.crt", "ticket.pub", "ssh_hostkey",
	"support.hash", NULL
};

int enroll_normalize_fingerprint(const char *in, char out[65])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ':' || *in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || n >= 64)
			return TE_ERR_INVALID;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return n == 64 ? 0 : TE_ERR_INVALID;
}

int enroll_check(const struct agent_conf *conf, char *missing, size_t missingsz)
{
	char path[AGENT_PATH_BYTES];
	size_t i;

	for (i = 0; enroll_files[i] != NULL; i++) {
		if (agentconf_state_path(conf, enroll_files[i], path, sizeof(path)) != 0 ||
		    access(path, R_OK) != 0) {
			snprintf(missing, missingsz, "%s", path);
			return TE_ERR_NOT_FOUND;
		}
	}
	return 0;
}

/* Accept any certificate, for the single GET /api/v1/ca whose answer is then
 * checked against the typed fingerprint. Resetting the error keeps the
 * verify result "OK" for code that checks it after the handshake. */
static int enroll_accept_any(int ok, X509_STORE_CTX *x)
{
	X509_STORE_CTX_set_error(x, X509_V_OK);
	return 1;
}

static int enroll_bootstrap_ctx(SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return TE_ERR_CRYPTO;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, enroll_accept_any);
	*out = ctx;
	return 0;
}

static int enroll_write(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return TE_ERR_SYS;
	if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0)
		rc = TE_ERR_IO;
	if (close(fd) != 0 && rc == 0)
		rc = TE_ERR_IO;
	return rc;
}

/* Print the server's {"error","message"} or the transport error. */
static void enroll_report(const char *what, int status, const char *body,
                          const char *err)
{
	json_t *o = body != NULL ? json_loads(body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(o, "message"));

	if (status == 0)
		fprintf(stderr, "enroll: %s: %s\n", what, err);
	else
		fprintf(stderr, "enroll: %s: the server answered %d: %s\n", what,
		        status, msg != NULL ? msg : "(no message)");
	json_decref(o);
}

/* GET /api/v1/ca unverified; return its PEM only if the fingerprint matches. */
static int enroll_fetch_ca(const char *server, const char *proxy,
                           const char *want_fp, char **ca_pem)
{
	SSL_CTX *ctx = NULL;
	X509 *ca = NULL;
	json_t *o = NULL;
	char err[256], fp[SHA256_HEX_BYTES], *body = NULL;
	const char *pem;
	int status = 0, rc;

	if ((rc = enroll_bootstrap_ctx(&ctx)) != 0)
		goto out;
	rc = httpc_request_sync_via(server, proxy, ctx, "GET", "/api/v1/ca", NULL,
	                            NULL, HTTP_TIMEOUT_S, &status, &body, err,
	                            sizeof(err));
	if (rc != 0 || status != 200) {
		enroll_report("cannot fetch the CA", status, body, rc ? err : "");
		rc = rc ? rc : TE_ERR_PROTOCOL;
		goto out;
	}
	o = json_loads(body, 0, NULL);
	if ((pem = json_string_value(json_object_get(o, "ca"))) == NULL ||
	    pki_cert_from_pem(pem, strlen(pem), &ca) != 0 ||
	    pki_cert_fingerprint(ca, fp) != 0) {
		fprintf(stderr, "enroll: the server's /api/v1/ca answer holds no CA "
		        "certificate\n");
		rc = TE_ERR_PROTOCOL;
		goto out;
	}
	if (!secret_equal_str(fp, want_fp)) {
		fprintf(stderr, "enroll: REFUSED: the server's CA fingerprint is\n  %s\n"
		        "but --ca-fingerprint is\n  %s\nSomething is between this device "
		        "and the server, or the fingerprint was mistyped. Nothing was "
		        "sent and nothing was stored.\n", fp, want_fp);
		rc = TE_ERR_MISMATCH;
		goto out;
	}
	if ((*ca_pem = strdup(pem)) == NULL)
		rc = TE_ERR_NOMEM;
out:
	json_decref(o);
	free(body);
	X509_free(ca);
	SSL_CTX_free(ctx);
	return rc;
}

/* Ed25519 SSH host key to state_dir/ssh_hostkey (0600); public key text out. */
static int enroll_ssh_hostkey(const struct agent_conf *conf, char **pub_out)
{
	char path[AGENT_PATH_BYTES], *b64 = NULL;
	ssh_key key = NULL;
	size_t n;
	int rc = TE_ERR_CRYPTO;

	if (agentconf_state_path(conf, "ssh_hostkey", path, sizeof(path)) != 0)
		return TE_ERR_TOO_LONG;
	unlink(path);
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
	    ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) != SSH_OK ||
	    chmod(path, 0600) != 0 ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		goto out;
	n = strlen("ssh-ed25519 ") + strlen(b64) + 1;
	if ((*pub_out = malloc(n)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	snprintf(*pub_out, n, "ssh-ed25519 %s", b64);
	rc = 0;
out:
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return rc;
}

static int enroll_store(const struct agent_conf *conf, EVP_PKEY *key,
                        const char *cert_pem, const char *ca_pem,
                        const char *ticket_pem)
{
	char path[AGENT_PATH_BYTES];
	EVP_PKEY *tpub = NULL;
	json_t *info;
	char *text;
	int rc;

	if ((rc = agentconf_state_path(conf, "device.key", path, sizeof(path))) != 0 ||
	    (rc = pki_key_save(path, key)) != 0 ||
	    (rc = agentconf_state_path(conf, "device.crt", path, sizeof(path))) != 0 ||
	    (rc = enroll_write(path, cert_pem, 0644)) != 0 ||
	    (rc = agentconf_state_path(conf, "ca.crt", path, sizeof(path))) != 0 ||
	    (rc = enroll_write(path, ca_pem, 0644)) != 0 ||
	    (rc = agentconf_state_path(conf, "ticket.pub", path, sizeof(path))) != 0 ||
	    (rc = enroll_write(path, ticket_pem, 0644)) != 0)
		return rc;
	/* Refuse a ticket key we could not use later. */
	if ((rc = ticket_key_load_public(path, &tpub)) != 0) {
		fprintf(stderr, "enroll: the server's ticket_pubkey is not an Ed25519 "
		        "public key\n");
		return rc;
	}
	EVP_PKEY_free(tpub);
	info = json_pack("{s:s, s:s}", "serial", conf->serial, "server", conf->server);
	text = info != NULL ? json_dumps(info, JSON_INDENT(2)) : NULL;
	json_decref(info);
	if (text == NULL)
		return TE_ERR_NOMEM;
	if ((rc = agentconf_state_path(conf, "enrollment.json", path, sizeof(path))) == 0)
		rc = enroll_write(path, text, 0644);
	free(text);
	return rc;
}

/* The key of the server's signed audit checkpoints (ping.c keeps the latest
 * one shown). A server from before checkpoints sends none: nothing to keep. */
static int enroll_checkpoint_pub(const struct agent_conf *conf, const json_t *resp)
{
	const char *pem = json_string_value(json_object_get(resp, "checkpoint_pubkey"));
	char path[AGENT_PATH_BYTES];
	EVP_PKEY *pub = NULL;
	int rc;

	if (pem == NULL)
		return 0;
	if ((rc = agentconf_state_path(conf, PING_CHECKPOINT_PUB, path, sizeof(path))) != 0 ||
	    (rc = enroll_write(path, pem, 0644)) != 0)
		return rc;
	if ((rc = ticket_key_load_public(path, &pub)) != 0)
		fprintf(stderr, "enroll: the server's checkpoint_pubkey is not an Ed25519 public"
		        " key\n");
	EVP_PKEY_free(pub);
	return rc;
}

/* POST /api/v1/enroll; on 200 hands back the response object. */
static int enroll_post(const struct agent_conf *conf, const char *token,
                       const char *ca_pem, const char *csr,
                       const char *hostkey, json_t **resp)
{
	SSL_CTX *ctx = NULL;
	json_t *req;
	char err[256], *body = NULL, *reqtext = NULL;
	int status = 0, rc;

	if ((rc = tls_client_ctx_new_pem(ca_pem, NULL, NULL, &ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(ctx, PKI_ROLE_SERVER)) != 0)
		goto out;
	req = json_pack("{s:s, s:s, s:s, s:s}", "serial", conf->serial, "token",
	                token, "csr", csr, "ssh_hostkey", hostkey);
	reqtext = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (reqtext == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	rc = httpc_request_sync_via(conf->server, agentconf_proxy(conf, conf->server),
	                            ctx, "POST", "/api/v1/enroll", NULL, reqtext,
	                            HTTP_TIMEOUT_S, &status, &body, err, sizeof(err));
	if (rc != 0 || status != 200) {
		enroll_report("enrollment refused", status, body, rc ? err : "");
		if (status == 401)
			fprintf(stderr, "enroll: the token is unknown, used, expired or "
			        "issued for another serial; ask for a new one\n");
		rc = rc ? rc : TE_ERR_DENIED;
		goto out;
	}
	if ((*resp = json_loads(body, 0, NULL)) == NULL) {
		fprintf(stderr, "enroll: the server's answer is not JSON\n");
		rc = TE_ERR_PROTOCOL;
	}
out:
	if (reqtext != NULL)
		secret_wipe(reqtext, strlen(reqtext));   /* holds the token */
	free(reqtext);
	free(body);
	SSL_CTX_free(ctx);
	return rc;
}

static int enroll_password(const struct agent_conf *conf, const char *file)
{
	char pw[ENROLL_PW_BYTES];
	int fd, rc, generated = 0;

	if (file != NULL) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "enroll: %s: %s\n", file, strerror(errno));
			return TE_ERR_SYS;
		}
		rc = support_read_password(fd, pw, sizeof(pw));
		close(fd);
		if (rc == 0 && strlen(pw) < PASSWORD_MIN_CHARS) {
			fprintf(stderr, "enroll: the support password in %s must have at "
			        "least %d characters\n", file, PASSWORD_MIN_CHARS);
			rc = TE_ERR_INVALID;
		}
	} else {
		rc = support_generate(pw, sizeof(pw));
		generated = 1;
	}
	if (rc == 0)
		rc = support_store(conf, pw);
	if (rc == 0 && generated)
		printf("support password for %s (shown once, write it down): %s\n",
		       conf->support_user, pw);
	secret_wipe(pw, sizeof(pw));
	return rc;
}

static int enroll_prepare(struct agent_conf *conf, const struct enroll_args *a,
                          char fp[65])
{
	if (a->server != NULL)
		snprintf(conf->server, sizeof(conf->server), "%s", a->server);
	if (a->serial != NULL)
		snprintf(conf->serial, sizeof(conf->serial), "%s", a->serial);
	if (conf->server[0] == '\0' || strncmp(conf->server, "https://", 8) != 0) {
		fprintf(stderr, "enroll: give the server as --server https://HOST:PORT "
		        "or set server in %s\n", conf->path);
		return TE_ERR_INVALID;
	}
	if (conf->serial[0] == '\0') {
		fprintf(stderr, "enroll: give the device serial with --serial or set "
		        "serial in %s\n", conf->path);
		return TE_ERR_INVALID;
	}
	if (agentconf_proxy(conf, conf->server) != NULL) {
		char desc[HTTPPROXY_HOST_BYTES + 16];

		if (httpproxy_describe(agentconf_proxy(conf, conf->server), desc,
		                       sizeof(desc)) != 0) {
			fprintf(stderr, "enroll: HTTPS_PROXY must be "
			        "http://[user:pass@]host:port\n");
			return TE_ERR_INVALID;
		}
		fprintf(stderr, "enroll: using proxy %s\n", desc);
	}
	if (enroll_normalize_fingerprint(a->ca_fingerprint, fp) != 0) {
		fprintf(stderr, "enroll: --ca-fingerprint must be the 64 hex digits of "
		        "the CA's SHA-256 fingerprint (from `tether-server init`)\n");
		return TE_ERR_INVALID;
	}
	if (mkdir(conf->state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "enroll: cannot create %s: %s\n", conf->state_dir,
		        strerror(errno));
		return TE_ERR_SYS;
	}
	if (chmod(conf->state_dir, 0700) != 0) {
		fprintf(stderr, "enroll: %s: %s\n", conf->state_dir, strerror(errno));
		return TE_ERR_SYS;
	}
	return 0;
}

int enroll_run(struct agent_conf *conf, const struct enroll_args *a)
{
	char fp[65], *ca_pem = NULL, *csr = NULL, *hostkey = NULL;
	const char *cert, *tpub;
	EVP_PKEY *key = NULL;
	json_t *resp = NULL;
	int rc;

	if ((rc = enroll_prepare(conf, a, fp)) != 0)
		return rc;
	if ((rc = enroll_fetch_ca(conf->server, agentconf_proxy(conf, conf->server),
	                           fp, &ca_pem)) != 0)
		goto out;
	if ((rc = pki_key_new(&key)) != 0 ||
	    (rc = pki_csr_new(key, PKI_ROLE_DEVICE, conf->serial, &csr)) != 0 ||
	    (rc = enroll_ssh_hostkey(conf, &hostkey)) != 0) {
		fprintf(stderr, "enroll: cannot generate keys: %s\n", te_strerror(rc));
		goto out;
	}
	if ((rc = enroll_post(conf, a->token, ca_pem, csr, hostkey, &resp)) != 0)
		goto out;
	cert = json_string_value(json_object_get(resp, "certificate"));
	tpub = json_string_value(json_object_get(resp, "ticket_pubkey"));
	if (cert == NULL || tpub == NULL) {
		fprintf(stderr, "enroll: the server's answer lacks certificate or "
		        "ticket_pubkey\n");
		rc = TE_ERR_PROTOCOL;
		goto out;
	}
	if ((rc = enroll_store(conf, key, cert, ca_pem, tpub)) != 0) {
		fprintf(stderr, "enroll: cannot store the identity in %s: %s\n",
		        conf->state_dir, te_strerror(rc));
		goto out;
	}
	if ((rc = enroll_checkpoint_pub(conf, resp)) != 0)
		goto out;
	if ((rc = enroll_password(conf, a->password_file)) != 0)
		goto out;
	agentaudit_log(conf, "agent", "enrolled", "serial %s server %s ca %s",
	               conf->serial, conf->server, fp);
	printf("enrolled %s with %s; state in %s\n", conf->serial, conf->server,
	       conf->state_dir);
out:
	json_decref(resp);
	EVP_PKEY_free(key);
	free(ca_pem);
	free(csr);
	free(hostkey);
	return rc;
}

/* diag.c: run a predefined diagnostic without a shell, started by the
 * agent's monitor (spawn.h). */

#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"
#include "monitor.h"

struct diag {
	struct spawn_handle child;
	int fd;
	time_t deadline;
	EVP_MD_CTX *md;
	unsigned long long bytes;
};

int diag_spawn_output(const struct agent_conf *conf, const struct agent_diag *d,
                      uint32_t kind, const char *session, int with_stderr, int in_fd,
                      struct spawn_handle *h, int *out_fd, char *why, size_t whysz)
{
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	struct spawn_req *req;
	int p[2] = { -1, -1 }, fds[3], devnull = -1, rc = TE_ERR_SYS;

	*out_fd = -1;
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return TE_ERR_NOMEM;
	}
	agentconf_diag_argv(d, argv);
	req->kind = kind;
	req->nfds = 3;
	snprintf(req->session, sizeof(req->session), "%s", session);
	for (req->argc = 0; argv[req->argc] != NULL; req->argc++)
		snprintf(req->argv[req->argc], sizeof(req->argv[0]), "%s", argv[req->argc]);
	if (pipe2(p, O_CLOEXEC) != 0 || (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(why, whysz, "cannot make a pipe: %s", strerror(errno));
		goto out;
	}
	/* stdin in_fd or /dev/null; stdout into the pipe, stderr too (in
	 * order) or not. */
	fds[0] = in_fd >= 0 ? in_fd : devnull;
	fds[1] = p[1];
	fds[2] = with_stderr ? p[1] : devnull;
	memset(h, 0, sizeof(*h));
	h->status_fd = -1;
	if ((rc = monitor_spawn(conf, req, fds, h, why, whysz)) != 0)
		goto out;
	*out_fd = p[0];
	p[0] = -1;
	fcntl(*out_fd, F_SETFL, fcntl(*out_fd, F_GETFL) | O_NONBLOCK);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (devnull >= 0)
		close(devnull);
	free(req);
	return rc;
}

int diag_start(const struct agent_conf *conf, const struct agent_diag *d,
               const char *session, struct diag **out, char *why, size_t whysz)
{
	struct diag *dg;
	int rc;

	*out = NULL;
	if ((dg = calloc(1, sizeof(*dg))) == NULL || (dg->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(dg->md, EVP_sha256(), NULL) != 1) {
		snprintf(why, whysz, "out of memory");
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	if ((rc = diag_spawn_output(conf, d, SPAWN_KIND_DIAG, session, 1, -1, &dg->child, &dg->fd,
	                            why, whysz)) != 0)
		goto fail;
	dg->deadline = time(NULL) + DIAG_MAX_RUNTIME_S;
	*out = dg;
	return 0;
fail:
	if (dg != NULL)
		EVP_MD_CTX_free(dg->md);
	free(dg);
	return rc;
}

int diag_fd(const struct diag *dg)
{
	return dg->fd;
}

void diag_account(struct diag *dg, const void *data, size_t len)
{
	dg->bytes += len;
	EVP_DigestUpdate(dg->md, data, len);
}

int diag_exited(struct diag *dg)
{
	return monitor_spawn_poll(&dg->child);
}

int diag_overdue(const struct diag *dg, time_t now)
{
	return now >= dg->deadline;
}

void diag_finish(struct diag *dg, struct diag_result *res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	memset(res, 0, sizeof(*res));
	if (!diag_exited(dg))
		res->timed_out = diag_overdue(dg, time(NULL));
	/* The keeper kills its group when it is still running. */
	monitor_spawn_stop(&dg->child);
	res->exit_status = dg->child.exit_status;
	res->output_bytes = dg->bytes;
	if (EVP_DigestFinal_ex(dg->md, md, &mdlen) == 1)
		(void)hex_encode(md, mdlen, res->sha256, sizeof(res->sha256));
	close(dg->fd);
	EVP_MD_CTX_free(dg->md);
	free(dg);
}

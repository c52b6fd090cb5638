/* diag.c: run a predefined diagnostic without a shell. */

#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "childproc.h"
#include "codec.h"
#include "err.h"

#define DIAG_ENV_BYTES (MAX_NAME_BYTES + 32)

struct diag {
	pid_t pid;
	int fd;
	time_t deadline;
	int exited;
	int status;
	EVP_MD_CTX *md;
	unsigned long long bytes;
};

/* The child: only system calls from here to execve. */
static void diag_child(char **argv, char **envp, int out)
{
	int devnull;

	childproc_reset_signals();
	setpgid(0, 0);
	if ((devnull = open("/dev/null", O_RDONLY)) < 0 || dup2(devnull, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	if (chdir("/") != 0)
		_exit(127);
	execve(argv[0], argv, envp);
	(void)!write(2, "tether: cannot run the diagnostic program\n", 42);
	_exit(127);
}

int diag_start(const struct agent_diag *d, const char *session,
               struct diag **out, char *why, size_t whysz)
{
	char *argv[AGENT_DIAG_MAX_ARGS + 1], *envp[3];
	char sess[DIAG_ENV_BYTES];
	struct diag *dg;
	int p[2];

	*out = NULL;
	if ((dg = calloc(1, sizeof(*dg))) == NULL ||
	    (dg->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(dg->md, EVP_sha256(), NULL) != 1) {
		if (dg != NULL)
			EVP_MD_CTX_free(dg->md);
		free(dg);
		snprintf(why, whysz, "out of memory");
		return TE_ERR_NOMEM;
	}
	agentconf_diag_argv(d, argv);
	snprintf(sess, sizeof(sess), "TETHER_SESSION=%s", session);
	envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[1] = sess;
	envp[2] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(why, whysz, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	if ((dg->pid = fork()) < 0) {
		snprintf(why, whysz, "cannot fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (dg->pid == 0)
		diag_child(argv, envp, p[1]);
	/* Both sides set the group, so a kill right away finds it. */
	setpgid(dg->pid, dg->pid);
	close(p[1]);
	dg->fd = p[0];
	fcntl(dg->fd, F_SETFL, fcntl(dg->fd, F_GETFL) | O_NONBLOCK);
	dg->deadline = time(NULL) + DIAG_MAX_RUNTIME_S;
	*out = dg;
	return 0;
fail:
	EVP_MD_CTX_free(dg->md);
	free(dg);
	return TE_ERR_SYS;
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
	if (!dg->exited && waitpid(dg->pid, &dg->status, WNOHANG) == dg->pid)
		dg->exited = 1;
	return dg->exited;
}

int diag_overdue(const struct diag *dg, time_t now)
{
	return now >= dg->deadline;
}

void diag_finish(struct diag *dg, struct diag_result *res)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int status = 0;

	memset(res, 0, sizeof(*res));
	if (diag_exited(dg)) {
		status = dg->status;
	} else {
		res->timed_out = diag_overdue(dg, time(NULL));
		kill(-dg->pid, SIGKILL);
		kill(dg->pid, SIGKILL);
		while (waitpid(dg->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) :
	                   WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
	res->output_bytes = dg->bytes;
	if (EVP_DigestFinal_ex(dg->md, md, &mdlen) == 1)
		(void)hex_encode(md, mdlen, res->sha256, sizeof(res->sha256));
	close(dg->fd);
	EVP_MD_CTX_free(dg->md);
	free(dg);
}

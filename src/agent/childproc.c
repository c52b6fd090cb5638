/* childproc.c: signal state of a freshly forked child before execve. */

#include "childproc.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

void childproc_reset_signals(void)
{
	static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGCHLD };
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void childproc_die_with(pid_t parent, int sig, int code)
{
	prctl(PR_SET_PDEATHSIG, sig);
	if (getppid() != parent)
		_exit(code);
}

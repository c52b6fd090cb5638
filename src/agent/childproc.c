/* childproc.c: signal state of a freshly forked child before execve. */

#include "childproc.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

void childproc_reset_signals(void)
{
	static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP };
	struct rlimit rl;
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
	/* The monitor raised its soft descriptor limit (fdlimit.h); a program
	 * that uses select() expects at most FD_SETSIZE, as systemd gives it. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > CHILDPROC_NOFILE) {
		rl.rlim_cur = rl.rlim_max < CHILDPROC_NOFILE ? rl.rlim_max : CHILDPROC_NOFILE;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void childproc_die_with(pid_t parent, int sig, int code)
{
	prctl(PR_SET_PDEATHSIG, sig);
	if (getppid() != parent)
		_exit(code);
}

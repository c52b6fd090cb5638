/* signer_sandbox.c: the signer's seccomp allowlist, installed once its keys
 * are loaded and it has dropped privileges. From then on it only needs to
 * read and write its socket and stderr, allocate memory, read the clock and
 * the kernel's randomness, and exit; every other system call (open, exec,
 * socket, connect, ptrace, fork, kill, ...) fails with EPERM. EPERM rather
 * than a kill: a sanitizer or libc path that needs one more call then
 * fails visibly in the log instead of taking the server down. A foreign
 * architecture is killed outright (its numbers mean other calls). */
#include "signer_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "err.h"
#include "log.h"

#if defined(__x86_64__)
#define SIGNER_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SIGNER_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define SIGNER_ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int signer_sandbox(void)
{
#ifdef SIGNER_AUDIT_ARCH
	static const struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGNER_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		SIGNER_ALLOW(__NR_read), SIGNER_ALLOW(__NR_write), SIGNER_ALLOW(__NR_writev),
		SIGNER_ALLOW(__NR_recvfrom), SIGNER_ALLOW(__NR_recvmsg),
		SIGNER_ALLOW(__NR_sendto), SIGNER_ALLOW(__NR_sendmsg),
		SIGNER_ALLOW(__NR_close), SIGNER_ALLOW(__NR_exit), SIGNER_ALLOW(__NR_exit_group),
		SIGNER_ALLOW(__NR_brk), SIGNER_ALLOW(__NR_mmap), SIGNER_ALLOW(__NR_munmap),
		SIGNER_ALLOW(__NR_mremap), SIGNER_ALLOW(__NR_madvise), SIGNER_ALLOW(__NR_mprotect),
		SIGNER_ALLOW(__NR_futex), SIGNER_ALLOW(__NR_getrandom),
		SIGNER_ALLOW(__NR_clock_gettime), SIGNER_ALLOW(__NR_gettimeofday),
		SIGNER_ALLOW(__NR_rt_sigreturn), SIGNER_ALLOW(__NR_rt_sigprocmask),
		SIGNER_ALLOW(__NR_sigaltstack), SIGNER_ALLOW(__NR_getpid), SIGNER_ALLOW(__NR_gettid),
		SIGNER_ALLOW(__NR_sched_yield), SIGNER_ALLOW(__NR_fstat),
		SIGNER_ALLOW(__NR_newfstatat), SIGNER_ALLOW(__NR_lseek),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	const struct sock_fprog prog = {
		(unsigned short)(sizeof(filter) / sizeof(filter[0])), (struct sock_filter *)filter
	};

	/* NO_NEW_PRIVS is set by privdrop_to already; say it again for the
	 * unprivileged case, where seccomp needs it. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		log_error("signer: cannot install the seccomp filter: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	return 0;
#else
	log_warn("signer: no seccomp filter for this architecture");
	return 0;
#endif
}

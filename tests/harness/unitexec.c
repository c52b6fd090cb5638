/* unitexec.c: apply a systemd unit's RestrictNamespaces=, NoNewPrivileges=
 * and CapabilityBoundingSet= to this process, then exec a command (see
 * README.md). A test tool: it exits 2 on anything it does not understand
 * rather than run the command less confined than the unit says. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNIT_LINE_BYTES 1024
#define UNIT_MAX_SETS   8

struct unit {
	char restrict_ns[UNIT_LINE_BYTES];
	char nnp[UNIT_LINE_BYTES];
	char capbset[UNIT_LINE_BYTES];
	int has_restrict, has_nnp, has_capbset;
};

static const struct { const char *name; unsigned long flag; } ns_names[] = {
	{ "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
	{ "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "user", CLONE_NEWUSER },
	{ "uts", CLONE_NEWUTS },
};
#define NS_ALL (CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | \
                CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWUTS)

/* Capability names in number order (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

static void die(const char *what)
{
	fprintf(stderr, "unitexec: %s\n", what);
	exit(2);
}

static void set_key(struct unit *u, const char *line)
{
	const char *v = strchr(line, '=');
	size_t n = v != NULL ? (size_t)(v - line) : 0;

	if (v == NULL)
		return;
	v++;
	if (strlen(v) >= UNIT_LINE_BYTES)
		die("a directive is too long");
	if (n == strlen("RestrictNamespaces") && strncmp(line, "RestrictNamespaces", n) == 0)
		strcpy(u->restrict_ns, v), u->has_restrict = 1;
	else if (n == strlen("NoNewPrivileges") && strncmp(line, "NoNewPrivileges", n) == 0)
		strcpy(u->nnp, v), u->has_nnp = 1;
	else if (n == strlen("CapabilityBoundingSet") &&
	         strncmp(line, "CapabilityBoundingSet", n) == 0)
		strcpy(u->capbset, v), u->has_capbset = 1;
}

static void read_unit(const char *path, struct unit *u)
{
	char line[UNIT_LINE_BYTES + 64];
	FILE *f = fopen(path, "r");
	int i;

	if (f == NULL)
		die("cannot open the unit file");
	for (i = 0; i < 1000 && fgets(line, sizeof(line), f) != NULL; i++) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '#' && line[0] != ';')
			set_key(u, line);
	}
	fclose(f);
}

/* The namespace flags the list allows. */
static unsigned long allowed_ns(const char *v)
{
	char buf[UNIT_LINE_BYTES], *tok, *save = NULL;
	unsigned long mask = 0;
	int invert = 0;
	size_t i;

	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		return 0;
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || v[0] == '\0')
		return NS_ALL;
	if (v[0] == '~')
		invert = 1, v++;
	snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(buf) - 1, v);
	for (tok = strtok_r(buf, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		for (i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++)
			if (strcmp(tok, ns_names[i].name) == 0)
				break;
		if (i == sizeof(ns_names) / sizeof(ns_names[0]))
			die("unknown namespace type in RestrictNamespaces=");
		mask |= ns_names[i].flag;
	}
	return invert ? NS_ALL & ~mask : mask;
}

#define LOAD_NR    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LOAD_ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define RET(v)     BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e)   RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* The filter systemd's RestrictNamespaces= installs, in outline. Flags are
 * in the low 32 bits of the argument, where seccomp_data has them first on
 * little-endian machines. */
static void restrict_namespaces(unsigned long allowed)
{
	unsigned int forbidden = (unsigned int)(NS_ALL & ~allowed);
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		/* 2 */ RET(SECCOMP_RET_KILL_PROCESS),
		/* 3 */ LOAD_NR,
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		/* 5 */ ERRNO(ENOSYS),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 3, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 2, 0),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setns, 5, 0),
		/* 9 */ RET(SECCOMP_RET_ALLOW),
		/* 10: unshare, clone: the flags are argument 0 */
		LOAD_ARG(0),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, forbidden, 0, 1),
		/* 12 */ ERRNO(EPERM),
		/* 13 */ RET(SECCOMP_RET_ALLOW),
		/* 14: setns: the type is argument 1, and 0 means any type */
		LOAD_ARG(1),
		/* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		/* 16 */ RET(forbidden != 0 ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_ALLOW),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, forbidden, 0, 1),
		/* 18 */ ERRNO(EPERM),
		/* 19 */ RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		die("cannot install the seccomp filter");
}

/* Drop every capability the list does not name from the bounding set. */
static void bound_capabilities(const char *v)
{
	char buf[UNIT_LINE_BYTES], *tok, *save = NULL;
	int keep[64] = { 0 }, i, last = NCAPS - 1;
	FILE *f;

	snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(buf) - 1, v);
	if (buf[0] == '~')
		die("an inverted CapabilityBoundingSet= is not supported here");
	for (tok = strtok_r(buf, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		for (i = 0; i < NCAPS && strcmp(tok, cap_names[i]) != 0; i++)
			;
		if (i == NCAPS)
			die("unknown capability in CapabilityBoundingSet=");
		keep[i] = 1;
	}
	if ((f = fopen("/proc/sys/kernel/cap_last_cap", "r")) != NULL) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last >= 64)
			last = NCAPS - 1;
		fclose(f);
	}
	for (i = 0; i <= last; i++)
		if (!keep[i] && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) != 0 && errno != EINVAL)
			die("cannot drop a capability from the bounding set");
}

int main(int argc, char **argv)
{
	struct unit u;
	char line[UNIT_LINE_BYTES + 64];
	int i, nsets = 0;

	memset(&u, 0, sizeof(u));
	if (argc < 4)
		die("usage: unitexec UNIT [--set Key=Value]... -- COMMAND [ARG]...");
	read_unit(argv[1], &u);
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--set") != 0 || i + 1 >= argc || ++nsets > UNIT_MAX_SETS)
			die("usage: unitexec UNIT [--set Key=Value]... -- COMMAND [ARG]...");
		snprintf(line, sizeof(line), "%s", argv[++i]);
		set_key(&u, line);
	}
	if (i + 1 >= argc)
		die("no command after --");
	if (u.has_capbset)
		bound_capabilities(u.capbset);
	if (u.has_nnp && strcmp(u.nnp, "yes") == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die("cannot set no_new_privs");
	if (u.has_restrict)
		restrict_namespaces(allowed_ns(u.restrict_ns));
	fprintf(stderr, "unitexec: RestrictNamespaces=%s NoNewPrivileges=%s "
	        "CapabilityBoundingSet=%s\n", u.has_restrict ? u.restrict_ns : "(unset)",
	        u.has_nnp ? u.nnp : "(unset)", u.has_capbset ? u.capbset : "(unset)");
	execvp(argv[i + 1], argv + i + 1);
	die("cannot exec the command");
	return 2;
}

/* sshrun.h: `tether ssh`, `tether sftp`, `tether diag` and `tether forward`:
 * request a session (ssh asks for "shell", sftp for "files:read" and with
 * --upload "files:write", diag for "diag:NAME", forward for the service;
 * --patient-records adds "patient_records"), wait for the operator's
 * consent, then run OpenSSH's ssh or sftp with `tether connect` as its
 * ProxyCommand and the device's registered host key as the only one trusted.
 * The session is ended when ssh or sftp exits; diag returns the
 * diagnostic's exit status. */
#ifndef TETHER_CLI_SSHRUN_H
#define TETHER_CLI_SSHRUN_H

#include <stddef.h>

#include "cliout.h"
#include "ticket.h"

#define SSHRUN_SUPPORT_USER TICKET_SSH_LOGIN
#define SSHRUN_HOST_PREFIX  "tether-"
#define SSHRUN_MAX_SSH_ARGS 64       /* extra arguments after "--" */
#define SSHRUN_KILL_GRACE_S 5        /* after SIGTERM, before SIGKILL */
#define SSHRUN_MAX_ACTIONS  4        /* actions one command asks for */

int sshrun_ssh_main(const struct cli *cli, int argc, char **argv);
int sshrun_forward_main(const struct cli *cli, int argc, char **argv);
int sshrun_sftp_main(const struct cli *cli, int argc, char **argv);
int sshrun_diag_main(const struct cli *cli, int argc, char **argv);

/* Remove every FLAG before "--" from argv (argc updated); 1 when found. */
int sshrun_take_flag(int *argc, char **argv, const char *flag);

/* Parse forward's "LOCALPORT:SERVICE" (port 1..65535 in decimal digits, a
 * service name as cliargs_check_name). On failure errbuf says what is wrong
 * and TE_ERR_INVALID is returned. */
int sshrun_parse_forward_spec(const char *spec, int *port, char *service,
                              size_t servicesz, char *errbuf, size_t errsz);

/* The ProxyCommand for ssh: "'<exe>' connect <id>", quoted for /bin/sh and
 * with '%' doubled for ssh's token expansion. */
int sshrun_proxy_command(const char *exe, const char *id, char *out,
                         size_t outsz);

/* 0 when 127.0.0.1:port can be listened on now; TE_ERR_EXISTS when it is
 * in use, TE_ERR_SYS when refused otherwise (a port below 1024). */
int sshrun_port_free(int port);

/* 1 when the CPU has AES instructions (the "aes" flag in /proc/cpuinfo).
 * Then AES-GCM costs less CPU per byte than ssh's first choice,
 * ChaCha20-Poly1305: ssh gets Ciphers=SSHRUN_AES_FIRST ("^" puts these
 * first and keeps the rest of ssh's list), and so does `tether ssh-config`. */
int sshrun_cpu_aes(void);
#define SSHRUN_AES_FIRST "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"

#endif

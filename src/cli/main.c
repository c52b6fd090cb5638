/* main.c: tether, the command line for support specialists. Global options,
 * then dispatch to one command; each command returns its exit code. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "advisories.h"
#include "approvals.h"
#include "cliout.h"
#include "cmdhelp.h"
#include "connect.h"
#include "deploy.h"
#include "devices.h"
#include "files.h"
#include "queue.h"
#include "records.h"
#include "repo.h"
#include "enroll.h"
#include "log.h"
#include "login.h"
#include "mfa.h"
#include "password.h"
#include "clistate.h"
#include "secret.h"
#include "session.h"
#include "playcmd.h"
#include "sessions.h"
#include "visit.h"
#include "site.h"
#include "sshrun.h"

static const char usage_text[] =
	"usage: tether [--json] [--profile NAME] COMMAND ...\n"
	"\n"
	"  enroll --server URL --ca FILE --user NAME [--proxy URL]\n"
	"                        first use of an account: the one-time enrollment\n"
	"                        code from your administrator (TETHER_ENROLL_CODE,\n"
	"                        the terminal or the first line on stdin), then your\n"
	"                        new password (TETHER_PASSWORD, the terminal or the\n"
	"                        next line); then run mfa enroll and mfa confirm\n"
	"  login [--server URL --ca FILE --user NAME] [--proxy URL]\n"
	"        [--totp CODE | --recovery-code CODE]\n"
	"                        log in (password from TETHER_PASSWORD, the\n"
	"                        terminal, or one line on stdin; the one-time\n"
	"                        code from TETHER_TOTP, the terminal, the next line\n"
	"                        on stdin or --totp);\n"
	"                        --proxy http://[user:pass@]host:port is kept for\n"
	"                        every later command, else HTTPS_PROXY/NO_PROXY apply\n"
	"  renew [--totp CODE | --recovery-code CODE]\n"
	"                        a new login with the one-time code alone (no\n"
	"                        password), within the server's renewal limit\n"
	"                        (login_renew_max_s, 8 h by default) after the\n"
	"                        password login\n"
	"  mfa enroll            start TOTP enrollment: QR code, URI and secret\n"
	"  mfa confirm [CODE]    finish it with the first code (else TETHER_TOTP,\n"
	"                        the terminal or stdin); prints the 10\n"
	"                        one-time recovery codes once\n"
	"  password              change your password (current from TETHER_PASSWORD,\n"
	"                        new from TETHER_NEW_PASSWORD, else prompts or\n"
	"                        two lines on stdin); revokes your other logins\n"
	"  logout                revoke the login and forget the token\n"
	"  devices [--site S] [--product P] [--health H] [--error CODE]\n"
	"          [--below COMP:VER] [--not-seen DUR] [--sort KEY]\n"
	"                        list devices, filtered and sorted (devices --help)\n"
	"  devices show DEVICE   one device: its status, error history, versions,\n"
	"                        recent sessions, services, diagnostics, file areas\n"
	"  files list DEVICE     the data files collected from DEVICE\n"
	"  files get ID -o PATH  fetch one, checked by SHA-256\n"
	"  records list [--device D] [--site S] [--specialist U] [--since DATE]\n"
	"               [--until DATE] [--format table|csv|json]\n"
	"                        service records, one per session\n"
	"  records show ID       one service record\n"
	"  queue add KIND NAME (DEVICE... | --site S | --product P | --health H |\n"
	"                        --error CODE | --below COMP:VER | --not-seen DUR)\n"
	"                        --reason TEXT [--values FILE] [--not-before WHEN]\n"
	"                        [--not-after WHEN] [--window \"mon-fri 02:00-04:00\"]\n"
	"                        the maintenance queue: run the device's diag.NAME,\n"
	"                        collect.NAME or config.NAME (KIND diag, collect or\n"
	"                        config; config takes --values FILE, - for stdin: the\n"
	"                        new values on its stdin), or install a release of the\n"
	"                        repository (KIND install, NAME its target, such as\n"
	"                        injector/injector-fw-2.1.0.raucb), once approved and\n"
	"                        inside the site's windows; WHEN: now, +2h, +3d,\n"
	"                        YYYY-MM-DDTHH:MM (UTC) or unix seconds; not-after: 7\n"
	"                        days by default\n"
	"  deploy create TARGET (DEVICE... | --site S | --product P | --health H |\n"
	"                        --error CODE | --below COMP:VER | --not-seen DUR)\n"
	"                        --reason TEXT [--waves 1,10,50,100] [--max-failures PCT]\n"
	"                        [--window \"mon-fri 02:00-04:00\"]\n"
	"                        roll a published release out in waves: each wave's\n"
	"                        installs are maintenance-queue activities (change\n"
	"                        control, windows, approval apply); the next wave starts\n"
	"                        when one has ended; it halts by itself when a wave's\n"
	"                        failures pass PCT (10 by default)\n"
	"  deploy status [ID] [--once]\n"
	"                        deployments, or one's progress per wave (followed live on\n"
	"                        a terminal while it runs)\n"
	"  deploy pause ID --reason TEXT | deploy resume ID --reason TEXT\n"
	"                        hold the next wave back; go on (also after a halt)\n"
	"  deploy abort ID --reason TEXT\n"
	"                        stop it, and cancel the installs that have not started\n"
	"  queue list [--device D] [--site S] [--state STATE] [--batch ID]\n"
	"  queue show ID         an activity: state, why, output, exit status, files\n"
	"  queue cancel ID --reason TEXT | queue retry ID [--not-after WHEN]\n"
	"  repo keygen KEYFILE   an Ed25519 key for a repository role (KEYFILE, 0600,\n"
	"                        and KEYFILE.pub); made and kept on your machine\n"
	"  repo init DIR --root-key K[,K] --targets-key K --snapshot-key K\n"
	"            --timestamp-key K [--root-threshold N] [--targets-threshold N]\n"
	"            [--expires DAYS]\n"
	"                        a software repository's root and targets, version 1\n"
	"                        (snapshot and timestamp keys: the server's online ones)\n"
	"  repo root DIR [the same options]\n"
	"                        the next root version (keys rotated, thresholds, a new\n"
	"                        expiry); sign it with the new and the old root keys\n"
	"  repo delegate DIR ROLE --key K[,K] --paths 'FAMILY/*' [--threshold N]\n"
	"                        a product family's release managers may sign inside\n"
	"                        their paths only\n"
	"  repo add DIR FILE --name FAMILY/FILE --product P --hardware H[,H]\n"
	"           --component C --version V --counter N [--sbom FILE] [--role ROLE]\n"
	"                        a target with its custom data; the release counter of\n"
	"                        a component never goes down\n"
	"  repo sign DIR ROLE --key KEYFILE[,KEYFILE]\n"
	"  repo status DIR       each role's version, expiry, signatures and state\n"
	"  repo publish DIR      upload the signed roles and the files they list to the\n"
	"                        server, which checks every signature and hash before\n"
	"                        devices see them (needs repo:publish; release_manager)\n"
	"  advisories [--format table|csv|json]\n"
	"                        imported OSV advisories affecting the fleet: device,\n"
	"                        site and customer, found by reported versions or a\n"
	"                        release's SBOM, and the published release fixing each\n"
	"  session request DEVICE --reason TEXT [--service NAME]... [--shell]\n"
	"                        [--files read|write] [--diag NAME]... [--patient-records]\n"
	"                        [--escalation]\n"
	"  session status ID | session wait ID [--timeout S] | session end ID\n"
	"  sessions              your open sessions and your most recent ones\n"
	"  play SESSION [--speed X] [--max-idle S] | play --file PATH\n"
	"                        replay a session's shell recordings (kept on the\n"
	"                        server once it ended), checked by SHA-256; --json lists\n"
	"  connect SESSION|DEVICE.tether\n"
	"                        relay tunnel on stdin/stdout (ssh ProxyCommand);\n"
	"                        DEVICE.tether: your open session on DEVICE\n"
	"  ssh-config            the ~/.ssh/config entry for plain ssh, scp and sftp\n"
	"                        to DEVICE.tether through your open session there\n"
	"  ssh DEVICE [--reason TEXT] [--patient-records] [--escalation] [-- ssh args...]\n"
	"  sftp DEVICE [--reason TEXT] [--upload] [--patient-records] [--escalation]\n"
	"                        [-- sftp args...]\n"
	"  diag DEVICE NAME [--reason TEXT]   run the device's diagnostic NAME\n"
	"  forward DEVICE LOCALPORT:SERVICE [--reason TEXT]\n"
	"                        with --reason: a new session, ended afterwards;\n"
	"                        without: your open session on DEVICE (no new consent)\n"
	"  approvals list        session requests and activities waiting for the customer\n"
	"  approvals approve ID | approvals refuse ID --reason TEXT\n"
	"  site list             customer sites, their switch and approval setting\n"
	"  site off SITE --reason TEXT | site on SITE [--reason TEXT]\n"
	"                        remote service off (ends active sessions) or on\n"
	"  site approval SITE none|escalations|all\n"
	"                        which sessions need the customer's approval\n"
	"  site change-control SITE [--mode none|approval] [--kinds K] [--windows SPEC]\n"
	"                        [--timezone TZ]   the maintenance queue's change control\n"
	"\n"
	"--json prints machine-readable JSON on stdout. The login is kept in\n"
	"$TETHER_HOME/cli.json (default ~/.config/tether), the profile \"default\";\n"
	"--profile NAME (or TETHER_PROFILE) keeps another in cli-NAME.json. Once\n"
	"logged in, `tether login` alone logs in again to the same server, CA and\n"
	"user.\n"
	"Exit status: 0 ok, 1 failed or refused, 2 usage error, 3 the password\n"
	"was right but the account setup (TOTP enrollment or a new password) must\n"
	"be finished first: run the commands printed.\n";

/* jansson holds tokens, tickets and the password while we parse and build
 * bodies; wipe every block it frees. */
static void main_json_free(void *p)
{
	if (p == NULL)
		return;
	secret_wipe(p, malloc_usable_size(p));
	free(p);
}

static const struct {
	const char *name;
	int (*fn)(const struct cli *, int, char **);
} main_cmds[] = {
	{ "enroll", enroll_main },
	{ "login", login_main },
	{ "logout", logout_main },
	{ "renew", renew_main },
	{ "mfa", mfa_main },
	{ "password", password_main },
	{ "devices", devices_main },
	{ "session", session_main },
	{ "sessions", sessions_main },
	{ "play", playcmd_main },
	{ "files", files_main },
	{ "records", records_main },
	{ "queue", queue_main },
	{ "repo", repo_main },
	{ "advisories", advisories_main },
	{ "deploy", deploy_main },
	{ "connect", connect_main },
	{ "ssh-config", visit_ssh_config_main },
	{ "ssh", sshrun_ssh_main },
	{ "forward", sshrun_forward_main },
	{ "sftp", sshrun_sftp_main },
	{ "diag", sshrun_diag_main },
	{ "approvals", approvals_main },
	{ "site", site_main },
};

int main(int argc, char **argv)
{
	struct cli cli = { .json = 0 };
	int i = 1, rc;
	size_t k;

	json_set_alloc_funcs(malloc, main_json_free);
	log_init("tether", LOG_LVL_WARN);
	/* A closed pipe (ssh gone) must be an error return, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TETHER_PROFILE") != NULL && getenv("TETHER_PROFILE")[0] != '\0' &&
	    clistate_set_profile(getenv("TETHER_PROFILE")) != 0) {
		cliout_usage("TETHER_PROFILE must be a profile name of [A-Za-z0-9._-]");
		return CLI_EXIT_USAGE;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli.json = 1;
		} else if (strcmp(argv[i], "--profile") == 0) {
			if (i + 1 >= argc || clistate_set_profile(argv[i + 1]) != 0) {
				cliout_usage("--profile needs a name of [A-Za-z0-9._-] (1-63 characters)");
				return CLI_EXIT_USAGE;
			}
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--commands") == 0) {
			cmdhelp_list("tether", usage_text, stdout);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tether %s\n", TETHER_VERSION);
			return CLI_EXIT_OK;
		} else {
			cliout_usage("unknown option '%s'", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if ((rc = cmdhelp_main("tether", usage_text, "tether(1)", argc - i, argv + i)) >= 0)
		return rc;
	for (k = 0; k < sizeof(main_cmds) / sizeof(main_cmds[0]); k++)
		if (strcmp(argv[i], main_cmds[k].name) == 0)
			return main_cmds[k].fn(&cli, argc - i - 1, argv + i + 1);
	cliout_usage("unknown command '%s'", argv[i]);
	return CLI_EXIT_USAGE;
}

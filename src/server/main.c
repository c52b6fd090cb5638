/* main.c: tether-server subcommand dispatch. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

#include "admin.h"
#include "admin_life.h"
#include "cmdhelp.h"
#include "admin_user.h"
#include "admin_notify.h"
#include "deploy.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "text.h"

static const char usage[] =
	"usage:\n"
	"  tether-server init DIR [--host NAME] [--listen ADDR:PORT]\n"
	"  tether-server relay add NAME --host HOST --device-port P --client-port P\n"
	"                [--csr FILE] [--state-dir /var/lib/tether-relay] --dir DIR\n"
	"                (FILE from `tether-relay init` on the relay host, which keeps the\n"
	"                key; without --csr the key is made here: single-host demos, tests;\n"
	"                --state-dir: where the relay writes its audit log, else next to\n"
	"                its config)\n"
	"  tether-server device add SERIAL --customer NAME --product FAMILY --site SITE\n"
	"                --dir DIR\n"
	"                (--customer must be the site's customer; FAMILY one registered\n"
	"                with `product add`, once any is)\n"
	"  tether-server device revoke SERIAL --reason TEXT --dir DIR\n"
	"                (refuses the device's calls and ends its open sessions; it may\n"
	"                enroll again, with a new key, after `device reissue-token`)\n"
	"  tether-server user add NAME --role ROLE [--level 1-3] [--region CC]\n"
	"                (CC: an ISO 3166 country code such as US or DE)\n"
	"                [--site SITE] --dir DIR\n"
	"                (ROLE: specialist, customer_approver, customer_viewer,\n"
	"                release_manager, administrator, auditor; --site for the\n"
	"                customer roles, which it requires)\n"
	"                [--expires 24h]\n"
	"                (prints a one-time enrollment code on stdout, valid --expires\n"
	"                (s, m, h or d; 24h by default): the user runs `tether enroll`\n"
	"                with it, chooses the password, then enrolls TOTP)\n"
	"  tether-server user invite NAME [--expires 24h] --dir DIR\n"
	"                (a new code, replacing an unused one; removes the password\n"
	"                and revokes the user's tokens until it is used)\n"
	"  tether-server user reset-password NAME [--expires 24h] --dir DIR\n"
	"                (the same as invite, for a forgotten password: TOTP stays)\n"
	"  tether-server user unlock NAME [--addr IP] --dir DIR\n"
	"                (clears failed-login counts and locks for NAME, and IP)\n"
	"  tether-server user revoke-tokens NAME --dir DIR\n"
	"  tether-server user reset-mfa NAME --dir DIR\n"
	"                (removes TOTP and recovery codes; the user enrolls again)\n"
	"  tether-server user certify NAME --product FAMILY --until YYYY-MM-DD --dir DIR\n"
	"  tether-server site add NAME --customer NAME --contract-until YYYY-MM-DD\n"
	"                [--approval none|escalations|all] --dir DIR\n"
	"  tether-server site set NAME [--contract-until YYYY-MM-DD]\n"
	"                [--approval none|escalations|all] [--remote on|off --reason TEXT]\n"
	"                [--change-control none|approval] [--kinds diag,collect,config]\n"
	"                [--windows \"mon-fri 02:00-04:00, sat+sun 00:00-24:00\"]\n"
	"                [--timezone Europe/Berlin] --dir DIR\n"
	"                (the maintenance queue's change control: docs/fleet.md)\n"
	"  tether-server site list --dir DIR [--json]\n"
	"  tether-server policy check --dir DIR\n"
	"  tether-server policy show --dir DIR [--json]\n"
	"  tether-server policy default      (prints the default policy.conf)\n"
	"  tether-server run --dir DIR\n"
	"  tether-server audit verify --dir DIR [--checkpoint FILE]\n"
	"                (the chain and its signed checkpoints; FILE: a checkpoint kept by\n"
	"                a device (STATE/checkpoint.json) or a relay (audit.log.checkpoint))\n"
	"  tether-server audit list --dir DIR [--json]\n"
	"  tether-server audit device SERIAL --dir DIR [--json]\n"
	"                (the device's audit anchor; exit 1 when a rollback is on record)\n"
	"  tether-server audit relay NAME --dir DIR [--json]\n"
	"                (the same for a relay's audit log)\n"
	"  tether-server notify list --dir DIR [--json]\n"
	"                (the notifications outbox: state, attempts, next try, last error)\n"
	"  tether-server notify test --dir DIR [--site NAME]\n"
	"                (queue a test notification for the running server to deliver)\n"
	"  tether-server repo keys --dir DIR [--rotate snapshot|timestamp]\n"
	"                (the software repository's online snapshot and timestamp public\n"
	"                keys, for the release managers' tether repo init; --rotate, with\n"
	"                the server stopped, retires a key thought stolen and makes a new\n"
	"                one, which a new root must then name)\n"
	"  tether-server repo publish FOLDER --dir DIR\n"
	"                (add a release manager's tether repo folder: new roots, targets,\n"
	"                delegated roles and their files, each checked; the running server\n"
	"                then signs a new snapshot and timestamp)\n"
	"  tether-server repo bundle TARGET --output FILE --dir DIR\n"
	"                (an offline bundle for a USB stick: the served metadata and the\n"
	"                release TARGET, for tether-agent install on a device without a\n"
	"                network; audited repo_bundled)\n"
	"  tether-server advisories import FILE --dir DIR\n"
	"                (OSV vulnerability advisories from a file: one, an array, or one\n"
	"                per line; all checked before any is kept; no network)\n"
	"  tether-server --version\n";

/* Options after the positional words: "--key value" pairs and flags. */
struct opts {
	const char *host, *listen, *dir, *customer, *product, *role, *region;
	const char *device_port, *client_port, *level, *csr, *reason, *site, *checkpoint,
	            *expires, *state_dir, *output, *rotate;
	int json;
};

static int usage_error(const char *what)
{
	fprintf(stderr, "tether-server: %s\n%s", what, usage);
	admin_life_usage(stderr);
	return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "--host", offsetof(struct opts, host) },
		{ "--listen", offsetof(struct opts, listen) },
		{ "--dir", offsetof(struct opts, dir) },
		{ "--customer", offsetof(struct opts, customer) },
		{ "--product", offsetof(struct opts, product) },
		{ "--role", offsetof(struct opts, role) },
		{ "--region", offsetof(struct opts, region) },
		{ "--device-port", offsetof(struct opts, device_port) },
		{ "--client-port", offsetof(struct opts, client_port) },
		{ "--level", offsetof(struct opts, level) },
		{ "--csr", offsetof(struct opts, csr) },
		{ "--reason", offsetof(struct opts, reason) },
		{ "--site", offsetof(struct opts, site) },
		{ "--checkpoint", offsetof(struct opts, checkpoint) },
		{ "--expires", offsetof(struct opts, expires) },
		{ "--state-dir", offsetof(struct opts, state_dir) },
		{ "--output", offsetof(struct opts, output) },
		{ "--rotate", offsetof(struct opts, rotate) },
	};

	for (int i = 0; i < argc; i++) {
		size_t k;

		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(argv[i], keys[k].name) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			fprintf(stderr, "tether-server: unknown option %s\n", argv[i]);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "tether-server: %s needs a value\n", argv[i]);
			return -1;
		}
		*(const char **)((char *)o + keys[k].off) = argv[++i];
	}
	return 0;
}

static int parse_int(const char *s, int def, int *out)
{
	char *end;
	long v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	struct deploy_opts d = { 0 };
	struct opts o = { 0 };
	char errbuf[512];

	if (argc < 1 || argv[0][0] == '-')
		return usage_error("init needs the deployment directory");
	if (parse_opts(argc - 1, argv + 1, &o) != 0)
		return usage_error("bad options for init");
	d.dir = argv[0];
	d.host = o.host;
	d.listen = o.listen;
	if (deploy_init(&d, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "tether-server: init: %s\n", errbuf);
		return 1;
	}
	return 0;
}

static int cmd_add(const char *what, int argc, char **argv)
{
	struct opts o = { 0 };

	if (argc < 1 || argv[0][0] == '-')
		return usage_error("add needs a name");
	if (parse_opts(argc - 1, argv + 1, &o) != 0)
		return usage_error("bad options");
	if (o.dir == NULL)
		return usage_error("--dir DIR is required");
	if ((o.csr != NULL || o.state_dir != NULL) && strcmp(what, "relay") != 0)
		return usage_error("--csr and --state-dir are only for relay add");
	if (strcmp(what, "relay") == 0) {
		struct admin_relay_opts r = { argv[0], o.host, o.dir, 0, 0, o.csr, o.state_dir };
		if (o.state_dir != NULL && o.state_dir[0] != '/')
			return usage_error("--state-dir must be an absolute folder");
		if (o.host == NULL || o.device_port == NULL || o.client_port == NULL ||
		    parse_int(o.device_port, 0, &r.device_port) != 0 ||
		    parse_int(o.client_port, 0, &r.client_port) != 0)
			return usage_error("relay add needs --host, --device-port and --client-port");
		return admin_relay_add(&r);
	}
	if (strcmp(what, "device") == 0) {
		if (o.customer == NULL || o.product == NULL || o.site == NULL)
			return usage_error("device add needs --customer, --product and --site");
		return admin_device_add(argv[0], o.customer, o.product, o.site, o.dir);
	}
	{
		struct admin_user_opts u = { argv[0], o.role, o.region ? o.region : "", o.dir, 1,
		                             o.site, o.expires };
		if (o.role == NULL)
			return usage_error("user add needs --role");
		if (parse_int(o.level, 1, &u.level) != 0)
			return usage_error("--level must be 1, 2 or 3");
		return admin_user_add(&u);
	}
}

static int cmd_dir_only(int argc, char **argv, struct opts *o)
{
	if (parse_opts(argc, argv, o) != 0)
		return usage_error("bad options");
	if (o->dir == NULL)
		return usage_error("--dir DIR is required");
	return 0;
}

/* The account name of uid, or "uid N" when it has none that can be shown. */
static void admin_user_name(uid_t uid, char *out, size_t outsz)
{
	const struct passwd *pw = getpwuid(uid);

	snprintf(out, outsz, "%s", pw != NULL ? pw->pw_name : "");
	if (out[0] == '\0' || text_check_display(out, outsz, NULL) != 0)
		snprintf(out, outsz, "uid %ld", (long)uid);
}

/* The kernel's audit login uid (/proc/self/loginuid), or -1 when it is
 * unset (4294967295: no login session, e.g. a service or a container). */
static long admin_login_uid(void)
{
	FILE *f = fopen("/proc/self/loginuid", "r");
	unsigned long v = 0;
	int ok;

	if (f == NULL)
		return -1;
	ok = fscanf(f, "%lu", &v) == 1;
	fclose(f);
	return ok && v < 4294967295UL ? (long)v : -1;
}

/* Every audit record an admin command writes names the operating-system
 * account that ran it, the login uid's account when the kernel has one
 * (it survives sudo, su and runuser) and, when set, sudo's SUDO_USER
 * (store.h). */
static void admin_note_origin(void)
{
	const char *sudo = getenv("SUDO_USER");
	long login = admin_login_uid();
	char who[MAX_NAME_BYTES], login_who[MAX_NAME_BYTES];

	admin_user_name(getuid(), who, sizeof(who));
	if (login >= 0)
		admin_user_name((uid_t)login, login_who, sizeof(login_who));
	if (sudo != NULL && text_check_display(sudo, MAX_NAME_BYTES, NULL) != 0)
		sudo = "(not valid text)";
	if (store_audit_set_origin(who, (long)getuid(), sudo, login,
	                           login >= 0 ? login_who : NULL) != 0)
		fprintf(stderr, "tether-server: out of memory\n");
}

/* cmdhelp reads one usage text: the one above and the lifecycle commands
 * (admin_life.c) that `--help` prints after it, so `device list --help`,
 * `--commands` and completion know them too. */
static int help_main(int argc, char **argv)
{
	static char all[sizeof(usage) + 4096];
	FILE *f;
	int rc;

	memcpy(all, usage, sizeof(usage));
	f = fmemopen(all + sizeof(usage) - 1, sizeof(all) - sizeof(usage), "w");
	if (f == NULL) {
		fprintf(stderr, "tether-server: out of memory\n");
		return 1;
	}
	admin_life_usage(f);
	if (fclose(f) != 0 || strlen(all) >= sizeof(all) - 1) {
		fprintf(stderr, "tether-server: usage text too long\n");
		return 1;
	}
	rc = cmdhelp_main("tether-server", all, "tether-server(8)", argc, argv);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc;

	log_init("tether-server", LOG_LVL_INFO);
	if (argc < 2)
		return usage_error("no command given");
	if (strcmp(argv[1], "--version") == 0) {
		printf("tether-server %s\n", TETHER_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		admin_life_usage(stdout);
		return 0;
	}
	if ((rc = help_main(argc - 1, argv + 1)) >= 0)
		return rc;
	if (strcmp(argv[1], "run") != 0)
		admin_note_origin();
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 2, argv + 2);
	if (strcmp(argv[1], "run") == 0)
		return (rc = cmd_dir_only(argc - 2, argv + 2, &o)) != 0 ? rc : server_run(o.dir);
	if (admin_life_handles(argc - 1, argv + 1))
		return admin_life_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "site") == 0 || strcmp(argv[1], "policy") == 0 ||
	    (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "certify") == 0))
		return admin_site_main(argc - 1, argv + 1);
	if (argc >= 3 && strcmp(argv[2], "add") == 0 &&
	    (strcmp(argv[1], "relay") == 0 || strcmp(argv[1], "device") == 0 ||
	     strcmp(argv[1], "user") == 0))
		return cmd_add(argv[1], argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[1], "user") == 0)
		return admin_user_main(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "device") == 0 && strcmp(argv[2], "revoke") == 0) {
		if (argc < 4 || argv[3][0] == '-')
			return usage_error("device revoke needs a serial");
		if ((rc = cmd_dir_only(argc - 4, argv + 4, &o)) != 0)
			return rc;
		if (o.reason == NULL)
			return usage_error("device revoke needs --reason TEXT (it goes to the audit trail)");
		return admin_device_revoke(o.dir, argv[3], o.reason);
	}
	if (argc >= 4 && strcmp(argv[1], "audit") == 0 &&
	    (strcmp(argv[2], "device") == 0 || strcmp(argv[2], "relay") == 0)) {
		if (argv[3][0] == '-')
			return usage_error(argv[2][0] == 'd' ? "audit device needs a serial"
			                                     : "audit relay needs a relay name");
		if ((rc = cmd_dir_only(argc - 4, argv + 4, &o)) != 0)
			return rc;
		return argv[2][0] == 'd' ? admin_audit_device(o.dir, argv[3], o.json)
		                         : admin_audit_relay(o.dir, argv[3], o.json);
	}
	if (argc >= 3 && strcmp(argv[1], "audit") == 0 &&
	    (strcmp(argv[2], "verify") == 0 || strcmp(argv[2], "list") == 0)) {
		if ((rc = cmd_dir_only(argc - 3, argv + 3, &o)) != 0)
			return rc;
		if (o.checkpoint != NULL && strcmp(argv[2], "verify") != 0)
			return usage_error("--checkpoint is only for audit verify");
		return strcmp(argv[2], "verify") == 0 ? admin_audit_verify(o.dir, o.checkpoint)
		                                      : admin_audit_list(o.dir, o.json);
	}
	if (strcmp(argv[1], "notify") == 0)
		return admin_notify_main(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "repo") == 0 && strcmp(argv[2], "publish") == 0) {
		if (argc < 4 || argv[3][0] == '-')
			return usage_error("repo publish needs the release manager's folder");
		if ((rc = cmd_dir_only(argc - 4, argv + 4, &o)) != 0)
			return rc;
		return admin_repo_publish(o.dir, argv[3]);
	}
	if (argc >= 3 && strcmp(argv[1], "advisories") == 0 && strcmp(argv[2], "import") == 0) {
		if (argc < 4 || argv[3][0] == '-')
			return usage_error("advisories import needs an OSV file");
		if ((rc = cmd_dir_only(argc - 4, argv + 4, &o)) != 0)
			return rc;
		return admin_advisories_import(o.dir, argv[3]);
	}
	if (argc >= 3 && strcmp(argv[1], "repo") == 0 && strcmp(argv[2], "bundle") == 0) {
		if (argc < 4 || argv[3][0] == '-')
			return usage_error("repo bundle needs the release's target name");
		if ((rc = cmd_dir_only(argc - 4, argv + 4, &o)) != 0)
			return rc;
		if (o.output == NULL)
			return usage_error("repo bundle needs --output FILE (the bundle to write)");
		return admin_repo_bundle(o.dir, argv[3], o.output);
	}
	if (argc >= 3 && strcmp(argv[1], "repo") == 0 && strcmp(argv[2], "keys") == 0) {
		if ((rc = cmd_dir_only(argc - 3, argv + 3, &o)) != 0)
			return rc;
		return admin_repo_keys(o.dir, o.rotate);
	}
	return usage_error("unknown command");
}

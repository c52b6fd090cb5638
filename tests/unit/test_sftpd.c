/* test_sftpd.c: the SFTP engine, driven with hand-built SFTP v3 packets over
 * a temporary directory tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "err.h"
#include "sftpd.h"
#include "sftppath.h"

enum {
	INIT = 1, VERSION = 2, OPEN = 3, CLOSE = 4, READ = 5, WRITE = 6, LSTAT = 7,
	FSTAT = 8, SETSTAT = 9, OPENDIR = 11, READDIR = 12, REMOVE = 13,
	MKDIR = 14, RMDIR = 15, REALPATH = 16, STAT = 17, RENAME = 18,
	SYMLINK = 20, STATUS = 101, HANDLE = 102, DATA = 103, NAME = 104,
	ATTRS = 105,
};
enum { FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE,
       FX_BAD_MESSAGE, FX_OP_UNSUPPORTED = 8 };
#define F_READ  0x01u
#define F_WRITE 0x02u
#define F_CREAT 0x08u
#define F_TRUNC 0x10u

/* ---- the tree ----------------------------------------------------------------
 * base/root/{hello.txt, sub/a.log, patients/p1.txt, img.dcm,
 *            link_in -> hello.txt, link_out -> base/outside/secret.txt}
 * base/logs/ok.txt, base/logs2/x.txt, base/outside/secret.txt */

static char base[256], root[512], logs[512], patients[512], dcm[512];

static void put_file(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int tree_setup(void **state)
{
	char tmpl[] = "/tmp/test_sftpd.XXXXXX", p[PATH_MAX], t[PATH_MAX], real[PATH_MAX];

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	assert_true(strlen(real) < sizeof(base));
	strcpy(base, real);
	mk("root");
	mk("root/sub");
	mk("root/patients");
	mk("logs");
	mk("logs2");
	mk("outside");
	put_file("root/hello.txt", "hello world\n");
	put_file("root/sub/a.log", "a log line\n");
	put_file("root/patients/p1.txt", "patient one\n");
	put_file("root/img.dcm", "DICM");
	put_file("logs/ok.txt", "ok\n");
	put_file("logs2/x.txt", "not allowed\n");
	put_file("outside/secret.txt", "secret\n");
	snprintf(p, sizeof(p), "%s/root/link_in", base);
	assert_int_equal(symlink("hello.txt", p), 0);
	snprintf(p, sizeof(p), "%s/root/link_out", base);
	snprintf(t, sizeof(t), "%s/outside/secret.txt", base);
	assert_int_equal(symlink(t, p), 0);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(logs, sizeof(logs), "%s/logs", base);
	snprintf(patients, sizeof(patients), "%s/root/patients", base);
	snprintf(dcm, sizeof(dcm), "%s/*.dcm", base);
	return 0;
}

static int tree_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- a client ---------------------------------------------------------------- */

struct client {
	struct sftpd *s;
	uint32_t id;
	json_t *audits;              /* [{"action":..,"detail":{..}}] */
};

struct pkt {
	uint8_t b[MAX_SFTP_PACKET_BYTES + 64];
	size_t n;
};

struct reply {
	uint8_t type;
	uint32_t id;
	uint8_t b[MAX_SFTP_PACKET_BYTES];
	size_t n, off;
};

static void on_audit(void *arg, const char *action, json_t *detail)
{
	struct client *c = arg;

	json_array_append_new(c->audits, json_pack("{s:s,s:o}", "action", action,
	                                           "detail", detail));
}

static void client_open(struct client *c, int write_ok, int patient_ok)
{
	const char *roots[] = { root, logs };
	const char *refuse[] = { patients, dcm };
	struct sftpd_policy pol = { roots, 2, NULL, refuse, 2, write_ok, patient_ok, 0 };

	memset(c, 0, sizeof(*c));
	c->audits = json_array();
	assert_int_equal(sftpd_new(&pol, on_audit, c, &c->s), 0);
}

static void client_close(struct client *c)
{
	sftpd_free(c->s);
	c->s = NULL;
	json_decref(c->audits);
}

static void p_u8(struct pkt *p, uint8_t v) { p->b[p->n++] = v; }

static void p_u32(struct pkt *p, uint32_t v)
{
	p_u8(p, (uint8_t)(v >> 24));
	p_u8(p, (uint8_t)(v >> 16));
	p_u8(p, (uint8_t)(v >> 8));
	p_u8(p, (uint8_t)v);
}

static void p_u64(struct pkt *p, uint64_t v)
{
	p_u32(p, (uint32_t)(v >> 32));
	p_u32(p, (uint32_t)v);
}

static void p_str(struct pkt *p, const void *s, size_t n)
{
	p_u32(p, (uint32_t)n);
	memcpy(p->b + p->n, s, n);
	p->n += n;
}

static void p_cstr(struct pkt *p, const char *s) { p_str(p, s, strlen(s)); }

/* A request: length placeholder, type, fresh id. */
static struct pkt *req(struct client *c, uint8_t type)
{
	static struct pkt p;

	p.n = 0;
	p_u32(&p, 0);
	p_u8(&p, type);
	p_u32(&p, ++c->id);
	return &p;
}

static int send_pkt(struct client *c, struct pkt *p)
{
	uint32_t len = (uint32_t)(p->n - 4);

	p->b[0] = (uint8_t)(len >> 24);
	p->b[1] = (uint8_t)(len >> 16);
	p->b[2] = (uint8_t)(len >> 8);
	p->b[3] = (uint8_t)len;
	return sftpd_input(c->s, p->b, p->n);
}

static uint32_t r_u32(struct reply *r)
{
	uint32_t v;

	assert_true(r->n - r->off >= 4);
	v = ((uint32_t)r->b[r->off] << 24) | ((uint32_t)r->b[r->off + 1] << 16) |
	    ((uint32_t)r->b[r->off + 2] << 8) | r->b[r->off + 3];
	r->off += 4;
	return v;
}

static size_t r_str(struct reply *r, char *out, size_t outsz)
{
	uint32_t n = r_u32(r);

	assert_true(r->n - r->off >= n);
	assert_true(n < outsz);
	memcpy(out, r->b + r->off, n);
	out[n] = '\0';
	r->off += n;
	return n;
}

/* Take the next reply off the engine's output; 0 when there is none. */
static int next_reply(struct client *c, struct reply *r)
{
	const void *data;
	const uint8_t *p;
	size_t have = sftpd_output(c->s, &data);
	uint32_t len;

	if (have == 0)
		return 0;
	assert_true(have >= 9);
	p = data;
	len = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
	assert_true(len + 4 <= have);
	assert_true(len <= sizeof(r->b));
	memcpy(r->b, p + 4, len);
	r->n = len;
	r->off = 0;
	r->type = r->b[0];
	r->off = 1;
	r->id = r_u32(r);
	sftpd_consume(c->s, len + 4);
	return 1;
}

static struct reply *call(struct client *c, struct pkt *p)
{
	static struct reply r;

	assert_int_equal(send_pkt(c, p), 0);
	assert_int_equal(next_reply(c, &r), 1);
	assert_int_equal(r.id, c->id);
	return &r;
}

static uint32_t status_of(struct reply *r, char *msg, size_t msgsz)
{
	char m[512];
	uint32_t code;

	assert_int_equal(r->type, STATUS);
	code = r_u32(r);
	r_str(r, msg != NULL ? msg : m, msg != NULL ? msgsz : sizeof(m));
	return code;
}

static void do_init(struct client *c)
{
	struct pkt p = { .n = 0 };
	struct reply r;

	p_u32(&p, 0);
	p_u8(&p, INIT);
	p_u32(&p, 3);
	assert_int_equal(send_pkt(c, &p), 0);
	assert_int_equal(next_reply(c, &r), 1);
	assert_int_equal(r.type, VERSION);
	assert_int_equal(r.id, 3);   /* the version sits where an id would */
}

static struct reply *path_req(struct client *c, uint8_t type, const char *path)
{
	struct pkt *p = req(c, type);

	p_cstr(p, path);
	return call(c, p);
}

/* OPEN with flags and no attributes; the reply. */
static struct reply *open_req(struct client *c, const char *path, uint32_t flags)
{
	struct pkt *p = req(c, OPEN);

	p_cstr(p, path);
	p_u32(p, flags);
	p_u32(p, 0);
	return call(c, p);
}

/* OPEN; the handle into h (8 bytes) and FX_OK, or the STATUS code. */
static uint32_t sopen(struct client *c, const char *path, uint32_t flags, uint8_t h[8])
{
	struct pkt *p = req(c, OPEN);
	struct reply *r;
	char hs[16];

	p_cstr(p, path);
	p_u32(p, flags);
	p_u32(p, 0);   /* no attributes */
	r = call(c, p);
	if (r->type == STATUS)
		return status_of(r, NULL, 0);
	assert_int_equal(r->type, HANDLE);
	assert_int_equal(r_str(r, hs, sizeof(hs)), 8);
	memcpy(h, hs, 8);
	return FX_OK;
}

static uint32_t handle_req(struct client *c, uint8_t type, const uint8_t h[8])
{
	struct pkt *p = req(c, type);

	p_str(p, h, 8);
	return status_of(call(c, p), NULL, 0);
}

/* READ the whole file through the handle in chunks of 5 bytes. */
static size_t read_all(struct client *c, const uint8_t h[8], char *out, size_t outsz)
{
	struct reply *r;
	struct pkt *p;
	size_t got = 0;

	for (;;) {
		p = req(c, READ);
		p_str(p, h, 8);
		p_u64(p, got);
		p_u32(p, 5);
		r = call(c, p);
		if (r->type == STATUS) {
			assert_int_equal(status_of(r, NULL, 0), FX_EOF);
			return got;
		}
		assert_int_equal(r->type, DATA);
		got += r_str(r, out + got, outsz - got);
	}
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	int i;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* The last audit record: its action and detail. */
static json_t *last_audit(struct client *c, const char *action)
{
	json_t *rec = json_array_get(c->audits, json_array_size(c->audits) - 1);

	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "action")), action);
	return json_object_get(rec, "detail");
}

static void assert_refused(struct client *c, struct reply *r, const char *path,
                           const char *reason)
{
	char msg[512];
	json_t *d;

	assert_int_equal(status_of(r, msg, sizeof(msg)), FX_PERMISSION_DENIED);
	assert_non_null(strstr(msg, "refused"));
	d = last_audit(c, "file_refused");
	assert_string_equal(json_string_value(json_object_get(d, "path")), path);
	assert_string_equal(json_string_value(json_object_get(d, "reason")), reason);
	assert_non_null(json_object_get(d, "op"));
}

static const char *at(const char *rel)
{
	static char p[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", base, rel);
	return p[i];
}

/* ---- tests ------------------------------------------------------------------ */

static void test_new_policy(void **state)
{
	const char *relative[] = { "data/logs" };
	const char *missing[] = { "/nonexistent/tether-sftpd-test", root };
	struct sftpd_policy pol = { relative, 1, NULL, NULL, 0, 0, 0, 0 };
	struct client c = { 0 };
	struct reply *r;
	char name[PATH_MAX];

	assert_int_equal(sftpd_new(&pol, NULL, NULL, &c.s), TE_ERR_INVALID);
	assert_null(c.s);
	/* a missing root is skipped: "." is the first one that exists */
	pol.roots = missing;
	pol.nroots = 2;
	assert_int_equal(sftpd_new(&pol, NULL, NULL, &c.s), 0);
	c.audits = json_array();
	do_init(&c);
	r = path_req(&c, REALPATH, ".");
	assert_int_equal(r->type, NAME);
	assert_int_equal(r_u32(r), 1);
	r_str(r, name, sizeof(name));
	assert_string_equal(name, root);
	client_close(&c);

	/* none exists: every path is refused, with a reason */
	pol.nroots = 1;
	client_open(&c, 0, 0);
	sftpd_free(c.s);
	assert_int_equal(sftpd_new(&pol, on_audit, &c, &c.s), 0);
	do_init(&c);
	assert_refused(&c, path_req(&c, REALPATH, "."), ".", "outside allowlist");
	client_close(&c);
	sftpd_free(NULL);
}

static void test_init_version(void **state)
{
	struct client c;
	struct pkt *p;

	client_open(&c, 0, 0);
	p = req(&c, REALPATH);   /* anything before INIT breaks the protocol */
	p_cstr(p, ".");
	assert_int_equal(send_pkt(&c, p), TE_ERR_PROTOCOL);
	assert_int_equal(sftpd_input(c.s, NULL, 0), TE_ERR_PROTOCOL);
	client_close(&c);

	client_open(&c, 0, 0);
	do_init(&c);
	client_close(&c);
}

static void test_realpath(void **state)
{
	struct client c;
	struct reply *r;
	char name[PATH_MAX];

	client_open(&c, 0, 0);
	do_init(&c);
	r = path_req(&c, REALPATH, ".");
	assert_int_equal(r->type, NAME);
	assert_int_equal(r_u32(r), 1);
	r_str(r, name, sizeof(name));
	assert_string_equal(name, root);

	r = path_req(&c, REALPATH, "sub/../hello.txt");
	assert_int_equal(r->type, NAME);
	assert_int_equal(r_u32(r), 1);
	r_str(r, name, sizeof(name));
	assert_string_equal(name, at("root/hello.txt"));

	r = path_req(&c, REALPATH, "new-upload.bin");   /* not there yet */
	assert_int_equal(r->type, NAME);

	assert_refused(&c, path_req(&c, REALPATH, ".."), base, "outside allowlist");
	client_close(&c);
}

/* REALPATH's one name. */
static void realpath_is(struct client *c, const char *req_path, const char *want)
{
	char name[PATH_MAX];
	struct reply *r = path_req(c, REALPATH, req_path);

	assert_int_equal(r->type, NAME);
	assert_int_equal(r_u32(r), 1);
	r_str(r, name, sizeof(name));
	assert_string_equal(name, want);
}

/* Named areas: the client's "/" lists the areas by name (files.NAME), a
 * path under a name is in that area, REALPATH answers in the names, real
 * paths still work, and nothing else is reachable. */
static void test_named_areas(void **state)
{
	const char *roots[] = { root, "/nonexistent/tether-sftpd-test", logs };
	const char *names[] = { "files", "gone", "logs" };
	const char *refuse[] = { patients, dcm };
	struct sftpd_policy pol = { roots, 3, names, refuse, 2, 1, 0, 0 };
	char name[PATH_MAX], buf[64];
	struct client c;
	struct reply *r;
	struct pkt *p;
	uint8_t h[8];
	char hs[16];
	uint32_t flags, perm;
	json_t *d;

	memset(&c, 0, sizeof(c));
	c.audits = json_array();
	assert_int_equal(sftpd_new(&pol, on_audit, &c, &c.s), 0);
	do_init(&c);
	realpath_is(&c, ".", "/");
	realpath_is(&c, "", "/");
	realpath_is(&c, "/logs/..", "/");
	realpath_is(&c, "/files/sub/../hello.txt", "/files/hello.txt");
	realpath_is(&c, "logs/ok.txt", "/logs/ok.txt");
	realpath_is(&c, at("root/sub/a.log"), "/files/sub/a.log");   /* a real path */

	/* "/" is a read-only folder */
	r = path_req(&c, STAT, "/");
	assert_int_equal(r->type, ATTRS);
	flags = r_u32(r);
	assert_true(flags & 0x4);
	if (flags & 0x1)
		(void)r_u32(r), (void)r_u32(r);   /* size */
	if (flags & 0x2)
		(void)r_u32(r), (void)r_u32(r);   /* uid, gid */
	perm = r_u32(r);
	assert_int_equal(perm, S_IFDIR | 0555);

	/* its listing: the areas that exist, by name */
	r = path_req(&c, OPENDIR, "/");
	assert_int_equal(r->type, HANDLE);
	assert_int_equal(r_str(r, hs, sizeof(hs)), 8);
	memcpy(h, hs, 8);
	p = req(&c, READDIR);
	p_str(p, h, 8);
	r = call(&c, p);
	assert_int_equal(r->type, NAME);
	assert_int_equal(r_u32(r), 2);
	r_str(r, name, sizeof(name));
	assert_string_equal(name, "files");
	r_str(r, name, sizeof(name));   /* longname */
	assert_int_equal(name[0], 'd');
	assert_non_null(strstr(name, " files"));
	p = req(&c, FSTAT);
	p_str(p, h, 8);
	assert_int_equal(call(&c, p)->type, ATTRS);
	p = req(&c, READDIR);
	p_str(p, h, 8);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_EOF);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);

	/* a file by its area's name, relative or absolute, and by its real path;
	 * the audit trail has the real path */
	assert_int_equal(sopen(&c, "/logs/ok.txt", F_READ, h), FX_OK);
	assert_int_equal(read_all(&c, h, buf, sizeof(buf)), 3);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	d = last_audit(&c, "file_read");
	assert_string_equal(json_string_value(json_object_get(d, "path")), at("logs/ok.txt"));
	assert_int_equal(sopen(&c, "files/hello.txt", F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	assert_int_equal(sopen(&c, at("root/hello.txt"), F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	r = path_req(&c, OPENDIR, "/files/sub");
	assert_int_equal(r->type, HANDLE);

	/* nothing outside the areas, nor a new folder at "/" */
	assert_refused(&c, path_req(&c, STAT, "/nosuch/x"), "/nosuch/x", "outside allowlist");
	assert_refused(&c, path_req(&c, STAT, "/gone/x"), "/gone/x", "outside allowlist");
	assert_refused(&c, path_req(&c, STAT, "/logs/../../etc/passwd"),
	               "/etc/passwd", "outside allowlist");
	assert_refused(&c, path_req(&c, STAT, "/logs2/x.txt"), "/logs2/x.txt",
	               "outside allowlist");
	p = req(&c, MKDIR);
	p_cstr(p, "/newarea");
	p_u32(p, 0);
	assert_refused(&c, call(&c, p), "/newarea", "outside allowlist");
	assert_refused(&c, path_req(&c, RMDIR, "/logs"), logs, "allowlisted root");
	assert_refused(&c, path_req(&c, STAT, "/files/patients/p1.txt"),
	               at("root/patients/p1.txt"), "patient data");
	client_close(&c);

	assert_true(sftpd_area_name_ok("logs"));
	assert_false(sftpd_area_name_ok(""));
	assert_false(sftpd_area_name_ok("."));
	assert_false(sftpd_area_name_ok(".."));
	assert_false(sftpd_area_name_ok("a/b"));
}

static void test_read_allowed_and_audited(void **state)
{
	char buf[64], want[65];
	struct client c;
	uint8_t h[8];
	json_t *d;
	struct reply *r;

	client_open(&c, 0, 0);
	do_init(&c);
	assert_int_equal(sopen(&c, "hello.txt", F_READ, h), FX_OK);
	assert_int_equal(read_all(&c, h, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "hello world\n", 12);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	d = last_audit(&c, "file_read");
	sha256_hex("hello world\n", 12, want);
	assert_string_equal(json_string_value(json_object_get(d, "path")),
	                    at("root/hello.txt"));
	assert_int_equal(json_integer_value(json_object_get(d, "bytes")), 12);
	assert_int_equal(json_integer_value(json_object_get(d, "size")), 12);
	assert_string_equal(json_string_value(json_object_get(d, "sha256")), want);

	/* a closed handle is gone */
	assert_int_equal(handle_req(&c, CLOSE, h), FX_FAILURE);

	/* opened and closed without a transfer: still audited, bytes 0 */
	assert_int_equal(sopen(&c, at("logs/ok.txt"), F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	d = last_audit(&c, "file_read");
	assert_int_equal(json_integer_value(json_object_get(d, "bytes")), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "size")), 3);

	/* a link that stays inside the roots is followed */
	assert_int_equal(sopen(&c, "link_in", F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	d = last_audit(&c, "file_read");
	assert_string_equal(json_string_value(json_object_get(d, "path")),
	                    at("root/hello.txt"));

	r = path_req(&c, STAT, "hello.txt");
	assert_int_equal(r->type, ATTRS);
	assert_int_equal(r_u32(r) & 0x5, 0x5);   /* size and permissions */
	r = path_req(&c, STAT, "missing.txt");
	assert_int_equal(status_of(r, NULL, 0), FX_NO_SUCH_FILE);
	client_close(&c);
}

static void test_escapes_refused(void **state)
{
	struct client c;
	struct reply *r;
	uint8_t h[8];
	struct pkt *p;

	client_open(&c, 1, 1);   /* even with every grant */
	do_init(&c);
	assert_refused(&c, open_req(&c, at("outside/secret.txt"), F_READ),
	               at("outside/secret.txt"), "outside allowlist");

	assert_refused(&c, open_req(&c, "../outside/secret.txt", F_READ),
	               at("outside/secret.txt"), "outside allowlist");

	assert_refused(&c, open_req(&c, "sub/../../../../../../etc/passwd", F_READ),
	               "/etc/passwd", "outside allowlist");

	/* the symbolic link resolves outside: refused at its real path */
	assert_refused(&c, open_req(&c, "link_out", F_READ),
	               at("outside/secret.txt"), "outside allowlist");
	assert_refused(&c, path_req(&c, STAT, "link_out"), at("outside/secret.txt"),
	               "outside allowlist");
	assert_refused(&c, path_req(&c, OPENDIR, "/"), "/", "outside allowlist");

	/* component-wise: logs2 is not inside logs */
	assert_int_equal(sopen(&c, at("logs/ok.txt"), F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	assert_refused(&c, open_req(&c, at("logs2/x.txt"), F_READ),
	               at("logs2/x.txt"), "outside allowlist");

	/* writing through the outbound link is refused too */
	assert_refused(&c, open_req(&c, "link_out", F_WRITE | F_CREAT | F_TRUNC),
	               at("outside/secret.txt"), "outside allowlist");

	/* links are neither read nor made */
	p = req(&c, SYMLINK);
	p_cstr(p, "mylink");
	p_cstr(p, "/etc/passwd");
	assert_refused(&c, call(&c, p), "mylink", "symbolic link");
	r = path_req(&c, LSTAT, "link_out");   /* the link itself, inside */
	assert_int_equal(r->type, ATTRS);
	client_close(&c);
}

static int listing_has(struct client *c, const char *dir, const char *want,
                       char *longname_out, size_t lsz)
{
	char hs[16], name[300], ln[512];
	struct reply *r;
	struct pkt *p;
	uint32_t n, i, flags;
	int found = 0, rounds;

	r = path_req(c, OPENDIR, dir);
	assert_int_equal(r->type, HANDLE);
	assert_int_equal(r_str(r, hs, sizeof(hs)), 8);
	for (rounds = 0; rounds < 100; rounds++) {
		p = req(c, READDIR);
		p_str(p, hs, 8);
		r = call(c, p);
		if (r->type == STATUS) {
			assert_int_equal(status_of(r, NULL, 0), FX_EOF);
			break;
		}
		assert_int_equal(r->type, NAME);
		n = r_u32(r);
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			r_str(r, name, sizeof(name));
			r_str(r, ln, sizeof(ln));
			flags = r_u32(r);
			assert_int_equal(flags, 0xf);
			r->off += 8 + 4 * 5;
			if (strcmp(name, want) == 0) {
				found = 1;
				if (longname_out != NULL)
					snprintf(longname_out, lsz, "%s", ln);
			}
		}
	}
	assert_int_equal(handle_req(c, CLOSE, (const uint8_t *)hs), FX_OK);
	return found;
}

static void test_patient_data(void **state)
{
	struct client c;
	uint8_t h[8];
	char ln[512];

	client_open(&c, 0, 0);
	do_init(&c);
	assert_refused(&c, open_req(&c, "patients/p1.txt", F_READ),
	               at("root/patients/p1.txt"), "patient data");
	assert_refused(&c, open_req(&c, "img.dcm", F_READ), at("root/img.dcm"), "patient data");
	assert_refused(&c, path_req(&c, OPENDIR, "patients"), patients, "patient data");
	/* listings leave them out */
	assert_true(listing_has(&c, ".", "hello.txt", ln, sizeof(ln)));
	assert_true(strncmp(ln, "-rw", 3) == 0);
	assert_non_null(strstr(ln, " hello.txt"));
	assert_true(listing_has(&c, ".", "sub", ln, sizeof(ln)));
	assert_int_equal(ln[0], 'd');
	assert_false(listing_has(&c, ".", "patients", NULL, 0));
	assert_false(listing_has(&c, ".", "img.dcm", NULL, 0));
	client_close(&c);

	/* patient_records lifts the list */
	client_open(&c, 0, 1);
	do_init(&c);
	assert_int_equal(sopen(&c, "patients/p1.txt", F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	last_audit(&c, "file_read");
	assert_int_equal(sopen(&c, "img.dcm", F_READ, h), FX_OK);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	assert_true(listing_has(&c, ".", "patients", NULL, 0));
	assert_true(listing_has(&c, ".", "img.dcm", NULL, 0));
	client_close(&c);
}

static void test_write_needs_grant(void **state)
{
	struct client c;
	struct stat st;
	uint8_t h[8];
	struct pkt *p;

	client_open(&c, 0, 0);
	do_init(&c);
	assert_refused(&c, open_req(&c, "upload.txt", F_WRITE | F_CREAT | F_TRUNC),
	               at("root/upload.txt"), "read-only session");
	assert_int_equal(stat(at("root/upload.txt"), &st), -1);
	p = req(&c, OPEN);   /* truncating an existing file is writing */
	p_cstr(p, "hello.txt");
	p_u32(p, F_WRITE | F_TRUNC);
	p_u32(p, 0);
	assert_refused(&c, call(&c, p), at("root/hello.txt"), "read-only session");
	assert_refused(&c, path_req(&c, REMOVE, "hello.txt"), at("root/hello.txt"),
	               "read-only session");
	p = req(&c, MKDIR);
	p_cstr(p, "newdir");
	p_u32(p, 0);
	assert_refused(&c, call(&c, p), at("root/newdir"), "read-only session");
	p = req(&c, SETSTAT);
	p_cstr(p, "hello.txt");
	p_u32(p, 0);
	assert_refused(&c, call(&c, p), at("root/hello.txt"), "read-only session");
	/* a read handle cannot write */
	assert_int_equal(sopen(&c, "hello.txt", F_READ, h), FX_OK);
	p = req(&c, WRITE);
	p_str(p, h, 8);
	p_u64(p, 0);
	p_cstr(p, "x");
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_PERMISSION_DENIED);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	assert_int_equal(stat(at("root/hello.txt"), &st), 0);
	assert_int_equal(st.st_size, 12);
	client_close(&c);
}

static void test_write_with_grant(void **state)
{
	const char *text = "uploaded firmware log\n";
	char want[65], buf[64];
	struct client c;
	uint8_t h[8];
	struct pkt *p;
	json_t *d;
	FILE *f;
	size_t n;

	client_open(&c, 1, 0);
	do_init(&c);
	assert_int_equal(sopen(&c, "sub/up.txt", F_WRITE | F_CREAT | F_TRUNC, h), FX_OK);
	p = req(&c, WRITE);
	p_str(p, h, 8);
	p_u64(p, 0);
	p_str(p, text, 10);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OK);
	p = req(&c, WRITE);
	p_str(p, h, 8);
	p_u64(p, 10);
	p_str(p, text + 10, strlen(text) - 10);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OK);
	p = req(&c, WRITE);   /* a hole past the end is refused */
	p_str(p, h, 8);
	p_u64(p, 1u << 30);
	p_cstr(p, "x");
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_FAILURE);
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);

	assert_non_null(f = fopen(at("root/sub/up.txt"), "r"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(buf, text, n);
	sha256_hex(text, strlen(text), want);
	d = last_audit(&c, "file_write");
	assert_string_equal(json_string_value(json_object_get(d, "path")),
	                    at("root/sub/up.txt"));
	assert_int_equal(json_integer_value(json_object_get(d, "bytes")), strlen(text));
	assert_int_equal(json_integer_value(json_object_get(d, "size")), strlen(text));
	assert_string_equal(json_string_value(json_object_get(d, "sha256")), want);

	/* the refusal list holds for uploads as well */
	assert_refused(&c, open_req(&c, "patients/new.txt", F_WRITE | F_CREAT),
	               at("root/patients/new.txt"), "patient data");

	/* entries: mkdir, rename, remove, rmdir; a root is never removed */
	p = req(&c, MKDIR);
	p_cstr(p, "d1");
	p_u32(p, 0);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OK);
	last_audit(&c, "dir_create");
	p = req(&c, RENAME);
	p_cstr(p, "sub/up.txt");
	p_cstr(p, "d1/up2.txt");
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OK);
	d = last_audit(&c, "file_rename");
	assert_string_equal(json_string_value(json_object_get(d, "to")),
	                    at("root/d1/up2.txt"));
	p = req(&c, RENAME);   /* never over an existing file */
	p_cstr(p, "d1/up2.txt");
	p_cstr(p, "hello.txt");
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_FAILURE);
	p = req(&c, RENAME);   /* nor out of the roots */
	p_cstr(p, "d1/up2.txt");
	p_cstr(p, at("outside/up2.txt"));
	assert_refused(&c, call(&c, p), at("outside/up2.txt"), "outside allowlist");
	assert_int_equal(status_of(path_req(&c, RMDIR, "d1"), NULL, 0), FX_FAILURE);
	assert_int_equal(status_of(path_req(&c, REMOVE, "d1/up2.txt"), NULL, 0), FX_OK);
	last_audit(&c, "file_remove");
	assert_int_equal(status_of(path_req(&c, RMDIR, "d1"), NULL, 0), FX_OK);
	last_audit(&c, "dir_remove");
	assert_refused(&c, path_req(&c, RMDIR, logs), logs, "allowlisted root");
	client_close(&c);
}

static void test_bad_packets(void **state)
{
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 3 };
	static const uint8_t tiny[] = { 0, 0, 0, 1, 3 };
	struct client c;
	struct reply *r;
	struct pkt *p;
	char msg[512];
	uint8_t noise[4096];
	size_t i;
	int rc;

	client_open(&c, 1, 1);
	do_init(&c);
	assert_int_equal(sftpd_input(c.s, huge, sizeof(huge)), TE_ERR_TOO_LONG);
	client_close(&c);

	client_open(&c, 1, 1);
	do_init(&c);
	assert_int_equal(sftpd_input(c.s, tiny, sizeof(tiny)), TE_ERR_PROTOCOL);
	client_close(&c);

	client_open(&c, 1, 1);
	do_init(&c);
	/* a string longer than its packet: BAD_MESSAGE, and the session goes on */
	p = req(&c, OPEN);
	p_u32(p, 5000);
	p_cstr(p, "abc");
	r = call(&c, p);
	assert_int_equal(status_of(r, msg, sizeof(msg)), FX_BAD_MESSAGE);
	assert_non_null(strstr(msg, "malformed open"));
	p = req(&c, READ);   /* truncated READ */
	p_u32(p, 8);
	r = call(&c, p);
	assert_int_equal(status_of(r, NULL, 0), FX_BAD_MESSAGE);
	p = req(&c, 99);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OP_UNSUPPORTED);
	p = req(&c, 200);   /* EXTENDED */
	p_cstr(p, "limits@openssh.com");
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_OP_UNSUPPORTED);
	p = req(&c, REALPATH);   /* an embedded NUL */
	p_str(p, "a\0b", 3);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_BAD_MESSAGE);
	p = req(&c, READ);   /* a forged handle */
	p_cstr(p, "12345678");
	p_u64(p, 0);
	p_u32(p, 10);
	assert_int_equal(status_of(call(&c, p), NULL, 0), FX_FAILURE);

	/* a request fed one byte at a time */
	p = req(&c, REALPATH);
	p_cstr(p, ".");
	p->b[3] = (uint8_t)(p->n - 4);
	for (i = 0; i < p->n; i++) {
		assert_int_equal(sftpd_input(c.s, p->b + i, 1), 0);
		assert_int_equal(sftpd_output(c.s, &(const void *){ NULL }) > 0, i + 1 == p->n);
	}
	assert_int_equal(next_reply(&c, r), 1);
	assert_int_equal(r->type, NAME);

	/* garbage: an error or replies, never a crash */
	srand(7);
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rand();
	rc = sftpd_input(c.s, noise, sizeof(noise));
	assert_true(rc == 0 || rc == TE_ERR_TOO_LONG || rc == TE_ERR_PROTOCOL);
	while (next_reply(&c, r))
		;
	client_close(&c);
}

static void test_handle_limit(void **state)
{
	uint8_t h[MAX_SFTP_HANDLES + 1][8];
	struct client c;
	size_t i;

	client_open(&c, 0, 0);
	do_init(&c);
	for (i = 0; i < MAX_SFTP_HANDLES; i++)
		assert_int_equal(sopen(&c, "hello.txt", F_READ, h[i]), FX_OK);
	assert_int_equal(sopen(&c, "hello.txt", F_READ, h[i]), FX_FAILURE);
	assert_int_equal(status_of(path_req(&c, OPENDIR, "."), NULL, 0), FX_FAILURE);
	assert_int_equal(handle_req(&c, CLOSE, h[0]), FX_OK);
	assert_int_equal(sopen(&c, "hello.txt", F_READ, h[0]), FX_OK);
	/* freeing with handles open audits each of them */
	json_array_clear(c.audits);
	sftpd_free(c.s);
	c.s = NULL;
	assert_int_equal(json_array_size(c.audits), MAX_SFTP_HANDLES);
	last_audit(&c, "file_read");
	json_decref(c.audits);
}

/* Many pipelined READs: processing pauses while the output queue is full
 * and resumes as the client takes replies; nothing is lost. */
static void test_backpressure(void **state)
{
	enum { NREQ = 200 };
	static char big[200000];
	struct client c;
	struct reply *r = malloc(sizeof(*r));
	const void *data;
	uint8_t h[8];
	struct pkt *p;
	size_t i, ndata = 0;
	FILE *f;

	memset(big, 'x', sizeof(big));
	assert_non_null(f = fopen(at("root/big.bin"), "w"));
	assert_int_equal(fwrite(big, 1, sizeof(big), f), sizeof(big));
	fclose(f);
	client_open(&c, 0, 0);
	do_init(&c);
	assert_int_equal(sopen(&c, "big.bin", F_READ, h), FX_OK);
	for (i = 0; i < NREQ; i++) {
		p = req(&c, READ);
		p_str(p, h, 8);
		p_u64(p, 0);
		p_u32(p, 1u << 20);   /* capped at MAX_SFTP_READ_BYTES */
		assert_int_equal(send_pkt(&c, p), 0);
	}
	assert_false(sftpd_wants_input(c.s));
	assert_true(sftpd_output(c.s, &data) <= MAX_SFTP_OUTPUT_BYTES + MAX_SFTP_PACKET_BYTES);
	while (next_reply(&c, r)) {
		assert_int_equal(r->type, DATA);
		assert_int_equal(r_u32(r), MAX_SFTP_READ_BYTES);
		ndata++;
	}
	assert_int_equal(ndata, NREQ);
	assert_true(sftpd_wants_input(c.s));
	assert_int_equal(handle_req(&c, CLOSE, h), FX_OK);
	assert_int_equal(json_integer_value(json_object_get(last_audit(&c, "file_read"),
	                 "bytes")), (json_int_t)NREQ * MAX_SFTP_READ_BYTES);
	client_close(&c);
	unlink(at("root/big.bin"));
	free(r);
}

static void test_path_helpers(void **state)
{
	char out[PATH_MAX];

	assert_int_equal(sftppath_normalize("/r", "a/./b//../c", out), 0);
	assert_string_equal(out, "/r/a/c");
	assert_int_equal(sftppath_normalize("/r", "../../..", out), 0);
	assert_string_equal(out, "/");
	assert_true(sftppath_under("/data/logs/x", "/data/logs"));
	assert_true(sftppath_under("/data/logs", "/data/logs"));
	assert_false(sftppath_under("/data/logs2", "/data/logs"));
}

/* The walk that reaches a checked path follows no link: one swapped in for a
 * directory after the check makes the open fail instead of leaving the root. */
static void test_open_parent_follows_no_link(void **state)
{
	char link[512], through[PATH_MAX];
	const char *name;
	struct stat st;
	int dfd;

	assert_int_equal(sftppath_open_parent(at("root/sub/a.log"), &dfd, &name), 0);
	assert_string_equal(name, "a.log");
	assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	close(dfd);
	snprintf(link, sizeof(link), "%s/root/swapped", base);
	assert_int_equal(symlink(at("outside"), link), 0);
	snprintf(through, sizeof(through), "%s/secret.txt", link);
	assert_int_equal(sftppath_open_parent(through, &dfd, &name), TE_ERR_SYS);
	assert_int_equal(dfd, -1);
	assert_int_equal(unlink(link), 0);
}

/* ---- the real OpenSSH client ---------------------------------------------------
 * `sftp -D CMD` runs CMD as its server on a pipe: here this very binary with
 * --serve, so OpenSSH's own sftp talks to the engine without SSH around it. */

static void serve_audit(void *arg, const char *action, json_t *detail)
{
	char *text = json_dumps(detail, JSON_SORT_KEYS);

	fprintf(arg, "%s %s\n", action, text != NULL ? text : "null");
	fflush(arg);
	free(text);
	json_decref(detail);
}

static int serve(const char *dir, int write_ok, const char *audit_path)
{
	static char buf[65536];
	const char *roots[] = { root, logs };
	const char *refuse[] = { patients, dcm };
	struct sftpd_policy pol = { roots, 2, NULL, refuse, 2, write_ok, 0, 0 };
	struct sftpd *s = NULL;
	const void *out;
	FILE *audit;
	ssize_t n, w;
	size_t q;

	snprintf(base, sizeof(base), "%s", dir);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(logs, sizeof(logs), "%s/logs", base);
	snprintf(patients, sizeof(patients), "%s/root/patients", base);
	snprintf(dcm, sizeof(dcm), "%s/*.dcm", base);
	if ((audit = fopen(audit_path, "a")) == NULL)
		return 1;
	if (sftpd_new(&pol, serve_audit, audit, &s) != 0) {
		fclose(audit);
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (sftpd_input(s, buf, (size_t)n) != 0)
			break;
		while ((q = sftpd_output(s, &out)) > 0) {
			if ((w = write(1, out, q)) <= 0)
				goto done;
			sftpd_consume(s, (size_t)w);
		}
	}
done:
	sftpd_free(s);
	fclose(audit);
	return 0;
}

static char self[PATH_MAX];

static char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void run_sftp(int write_ok, const char *batch, char *out, size_t outsz)
{
	char cmd[4 * PATH_MAX];
	FILE *f, *p;
	size_t n;

	assert_non_null(f = fopen(at("batch"), "w"));
	fputs(batch, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && sftp -b '%s' -D '%s --serve %s %d %s' 2>&1",
	         base, at("batch"), self, base, write_ok, at("audit.log"));
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void test_openssh_client(void **state)
{
	char out[8192], want[65], line[256];
	const char *audit;
	struct stat st;
	size_t len;

	unlink(at("audit.log"));
	run_sftp(1, "pwd\nls -l\nget hello.txt got.txt\n-get patients/p1.txt p.txt\n"
	         "-get link_out out.txt\n-cd ..\nput got.txt sub/put.txt\n", out, sizeof(out));
	assert_non_null(strstr(out, root));                 /* pwd */
	assert_non_null(strstr(out, " hello.txt\n"));       /* ls -l */
	assert_null(strstr(out, "patients\n"));             /* left out */
	assert_non_null(strstr(out, "is outside the allowlisted directories"));
	assert_int_equal(stat(at("got.txt"), &st), 0);
	assert_int_equal(st.st_size, 12);
	assert_int_equal(stat(at("p.txt"), &st), -1);
	assert_int_equal(stat(at("out.txt"), &st), -1);
	assert_int_equal(stat(at("root/sub/put.txt"), &st), 0);
	assert_int_equal(st.st_size, 12);

	audit = slurp(at("audit.log"), &len);
	sha256_hex("hello world\n", 12, want);
	snprintf(line, sizeof(line), "file_read {\"bytes\": 12, \"path\": \"%s\", "
	         "\"sha256\": \"%s\", \"size\": 12}", at("root/hello.txt"), want);
	assert_non_null(strstr(audit, line));
	snprintf(line, sizeof(line), "file_write {\"bytes\": 12, \"path\": \"%s\", "
	         "\"sha256\": \"%s\", \"size\": 12}", at("root/sub/put.txt"), want);
	assert_non_null(strstr(audit, line));
	assert_non_null(strstr(audit, "\"reason\": \"patient data\""));
	assert_non_null(strstr(audit, "\"reason\": \"outside allowlist\""));

	/* read-only: the upload is refused and nothing lands */
	run_sftp(0, "-put got.txt sub/put2.txt\n", out, sizeof(out));
	assert_non_null(strstr(out, "Permission denied"));
	assert_int_equal(stat(at("root/sub/put2.txt"), &st), -1);
	audit = slurp(at("audit.log"), &len);
	assert_non_null(strstr(audit, "\"reason\": \"read-only session\""));
	unlink(at("root/sub/put.txt"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_helpers),
		cmocka_unit_test(test_open_parent_follows_no_link),
		cmocka_unit_test(test_new_policy),
		cmocka_unit_test(test_init_version),
		cmocka_unit_test(test_realpath),
		cmocka_unit_test(test_named_areas),
		cmocka_unit_test(test_read_allowed_and_audited),
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_patient_data),
		cmocka_unit_test(test_write_needs_grant),
		cmocka_unit_test(test_write_with_grant),
		cmocka_unit_test(test_bad_packets),
		cmocka_unit_test(test_handle_limit),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_openssh_client),
	};
	ssize_t n;

	if (argc == 5 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2], atoi(argv[3]), argv[4]);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[n] = '\0';
	return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}

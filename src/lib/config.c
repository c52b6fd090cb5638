/* config.c: "key = value" files with '#' comments.
 *
 * Grammar, one entry per line:
 *     key = value        # optional trailing comment
 * key is [A-Za-z0-9_.-]+; value runs to the end of the line or to a '#' that
 * starts the value or follows whitespace (so "pass#word" stays intact);
 * surrounding blanks are trimmed; an empty value is allowed. Blank lines and
 * lines starting with '#' are ignored. Everything is bounded by bounds.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"

#define CONFIG_NAME_BYTES 256

struct config_entry {
	char *key;
	char *value;
	unsigned line;
};

struct config {
	char name[CONFIG_NAME_BYTES];
	size_t count;
	struct config_entry entries[MAX_CONFIG_ENTRIES];
};

static void config_err(char *errbuf, size_t errsz, const char *name,
                       unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void config_err(char *errbuf, size_t errsz, const char *name,
                       unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errbuf == NULL || errsz == 0)
		return;
	if (line > 0)
		n = snprintf(errbuf, errsz, "%s:%u: ", name, line);
	else
		n = snprintf(errbuf, errsz, "%s: ", name);
	if (n < 0 || (size_t)n >= errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf + n, errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

void config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->count; i++) {
		free(cfg->entries[i].key);
		/* Values may be passwords (proxy URLs); do not leave them in the heap. */
		if (cfg->entries[i].value != NULL)
			explicit_bzero(cfg->entries[i].value, strlen(cfg->entries[i].value));
		free(cfg->entries[i].value);
	}
	free(cfg);
}

static int config_key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int config_key_allowed(const char *key, const char *const *allowed)
{
	size_t i, n;

	if (allowed == NULL)
		return 1;
	for (i = 0; allowed[i] != NULL; i++) {
		n = strlen(allowed[i]);
		if (n > 0 && allowed[i][n - 1] == '.') {
			/* A prefix entry needs something after the dot. */
			if (strncmp(key, allowed[i], n) == 0 && key[n] != '\0')
				return 1;
		} else if (strcmp(key, allowed[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

static const struct config_entry *config_find(const struct config *cfg, const char *key)
{
	size_t i;

	if (cfg == NULL || key == NULL)
		return NULL;
	for (i = 0; i < cfg->count; i++)
		if (strcmp(cfg->entries[i].key, key) == 0)
			return &cfg->entries[i];
	return NULL;
}

static int config_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse one line (line points into a private writable copy, NUL-terminated,
 * without its '\n'). Adds at most one entry to cfg. */
static int config_parse_line(struct config *cfg, char *line, unsigned lineno,
                             const char *const *allowed, char *errbuf, size_t errsz)
{
	char *p = line, *key, *eq, *val, *end;
	size_t i;

	while (config_is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	for (i = 0; line[i] != '\0'; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			config_err(errbuf, errsz, cfg->name, lineno, "control character in line");
			return TE_ERR_INVALID;
		}
	}
	key = p;
	while (config_key_char_ok(*p))
		p++;
	eq = p;
	while (config_is_blank(*eq))
		eq++;
	if (*eq != '=') {
		config_err(errbuf, errsz, cfg->name, lineno,
		           p == key ? "expected a key" : "expected '=' after key");
		return TE_ERR_INVALID;
	}
	if (p == key) {
		config_err(errbuf, errsz, cfg->name, lineno, "expected a key");
		return TE_ERR_INVALID;
	}
	*p = '\0';
	val = eq + 1;
	while (config_is_blank(*val))
		val++;
	for (end = val; *end != '\0'; end++)
		if (*end == '#' && (end == val || config_is_blank(end[-1])))
			break;
	while (end > val && config_is_blank(end[-1]))
		end--;
	*end = '\0';

	if (!config_key_allowed(key, allowed)) {
		config_err(errbuf, errsz, cfg->name, lineno, "unknown key '%s'", key);
		return TE_ERR_NOT_FOUND;
	}
	if (config_find(cfg, key) != NULL) {
		config_err(errbuf, errsz, cfg->name, lineno, "duplicate key '%s'", key);
		return TE_ERR_EXISTS;
	}
	if (cfg->count >= MAX_CONFIG_ENTRIES) {
		config_err(errbuf, errsz, cfg->name, lineno, "more than %d entries",
		           MAX_CONFIG_ENTRIES);
		return TE_ERR_TOO_LONG;
	}
	cfg->entries[cfg->count].key = strdup(key);
	cfg->entries[cfg->count].value = strdup(val);
	cfg->entries[cfg->count].line = lineno;
	cfg->count++;
	if (cfg->entries[cfg->count - 1].key == NULL ||
	    cfg->entries[cfg->count - 1].value == NULL) {
		config_err(errbuf, errsz, cfg->name, lineno, "out of memory");
		return TE_ERR_NOMEM;
	}
	return 0;
}

int config_parse(const char *text, size_t len, const char *name,
                 const char *const *allowed_keys, struct config **out,
                 char *errbuf, size_t errsz)
{
	struct config *cfg = NULL;
	char line[MAX_CONFIG_LINE_BYTES + 1];
	size_t off = 0, n;
	unsigned lineno = 0;
	int rc = 0;

	if (errbuf != NULL && errsz > 0)
		errbuf[0] = '\0';
	if (out == NULL || (text == NULL && len > 0))
		return TE_ERR_INVALID;
	*out = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return TE_ERR_NOMEM;
	snprintf(cfg->name, sizeof(cfg->name), "%s", name ? name : "config");
	if (len > MAX_CONFIG_FILE_BYTES) {
		config_err(errbuf, errsz, cfg->name, 0, "file longer than %d bytes",
		           MAX_CONFIG_FILE_BYTES);
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		config_err(errbuf, errsz, cfg->name, 0, "NUL byte in file");
		rc = TE_ERR_INVALID;
		goto out;
	}
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		n = nl ? (size_t)(nl - (text + off)) : len - off;
		lineno++;
		/* Tolerate CRLF files written on other systems. */
		if (n > 0 && text[off + n - 1] == '\r')
			n--;
		if (n > MAX_CONFIG_LINE_BYTES) {
			config_err(errbuf, errsz, cfg->name, lineno,
			           "line longer than %d bytes", MAX_CONFIG_LINE_BYTES);
			rc = TE_ERR_TOO_LONG;
			goto out;
		}
		memcpy(line, text + off, n);
		line[n] = '\0';
		rc = config_parse_line(cfg, line, lineno, allowed_keys, errbuf, errsz);
		if (rc != 0)
			goto out;
		off += (nl ? (size_t)(nl - (text + off)) + 1 : len - off);
	}
	*out = cfg;
	cfg = NULL;
out:
	explicit_bzero(line, sizeof(line));
	config_free(cfg);
	return rc;
}

int config_load(const char *path, const char *const *allowed_keys,
                struct config **out, char *errbuf, size_t errsz)
{
	char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = 0;

	if (errbuf != NULL && errsz > 0)
		errbuf[0] = '\0';
	if (path == NULL || out == NULL)
		return TE_ERR_INVALID;
	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		config_err(errbuf, errsz, path, 0, "%s", strerror(errno));
		rc = errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_SYS;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		config_err(errbuf, errsz, path, 0, "not a regular file");
		rc = TE_ERR_INVALID;
		goto out;
	}
	if ((buf = malloc(MAX_CONFIG_FILE_BYTES + 1)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	/* Read one byte past the bound so an oversized file is detected. */
	while (len < MAX_CONFIG_FILE_BYTES + 1) {
		n = read(fd, buf + len, MAX_CONFIG_FILE_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_err(errbuf, errsz, path, 0, "read: %s", strerror(errno));
			rc = TE_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = config_parse(buf, len, path, allowed_keys, out, errbuf, errsz);
out:
	if (buf != NULL) {
		explicit_bzero(buf, MAX_CONFIG_FILE_BYTES + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

const char *config_get(const struct config *cfg, const char *key, const char *def)
{
	const struct config_entry *e = config_find(cfg, key);

	return e != NULL ? e->value : def;
}

int config_get_int(const struct config *cfg, const char *key, long def,
                   long min, long max, long *out, char *errbuf, size_t errsz)
{
	const struct config_entry *e = config_find(cfg, key);
	char *end = NULL;
	long v;

	if (out == NULL)
		return TE_ERR_INVALID;
	if (e == NULL || e->value[0] == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtol(e->value, &end, 10);
	if (errno != 0 || end == e->value || *end != '\0' || v < min || v > max) {
		config_err(errbuf, errsz, cfg->name, e->line,
		           "%s must be an integer in [%ld, %ld]", key, min, max);
		return TE_ERR_INVALID;
	}
	*out = v;
	return 0;
}

unsigned config_line(const struct config *cfg, const char *key)
{
	const struct config_entry *e = config_find(cfg, key);

	return e != NULL ? e->line : 0;
}

size_t config_each_prefix(const struct config *cfg, const char *prefix,
                          void (*fn)(const char *key, const char *value, void *arg),
                          void *arg)
{
	size_t i, n = 0, plen;

	if (cfg == NULL || prefix == NULL)
		return 0;
	plen = strlen(prefix);
	for (i = 0; i < cfg->count; i++) {
		if (strncmp(cfg->entries[i].key, prefix, plen) != 0)
			continue;
		n++;
		if (fn != NULL)
			fn(cfg->entries[i].key, cfg->entries[i].value, arg);
	}
	return n;
}

long config_duration(const char *v)
{
	char *end;
	long n, mul = 1;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	n = strtol(v, &end, 10);
	if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "d") == 0)
		mul = 86400;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	return n < 0 || n > 100L * 365 * 86400 / mul ? -1 : n * mul;
}

long long config_size(const char *v)
{
	char *end;
	long long n, mul = 1;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
		mul = 1024;
	else if (strcmp(end, "M") == 0)
		mul = 1024 * 1024;
	else if (strcmp(end, "G") == 0)
		mul = 1024LL * 1024 * 1024;
	else if (*end != '\0')
		return -1;
	return n < 0 || n > (1LL << 40) / mul ? -1 : n * mul;
}

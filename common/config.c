/* Config parsing.  The file is opened O_NOFOLLOW|O_CLOEXEC and must be owned by
 * root and not writable by group or others: a setuid program reads it. */
#include "common/config.h"

#include "common/parse.h"
#include "common/util.h"

#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct parse_ctx {
	struct ephemera_config *cfg;
	FILE *f;
	int lineno;    /* lines read so far: the line the handler is called for */
	int err_line;  /* line of msg */
	char msg[256]; /* first error of ours, without file and line */
	unsigned seen; /* bit per key, to refuse duplicates */
};

static const char *const known_sections[] = {"gateway", "allocator", "sandbox", "reaper"};

bool config_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONFIG_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool valid_abs_path(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n >= 256 || s[0] != '/' || s[n - 1] == '/')
		return false;
	/* No "..", no "//", nothing a shell or a log would misread. */
	if (strstr(s, "/../") || strstr(s, "//") || (n >= 3 && strcmp(s + n - 3, "/..") == 0) ||
	    strstr(s, "/./") || (n >= 2 && strcmp(s + n - 2, "/.") == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

static int add_name(struct parse_ctx *c, const char *name, char **list, size_t *n, const char *what)
{
	if (!config_valid_name(name)) {
		snprintf(c->msg, sizeof(c->msg), "invalid %s name '%.40s'", what, name);
		return -EINVAL;
	}
	if (*n >= CONFIG_MAX_GATEWAYS) {
		snprintf(c->msg, sizeof(c->msg), "more than %d %s names", CONFIG_MAX_GATEWAYS,
			 what);
		return -E2BIG;
	}
	list[*n] = strdup(name);
	if (!list[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* accounts = agent-session, alice, @lab   (an @ names a group) */
static int parse_gateway(struct parse_ctx *c, const char *value)
{
	struct ephemera_config *cfg = c->cfg;
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int r =
		    tok[0] == '@'
			? add_name(c, tok + 1, cfg->gateway_groups, &cfg->n_gateway_groups, "group")
			: add_name(c, tok, cfg->gateway_users, &cfg->n_gateway_users, "user");
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_string(struct parse_ctx *c, char **field, const char *value,
		      bool (*valid)(const char *), const char *what)
{
	if (!valid(value)) {
		snprintf(c->msg, sizeof(c->msg), "invalid %s '%.60s'", what, value);
		return -EINVAL;
	}
	char *s = strdup(value);
	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int set_u32(struct parse_ctx *c, uint32_t *field, const char *value, uint32_t min,
		   uint32_t max, const char *what)
{
	if (parse_u32(value, min, max, field) < 0) {
		snprintf(c->msg, sizeof(c->msg), "%s must be a number from %u to %u, not '%.40s'",
			 what, min, max, value);
		return -EINVAL;
	}
	return 0;
}

enum key_id {
	K_GATEWAY,
	K_UID_MIN,
	K_UID_MAX,
	K_MAX_PER_OWNER,
	K_SESSIONS,
	K_DATABASE,
	K_SHELL,
	K_HOSTNAME,
	K_RETENTION,
	K_NPROC,
	K_NOFILE,
	K_FSIZE
};

static const struct key {
	const char *section, *name;
	enum key_id id;
} keys[] = {
    {"gateway", "accounts", K_GATEWAY},
    {"allocator", "uid_min", K_UID_MIN},
    {"allocator", "uid_max", K_UID_MAX},
    {"allocator", "max_sessions_per_owner", K_MAX_PER_OWNER},
    {"allocator", "sessions_dir", K_SESSIONS},
    {"allocator", "database", K_DATABASE},
    {"sandbox", "shell", K_SHELL},
    {"sandbox", "hostname", K_HOSTNAME},
    {"sandbox", "max_processes", K_NPROC},
    {"sandbox", "max_open_files", K_NOFILE},
    {"sandbox", "max_file_size_mb", K_FSIZE},
    {"reaper", "output_retention_days", K_RETENTION},
};

static int apply_key(struct parse_ctx *c, enum key_id id, const char *value)
{
	struct ephemera_config *cfg = c->cfg;
	switch (id) {
	case K_GATEWAY: return parse_gateway(c, value);
	case K_UID_MIN: return set_u32(c, &cfg->uid_min, value, 1000, INT32_MAX, "uid_min");
	case K_UID_MAX: return set_u32(c, &cfg->uid_max, value, 1000, INT32_MAX, "uid_max");
	case K_MAX_PER_OWNER:
		return set_u32(c, &cfg->max_sessions_per_owner, value, 1, 100000,
			       "max_sessions_per_owner");
	case K_SESSIONS:
		return set_string(c, &cfg->sessions_dir, value, valid_abs_path,
				  "sessions_dir path");
	case K_DATABASE:
		return set_string(c, &cfg->database, value, valid_abs_path, "database path");
	case K_SHELL: return set_string(c, &cfg->shell, value, valid_abs_path, "shell path");
	case K_RETENTION:
		return set_u32(c, &cfg->output_retention_days, value, 0, 36500,
			       "output_retention_days");
	case K_HOSTNAME: return set_string(c, &cfg->hostname, value, valid_hostname, "hostname");
	case K_NPROC:
		return set_u32(c, &cfg->max_processes, value, 8, 4194304, "max_processes");
	case K_NOFILE:
		return set_u32(c, &cfg->max_open_files, value, 16, 1048576, "max_open_files");
	case K_FSIZE:
		return set_u32(c, &cfg->max_file_size_mb, value, 0, 16777216, "max_file_size_mb");
	}
	return -EINVAL;
}

static int set_error(struct parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_error(struct parse_ctx *c, const char *fmt, ...)
{
	if (c->msg[0])
		return 0; /* keep the first error only */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	c->err_line = c->lineno;
	return 0;
}

/* inih reader: fgets that counts lines, and sees what inih does not report --
 * over-long lines (inih would split them) and unknown sections without keys. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *c = stream;
	if (!fgets(buf, size, c->f))
		return NULL;
	c->lineno++;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(c->f)) {
		set_error(c, "line longer than %d characters", size - 1);
		int ch; /* skip the rest so that line numbers stay right */
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
	}
	const char *p = buf + strspn(buf, " \t");
	if (*p == '[') {
		size_t len = strcspn(p + 1, "]");
		bool known = false;
		for (size_t i = 0; i < ELEMENTSOF(known_sections); i++)
			known |= strlen(known_sections[i]) == len &&
				 strncmp(p + 1, known_sections[i], len) == 0;
		if (!known && p[1 + len] == ']')
			set_error(c, "unknown section [%.*s]", (int)(len > 40 ? 40 : len), p + 1);
	}
	return buf;
}

/* inih handler: return 0 to flag an error on this line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	if (c->msg[0])
		return 0; /* keep the first error only */
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
			continue;
		if (c->seen & (1u << keys[i].id))
			return set_error(c, "duplicate key '%s' in [%s]", name, section);
		c->seen |= 1u << keys[i].id;
		int r = apply_key(c, keys[i].id, value);
		if (r < 0 && !c->msg[0])
			snprintf(c->msg, sizeof(c->msg), "%s", strerror(-r));
		if (r < 0)
			c->err_line = c->lineno;
		return r < 0 ? 0 : 1;
	}
	if (!section[0])
		return set_error(c, "key '%.40s' outside of any section", name);
	return set_error(c, "unknown key '%.40s' in section [%.40s]", name, section);
}

static int set_defaults(struct ephemera_config *cfg)
{
	*cfg = (struct ephemera_config){
	    .uid_min = CONFIG_DEFAULT_UID_MIN,
	    .uid_max = CONFIG_DEFAULT_UID_MAX,
	    .max_sessions_per_owner = 64,
	    .sessions_dir = strdup("/sessions"),
	    .database = strdup("/var/lib/ephemera/ephemera.db"),
	    .shell = strdup("/bin/bash"),
	    .hostname = strdup("ephemera"),
	    .max_processes = 1024,
	    .max_open_files = 1024,
	};
	if (!cfg->sessions_dir || !cfg->database || !cfg->shell || !cfg->hostname) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

/* Open the file; 0 with *ret_f NULL means "no file: defaults". */
static int open_config(const char *path, FILE **ret_f, char *err, size_t errlen)
{
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret_f = NULL;
			return 0;
		}
		int r = neg_errno();
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = neg_errno();
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen,
			 "%s: must be owned by root and not writable by group or others", path);
		return -EPERM;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int r = neg_errno();
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	take_fd(&fd);
	*ret_f = f;
	return 0;
}

int config_load(const char *path, struct ephemera_config *ret, char *err, size_t errlen)
{
	struct ephemera_config cfg;
	_cleanup_fclose_ FILE *f = NULL;
	int r = open_config(path, &f, err, errlen);
	if (r < 0)
		return r;
	r = set_defaults(&cfg);
	if (r < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return r;
	}
	if (f) {
		struct parse_ctx c = {.cfg = &cfg, .f = f};
		int line = ini_parse_stream(read_line, &c, on_key, &c);
		if (line != 0 || c.msg[0]) {
			/* Report whichever came first: inih's syntax error or ours. */
			if (c.msg[0] && (line <= 0 || c.err_line <= line))
				snprintf(err, errlen, "%s:%d: %s", path, c.err_line, c.msg);
			else if (line > 0)
				snprintf(err, errlen, "%s:%d: syntax error", path, line);
			else
				snprintf(err, errlen, "%s: %s", path,
					 line == -2 ? "out of memory" : "unreadable");
			config_free(&cfg);
			return -EINVAL;
		}
		if (ferror(f)) {
			snprintf(err, errlen, "%s: read error", path);
			config_free(&cfg);
			return -EIO;
		}
	}
	if (cfg.uid_min > cfg.uid_max) {
		snprintf(err, errlen, "%s: uid_min %u is above uid_max %u", path, cfg.uid_min,
			 cfg.uid_max);
		config_free(&cfg);
		return -EINVAL;
	}
	*ret = cfg;
	return 0;
}

void config_free(struct ephemera_config *cfg)
{
	for (size_t i = 0; i < cfg->n_gateway_users; i++)
		free(cfg->gateway_users[i]);
	for (size_t i = 0; i < cfg->n_gateway_groups; i++)
		free(cfg->gateway_groups[i]);
	free(cfg->sessions_dir);
	free(cfg->database);
	free(cfg->shell);
	free(cfg->hostname);
	*cfg = (struct ephemera_config){0};
}

const char *config_path_for_caller(const char *arg)
{
	if (arg && *arg && getuid() == 0)
		return arg;
	return CONFIG_DEFAULT_PATH;
}

int config_is_gateway(const struct ephemera_config *cfg, const char *user, gid_t gid)
{
	for (size_t i = 0; i < cfg->n_gateway_users; i++)
		if (strcmp(cfg->gateway_users[i], user) == 0)
			return 1;
	if (cfg->n_gateway_groups == 0)
		return 0;

	gid_t groups[256];
	int n = (int)ELEMENTSOF(groups);
	if (getgrouplist(user, gid, groups, &n) < 0)
		return -E2BIG; /* more groups than we look at: refuse rather than guess */
	for (size_t i = 0; i < cfg->n_gateway_groups; i++) {
		char buf[4096];
		struct group gr, *res = NULL;
		int e = getgrnam_r(cfg->gateway_groups[i], &gr, buf, sizeof(buf), &res);
		if (e != 0)
			return -e;
		if (!res)
			continue; /* a configured group that does not exist has no members */
		for (int j = 0; j < n; j++)
			if (groups[j] == res->gr_gid)
				return 1;
	}
	return 0;
}

/* Config parsing.  The file is opened O_NOFOLLOW|O_CLOEXEC and must be owned by
 * root and not writable by group or others: a setuid program reads it.
 *
 * Two passes over the file: the first reads every section but the
 * [profile NAME] ones, so that [sandbox] (the default profile) is complete;
 * the second reads the profiles, each starting as a copy of the default. */
#include "common/config.h"

#include "common/parse.h"
#include "common/profile.h"
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
	int pass;      /* 1: every section but the profiles; 2: only the profiles */
	int lineno;    /* lines read so far: the line the handler is called for */
	int err_line;  /* line of msg */
	char msg[256]; /* first error of ours, without file and line */
	unsigned seen; /* bit per global key, to refuse duplicates */
	char section[64]; /* pass 2: the [profile NAME] section being read */
	struct ephemera_profile *current; /* and its profile */
};

static const char *const known_sections[] = {"gateway", "allocator", "sandbox", "reaper",
					     "network"};
#define PROFILE_SECTION "profile "

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
	K_RETENTION,
	K_PROXY_USER,
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
    {"reaper", "output_retention_days", K_RETENTION},
    {"network", "proxy_user", K_PROXY_USER},
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
		return set_string(c, &cfg->sessions_dir, value, config_valid_abs_path,
				  "sessions_dir path");
	case K_DATABASE:
		return set_string(c, &cfg->database, value, config_valid_abs_path,
				  "database path");
	case K_RETENTION:
		return set_u32(c, &cfg->output_retention_days, value, 0, 36500,
			       "output_retention_days");
	case K_PROXY_USER:
		return set_string(c, &cfg->proxy_user, value, config_valid_name, "proxy_user");
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

static bool is_profile_section(const char *s, size_t len)
{
	return len > strlen(PROFILE_SECTION) &&
	       strncmp(s, PROFILE_SECTION, strlen(PROFILE_SECTION)) == 0;
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
	if (*p == '[')
		c->section[0] = '\0'; /* a new section starts, even one named as before */
	if (*p == '[') {
		size_t len = strcspn(p + 1, "]");
		bool known = is_profile_section(p + 1, len);
		for (size_t i = 0; i < ELEMENTSOF(known_sections); i++)
			known |= strlen(known_sections[i]) == len &&
				 strncmp(p + 1, known_sections[i], len) == 0;
		if (!known && p[1 + len] == ']')
			set_error(c, "unknown section [%.*s]", (int)(len > 40 ? 40 : len), p + 1);
	}
	return buf;
}

/* A profile key: into [sandbox]'s profile in pass 1, a [profile]'s in pass 2. */
static int on_profile_key(struct parse_ctx *c, struct ephemera_profile *p, const char *section,
			  const char *name, const char *value)
{
	if (p == &c->cfg->profiles[0] && !strcmp(name, "accounts"))
		return set_error(c, "accounts in [sandbox]: the default profile is for the "
				    "[gateway] accounts; name accounts in a [profile NAME]");
	char msg[200] = "";
	int r = profile_apply(p, name, value, msg, sizeof(msg));
	if (r == -EEXIST)
		return set_error(c, "duplicate key '%s' in [%s]", name, section);
	if (r == -ENOMEM)
		return set_error(c, "out of memory");
	if (r < 0)
		return set_error(c, "%s", msg);
	return 1;
}

/* Pass 2: a new [profile NAME] section starts as a copy of the default. */
static int begin_profile(struct parse_ctx *c, const char *section)
{
	struct ephemera_config *cfg = c->cfg;
	const char *name = section + strlen(PROFILE_SECTION);
	snprintf(c->section, sizeof(c->section), "%s", section);
	c->current = NULL;
	if (!config_valid_name(name))
		return set_error(c, "invalid profile name '%.40s'", name);
	if (!strcmp(name, PROFILE_DEFAULT))
		return set_error(c, "[profile default]: the default profile is [sandbox]");
	if (config_profile_named(cfg, name))
		return set_error(c, "profile '%s' is defined twice", name);
	if (cfg->n_profiles >= PROFILE_MAX)
		return set_error(c, "more than %d profiles", PROFILE_MAX);
	if (profile_copy(&cfg->profiles[cfg->n_profiles], &cfg->profiles[0], name) < 0)
		return set_error(c, "out of memory");
	c->current = &cfg->profiles[cfg->n_profiles++];
	return 1;
}

static int on_global_key(struct parse_ctx *c, const char *section, const char *name,
			 const char *value)
{
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

/* inih handler: return 0 to flag an error on this line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	if (c->msg[0])
		return 0; /* keep the first error only */
	bool in_profile = is_profile_section(section, strlen(section));
	if (c->pass == 2) {
		if (!in_profile)
			return 1;
		if (strcmp(section, c->section) != 0 && !begin_profile(c, section))
			return 0;
		if (!c->current)
			return 0;
		if (!profile_is_key(name))
			return set_error(c, "unknown key '%.40s' in section [%.40s]", name,
					 section);
		return on_profile_key(c, c->current, section, name, value);
	}
	if (in_profile)
		return 1;
	if (!strcmp(section, "sandbox") && profile_is_key(name))
		return on_profile_key(c, &c->cfg->profiles[0], section, name, value);
	return on_global_key(c, section, name, value);
}

static int set_defaults(struct ephemera_config *cfg)
{
	*cfg = (struct ephemera_config){
	    .uid_min = CONFIG_DEFAULT_UID_MIN,
	    .uid_max = CONFIG_DEFAULT_UID_MAX,
	    .max_sessions_per_owner = 64,
	    .sessions_dir = strdup("/sessions"),
	    .database = strdup("/var/lib/ephemera/ephemera.db"),
	    .proxy_user = strdup("nobody"),
	    .n_profiles = 1,
	};
	int r = profile_defaults(&cfg->profiles[0]);
	if (r < 0 || !cfg->sessions_dir || !cfg->database || !cfg->proxy_user) {
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

/* One pass of inih over the file; 0, or -EINVAL / -EIO with err written. */
static int parse_pass(struct parse_ctx *c, const char *path, char *err, size_t errlen)
{
	int line = ini_parse_stream(read_line, c, on_key, c);
	if (line != 0 || c->msg[0]) {
		/* Report whichever came first: inih's syntax error or ours. */
		if (c->msg[0] && (line <= 0 || c->err_line <= line))
			snprintf(err, errlen, "%s:%d: %s", path, c->err_line, c->msg);
		else if (line > 0)
			snprintf(err, errlen, "%s:%d: syntax error", path, line);
		else
			snprintf(err, errlen, "%s: %s", path,
				 line == -2 ? "out of memory" : "unreadable");
		return -EINVAL;
	}
	if (ferror(c->f)) {
		snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	return 0;
}

static int parse_file(FILE *f, struct ephemera_config *cfg, const char *path, char *err,
		      size_t errlen)
{
	struct parse_ctx c = {.cfg = cfg, .f = f, .pass = 1};
	int r = parse_pass(&c, path, err, errlen);
	if (r < 0)
		return r;
	rewind(f);
	c = (struct parse_ctx){.cfg = cfg, .f = f, .pass = 2};
	return parse_pass(&c, path, err, errlen);
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
	if (f && (r = parse_file(f, &cfg, path, err, errlen)) < 0) {
		config_free(&cfg);
		return r;
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
	for (size_t i = 0; i < cfg->n_profiles; i++)
		profile_free(&cfg->profiles[i]);
	free(cfg->sessions_dir);
	free(cfg->database);
	free(cfg->proxy_user);
	*cfg = (struct ephemera_config){0};
}

const char *config_path_for_caller(const char *arg)
{
	if (arg && *arg && getuid() == 0)
		return arg;
	return CONFIG_DEFAULT_PATH;
}

/* 1 if user (primary group gid) is in users or in one of groups, 0 if not,
 * -errno when its groups cannot be determined. */
static int account_in(char *const *users, size_t n_users, char *const *groups, size_t n_groups,
		      const char *user, gid_t gid)
{
	for (size_t i = 0; i < n_users; i++)
		if (strcmp(users[i], user) == 0)
			return 1;
	if (n_groups == 0)
		return 0;

	gid_t ids[256];
	int n = (int)ELEMENTSOF(ids);
	if (getgrouplist(user, gid, ids, &n) < 0)
		return -E2BIG; /* more groups than we look at: refuse rather than guess */
	for (size_t i = 0; i < n_groups; i++) {
		char buf[4096];
		struct group gr, *res = NULL;
		int e = getgrnam_r(groups[i], &gr, buf, sizeof(buf), &res);
		if (e != 0)
			return -e;
		if (!res)
			continue; /* a configured group that does not exist has no members */
		for (int j = 0; j < n; j++)
			if (ids[j] == res->gr_gid)
				return 1;
	}
	return 0;
}

static int profile_has(const struct ephemera_profile *p, const char *user, gid_t gid)
{
	return account_in(p->users, p->n_users, p->groups, p->n_groups, user, gid);
}

/* A gateway account is named in [gateway] accounts or by a profile. */
int config_is_gateway(const struct ephemera_config *cfg, const char *user, gid_t gid)
{
	int r = account_in(cfg->gateway_users, cfg->n_gateway_users, cfg->gateway_groups,
			   cfg->n_gateway_groups, user, gid);
	for (size_t i = 1; r == 0 && i < cfg->n_profiles; i++)
		r = profile_has(&cfg->profiles[i], user, gid);
	return r;
}

const struct ephemera_profile *config_profile_for(const struct ephemera_config *cfg,
						 const char *user, gid_t gid, int *ret_err)
{
	if (ret_err)
		*ret_err = 0;
	for (size_t i = 1; i < cfg->n_profiles; i++) {
		int r = profile_has(&cfg->profiles[i], user, gid);
		if (r > 0)
			return &cfg->profiles[i];
		if (r < 0) {
			if (ret_err)
				*ret_err = r;
			break;
		}
	}
	return &cfg->profiles[0];
}

const struct ephemera_profile *config_profile_named(const struct ephemera_config *cfg,
						   const char *name)
{
	for (size_t i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].name && strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

/* Profile keys.  Every value is checked here, once, with a reason a config
 * author can act on; the rest of ephemera trusts a loaded profile. */
#include "common/profile.h"

#include "common/parse.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

enum pkey {
	P_ACCOUNTS,
	P_SHELL,
	P_HOSTNAME,
	P_NPROC,
	P_NOFILE,
	P_FSIZE,
	P_MEMORY,
	P_CPU,
	P_PIDS,
	P_TMP,
	P_SHM,
	P_RUN,
	P_QUOTA,
	P_HOME,
	P_LIFETIME,
	P_IDLE,
	P_WARNING,
	P_LINGER,
	P_NETWORK,
	P_ALLOW,
	P_DENY,
	P_PRIVATE,
	P_PORTS,
	P_MAXCONN,
	P_UNIX,
	P_MOUNT,
};

static const char *const key_names[] = {
    [P_ACCOUNTS] = "accounts",
    [P_SHELL] = "shell",
    [P_HOSTNAME] = "hostname",
    [P_NPROC] = "max_processes",
    [P_NOFILE] = "max_open_files",
    [P_FSIZE] = "max_file_size_mb",
    [P_MEMORY] = "memory_max",
    [P_CPU] = "cpu_weight",
    [P_PIDS] = "pids_max",
    [P_TMP] = "tmp_size",
    [P_SHM] = "shm_size",
    [P_RUN] = "run_size",
    [P_QUOTA] = "disk_quota",
    [P_HOME] = "home",
    [P_LIFETIME] = "max_lifetime",
    [P_IDLE] = "idle_timeout",
    [P_WARNING] = "lifetime_warning",
    [P_LINGER] = "linger",
    [P_NETWORK] = "network",
    [P_ALLOW] = "proxy_allow",
    [P_DENY] = "proxy_deny",
    [P_PRIVATE] = "proxy_allow_private",
    [P_PORTS] = "proxy_ports",
    [P_MAXCONN] = "proxy_max_connections",
    [P_UNIX] = "allow_unix",
    [P_MOUNT] = "mount",
};

#define GiB (1ull << 30)
#define MiB (1ull << 20)

bool config_valid_abs_path(const char *s)
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

int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char num[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	unsigned shift = 0;
	const char *units = "KMGT";
	const char *u = strchr(units, toupper((unsigned char)num[n - 1]));
	if (u && num[n - 1] != '\0') {
		shift = 10 * (unsigned)(u - units + 1);
		num[n - 1] = '\0';
	}
	uint64_t v;
	int r = parse_u64(num, 0, UINT64_MAX >> shift, &v);
	if (r < 0)
		return r;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_duration(const char *s, uint32_t max, uint32_t *ret)
{
	char num[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	uint64_t mult = 1;
	switch (num[n - 1]) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default:
		if (num[n - 1] < '0' || num[n - 1] > '9')
			return -EINVAL;
		break;
	}
	if (num[n - 1] < '0' || num[n - 1] > '9')
		num[n - 1] = '\0';
	uint64_t v;
	int r = parse_u64(num, 0, UINT32_MAX, &v);
	if (r < 0)
		return r;
	if (v * mult > max)
		return -ERANGE;
	*ret = (uint32_t)(v * mult);
	return 0;
}

static int fail(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool valid_hostname_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A proxy host: "example.com", "*.example.com" or an IPv4 literal; lower case. */
static bool valid_proxy_host(const char *s)
{
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool valid_exact_host(const char *s)
{
	return strncmp(s, "*.", 2) != 0 && valid_proxy_host(s);
}

/* %u and %n are the only escapes, and %% a percent sign. */
static bool valid_escapes(const char *s)
{
	for (const char *p = strchr(s, '%'); p; p = strchr(p + 2, '%'))
		if (p[1] != 'u' && p[1] != 'n' && p[1] != '%')
			return false;
	return true;
}

/* A path in the home: relative, no "." or ".." part, no empty part. */
static bool valid_home_path(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= 256 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	char copy[256];
	memcpy(copy, s, n + 1);
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save))
		if (!strcmp(part, ".") || !strcmp(part, ".."))
			return false;
	return true;
}

static int set_str(char **field, const char *value)
{
	char *s = strdup(value);
	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* "a, b c" into list (replacing what was there); each item checked by valid. */
static int set_list(char **list, size_t *n, size_t max, const char *value,
		    bool (*valid)(const char *), const char *key, char *msg, size_t len)
{
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		free(list[i]);
	*n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		if (!valid(t))
			return fail(msg, len, "invalid entry '%.60s' in %s", t, key);
		if (*n >= max)
			return fail(msg, len, "more than %zu entries in %s", max, key);
		if (!(list[*n] = strdup(t)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static bool valid_account(const char *s)
{
	return config_valid_name(s[0] == '@' ? s + 1 : s);
}

/* accounts = alice, @lab: users and groups this profile is for. */
static int set_accounts(struct ephemera_profile *p, const char *value, char *msg, size_t len)
{
	char *all[2 * CONFIG_MAX_GATEWAYS];
	size_t n = 0;
	int r = set_list(all, &n, ELEMENTSOF(all), value, valid_account, "accounts", msg, len);
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && all[i][0] == '@' && p->n_groups >= CONFIG_MAX_GATEWAYS)
			r = fail(msg, len, "more than %d groups in accounts", CONFIG_MAX_GATEWAYS);
		if (r == 0 && all[i][0] != '@' && p->n_users >= CONFIG_MAX_GATEWAYS)
			r = fail(msg, len, "more than %d users in accounts", CONFIG_MAX_GATEWAYS);
		if (r == 0 && all[i][0] == '@') {
			memmove(all[i], all[i] + 1, strlen(all[i]));
			p->groups[p->n_groups++] = all[i];
		} else if (r == 0) {
			p->users[p->n_users++] = all[i];
		} else {
			free(all[i]);
		}
	}
	return r;
}

static int set_ports(struct ephemera_profile *p, const char *value, char *msg, size_t len)
{
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	p->n_proxy_ports = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		uint32_t port;
		if (parse_u32(t, 1, 65535, &port) < 0)
			return fail(msg, len, "proxy_ports: '%.20s' is not a port (1-65535)", t);
		if (p->n_proxy_ports >= PROFILE_MAX_PORTS)
			return fail(msg, len, "more than %d proxy_ports", PROFILE_MAX_PORTS);
		p->proxy_ports[p->n_proxy_ports++] = (uint16_t)port;
	}
	if (p->n_proxy_ports == 0)
		return fail(msg, len, "proxy_ports is empty");
	return 0;
}

/* mount = ro:/srv/tools:mnt/.skill */
static int add_mount(struct ephemera_profile *p, const char *value, char *msg, size_t len)
{
	bool rw = strncmp(value, "rw:", 3) == 0;
	if (!rw && strncmp(value, "ro:", 3) != 0)
		return fail(msg, len, "mount must start with ro: or rw:, not '%.40s'", value);
	const char *src = value + 3, *colon = strchr(src, ':');
	if (!colon)
		return fail(msg, len, "mount needs ro|rw:SOURCE:PATH-IN-HOME");
	char s[256];
	if ((size_t)(colon - src) >= sizeof(s))
		return fail(msg, len, "mount source too long");
	memcpy(s, src, (size_t)(colon - src));
	s[colon - src] = '\0';
	const char *dst = colon + 1;
	if (!config_valid_abs_path(s) || !valid_escapes(s))
		return fail(msg, len, "mount source '%.60s' is not an absolute path", s);
	if (!valid_home_path(dst) || !valid_escapes(dst))
		return fail(msg, len, "mount target '%.60s' is not a plain path in the home",
			    dst);
	if (p->n_mounts >= PROFILE_MAX_MOUNTS)
		return fail(msg, len, "more than %d mounts", PROFILE_MAX_MOUNTS);
	struct profile_mount *m = &p->mounts[p->n_mounts];
	m->src = strdup(s);
	m->dst = strdup(dst);
	m->rw = rw;
	if (!m->src || !m->dst) {
		free(m->src);
		free(m->dst);
		*m = (struct profile_mount){0};
		return -ENOMEM;
	}
	p->n_mounts++;
	return 0;
}

static int set_network(struct ephemera_profile *p, const char *v, char *msg, size_t len)
{
	if (!strcmp(v, "none"))
		p->network = NET_NONE;
	else if (!strcmp(v, "proxy"))
		p->network = NET_PROXY;
	else if (!strcmp(v, "host"))
		p->network = NET_HOST;
	else
		return fail(msg, len, "network must be none, proxy or host, not '%.40s'", v);
	return 0;
}

static int set_bool(bool *field, const char *v, const char *key, char *msg, size_t len)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true"))
		*field = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false"))
		*field = false;
	else
		return fail(msg, len, "%s must be yes or no, not '%.40s'", key, v);
	return 0;
}

static int set_home(struct ephemera_profile *p, const char *v, char *msg, size_t len)
{
	if (!strcmp(v, "disk")) {
		p->home_tmpfs = 0;
		return 0;
	}
	if (strncmp(v, "tmpfs:", 6) == 0 && parse_size(v + 6, MiB, 1ull << 40, &p->home_tmpfs) == 0)
		return 0;
	return fail(msg, len, "home must be disk or tmpfs:SIZE (1M to 1T), not '%.40s'", v);
}

static int num(uint32_t *field, const char *v, uint32_t min, uint32_t max, const char *key,
	       char *msg, size_t len)
{
	if (parse_u32(v, min, max, field) < 0)
		return fail(msg, len, "%s must be a number from %u to %u, not '%.40s'", key, min,
			    max, v);
	return 0;
}

static int size(uint64_t *field, const char *v, uint64_t min, uint64_t max, const char *key,
		char *msg, size_t len)
{
	if (parse_size(v, min, max, field) < 0)
		return fail(msg, len, "%s must be a size from %lluK to %lluG (K, M, G, T), not '%.40s'",
			    key, (unsigned long long)(min >> 10), (unsigned long long)(max / GiB), v);
	return 0;
}

static int duration(uint32_t *field, const char *v, uint32_t max, const char *key, char *msg,
		    size_t len)
{
	if (parse_duration(v, max, field) < 0)
		return fail(msg, len, "%s must be a time (s, m, h, d) of at most %u days, not '%.40s'",
			    key, max / 86400, v);
	return 0;
}

static int apply(struct ephemera_profile *p, enum pkey k, const char *v, char *msg, size_t len)
{
	const char *key = key_names[k];
	switch (k) {
	case P_ACCOUNTS: return set_accounts(p, v, msg, len);
	case P_SHELL:
		if (!config_valid_abs_path(v))
			return fail(msg, len, "invalid shell path '%.60s'", v);
		return set_str(&p->shell, v);
	case P_HOSTNAME:
		if (!valid_hostname_label(v))
			return fail(msg, len, "invalid hostname '%.60s'", v);
		return set_str(&p->hostname, v);
	case P_NPROC: return num(&p->max_processes, v, 8, 4194304, key, msg, len);
	case P_NOFILE: return num(&p->max_open_files, v, 16, 1048576, key, msg, len);
	case P_FSIZE: return num(&p->max_file_size_mb, v, 0, 16777216, key, msg, len);
	case P_MEMORY: return size(&p->memory_max, v, 0, 1ull << 50, key, msg, len);
	case P_CPU: return num(&p->cpu_weight, v, 0, 10000, key, msg, len);
	case P_PIDS: return num(&p->pids_max, v, 0, 4194304, key, msg, len);
	case P_TMP: return size(&p->tmp_size, v, MiB, 1ull << 40, key, msg, len);
	case P_SHM: return size(&p->shm_size, v, MiB, 1ull << 40, key, msg, len);
	case P_RUN: return size(&p->run_size, v, MiB, 64 * GiB, key, msg, len);
	case P_QUOTA: return size(&p->disk_quota, v, 0, 1ull << 50, key, msg, len);
	case P_HOME: return set_home(p, v, msg, len);
	case P_LIFETIME: return duration(&p->max_lifetime, v, 365 * 86400, key, msg, len);
	case P_IDLE: return duration(&p->idle_timeout, v, 365 * 86400, key, msg, len);
	case P_WARNING: return duration(&p->lifetime_warning, v, 86400, key, msg, len);
	case P_LINGER: return duration(&p->linger, v, 7 * 86400, key, msg, len);
	case P_NETWORK: return set_network(p, v, msg, len);
	case P_ALLOW:
		return set_list(p->proxy_allow, &p->n_proxy_allow, PROFILE_MAX_HOSTS, v,
				valid_proxy_host, key, msg, len);
	case P_DENY:
		return set_list(p->proxy_deny, &p->n_proxy_deny, PROFILE_MAX_HOSTS, v,
				valid_proxy_host, key, msg, len);
	case P_PRIVATE:
		return set_list(p->proxy_allow_private, &p->n_proxy_allow_private,
				PROFILE_MAX_HOSTS, v, valid_exact_host, key, msg, len);
	case P_PORTS: return set_ports(p, v, msg, len);
	case P_MAXCONN: return num(&p->proxy_max_connections, v, 1, 65536, key, msg, len);
	case P_UNIX: return set_bool(&p->allow_unix, v, key, msg, len);
	case P_MOUNT: return add_mount(p, v, msg, len);
	}
	return -EINVAL;
}

static void clear_mounts(struct ephemera_profile *p)
{
	for (size_t i = 0; i < p->n_mounts; i++) {
		free(p->mounts[i].src);
		free(p->mounts[i].dst);
	}
	p->n_mounts = 0;
}

static int find_key(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(key_names); i++)
		if (!strcmp(key_names[i], name))
			return (int)i;
	return -1;
}

int profile_is_key(const char *name)
{
	return find_key(name) >= 0;
}

int profile_apply(struct ephemera_profile *p, const char *name, const char *value, char *msg,
		  size_t msglen)
{
	int k = find_key(name);
	if (k < 0)
		return fail(msg, msglen, "unknown key '%.40s'", name);
	uint64_t bit = 1ull << k;
	if ((p->set & bit) && k != P_MOUNT)
		return -EEXIST;
	if (k == P_MOUNT && !(p->set & bit))
		clear_mounts(p); /* a profile's mount lines replace the inherited ones */
	p->set |= bit;
	return apply(p, (enum pkey)k, value, msg, msglen);
}

int profile_defaults(struct ephemera_profile *p)
{
	*p = (struct ephemera_profile){
	    .name = strdup(PROFILE_DEFAULT),
	    .shell = strdup("/bin/bash"),
	    .hostname = strdup("ephemera"),
	    .max_processes = 1024,
	    .max_open_files = 1024,
	    .tmp_size = GiB,
	    .shm_size = 256 * MiB,
	    .run_size = 16 * MiB,
	    .lifetime_warning = 300,
	    .network = NET_NONE,
	    .proxy_ports = {80, 443},
	    .n_proxy_ports = 2,
	    .proxy_max_connections = 256,
	};
	if (!p->name || !p->shell || !p->hostname) {
		profile_free(p);
		return -ENOMEM;
	}
	return 0;
}

static int copy_list(char **dst, size_t *dn, char *const *src, size_t sn)
{
	for (*dn = 0; *dn < sn; (*dn)++)
		if (!(dst[*dn] = strdup(src[*dn])))
			return -ENOMEM;
	return 0;
}

/* The copy gets the values, not the selection: accounts belong to one profile. */
int profile_copy(struct ephemera_profile *dst, const struct ephemera_profile *src,
		 const char *name)
{
	*dst = *src;
	dst->n_users = dst->n_groups = dst->n_proxy_allow = dst->n_proxy_deny = 0;
	dst->n_proxy_allow_private = 0;
	dst->n_mounts = 0;
	dst->set = 0;
	dst->name = strdup(name);
	dst->shell = strdup(src->shell);
	dst->hostname = strdup(src->hostname);
	int r = (!dst->name || !dst->shell || !dst->hostname) ? -ENOMEM : 0;
	if (r == 0)
		r = copy_list(dst->proxy_allow, &dst->n_proxy_allow, src->proxy_allow,
			      src->n_proxy_allow);
	if (r == 0)
		r = copy_list(dst->proxy_deny, &dst->n_proxy_deny, src->proxy_deny,
			      src->n_proxy_deny);
	if (r == 0)
		r = copy_list(dst->proxy_allow_private, &dst->n_proxy_allow_private,
			      src->proxy_allow_private, src->n_proxy_allow_private);
	for (size_t i = 0; r == 0 && i < src->n_mounts; i++) {
		struct profile_mount *m = &dst->mounts[i];
		m->src = strdup(src->mounts[i].src);
		m->dst = strdup(src->mounts[i].dst);
		m->rw = src->mounts[i].rw;
		dst->n_mounts = i + 1;
		if (!m->src || !m->dst)
			r = -ENOMEM;
	}
	if (r < 0)
		profile_free(dst);
	return r;
}

void profile_free(struct ephemera_profile *p)
{
	free(p->name);
	free(p->shell);
	free(p->hostname);
	for (size_t i = 0; i < p->n_users; i++)
		free(p->users[i]);
	for (size_t i = 0; i < p->n_groups; i++)
		free(p->groups[i]);
	for (size_t i = 0; i < p->n_proxy_allow; i++)
		free(p->proxy_allow[i]);
	for (size_t i = 0; i < p->n_proxy_deny; i++)
		free(p->proxy_deny[i]);
	for (size_t i = 0; i < p->n_proxy_allow_private; i++)
		free(p->proxy_allow_private[i]);
	clear_mounts(p);
	*p = (struct ephemera_profile){0};
}

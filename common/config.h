/* /etc/ephemera/ephemera.conf: INI, parsed with libinih.  See ephemera.conf(5). */
#ifndef EPHEMERA_CONFIG_H
#define EPHEMERA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/ephemera/ephemera.conf"
#define CONFIG_MAX_GATEWAYS 64
#define CONFIG_NAME_MAX	    32 /* POSIX-portable user and group names we accept */

/* 0x78000000-0x7800FFFF: above every range Debian, systemd, sssd and the
 * /etc/subuid defaults hand out, below 2^31 (devpts and some tools treat the
 * uid as signed).  ephemera.conf(5) gives the full reasoning. */
#define CONFIG_DEFAULT_UID_MIN 2013265920u
#define CONFIG_DEFAULT_UID_MAX 2013331455u

struct ephemera_config {
	char *gateway_users[CONFIG_MAX_GATEWAYS];
	size_t n_gateway_users;
	char *gateway_groups[CONFIG_MAX_GATEWAYS];
	size_t n_gateway_groups;
	uint32_t uid_min, uid_max;
	uint32_t max_sessions_per_owner;
	char *sessions_dir;
	char *database;
	char *shell;
	char *hostname;
	uint32_t output_retention_days; /* 0: keep outputs until an admin deletes them */
	/* Per-session limits, set in the sandbox as hard rlimits.  Every
	 * session has a UID of its own, so RLIMIT_NPROC bounds one session. */
	uint32_t max_processes;
	uint32_t max_open_files;
	uint32_t max_file_size_mb; /* 0: no limit */
};

/* Fill *ret with the defaults, then the file's values.  A missing file means
 * defaults.  On failure returns -errno and writes "FILE:LINE: what" to err;
 * *ret is left empty (no allocations to free). */
int config_load(const char *path, struct ephemera_config *ret, char *err, size_t errlen);
void config_free(struct ephemera_config *cfg);

/* The config path a caller may use: arg (from --config or EPHEMERA_CONF) is
 * honoured only when the real uid is 0; otherwise the built-in path. */
const char *config_path_for_caller(const char *arg);

/* 1 if USER (with primary group GID) is a gateway account, 0 if not, -errno
 * when group membership cannot be determined (treat as refusal). */
int config_is_gateway(const struct ephemera_config *cfg, const char *user, gid_t gid);

/* Whether s is a name we accept for users, groups and sessions:
 * [a-z_][a-z0-9_-]*, at most CONFIG_NAME_MAX bytes. */
bool config_valid_name(const char *s);

#endif

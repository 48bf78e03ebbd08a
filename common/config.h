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

enum net_mode {
	NET_NONE,  /* only lo (the default) */
	NET_PROXY, /* lo, and HTTP/SOCKS through the allow-listing proxy outside */
	NET_HOST,  /* the host's network; AF_UNIX refused unless allow_unix */
};

#define PROFILE_MAX	       16
#define PROFILE_MAX_MOUNTS     16
#define PROFILE_MAX_HOSTS      64
#define PROFILE_MAX_PORTS      16
#define PROFILE_DEFAULT	       "default"

/* mount = ro:/srv/tools:mnt/.skill   (rw: or ro:, host source, path in the home).
 * %u is the owner's name, %n the session's, in src (and dst). */
struct profile_mount {
	char *src; /* absolute, with %u / %n not yet expanded */
	char *dst; /* relative to the home, no "..", with %u / %n not yet expanded */
	bool rw;
};

/* A named set of policy.  [sandbox] is the profile "default"; every
 * [profile NAME] starts as a copy of it and overrides what it sets. */
struct ephemera_profile {
	char *name;
	/* Which gateway accounts get this profile (users and @groups): the
	 * first profile in file order that names the account, else default. */
	char *users[CONFIG_MAX_GATEWAYS];
	size_t n_users;
	char *groups[CONFIG_MAX_GATEWAYS];
	size_t n_groups;

	char *shell;
	char *hostname;
	/* Hard rlimits.  Every session has a UID of its own, so RLIMIT_NPROC
	 * bounds one session. */
	uint32_t max_processes;
	uint32_t max_open_files;
	uint32_t max_file_size_mb; /* 0: no limit */
	/* cgroup v2, where the host has the controller; 0: not set. */
	uint64_t memory_max;	   /* bytes */
	uint32_t cpu_weight;	   /* 1..10000 */
	uint32_t pids_max;
	/* Sizes of the private tmpfs mounts, bytes. */
	uint64_t tmp_size;	   /* /tmp and /var/tmp each */
	uint64_t shm_size;	   /* /dev/shm */
	uint64_t run_size;	   /* /run */
	uint64_t disk_quota;	   /* user quota on the sessions filesystem; 0: none */
	uint64_t home_tmpfs;	   /* home = tmpfs:SIZE; 0: home on disk */
	/* Lifetimes, seconds; 0: none. */
	uint32_t max_lifetime;
	uint32_t idle_timeout;
	uint32_t lifetime_warning; /* warn this long before either ends the session */
	uint32_t linger;	   /* keep the session this long after its last login */
	/* Network. */
	enum net_mode network;
	char *proxy_allow[PROFILE_MAX_HOSTS]; /* "host" or "*.domain", lower case */
	size_t n_proxy_allow;
	char *proxy_deny[PROFILE_MAX_HOSTS];
	size_t n_proxy_deny;
	/* Exact hosts whose DNS answer may be a loopback, private, link-local
	 * or host address (else such an answer is refused). */
	char *proxy_allow_private[PROFILE_MAX_HOSTS];
	size_t n_proxy_allow_private;
	uint16_t proxy_ports[PROFILE_MAX_PORTS]; /* default 80, 443 */
	size_t n_proxy_ports;
	uint32_t proxy_max_connections;
	bool allow_unix; /* network = host: AF_UNIX sockets allowed */
	struct profile_mount mounts[PROFILE_MAX_MOUNTS];
	size_t n_mounts;
	uint64_t set; /* bit per profile key given in the file (internal) */
};

struct ephemera_config {
	char *gateway_users[CONFIG_MAX_GATEWAYS];
	size_t n_gateway_users;
	char *gateway_groups[CONFIG_MAX_GATEWAYS];
	size_t n_gateway_groups;
	uint32_t uid_min, uid_max;
	uint32_t max_sessions_per_owner;
	char *sessions_dir;
	char *database;
	uint32_t output_retention_days; /* 0: keep outputs until an admin deletes them */
	char *proxy_user;		/* [network] user the proxies run as */
	/* profiles[0] is "default" ([sandbox]); then [profile NAME] in file order. */
	struct ephemera_profile profiles[PROFILE_MAX];
	size_t n_profiles;
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

/* The profile for USER (primary group GID): the first [profile] that names
 * the user or one of its groups, else the default.  Never NULL.  When the
 * groups cannot be read *ret_err is -errno: the caller must refuse the login
 * (the profile meant for the account may be stricter than the default). */
const struct ephemera_profile *config_profile_for(const struct ephemera_config *cfg,
						 const char *user, gid_t gid, int *ret_err);
/* The profile called NAME, or NULL (a session's profile may have been
 * removed from the config since). */
const struct ephemera_profile *config_profile_named(const struct ephemera_config *cfg,
						   const char *name);

#endif

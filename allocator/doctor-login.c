/* ephemeractl doctor, the login path: is the shell what a gateway login
 * runs, can nobody but root change it, do PAM and sshd route every gateway
 * login through it?  (doctor.c has the table and the other checks.) */
#include "allocator/doctor-internal.h"

#include "allocator/gateway.h"
#include "allocator/runprog.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SSHD_PATH    "/usr/sbin/sshd"
#define SSHD_SNIPPET "/etc/ssh/sshd_config.d/ephemera.conf"
#define PAM_INCLUDE  "/etc/pam.d/ephemera"
#define SSHD_OUT_MAX (256u << 10)

/* ---- ephemera-shell and /etc/shells ---- */

enum level check_shell(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	struct stat st;
	if (stat(GATEWAY_SHELL, &st) < 0)
		return doctor_verdict(why, len, FAIL, "%s: %m", GATEWAY_SHELL);
	if (!S_ISREG(st.st_mode))
		return doctor_verdict(why, len, FAIL, "%s is not a regular file", GATEWAY_SHELL);
	if (st.st_uid != 0)
		return doctor_verdict(why, len, FAIL, "%s is owned by uid %u, not root", GATEWAY_SHELL,
			       (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return doctor_verdict(why, len, FAIL, "%s is writable by %s (mode %04o)", GATEWAY_SHELL,
			       st.st_mode & S_IWOTH ? "others" : "its group",
			       (unsigned)(st.st_mode & 07777));
	if (!(st.st_mode & S_ISUID) || !(st.st_mode & S_IXOTH))
		return doctor_verdict(why, len, FAIL, "%s is not setuid root and executable (mode %04o)",
			       GATEWAY_SHELL, (unsigned)(st.st_mode & 07777));
	return doctor_verdict(why, len, OK, "%s setuid root, mode %04o", GATEWAY_SHELL,
		       (unsigned)(st.st_mode & 07777));
}

/* A directory above the shell: root's, not writable by others (FAIL) or by
 * a group other than root's (WARN).  Findings go to why. */
static enum level check_dir(const char *path, char *why, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		doctor_append(why, len, "%s: %m", path);
		return FAIL;
	}
	if (st.st_uid != 0 || (st.st_mode & S_IWOTH)) {
		doctor_append(why, len, "%s: owner uid %u, mode %04o", path, (unsigned)st.st_uid,
		       (unsigned)(st.st_mode & 07777));
		return FAIL;
	}
	if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		doctor_append(why, len, "%s: writable by group %u", path, (unsigned)st.st_gid);
		return WARN;
	}
	return OK;
}

/* Every directory from / down to dir, the worst level of them. */
static enum level check_chain(const char *dir, char *why, size_t len)
{
	enum level l = check_dir("/", why, len);
	for (size_t i = 1, n = strlen(dir); i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		char prefix[PATH_MAX];
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, dir);
		enum level r = check_dir(prefix, why, len);
		l = r > l ? r : l;
	}
	return l;
}

enum level check_shell_dirs(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	char lexical[PATH_MAX], real[PATH_MAX];
	snprintf(lexical, sizeof(lexical), "%s", GATEWAY_SHELL);
	why[0] = '\0';
	enum level l = check_chain(dirname(lexical), why, len);
	/* Through symlinks too: where the file really is. */
	if (realpath(GATEWAY_SHELL, real)) {
		enum level r = check_chain(dirname(real), why, len);
		l = r > l ? r : l;
	}
	if (l == OK)
		snprintf(why, len, "every directory above %s is root's alone", GATEWAY_SHELL);
	return l;
}

enum level check_etc_shells(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	_cleanup_fclose_ FILE *f = fopen("/etc/shells", "re");
	if (!f)
		return doctor_verdict(why, len, errno == ENOENT ? OK : WARN, "/etc/shells: %m");
	char line[1024];
	for (int n = 1; fgets(line, sizeof(line), f); n++) {
		line[strcspn(line, " \t\r\n#")] = '\0';
		const char *base = strrchr(line, '/');
		if (base && strcmp(base + 1, "ephemera-shell") == 0)
			return doctor_verdict(why, len, FAIL,
				       "line %d lists %s: su -s and chsh then treat it as an "
				       "ordinary shell; remove it",
				       n, line);
	}
	return doctor_verdict(why, len, OK, "ephemera-shell is not listed");
}

/* ---- PAM ---- */

/* Whether a PAM file has "@include ephemera" and whether it loads the module. */
static int pam_refs(const char *path, bool *ret_include, bool *ret_module)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return neg_errno();
	char line[1024];
	*ret_include = *ret_module = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = '\0';
		char *save = NULL, *first = strtok_r(line, " \t", &save);
		for (char *t = first; t; t = strtok_r(NULL, " \t", &save)) {
			const char *base = strrchr(t, '/');
			*ret_module |= strcmp(base ? base + 1 : t, "pam_ephemera.so") == 0;
			*ret_include |= t != first && strcmp(first, "@include") == 0 &&
					strcmp(t, "ephemera") == 0;
		}
	}
	return 0;
}

enum level check_pam_service(const struct doctor *d, const void *arg, char *why,
				    size_t len)
{
	(void)d;
	const char *service = arg;
	char path[64];
	bool include, module;
	snprintf(path, sizeof(path), "/etc/pam.d/%s", service);
	if (pam_refs(path, &include, &module) < 0)
		return doctor_verdict(why, len, WARN, "%s: %m", path);
	if (module)
		return doctor_verdict(why, len, OK, "%s loads pam_ephemera.so", path);
	if (!include)
		return doctor_verdict(why, len, WARN,
			       "%s does not include ephemera: %s logins of gateway accounts get "
			       "no session from PAM",
			       path, service);
	if (pam_refs(PAM_INCLUDE, &include, &module) < 0 || !module)
		return doctor_verdict(why, len, WARN, "%s includes ephemera, but %s does not load "
					       "pam_ephemera.so", path, PAM_INCLUDE);
	return doctor_verdict(why, len, OK, "%s includes ephemera", path);
}

/* The security directory: where libpam's own pam_unix.so is. */
static int pam_dir(char *ret, size_t size)
{
	static const char *const patterns[] = {"/lib/*/security/pam_unix.so",
					       "/usr/lib/*/security/pam_unix.so",
					       "/lib64/security/pam_unix.so",
					       "/lib/security/pam_unix.so"};
	for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
		glob_t g;
		if (glob(patterns[i], GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0) {
			snprintf(ret, size, "%s", g.gl_pathv[0]);
			globfree(&g);
			*strrchr(ret, '/') = '\0';
			return 0;
		}
		globfree(&g);
	}
	return -ENOENT;
}

enum level check_pam_module(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	if (pam_dir(dir, sizeof(dir)) < 0)
		return doctor_verdict(why, len, WARN, "no PAM security directory (no pam_unix.so found)");
	snprintf(path, sizeof(path), "%s/pam_ephemera.so", dir);
	struct stat st;
	if (stat(path, &st) < 0)
		return doctor_verdict(why, len, FAIL, "%s: %m", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return doctor_verdict(why, len, FAIL,
			       "%s must be a file of root's not writable by group or others "
			       "(owner uid %u, mode %04o)",
			       path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return doctor_verdict(why, len, OK, "%s", path);
}

/* ---- sshd ---- */

/* sshd -T's effective config, for a login of user (NULL: no Match context).
 * Returns sshd's exit status, or -errno. */
static int sshd_effective(const char *user, char *out, size_t size)
{
	char spec[128];
	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=127.0.0.1", user ? user : "");
	const char *const with[] = {SSHD_PATH, "-T", "-C", spec, NULL};
	const char *const without[] = {SSHD_PATH, "-T", NULL};
	return runprog(user ? with : without, out, size);
}

/* Whether the effective config has the line "key value" (sshd prints lowercase keys). */
static bool has_setting(const char *conf, const char *key, const char *value)
{
	char want[128];
	int n = snprintf(want, sizeof(want), "%s %s", key, value);
	for (const char *p = conf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, want, (size_t)n) == 0 && (p[n] == '\n' || p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* sshd -T failed: its first line says why. */
static enum level sshd_failed(int r, const char *out, char *why, size_t len)
{
	if (r < 0)
		return doctor_verdict(why, len, WARN, "cannot run %s: %s", SSHD_PATH, strerror(-r));
	return doctor_verdict(why, len, WARN, "cannot tell: %s -T failed with status %d: %.*s", SSHD_PATH,
		       r, (int)strcspn(out, "\n"), out);
}

/* The policy applies to each gateway user: forwarding off, no ~/.ssh/rc. */
enum level check_sshd_policy(const struct doctor *d, const void *arg, char *why,
				    size_t len)
{
	(void)arg;
	if (access(SSHD_PATH, X_OK) < 0)
		return doctor_verdict(why, len, OK, "sshd is not installed");
	if (access(SSHD_SNIPPET, R_OK) < 0)
		return doctor_verdict(why, len, WARN, "%s: %m", SSHD_SNIPPET);
	_cleanup_free_ char *out = malloc(SSHD_OUT_MAX);
	if (!out)
		return doctor_verdict(why, len, WARN, "out of memory");
	why[0] = '\0';
	for (size_t i = 0; i < d->cfg.n_gateway_users; i++) {
		const char *u = d->cfg.gateway_users[i];
		int r = sshd_effective(u, out, SSHD_OUT_MAX);
		if (r != 0)
			return sshd_failed(r, out, why, len);
		if (!has_setting(out, "disableforwarding", "yes") ||
		    !has_setting(out, "permituserrc", "no"))
			doctor_append(why, len, "%s: forwarding or ~/.ssh/rc allowed (not on the Match line "
					 "of %s?)", u, SSHD_SNIPPET);
	}
	if (why[0])
		return WARN;
	return doctor_verdict(why, len, OK, "%s in effect for %zu gateway user(s)", SSHD_SNIPPET,
		       d->cfg.n_gateway_users);
}

static bool internal_sftp(const char *conf)
{
	return has_setting(conf, "subsystem", "sftp internal-sftp") ||
	       has_setting(conf, "forcecommand", "internal-sftp");
}

/* internal-sftp runs inside sshd and never reaches ephemera-shell; OpenSSH
 * 9.2 allows no Subsystem in a Match block, so it would serve every account. */
enum level check_sshd_sftp(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	if (access(SSHD_PATH, X_OK) < 0)
		return doctor_verdict(why, len, OK, "sshd is not installed");
	_cleanup_free_ char *out = malloc(SSHD_OUT_MAX);
	if (!out)
		return doctor_verdict(why, len, WARN, "out of memory");
	size_t n = d->cfg.n_gateway_users;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *u = n ? d->cfg.gateway_users[i] : NULL;
		int r = sshd_effective(u, out, SSHD_OUT_MAX);
		if (r != 0)
			return sshd_failed(r, out, why, len);
		if (internal_sftp(out))
			return doctor_verdict(why, len, FAIL,
				       "sshd serves sftp with internal-sftp%s%s: it never runs "
				       "ephemera-shell, so gateway accounts get an unsandboxed sftp",
				       u ? " for " : "", u ? u : "");
	}
	return doctor_verdict(why, len, OK, "sftp runs through the login shell");
}


/* The checks of ephemeractl doctor (doctor.h), one small function each, run
 * in the order of the table at the end.  Files such as /etc/passwd or
 * /etc/pam.d/sshd are read directly and treated as untrusted text: a line we
 * cannot parse is skipped, never a reason to trust more. */
#include "allocator/doctor.h"

#include "allocator/gateway.h"
#include "allocator/home.h"
#include "allocator/runprog.h"
#include "common/config.h"
#include "common/parse.h"
#include "common/util.h"
#include "db/db.h"

#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define SSHD_PATH    "/usr/sbin/sshd"
#define SSHD_SNIPPET "/etc/ssh/sshd_config.d/ephemera.conf"
#define PAM_INCLUDE  "/etc/pam.d/ephemera"
#define SSHD_OUT_MAX (256u << 10)

enum level { OK, WARN, FAIL };
static const char *const level_names[] = {"OK", "WARN", "FAIL"};

struct doctor {
	const char *conf_path;
	struct ephemera_config cfg;
	bool have_cfg;
	char cfg_err[512];
};

typedef enum level (*check_fn)(const struct doctor *d, const void *arg, char *why, size_t len);

static enum level verdict(char *why, size_t len, enum level l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum level verdict(char *why, size_t len, enum level l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return l;
}

/* Appends "; text" (or text) to why: for checks that collect several findings. */
static void append(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *why, size_t len, const char *fmt, ...)
{
	size_t n = strlen(why);
	if (n + 2 >= len)
		return;
	if (n)
		n += (size_t)snprintf(why + n, len - n, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + n, len - n, fmt, ap);
	va_end(ap);
}

/* Runs fn(arg) in a child; its return value (0 or a positive errno) is the
 * child's exit status.  Kernel features are tried there, not in us. */
static int in_child(int (*fn)(int), int arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

/* ---- the configuration ---- */

static enum level check_config(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	struct stat st;
	if (!d->have_cfg)
		return verdict(why, len, FAIL, "%s", d->cfg_err);
	if (lstat(d->conf_path, &st) < 0)
		return verdict(why, len, WARN, "%s: %m: the built-in defaults apply", d->conf_path);
	return verdict(why, len, OK, "%s", d->conf_path);
}

/* ---- the kernel ---- */

static int try_namespace(int flag)
{
	if (unshare(flag) < 0)
		return errno;
	if (flag != CLONE_NEWPID)
		return 0;
	/* A new pid namespace exists once its pid 1 does. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : EPROTO);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

static enum level check_namespaces(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	static const struct {
		int flag;
		const char *name;
	} ns[] = {{CLONE_NEWNS, "mount"}, {CLONE_NEWPID, "pid"}, {CLONE_NEWNET, "net"},
		  {CLONE_NEWUTS, "uts"},  {CLONE_NEWIPC, "ipc"}, {CLONE_NEWCGROUP, "cgroup"}};
	why[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
		int e = in_child(try_namespace, ns[i].flag);
		if (e)
			append(why, len, "%s: %s", ns[i].name, strerror(e));
	}
	if (why[0])
		return FAIL;
	return verdict(why, len, OK, "mount, pid, net, uts, ipc and cgroup namespaces created");
}

/* A filter that makes getppid() fail with EPERM: loaded, it must act. */
static int try_seccomp(int unused)
{
	(void)unused;
	struct sock_filter insns[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {ELEMENTSOF(insns), insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return errno;
	return syscall(SYS_getppid) == -1 && errno == EPERM ? 0 : EPROTO;
}

static enum level check_seccomp(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	int e = in_child(try_seccomp, 0);
	if (e == EPROTO)
		return verdict(why, len, FAIL, "a filter loaded but did not act");
	if (e)
		return verdict(why, len, FAIL, "cannot load a filter: %s", strerror(e));
	return verdict(why, len, OK, "a filter loaded and acted");
}

/* ---- ephemera-shell and /etc/shells ---- */

static enum level check_shell(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	struct stat st;
	if (stat(GATEWAY_SHELL, &st) < 0)
		return verdict(why, len, FAIL, "%s: %m", GATEWAY_SHELL);
	if (!S_ISREG(st.st_mode))
		return verdict(why, len, FAIL, "%s is not a regular file", GATEWAY_SHELL);
	if (st.st_uid != 0)
		return verdict(why, len, FAIL, "%s is owned by uid %u, not root", GATEWAY_SHELL,
			       (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return verdict(why, len, FAIL, "%s is writable by %s (mode %04o)", GATEWAY_SHELL,
			       st.st_mode & S_IWOTH ? "others" : "its group",
			       (unsigned)(st.st_mode & 07777));
	if (!(st.st_mode & S_ISUID) || !(st.st_mode & S_IXOTH))
		return verdict(why, len, FAIL, "%s is not setuid root and executable (mode %04o)",
			       GATEWAY_SHELL, (unsigned)(st.st_mode & 07777));
	return verdict(why, len, OK, "%s setuid root, mode %04o", GATEWAY_SHELL,
		       (unsigned)(st.st_mode & 07777));
}

/* A directory above the shell: root's, not writable by others (FAIL) or by
 * a group other than root's (WARN).  Findings go to why. */
static enum level check_dir(const char *path, char *why, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		append(why, len, "%s: %m", path);
		return FAIL;
	}
	if (st.st_uid != 0 || (st.st_mode & S_IWOTH)) {
		append(why, len, "%s: owner uid %u, mode %04o", path, (unsigned)st.st_uid,
		       (unsigned)(st.st_mode & 07777));
		return FAIL;
	}
	if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		append(why, len, "%s: writable by group %u", path, (unsigned)st.st_gid);
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

static enum level check_shell_dirs(const struct doctor *d, const void *arg, char *why, size_t len)
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

static enum level check_etc_shells(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	_cleanup_fclose_ FILE *f = fopen("/etc/shells", "re");
	if (!f)
		return verdict(why, len, errno == ENOENT ? OK : WARN, "/etc/shells: %m");
	char line[1024];
	for (int n = 1; fgets(line, sizeof(line), f); n++) {
		line[strcspn(line, " \t\r\n#")] = '\0';
		const char *base = strrchr(line, '/');
		if (base && strcmp(base + 1, "ephemera-shell") == 0)
			return verdict(why, len, FAIL,
				       "line %d lists %s: su -s and chsh then treat it as an "
				       "ordinary shell; remove it",
				       n, line);
	}
	return verdict(why, len, OK, "ephemera-shell is not listed");
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

static enum level check_pam_service(const struct doctor *d, const void *arg, char *why,
				    size_t len)
{
	(void)d;
	const char *service = arg;
	char path[64];
	bool include, module;
	snprintf(path, sizeof(path), "/etc/pam.d/%s", service);
	if (pam_refs(path, &include, &module) < 0)
		return verdict(why, len, WARN, "%s: %m", path);
	if (module)
		return verdict(why, len, OK, "%s loads pam_ephemera.so", path);
	if (!include)
		return verdict(why, len, WARN,
			       "%s does not include ephemera: %s logins of gateway accounts get "
			       "no session from PAM",
			       path, service);
	if (pam_refs(PAM_INCLUDE, &include, &module) < 0 || !module)
		return verdict(why, len, WARN, "%s includes ephemera, but %s does not load "
					       "pam_ephemera.so", path, PAM_INCLUDE);
	return verdict(why, len, OK, "%s includes ephemera", path);
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

static enum level check_pam_module(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d, (void)arg;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	if (pam_dir(dir, sizeof(dir)) < 0)
		return verdict(why, len, WARN, "no PAM security directory (no pam_unix.so found)");
	snprintf(path, sizeof(path), "%s/pam_ephemera.so", dir);
	struct stat st;
	if (stat(path, &st) < 0)
		return verdict(why, len, FAIL, "%s: %m", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return verdict(why, len, FAIL,
			       "%s must be a file of root's not writable by group or others "
			       "(owner uid %u, mode %04o)",
			       path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return verdict(why, len, OK, "%s", path);
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
		return verdict(why, len, WARN, "cannot run %s: %s", SSHD_PATH, strerror(-r));
	return verdict(why, len, WARN, "cannot tell: %s -T failed with status %d: %.*s", SSHD_PATH,
		       r, (int)strcspn(out, "\n"), out);
}

/* The policy applies to each gateway user: forwarding off, no ~/.ssh/rc. */
static enum level check_sshd_policy(const struct doctor *d, const void *arg, char *why,
				    size_t len)
{
	(void)arg;
	if (access(SSHD_PATH, X_OK) < 0)
		return verdict(why, len, OK, "sshd is not installed");
	if (access(SSHD_SNIPPET, R_OK) < 0)
		return verdict(why, len, WARN, "%s: %m", SSHD_SNIPPET);
	_cleanup_free_ char *out = malloc(SSHD_OUT_MAX);
	if (!out)
		return verdict(why, len, WARN, "out of memory");
	why[0] = '\0';
	for (size_t i = 0; i < d->cfg.n_gateway_users; i++) {
		const char *u = d->cfg.gateway_users[i];
		int r = sshd_effective(u, out, SSHD_OUT_MAX);
		if (r != 0)
			return sshd_failed(r, out, why, len);
		if (!has_setting(out, "disableforwarding", "yes") ||
		    !has_setting(out, "permituserrc", "no"))
			append(why, len, "%s: forwarding or ~/.ssh/rc allowed (not on the Match line "
					 "of %s?)", u, SSHD_SNIPPET);
	}
	if (why[0])
		return WARN;
	return verdict(why, len, OK, "%s in effect for %zu gateway user(s)", SSHD_SNIPPET,
		       d->cfg.n_gateway_users);
}

static bool internal_sftp(const char *conf)
{
	return has_setting(conf, "subsystem", "sftp internal-sftp") ||
	       has_setting(conf, "forcecommand", "internal-sftp");
}

/* internal-sftp runs inside sshd and never reaches ephemera-shell; OpenSSH
 * 9.2 allows no Subsystem in a Match block, so it would serve every account. */
static enum level check_sshd_sftp(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	if (access(SSHD_PATH, X_OK) < 0)
		return verdict(why, len, OK, "sshd is not installed");
	_cleanup_free_ char *out = malloc(SSHD_OUT_MAX);
	if (!out)
		return verdict(why, len, WARN, "out of memory");
	size_t n = d->cfg.n_gateway_users;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *u = n ? d->cfg.gateway_users[i] : NULL;
		int r = sshd_effective(u, out, SSHD_OUT_MAX);
		if (r != 0)
			return sshd_failed(r, out, why, len);
		if (internal_sftp(out))
			return verdict(why, len, FAIL,
				       "sshd serves sftp with internal-sftp%s%s: it never runs "
				       "ephemera-shell, so gateway accounts get an unsandboxed sftp",
				       u ? " for " : "", u ? u : "");
	}
	return verdict(why, len, OK, "sftp runs through the login shell");
}

/* ---- state on the disk ---- */

/* home_open_sessions_dir() is the allocator's own check; it would also make
 * a missing directory and reset the mode to 0711, so it is called only
 * where it cannot change anything. */
static enum level check_sessions_dir(const struct doctor *d, const void *arg, char *why,
				     size_t len)
{
	(void)arg;
	const char *dir = d->cfg.sessions_dir;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return verdict(why, len, errno == ENOENT ? WARN : FAIL, "%s: %m%s", dir,
			       errno == ENOENT ? " (made at the first login)" : "");
	mode_t mode = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode) && mode != 0711 && !(mode & 0022))
		return verdict(why, len, WARN, "%s: mode %04o, not 0711 (the next login resets it)",
			       dir, (unsigned)mode);
	int fd = home_open_sessions_dir(dir, true);
	if (fd < 0)
		return verdict(why, len, FAIL, "%s: %s", dir, home_strerror(fd));
	close(fd);
	return verdict(why, len, OK, "%s: root's, 0711, on a nosuid,nodev mount", dir);
}

/* path is root's with exactly this mode, and of this type. */
static enum level check_node(const char *path, mode_t type, mode_t mode, char *why, size_t len)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return verdict(why, len, errno == ENOENT ? WARN : FAIL, "%s: %m%s", path,
			       errno == ENOENT ? " (made at the first login)" : "");
	if ((st.st_mode & S_IFMT) != type || st.st_uid != 0 || (st.st_mode & 07777) != mode)
		return verdict(why, len, FAIL, "%s must be root's, mode %04o (is uid %u, mode %04o%s)",
			       path, (unsigned)mode, (unsigned)st.st_uid,
			       (unsigned)(st.st_mode & 07777),
			       (st.st_mode & S_IFMT) != type ? ", wrong type" : "");
	return OK;
}

static enum level check_database(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", d->cfg.database);
	enum level l = check_node(dirname(copy), S_IFDIR, 0700, why, len);
	if (l == OK)
		l = check_node(d->cfg.database, S_IFREG, 0600, why, len);
	if (l != OK)
		return l;
	struct db *db;
	char err[512];
	if (db_open(d->cfg.database, &db, err, sizeof(err)) < 0)
		return verdict(why, len, FAIL, "%s", err);
	int r = db_integrity_check(db);
	l = r < 0 ? verdict(why, len, FAIL, "%s: %s", d->cfg.database, db_errmsg(db))
		  : verdict(why, len, OK, "%s: integrity_check ok", d->cfg.database);
	db_close(db);
	return l;
}

/* ---- the UID range ---- */

struct range_scan {
	const struct ephemera_config *cfg;
	const char *file;
	int id_fields[2]; /* fields holding an id (-1: none) */
	const char *id_names[2];
	bool subid;	  /* fields 1 and 2 are start and count */
	char *why;
	size_t len;
	unsigned hits;
};

static bool in_range(const struct ephemera_config *cfg, uint64_t lo, uint64_t hi)
{
	return lo <= cfg->uid_max && hi >= cfg->uid_min;
}

static void scan_entry(struct range_scan *s, char **f, size_t n)
{
	uint64_t a, b;
	if (s->subid) {
		if (n >= 3 && parse_u64(f[1], 0, UINT32_MAX, &a) == 0 &&
		    parse_u64(f[2], 1, UINT32_MAX, &b) == 0 && in_range(s->cfg, a, a + b - 1) &&
		    s->hits++ == 0)
			append(s->why, s->len, "%s: %.32s has %llu-%llu", s->file, f[0],
			       (unsigned long long)a, (unsigned long long)(a + b - 1));
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(s->id_fields); i++) {
		int k = s->id_fields[i];
		if (k >= 0 && (size_t)k < n && parse_u64(f[k], 0, UINT32_MAX, &a) == 0 &&
		    in_range(s->cfg, a, a) && s->hits++ == 0)
			append(s->why, s->len, "%s: %.32s has %s %llu", s->file, f[0],
			       s->id_names[i], (unsigned long long)a);
	}
}

static int scan_file(struct range_scan *s)
{
	_cleanup_fclose_ FILE *f = fopen(s->file, "re");
	if (!f)
		return errno == ENOENT ? 0 : neg_errno();
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > 4096)
			continue; /* no sane entry is that long */
		line[strcspn(line, "\n")] = '\0';
		char *fields[8], *p = line;
		size_t k = 0;
		while (k < ELEMENTSOF(fields) && p) {
			fields[k++] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		scan_entry(s, fields, k);
	}
	return 0;
}

static enum level check_uid_range(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	struct range_scan scans[] = {
	    {.file = "/etc/passwd", .id_fields = {2, 3}, .id_names = {"uid", "gid"}},
	    {.file = "/etc/group", .id_fields = {2, -1}, .id_names = {"gid", NULL}},
	    {.file = "/etc/subuid", .id_fields = {-1, -1}, .subid = true},
	    {.file = "/etc/subgid", .id_fields = {-1, -1}, .subid = true},
	};
	why[0] = '\0';
	unsigned hits = 0;
	for (size_t i = 0; i < ELEMENTSOF(scans); i++) {
		scans[i].cfg = &d->cfg;
		scans[i].why = why;
		scans[i].len = len;
		int r = scan_file(&scans[i]);
		if (r < 0)
			append(why, len, "%s: %s", scans[i].file, strerror(-r));
		if (scans[i].hits > 1)
			append(why, len, "%u entries of %s in all", scans[i].hits, scans[i].file);
		hits += scans[i].hits + (r < 0);
	}
	if (hits)
		return FAIL;
	return verdict(why, len, OK, "%u-%u: in no passwd, group, subuid or subgid entry",
		       d->cfg.uid_min, d->cfg.uid_max);
}

/* ---- accounts ---- */

static void check_user(const char *user, char *why, size_t len)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (e || !res)
		append(why, len, "%s: %s", user, e ? strerror(e) : "no such account");
	else if (strcmp(pw.pw_shell, GATEWAY_SHELL) != 0)
		append(why, len, "%s: shell %.60s, not %s (PAM refuses its logins)", user,
		       pw.pw_shell, GATEWAY_SHELL);
}

static enum level check_gateways(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	const struct ephemera_config *c = &d->cfg;
	if (c->n_gateway_users + c->n_gateway_groups == 0)
		return verdict(why, len, WARN, "no gateway accounts in [gateway] accounts");
	why[0] = '\0';
	for (size_t i = 0; i < c->n_gateway_users; i++)
		check_user(c->gateway_users[i], why, len);
	for (size_t i = 0; i < c->n_gateway_groups; i++)
		if (!getgrnam(c->gateway_groups[i]))
			append(why, len, "@%s: no such group", c->gateway_groups[i]);
	if (why[0])
		return WARN;
	return verdict(why, len, OK, "%zu user(s) with shell %s, %zu group(s)", c->n_gateway_users,
		       GATEWAY_SHELL, c->n_gateway_groups);
}

/* ---- sysctls ---- */

struct sysctl {
	const char *path; /* under /proc/sys */
	const char *want;
	const char *why;
};

static const struct sysctl protected_symlinks = {
    "fs/protected_symlinks", "1",
    "a symlink in a sticky world-writable directory such as /tmp is followed for anyone"};
static const struct sysctl protected_hardlinks = {
    "fs/protected_hardlinks", "1",
    "users may hard-link files they cannot write, e.g. into a session's output"};
static const struct sysctl legacy_tiocsti = {
    "dev/tty/legacy_tiocsti", "0",
    "TIOCSTI can type into a terminal outside a sandbox (inside sessions ephemera-shell's "
    "seccomp filter blocks it)"};

/* The value, or -errno. */
static int read_sysctl(const struct sysctl *s, char *ret, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/%s", s->path);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || !fgets(ret, (int)size, f))
		return f ? -EIO : neg_errno();
	ret[strcspn(ret, " \t\n")] = '\0';
	return 0;
}

static enum level check_sysctl(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)d;
	const struct sysctl *s = arg;
	char value[32];
	int r = read_sysctl(s, value, sizeof(value));
	if (r == -ENOENT && s == &legacy_tiocsti)
		return verdict(why, len, WARN,
			       "no dev.tty.legacy_tiocsti on this kernel (before Linux 6.2): "
			       "TIOCSTI cannot be turned off; ephemera-shell's seccomp filter "
			       "blocks it inside sessions anyway");
	if (r < 0)
		return verdict(why, len, WARN, "/proc/sys/%s: %s", s->path, strerror(-r));
	if (strcmp(value, s->want) != 0)
		return verdict(why, len, WARN, "%s, not %s: %s", value, s->want, s->why);
	return verdict(why, len, OK, "%s", value);
}

/* ---- the table ---- */

static const struct check {
	const char *name;
	check_fn fn;
	const void *arg;
	bool needs_config;
} checks[] = {
    {"config", check_config, NULL, false},
    {"namespaces", check_namespaces, NULL, false},
    {"seccomp", check_seccomp, NULL, false},
    {"shell", check_shell, NULL, false},
    {"shell-dirs", check_shell_dirs, NULL, false},
    {"etc-shells", check_etc_shells, NULL, false},
    {"pam-sshd", check_pam_service, "sshd", false},
    {"pam-su", check_pam_service, "su", false},
    {"pam-login", check_pam_service, "login", false},
    {"pam-module", check_pam_module, NULL, false},
    {"sshd-policy", check_sshd_policy, NULL, true},
    {"sshd-sftp", check_sshd_sftp, NULL, true},
    {"sessions-dir", check_sessions_dir, NULL, true},
    {"database", check_database, NULL, true},
    {"uid-range", check_uid_range, NULL, true},
    {"gateway-accounts", check_gateways, NULL, true},
    {"protected-symlinks", check_sysctl, &protected_symlinks, false},
    {"protected-hardlinks", check_sysctl, &protected_hardlinks, false},
    {"legacy-tiocsti", check_sysctl, &legacy_tiocsti, false},
};

int doctor_run(const char *conf_path, FILE *out)
{
	struct doctor d = {.conf_path = conf_path};
	d.have_cfg = config_load(conf_path, &d.cfg, d.cfg_err, sizeof(d.cfg_err)) == 0;
	unsigned count[3] = {0, 0, 0};
	for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
		char why[1024] = "";
		enum level l = WARN;
		if (checks[i].needs_config && !d.have_cfg)
			snprintf(why, sizeof(why), "not checked: the configuration did not load");
		else
			l = checks[i].fn(&d, checks[i].arg, why, sizeof(why));
		count[l]++;
		fprintf(out, "%-4s %-19s %s\n", level_names[l], checks[i].name, why);
		fflush(out);
	}
	fprintf(out, "%u OK, %u WARN, %u FAIL\n", count[OK], count[WARN], count[FAIL]);
	if (d.have_cfg)
		config_free(&d.cfg);
	return fflush(out) == 0 && !ferror(out) ? (int)count[FAIL] : -EIO;
}

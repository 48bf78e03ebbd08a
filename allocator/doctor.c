/* The checks of ephemeractl doctor (doctor.h), one small function each, run
 * in the order of the table at the end.  Files such as /etc/passwd or
 * /etc/pam.d/sshd are read directly and treated as untrusted text: a line we
 * cannot parse is skipped, never a reason to trust more. */
#include "allocator/doctor.h"
#include "allocator/doctor-internal.h"

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


static const char *const level_names[] = {"OK", "WARN", "FAIL"};

typedef enum level (*check_fn)(const struct doctor *d, const void *arg, char *why, size_t len);

enum level doctor_verdict(char *why, size_t len, enum level l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return l;
}

void doctor_append(char *why, size_t len, const char *fmt, ...)
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

int doctor_in_child(int (*fn)(int), int arg)
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
		return doctor_verdict(why, len, FAIL, "%s", d->cfg_err);
	if (lstat(d->conf_path, &st) < 0)
		return doctor_verdict(why, len, WARN, "%s: %m: the built-in defaults apply", d->conf_path);
	return doctor_verdict(why, len, OK, "%s", d->conf_path);
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
		int e = doctor_in_child(try_namespace, ns[i].flag);
		if (e)
			doctor_append(why, len, "%s: %s", ns[i].name, strerror(e));
	}
	if (why[0])
		return FAIL;
	return doctor_verdict(why, len, OK, "mount, pid, net, uts, ipc and cgroup namespaces created");
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
	int e = doctor_in_child(try_seccomp, 0);
	if (e == EPROTO)
		return doctor_verdict(why, len, FAIL, "a filter loaded but did not act");
	if (e)
		return doctor_verdict(why, len, FAIL, "cannot load a filter: %s", strerror(e));
	return doctor_verdict(why, len, OK, "a filter loaded and acted");
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
		return doctor_verdict(why, len, errno == ENOENT ? WARN : FAIL, "%s: %m%s", dir,
			       errno == ENOENT ? " (made at the first login)" : "");
	mode_t mode = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode) && mode != 0711 && !(mode & 0022))
		return doctor_verdict(why, len, WARN, "%s: mode %04o, not 0711 (the next login resets it)",
			       dir, (unsigned)mode);
	int fd = home_open_sessions_dir(dir, true);
	if (fd < 0)
		return doctor_verdict(why, len, FAIL, "%s: %s", dir, home_strerror(fd));
	close(fd);
	return doctor_verdict(why, len, OK, "%s: root's, 0711, on a nosuid,nodev mount", dir);
}

/* path is root's with exactly this mode, and of this type. */
static enum level check_node(const char *path, mode_t type, mode_t mode, char *why, size_t len)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return doctor_verdict(why, len, errno == ENOENT ? WARN : FAIL, "%s: %m%s", path,
			       errno == ENOENT ? " (made at the first login)" : "");
	if ((st.st_mode & S_IFMT) != type || st.st_uid != 0 || (st.st_mode & 07777) != mode)
		return doctor_verdict(why, len, FAIL, "%s must be root's, mode %04o (is uid %u, mode %04o%s)",
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
		return doctor_verdict(why, len, FAIL, "%s", err);
	int r = db_integrity_check(db);
	l = r < 0 ? doctor_verdict(why, len, FAIL, "%s: %s", d->cfg.database, db_errmsg(db))
		  : doctor_verdict(why, len, OK, "%s: integrity_check ok", d->cfg.database);
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
			doctor_append(s->why, s->len, "%s: %.32s has %llu-%llu", s->file, f[0],
			       (unsigned long long)a, (unsigned long long)(a + b - 1));
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(s->id_fields); i++) {
		int k = s->id_fields[i];
		if (k >= 0 && (size_t)k < n && parse_u64(f[k], 0, UINT32_MAX, &a) == 0 &&
		    in_range(s->cfg, a, a) && s->hits++ == 0)
			doctor_append(s->why, s->len, "%s: %.32s has %s %llu", s->file, f[0],
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
			doctor_append(why, len, "%s: %s", scans[i].file, strerror(-r));
		if (scans[i].hits > 1)
			doctor_append(why, len, "%u entries of %s in all", scans[i].hits, scans[i].file);
		hits += scans[i].hits + (r < 0);
	}
	if (hits)
		return FAIL;
	return doctor_verdict(why, len, OK, "%u-%u: in no passwd, group, subuid or subgid entry",
		       d->cfg.uid_min, d->cfg.uid_max);
}

/* ---- accounts ---- */

static void check_user(const char *user, char *why, size_t len)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (e || !res)
		doctor_append(why, len, "%s: %s", user, e ? strerror(e) : "no such account");
	else if (strcmp(pw.pw_shell, GATEWAY_SHELL) != 0)
		doctor_append(why, len, "%s: shell %.60s, not %s (PAM refuses its logins)", user,
		       pw.pw_shell, GATEWAY_SHELL);
}

static enum level check_gateways(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	const struct ephemera_config *c = &d->cfg;
	if (c->n_gateway_users + c->n_gateway_groups == 0)
		return doctor_verdict(why, len, WARN, "no gateway accounts in [gateway] accounts");
	why[0] = '\0';
	for (size_t i = 0; i < c->n_gateway_users; i++)
		check_user(c->gateway_users[i], why, len);
	for (size_t i = 0; i < c->n_gateway_groups; i++)
		if (!getgrnam(c->gateway_groups[i]))
			doctor_append(why, len, "@%s: no such group", c->gateway_groups[i]);
	if (why[0])
		return WARN;
	return doctor_verdict(why, len, OK, "%zu user(s) with shell %s, %zu group(s)", c->n_gateway_users,
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
		return doctor_verdict(why, len, WARN,
			       "no dev.tty.legacy_tiocsti on this kernel (before Linux 6.2): "
			       "TIOCSTI cannot be turned off; ephemera-shell's seccomp filter "
			       "blocks it inside sessions anyway");
	if (r < 0)
		return doctor_verdict(why, len, WARN, "/proc/sys/%s: %s", s->path, strerror(-r));
	if (strcmp(value, s->want) != 0)
		return doctor_verdict(why, len, WARN, "%s, not %s: %s", value, s->want, s->why);
	return doctor_verdict(why, len, OK, "%s", value);
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
    {"limits-host", check_limits_host, NULL, true},
    {"limits-profiles", check_limits_profiles, NULL, true},
    {"extra-mounts", check_mounts, NULL, true},
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

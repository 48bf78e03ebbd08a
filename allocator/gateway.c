#include "allocator/gateway.h"

#include "allocator/confedit.h"
#include "allocator/runprog.h"
#include "common/config.h"
#include "common/util.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#define STATE_PARENT "/var/lib/ephemera"
#define STATE_MAX    512

enum origin { ORIGIN_NONE, ORIGIN_CREATED, ORIGIN_ADOPTED };

struct state {
	enum origin origin;
	char shell[256]; /* ORIGIN_ADOPTED: the shell before; may be empty */
};

struct gw {
	const char *conf, *user;
	gateway_log_fn log;
	char *err;
	size_t errlen;
	int changes;
	char home[sizeof(GATEWAY_HOME_ROOT) + CONFIG_NAME_MAX + 1];
};

static int fail(struct gw *g, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct gw *g, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, g->errlen, fmt, ap);
	va_end(ap);
	return r;
}

static void say(struct gw *g, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct gw *g, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (prio == LOG_NOTICE)
		g->changes++;
	if (g->log)
		g->log(prio, msg);
}

/* A shell worth recording: empty (passwd's "/bin/sh") or an absolute path
 * without blanks, control characters or ':'. */
static bool valid_shell(const char *s)
{
	if (strlen(s) >= sizeof(((struct state *)0)->shell) || (s[0] && s[0] != '/'))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ':')
			return false;
	return true;
}

/* ---- the record of what setup did: GATEWAY_STATE_DIR/USER ---- */

static int open_state_dir(struct gw *g)
{
	if ((mkdir(STATE_PARENT, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(GATEWAY_STATE_DIR, 0700) < 0 && errno != EEXIST))
		return fail(g, neg_errno(), "%s: %m", GATEWAY_STATE_DIR);
	_cleanup_close_ int fd = open(GATEWAY_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							     O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(g, neg_errno(), "%s: %m", GATEWAY_STATE_DIR);
	if (st.st_uid != 0 || (st.st_mode & 0077))
		return fail(g, -EPERM, "%s must be root's, mode 0700", GATEWAY_STATE_DIR);
	return take_fd(&fd);
}

static int parse_state(struct gw *g, const char *text, struct state *ret)
{
	struct state s = {ORIGIN_NONE, ""};
	if (strcmp(text, "created\n") == 0) {
		s.origin = ORIGIN_CREATED;
	} else if (strncmp(text, "adopted ", 8) == 0 && text[strlen(text) - 1] == '\n') {
		s.origin = ORIGIN_ADOPTED;
		snprintf(s.shell, sizeof(s.shell), "%.*s", (int)(strlen(text) - 9), text + 8);
		if (!valid_shell(s.shell) || strlen(text) - 9 >= sizeof(s.shell))
			s.origin = ORIGIN_NONE;
	}
	if (s.origin == ORIGIN_NONE)
		return fail(g, -EBADMSG, "%s/%s: not a record of setup-gateway", GATEWAY_STATE_DIR,
			    g->user);
	*ret = s;
	return 0;
}

static int state_read(struct gw *g, int dfd, struct state *ret)
{
	_cleanup_close_ int fd = openat(dfd, g->user, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*ret = (struct state){ORIGIN_NONE, ""};
		return 0;
	}
	char text[STATE_MAX + 1];
	ssize_t n = fd < 0 ? -1 : read(fd, text, STATE_MAX);
	if (n < 0)
		return fail(g, neg_errno(), "%s/%s: %m", GATEWAY_STATE_DIR, g->user);
	text[n] = '\0';
	if (n == 0 || strlen(text) != (size_t)n)
		return fail(g, -EBADMSG, "%s/%s: not a record of setup-gateway", GATEWAY_STATE_DIR,
			    g->user);
	return parse_state(g, text, ret);
}

/* USER.new, fsynced, renamed over USER: the record is whole or absent. */
static int state_write(struct gw *g, int dfd, const struct state *s)
{
	char tmp[CONFIG_NAME_MAX + 8], text[STATE_MAX];
	snprintf(tmp, sizeof(tmp), "%s.new", g->user);
	int len = s->origin == ORIGIN_CREATED ? snprintf(text, sizeof(text), "created\n")
					      : snprintf(text, sizeof(text), "adopted %s\n", s->shell);
	_cleanup_close_ int fd =
	    openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)len) != len || fsync(fd) < 0 ||
	    renameat(dfd, tmp, dfd, g->user) < 0 || fsync(dfd) < 0) {
		int r = neg_errno();
		unlinkat(dfd, tmp, 0);
		return fail(g, r, "%s/%s: cannot record: %s", GATEWAY_STATE_DIR, g->user,
			    strerror(-r));
	}
	return 0;
}

static int state_delete(struct gw *g, int dfd)
{
	if (unlinkat(dfd, g->user, 0) < 0 && errno != ENOENT)
		return fail(g, neg_errno(), "%s/%s: %m", GATEWAY_STATE_DIR, g->user);
	return 0;
}

/* ---- the account ---- */

/* 1 and the entry in pw (strings in buf) when the user exists, 0 if not. */
static int lookup(struct gw *g, struct passwd *pw, char *buf, size_t len)
{
	struct passwd *res = NULL;
	int e = getpwnam_r(g->user, pw, buf, len, &res);
	if (e != 0)
		return fail(g, -e, "cannot look up %s: %s", g->user, strerror(e));
	return res != NULL;
}

static int run_tool(struct gw *g, const char *const argv[])
{
	int r = runprog(argv, NULL, 0);
	if (r < 0)
		return fail(g, r, "%s: %s", argv[0], r == -ECHILD ? "killed" : strerror(-r));
	if (r > 0)
		return fail(g, -EIO, "%s %s exited with status %d", argv[0], g->user, r);
	return 0;
}

/* DIR/NAME as root:root 0755, through fds; the new directory's fd. */
static int make_root_dir(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return neg_errno();
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	return fd;
}

/* The gateway account's home is root's: nothing in it is the account's to
 * change (~/.ssh/rc, authorized_keys, dotfiles sshd or su might read). */
static int make_home(struct gw *g)
{
	_cleanup_close_ int root = open(GATEWAY_HOME_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int home = root < 0 ? -errno : make_root_dir(root, g->user);
	_cleanup_close_ int ssh = home < 0 ? home : make_root_dir(home, ".ssh");
	if (ssh < 0)
		return fail(g, ssh, "%s: %s", g->home, strerror(-ssh));
	return 0;
}

/* What setup refuses, found out before it changes anything. */
static int refusal(struct gw *g, bool found, const struct passwd *pw)
{
	struct stat st;
	if (found && pw->pw_uid < GATEWAY_MIN_UID)
		return fail(g, -EPERM, "refusing %s: uid %u is below %u, a system account", g->user,
			    (unsigned)pw->pw_uid, GATEWAY_MIN_UID);
	if (!found && lstat(g->home, &st) == 0)
		return fail(g, -EEXIST, "%s already exists; refusing to create %s over it",
			    g->home, g->user);
	return 0;
}

static int create_account(struct gw *g, int sdfd)
{
	const struct state s = {ORIGIN_CREATED, ""};
	int r = state_write(g, sdfd, &s);
	const char *const argv[] = {"/usr/sbin/useradd", "--no-create-home", "--home-dir", g->home,
				    "--shell", GATEWAY_SHELL, "--password", "*", "--user-group",
				    "--comment", "ephemera gateway account", "--", g->user, NULL};
	if (r == 0 && (r = run_tool(g, argv)) < 0)
		(void)state_delete(g, sdfd); /* useradd made nothing */
	if (r == 0 && (r = make_home(g)) == 0)
		say(g, LOG_NOTICE, "created account %s (shell %s, home %s)", g->user,
		    GATEWAY_SHELL, g->home);
	return r;
}

static int adopt_account(struct gw *g, int sdfd, const struct passwd *pw)
{
	if (strcmp(pw->pw_shell, GATEWAY_SHELL) == 0)
		return 0;
	struct state s = {ORIGIN_ADOPTED, ""};
	int r = state_read(g, sdfd, &s);
	if (r < 0)
		return r;
	if (s.origin == ORIGIN_NONE) { /* else an earlier run recorded the first shell */
		if (!valid_shell(pw->pw_shell))
			return fail(g, -EINVAL, "refusing %s: cannot record its shell '%.60s'",
				    g->user, pw->pw_shell);
		s = (struct state){ORIGIN_ADOPTED, ""};
		snprintf(s.shell, sizeof(s.shell), "%s", pw->pw_shell);
		if ((r = state_write(g, sdfd, &s)) < 0)
			return r;
	}
	const char *const argv[] = {"/usr/sbin/usermod", "--shell", GATEWAY_SHELL, "--", g->user,
				    NULL};
	if ((r = run_tool(g, argv)) < 0)
		return r;
	say(g, LOG_NOTICE, "adopted account %s: shell %s, was %s", g->user, GATEWAY_SHELL,
	    pw->pw_shell[0] ? pw->pw_shell : "(empty)");
	return 0;
}

/* The home setup made: rmdir of .ssh and of the home, so that anything an
 * admin put there (authorized_keys) stays, with a warning. */
static void remove_home(struct gw *g)
{
	_cleanup_close_ int root = open(GATEWAY_HOME_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int home =
	    root < 0 ? -1 : openat(root, g->user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (home < 0 || fstat(home, &st) < 0 || st.st_uid != 0) {
		if (home >= 0 || errno != ENOENT)
			say(g, LOG_WARNING, "left %s: not the root-owned home setup made", g->home);
		return;
	}
	if ((unlinkat(home, ".ssh", AT_REMOVEDIR) < 0 && errno != ENOENT) ||
	    unlinkat(root, g->user, AT_REMOVEDIR) < 0) {
		say(g, LOG_WARNING, "left %s: %m", g->home);
		return;
	}
	say(g, LOG_NOTICE, "removed %s", g->home);
}

static int delete_account(struct gw *g, const struct passwd *pw)
{
	if (strcmp(pw->pw_shell, GATEWAY_SHELL) != 0) {
		say(g, LOG_WARNING, "left account %s: its shell is %s now, not %s", g->user,
		    pw->pw_shell, GATEWAY_SHELL);
		return 0;
	}
	bool our_home = strcmp(pw->pw_dir, g->home) == 0;
	const char *const argv[] = {"/usr/sbin/userdel", "--", g->user, NULL};
	int r = run_tool(g, argv);
	if (r < 0)
		return r;
	say(g, LOG_NOTICE, "deleted account %s", g->user);
	if (our_home)
		remove_home(g);
	return 0;
}

static int restore_shell(struct gw *g, const struct passwd *pw, const char *shell)
{
	if (strcmp(pw->pw_shell, GATEWAY_SHELL) != 0) {
		say(g, LOG_WARNING, "left the shell of %s: it is %s now, not %s", g->user,
		    pw->pw_shell, GATEWAY_SHELL);
		return 0;
	}
	const char *const argv[] = {"/usr/sbin/usermod", "--shell", shell, "--", g->user, NULL};
	int r = run_tool(g, argv);
	if (r == 0)
		say(g, LOG_NOTICE, "restored the shell of %s to %s", g->user,
		    shell[0] ? shell : "(empty)");
	return r;
}

/* ---- the two commands ---- */

static int begin(struct gw *g, const char *conf, const char *user, gateway_log_fn log,
		 char *err, size_t errlen)
{
	*g = (struct gw){.conf = conf, .user = user, .log = log, .err = err, .errlen = errlen};
	if (!config_valid_name(user))
		return fail(g, -EINVAL,
			    "invalid user name (want [a-z_][a-z0-9_-]*, at most %d bytes)",
			    CONFIG_NAME_MAX);
	snprintf(g->home, sizeof(g->home), "%s/%s", GATEWAY_HOME_ROOT, user);
	/* The file must be sound before we edit it (confedit checks after). */
	struct ephemera_config cfg;
	char why[512];
	if (config_load(conf, &cfg, why, sizeof(why)) < 0)
		return fail(g, -EINVAL, "%s", why);
	config_free(&cfg);
	return 0;
}

static int edit_config(struct gw *g, bool add)
{
	int r = confedit_gateway(g->conf, g->user, add, g->err, g->errlen);
	if (r > 0)
		say(g, LOG_NOTICE, "%s %s %s [gateway] accounts of %s", add ? "added" : "removed",
		    g->user, add ? "to" : "from", g->conf);
	return r < 0 ? r : 0;
}

int gateway_setup(const char *conf, const char *user, gateway_log_fn log, char *err,
		  size_t errlen)
{
	struct gw g;
	int r = begin(&g, conf, user, log, err, errlen);
	if (r < 0)
		return r;
	_cleanup_close_ int sdfd = open_state_dir(&g);
	if (sdfd < 0)
		return sdfd;
	struct passwd pw;
	char buf[4096];
	int found = lookup(&g, &pw, buf, sizeof(buf));
	if (found < 0)
		return found;
	/* The config first: its edit is what most often fails (a full or
	 * unloadable file), and then no account was touched. */
	if ((r = refusal(&g, found, &pw)) < 0 || (r = edit_config(&g, true)) < 0)
		return r;
	r = found ? adopt_account(&g, sdfd, &pw) : create_account(&g, sdfd);
	return r < 0 ? r : g.changes;
}

int gateway_remove(const char *conf, const char *user, gateway_log_fn log, char *err,
		   size_t errlen)
{
	struct gw g;
	int r = begin(&g, conf, user, log, err, errlen);
	if (r == 0)
		r = edit_config(&g, false);
	if (r < 0)
		return r;
	_cleanup_close_ int sdfd = open_state_dir(&g);
	if (sdfd < 0)
		return sdfd;
	struct state s;
	struct passwd pw;
	char buf[4096];
	int found = 0;
	if ((r = state_read(&g, sdfd, &s)) < 0 || (found = lookup(&g, &pw, buf, sizeof(buf))) < 0)
		return r < 0 ? r : found;
	if (s.origin == ORIGIN_NONE && found && strcmp(pw.pw_shell, GATEWAY_SHELL) == 0)
		say(&g, LOG_WARNING, "left the shell of %s as %s: setup-gateway did not set it",
		    user, GATEWAY_SHELL);
	if (found && s.origin == ORIGIN_CREATED)
		r = delete_account(&g, &pw);
	else if (found && s.origin == ORIGIN_ADOPTED)
		r = restore_shell(&g, &pw, s.shell);
	if (r == 0 && s.origin != ORIGIN_NONE)
		r = state_delete(&g, sdfd);
	return r < 0 ? r : g.changes;
}

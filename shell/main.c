/* ephemera-shell: the login shell of every gateway account, installed setuid
 * root.  One pass, top to bottom: hygiene -> arguments -> caller -> session
 * -> sandbox plan -> launch (build, drop, exec) -> record the end.  Every
 * failure before the real shell runs is fatal: one line on stderr and in
 * syslog, the session marked failed, nothing started (fail closed). */
#include "allocator/quota.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "shell/cgroup.h"
#include "shell/env.h"
#include "shell/hygiene.h"
#include "shell/join.h"
#include "shell/launcher.h"
#include "shell/mounts.h"
#include "shell/net.h"
#include "shell/sandbox.h"
#include "shell/session.h"

#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

struct invocation {
	bool login;
	const char *command; /* -c COMMAND, or NULL */
};

/* Set once a session exists, so that die() can mark it failed -- or, for a
 * login that joins a running session, end only its own login row. */
static const struct ephemera_config *die_cfg;
static const char *die_session;
static struct shell_session *die_joined;

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static _Noreturn void die(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (die_joined)
		shell_session_login_failed(die_joined);
	else if (die_session)
		(void)shell_session_fail(die_cfg, die_session, msg);
	log_die(die_session, "%s", msg);
}

static const char usage_text[] =
    "Usage: ephemera-shell [-l] [-c COMMAND]\n"
    "The login shell of ephemera gateway accounts: every login runs in a fresh,\n"
    "throwaway sandbox as a transient user.  See ephemera-shell(8).\n"
    "  -l, --login    run the real shell as a login shell\n"
    "  -c COMMAND     run COMMAND with the real shell's -c\n"
    "  --help         show this help\n"
    "  --version      show the version\n";

static void parse_args(int argc, char **argv, struct invocation *inv)
{
	if (hygiene_check_args(argc, argv) < 0)
		die("too many or too long arguments");
	*inv = (struct invocation){.login = argv[0][0] == '-'};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (!strcmp(a, "--version")) {
			printf("ephemera-shell %s\n", EPHEMERA_VERSION);
			exit(0);
		} else if (!strcmp(a, "-l") || !strcmp(a, "--login")) {
			inv->login = true;
		} else if (!strcmp(a, "-c") && i + 1 < argc && !inv->command) {
			inv->command = argv[++i];
		} else {
			die("unexpected argument '%.40s' (try --help)", a);
		}
	}
}

/* The caller is who the kernel said (the real uid at exec, kept by hygiene_early),
 * never what the environment says. */
static void identify_caller(uid_t uid, struct ephemera_config *cfg, struct passwd *ret_pw,
			    char *buf, size_t bufsz)
{
	if (uid == 0)
		die("root is not a gateway account");
	struct passwd *res = NULL;
	if (getpwuid_r(uid, ret_pw, buf, bufsz, &res) != 0 || !res)
		die("uid %u has no account", (unsigned)uid);
	char err[512];
	/* Only the built-in path: a setuid program honours no config from its caller. */
	if (config_load(CONFIG_DEFAULT_PATH, cfg, err, sizeof(err)) < 0)
		die("config: %s", err);
	int g = config_is_gateway(cfg, ret_pw->pw_name, ret_pw->pw_gid);
	if (g < 0)
		die("cannot tell whether %s is a gateway account: %s", ret_pw->pw_name,
		    strerror(-g));
	if (g == 0)
		die("%s is not an ephemera gateway account", ret_pw->pw_name);
}

/* argv of the real shell: "-bash" for a login, then -c COMMAND if given. */
static void shell_argv(const char *shell, const struct invocation *inv, char *argv0, size_t argv0sz,
		       char **ret_argv)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", shell);
	snprintf(argv0, argv0sz, "%s%s", inv->login ? "-" : "", basename(copy));
	size_t n = 0;
	ret_argv[n++] = argv0;
	if (inv->command) {
		ret_argv[n++] = (char *)"-c";
		ret_argv[n++] = (char *)inv->command;
	}
	ret_argv[n] = NULL;
}

/* A session name from the environment, bounded and checked, or "". */
static void read_name(const char *var, char *buf, size_t size)
{
	const char *v = getenv(var);
	if (v && strlen(v) < size && config_valid_name(v))
		snprintf(buf, size, "%s", v);
	else if (v)
		die("%s is not a session name", var);
}

/* EPHEMERA_SESSION and EPHEMERA_ATTACH (names, or nothing) and
 * SSH_CONNECTION, copied before the environment is cleared; all bounded,
 * none trusted. */
static void read_hints(char *session, size_t ssz, char *attach, size_t asz, char *conn,
		       size_t csz)
{
	read_name("EPHEMERA_SESSION", session, ssz);
	read_name("EPHEMERA_ATTACH", attach, asz);
	const char *v;
	v = getenv("SSH_CONNECTION");
	snprintf(conn, csz, "%s", v && strlen(v) < csz ? v : "");
}

static void build_env(struct session_env *env, const char *name, const char *home,
		      const char *shell)
{
	if (env_set(env, "HOME", home) < 0 || env_set(env, "USER", name) < 0 ||
	    env_set(env, "LOGNAME", name) < 0 || env_set(env, "SHELL", shell) < 0 ||
	    env_set(env, "PATH", "/usr/local/bin:/usr/bin:/bin") < 0 ||
	    env_set(env, "EPHEMERA_SESSION", name) < 0)
		die("building the environment: out of memory");
}

/* The session's cgroup (shell/cgroup.h): a limit this host cannot enforce
 * is a WARN line, one that it can but that fails refuses the login.  Sets
 * l->cgroup_fd (-1 when the session has no cgroup), and l->memory_rlimit
 * when memory_max falls back to a per-process RLIMIT_AS. */
static void set_up_cgroup(const struct ephemera_profile *prof, const char *name,
			  struct launch *l)
{
	struct shell_cgroup cg;
	char err[512] = "";
	if (shell_cgroup_create(prof, name, &cg, err, sizeof(err)) < 0)
		die("cgroup: %s", err);
	for (unsigned i = 0; i < CG_N; i++)
		if (cg.unenforced & (1u << i))
			log_msg(LOG_WARNING, name, "%s cannot be enforced on this host: %s%s",
				cgroup_ctl_key(i), cg.why[i],
				(1u << i) == CG_MEMORY
				    ? "; each process is held to it by RLIMIT_AS instead"
				    : "");
	l->cgroup_fd = cg.fd;
	if (cg.unenforced & CG_MEMORY)
		l->memory_rlimit = prof->memory_max;
}

/* disk_quota is set by the allocator; where the sessions filesystem has no
 * user quotas the login says so (a WARN, as for the cgroup limits). */
static void check_quota(const struct ephemera_config *cfg, const struct ephemera_profile *prof,
			const char *name)
{
	if (!prof->disk_quota)
		return;
	char why[160] = "";
	_cleanup_close_ int fd =
	    open(cfg->sessions_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		snprintf(why, sizeof(why), "%s: %s", cfg->sessions_dir, strerror(errno));
	if (fd < 0 || quota_probe(fd, why, sizeof(why)) < 0)
		log_msg(LOG_WARNING, name, "disk_quota cannot be enforced on this host: %s", why);
}

/* The profile's extra mounts, checked and cloned on the host (mounts.h):
 * a source that is missing, a link, or someone else's refuses the login. */
static void prepare_mounts(const struct ephemera_profile *prof, const struct passwd *pw,
			   const struct shell_session *ss, struct extra_mounts *ret)
{
	struct mounts_who who = {
	    .owner = pw->pw_name,
	    .owner_uid = pw->pw_uid,
	    .owner_gid = pw->pw_gid,
	    .session = ss->s.name,
	    .uid = ss->s.uid,
	    .gid = ss->s.gid,
	};
	char err[600];
	if (mounts_prepare(prof, &who, ret, err, sizeof(err)) < 0)
		die("%s", err);
}

/* The first login of a session builds its sandbox: the proxy (network =
 * proxy: no proxy, no login), the extra mounts, the plan, the cgroup. */
static int run_first(const struct ephemera_config *cfg, const struct passwd *pw,
		     const struct shell_session *ss, struct launch *l, char *err, size_t errlen)
{
	const struct ephemera_profile *prof = l->profile;
	static struct net_proxy np;
	const char *proxy_socket = NULL;
	if (prof->network == NET_PROXY) {
		if (net_proxy_start(cfg, prof, ss->s.name, ss->s.uid, ss->s.gid, &np, err, errlen) <
		    0)
			die("network = proxy: %s", err);
		proxy_socket = np.socket;
		l->proxy_life_fd = np.life_w;
	}
	static struct extra_mounts extra;
	prepare_mounts(prof, pw, ss, &extra);
	static struct sandbox_plan plan;
	struct sandbox_params params = {
	    .name = ss->s.name,
	    .home = l->home,
	    .uid = ss->s.uid,
	    .gid = ss->s.gid,
	    .shell = prof->shell,
	    .profile = prof,
	    .tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL,
	    .extra = &extra,
	    .proxy_socket = proxy_socket,
	};
	if (sandbox_plan_build(&plan, &params) < 0)
		die("the sandbox plan does not fit");
	l->plan = &plan;
	check_quota(cfg, prof, ss->s.name);
	log_msg(LOG_INFO, ss->s.name, "owner %s uid %u: entering the sandbox as uid %u, profile %s",
		pw->pw_name, (unsigned)pw->pw_uid, ss->s.uid, prof->name);
	set_up_cgroup(prof, ss->s.name, l);
	int status = launcher_run(l, err, errlen);
	mounts_close(&extra);
	if (proxy_socket && status < 0)
		net_proxy_stop(&np); /* no sandbox: no proxy either */
	else if (proxy_socket)
		net_proxy_leave(&np); /* it ends with pid 1, which may outlive us */
	return status;
}

/* A later login enters the sandbox that runs (shell/join.h). */
static int run_joined(const struct passwd *pw, const struct shell_session *ss, struct launch *l,
		      char *err, size_t errlen)
{
	struct proc_id init = {(pid_t)ss->s.init_pid, (uint64_t)ss->s.init_start};
	_cleanup_close_ int pid1_fd = -1, life_conn = -1;
	if (join_connect(&init, ss->s.uid, &pid1_fd, &life_conn, err, errlen) < 0) {
		if (ss->attach) {
			die_session = NULL; /* the line names it, as every refusal does */
			die("%s: attach refused: %s", ss->s.name, err);
		}
		die("cannot join session %s: %s", ss->s.name, err);
	}
	log_msg(LOG_INFO, ss->s.name, "owner %s uid %u: %s the sandbox as uid %u, profile %s",
		pw->pw_name, (unsigned)pw->pw_uid, ss->attach ? "re-attaching to" : "joining",
		ss->s.uid, l->profile->name);
	return join_run(l, ss->s.name, pid1_fd, err, errlen);
}

int main(int argc, char **argv)
{
	/* Without the setuid bit there is no sandbox to build: say so, run nothing. */
	if (geteuid() != 0) {
		fputs("ephemera-shell: not installed setuid root; refusing to run without a "
		      "sandbox\n",
		      stderr);
		return 1;
	}
	uid_t caller;
	int h = hygiene_early(&caller);
	if (h == -ENOTDIR) {
		fputs("ephemera-shell: refusing a directory as standard input or output\n", stderr);
		return 1;
	}
	if (h < 0) {
		fputs("ephemera-shell: cannot make the process safe to run\n", stderr);
		return 1;
	}
	log_open("ephemera-shell", true);
	struct session_env env = {0};
	char hint_session[33] = "", hint_attach[33] = "", hint_conn[128] = "";
	read_hints(hint_session, sizeof(hint_session), hint_attach, sizeof(hint_attach), hint_conn,
		   sizeof(hint_conn));
	struct shell_hints hints = {hint_session[0] ? hint_session : NULL, hint_conn,
				    hint_attach[0] ? hint_attach : NULL};
	if (env_keep_allowed(&env, environ) < 0 || clearenv() != 0)
		die("cleaning the environment failed");

	struct invocation inv;
	parse_args(argc, argv, &inv);

	struct ephemera_config cfg;
	struct passwd pw;
	char pwbuf[4096];
	identify_caller(caller, &cfg, &pw, pwbuf, sizeof(pwbuf));

	static struct shell_session ss;
	char err[512] = "";
	int c = shell_session_claim(&cfg, &pw, &hints, &ss, err, sizeof(err));
	if (c == -EACCES && hints.attach)
		die("%s", err); /* "NAME: attach refused: ..." */
	if (c < 0)
		die("no session for %s: %s", pw.pw_name, err);
	die_cfg = &cfg;
	die_session = ss.s.name;
	if (ss.join)
		die_joined = &ss;

	/* The profile recorded at allocation; gone from the config means the
	 * policy it named is unknown: refuse rather than guess. */
	const struct ephemera_profile *prof = config_profile_named(&cfg, ss.s.profile);
	if (!prof)
		die("profile '%s' of this session is not in the config", ss.s.profile);
	char home[4096];
	snprintf(home, sizeof(home), "%s/%s", cfg.sessions_dir, ss.s.name);
	build_env(&env, ss.s.name, home, prof->shell);
	if (prof->network == NET_PROXY && net_env(&env) < 0)
		die("building the environment: out of memory");
	char argv0[260], *shell_args[4];
	shell_argv(prof->shell, &inv, argv0, sizeof(argv0), shell_args);

	/* The login's PAM caller: while it lives, so does this login. */
	_cleanup_close_ int pam_fd = ss.pam.pid > 0 ? proc_pidfd_open(&ss.pam) : -1;
	struct launch l = {
	    .uid = ss.s.uid,
	    .gid = ss.s.gid,
	    .profile = prof,
	    .hostname = prof->hostname,
	    .home = home,
	    .shell = prof->shell,
	    .argv = shell_args,
	    .envp = env.vars,
	    .cgroup_fd = -1,
	    .proxy_life_fd = -1,
	    .pam_pidfd = pam_fd,
	    .ready = shell_session_ready,
	    .ready_ctx = &ss,
	};
	int status = ss.join ? run_joined(&pw, &ss, &l, err, sizeof(err))
			     : run_first(&cfg, &pw, &ss, &l, err, sizeof(err));
	if (status < 0)
		die("sandbox: %s", err);

	int r = shell_session_finish(&ss, status);
	if (r < 0)
		log_msg(LOG_ERR, ss.s.name, "recording the end of the session: %s", strerror(-r));
	log_msg(LOG_INFO, ss.s.name, "%s with status %d",
		ss.join ? "login left the session" : "session ended", status);
	env_free(&env);
	config_free(&cfg);
	return status;
}

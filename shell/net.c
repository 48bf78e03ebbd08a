#include "shell/net.h"

#include "common/errbuf.h"
#include "common/log.h"
#include "common/util.h"
#include "db/db.h"
#include "netproxy/forward.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define NET_ARGV_MAX (8 + 2 * (3 * PROFILE_MAX_HOSTS + PROFILE_MAX_PORTS))

/* A directory of root's that nobody else may write, made if missing; by fd. */
static int root_dir_at(int at, const char *name, mode_t mode)
{
	if (mkdirat(at, name, mode) < 0 && errno != EEXIST)
		return neg_errno();
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* N1: the per-login directory and the listening socket in it. */
static int make_socket(const char *session, uid_t uid, gid_t gid, struct net_proxy *np, char *err,
		       size_t errlen)
{
	_cleanup_close_ int run = root_dir_at(AT_FDCWD, NET_RUN_DIR, 0755);
	_cleanup_close_ int net = run < 0 ? run : root_dir_at(run, "net", 0700);
	if (net < 0)
		return errbuf(net, err, errlen, "%s/net: %s", NET_RUN_DIR, strerror(-net));
	char name[64];
	snprintf(name, sizeof(name), "%s.%d", session, (int)getpid());
	(void)unlinkat(net, name, AT_REMOVEDIR); /* a dead login's, same pid */
	if (mkdirat(net, name, 0700) < 0)
		return errbuf(neg_errno(), err, errlen, "%s/net/%s: %s", NET_RUN_DIR, name,
			      strerror(errno));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n = snprintf(a.sun_path, sizeof(a.sun_path), "%s/net/%s/proxy.sock", NET_RUN_DIR, name);
	if (n < 0 || (size_t)n >= sizeof(a.sun_path))
		return errbuf(-ENAMETOOLONG, err, errlen, "socket path too long");
	snprintf(np->socket, sizeof(np->socket), "%s", a.sun_path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		int r = neg_errno();
		if (fd >= 0)
			close(fd);
		return errbuf(r, err, errlen, "%s: %s", a.sun_path, strerror(-r));
	}
	/* The directory is root's alone: no one can swap the socket under us. */
	char rel[96];
	snprintf(rel, sizeof(rel), "%s/proxy.sock", name);
	if (fchownat(net, rel, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(net, rel, 0600, 0) < 0) {
		int r = neg_errno();
		close(fd);
		return errbuf(r, err, errlen, "%s: %s", a.sun_path, strerror(-r));
	}
	return fd;
}

/* Removes the socket and its directory (the recorder, at the end). */
static void remove_socket(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	(void)unlink(path);
	if (slash) {
		*slash = '\0';
		(void)rmdir(dir);
	}
}

static void push(const char **argv, size_t *n, const char *a, const char *b)
{
	if (*n + 2 < NET_ARGV_MAX) {
		argv[(*n)++] = a;
		if (b)
			argv[(*n)++] = b;
	}
}

/* The proxy's command line: the policy of the profile.  Only the hosts of
 * proxy_allow_private may resolve to a non-public address. */
static void proxy_argv(const struct ephemera_profile *p, const char **argv, char ports[][8],
		       char *maxc, size_t maxcsz)
{
	size_t n = 0;
	push(argv, &n, NET_PROXY_BIN, NULL);
	push(argv, &n, "--listen-fd", "3");
	push(argv, &n, "--log-fd", "4");
	push(argv, &n, "--ready-fd", "5");
	push(argv, &n, "--life-fd", "6");
	for (size_t i = 0; i < p->n_proxy_allow; i++)
		push(argv, &n, "--allow", p->proxy_allow[i]);
	for (size_t i = 0; i < p->n_proxy_allow_private; i++)
		push(argv, &n, "--allow-private", p->proxy_allow_private[i]);
	for (size_t i = 0; i < p->n_proxy_deny; i++)
		push(argv, &n, "--deny", p->proxy_deny[i]);
	for (size_t i = 0; i < p->n_proxy_ports && i < PROFILE_MAX_PORTS; i++) {
		snprintf(ports[i], 8, "%u", (unsigned)p->proxy_ports[i]);
		push(argv, &n, "--port", ports[i]);
	}
	snprintf(maxc, maxcsz, "%u", (unsigned)p->proxy_max_connections);
	push(argv, &n, "--max-connections", maxc);
	argv[n] = NULL;
}

/* N2, in the child: the proxy's fds at 3, 4, 5, 6; the user; then exec. */
static _Noreturn void exec_proxy(const char *const *argv, int listen_fd, int log_w, int ready_w,
				 int life_r, uid_t uid, gid_t gid)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(log_w, 2) < 0 ||
	    dup2(listen_fd, 3) < 0 || dup2(log_w, 4) < 0 || dup2(ready_w, 5) < 0 ||
	    dup2(life_r, 6) < 0)
		_exit(127);
	close_range(7, ~0U, 0);
	uid_t ru, eu, su;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0 || getresuid(&ru, &eu, &su) < 0 || ru != uid ||
	    eu != uid || su != uid || setuid(0) == 0)
		_exit(127);
	/* No parent-death signal: the proxy outlives this login when the
	 * session does; its life pipe says when the sandbox is gone. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(127);
	static char *const envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	execve(argv[0], (char *const *)argv, envp);
	dprintf(2, "netproxy: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

void net_log_clean(char *line)
{
	for (unsigned char *c = (unsigned char *)line; *c; c++)
		if (*c < 0x20 || *c >= 0x7f)
			*c = '?';
}

/* N3: lines from the proxy into syslog and the events, one transaction per
 * read; at EOF the proxy is gone, and so goes its directory. */
static _Noreturn void run_recorder(const char *dbpath, const char *session, const char *socket,
				   int log_r)
{
	char err[256];
	struct db *db = NULL;
	if (db_open(dbpath, &db, err, sizeof(err)) < 0)
		log_msg(LOG_ERR, session, "net: recorder: %s (events go to syslog only)", err);
	static char buf[65536];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(log_r, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		bool tx = db && db_begin(db) == 0;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			net_log_clean(line);
			log_msg(LOG_INFO, session, "net: %s", line);
			if (tx)
				(void)db_event_add(db, session, "net", line);
			line = nl + 1;
		}
		if (tx && db_commit(db) < 0)
			db_rollback(db);
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line this long is not the proxy's */
	}
	if (db)
		db_close(db);
	remove_socket(socket);
	_exit(0);
}

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for the readiness byte; EOF means the proxy failed before serving. */
static int await_ready(int ready_r)
{
	char c;
	struct pollfd p = {.fd = ready_r, .events = POLLIN};
	if (poll(&p, 1, 10000) <= 0)
		return -ETIMEDOUT;
	ssize_t n = read(ready_r, &c, 1);
	return n == 1 ? 0 : -ECHILD;
}

static int proxy_user_ids(const char *user, uid_t *ret_uid, gid_t *ret_gid, char *err,
			  size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return errbuf(-ENOENT, err, errlen, "proxy_user %s: no such user", user);
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		return errbuf(-EPERM, err, errlen, "proxy_user %s is root", user);
	*ret_uid = pw.pw_uid;
	*ret_gid = pw.pw_gid;
	return 0;
}

static pid_t fork_recorder(const struct ephemera_config *cfg, const char *session,
			   const char *socket, int log_r)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* Root in full: the owner (our real uid) can neither signal nor trace it. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(127);
	if (dup2(log_r, 3) < 0)
		_exit(127);
	close_range(4, ~0U, 0);
	run_recorder(cfg->database, session, socket, 3);
}

int net_proxy_start(const struct ephemera_config *cfg, const struct ephemera_profile *p,
		    const char *session, uid_t uid, gid_t gid, struct net_proxy *ret, char *err,
		    size_t errlen)
{
	uid_t puid = 0;
	gid_t pgid = 0;
	struct net_proxy np = {
	    .pid = -1, .recorder = -1, .pidfd = -1, .recorder_pidfd = -1, .life_w = -1};
	int r = proxy_user_ids(cfg->proxy_user, &puid, &pgid, err, errlen);
	if (r < 0)
		return r;
	if (puid == uid)
		return errbuf(-EPERM, err, errlen, "proxy_user is the session's user");
	_cleanup_close_ int lfd = make_socket(session, uid, gid, &np, err, errlen);
	if (lfd < 0)
		return lfd;
	int logp[2] = {-1, -1}, readyp[2] = {-1, -1}, lifep[2] = {-1, -1};
	if (pipe2(logp, O_CLOEXEC) < 0 || pipe2(readyp, O_CLOEXEC) < 0 ||
	    pipe2(lifep, O_CLOEXEC) < 0) {
		r = neg_errno();
		for (int i = 0; i < 2; i++) {
			closep(&logp[i]);
			closep(&readyp[i]);
			closep(&lifep[i]);
		}
		remove_socket(np.socket);
		return errbuf(r, err, errlen, "pipe: %s", strerror(-r));
	}
	const char *argv[NET_ARGV_MAX + 1];
	char ports[PROFILE_MAX_PORTS][8], maxc[16];
	proxy_argv(p, argv, ports, maxc, sizeof(maxc));
	np.pid = fork();
	if (np.pid == 0)
		exec_proxy(argv, lfd, logp[1], readyp[1], lifep[0], puid, pgid);
	int saved = errno;
	close(logp[1]);
	close(readyp[1]);
	close(lifep[0]);
	np.life_w = lifep[1];
	if (np.pid > 0) {
		np.pidfd = pidfd_of(np.pid);
		np.recorder = fork_recorder(cfg, session, np.socket, logp[0]);
		np.recorder_pidfd = np.recorder > 0 ? pidfd_of(np.recorder) : -1;
	}
	close(logp[0]);
	r = np.pid < 0 ? -saved : np.recorder < 0 ? -EAGAIN : await_ready(readyp[0]);
	close(readyp[0]);
	if (r < 0) {
		net_proxy_stop(&np);
		remove_socket(np.socket);
		return errbuf(r, err, errlen, "the proxy did not start (%s); see syslog",
			      strerror(-r));
	}
	*ret = np;
	return 0;
}

/* Waits up to ms for the process behind pidfd to exit. */
static bool exits_within(int pidfd, int ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	return pidfd < 0 || poll(&p, 1, ms) > 0;
}

static void end_child(pid_t pid, int pidfd, int sig, int ms)
{
	if (pid <= 0)
		return;
	if (sig && pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	if (pidfd >= 0 && !exits_within(pidfd, ms))
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
}

void net_proxy_leave(struct net_proxy *np)
{
	if (np->pidfd >= 0)
		close(np->pidfd);
	if (np->recorder_pidfd >= 0)
		close(np->recorder_pidfd);
	if (np->life_w >= 0)
		close(np->life_w);
	np->pid = np->recorder = -1;
	np->pidfd = np->recorder_pidfd = np->life_w = -1;
}

void net_proxy_stop(struct net_proxy *np)
{
	/* The proxy logs what is still open on SIGTERM, then the recorder
	 * sees EOF, records the rest and removes the directory. */
	end_child(np->pid, np->pidfd, SIGTERM, 2000);
	end_child(np->recorder, np->recorder_pidfd, 0, 10000);
	if (np->life_w >= 0)
		close(np->life_w);
	np->pid = np->recorder = -1;
	np->pidfd = np->recorder_pidfd = np->life_w = -1;
}

/* In the forwarder: every fd but a, b and c goes (pid 1's pipes, its life
 * socket, the PAM pidfd, /dev/null, the proxy's life pipe). */
static void close_all_but(int a, int b, int c)
{
	int keep[3] = {a, b, c};
	for (int i = 0; i < 2; i++) /* sort the three */
		for (int j = 0; j < 2 - i; j++)
			if (keep[j] > keep[j + 1]) {
				int t = keep[j];
				keep[j] = keep[j + 1];
				keep[j + 1] = t;
			}
	unsigned from = 3;
	for (int i = 0; i < 3; i++) {
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

pid_t net_forwarder_start(void)
{
	_cleanup_close_ int chan = np_forward_connect(NET_SOCKET_INSIDE);
	if (chan < 0)
		return chan;
	_cleanup_close_ int h = np_forward_listen(NET_HTTP_PORT);
	if (h < 0)
		return h;
	_cleanup_close_ int s = np_forward_listen(NET_SOCKS_PORT);
	if (s < 0)
		return s;
	pid_t pid = fork();
	if (pid < 0)
		return neg_errno();
	if (pid == 0) {
		close_all_but(chan, h, s);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		_exit(np_forward_run(chan, h, s) < 0 ? 1 : 0);
	}
	return pid;
}

int net_env(struct session_env *env)
{
	char http[64], socks[64];
	snprintf(http, sizeof(http), "http://127.0.0.1:%d", NET_HTTP_PORT);
	snprintf(socks, sizeof(socks), "socks5h://127.0.0.1:%d", NET_SOCKS_PORT);
	static const char no_proxy[] = "localhost,127.0.0.1,::1";
	static const char *const names[][2] = {{"HTTP_PROXY", "http_proxy"},
					       {"HTTPS_PROXY", "https_proxy"},
					       {"ALL_PROXY", "all_proxy"},
					       {"NO_PROXY", "no_proxy"}};
	const char *values[] = {http, http, socks, no_proxy};
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		for (int k = 0; k < 2; k++)
			if (env_set(env, names[i][k], values[i]) < 0)
				return -ENOMEM;
	return 0;
}

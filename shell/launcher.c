#include "shell/launcher.h"

#include "common/util.h"
#include "shell/drop.h"
#include "shell/init.h"
#include "shell/mount.h"
#include "shell/net.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)
#define ERR_FD	  3 /* in pid 1: write end of the error pipe */
#define LIFE_FD	  4 /* in pid 1: its end of the socketpair the launcher holds */
#define LISTEN_FD 5 /* in pid 1: the life socket later logins connect to (init.h) */
#define PAM_FD	  6 /* in pid 1: a pidfd of the login's PAM caller, if any */
#define NULL_FD	  7 /* in pid 1: /dev/null, its stdio once the shell runs */
#define PROXY_FD  8 /* in pid 1: the writer of the proxy's life pipe (net.h), if any */
#define FREE_FD	  9 /* the first fd no fixed number above uses */

/* pid 1 as a pidfd, not a pid: once waitpid has reaped it, a signal that
 * arrives before we clear this must not reach a process that was given the
 * same pid meanwhile; a pidfd of a reaped process just answers ESRCH. */
static volatile sig_atomic_t child_pidfd = -1;

static void forward_signal(int sig)
{
	int saved = errno;
	if (child_pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, (int)child_pidfd, sig, NULL, 0);
	errno = saved;
}

/* In pid 1 or the shell: report why, then exit.  The launcher marks the
 * session failed and prints the line. */
static _Noreturn void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void child_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(ERR_FD, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	_exit(126);
}

static int loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return neg_errno();
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return neg_errno();
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? neg_errno() : 0;
}

static void build_root(const struct launch *l)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail("making mounts private: %s", strerror(errno));
	/* The new root is attached over /tmp of this (private) mount namespace
	 * only until pivot_root; the host's /tmp is never touched. */
	_cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmp < 0)
		child_fail("opening /tmp: %s", strerror(errno));
	int root = mnt_new_root(tmp, "size=4m,nr_inodes=4096,mode=0755");
	if (root < 0)
		child_fail("new root: %s", strerror(-root));
	size_t failed = 0;
	int r = sandbox_plan_run(l->plan, root, &failed);
	if (r < 0) {
		const struct sandbox_step *s = &l->plan->steps[failed];
		child_fail("sandbox step %zu (%s %s): %s", failed, sandbox_step_name(s->op), s->dst,
			   strerror(-r));
	}
	if ((r = mnt_pivot(root)) < 0)
		child_fail("pivot_root: %s", strerror(-r));
	close(root);
	if (sethostname(l->hostname, strlen(l->hostname)) < 0)
		child_fail("sethostname: %s", strerror(errno));
	if (l->profile->network != NET_HOST && (r = loopback_up()) < 0)
		child_fail("bringing up lo: %s", strerror(-r));
}

static _Noreturn void exec_shell(const struct launch *l, const sigset_t *old_mask)
{
	/* Signals as a fresh login expects them: defaults, nothing blocked. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	if (chdir(l->home) < 0)
		child_fail("cannot enter %s: %s", l->home, strerror(errno));
	close_range(LIFE_FD, ~0U, 0); /* ERR_FD stays until exec: it is close-on-exec */
	execve(l->shell, l->argv, l->envp);
	child_fail("exec %s: %s", l->shell, strerror(errno));
}

/* The session's limits, hard (the session cannot raise them back), set
 * while pid 1 is still root and before anything of the session runs.  The
 * UID is the session's alone, so RLIMIT_NPROC counts this session only: a
 * fork bomb stops at its own limit.  No core dumps, ever. */
static void set_limits(const struct launch *l)
{
	const struct ephemera_profile *p = l->profile;
	struct rlimit nproc = {p->max_processes, p->max_processes};
	struct rlimit nofile = {p->max_open_files, p->max_open_files};
	rlim_t fs = p->max_file_size_mb ? (rlim_t)p->max_file_size_mb << 20 : RLIM_INFINITY;
	struct rlimit fsize = {fs, fs}, core = {0, 0};
	if (setrlimit(RLIMIT_NPROC, &nproc) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &fsize) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		child_fail("setting the session's limits: %s", strerror(errno));
	struct rlimit as = {l->memory_rlimit, l->memory_rlimit};
	if (l->memory_rlimit && setrlimit(RLIMIT_AS, &as) < 0)
		child_fail("setting RLIMIT_AS: %s", strerror(errno));
}

/* Moves fd to the number target (close-on-exec), closing the original. */
static int move_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (dup3(fd, target, O_CLOEXEC) < 0)
		return -1;
	close(fd);
	return 0;
}

/* Raised above every fixed number first, so that no move overwrites a
 * source still to be moved. */
static int raise_fd(int fd)
{
	int r = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, FREE_FD);
	if (r >= 0)
		close(fd);
	return r;
}

/* The life socket and pid 1's /dev/null, made as root in the new root
 * before anything of the session runs (init.h I3). */
static void open_life(void)
{
	int s = init_listen();
	if (s < 0)
		child_fail("the life socket %s: %s", INIT_LIFE_SOCKET, strerror(-s));
	s = raise_fd(s);
	int null = raise_fd(open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC));
	if (s < 0 || null < 0 || move_fd(s, LISTEN_FD) < 0 || move_fd(null, NULL_FD) < 0)
		child_fail("the life socket or /dev/null: %s", strerror(errno));
}

/* pid 1 of the new namespaces.  Never returns. */
static _Noreturn void sandbox_pid1(const struct launch *l, bool has_pam)
{
	int r = drop_tie_to_parent(LIFE_FD);
	if (r < 0)
		_exit(126);
	build_root(l);
	close_range(SANDBOX_FD_BASE, SANDBOX_FD_BASE + SANDBOX_FD_COUNT - 1, 0);
	open_life();
	set_limits(l);
	char err[256];
	const struct ephemera_profile *p = l->profile;
	bool no_unix = p->network == NET_HOST && !p->allow_unix;
	if (drop_privileges(l->uid, l->gid, LIFE_FD, no_unix, err, sizeof(err)) < 0)
		child_fail("dropping privileges: %s", err);
	if (p->network == NET_PROXY && (r = net_forwarder_start()) < 0)
		child_fail("starting the proxy forwarder: %s", strerror(-r));

	sigset_t set, old;
	init_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t shell = fork();
	if (shell < 0)
		child_fail("fork: %s", strerror(errno));
	if (shell == 0)
		exec_shell(l, &old);
	close(ERR_FD); /* the shell holds it until exec; EOF then says "running" */
	struct init_args a = {.shell = shell,
			      .launcher_fd = LIFE_FD,
			      .listen_fd = LISTEN_FD,
			      .pam_fd = has_pam ? PAM_FD : -1,
			      .null_fd = NULL_FD,
			      .linger = l->profile->linger};
	init_serve(&a, &set);
}

/* Child side of clone(): only the two pipe ends and the PAM pidfd survive,
 * at fixed numbers. */
static _Noreturn void start_pid1(const struct launch *l, int err_w, int life, int pam)
{
	int e = raise_fd(err_w), f = raise_fd(life), p = pam >= 0 ? raise_fd(pam) : -1;
	int x = l->proxy_life_fd >= 0 ? raise_fd(l->proxy_life_fd) : -1;
	if (e < 0 || f < 0 || (pam >= 0 && p < 0) || (l->proxy_life_fd >= 0 && x < 0))
		_exit(126);
	close_range(3, FREE_FD - 1, 0); /* nothing of the launcher's below the raised fds */
	if (move_fd(e, ERR_FD) < 0 || move_fd(f, LIFE_FD) < 0 || (p >= 0 && move_fd(p, PAM_FD) < 0) ||
	    (x >= 0 && move_fd(x, PROXY_FD) < 0))
		_exit(126);
	/* ... and the plan's own fds (extra mounts' trees), closed once used. */
	close_range(FREE_FD, SANDBOX_FD_BASE - 1, 0);
	close_range(SANDBOX_FD_BASE + SANDBOX_FD_COUNT, ~0U, 0);
	sandbox_pid1(l, p >= 0);
}

/* Reads what pid 1 or the shell reported before exec; 0 bytes = success. */
static ssize_t read_report(int fd, char *buf, size_t size)
{
	size_t got = 0;
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static void install_forwarders(void)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* clone(2) as fork: the child starts in all the new namespaces, and with
 * CLONE_PIDFD the parent gets a pidfd (close-on-exec) of it.  With a cgroup
 * (clone3, CLONE_INTO_CGROUP) the child is born in the session's cgroup,
 * which CLONE_NEWCGROUP then makes the root of its cgroup namespace. */
static pid_t clone_pid1(const struct launch *l, int *ret_pidfd)
{
	/* network = host: the host's network namespace, nothing else changes. */
	unsigned long ns = NS_FLAGS & ~(l->profile->network == NET_HOST ? CLONE_NEWNET : 0UL);
	if (l->cgroup_fd < 0)
		return (pid_t)syscall(SYS_clone, ns | CLONE_PIDFD | SIGCHLD, NULL, ret_pidfd, NULL,
				      0);
	struct clone_args a = {
	    .flags = ns | CLONE_PIDFD | CLONE_INTO_CGROUP,
	    .pidfd = (uint64_t)(uintptr_t)ret_pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = (uint64_t)l->cgroup_fd,
	};
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* The first login's end: pid 1 reports its shell's status and goes on
 * serving the session's other logins (init.h); pid 1 gone first, or the
 * login's PAM caller gone (the connection dropped), ends this login too. */
static int wait_first(pid_t pid, int life, int pam)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = life, .events = POLLIN}, {.fd = pam, .events = POLLIN}};
		int n = poll(p, pam >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && pam >= 0 && p[1].revents)
			return 128 + SIGHUP; /* our EOF tells pid 1 to end the shell (I5) */
		int status;
		ssize_t k = n > 0 ? recv(life, &status, sizeof(status), 0) : -1;
		if (k < 0 && errno == EINTR)
			continue;
		if (k == (ssize_t)sizeof(status))
			return status;
		int wstatus = 0; /* pid 1 died before it reported */
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		return init_status_code(wstatus);
	}
}

/* After a failed setup: end the child (pid 1 would otherwise serve on, and
 * linger), reap it, hand its report over. */
static int setup_failed(pid_t pid, int pidfd, const char *report, char *err, size_t errlen)
{
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	snprintf(err, errlen, "%s", report);
	return -EPERM;
}

int launcher_run(const struct launch *l, char *err, size_t errlen)
{
	int errp[2], life[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int r = neg_errno();
		snprintf(err, errlen, "pipe: %s", strerror(-r));
		return r;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, life) < 0) {
		int r = neg_errno();
		close(errp[0]);
		close(errp[1]);
		snprintf(err, errlen, "socketpair: %s", strerror(-r));
		return r;
	}
	int pidfd = -1;
	pid_t pid = clone_pid1(l, &pidfd);
	if (pid == 0)
		start_pid1(l, errp[1], life[1], l->pam_pidfd);
	int saved = errno;
	close(errp[1]);
	close(life[1]);
	if (pid < 0) {
		close(errp[0]);
		close(life[0]);
		snprintf(err, errlen, "creating namespaces: %s", strerror(saved));
		return -saved;
	}
	child_pidfd = pidfd;
	install_forwarders();

	char report[512];
	ssize_t n = read_report(errp[0], report, sizeof(report));
	close(errp[0]);
	int status;
	if (n > 0) {
		status = setup_failed(pid, pidfd, report, err, errlen);
	} else {
		if (l->ready)
			l->ready(l->ready_ctx, pid);
		status = wait_first(pid, life[0], l->pam_pidfd);
	}
	close(life[0]);
	child_pidfd = -1;
	close(pidfd);
	return status;
}

int launcher_wait_login(pid_t pid, int pidfd, int err_r, int pam, char *err, size_t errlen)
{
	child_pidfd = pidfd;
	install_forwarders();
	char report[512];
	ssize_t n = read_report(err_r, report, sizeof(report));
	if (n > 0) {
		child_pidfd = -1;
		return setup_failed(pid, pidfd, report, err, errlen);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = pam, .events = POLLIN}};
		int k = poll(p, pam >= 0 ? 2 : 1, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k > 0 && pam >= 0 && p[1].revents) { /* the connection dropped */
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			pam = -1;
			continue;
		}
		break;
	}
	int wstatus = 0;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	child_pidfd = -1;
	return init_status_code(wstatus);
}

_Noreturn void launcher_enter_joined(const struct launch *l, int err_w, int life_r)
{
	int e = raise_fd(err_w), f = raise_fd(life_r);
	if (e < 0 || f < 0)
		_exit(126);
	close_range(3, FREE_FD - 1, 0);
	if (move_fd(e, ERR_FD) < 0 || move_fd(f, LIFE_FD) < 0)
		_exit(126);
	close_range(LIFE_FD + 1, ~0U, 0);
	if (drop_tie_to_parent(LIFE_FD) < 0)
		_exit(126);
	set_limits(l);
	char err[256];
	const struct ephemera_profile *p = l->profile;
	bool no_unix = p->network == NET_HOST && !p->allow_unix; /* as pid 1's */
	if (drop_privileges(l->uid, l->gid, LIFE_FD, no_unix, err, sizeof(err)) < 0)
		child_fail("dropping privileges: %s", err);
	sigset_t none;
	sigemptyset(&none);
	exec_shell(l, &none);
}

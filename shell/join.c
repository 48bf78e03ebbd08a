/* Joining a running sandbox (join.h has the invariants). */
#include "shell/join.h"

#include "common/cgroup.h"
#include "common/errbuf.h"
#include "common/util.h"
#include "shell/init.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#define SANDBOX_NS (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)
#define ACK_WAIT_MS 10000

/* J1: the ids and the pid namespace of the process, from the host's /proc. */
static int check_init_status(pid_t pid, uid_t uid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	bool uid_ok = false, nspid_ok = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned r, e, s, fs;
		if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &fs) == 4)
			uid_ok = r == uid && e == uid && s == uid && fs == uid;
		if (strncmp(line, "NSpid:", 6) == 0) {
			/* "NSpid:\t<host pid>\t1": two levels at least, the last one 1. */
			char *last = strrchr(line, '\t');
			nspid_ok = last && last != line + 6 && strcmp(last, "\t1\n") == 0;
		}
	}
	return uid_ok && nspid_ok ? 0 : -EPERM;
}

static int pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 ? -ESRCH : 0;
}

/* J2: the socket pid 1 made, found beneath its root without following links. */
static int open_life_socket(pid_t pid, int pidfd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	_cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -ESRCH;
	if (pidfd_alive(pidfd) < 0)
		return -ESRCH; /* the root we hold may be a newer process's */
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd =
	    (int)syscall(SYS_openat2, root, INIT_LIFE_SOCKET + 1, &how, sizeof(how));
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	return take_fd(&fd);
}

/* J2, I4: connected, pid 1 as root on the other end, and counted by it. */
static int connect_life(pid_t pid, int pidfd, int sock_path_fd)
{
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return neg_errno();
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d", sock_path_fd);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return errno == ECONNREFUSED || errno == ENOENT ? -ESRCH : neg_errno();
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return neg_errno();
	if (cr.pid != pid || cr.uid != 0)
		return -EPERM;
	if (pidfd_alive(pidfd) < 0)
		return -ESRCH;
	struct pollfd p = {.fd = s, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, ACK_WAIT_MS)) < 0 && errno == EINTR)
		;
	char ack = 0;
	if (n <= 0 || recv(s, &ack, 1, MSG_DONTWAIT) != 1 || ack != INIT_JOIN_ACK)
		return -ESRCH; /* on its way out, or full */
	return take_fd(&s);
}

int join_connect(const struct proc_id *init, uid_t uid, int *ret_pidfd, int *ret_conn, char *err,
		 size_t errlen)
{
	_cleanup_close_ int pidfd = proc_pidfd_open(init);
	if (pidfd < 0)
		return errbuf(pidfd, err, errlen, "its sandbox has ended");
	int r = check_init_status(init->pid, uid);
	if (r == 0)
		r = pidfd_alive(pidfd);
	if (r < 0)
		return errbuf(r, err, errlen,
			      r == -ESRCH ? "its sandbox has ended"
					  : "pid %d is not the sandbox's pid 1 as the session's uid",
			      (int)init->pid);
	_cleanup_close_ int sock = open_life_socket(init->pid, pidfd);
	if (sock < 0)
		return errbuf(sock, err, errlen, "%s: %s", INIT_LIFE_SOCKET,
			      sock == -ESRCH ? "its sandbox has ended" : strerror(-sock));
	int c = connect_life(init->pid, pidfd, sock);
	if (c < 0)
		return errbuf(c, err, errlen, "%s", c == -ESRCH ? "its sandbox is ending" :
						   c == -EPERM ? "the life socket is not pid 1's"
							       : strerror(-c));
	*ret_conn = c;
	*ret_pidfd = take_fd(&pidfd);
	return 0;
}

/* The session's cgroup (shell/cgroup.h), made by the first login, or -1
 * when it has none (no limit asks for one, no cgroup v2): the joined child
 * is born in it, as pid 1 was. */
static int open_cgroup(const char *name)
{
	struct cgroup_host h;
	cgroup_host_probe(&h);
	if (h.root_fd < 0)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "%s/%s", CGROUP_PARENT, name);
	int fd = openat(h.root_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(h.root_fd);
	return fd;
}

/* The child: in the sandbox's pid namespace already (it was forked there);
 * enters the others, then does what pid 1 does for its shell (J3). */
static _Noreturn void join_child(const struct launch *l, int pid1_fd, int err_w, int life_r)
{
	if (setns(pid1_fd, SANDBOX_NS) < 0) {
		char m[128];
		int n = snprintf(m, sizeof(m), "entering the sandbox's namespaces: %s",
				 strerror(errno));
		(void)!write(err_w, m, (size_t)n);
		_exit(126);
	}
	launcher_enter_joined(l, err_w, life_r);
}

/* fork into the pid namespace of pid 1, then back to our own for any later
 * child of the launcher (the reaper it starts, for one). */
static pid_t fork_into(int pid1_fd, int own_pidns, int cgroup_fd, int *ret_pidfd)
{
	if (setns(pid1_fd, CLONE_NEWPID) < 0)
		return -1;
	int pidfd = -1;
	struct clone_args a = {
	    .flags = CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
	    .pidfd = (uint64_t)(uintptr_t)&pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
	};
	pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0)
		return 0;
	int saved = errno;
	if (setns(own_pidns, CLONE_NEWPID) < 0) {
		if (pid > 0) {
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			close(pidfd);
		}
		return -2; /* the launcher cannot stay like this: the caller dies */
	}
	errno = saved;
	*ret_pidfd = pidfd;
	return pid;
}

int join_run(const struct launch *l, const char *name, int pid1_fd, char *err, size_t errlen)
{
	_cleanup_close_ int cgroup = open_cgroup(name);
	_cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return errbuf(neg_errno(), err, errlen, "/proc/self/ns/pid: %s", strerror(errno));
	int errp[2], lifep[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		return errbuf(neg_errno(), err, errlen, "pipe: %s", strerror(errno));
	if (pipe2(lifep, O_CLOEXEC) < 0) {
		int r = neg_errno();
		close(errp[0]);
		close(errp[1]);
		return errbuf(r, err, errlen, "pipe: %s", strerror(-r));
	}
	int pidfd = -1;
	pid_t pid = fork_into(pid1_fd, own, cgroup, &pidfd);
	if (pid == 0) {
		close(errp[0]);
		close(lifep[1]);
		join_child(l, pid1_fd, errp[1], lifep[0]);
	}
	int saved = errno;
	close(errp[1]);
	close(lifep[0]);
	if (pid < 0) {
		close(errp[0]);
		close(lifep[1]);
		return errbuf(pid == -2 ? -EPERM : -saved, err, errlen,
			      pid == -2 ? "cannot leave the sandbox's pid namespace"
				       : "forking into the sandbox: %s",
			      strerror(saved));
	}
	int status = launcher_wait_login(pid, pidfd, errp[0], l->pam_pidfd, err, errlen);
	close(errp[0]);
	close(lifep[1]);
	close(pidfd);
	return status;
}

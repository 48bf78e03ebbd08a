/* pid 1 of a sandbox (init.h has its invariants).  One poll loop over the
 * signals (a signalfd), the first launcher, the life socket and its
 * connections, and the PAM caller's pidfd. */
#include "shell/init.h"

#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

static const int forwarded[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2};

void init_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

int init_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

int init_listen(void)
{
	/* Nothing of the session runs yet and the new root is root's: the
	 * directory is ours, 0700, and stays so (the user never gets write
	 * access to /run, and cannot mount). */
	if (mkdir(INIT_RUN_DIR, 0700) < 0)
		return neg_errno();
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return neg_errno();
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", INIT_LIFE_SOCKET);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return neg_errno();
	return take_fd(&s);
}

struct init_state {
	pid_t shell; /* 0 once it has exited */
	int status;
	int launcher, listener, pam, sig;
	int conns[INIT_MAX_LOGINS];
	int n;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reaps every child that has exited; the first shell's status goes to the
 * first launcher (4 bytes), which then exits with it. */
static void reap_children(struct init_state *st)
{
	int wstatus;
	pid_t p;
	while ((p = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		if (p != st->shell)
			continue;
		st->shell = 0;
		st->status = init_status_code(wstatus);
		if (st->launcher >= 0)
			(void)send(st->launcher, &st->status, sizeof(st->status),
				   MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

static void on_signals(struct init_state *st)
{
	struct signalfd_siginfo si;
	while (read(st->sig, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(st);
		else if (st->shell > 0)
			kill(st->shell, (int)si.ssi_signo);
	}
}

/* I3, I4: root's connections only, answered once counted. */
static void on_accept(struct init_state *st)
{
	int c;
	while ((c = accept4(st->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		char ack = INIT_JOIN_ACK;
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0 ||
		    st->n >= INIT_MAX_LOGINS ||
		    send(c, &ack, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
			close(c);
			continue;
		}
		st->conns[st->n++] = c;
	}
}

/* EOF (or an error) on a holder's socket: it let go. */
static bool gone(int fd)
{
	char b[16];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

static void on_events(struct init_state *st, struct pollfd *p, int np)
{
	for (int i = 0; i < np; i++) {
		if (!p[i].revents)
			continue;
		int fd = p[i].fd;
		if (fd == st->sig) {
			on_signals(st);
		} else if (fd == st->listener) {
			on_accept(st);
		} else if (fd == st->pam) {
			close_fd(&st->pam); /* the login's PAM caller has exited */
		} else if (fd == st->launcher) {
			if (!gone(fd))
				continue;
			close_fd(&st->launcher);
			if (st->shell > 0)
				kill(st->shell, SIGKILL); /* I5 */
		} else if (gone(fd)) {
			for (int k = 0; k < st->n; k++)
				if (st->conns[k] == fd) {
					close(fd);
					st->conns[k] = st->conns[--st->n];
					break;
				}
		}
	}
}

static int fill_poll(const struct init_state *st, struct pollfd *p)
{
	int n = 0;
	const int fixed[] = {st->sig, st->listener, st->launcher, st->pam};
	for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
		if (fixed[i] >= 0)
			p[n++] = (struct pollfd){.fd = fixed[i], .events = POLLIN};
	for (int i = 0; i < st->n; i++)
		p[n++] = (struct pollfd){.fd = st->conns[i], .events = POLLIN};
	return n;
}

/* pid 1's own stdio is /dev/null: a session that lingers must not hold the
 * login's pipes (sshd waits for their EOF) or its terminal. */
static void detach_from_login(const struct init_args *a)
{
	(void)setsid();
	for (int fd = 0; fd <= 2; fd++)
		(void)dup2(a->null_fd, fd);
	close(a->null_fd);
	/* From now on the holders (I1) say when to go, not the parent's death. */
	(void)prctl(PR_SET_PDEATHSIG, 0);
}

_Noreturn void init_serve(const struct init_args *a, const sigset_t *set)
{
	struct init_state st = {.shell = a->shell, .status = 1, .launcher = a->launcher_fd,
				.listener = a->listen_fd, .pam = a->pam_fd};
	st.sig = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (st.sig < 0)
		_exit(1);
	detach_from_login(a);
	reap_children(&st); /* a shell that was quick to exit */
	int64_t deadline = -1;
	for (;;) {
		int holds = (st.launcher >= 0) + (st.pam >= 0) + st.n;
		int timeout = -1;
		if (holds > 0) {
			deadline = -1;
		} else { /* I2 */
			if (deadline < 0)
				deadline = now_ms() + (int64_t)a->linger * 1000;
			int64_t left = deadline - now_ms();
			if (left <= 0)
				break;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		struct pollfd p[4 + INIT_MAX_LOGINS];
		int np = fill_poll(&st, p);
		int r = poll(p, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			on_events(&st, p, np);
	}
	close(st.listener); /* no one joins a pid 1 on its way out */
	_exit(st.status);
}

#include "shell/hygiene.h"

#include "common/util.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

int hygiene_early(uid_t *ret_caller)
{
	/* First of all: the caller (same real uid) must not ptrace us, read our
	 * memory or /proc/PID/mem, and we must never dump core. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return neg_errno();
	struct rlimit no_core = {0, 0};
	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		return neg_errno();
	/* An fd the caller left open is not ours to pass into a sandbox. */
	if (close_range(3, ~0U, 0) < 0)
		return neg_errno();
	/* Closed stdio would make our first open() land on 0, 1 or 2. */
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR | O_NOCTTY);
		if (n != fd) {
			if (n >= 0)
				close(n);
			return -EBADF;
		}
	}
	/* 0-2 reach the sandbox.  A directory (or an O_PATH fd) there would be
	 * a door out of it: /proc/self/fd/0/... resolves in the host's tree. */
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	umask(077);
	/* Only the euid came from the setuid bit: drop the caller's groups too,
	 * so that what we create (the database's journal, the sessions
	 * directory, the sandbox's tmpfs) is root's and not the caller's group's.
	 * And the real uid: while it is the caller's, the caller may signal us,
	 * and a SIGSTOP while we hold lckpwdf or the database's write lock would
	 * stop every gateway login and every useradd on the host.  The caller's
	 * uid is remembered here; the owner ends a session by leaving it (exit,
	 * a closed connection: sshd and su are root and signal us). */
	*ret_caller = getuid();
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return neg_errno();
	/* A change of effective ids resets dumpable to fs.suid_dumpable: again. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0 || prctl(PR_GET_DUMPABLE) != 0)
		return -EPERM;
	/* Dispositions and the mask survive exec: an ignored SIGCHLD would make
	 * waitpid fail, a blocked SIGTERM would keep a session alive. */
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return neg_errno();
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* The terminal sends these to its foreground group without asking
	 * whose it is (Ctrl-Z): the launcher must not stop holding a lock.  The
	 * real shell gets the defaults back (launcher.c exec_shell). */
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	return 0;
}

int hygiene_check_args(int argc, char **argv)
{
	if (argc < 1 || argc > ARGS_MAX_COUNT)
		return -E2BIG;
	size_t total = 0;
	for (int i = 0; i < argc; i++) {
		if (!argv[i])
			return -EINVAL;
		total += strlen(argv[i]) + 1;
		if (total > ARGS_MAX_BYTES)
			return -E2BIG;
	}
	return 0;
}

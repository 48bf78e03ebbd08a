#include "shell/init.h"

#include <errno.h>
#include <sys/wait.h>

static const int forwarded[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2};

void init_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
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

/* Reaps every child that has exited; 1 once the shell is among them. */
static int reap_children(pid_t shell, int *ret_status)
{
	int done = 0, wstatus;
	pid_t p;
	while ((p = waitpid(-1, &wstatus, WNOHANG)) > 0)
		if (p == shell) {
			*ret_status = init_status_code(wstatus);
			done = 1;
		}
	if (p < 0 && errno == ECHILD && !done)
		return -1; /* no children at all: nothing left to wait for */
	return done;
}

int init_run(pid_t shell, const sigset_t *set)
{
	int status = 1;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (sig != SIGCHLD) {
			kill(shell, sig);
			continue;
		}
		int r = reap_children(shell, &status);
		if (r != 0)
			return r > 0 ? status : 1;
	}
}

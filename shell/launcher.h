/* The launcher: the setuid process that stays outside.  It clones pid 1 into
 * new mount, pid, net, uts, ipc and cgroup namespaces, forwards signals to
 * it, learns from a close-on-exec pipe whether the sandbox was built and the
 * shell exec'd, and waits for the session's exit status.
 *
 * Invariants (tests/e2e/shell-*.t):
 *  S1 nothing runs as the user unless every setup step succeeded (fail closed);
 *  S2 pid 1 dies with the launcher during setup (PR_SET_PDEATHSIG, set again
 *     after every credential change); once the shell runs, the launcher's
 *     end of a socketpair holds the session (shell/init.h I1): a SIGKILL of
 *     the only launcher ends the whole session, one of several ends its own
 *     shell only (I5);
 *  S3 no fd of the launcher reaches the sandbox but the error pipe and the
 *     socketpair, and those are close-on-exec, so the user's shell holds none;
 *  S4 the launcher returns when its own shell has exited, with its status,
 *     even while the session goes on (other logins, linger): sshd and su see
 *     the end of this login at once. */
#ifndef EPHEMERA_SHELL_LAUNCHER_H
#define EPHEMERA_SHELL_LAUNCHER_H

#include "common/config.h"
#include "shell/sandbox.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct launch {
	const struct sandbox_plan *plan;
	const struct ephemera_profile *profile; /* the session's policy */
	uid_t uid;
	gid_t gid;
	const char *hostname;
	const char *home;
	const char *shell; /* path of the real shell */
	char *const *argv; /* the real shell's argv */
	char *const *envp;
	int cgroup_fd; /* the session's cgroup (shell/cgroup.h), or -1 */
	int proxy_life_fd; /* network = proxy: held by pid 1 for its life (net.h), or -1 */
	/* memory_max where no cgroup can enforce it: every process's
	 * RLIMIT_AS instead (a per-process bound, weaker); 0: none. */
	uint64_t memory_rlimit;
	int pam_pidfd; /* the login's PAM caller, or -1: its exit ends this login */
	/* Called once the sandbox runs (the first shell exec'd), with pid 1. */
	void (*ready)(void *ctx, pid_t pid1);
	void *ready_ctx;
};

/* Runs the session; returns its exit status (>= 0), or -errno when the
 * sandbox could not be built, with the reason in err. */
int launcher_run(const struct launch *l, char *err, size_t errlen);

/* For a login that joins a running sandbox (shell/join.c): in the child,
 * which has entered the sandbox's namespaces, set the limits, drop
 * privileges and exec the shell, as pid 1 does for the first shell.  err_w
 * and life_r as for pid 1: the error pipe, and a pipe whose write end the
 * parent holds (its EOF means the parent is gone). */
_Noreturn void launcher_enter_joined(const struct launch *l, int err_w, int life_r);
/* In the parent: forwards signals to the child, reads its report (a
 * failure returns -EPERM with it in err), and waits for its exit status;
 * pam (a pidfd or -1) exiting kills the child. */
int launcher_wait_login(pid_t pid, int pidfd, int err_r, int pam, char *err, size_t errlen);

#endif

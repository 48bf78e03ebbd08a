/* The launcher: the setuid process that stays outside.  It clones pid 1 into
 * new mount, pid, net, uts, ipc and cgroup namespaces, forwards signals to
 * it, learns from a close-on-exec pipe whether the sandbox was built and the
 * shell exec'd, and waits for the session's exit status.
 *
 * Invariants (tests/e2e/shell-*.t):
 *  S1 nothing runs as the user unless every setup step succeeded (fail closed);
 *  S2 pid 1 dies with the launcher (PR_SET_PDEATHSIG, set again after every
 *     credential change), so a SIGKILL of the launcher ends the whole session;
 *  S3 no fd of the launcher reaches the sandbox but the two pipes, and those
 *     are close-on-exec, so the user's shell holds none. */
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
	/* memory_max where no cgroup can enforce it: every process's
	 * RLIMIT_AS instead (a per-process bound, weaker); 0: none. */
	uint64_t memory_rlimit;
};

/* Runs the session; returns its exit status (>= 0), or -errno when the
 * sandbox could not be built, with the reason in err. */
int launcher_run(const struct launch *l, char *err, size_t errlen);

#endif

/* A login that enters a sandbox already running: another channel of the same
 * connection (ssh ControlMaster, sftp beside a shell) or an owner who
 * re-attaches by name.  It gets what the first shell got -- the same UID,
 * namespaces, limits, privilege drop, seccomp filter -- and no more.
 *
 * Invariants (tests/e2e/join-*.t):
 *  J1 pid 1 is proven before anything is entered: a pidfd of the recorded pid
 *     whose start time is the recorded one (read after the pidfd is open,
 *     the pidfd asked again after), running as the session's UID, pid 1 of a
 *     pid namespace below ours; a pid given to another process is refused;
 *  J2 the life socket is reached from the host side, beneath pid 1's root
 *     (/proc/PID/root, openat2 with no symlink or magic link), must be a
 *     socket of root's, and its peer must be pid 1 as it was when root
 *     (SO_PEERCRED: that pid, uid 0): nothing of the session's can stand in
 *     for it;
 *  J3 the launcher itself never enters the sandbox's mount namespace: only
 *     its pid namespace for children, which it leaves again right after the
 *     fork (the child born in the session's cgroup, when it has one, as pid
 *     1 was: clone3 CLONE_INTO_CGROUP); the child enters the rest, touches
 *     nothing in it while root but
 *     what pid 1 made, drops privileges exactly as pid 1 does, and only then
 *     changes to the home and execs;
 *  J4 the child dies with the launcher (PR_SET_PDEATHSIG), and the launcher's
 *     connection holds the session while the login lasts (init.h I1). */
#ifndef EPHEMERA_SHELL_JOIN_H
#define EPHEMERA_SHELL_JOIN_H

#include "allocator/proc.h"
#include "shell/launcher.h"

#include <stddef.h>

/* Proves pid 1 (J1) and connects to its life socket (J2); the connection is
 * returned in *ret_conn, pid 1's pidfd in *ret_pidfd.  -ESRCH: the session's
 * sandbox has ended (or is ending); other errors say why in err. */
int join_connect(const struct proc_id *init, uid_t uid, int *ret_pidfd, int *ret_conn, char *err,
		 size_t errlen);

/* Runs the login in the sandbox of pid1_fd (J3, J4), in the cgroup of
 * session name when it has one; returns its exit status, or -errno with the
 * reason in err. */
int join_run(const struct launch *l, const char *name, int pid1_fd, char *err, size_t errlen);

#endif

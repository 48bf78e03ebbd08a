/* Giving up root, in one place and one order, and proving it (STYLE.md 4).
 *  1 bounding set emptied and securebits locked (both need CAP_SETPCAP, so
 *    before the uid change);
 *  2 supplementary groups cleared, setresgid, setresuid to the transient user
 *    (the kernel's setuid fixup clears permitted and effective);
 *  3 inheritable and ambient sets emptied;
 *  4 proven: ids read back, setuid(0)/setgid(0)/setgroups fail, every
 *    capability set reads empty;
 *  5 PR_SET_NO_NEW_PRIVS; PR_SET_PDEATHSIG again (a credential change clears
 *    it) and a check that the parent still lives;
 *  6 the seccomp filter, last.
 */
#ifndef EPHEMERA_SHELL_DROP_H
#define EPHEMERA_SHELL_DROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* life_fd: read end of a pipe whose write end the launcher holds; EOF means
 * the launcher is gone.  no_unix: the seccomp variant that refuses AF_UNIX
 * sockets (network = host without allow_unix).  On failure returns -errno
 * and names the step in err. */
int drop_privileges(uid_t uid, gid_t gid, int life_fd, bool no_unix, char *err, size_t errlen);

/* PR_SET_PDEATHSIG(SIGKILL), then fail with -ECHILD if the launcher already died. */
int drop_tie_to_parent(int life_fd);

/* The proof alone (step 4), for tests and for the drop itself. */
int drop_verify(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif

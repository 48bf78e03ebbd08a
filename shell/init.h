/* pid 1 of a sandbox: the session-level process.  It outlives any one shell:
 * later logins (channels of the same connection, re-attached owners) join
 * its namespaces and hold a connection to it.  It reaps every orphan,
 * forwards the first launcher's signals to the first shell, reports that
 * shell's exit status to the first launcher, and exits -- which the kernel
 * turns into a SIGKILL of everything still running in the pid namespace --
 * once nothing holds the session and the linger time has passed.
 *
 * Invariants (tests/e2e/join-*.t):
 *  I1 the session lives while something holds it: the first launcher (its
 *     end of a socketpair), each joined launcher (a connection to the life
 *     socket), the login's PAM caller (a pidfd: sshd's monitor lives as long
 *     as the connection, so channels multiplexed over it come and go); EOF or
 *     exit of each is seen by the kernel, so a SIGKILLed launcher lets go too;
 *  I2 with nothing holding it, it waits `linger` seconds for a new login,
 *     then exits (linger 0: at once);
 *  I3 only root holds it: the life socket is in INIT_RUN_DIR, 0700 root,
 *     made while pid 1 was root and before anything of the session ran, and a
 *     peer whose SO_PEERCRED uid is not 0 is closed unanswered (the session's
 *     processes cannot keep it alive);
 *  I4 a joiner is counted before it enters: it proceeds only after pid 1 has
 *     answered its connection, so a pid 1 on its way out refuses it;
 *  I5 the first shell dies (SIGKILL) when the first launcher goes away while
 *     it runs, as a joined shell dies with its launcher (PR_SET_PDEATHSIG). */
#ifndef EPHEMERA_SHELL_INIT_H
#define EPHEMERA_SHELL_INIT_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* Not /run/ephemera: network = proxy binds its socket there, for the user. */
#define INIT_RUN_DIR	 "/run/ephemera-life"
#define INIT_LIFE_SOCKET "/run/ephemera-life/socket"
#define INIT_MAX_LOGINS	 64 /* joined logins at once, besides the first */
#define INIT_JOIN_ACK	 'J'

struct init_args {
	pid_t shell;	  /* the first shell, a child of pid 1 */
	int launcher_fd;  /* socketpair end of the first launcher */
	int listen_fd;	  /* the life socket (init_listen) */
	int pam_fd;	  /* pidfd of the login's PAM caller, or -1 */
	int null_fd;	  /* /dev/null, for pid 1's own stdio */
	uint32_t linger;  /* seconds */
};

/* The signals pid 1 forwards; blocked before the shell is forked. */
void init_signal_set(sigset_t *set);

/* Makes INIT_RUN_DIR and the listening life socket; as root, in the new
 * root, before anything of the session runs.  Returns the fd or -errno. */
int init_listen(void);

/* Serves the session until nothing holds it (I1-I5), then exits. */
_Noreturn void init_serve(const struct init_args *a, const sigset_t *set);

/* A wait status as a shell reports it: the code, or 128 + signal. */
int init_status_code(int wstatus);

#endif

/* The shell's side of the session record: claim the session of this login
 * (see shell/session.c for how the shell proves it is the same login), record
 * its end or its failure.  The claim's connection stays open in the launcher
 * until the end is recorded (one open per login, not two); pid 1 of the
 * sandbox closes every inherited fd before anything else (launcher.c), so the
 * sandbox never holds it. */
#ifndef EPHEMERA_SHELL_SESSION_H
#define EPHEMERA_SHELL_SESSION_H

#include "allocator/proc.h"
#include "common/config.h"
#include "db/db.h"

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>

/* What the caller's environment said, read before it was cleared.  Hints
 * only: never a reason to trust anything. */
struct shell_hints {
	const char *session;	    /* EPHEMERA_SESSION, or NULL */
	const char *ssh_connection; /* SSH_CONNECTION, for the record */
	const char *attach;	    /* EPHEMERA_ATTACH: a session to re-attach to, or NULL */
};

struct shell_session {
	struct db_session s;
	struct db *db; /* open from the claim to the finish */
	bool from_pam;
	bool join;	    /* s runs already: this login enters its sandbox */
	bool attach;	    /* ... named by EPHEMERA_ATTACH, from a login of its own */
	struct proc_id pam; /* this login's PAM caller; pid 0 without PAM */
	int64_t login_id;   /* its row in logins */
};

/* The session of this login:
 *  - the first shell of a PAM session claims it (allocated -> active, this
 *    process its leader) and builds the sandbox;
 *  - a later shell of the same PAM session (another channel of the same
 *    connection) finds it active or closed and joins it (ret->join);
 *  - with EPHEMERA_ATTACH=NAME, the owner's live session NAME is joined
 *    (ret->attach), and this login's own PAM session is released unused;
 *  - without PAM, a session of its own is allocated.
 * A login row is recorded.  On success ret->db is open: shell_session_finish
 * closes it.  A refused attach fails with -EACCES and err naming it. */
int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			const struct shell_hints *hints, struct shell_session *ret, char *err,
			size_t errlen);
/* Records the exit status, closes the connection; starts the reaper when no
 * PAM module will. */
int shell_session_finish(struct shell_session *ss, int exit_status);
int shell_session_fail(const struct ephemera_config *cfg, const char *name, const char *reason);
/* The sandbox runs: pid 1 recorded (the ready callback of struct launch). */
void shell_session_ready(void *ss, pid_t pid1);
/* A login that failed to enter: its row ended, the session left alone. */
void shell_session_login_failed(struct shell_session *ss);

#endif

/* The shell's side of the session record: claim the session of this login
 * (see shell/session.c for how the shell proves it is the same login), record
 * its end or its failure.  Each call opens and closes the database, so the
 * sandbox never inherits a connection. */
#ifndef EPHEMERA_SHELL_SESSION_H
#define EPHEMERA_SHELL_SESSION_H

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
};

/* Claims this login's PAM-allocated session, or allocates one when no PAM
 * module ran, and marks it active with this process as leader. */
int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			const struct shell_hints *hints, struct db_session *ret, bool *ret_from_pam,
			char *err, size_t errlen);
/* Records the exit status; starts the reaper when no PAM module will. */
int shell_session_finish(const struct ephemera_config *cfg, const char *name, int exit_status,
			 bool from_pam);
int shell_session_fail(const struct ephemera_config *cfg, const char *name, const char *reason);

#endif

/* The shell's side of the session record: claim the session of this login
 * (see shell/session.c for how the shell proves it is the same login), record
 * its end or its failure.  The claim's connection stays open in the launcher
 * until the end is recorded (one open per login, not two); pid 1 of the
 * sandbox closes every inherited fd before anything else (launcher.c), so the
 * sandbox never holds it. */
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

struct shell_session {
	struct db_session s;
	struct db *db; /* open from the claim to the finish */
	bool from_pam;
};

/* Claims this login's PAM-allocated session, or allocates one when no PAM
 * module ran, and marks it active with this process as leader.  On success
 * ret->db is open: shell_session_finish closes it. */
int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			const struct shell_hints *hints, struct shell_session *ret, char *err,
			size_t errlen);
/* Records the exit status, closes the connection; starts the reaper when no
 * PAM module will. */
int shell_session_finish(struct shell_session *ss, int exit_status);
int shell_session_fail(const struct ephemera_config *cfg, const char *name, const char *reason);

#endif

/* The shell's side of the session record: claim one for this login, record
 * its end or its failure.  Each call opens and closes the database, so the
 * sandbox never inherits a connection. */
#ifndef EPHEMERA_SHELL_SESSION_H
#define EPHEMERA_SHELL_SESSION_H

#include "common/config.h"
#include "db/db.h"

#include <pwd.h>
#include <stddef.h>

/* Allocates a session for owner (no PAM module ran) and marks it active with
 * this process as leader. */
int shell_session_claim(const struct ephemera_config *cfg, const struct passwd *owner,
			struct db_session *ret, char *err, size_t errlen);
int shell_session_finish(const struct ephemera_config *cfg, const char *name, int exit_status);
int shell_session_fail(const struct ephemera_config *cfg, const char *name, const char *reason);

#endif

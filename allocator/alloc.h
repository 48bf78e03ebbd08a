/* Allocating and releasing sessions: the one entry point that the PAM module,
 * ephemera-shell and ephemeractl share.
 *
 * Invariants (tests/e2e/alloc-*.t):
 *  A1 all or nothing: a session row, its lease and its home exist together or
 *     not at all once an allocation returns; a crash may leave a home without a
 *     row, which the next allocation (or alloc_repair) removes;
 *  A2 a failure anywhere refuses the allocation (fail closed) and says why;
 *  A3 an owner holds at most max_sessions_per_owner live sessions.
 */
#ifndef EPHEMERA_ALLOC_H
#define EPHEMERA_ALLOC_H

#include "common/config.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct alloc_request {
	const char *owner;		   /* must exist in NSS; owner_uid is looked up */
	const char *service, *tty, *rhost; /* may be NULL */
	int64_t pam_pid, pam_start;	   /* the PAM caller, when a PAM module allocates */
};

/* Allocates a session; *ret describes it.  On failure err says why in one line. */
int alloc_session(const struct ephemera_config *cfg, struct db *db, const struct alloc_request *req,
		  struct db_session *ret, char *err, size_t errlen);

/* Frees a session that never started (state allocated): home, lease, and the
 * row moves to reaped with a "released" event. */
int alloc_release(const struct ephemera_config *cfg, struct db *db, const char *name, char *err,
		  size_t errlen);

/* Removes homes that have no session row (left by a crashed allocation).
 * Call inside a write transaction.  Returns the number removed or -errno. */
int alloc_repair(struct db *db, int sessions_fd);

/* The same in a transaction of its own (ephemeractl repair). */
int alloc_repair_now(const struct ephemera_config *cfg, struct db *db, char *err, size_t errlen);

#endif

/* Lifetimes of running sessions (issue 9): the max_lifetime and idle_timeout
 * of a session's profile, judged by the periodic `ephemeractl reap --all`,
 * which ends a session that is over and warns one that soon will be.
 *
 * Invariants (tests/e2e/lifetime-*.t):
 *  L1 the lifetime counts from the start recorded in the database (root's):
 *     nothing the session does moves it;
 *  L2 activity is the latest of: the start, the end of its last login, and
 *     the last input (atime) of each terminal of its live logins; a live
 *     login without a terminal (ssh host command) counts as activity now;
 *  L3 a warning is written only to a terminal that is, at the time of the
 *     write, the controlling terminal of a live login process of the session
 *     (pid and start time from the database): found by the device number the
 *     kernel reports for that process, opened at /dev/pts/N or /dev/ttyN
 *     with no link followed, a character device of that very number owned by
 *     root, the owner or the session's UID, written without blocking;
 *  L4 the lifetime warning goes out once; the idle warning again only after
 *     new activity. */
#ifndef EPHEMERA_LIFETIME_H
#define EPHEMERA_LIFETIME_H

#include "common/config.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

enum lifetime_action {
	LIFETIME_OK,	 /* nothing to do */
	LIFETIME_WARNED, /* warned now (terminals told, warned_at recorded) */
	LIFETIME_OVER,	 /* past a limit: the caller ends and reaps it */
};

struct lifetime_verdict {
	enum lifetime_action action;
	const char *reason; /* "lifetime" or "idle" */
	char detail[200];   /* for the event and the log */
	unsigned terminals; /* how many terminals were warned */
};

/* Judges the session NAME at time now.  A session that is not running, or
 * whose profile sets no limit, is LIFETIME_OK.  -ENOENT (with err) when its
 * profile is no longer in the config: its limits are then unknown. */
int lifetime_judge(const struct ephemera_config *cfg, struct db *db, const char *name,
		   int64_t now, struct lifetime_verdict *ret, char *err, size_t errlen);

#endif

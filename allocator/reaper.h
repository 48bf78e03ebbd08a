/* The reaper: what ends a session for good.  DESIGN.md "Reaping safely".
 *
 * Invariants (tests/e2e/reaper-*.t, tests/unit/test-rmtree.c):
 *  P1 one reaper per session: an OFD lock on <dbdir>/reap.lock at the offset of
 *     the session's UID, held for the whole reap and dropped by the kernel if
 *     the reaper dies;
 *  P2 no process of the UID lives when the wipe starts: the launcher is killed
 *     (by pid and start time), then kill(-1, SIGKILL) is sent as the UID until
 *     a scan of /proc finds none; if some survive, nothing is wiped;
 *  P3 the wipe keeps <home>/mnt/output and nothing else; it goes through
 *     walk_tree (no symlink followed, no mount crossed, no recursion), after
 *     detaching any mount found under the home in mountinfo;
 *  P4 the output is handed to the owner: entries owned by the session's UID
 *     (only those: a hard link to someone else's file is left alone) are
 *     chowned with AT_SYMLINK_NOFOLLOW, ACL entries naming the session's UID
 *     or GID removed, the owner's entries kept;
 *  P5 every step can be run again: a reaper killed at any moment leaves the
 *     session reaping (or closed), and the next reaper finishes the job;
 *  P6 the lease goes to quarantine, and leaves it (gc) only when nothing under
 *     the home still belongs to the UID;
 *  P7 a session whose sandbox's pid 1 (pid and start time) lives is not over,
 *     whatever its state (shell/init.h: pid 1 lives while any login holds
 *     it, and for the linger time after). */
#ifndef EPHEMERA_REAPER_H
#define EPHEMERA_REAPER_H

#include "common/config.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

enum reap_mode {
	REAP_IF_OVER, /* only a session whose login is over (reap) */
	REAP_FORCE,   /* end it now (kill) */
};

struct reap_result {
	uint64_t files, bytes;
	int64_t millis;
	int already; /* 1: nothing to do (reaped before, or by a concurrent reaper) */
};

/* Reaps one session.  -EINPROGRESS: its login is not over (REAP_IF_OVER);
 * -EALREADY: another reaper holds it; any other error: the reap failed, err
 * says why, and the next reaper starts over (P5). */
int reaper_reap(const struct ephemera_config *cfg, struct db *db, const char *name,
		enum reap_mode mode, struct reap_result *ret, char *err, size_t errlen);

/* Whoever saw a login end (PAM close, the shell of a login that joined or
 * of one without PAM) starts `ephemeractl reap --wait NAME`: it waits for
 * the sandbox's pid 1 to exit, at most the profile's linger plus
 * REAP_WAIT_SLACK seconds, so the reap follows the end of the last login
 * (and of the linger) at once.  A session still held after that is left to
 * the next reaper (the last login's, or the timer's reap --all).  Returns 0
 * when pid 1 is gone (or there is none), -ETIMEDOUT when it still runs. */
#define REAP_WAIT_SLACK 10
int reaper_wait_over(const struct ephemera_config *cfg, struct db *db, const char *name);

/* P6: release quarantined leases whose home holds nothing of their UID, and
 * (older_than_days > 0) delete the homes of sessions reaped that long ago.
 * *ret_released and *ret_deleted count what was done. */
int reaper_gc(const struct ephemera_config *cfg, struct db *db, uint32_t older_than_days,
	      unsigned *ret_released, unsigned *ret_deleted, char *err, size_t errlen);

#endif

/* Starting the reaper for a session without waiting for it: logout must never
 * be held up by a large wipe (DESIGN.md, "One login"). */
#ifndef EPHEMERA_SPAWN_H
#define EPHEMERA_SPAWN_H

#define EPHEMERACTL_PATH SBINDIR "/ephemeractl"

/* Runs `ephemeractl [--config CONF] reap --wait NAME` fully detached: double fork,
 * setsid, stdio on /dev/null, every other fd closed, an empty environment.
 * SIGCHLD is at its default only around the fork and restored after (the
 * caller may be sshd or su, whose handlers must not see our child).  Returns
 * 0 once the intermediate child is reaped, or -errno; it never waits for the
 * reaper itself. */
int reaper_spawn(const char *name, const char *conf);

#endif

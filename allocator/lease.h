/* UID leases.
 *
 * Invariants (tests/unit/test-lease.c):
 *  L1 a UID is leased to at most one session (leases.uid is the primary key);
 *  L2 a lease is taken only inside the allocation's BEGIN IMMEDIATE transaction,
 *     with lckpwdf() held, so neither another allocator nor useradd can race it;
 *  L3 a UID is free only when it is not leased, not in quarantine, inside the
 *     configured range, unknown to NSS as user and group, outside every
 *     /etc/subuid and /etc/subgid range, and owns no process or SysV IPC object;
 *  L4 an NSS error makes the UID taken, never free (fail closed);
 *  L5 the search is bounded: every UID of the range is looked at once at most,
 *     starting at a random one so that freed UIDs are not reused at once.
 */
#ifndef EPHEMERA_LEASE_H
#define EPHEMERA_LEASE_H

#include "allocator/hostids.h"
#include "db/db.h"

#include <stdint.h>

/* Picks a free UID in [min, max].  Returns 0, -EUSERS when none is free, or
 * another -errno.  The caller inserts the lease in the same transaction. */
int lease_pick_uid(struct db *db, struct hostids *host, uint32_t min, uint32_t max,
		   uint32_t *ret_uid);

#endif

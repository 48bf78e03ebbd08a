#include "allocator/lease.h"

#include <errno.h>
#include <sys/random.h>

int lease_pick_uid(struct db *db, struct hostids *host, uint32_t min, uint32_t max,
		   uint32_t *ret_uid)
{
	uint64_t n = (uint64_t)max - min + 1;
	uint32_t start;
	if (getrandom(&start, sizeof(start), 0) != (ssize_t)sizeof(start))
		return errno > 0 ? -errno : -EIO;
	for (uint64_t i = 0; i < n; i++) { /* L5 */
		uint32_t uid = (uint32_t)(min + ((uint64_t)start + i) % n);
		int held = db_uid_is_held(db, uid);
		if (held < 0)
			return held;
		if (held)
			continue;
		int free_on_host = hostids_is_free(host, uid);
		if (free_on_host < 0)
			return free_on_host;
		if (free_on_host) {
			*ret_uid = uid;
			return 0;
		}
	}
	return -EUSERS;
}

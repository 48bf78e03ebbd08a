/* What the host already uses in a UID range: running processes, SysV IPC
 * objects, /etc/subuid and /etc/subgid ranges, and NSS.  Gathered once per
 * allocation (a /proc scan per candidate would be slow), checked per UID. */
#ifndef EPHEMERA_HOSTIDS_H
#define EPHEMERA_HOSTIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct id_range {
	uint64_t start, count;
};

struct hostids {
	uint32_t min, max;
	uint8_t *busy;	      /* bitmap over [min, max]: a process or IPC object has the id */
	struct id_range *sub; /* subuid and subgid ranges together */
	size_t n_sub;
	unsigned nss_errors; /* lookups that failed (not "not found") so far */
};

/* subuid/subgid paths are parameters so that tests can point elsewhere. */
int hostids_scan(uint32_t min, uint32_t max, const char *subuid, const char *subgid,
		 struct hostids *ret);
void hostids_free(struct hostids *h);

/* 1 if uid (as uid and as gid) is unused by the host, 0 if in use.  An NSS
 * error counts as in use (fail closed) and is counted in nss_errors. */
int hostids_is_free(struct hostids *h, uint32_t id);

#endif

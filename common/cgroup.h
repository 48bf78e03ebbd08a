/* The per-session cgroup v2: <cgroup2 root>/ephemera/<session name>.
 *
 * The cgroup2 root is /sys/fs/cgroup (unified layout) or /sys/fs/cgroup/unified
 * (systemd's hybrid layout), as this process's mount and cgroup namespaces see
 * it.  "ephemera" is a cgroup of our own under that root, outside every unit
 * of systemd (ephemera.conf(5), LIMITS).  The shell makes the session's cgroup
 * and clones pid 1 into it (shell/cgroup.c); the reaper kills what is left in
 * it and removes it (here, for both). */
#ifndef EPHEMERA_CGROUP_H
#define EPHEMERA_CGROUP_H

#include "common/config.h"

#include <stddef.h>

#define CGROUP_PARENT "ephemera"

enum cgroup_ctl {
	CG_MEMORY = 1u << 0, /* memory_max */
	CG_PIDS = 1u << 1,   /* pids_max */
	CG_CPU = 1u << 2,    /* cpu_weight */
};
#define CG_N 3

/* What this host offers: the root's fd (-1 when there is none, with the
 * reason in why) and the controllers the root can hand to its children. */
struct cgroup_host {
	int root_fd;
	unsigned available; /* CG_* */
	char why[160];	    /* why root_fd is -1 */
};

/* Looks only: changes nothing.  Close h->root_fd when done (when >= 0). */
void cgroup_host_probe(struct cgroup_host *h);
/* Controller bit i (0..CG_N-1): its name ("memory"), the profile key it
 * enforces ("memory_max"). */
const char *cgroup_ctl_name(unsigned bit);
const char *cgroup_ctl_key(unsigned bit);
/* The controllers a profile asks for (keys set to non-zero). */
unsigned cgroup_wanted(const struct ephemera_profile *p);
/* Why bit is not enforceable on h (a short phrase), or NULL when it is. */
const char *cgroup_unenforced_why(const struct cgroup_host *h, unsigned bit);

/* The CG_* controllers named in dir_fd's file (cgroup.controllers,
 * cgroup.subtree_control); 0 when it cannot be read. */
unsigned cgroup_read_ctls(int dir_fd, const char *file);
/* Writes value to the control file name under dir_fd. */
int cgroup_write(int dir_fd, const char *name, const char *value);

/* After a session (the reaper): SIGKILL to everything in its cgroup
 * (cgroup.kill, Linux 5.14), then remove the cgroup once it is empty.  A
 * session without a cgroup (none was made, no cgroup v2) is not an error. */
int cgroup_session_kill(const char *name);
int cgroup_session_remove(const char *name);

#endif
